"""What every wire format's renderer shares: the SSE line ending, the model, the
script's usage, comment lines, and which step is which. One subclass per wire
format (``_chat``, ``_messages``), registered in ``_render``."""

from __future__ import annotations

from collections.abc import Sequence

from codey.testing._steps import (
    Comment,
    Done,
    ErrorEvent,
    Finish,
    Ping,
    Reasoning,
    RedactedThinking,
    ServerToolUse,
    Step,
    Text,
    ToolCall,
    UsageStep,
)


class _Renderer:
    """Turns the steps of one reply, in order, into the SSE text of one wire format.

    One instance renders one reply: it keeps the state of the stream (started,
    the open block, the tool calls seen). A wire format implements one method per
    kind of step; control steps and :class:`Raw` never reach it.
    """

    def __init__(self, model: str, eol: str, steps: Sequence[Step]) -> None:
        self.model = model
        self.eol = eol
        self.any_tool = False
        usage = next((step for step in steps if isinstance(step, UsageStep)), None)
        self.input_tokens = usage.input_tokens if usage is not None else 0
        self.output_tokens = usage.output_tokens if usage is not None else 0
        self.first_usage = usage
        self.server_calls = 0  # the server tools' calls so far, for their ids

    def render(self, step: Step) -> str:
        """The SSE text of ``step`` (``""`` when it shows nothing in this format)."""
        if isinstance(step, Text):
            return self.text(step)
        if isinstance(step, Reasoning):
            return self.reasoning(step)
        if isinstance(step, ToolCall):
            return self.tool_call(step)
        if isinstance(step, RedactedThinking):
            return self.redacted_thinking(step)
        if isinstance(step, ServerToolUse):
            return self.server_tool(step)
        if isinstance(step, Finish):
            return self.finish(step)
        if isinstance(step, UsageStep):
            return self.usage(step)
        if isinstance(step, Done):
            return self.done()
        if isinstance(step, ErrorEvent):
            return self.error(step)
        if isinstance(step, Comment):
            return self.comment(step.text)
        if isinstance(step, Ping):
            return self.ping()
        raise TypeError(f"not a rendered step: {step!r}")

    def comment(self, text: str) -> str:
        return f": {text}{self.eol}{self.eol}"

    def text(self, step: Text) -> str:
        raise NotImplementedError

    def reasoning(self, step: Reasoning) -> str:
        raise NotImplementedError

    def tool_call(self, step: ToolCall) -> str:
        raise NotImplementedError

    def redacted_thinking(self, step: RedactedThinking) -> str:
        return ""  # Anthropic's alone

    def server_tool(self, step: ServerToolUse) -> str:
        return ""  # Chat Completions has none

    def finish(self, step: Finish) -> str:
        raise NotImplementedError

    def usage(self, step: UsageStep) -> str:
        raise NotImplementedError

    def done(self) -> str:
        raise NotImplementedError

    def error(self, step: ErrorEvent) -> str:
        raise NotImplementedError

    def ping(self) -> str:
        raise NotImplementedError
