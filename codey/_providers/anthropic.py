"""The Anthropic Messages wire format."""

from __future__ import annotations

import json
from typing import Any, Optional

from codey._attachments import KNOWN_TYPES, Attachment
from codey._errors import UnsupportedOptionError
from codey._providers._base import (
    HTTPRequest,
    RequestSpec,
    Service,
    ServiceProvider,
    error_details,
    error_event,
    join_url,
    parse_event_data,
    served_model,
)
from codey._providers._citations import anthropic_citations
from codey._providers._server_tools import MESSAGES_TOOLS, messages_call, messages_tool
from codey._types import Finish, ReasoningDelta, Replay, ToolCallDelta, Usage

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
#: The smallest thinking budget the API accepts.
MIN_THINKING_BUDGET = 1024
#: The thinking budget each effort asks of a model that thinks on a budget (the
#: model table's ``thinking: "budget"``): the API's minimum, then four times more
#: per step; xhigh is the most Anthropic advises on a streamed request (above 32K
#: it advises batches), max leaves the default answer its 4096 tokens within
#: those models' 64000-token output limit. See docs/library.rst.
EFFORT_BUDGETS = {"low": 1024, "medium": 4096, "high": 16384, "xhigh": 32768, "max": 57344}
#: ``output_config.effort``'s values, for a model that thinks adaptively and whose
#: row does not list its own (Anthropic's extended-thinking guide, read 2026-12-07).
ADAPTIVE_EFFORTS = ("low", "medium", "high", "xhigh", "max")


