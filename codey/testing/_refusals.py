"""What the real APIs refuse, model by model: the fake's own table, kept apart from
codey's model table on purpose (the fake mirrors the providers, so that a test of
codey's shaping meets a server that refuses what theirs would).

Each row names a family of models (a name, or a name followed by ``-`` or ``.``
and more: its snapshots and variants) at one provider, and what the real API
answers 400 to for them, in its words. ``_refusal(request)`` is that 400, or
``None`` when the request is one the real API takes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

import attrs

from codey.testing._replies import Reply, error
from codey.testing._requests import _route

_CLAUDE_EFFORTS = ("low", "medium", "high", "xhigh", "max")


@attrs.frozen
class _Row:
    provider: str  # "openai" or "anthropic"
    families: tuple[str, ...]
    #: Anthropic: ``"adaptive"`` (budget thinking refused) or ``"budget"`` (adaptive refused).
    thinking: Optional[str] = None
    #: The sampling settings refused when not their default.
    sampling: tuple[str, ...] = ()
    #: The effort values taken (``()``: not checked).
    efforts: tuple[str, ...] = ()
    #: OpenAI over Chat Completions: function tools refused ``"with effort"`` (any but
    #: ``none``), ``"unless none"`` (even with no effort: only ``none`` passes) or
    #: ``"always"``.
    chat_tools: Optional[str] = None


#: First match wins: the more specific families come first.
_ROWS = (
    # Sources: Anthropic's Sonnet 5 migration guide and models overview (read
    # 2026-12-07); the error bodies as reported in Sylinko/Everywhere#410 and
    # danielmiessler/Fabric#2109.
    _Row(
        "anthropic",
        ("claude-opus-4-7", "claude-opus-4-8", "claude-opus-5", "claude-sonnet-5", "claude-fable"),
        thinking="adaptive",
        sampling=("temperature", "top_p", "top_k"),
        efforts=_CLAUDE_EFFORTS,
    ),
    _Row("anthropic", ("claude-haiku-4-5", "claude-sonnet-4-5", "claude-opus-4-5"), "budget"),
    # Sources: pipecat #4043 (gpt-5.4), litellm PR #34569 and livekit/agents PR #7169
    # (gpt-5.6), Prompture v1.15.1 release notes (gpt-6), as gathered in the
    # project's report on the providers of 2026-12-07.
    _Row(
        "openai",
        ("gpt-6-astra", "gpt-6.1-sol"),
        sampling=("temperature", "top_p"),
        efforts=("low", "medium", "high", "xhigh"),
        chat_tools="always",
    ),
    _Row("openai", ("gpt-6",), sampling=("temperature", "top_p"), chat_tools="always"),
    _Row(
        "openai",
        ("gpt-5.6",),
        sampling=("temperature", "top_p"),
        efforts=("none", "low", "medium", "high", "xhigh"),
        chat_tools="unless none",
    ),
    _Row(
        "openai",
        ("gpt-5.4", "gpt-5.5"),
        sampling=("temperature", "top_p"),
        chat_tools="with effort",
    ),
    _Row(
        "openai",
        ("o1", "o3", "o4-mini"),
        sampling=("temperature", "top_p"),
        efforts=("low", "medium", "high"),
    ),
    _Row("openai", ("gpt-5",), sampling=("temperature", "top_p")),
)

#: The value each sampling setting may keep: the API's default.
_DEFAULTS: Mapping[str, float] = {"temperature": 1.0, "top_p": 1.0}


def _row(provider: str, model: str) -> Optional[_Row]:
    for row in _ROWS:
        if row.provider == provider and any(
            model == family or model.startswith((family + "-", family + "."))
            for family in row.families
        ):
            return row
    return None


def _refusal(request: Any) -> Optional[Reply]:
    """The real API's 400 for ``request`` (a RecordedRequest), if it would refuse it."""
    body, model = request.json, request.model
    provider, kind = _route(request.path)
    if not isinstance(body, dict) or model is None or provider is None:
        return None
    row = _row(provider, model)
    if row is None:
        return None
    message = (
        _anthropic(row, body)
        if kind == "messages"
        else _openai(row, body, model, kind)
        if kind in ("chat", "responses")
        else None
    )
    return None if message is None else error(400, message)


