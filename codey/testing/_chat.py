"""The OpenAI / xAI Chat Completions wire format: one ``data:`` line of JSON per
``chat.completion.chunk``, then ``data: [DONE]``."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Optional

from codey.testing._cites import chat_annotations
from codey.testing._common import _dumps
from codey.testing._sse import _Renderer
from codey.testing._steps import ErrorEvent, Finish, Reasoning, Step, Text, ToolCall, UsageStep


class _ChatRenderer(_Renderer):
    def __init__(self, model: str, eol: str, steps: Sequence[Step]) -> None:
        super().__init__(model, eol, steps)
        self.created = int(time.time())
        self.started = False
        self.tools: set[int] = set()
        self.length = 0  # of the content so far: annotations count from its start

    def data(self, obj: object) -> str:
        return f"data: {_dumps(obj)}{self.eol}{self.eol}"

    def envelope(self) -> dict[str, Any]:
        """The fields every chunk starts with."""
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
        }

    def chunk(self, delta: dict[str, Any], finish_reason: Optional[str] = None) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        return self.data({**self.envelope(), "choices": [choice]})

    def start(self) -> str:
        if self.started:
            return ""
        self.started = True
        return self.chunk({"role": "assistant", "content": ""})

    def text(self, step: Text) -> str:
        start, self.length = self.length, self.length + len(step.text)
        delta: dict[str, Any] = {"content": step.text}
        annotations = chat_annotations(step.citations, start, self.length)
        if annotations:
            delta["annotations"] = annotations
        return self.start() + self.chunk(delta)

    def reasoning(self, step: Reasoning) -> str:
        return self.start() + self.chunk({"reasoning_content": step.text})

    def tool_call(self, step: ToolCall) -> str:
        out = [self.start()]
        self.any_tool = True
        pieces = list(step.arguments)
        if step.index not in self.tools:
            self.tools.add(step.index)
            first = pieces.pop(0) if pieces else ""
            call = {
                "index": step.index,
                "id": step.id or f"call_fake_{step.index}",
                "type": "function",
                "function": {"name": step.name, "arguments": first},
            }
            out.append(self.chunk({"tool_calls": [call]}))
        for piece in pieces:
            call = {"index": step.index, "function": {"arguments": piece}}
            out.append(self.chunk({"tool_calls": [call]}))
        return "".join(out)

    def finish(self, step: Finish) -> str:
        reason = step.reason or ("tool_calls" if self.any_tool else "stop")
        return self.start() + self.chunk({}, reason)

    def usage(self, step: UsageStep) -> str:
        return self.data({**self.envelope(), "choices": [], "usage": chat_usage(step)})

    def done(self) -> str:
        return f"data: [DONE]{self.eol}{self.eol}"

    def error(self, step: ErrorEvent) -> str:
        error = {"message": step.message, "type": step.error_type, "param": None, "code": step.code}
        return self.data({"error": error})

    def ping(self) -> str:
        return self.comment("ping")


def chat_usage(step: UsageStep) -> dict[str, Any]:
    """A Chat Completions ``usage`` object (streamed, or in a whole chat.completion)."""
    usage: dict[str, Any] = {
        "prompt_tokens": step.input_tokens,
        "completion_tokens": step.output_tokens,
        "total_tokens": step.input_tokens + step.output_tokens,
    }
    if step.cache_read_tokens:
        usage["prompt_tokens_details"] = {"cached_tokens": step.cache_read_tokens}
    if step.reasoning_tokens:
        usage["completion_tokens_details"] = {"reasoning_tokens": step.reasoning_tokens}
    return usage
