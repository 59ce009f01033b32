"""``run_tools=True``: run the model's tool calls and go on until it answers.

Each round is a plain :class:`~codey.Stream` of its own: its own request
through the same engine, with its own retries (before that round's first
text) and its own worker thread, closed when the round ends.
:class:`ToolStream` hands their text and events on as one stream. When a
round ends with tool calls, they run in the caller's thread, one after the
other (the caller's code, never a worker, runs the caller's functions); the
assistant's message with its calls and one ``tool`` message per result join
the conversation, and the next round is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from time import monotonic
from typing import Any, Callable, Optional

from codey._channel import _STOP, END, Restart
from codey._errors import CodeyError, TooManyToolRoundsError
from codey._pauses import MAX_PAUSES, add_usage
from codey._stream import Stream, Timings
from codey._tools import Tool, run_call
from codey._types import Citation, Finish, Message, ServerToolCall, ToolCall, ToolResult, Usage

__all__ = ["MAX_PAUSES", "ToolStream"]


class ToolStream(Stream):
    """A :class:`~codey.Stream` over every round of a tool loop (``run_tools=True``).

    Iterating yields the text of every round; :meth:`events` also yields a
    :class:`~codey.ToolResult` for each call run. ``usage`` is the sum over
    the rounds, ``finish_reason`` the last round's. ``messages`` is the
    whole conversation: what was sent, each round's assistant message and
    tool results, and the final answer once it is whole. ``tool_results``
    holds every call run; ``tool_errors`` the exceptions among them.
    """

    def __init__(
        self,
        start: Callable[[tuple[Message, ...]], Stream],
        messages: Sequence[Message],
        tools: Sequence[Tool],
        max_rounds: int,
    ) -> None:
        # No worker of its own (its rounds have theirs): only the answer's state.
        self._begin_answer(None)
        self._start = start
        self._tools = {tool.name: tool for tool in tools}
        self._max_rounds = max_rounds
        self._pending: list[ToolResult] = []
        #: Where the round going on begins in ``text``: its citations' spans move by it,
        #: and its assistant message's text starts there.
        self._round_start = 0
        self._round_citations = 0  # how many citations the rounds before it gave
        self._earlier_usage: Optional[Usage] = None
        self._started = monotonic()
        #: (seconds after the start, round) of the rounds before this one.
        self._earlier: list[tuple[float, Stream]] = []
        self.messages: list[Message] = list(messages)
        self.tool_results: list[ToolResult] = []
        #: How many rounds of tool calls have run.
        self.rounds = 0
        self._round_offset = 0.0
        self._round = start(tuple(self.messages))

    def __repr__(self) -> str:
        state = "closed" if self._done else "open"
        return f"<codey.Stream {self.provider}:{self.model} {state}, {self.rounds} tool rounds>"

    @property
    def model(self) -> str:
        return self._round.model

    @property
    def provider(self) -> str:
        return self._round.provider

    @property
    def api(self) -> str:
        return self._round.api

    @property
    def served_model(self) -> Optional[str]:
        return self._round.served_model

    @property
    def cancelled(self) -> bool:
        return self._done and not self._ended

    @property
    def reasoning(self) -> str:
        """The reasoning of every round so far."""
        rounds = [stream for _, stream in self._earlier] + [self._round]
        return "".join(stream.reasoning for stream in rounds)

    @property
    def response_status(self) -> Optional[int]:
        """The HTTP status of the latest round's latest response (None before one began)."""
        return self._round.response_status

    @property
    def response_headers(self) -> Optional[Mapping[str, str]]:
        """The latest round's latest response headers (or None)."""
        return self._round.response_headers

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        """Every tool call run so far, then those of the round going on."""
        return tuple(result.call for result in self.tool_results) + self._round.tool_calls

    @property
    def server_tool_calls(self) -> tuple[ServerToolCall, ...]:
        """The provider's own tools' calls of every round so far (never run here)."""
        rounds = [stream for _, stream in self._earlier] + [self._round]
        return tuple(call for stream in rounds for call in stream.server_tool_calls)

    @property
    def tool_errors(self) -> list[BaseException]:
        """The exceptions of the calls that failed (each was sent back to the model)."""
        return [result.error for result in self.tool_results if result.error is not None]

    @property
    def timings(self) -> Timings:
        """Over every round: the first headers and text, the longest gap, retries summed."""
        rounds = [*self._earlier, (self._round_offset, self._round)]
        shots = [(offset, stream.timings) for offset, stream in rounds]
        headers = next((o + t.to_headers for o, t in shots if t.to_headers is not None), None)
        text = next((o + t.to_first_text for o, t in shots if t.to_first_text is not None), None)
        last_offset, last = shots[-1]
        return Timings(
            to_headers=headers,
            to_first_text=text,
            longest_gap=max(t.longest_gap for _, t in shots),
            idle=last.idle,
            total=last_offset + last.total,
            retries=sum(t.retries for _, t in shots),
            retry_wait=sum(t.retry_wait for _, t in shots),
        )

    def close(self) -> None:
        self._done = True
        self._round.close()

    def _pull(self) -> Any:
        try:
            while True:
                if self._done:
                    return _STOP
                if self._pending:
                    return self._pending.pop(0)
                piece = self._round._pull()
                if piece.__class__ is str:
                    self._parts.append(piece)
                    return piece
                if piece is END:
                    if self._next_round():
                        continue
                    self._ended = True
                    self.close()
                    return END
                if piece is _STOP:
                    self.close()
                    return _STOP
                if piece.__class__ is Citation and self._round_start:
                    piece = piece.moved(self._round_start)
                self._apply(piece)
                return piece
        except BaseException as exc:
            self.close()
            if isinstance(exc, CodeyError):
                exc.partial_text = self.text
            raise

    def _apply(self, event: object) -> None:
        if isinstance(event, Usage):  # the round's, over the parts of a paused answer
            self.usage = add_usage(self._earlier_usage, self._round.usage)
        elif isinstance(event, Finish):
            self.finish_reason = event.reason
        elif isinstance(event, Citation):
            self._citations.append(event)
        elif isinstance(event, Restart):  # the round is retried: as it was before it began
            self.usage = self._earlier_usage
            self.finish_reason = None
            del self._citations[self._round_citations :]

    def _next_round(self) -> bool:
        """Run the round's tool calls and start the next round; False if it made none.

        A round the provider paused (``pause_turn``) was continued by the round's
        own stream (``codey._pauses.go_on``): here it is one answer.
        """
        text = self.text[self._round_start :]
        calls = self._round.tool_calls
        if not calls:
            self.messages.append(Message("assistant", text))
            return False
        if self.rounds >= self._max_rounds:
            raise TooManyToolRoundsError(
                f"the model still asked for tools after {self.rounds} rounds of them "
                f"(max_tool_rounds={self._max_rounds})",
                rounds=self.rounds,
            )
        self.rounds += 1
        self.messages.append(
            Message("assistant", text, tool_calls=calls, replay=self._round._replay)
        )
        for call in calls:
            result = run_call(self._tools, call)
            self.tool_results.append(result)
            self._pending.append(result)
            self.messages.append(
                Message(
                    "tool",
                    result.output,
                    attachments=result.attachments,
                    tool_call_id=call.id,
                    is_error=result.error is not None,
                )
            )
            if self._done:  # closed from another thread while a tool ran
                return True
        self._start_round()
        return True

    def _start_round(self) -> None:
        """Send the conversation so far: the next round begins."""
        self._earlier_usage = self.usage
        self._round_start = len(self.text)
        self._round_citations = len(self._citations)
        self._shown = False
        self._earlier.append((self._round_offset, self._round))
        self._round_offset = monotonic() - self._started
        self._round = self._start(tuple(self.messages))