def _anthropic(row: _Row, body: dict[str, Any]) -> Optional[str]:
    thinking = body.get("thinking")
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if row.thinking == "adaptive" and kind == "enabled":
        return (
            '"thinking.type.enabled" is not supported for this model. Use '
            '"thinking.type.adaptive" and "output_config.effort" to control thinking behavior.'
        )
    if row.thinking == "budget" and kind == "adaptive":
        return (
            '"thinking.type.adaptive" is not supported for this model. Use '
            '"thinking.type.enabled" with "budget_tokens".'
        )
    choice = body.get("tool_choice")
    forced = isinstance(choice, dict) and choice.get("type") in ("tool", "any")
    if row.thinking == "adaptive" and forced and kind != "disabled":
        # Their thinking is on unless disabled, and a forced tool cannot think.
        return "Thinking may not be enabled when tool_choice forces tool use."
    for name in row.sampling:
        if name in body and body[name] != _DEFAULTS.get(name):
            return f"`{name}` is deprecated for this model."
    config = body.get("output_config")
    effort = config.get("effort") if isinstance(config, dict) else None
    if row.efforts and effort is not None and effort not in row.efforts:
        return f"output_config.effort: Input should be {_either(row.efforts, 'or')}"
    return None


def _openai(row: _Row, body: dict[str, Any], model: str, kind: str) -> Optional[str]:
    for name in row.sampling:
        if name in body and body[name] != _DEFAULTS.get(name):
            return f"Unsupported parameter: '{name}' is not supported with this model."
    if kind == "chat":
        effort, field = body.get("reasoning_effort"), "reasoning_effort"
    else:
        reasoning = body.get("reasoning")
        effort = reasoning.get("effort") if isinstance(reasoning, dict) else None
        field = "reasoning.effort"
    if row.efforts and effort is not None and effort not in row.efforts:
        return (
            f"Unsupported value: '{field}' does not support {effort!r} with this model. "
            f"Supported values are: {_either(row.efforts, 'and')}."
        )
    if kind == "chat" and body.get("tools") and row.chat_tools is not None:
        if row.chat_tools == "with effort" and effort not in (None, "none"):
            return (
                f"Function tools with reasoning_effort are not supported for {model} in "
                "/v1/chat/completions. Please use /v1/responses instead."
            )
        if row.chat_tools == "always" or (row.chat_tools == "unless none" and effort != "none"):
            return (
                f"Function tools are not supported for {model} in /v1/chat/completions. "
                "To use function tools, use /v1/responses"
            )
    return None


def _either(values: tuple[str, ...], word: str) -> str:
    quoted = [f"'{value}'" for value in values]
    return f"{', '.join(quoted[:-1])}, {word} {quoted[-1]}"


def _unreplayed(request: Any, sealed: Mapping[str, str]) -> Optional[Reply]:
    """The 400 for a Responses request that sends back a function call of the fake's
    without, before it, the reasoning item it followed, its encrypted content byte
    for byte (``sealed``: that content by call_id, as ``_render._plan`` records it).

    The API needs a reasoning model's reasoning items back with its calls
    (https://platform.openai.com/docs/guides/reasoning#keeping-reasoning-items-in-context);
    with ``store: false`` only their encrypted content can carry them.
    """
    body = request.json
    if _route(request.path)[1] != "responses" or not isinstance(body, dict):
        return None
    items = body.get("input")
    if not isinstance(items, list):
        return None
    replayed: set[str] = set()
    for item in items:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "reasoning" and isinstance(item.get("encrypted_content"), str):
            replayed.add(item["encrypted_content"])
        elif item.get("type") == "function_call":
            wanted = sealed.get(str(item.get("call_id")))
            if wanted is not None and wanted not in replayed:
                return error(
                    400,
                    f"Item with call_id '{item.get('call_id')}' of type 'function_call' was "
                    "provided without its required 'reasoning' item (its encrypted_content "
                    "unchanged, before it).",
                )
    return None


