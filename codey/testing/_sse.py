"""What every wire format's renderer shares: the SSE line ending, the model, the
script's usage and comment lines. One subclass per wire format (``_chat``,
``_messages``), registered in ``_render``."""

from __future__ import annotations

from collections.abc import Sequence

from codey.testing._steps import Step, UsageStep


class _Renderer:
    """Turns the steps of one reply, in order, into the SSE text of one wire format.

    One instance renders one reply: it keeps the state of the stream (started,
    the open block, the tool calls seen). Control steps and :class:`Raw` never
    reach it.
    """

    def __init__(self, model: str, eol: str, steps: Sequence[Step]) -> None:
        self.model = model
        self.eol = eol
        self.any_tool = False
        usage = next((step for step in steps if isinstance(step, UsageStep)), None)
        self.input_tokens = usage.input_tokens if usage is not None else 0
        self.output_tokens = usage.output_tokens if usage is not None else 0

    def comment(self, text: str) -> str:
        return f": {text}{self.eol}{self.eol}"

    def render(self, step: Step) -> str:
        raise NotImplementedError
