"""``Stream``: a worker thread per stream, and a queue between it and the caller.

The worker runs a *producer* (see ``codey._transport``) that puts lists of
items on the queue: ``str`` for text, event objects for everything else, one
list per network read. It ends with ``END`` or an exception; a ``Restart``
between attempts says the one before failed and is retried. The caller's
generator drains the queue with timeouts taken from the shared ``Channel``.
In a thread that is itself a worker (a batch's: see :func:`worker_thread`),
the producer runs in that thread instead, at the first read.
This module knows no provider and no HTTP.
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import threading
import weakref
from collections.abc import Iterator, Mapping, Sequence
from time import monotonic
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

import attrs

from codey._channel import (
    _STOP,
    _WAKE,
    CONNECTING,
    END,
    STREAMING,
    Channel,
    ResponseHook,
    Restart,
    _watch,
    _work,
)
from codey._errors import (
    CancelledError,
    ChunkTimeoutError,
    CodeyError,
    DeadlineExceededError,
)
from codey._pauses import MAX_PAUSES, PAUSED, Carried, Resume, add_usage, go_on, restore
from codey._secrets import scrub
from codey._types import (
    Citation,
    Finish,
    ReasoningDelta,
    Replay,
    ServedModel,
    ServerToolCall,
    TextDelta,
    ToolCall,
    ToolCallDelta,
    Usage,
)

if TYPE_CHECKING:
    from codey._schema import Schema
    from codey._types import Message

_ids = itertools.count(1)
_here = threading.local()


@contextlib.contextmanager
def worker_thread() -> Iterator[None]:
    """Within: a stream opened in this thread (without a deadline) runs its producer
    in this thread, at its first read, rather than in a thread of its own.

    For threads that read each answer whole and wait for nothing else (a
    batch's workers): a thread per stream costs more CPU than the request.
    The socket's timeouts bound each read (``connect_timeout`` until the response
    began, ``first_chunk_timeout`` until its first content, ``chunk_timeout``
    after), ``close()`` from another thread still cuts the connection, and the
    answer is queued whole before it is read.
    A deadline needs a reader that can give up while the producer waits, so a
    stream with one still gets its own thread.
    """
    before = getattr(_here, "worker", False)
    _here.worker = True
    try:
        yield
    finally:
        _here.worker = before


@attrs.frozen
class Timings:
    """Where a stream's time went, in seconds from the call to ``stream()``.

    Measured with a monotonic clock; a snapshot, taken during or after the stream.
    """

    #: Until the response headers of the attempt that answered (None until then).
    to_headers: Optional[float]
    #: Until the first text arrived (None until then).
    to_first_text: Optional[float]
    #: The longest silence between two reads of the body, once it began.
    longest_gap: float
    #: Seconds since the server last sent anything (0 once the stream ended).
    idle: float
    #: From the call to the end of the stream (or until now, while it runs).
    total: float
    #: How many times a failed attempt was retried (fallback models included).
    retries: int
    #: Seconds spent waiting between attempts.
    retry_wait: float


class Stream:
    """A streaming answer: iterate it for text; use it as a context manager.

    Iterating yields each text delta (never an empty string) as it arrives;
    :meth:`events` yields typed events instead. Leaving the loop early,
    :meth:`close`, leaving a ``with`` block, or garbage collection stops the
    worker thread and closes the connection. An error in the worker is raised
    here, after every chunk that arrived before it.

    ``close()`` may be called from any thread. A thread blocked iterating the
    stream then stops with a clean end (no exception): ``cancelled`` is True
    and ``finish_reason`` stays None, so a cut answer can be told from a whole one.

    :attr:`provider`, :attr:`model` and :attr:`api` say who answered, and over
    which API (``"chat"``, ``"responses"`` or ``"messages"``).
    """

    #: Token usage once reported, else None.
    usage: Optional[Usage]
    #: The provider's stop reason once known (``stop``, ``end_turn``...), else None.
    finish_reason: Optional[str]

    def __init__(
        self,
        producer: Callable[[Channel], None],
        *,
        targets: Sequence[tuple[str, str, str]],
        chunk_timeout: Optional[float] = None,
        deadline: Optional[float] = None,
        cancel: Optional[threading.Event] = None,
        schema: Optional[Schema] = None,
        on_response: Optional[ResponseHook] = None,
        conversation: tuple[Message, ...] = (),
        resume: Optional[Resume] = None,
    ) -> None:
        self._targets = tuple(targets)
        self._begin_answer(schema)
        #: What was sent, and how to send it again with more: a paused answer goes on.
        self._conversation = conversation
        self._resume = resume
        # The queue item being handed out, and the position in it.
        self._batch: list[Any] = []
        self._position = 0
        self._tool_deltas: list[ToolCallDelta] = []
        self._deadline_seconds = deadline
        self._deadline = None if deadline is None else monotonic() + deadline
        channel = self._channel = Channel(chunk_timeout, on_response)
        # The finalizer holds the channel, not the stream: collection can close it.
        self._finalizer = weakref.finalize(self, channel.cancel)
        #: The producer still to run in the reader's thread (see worker_thread()).
        self._producer: Optional[Callable[[Channel], None]] = None
        if deadline is None and getattr(_here, "worker", False):
            self._producer = producer
        else:
            thread = threading.Thread(
                target=_work,
                args=(channel, producer),
                name=f"codey-{self._targets[0][0]}-{next(_ids)}",
                daemon=True,
            )
            thread.start()
        if cancel is not None:
            _watch(cancel, channel)

    def __repr__(self) -> str:
        state = "closed" if self._done else "open"
        return f"<codey.Stream {self.provider}:{self.model} {state}>"

    def _begin_answer(self, schema: Optional[Schema]) -> None:
        """The answer's state, as every stream starts it (a ``ToolStream`` too, which
        reads its rounds instead of a worker of its own)."""
        self._schema = schema
        self._json: Optional[tuple[Any]] = None  # the answer's JSON once checked, boxed
        self._json_error: Optional[BaseException] = None
        self.usage = None
        self.finish_reason = None
        self._served: Optional[str] = None
        #: The Replay items of the answer, for its assistant message (``replay``).
        self._replay: list[tuple[str, dict[str, Any]]] = []
        self._parts: list[str] = []
        self._reasoning: list[str] = []
        self._citations: list[Citation] = []
        #: events() handed on a tool-call or reasoning piece of the attempt going on.
        self._shown = False
        self._done = False
        self._ended = False  # the provider's end marker arrived
        #: The latest event of each server tool call, by its id.
        self._server_calls: dict[str, ServerToolCall] = {}
        #: How many times the answer was paused and continued (``pause_turn``).
        self._pauses = 0
        self._carried: Optional[Carried] = None

    @property
    def model(self) -> str:
        """The model name sent to the API (the fallback's, when one answered)."""
        return self._targets[self._channel.current][1]

    @property
    def provider(self) -> str:
        """The provider's name (``openai``, ``xai``, ``anthropic``), whichever API it
        answered over (the fallback's, when one answered)."""
        return self._targets[self._channel.current][0]

    @property
    def api(self) -> str:
        """The API that answered: ``"chat"`` (Chat Completions), ``"responses"`` (the
        Responses API) or ``"messages"`` (Anthropic's Messages API). With ``api=None``
        it is the one the model table names for the model (the fallback's, when one
        answered)."""
        return self._targets[self._channel.current][2]

    @property
    def served_model(self) -> Optional[str]:
        """The model the server says answered (None until it says).

        It may differ from :attr:`model`: a dated snapshot of it
        (``gpt-4.1-2025-04-14``), or another model the provider put in its
        place (a retired ``grok-3`` answered by ``grok-4.3``).
        """
        return self._served

    @property
    def text(self) -> str:
        """All text yielded so far."""
        return _joined(self._parts)

    @property
    def reasoning(self) -> str:
        """All reasoning (thinking) text received so far."""
        return _joined(self._reasoning)

    @property
    def citations(self) -> list[Citation]:
        """The :class:`~codey.Citation` events received so far: the sources the
        provider cites, each with the span of :attr:`text` it backs."""
        return list(self._citations)

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        """The tool calls received so far, whole (their pieces put together)."""
        from codey._tools import assemble_calls

        return assemble_calls(self._tool_deltas)

    @property
    def server_tool_calls(self) -> tuple[ServerToolCall, ...]:
        """The provider's own tools' calls so far (web search...), each in its latest
        state: never in :attr:`tool_calls`, never run by ``run_tools=True``."""
        return tuple(self._server_calls.values())

    @property
    def closed(self) -> bool:
        """Whether the stream has ended, for any reason."""
        return self._done

    @property
    def cancelled(self) -> bool:
        """Whether the stream was closed before its end (by ``close()``, a break, ``cancel``)."""
        return self._channel.cancelled.is_set() and not self._ended

    @property
    def response_status(self) -> Optional[int]:
        """The HTTP status of the latest attempt's response (None before one began)."""
        return self._channel.response_status

    @property
    def response_headers(self) -> Optional[Mapping[str, str]]:
        """The latest attempt's response headers, read-only and case-insensitive (or None)."""
        return self._channel.response_headers

    @property
    def timings(self) -> Timings:
        """A snapshot of where the time went so far."""
        channel = self._channel
        now = monotonic()
        started = channel.started
        end = channel.t_end
        last = channel.last_read
        gap = channel.longest_gap
        if end is None and last is not None and now - last > gap:
            gap = now - last  # the silence going on right now counts too
        headers, first_text = channel.t_headers, channel.t_first_text
        carried = self._carried
        if carried is not None:  # a paused answer: from its first part on
            started, headers = carried.started, carried.headers
            first_text = carried.first_text or first_text
        return Timings(
            to_headers=None if headers is None else headers - started,
            to_first_text=None if first_text is None else first_text - started,
            longest_gap=gap,
            idle=0.0 if end is not None or last is None else now - last,
            total=(now if end is None else end) - started,
            retries=channel.retries,
            retry_wait=channel.retry_wait,
        )

    def __iter__(self) -> Iterator[str]:
        return self._texts()

    def __next__(self) -> str:
        """The next piece of text; StopIteration at the end (or once closed)."""
        while True:
            piece = self._pull()
            if piece.__class__ is str:
                return piece
            if piece is END or piece is _STOP:
                raise StopIteration

    def events(self) -> Iterator[Union[TextDelta, ReasoningDelta, Any]]:
        """Typed events in arrival order: ``TextDelta``, ``ReasoningDelta``,
        ``ToolCallDelta``, ``Citation`` (once the text it cites has arrived),
        ``Usage`` (one per request, the final count), and one final ``Finish``."""
        pull = self._pull
        try:
            while True:
                piece = pull()
                if piece.__class__ is str:
                    yield TextDelta(piece)
                elif piece is END:
                    yield Finish(self.finish_reason)
                    return
                elif piece is _STOP:
                    return
                elif piece.__class__ is Restart:
                    if self._shown:  # the caller has pieces of the failed attempt: no retry
                        raise self._fail(piece.error)
                elif (
                    piece.__class__ is not Finish
                    and piece.__class__ is not ServedModel
                    and piece.__class__ is not Replay
                ):
                    if piece.__class__ in (ToolCallDelta, ReasoningDelta, Citation):
                        self._shown = True
                    yield piece
        finally:
            self.close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the stream: the worker ends and the connection closes.

        Idempotent, and safe to call from any thread.
        """
        self._finalizer()  # cancelled first: whoever sees it done sees it cancelled
        self._done = True

    def _texts(self) -> Iterator[str]:
        # A generator over the shared position, so that leaving a for loop
        # early closes the stream while next() and for loops can be mixed.
        pull = self._pull
        try:
            while True:
                piece = pull()
                if piece.__class__ is str:
                    yield piece
                elif piece is END or piece is _STOP:
                    return
        finally:
            self.close()

    def _pull(self) -> Any:
        """The next piece (text or event), ``END`` at the end, ``_STOP`` once closed,
        a ``Restart`` when the worker retries a failed attempt.

        The one reader of the queue: ``for``, ``next()`` and ``events()`` share it.
        """
        if self._done:
            return _STOP
        batch = self._batch
        position = self._position
        if position < len(batch):
            piece = batch[position]
            self._position = position + 1
            if piece.__class__ is str:
                self._parts.append(piece)
            else:
                if piece.__class__ is Citation:  # counted back from the text before it
                    piece = piece.moved(len(self.text))  # (see codey._providers._citations)
                self._apply(piece)
            return piece
        cancelled = self._channel.cancelled
        while True:
            if cancelled.is_set():
                self.close()
                return _STOP
            item = self._next()
            if cancelled.is_set():  # closed while the producer ran in this thread
                self.close()
                return _STOP
            if item.__class__ is list:
                if item:
                    self._batch = batch = item
                    self._position = 1
                    piece = item[0]
                    if piece.__class__ is str:
                        self._parts.append(piece)
                    else:
                        if piece.__class__ is Citation:
                            piece = piece.moved(len(self.text))
                        self._apply(piece)
                    return piece
            elif item is END:
                if self.finish_reason == PAUSED and self._pauses < MAX_PAUSES and self._resume:
                    go_on(self)
                    cancelled = self._channel.cancelled
                    continue
                self._ended = True
                self.close()
                if self._schema is not None:  # checked at the end, as the answer's last step
                    self._check_json(self._schema)
                return END
            elif item is _WAKE:
                self.close()
                return _STOP
            elif item.__class__ is Restart:
                self._restart()
                return item
            else:
                raise self._fail(item)

    def json(self) -> Any:
        """The answer as JSON, read to its end, checked against ``schema=`` and loaded."""
        for _ in self._texts():
            pass
        if self._json_error is not None:
            raise self._json_error
        if self._json is None:
            if not self._ended:
                raise CancelledError("the stream was closed before its end", partial_text=self.text)
            self._check_json(None)
        return self._json[0]  # type: ignore[index]

    def _check_json(self, schema: Optional[Schema]) -> None:
        from codey._schema import load_answer  # only streams with JSON answers pay for it

        try:
            self._json = (load_answer(schema, self.text, self.provider, self.finish_reason),)
        except CodeyError as exc:
            self._json_error = self._fail(exc)
            raise self._json_error from exc.__cause__

    def _apply(self, event: object) -> None:
        if isinstance(event, ReasoningDelta):
            self._reasoning.append(event.text)
        elif isinstance(event, Usage):
            carried = self._carried
            self.usage = event if carried is None else add_usage(carried.usage, event)
        elif isinstance(event, Finish):
            self.finish_reason = event.reason
        elif isinstance(event, ToolCallDelta):
            self._tool_deltas.append(event)
        elif isinstance(event, ServedModel):
            self._served = event.name
        elif isinstance(event, Replay):
            self._replay.append((event.wire, event.item))
        elif isinstance(event, ServerToolCall):
            self._server_calls[event.id or str(len(self._server_calls))] = event
        elif isinstance(event, Citation):
            self._citations.append(event)

    def _restart(self) -> None:
        """A retry starts from nothing: drop what the failed attempt sent (it sent no
        text); in a paused answer, from what the parts before it sent."""
        self.finish_reason = None
        if self._carried is not None:
            restore(self, self._carried)
            return
        self._reasoning.clear()
        self._citations.clear()
        self._tool_deltas.clear()
        self._replay.clear()
        self._server_calls = {}
        self.usage = None
        self._served = None

    def _fail(self, exc: BaseException) -> BaseException:
        """``exc``, ready to reach the caller: the stream closed, the keys redacted.

        Every error a stream raises passes here (the worker's, the timeouts', the
        JSON check's): servers quote keys back in error bodies, events and lines.
        """
        self.close()
        if isinstance(exc, CodeyError):
            exc.partial_text = self.text
        return scrub(exc)

    def _next(self) -> Any:
        """The next item from the worker, enforcing chunk_timeout and deadline."""
        channel = self._channel
        producer = self._producer
        if producer is not None:
            self._producer = None
            _work(channel, producer)  # the whole answer, on the queue before we read it
        get = channel.queue.get
        floor = 0.0
        while True:
            expires = channel.expires_at
            deadline = self._deadline
            if expires is None:
                if deadline is None:
                    return get()
                limit = deadline
            elif deadline is None or expires < deadline:
                limit = expires
            else:
                limit = deadline
            try:
                return get(timeout=max(floor, limit - monotonic()))
            except queue.Empty:
                pass
            now = monotonic()
            if deadline is not None and now >= deadline:
                raise self._fail(
                    DeadlineExceededError(
                        f"{self.provider} did not finish within the {self._deadline_seconds} s "
                        "deadline"
                    )
                )
            expires = channel.expires_at
            if expires is None or now < expires:
                continue
            phase = channel.phase
            if phase == STREAMING:
                raise self._fail(ChunkTimeoutError(channel.silence_message(self.provider)))
            if phase == CONNECTING:
                channel.abort_attempt()
            # Between attempts: wait for the worker to move on, without spinning.
            floor = 0.001


def _joined(parts: list[str]) -> str:
    if len(parts) > 1:
        parts[:] = ["".join(parts)]
    return parts[0] if parts else ""