#: What a tool result may hold besides text, in each wire format.
_TOOL_PARTS = {
    # A tool message's content is a string or text parts (the openai SDK's
    # ChatCompletionToolMessageParam): images go in a user message after it.
    "chat": ("text",),
    # A function_call_output's output items (ResponseFunctionCallOutputItemParam).
    "responses": ("input_text", "input_image", "input_file"),
    # A tool_result's content blocks (the anthropic SDK's ToolResultBlockParam).
    "messages": ("text", "image", "document", "search_result"),
}


def _misshapen(request: Any) -> Optional[Reply]:
    """The 400 for a conversation whose tool results the real API would refuse: a part
    of a kind the wire format does not take in a tool result, or (Chat Completions)
    a message between an assistant's tool calls and the tool messages answering them
    (the API's words, as quoted in BerriAI/litellm#10083 and aliasrobotics/cai#111)."""
    body = request.json
    kind = _route(request.path)[1]
    if not isinstance(body, dict) or kind not in _TOOL_PARTS:
        return None
    allowed = _TOOL_PARTS[kind]
    for where, parts in _tool_parts(body, kind):
        for index, part in enumerate(parts):
            value = part.get("type") if isinstance(part, dict) else None
            if value not in allowed:
                shown = ", ".join(f"'{name}'" for name in allowed)
                return error(
                    400,
                    f"Invalid value for '{where}[{index}].type': {value!r}. "
                    f"Supported values are: {shown}.",
                )
    if kind == "chat":
        return _unanswered(body.get("messages"))
    return None


def _tool_parts(body: dict[str, Any], kind: str) -> list[tuple[str, list[Any]]]:
    """(where, parts) of each tool result whose content is a list."""
    found: list[tuple[str, list[Any]]] = []
    if kind == "responses":
        items = body.get("input")
        for index, item in enumerate(items if isinstance(items, list) else ()):
            output = item.get("output") if isinstance(item, dict) else None
            if isinstance(output, list) and item.get("type") == "function_call_output":
                found.append((f"input[{index}].output", output))
        return found
    messages = body.get("messages")
    for index, message in enumerate(messages if isinstance(messages, list) else ()):
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if kind == "chat" and message.get("role") == "tool" and isinstance(content, list):
            found.append((f"messages[{index}].content", content))
        elif kind == "messages" and isinstance(content, list):
            for number, block in enumerate(content):
                inner = block.get("content") if isinstance(block, dict) else None
                if isinstance(inner, list) and block.get("type") == "tool_result":
                    found.append((f"messages[{index}].content[{number}].content", inner))
    return found


def _unanswered(messages: Any) -> Optional[Reply]:
    """Chat Completions: each assistant message's tool calls must be answered by the
    tool messages right after it."""
    if not isinstance(messages, list):
        return None
    waiting: list[str] = []
    for message in [*messages, None]:
        role = message.get("role") if isinstance(message, dict) else None
        if role == "tool" and isinstance(message, dict):
            if message.get("tool_call_id") in waiting:
                waiting.remove(message["tool_call_id"])
            continue
        if waiting:
            return error(
                400,
                "An assistant message with 'tool_calls' must be followed by tool messages "
                "responding to each 'tool_call_id'. The following tool_call_ids did not have "
                f"response messages: {', '.join(waiting)}",
            )
        calls = message.get("tool_calls") if isinstance(message, dict) else None
        if role == "assistant" and isinstance(calls, list):
            waiting = [str(call.get("id")) for call in calls if isinstance(call, dict)]
    return None
