"""The Anthropic Messages wire format: named events (``message_start``, content
blocks opened, filled and stopped, ``message_delta``, ``message_stop``)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

from codey.testing._cites import anthropic_citation
from codey.testing._common import _dumps
from codey.testing._sse import _Renderer
from codey.testing._steps import (
    ErrorEvent,
    Finish,
    Reasoning,
    RedactedThinking,
    ServerToolUse,
    Step,
    Text,
    ToolCall,
    UsageStep,
)


def signature(thinking: str) -> str:
    """The fake's ``signature`` of a thinking block: its text hashed, so that a block
    sent back altered is told from the one sent (as the real API's check does)."""
    digest = hashlib.sha256(thinking.encode("utf-8")).digest()[:18]
    return base64.b64encode(b"fake-signature:" + digest).decode("ascii")


class _AnthropicRenderer(_Renderer):
    def __init__(self, model: str, eol: str, steps: Sequence[Step]) -> None:
        super().__init__(model, eol, steps)
        self.started = False
        self.index = -1
        self.open: Optional[tuple[str, int]] = None  # ("text" | "thinking" | "tool", tool index)
        self.thinking = ""  # the open thinking block's text, for its signature

    def event(self, name: str, obj: Union[dict[str, Any], str]) -> str:
        data = obj if isinstance(obj, str) else _dumps(obj)
        return f"event: {name}{self.eol}data: {data}{self.eol}{self.eol}"

    def start(self) -> str:
        if self.started:
            return ""
        self.started = True
        message: dict[str, Any] = {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": 1},
        }
        cached = self.first_usage
        if cached is not None and (cached.cache_read_tokens or cached.cache_write_tokens):
            message["usage"]["cache_creation_input_tokens"] = cached.cache_write_tokens
            message["usage"]["cache_read_input_tokens"] = cached.cache_read_tokens
        return self.event("message_start", {"type": "message_start", "message": message})

    def close_block(self) -> str:
        if self.open is None:
            return ""
        out = ""
        if self.open[0] == "thinking":
            delta = {"type": "signature_delta", "signature": signature(self.thinking)}
            out += self.delta(delta)
            self.thinking = ""
        self.open = None
        return out + self.event(
            "content_block_stop", {"type": "content_block_stop", "index": self.index}
        )

    def open_block(self, kind: tuple[str, int], block: dict[str, Any]) -> str:
        if self.open == kind:
            return ""
        out = self.close_block()
        self.index += 1
        self.open = kind
        start = {"type": "content_block_start", "index": self.index, "content_block": block}
        return out + self.event("content_block_start", start)

    def delta(self, delta: dict[str, Any]) -> str:
        event = {"type": "content_block_delta", "index": self.index, "delta": delta}
        return self.event("content_block_delta", event)

    def text(self, step: Text) -> str:
        if step.citations:  # a block of its own, its citations before its text
            block = {"type": "text", "text": "", "citations": []}
            out = self.start() + self.open_block(("cited", self.index + 1), block)
            for source in step.citations:
                citation = anthropic_citation(source)
                out += self.delta({"type": "citations_delta", "citation": citation})
            out += self.delta({"type": "text_delta", "text": step.text})
            return out + self.close_block()
        out = self.start() + self.open_block(("text", 0), {"type": "text", "text": ""})
        return out + self.delta({"type": "text_delta", "text": step.text})

    def reasoning(self, step: Reasoning) -> str:
        out = self.start()
        block = {"type": "thinking", "thinking": "", "signature": ""}  # as the API starts one
        out += self.open_block(("thinking", 0), block)
        self.thinking += step.text
        return out + self.delta({"type": "thinking_delta", "thinking": step.text})

    def redacted_thinking(self, step: RedactedThinking) -> str:
        block = {"type": "redacted_thinking", "data": step.data}
        out = self.start() + self.open_block(("redacted", self.index + 1), block)
        return out + self.close_block()

    def tool_call(self, step: ToolCall) -> str:
        self.any_tool = True
        block: dict[str, Any] = {
            "type": "tool_use",
            "id": step.id or f"toolu_fake_{step.index}",
            "name": step.name,
            "input": {},
        }
        out = self.start() + self.open_block(("tool", step.index), block)
        for piece in step.arguments or ("",):
            out += self.delta({"type": "input_json_delta", "partial_json": piece})
        return out

    def server_tool(self, step: ServerToolUse) -> str:
        self.server_calls += 1
        block = server_tool_use(step, self.server_calls)
        out = self.start() + self.open_block(("server", self.index + 1), {**block, "input": {}})
        out += self.delta({"type": "input_json_delta", "partial_json": _dumps(step.input)})
        out += self.close_block()
        result = server_tool_result(step, block["id"])
        return out + self.open_block(("result", self.index + 1), result) + self.close_block()

    def finish(self, step: Finish) -> str:
        reason = step.reason or ("tool_use" if self.any_tool else "end_turn")
        message_delta = {
            "type": "message_delta",
            "delta": {"stop_reason": reason, "stop_sequence": None},
            "usage": {"output_tokens": self.output_tokens},
        }
        out = self.start() + self.close_block()
        return out + self.event("message_delta", message_delta)

    def usage(self, step: UsageStep) -> str:
        return ""  # its numbers go into message_start and message_delta

    def done(self) -> str:
        out = self.start() + self.close_block()
        return out + self.event("message_stop", {"type": "message_stop"})

    def error(self, step: ErrorEvent) -> str:
        body = {"type": "error", "error": {"type": step.error_type, "message": step.message}}
        return self.event("error", body)

    def ping(self) -> str:
        return self.start() + self.event("ping", '{"type": "ping"}')


# -- Server tools, their blocks as documented:
# https://platform.claude.com/docs/en/agents-and-tools/tool-use/web-search-tool
# https://platform.claude.com/docs/en/agents-and-tools/tool-use/web-fetch-tool
# https://platform.claude.com/docs/en/agents-and-tools/tool-use/code-execution-tool


def server_tool_use(step: ServerToolUse, number: int) -> dict[str, Any]:
    """The ``server_tool_use`` block of ``step`` (the ``number``-th of its reply), whole."""
    name = step.name
    if name == "code_execution" and "code" not in step.input:
        name = "bash_code_execution"  # code_execution_20250825 runs commands
    return {
        "type": "server_tool_use",
        "id": step.id or f"srvtoolu_fake_{number}",
        "name": name,
        "input": dict(step.input),
    }


def _sealed(url: str) -> str:
    """The fake's ``encrypted_content`` of a search result: opaque, the same each time."""
    return base64.b64encode(b"fake-encrypted:" + url.encode("utf-8")).decode("ascii")


def server_tool_result(step: ServerToolUse, call_id: str) -> dict[str, Any]:
    """The result block that follows ``step``'s ``server_tool_use``."""
    if step.name == "web_search":
        kind, error = "web_search_tool_result", "web_search_tool_result_error"
        content: Any = [
            {
                "type": "web_search_result",
                "url": url,
                "title": f"Result {number}",
                "encrypted_content": _sealed(url),
                "page_age": None,
            }
            for number, url in enumerate(step.sources, 1)
        ]
    elif step.name == "web_fetch":
        kind, error = "web_fetch_tool_result", "web_fetch_tool_error"
        url = step.sources[0] if step.sources else str(step.input.get("url", ""))
        content = {
            "type": "web_fetch_result",
            "url": url,
            "content": {
                "type": "document",
                "source": {"type": "text", "media_type": "text/plain", "data": step.output},
                "title": url,
            },
            "retrieved_at": "2026-12-07T12:00:00Z",
        }
    else:  # a code input: code_execution_20250522's form; a command: bash, as 20250825 runs
        tool = "code_execution" if "code" in step.input else "bash_code_execution"
        kind, error = f"{tool}_tool_result", f"{tool}_tool_result_error"
        content = {
            "type": f"{tool}_result",
            "stdout": step.output,
            "stderr": "",
            "return_code": 0,
            "content": [],
        }
    if step.error is not None:
        content = {"type": error, "error_code": step.error}
    return {"type": kind, "tool_use_id": call_id, "content": content}


def issued_server_blocks(steps: Sequence[Step]) -> tuple[dict[str, Any], ...]:
    """The server tools' blocks a streamed reply of ``steps`` carries, in order, when
    it ends paused (``Finish("pause_turn")``): what the continuation must send back."""
    if not any(isinstance(step, Finish) and step.reason == "pause_turn" for step in steps):
        return ()
    blocks: list[dict[str, Any]] = []
    for step in steps:
        if isinstance(step, ServerToolUse):
            block = server_tool_use(step, len(blocks) // 2 + 1)
            blocks += [block, server_tool_result(step, block["id"])]
    return tuple(blocks)


def paused_dropped(body: Any, issued: Sequence[dict[str, Any]]) -> Optional[str]:
    """The 400 for a continuation of a paused turn whose last assistant message does
    not carry the paused turn's server tool blocks unchanged; ``None`` when it does."""
    if not issued or not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return None
    messages = body["messages"]
    last = messages[-1] if messages else {}
    content = last.get("content") if isinstance(last, dict) else None
    sent = content if last.get("role") == "assistant" and isinstance(content, list) else []
    for block in issued:
        if block not in sent:
            what = block.get("id") or block.get("tool_use_id")
            return (
                f"messages.{len(messages) - 1}: the paused turn must be sent back as it came "
                f"(its `{block['type']}` block {what} is missing or altered)"
            )
    return None


def forced_tool(body: Any) -> Optional[str]:
    """The tool a Messages request makes the model call (``tool_choice`` of type
    ``tool``), else ``None``."""
    choice = body.get("tool_choice") if isinstance(body, dict) else None
    if isinstance(choice, dict) and choice.get("type") == "tool":
        name = choice.get("name")
        return name if isinstance(name, str) else None
    return None


def as_forced_tool(steps: Sequence[Step], body: Any) -> tuple[Step, ...]:
    """The script as the API answers a request ``body`` that forces a tool: no text
    block, the text is the input of a ``tool_use`` block named as the tool (so the
    stop reason is ``tool_use``). Any other request's script is unchanged."""
    name = forced_tool(body)
    if name is None:
        return tuple(steps)
    index = 1 + max((step.index for step in steps if isinstance(step, ToolCall)), default=-1)
    return tuple(
        ToolCall(index, name=name, arguments=step.text) if isinstance(step, Text) else step
        for step in steps
    )


# -- Thinking blocks in a tool loop: they must come back unchanged. Source:
# https://platform.claude.com/docs/en/build-with-claude/extended-thinking#preserving-thinking-blocks


def issued_thinking(steps: Sequence[Step]) -> dict[str, tuple[dict[str, Any], ...]]:
    """The thinking and redacted_thinking blocks a streamed reply of ``steps``
    carries (as the renderer makes them), by the id of each of its tool calls:
    what the request after them must send back first."""
    blocks: list[dict[str, Any]] = []
    ids: list[str] = []
    thinking: Optional[str] = None
    for step in steps:
        if isinstance(step, Reasoning):
            thinking = (thinking or "") + step.text
            continue
        if thinking is not None and isinstance(step, (Text, ToolCall, RedactedThinking, Finish)):
            blocks.append(
                {"type": "thinking", "thinking": thinking, "signature": signature(thinking)}
            )
            thinking = None
        if isinstance(step, RedactedThinking):
            blocks.append({"type": "redacted_thinking", "data": step.data})
        elif isinstance(step, ToolCall):
            name = step.id or f"toolu_fake_{step.index}"
            if name not in ids:
                ids.append(name)
    return {name: tuple(blocks) for name in ids} if blocks else {}


_FIELDS = {"thinking": ("thinking", "signature"), "redacted_thinking": ("data",)}


def thinking_dropped(body: Any, issued: Mapping[str, tuple[dict[str, Any], ...]]) -> Optional[str]:
    """The real API's 400 message when the request's last assistant turn of tool calls
    came with thinking blocks (``issued``) that it does not send back unchanged and
    first; ``None`` when it does, or when thinking is off."""
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return None
    if (body.get("thinking") or {}).get("type") == "disabled":
        return None
    turns = [
        (number, message)
        for number, message in enumerate(body["messages"])
        if isinstance(message, dict)
        and message.get("role") == "assistant"
        and isinstance(message.get("content"), list)
        and any(isinstance(b, dict) and b.get("type") == "tool_use" for b in message["content"])
    ]
    if not turns:
        return None
    number, message = turns[-1]
    content = [block for block in message["content"] if isinstance(block, dict)]
    calls = [str(block.get("id")) for block in content if block.get("type") == "tool_use"]
    expected = next((issued[call] for call in calls if call in issued), ())
    for position, wanted in enumerate(expected):
        got = content[position] if position < len(content) else {}
        if got.get("type") not in _FIELDS:
            return (
                f"messages.{number}.content.{position}.type: Expected `thinking` or "
                f"`redacted_thinking`, but found `{got.get('type')}`. When `thinking` is enabled, "
                "a final `assistant` message must start with a thinking block (preceeding the "
                "lastmost set of `tool_use` and `tool_result` blocks). We recommend you include "
                "thinking blocks from previous turns. To avoid this requirement, disable "
                "`thinking`. Please consult our documentation at "
                "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
            )
        kind = wanted["type"]
        if got.get("type") != kind or any(got.get(f) != wanted[f] for f in _FIELDS[kind]):
            field = "signature" if kind == "thinking" else "data"
            return f"messages.{number}.content.{position}: Invalid `{field}` in `{kind}` block"
    return None
