"""The OpenAI Responses wire format: named events, each with its ``type`` and a
``sequence_number`` (``response.created``, ``response.in_progress``, output items
added, filled and done, then ``response.completed`` or ``response.incomplete``)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from typing import Any, Optional

from codey.testing._cites import responses_annotation
from codey.testing._common import _dumps
from codey.testing._sse import _Renderer
from codey.testing._steps import (
    ErrorEvent,
    Finish,
    Reasoning,
    ServerToolUse,
    Step,
    Text,
    ToolCall,
    UsageStep,
)

#: ``Finish`` reasons that end with ``response.completed`` (any other: ``response.incomplete``).
_COMPLETED = (None, "stop")


class _ResponsesRenderer(_Renderer):
    def __init__(self, model: str, eol: str, steps: Sequence[Step]) -> None:
        super().__init__(model, eol, steps)
        self.created_at = int(time.time())
        self.sequence = 0
        self.started = False
        self.reason: Optional[str] = None
        #: The items done so far, as the terminal event's ``output`` lists them.
        self.output: list[dict[str, Any]] = []
        #: The open item (``None`` when none is) and what it has accumulated.
        self.item: Optional[dict[str, Any]] = None
        self.tool: Optional[int] = None  # the ToolCall index of an open function call
        self.buffer = ""
        #: The annotations of the open message's output_text part.
        self.annotations: list[dict[str, Any]] = []
        #: Whether the request asked for ``reasoning.encrypted_content`` (see ``_render._plan``).
        self.encrypted = False
        #: Whether it asked for ``web_search_call.action.sources`` (else an action has none).
        self.search_sources = True
        #: The encrypted content of the latest reasoning item, and, by call_id, that of
        #: the reasoning each function call followed: the next round must send it back.
        self.last_sealed: Optional[str] = None
        self.sealed: dict[str, str] = {}

    def event(self, name: str, fields: dict[str, Any]) -> str:
        obj = {"type": name, **fields, "sequence_number": self.sequence}
        self.sequence += 1
        return f"event: {name}{self.eol}data: {_dumps(obj)}{self.eol}{self.eol}"

    def response(self, status: str, **fields: Any) -> dict[str, Any]:
        """The ``response`` object of a lifecycle event."""
        usage = None
        first = self.first_usage
        if first is not None and status != "in_progress":
            usage = {
                "input_tokens": self.input_tokens,
                "input_tokens_details": {
                    "cached_tokens": first.cache_read_tokens,
                    "cache_write_tokens": first.cache_write_tokens,
                },
                "output_tokens": self.output_tokens,
                "output_tokens_details": {"reasoning_tokens": first.reasoning_tokens},
                "total_tokens": self.input_tokens + self.output_tokens,
            }
        return {
            "id": "resp_fake",
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "error": None,
            "incomplete_details": None,
            "model": self.model,
            "output": list(self.output),
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "usage": usage,
            **fields,
        }

    def start(self) -> str:
        if self.started:
            return ""
        self.started = True
        out = self.event("response.created", {"response": self.response("in_progress")})
        return out + self.event("response.in_progress", {"response": self.response("in_progress")})

    @property
    def index(self) -> int:
        """The ``output_index`` of the open item."""
        return len(self.output)

    def open_item(self, prefix: str, fields: dict[str, Any], tool: Optional[int] = None) -> str:
        """Close the open item, open another: its id is ``{prefix}_fake_{output_index}``."""
        out = self.close_item()
        item = {"id": f"{prefix}_fake_{self.index}", **fields}
        self.item, self.tool, self.buffer = item, tool, ""
        self.annotations = []
        return out + self.event(
            "response.output_item.added", {"output_index": self.index, "item": item}
        )

    def where(self, **more: Any) -> dict[str, Any]:
        """The fields that place an event in the open item."""
        assert self.item is not None
        return {"item_id": self.item["id"], "output_index": self.index, **more}

    def close_item(self) -> str:
        item = self.item
        if item is None:
            return ""
        text, out = self.buffer, ""
        kind = item["type"]
        if kind == "message":
            annotations = self.annotations
            part = {"type": "output_text", "annotations": annotations, "logprobs": [], "text": text}
            place = self.where(content_index=0)
            out += self.event("response.output_text.done", {**place, "text": text, "logprobs": []})
            out += self.event("response.content_part.done", {**place, "part": part})
            done = {**item, "status": "completed", "content": [part]}
        elif kind == "reasoning":
            part = {"type": "summary_text", "text": text}
            place = self.where(summary_index=0)
            out += self.event("response.reasoning_summary_text.done", {**place, "text": text})
            out += self.event("response.reasoning_summary_part.done", {**place, "part": part})
            done = {**item, "summary": [part]}
            if self.encrypted:  # opaque to the client: it comes back byte for byte, or a 400
                self.last_sealed = done["encrypted_content"] = "gAAAAB" + secrets.token_urlsafe(48)
        else:
            done = {**item, "status": "completed", "arguments": text}
            fields = self.where(name=item["name"], arguments=text)
            out += self.event("response.function_call_arguments.done", fields)
        out += self.event("response.output_item.done", {"output_index": self.index, "item": done})
        self.output.append(done)
        self.item, self.tool = None, None
        return out

    def text(self, step: Text) -> str:
        out = self.start()
        if self.item is None or self.item["type"] != "message":
            fields = {
                "type": "message",
                "status": "in_progress",
                "content": [],
                "role": "assistant",
            }
            out += self.open_item("msg", fields)
            part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
            out += self.event("response.content_part.added", self.where(content_index=0, part=part))
        start = len(self.buffer)
        self.buffer += step.text
        delta = self.where(content_index=0, delta=step.text, logprobs=[])
        out += self.event("response.output_text.delta", delta)
        for source in step.citations:
            annotation = responses_annotation(source, start, len(self.buffer))
            added = self.where(
                content_index=0, annotation_index=len(self.annotations), annotation=annotation
            )
            self.annotations.append(annotation)
            out += self.event("response.output_text.annotation.added", added)
        return out

    def reasoning(self, step: Reasoning) -> str:
        out = self.start()
        if self.item is None or self.item["type"] != "reasoning":
            out += self.open_item("rs", {"type": "reasoning", "summary": []})
            part = {"type": "summary_text", "text": ""}
            added = self.where(summary_index=0, part=part)
            out += self.event("response.reasoning_summary_part.added", added)
        self.buffer += step.text
        delta = self.where(summary_index=0, delta=step.text)
        return out + self.event("response.reasoning_summary_text.delta", delta)

    def tool_call(self, step: ToolCall) -> str:
        self.any_tool = True
        out = self.start()
        if self.item is None or self.tool != step.index:
            call_id = step.id or f"call_fake_{step.index}"
            fields = {
                "type": "function_call",
                "status": "in_progress",
                "arguments": "",
                "call_id": call_id,
                "name": step.name,
            }
            out += self.open_item("fc", fields, tool=step.index)  # closes the reasoning
            if self.last_sealed is not None:
                self.sealed[call_id] = self.last_sealed
        for piece in step.arguments:
            self.buffer += piece
            delta = self.where(delta=piece)
            out += self.event("response.function_call_arguments.delta", delta)
        return out

    def server_tool(self, step: ServerToolUse) -> str:
        """A server tool's output item, its events, and the item done, as in
        https://platform.openai.com/docs/api-reference/responses-streaming"""
        out = self.start() + self.close_item()
        failed = step.error is not None
        if step.name == "code_execution":
            kind, prefix, event = "code_interpreter_call", "ci", "response.code_interpreter_call"
            code = str(step.input.get("code", ""))
            fields: dict[str, Any] = {"code": "", "container_id": "cntr_fake", "outputs": None}
            logs = [{"type": "logs", "logs": step.output}]
            done: dict[str, Any] = {"code": code, "outputs": None if failed else logs}
            middle = ["in_progress", "interpreting"]
        else:
            kind, prefix, event = f"{step.name}_call", "ws", f"response.{step.name}_call"
            fields = {}
            action: dict[str, Any] = {"type": "search", "query": str(step.input.get("query", ""))}
            if self.search_sources:
                action["sources"] = [{"type": "url", "url": url} for url in step.sources]
            done = {"action": action}
            middle = ["in_progress", "searching"]
        item_id = step.id or f"{prefix}_fake_{self.index}"
        item = {"id": item_id, "type": kind, "status": "in_progress", **fields}
        place = {"output_index": self.index, "item_id": item_id}
        out += self.event("response.output_item.added", {"output_index": self.index, "item": item})
        for status in middle:
            out += self.event(f"{event}.{status}", place)
            if status == "in_progress" and step.name == "code_execution":
                out += self.event(
                    "response.code_interpreter_call_code.delta", {**place, "delta": code}
                )
                out += self.event(
                    "response.code_interpreter_call_code.done", {**place, "code": code}
                )
        if not failed:
            out += self.event(f"{event}.completed", place)
        whole = {**item, **done, "status": "failed" if failed else "completed"}
        out += self.event("response.output_item.done", {"output_index": self.index, "item": whole})
        self.output.append(whole)
        return out

    def finish(self, step: Finish) -> str:
        self.reason = step.reason
        return self.start() + self.close_item()

    def usage(self, step: UsageStep) -> str:
        return ""  # its numbers go into the terminal event's response

    def done(self) -> str:
        out = self.start() + self.close_item()
        response = self.final()
        return out + self.event(f"response.{response['status']}", {"response": response})

    def final(self) -> dict[str, Any]:
        """The response as the terminal event (or a whole, unstreamed reply) gives it."""
        if self.reason in _COMPLETED:
            return self.response("completed")
        return self.response("incomplete", incomplete_details={"reason": self.reason})

    def error(self, step: ErrorEvent) -> str:
        code = step.code or step.error_type
        if step.failed:
            error = {"code": code, "message": step.message}
            response = self.response("failed", error=error)
            return self.start() + self.event("response.failed", {"response": response})
        return self.event("error", {"code": code, "message": step.message, "param": None})

    def ping(self) -> str:
        return self.comment("ping")