def budget_for(effort: str, max_tokens: Optional[int]) -> int:
    """The thinking budget of ``effort``, at most half of ``max_tokens`` (the answer
    keeps room after the thinking), never under the API's minimum."""
    budget = EFFORT_BUDGETS[effort]
    if max_tokens is None:
        return budget
    budget = min(budget, max(MIN_THINKING_BUDGET, max_tokens // 2))
    if budget >= max_tokens:
        raise UnsupportedOptionError(
            f"max_tokens ({max_tokens}) leaves no room for thinking: the smallest "
            f"budget is {MIN_THINKING_BUDGET} tokens; raise max_tokens or drop effort="
        )
    return budget


def _max_tokens(spec: RequestSpec) -> int:
    budget = spec.thinking_budget
    if budget is None:
        return spec.max_tokens if spec.max_tokens is not None else DEFAULT_MAX_TOKENS
    if budget < MIN_THINKING_BUDGET:
        raise UnsupportedOptionError(
            f"thinking_budget must be at least {MIN_THINKING_BUDGET} tokens, not {budget}"
        )
    if spec.max_tokens is None:
        return budget + DEFAULT_MAX_TOKENS
    if spec.max_tokens <= budget:
        raise UnsupportedOptionError(
            f"max_tokens ({spec.max_tokens}) must be larger than thinking_budget ({budget})"
        )
    return spec.max_tokens


def _thinks(spec: RequestSpec) -> bool:
    """Whether the request asks for thinking (on a budget, or adaptive with an effort)."""
    return spec.thinking_budget is not None or spec.effort is not None


def _input(arguments: str) -> Any:
    """A call's arguments as the object ``tool_use`` carries (``{}`` if they were not one)."""
    try:
        value = json.loads(arguments or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _usage(usage: dict[str, Any], start: Optional[Usage] = None) -> Usage:
    """A Messages ``usage`` object; what it leaves out is taken from ``message_start``'s."""
    before = start or Usage()
    return Usage(
        usage.get("input_tokens", before.input_tokens),
        usage.get("output_tokens"),
        usage.get("cache_read_input_tokens", before.cache_read_tokens),
        usage.get("cache_creation_input_tokens", before.cache_write_tokens),
    )


class MessagesParser:
    """Parses Messages events (``event:`` names, JSON ``data:``).

    ``answer_tool`` names a tool the model was made to call for ``schema=``:
    its JSON input is the answer, so it arrives as text.
    """

    __slots__ = (
        "_answer_block",
        "_calls",
        "_kept",
        "_length",
        "_server",
        "_start",
        "_texts",
        "answer_tool",
        "complete_at_eof",
        "done",
        "name",
        "saw_text",
    )

    def __init__(self, name: str = "anthropic", answer_tool: Optional[str] = None) -> None:
        self.name = name
        self.answer_tool = answer_tool
        self.done = False
        self.complete_at_eof = False
        self.saw_text = False
        self._start: Optional[Usage] = None
        self._answer_block: Optional[int] = None
        #: The indexes of the tool_use blocks: the client's calls.
        self._calls: set[int] = set()
        #: The blocks the next request must carry back unchanged (thinking with
        #: its signature, redacted thinking, server tools' calls and results),
        #: by index, filled by their deltas until their content_block_stop.
        self._kept: dict[int, dict[str, Any]] = {}
        #: The server tools' calls so far, by id: codey's name and the input.
        self._server: dict[str, tuple[str, dict[str, Any]]] = {}
        #: How much text the answer has so far: where a text block begins.
        self._length = 0
        #: The open text blocks, by index: where each begins, and its citations.
        self._texts: dict[int, tuple[int, list[Any]]] = {}

    def feed(self, event: str, data: str, out: list[Any]) -> None:
        if event == "ping":
            return
        obj = parse_event_data(data, self.name)
        kind = obj.get("type") or event
        if kind == "content_block_delta":
            delta = obj.get("delta") or {}
            delta_type = delta.get("type")
            if delta_type == "text_delta":
                text = delta.get("text")
                if text:
                    out.append(text)
                    self.saw_text = True
                    self._length += len(text)
            elif delta_type == "thinking_delta":
                thinking = delta.get("thinking")
                if thinking:
                    out.append(ReasoningDelta(thinking))
                    self._keep(obj, "thinking", thinking)
            elif delta_type == "signature_delta":
                self._keep(obj, "signature", delta.get("signature") or "")
            elif delta_type == "input_json_delta":
                index = obj.get("index", 0)
                if index in self._kept:  # a server tool's input
                    self._keep(obj, "partial_json", delta.get("partial_json") or "")
                    return
                if index == self._answer_block:
                    if delta.get("partial_json"):
                        out.append(delta["partial_json"])
                        self.saw_text = True
                        self._length += len(delta["partial_json"])
                    return
                if index in self._calls:  # not a server tool's (server_tool_use, mcp_tool_use)
                    out.append(ToolCallDelta(index=index, arguments=delta.get("partial_json", "")))
            elif delta_type == "citations_delta":
                # A citation of the text block it arrives in, before the block's text:
                # https://platform.claude.com/docs/en/build-with-claude/citations#streaming-support
                opened = self._texts.get(obj.get("index", 0))
                if opened is not None:
                    opened[1].append(delta.get("citation"))
        elif kind == "content_block_start":
            block = obj.get("content_block") or {}
            # Only tool_use blocks are the caller's to run; the server runs its own.
            if block.get("type") == "tool_use" and block.get("name") == self.answer_tool:
                self._answer_block = obj.get("index", 0)
            elif block.get("type") == "tool_use":
                index = obj.get("index", 0)
                self._calls.add(index)
                out.append(ToolCallDelta(index=index, id=block.get("id"), name=block.get("name")))
            elif block.get("type") == "text":
                self._texts[obj.get("index", 0)] = (
                    self._length,
                    list(block.get("citations") or ()),
                )
                if block.get("text"):
                    out.append(block["text"])
                    self.saw_text = True
                    self._length += len(block["text"])
            elif block.get("type"):
                self._kept[obj.get("index", 0)] = dict(block)
                if block["type"] != "server_tool_use":  # a result comes whole
                    call = messages_call(block, self._server)
                    if call is not None:
                        out.append(call)
        elif kind == "content_block_stop":
            kept = self._kept.pop(obj.get("index", 0), None)
            if kept is not None:
                whole = _whole(kept)
                out.append(Replay("messages", whole))
                if whole.get("type") == "server_tool_use":  # its input whole now
                    call = messages_call(whole, self._server)
                    if call is not None:
                        out.append(call)
            text = self._texts.pop(obj.get("index", 0), None)
            if text is not None:  # the block's citations cite all of its text
                out.extend(anthropic_citations(text[1], text[0], self._length))
        elif kind == "message_start":
            message = obj.get("message") or {}
            served_model(message, out)
            # Kept for message_delta's count, so that one answer gives one Usage.
            self._start = _usage(message.get("usage") or {})
        elif kind == "message_delta":
            usage = obj.get("usage") or {}
            merged = _usage(usage, self._start) if usage else self._start
            if merged is not None:
                out.append(merged)
            reason = (obj.get("delta") or {}).get("stop_reason")
            if reason:
                out.append(Finish(reason))
        elif kind == "message_stop":
            self.done = True
        elif kind == "error":
            error = obj.get("error") or {}
            message, error_type = error_details(obj, bare=False)
            raise error_event(
                self.name,
                message,
                error_type or (error.get("type") if isinstance(error, dict) else None),
                data,
            )

    def _keep(self, obj: dict[str, Any], field: str, piece: str) -> None:
        """Add ``piece`` to ``field`` of the kept block the delta ``obj`` belongs to."""
        block = self._kept.get(obj.get("index", 0))
        if block is not None:
            block[field] = (block.get(field) or "") + piece


def _whole(block: dict[str, Any]) -> dict[str, Any]:
    """A kept block as it goes back: a server tool's input parsed from its pieces."""
    if "partial_json" in block:
        pieces = block.pop("partial_json")
        block["input"] = _input(pieces) if pieces else block.get("input") or {}
    return block


class Messages(ServiceProvider):
    """A service that speaks the Anthropic Messages API."""

    __slots__ = ()
    wire = "messages"
    wire_name = "Messages"

    def build_request(self, spec: RequestSpec, api_key: str, base_url: str) -> HTTPRequest:
        body = self.request_body(spec, base_url)
        headers = self.headers(api_key)
        betas = [MESSAGES_TOOLS[tool.name][2] for tool in spec.server_tools]
        if any(betas):
            headers["anthropic-beta"] = ",".join(beta for beta in betas if beta)
        return HTTPRequest(
            url=join_url(base_url, "/v1/messages"),
            headers=headers,
            body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
            # A tool the model is made to call, whose input is the answer (below).
            answer_tool=(body.get("tool_choice") or {}).get("name"),
        )

    def native_schema(self, model: str) -> bool:
        """Whether ``model`` takes ``output_config.format``: its row in the model
        table says ``structured_output``; for a model the table does not know (an
        older one, another service's) only the forced tool is sure."""
        from codey import _models

        info = _models.find(model, self.name)
        return info is not None and bool(info.structured_output)

    def headers(self, api_key: str, stream: bool = True) -> dict[str, str]:
        headers = {
            "anthropic-version": API_VERSION,
            "Content-Type": "application/json",
            "Accept": "text/event-stream" if stream else "application/json",
        }
        if api_key:
            headers["x-api-key"] = api_key
        return headers

    def request_body(self, spec: RequestSpec, base_url: str, stream: bool = True) -> dict[str, Any]:
        if spec.effort is not None and spec.thinking_budget is not None:
            raise UnsupportedOptionError(
                "effort= and thinking_budget= are two ways to ask for thinking: give one"
            )
        forced = spec.schema is not None and not self.native_schema(spec.model)
        if forced and _thinks(spec):
            raise UnsupportedOptionError(
                f"{spec.model} cannot think while made to answer to a schema (a forced tool): "
                "drop effort= (or thinking_budget=) or schema="
            )
        if spec.temperature is not None and _thinks(spec):
            raise UnsupportedOptionError("anthropic does not accept a temperature with thinking")
        system = [message.content for message in spec.messages if message.role == "system"]
        body: dict[str, Any] = {
            "model": spec.model,
            "max_tokens": _max_tokens(spec),
            "messages": self._messages(spec),
        }
        if stream:
            body["stream"] = True
        if spec.tools:
            body.setdefault("tools", []).extend(
                {
                    "name": tool.name,
                    "description": tool.description,
                    "input_schema": tool.parameters,
                }
                for tool in spec.tools
            )
        if spec.server_tools:
            body.setdefault("tools", []).extend(messages_tool(tool) for tool in spec.server_tools)
        if system:
            body["system"] = "\n\n".join(system)
        if spec.temperature is not None:
            body["temperature"] = spec.temperature
        if spec.thinking_budget is not None:
            body["thinking"] = {"type": "enabled", "budget_tokens": spec.thinking_budget}
        elif spec.effort is not None:  # adaptive thinking, as hard as asked
            body["thinking"] = {"type": "adaptive"}
            body["output_config"] = {"effort": spec.effort}
        if spec.cache:
            _mark_cache(body)
        if spec.schema is not None and not forced:
            # Structured outputs (generally available): the answer is text JSON held to
            # the schema, and the model may think first. The request shape:
            # https://platform.claude.com/docs/en/build-with-claude/structured-outputs
            output_format = {"type": "json_schema", "schema": spec.schema.json_schema}
            body.setdefault("output_config", {})["format"] = output_format
        elif spec.schema is not None:
            # A tool the model must call, whose input is the answer: the way to hold
            # an answer to a JSON Schema for a model without structured outputs.
            answer_tool = spec.schema.name
            body.setdefault("tools", []).append(
                {
                    "name": answer_tool,
                    "description": "Give the answer: this tool's input is the whole answer.",
                    "input_schema": spec.schema.json_schema,
                }
            )
            body["tool_choice"] = {"type": "tool", "name": answer_tool}
        return body

    def _messages(self, spec: RequestSpec) -> list[dict[str, Any]]:
        """The conversation in Messages form; tool results go in one user message."""
        out: list[dict[str, Any]] = []
        results: Optional[list[dict[str, Any]]] = None  # the user message of tool results
        for message in spec.messages:
            role = message.role
            if role == "system":
                continue
            if role == "tool":
                result: dict[str, Any] = {
                    "type": "tool_result",
                    "tool_use_id": message.tool_call_id,
                }
                text, attachments = self.tool_attachments(message)
                if attachments:
                    # A tool_result's content may be a list of text, image and document
                    # blocks: https://platform.claude.com/docs/en/agents-and-tools/tool-use/implement-tool-use
                    parts = [{"type": "text", "text": text}] if text else []
                    parts.extend(self._attachment(attachment) for attachment in attachments)
                    result["content"] = parts
                elif text:
                    result["content"] = text
                if message.is_error:
                    result["is_error"] = True
                if results is None:
                    results = []
                    out.append({"role": "user", "content": results})
                results.append(result)
                continue
            results = None
            # Thinking (with its signature) and redacted thinking go back unchanged and
            # first, as the API requires of a tool round:
            # https://platform.claude.com/docs/en/build-with-claude/extended-thinking#preserving-thinking-blocks
            # then the text, then the server tools' blocks unchanged (a paused answer's
            # content goes back whole, its text first as it came, no whitespace last):
            # https://platform.claude.com/docs/en/build-with-claude/handling-stop-reasons
            kept = [dict(item) for wire, item in message.replay if wire == "messages"]
            blocks = [block for block in kept if block.get("type") in _THINKING]
            if message.tool_calls or kept:
                if message.content:
                    blocks.append({"type": "text", "text": message.content})
                blocks.extend(block for block in kept if block.get("type") not in _THINKING)
                blocks.extend(
                    {
                        "type": "tool_use",
                        "id": call.id,
                        "name": call.name,
                        "input": _input(call.arguments),
                    }
                    for call in message.tool_calls
                )
                out.append({"role": role, "content": blocks})
            elif message.attachments:
                # Images and documents first, then the text, as Anthropic advises.
                blocks = [self._attachment(attachment) for attachment in message.attachments]
                if message.content:
                    blocks.append({"type": "text", "text": message.content})
                out.append({"role": role, "content": blocks})
            else:
                out.append({"role": role, "content": message.content})
        return out

    def _attachment(self, attachment: Attachment) -> dict[str, Any]:
        self.check_attachment(attachment)
        kind = "image" if attachment.is_image else "document"
        if attachment.url is not None:
            return {"type": kind, "source": {"type": "url", "url": attachment.url}}
        source = {"type": "base64", "media_type": attachment.mime, "data": attachment.base64()}
        return {"type": kind, "source": source}

    def new_parser(self, request: Optional[HTTPRequest] = None) -> MessagesParser:
        return MessagesParser(self.name, request.answer_tool if request is not None else None)

    @staticmethod
    def error_details(body: Any) -> tuple[Optional[str], Optional[str]]:
        return error_details(body, bare=False)

    @staticmethod
    def complete_reply(body: Any, request: Optional[HTTPRequest] = None) -> Optional[list[Any]]:
        """The events of a whole reply sent as JSON (``stream`` ignored), else None."""
        if not isinstance(body, dict) or body.get("type") != "message":
            return None
        content = body.get("content")
        reason = body.get("stop_reason")
        if not isinstance(content, list) or not reason:
            return None
        out: list[Any] = []
        served_model(body, out)
        server: dict[str, tuple[str, dict[str, Any]]] = {}
        length = 0  # of the answer so far: where a text block's citations begin
        for index, block in enumerate(content):
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "text" and block.get("text"):
                text = str(block["text"])
                out.append(text)
                out.extend(anthropic_citations(block.get("citations"), length, length + len(text)))
                length += len(text)
            elif kind == "thinking" and block.get("thinking"):
                out.append(ReasoningDelta(str(block["thinking"])))
            if kind not in ("text", "tool_use"):  # back unchanged, as in a stream
                out.append(Replay("messages", block))
                call = messages_call(block, server)
                if call is not None:
                    out.append(call)
            elif kind == "tool_use":
                arguments = json.dumps(block.get("input") or {}, ensure_ascii=False)
                if request is not None and block.get("name") == request.answer_tool:
                    out.append(arguments)
                    length += len(arguments)
                    continue
                out.append(
                    ToolCallDelta(
                        index=index, id=block.get("id"), name=block.get("name"), arguments=arguments
                    )
                )
        usage = body.get("usage")
        if isinstance(usage, dict):
            out.append(_usage(usage))
        out.append(Finish(str(reason)))
        return out


_THINKING = ("thinking", "redacted_thinking")
_EPHEMERAL = {"type": "ephemeral"}


def _mark_cache(body: dict[str, Any]) -> None:
    """Mark the prompt's prefix for Anthropic's cache: the system prompt, the last
    message but one (the conversation so far) and the last (3 of the 4 marks allowed).

    A later request with the same prefix reads it from the cache; marking the
    newest turn too lets the next turn of a chat read all of this one.
    """
    system = body.get("system")
    if isinstance(system, str):
        body["system"] = [{"type": "text", "text": system, "cache_control": _EPHEMERAL}]
    messages = body["messages"]
    marks = [len(messages) - 1] if messages else []
    if len(messages) > 1:
        marks.insert(0, len(messages) - 2)
    for index in marks:
        message = messages[index]
        content = message["content"]
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        else:
            content = [dict(block) for block in content]
        if content:
            content[-1]["cache_control"] = _EPHEMERAL
        messages[index] = {**message, "content": content}


ANTHROPIC = Messages(
    Service(
        "anthropic",
        "anthropic",
        key_env="ANTHROPIC_API_KEY",
        base_url_env="ANTHROPIC_BASE_URL",
        default_base_url="https://api.anthropic.com",
        prefixes=("claude-",),
        attachments=KNOWN_TYPES,
    )
)
