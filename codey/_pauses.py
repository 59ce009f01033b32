"""A paused answer continued: the one place that does it, for every stream.

Anthropic pauses a long turn (stop reason ``pause_turn``: its server tools ran
long) and says to send the request again with the answer so far as the
assistant's turn, its server tools' blocks included, for the model to go on:
https://platform.claude.com/docs/en/build-with-claude/handling-stop-reasons.
``Stream._pull`` calls :func:`go_on` at the end of such a part (a plain stream's,
or a tool loop's round's): the stream sends the next request and reads its
worker as its own, so the parts make one answer (one text, one usage, one
deadline: the stream's, which bounds every read). Nothing here runs on the hot
path: once per part, at its end.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, Callable, Optional

import attrs

from codey._types import Citation, Message, ServerToolCall, ToolCallDelta, Usage

if TYPE_CHECKING:
    from codey._stream import Stream

__all__ = ["MAX_PAUSES", "PAUSED", "Carried", "Resume", "add_usage", "go_on", "restore"]

#: How many times in a row a paused answer is continued.
MAX_PAUSES = 5
#: The stop reason of an answer the provider paused.
PAUSED = "pause_turn"
#: ``resume(conversation)``: a stream of the same request with ``conversation`` instead.
Resume = Callable[[tuple[Message, ...]], "Stream"]


def add_usage(first: Optional[Usage], second: Optional[Usage]) -> Optional[Usage]:
    """The counts of two requests together (a count neither reported stays None)."""
    if first is None or second is None:
        return first or second
    pairs = zip(attrs.astuple(first), attrs.astuple(second))
    return Usage(*(b if a is None else a if b is None else a + b for a, b in pairs))


@attrs.frozen
class Carried:
    """What the parts before the current one gave: a retry of the current part
    starts from here, not from nothing; the timings start from the first part."""

    reasoning: str
    citations: tuple[Citation, ...]
    tool_deltas: tuple[ToolCallDelta, ...]
    replay: tuple[tuple[str, dict[str, Any]], ...]
    usage: Optional[Usage]
    served: Optional[str]
    server_calls: tuple[tuple[str, ServerToolCall], ...]
    #: The first part's start, response headers and first text (monotonic seconds).
    started: float
    headers: Optional[float]
    first_text: Optional[float]


def go_on(stream: Stream) -> None:
    """Send ``stream``'s request again with its answer so far, and make the next
    part's worker the stream's own (its channel, and the finalizer that cancels
    it when the stream is collected)."""
    assert stream._resume is not None
    stream._pauses += 1
    paused = Message("assistant", stream.text, replay=tuple(stream._replay))
    try:
        following = stream._resume((*stream._conversation, paused))
    except BaseException as exc:
        raise stream._fail(exc) from None
    before, first = stream._channel, stream._carried
    stream._carried = Carried(
        stream.reasoning,
        tuple(stream._citations),
        tuple(stream._tool_deltas),
        tuple(stream._replay),
        stream.usage,
        stream._served,
        tuple(stream._server_calls.items()),
        before.started if first is None else first.started,
        before.t_headers if first is None else first.headers,
        before.t_first_text if first is None else first.first_text or before.t_first_text,
    )
    following._finalizer.detach()
    stream._finalizer.detach()
    channel = stream._channel = following._channel
    stream._finalizer = weakref.finalize(stream, channel.cancel)
    stream._producer, following._producer = following._producer, None
    stream._batch, stream._position = [], 0
    stream._shown = False
    channel.retries += before.retries
    channel.retry_wait += before.retry_wait
    channel.longest_gap = max(channel.longest_gap, before.longest_gap)


def restore(stream: Stream, carried: Carried) -> None:
    """A retry of a paused answer's part: the stream as the parts before it left it."""
    stream._reasoning[:] = [carried.reasoning]
    stream._citations[:] = carried.citations
    stream._tool_deltas[:] = carried.tool_deltas
    stream._replay[:] = carried.replay
    stream._server_calls = dict(carried.server_calls)
    stream.usage = carried.usage
    stream._served = carried.served
