"""``Channel``: what a stream's worker thread and its caller share (and the one
thread that watches the channels of the streams given ``cancel=``).

The worker (the transport's producer) puts lists of items on ``queue`` and
notes its phase, attempt and timings here; the caller reads them. A
transport registers a *closer* so that ``cancel()`` can cut the connection
in use. This module knows no provider and no HTTP.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Mapping
from time import monotonic
from types import MappingProxyType
from typing import Any, Callable, Optional

from codey._errors import chunk_timeout_message

#: The worker finished cleanly.
END = object()
#: ``close()`` woke a caller blocked on the queue.
_WAKE = object()
#: What ``Stream._pull`` returns once the stream was closed or cancelled.
_STOP = object()


class Restart:
    """Put on the queue when a failed attempt is retried (or a fallback model tried):
    whatever that attempt sent is void, and ``error`` is why it failed."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


CONNECTING = "connecting"
STREAMING = "streaming"
BACKOFF = "backoff"

#: ``on_response(status, headers)``: called in the worker as each attempt's response begins.
ResponseHook = Callable[[int, Mapping[str, str]], None]


class Channel:
    """What the worker and the caller share. The worker never holds the ``Stream``.

    ``lock`` guards ``closer``, ``phase``, ``attempt`` and ``aborted``.
    ``closer`` is the transport's way to cut the connection in use, so that a
    blocked read returns; it is called under ``lock``, so it must be quick,
    never raise and never take the lock.
    ``expires_at`` (monotonic seconds, or None for no limit) is written by the
    worker alone: at each attempt, and at every read once the body flows.
    """

    __slots__ = (
        "aborted",
        "attempt",
        "awaiting_content",
        "cancelled",
        "chunk_timeout",
        "closer",
        "current",
        "expires_at",
        "first_chunk_timeout",
        "last_read",
        "lock",
        "longest_gap",
        "on_response",
        "phase",
        "queue",
        "response_headers",
        "response_status",
        "retries",
        "retry_wait",
        "saw_text",
        "started",
        "t_end",
        "t_first_text",
        "t_headers",
    )

    def __init__(
        self, chunk_timeout: Optional[float], on_response: Optional[ResponseHook] = None
    ) -> None:
        self.queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.cancelled = threading.Event()
        self.closer: Optional[Callable[[], None]] = None
        self.chunk_timeout = chunk_timeout
        #: The attempt going on has begun and sent no content yet (text, reasoning, a
        #: tool call): its silence is bounded by ``first_chunk_timeout``, not ``chunk_timeout``.
        self.awaiting_content = False
        self.first_chunk_timeout = chunk_timeout
        self.expires_at: Optional[float] = None
        self.phase = CONNECTING
        self.attempt = 0
        self.aborted = 0
        self.saw_text = False
        #: Which of the stream's models is answering (fallbacks move it on).
        self.current = 0
        # Timings, in monotonic seconds, written by the worker alone.
        self.started = monotonic()
        self.t_headers: Optional[float] = None
        self.t_first_text: Optional[float] = None
        self.t_end: Optional[float] = None
        self.last_read: Optional[float] = None
        self.longest_gap = 0.0
        self.retries = 0
        self.retry_wait = 0.0
        # The latest attempt's response (any status), written by the worker alone.
        self.response_status: Optional[int] = None
        self.response_headers: Optional[Mapping[str, str]] = None
        self.on_response = on_response

    # -- the worker's side -------------------------------------------------

    def note_response(self, status: int, headers: Mapping[str, str]) -> None:
        """An attempt's response began (any status, retried or not): keep it, tell the hook."""
        self.response_headers = view = MappingProxyType(headers)
        self.response_status = status
        if self.on_response is not None:
            self.on_response(status, view)

    def begin_attempt(self, connect_by: Optional[float]) -> int:
        """A new attempt, which must have its response by ``connect_by`` (monotonic)."""
        with self.lock:
            self.attempt += 1
            self.phase = CONNECTING
            self.closer = None
            self.expires_at = connect_by
            return self.attempt

    def restart(self, error: BaseException) -> None:
        """The attempt that failed with ``error`` is tried again: the caller drops its pieces."""
        self.queue.put(Restart(error))

    def begin_backoff(self, delay: float) -> None:
        with self.lock:
            self.phase = BACKOFF
            self.closer = None
            self.expires_at = monotonic() + delay
            self.retries += 1
            self.retry_wait += delay

    def begin_streaming(
        self,
        attempt: int,
        closer: Optional[Callable[[], None]],
        first_chunk_timeout: Optional[float],
    ) -> bool:
        """Mark the response as begun, its first content due within ``first_chunk_timeout``;
        False if the caller already gave up on this attempt."""
        with self.lock:
            if self.aborted == attempt or self.cancelled.is_set():
                return False
            self.phase = STREAMING
            if closer is not None:
                self.closer = closer
            now = self.t_headers = self.last_read = monotonic()
            self.first_chunk_timeout = first_chunk_timeout
            self.awaiting_content = True
            self.expires_at = None if first_chunk_timeout is None else now + first_chunk_timeout
            return True

    def silence_message(self, provider: str) -> str:
        """What the ChunkTimeoutError says: which of the two timeouts ran out, and how long."""
        if self.awaiting_content:
            return chunk_timeout_message(provider, self.first_chunk_timeout, first=True)
        return chunk_timeout_message(provider, self.chunk_timeout)

    def set_closer(self, closer: Callable[[], None]) -> None:
        """Note how to cut the connection in use, so ``cancel()`` can unblock a read on it."""
        with self.lock:
            self.closer = closer
            if self.cancelled.is_set() or self.aborted == self.attempt:
                closer()

    def forget_closer(self) -> None:
        with self.lock:
            self.closer = None

    def was_aborted(self, attempt: int) -> bool:
        return self.aborted == attempt

    # -- the caller's side -------------------------------------------------

    def abort_attempt(self) -> None:
        """The connect timeout passed: make the worker's attempt fail (it may be retried)."""
        with self.lock:
            if self.phase != CONNECTING:
                return
            self.aborted = self.attempt
            self.expires_at = None
            if self.closer is not None:
                self.closer()

    def cancel(self) -> None:
        """Stop the worker and close the connection; safe from any thread, more than once."""
        with self.lock:
            if self.cancelled.is_set():
                return
            self.cancelled.set()
            if self.closer is not None:
                self.closer()
        self.queue.put(_WAKE)


def _work(channel: Channel, producer: Callable[[Channel], None]) -> None:
    try:
        producer(channel)
    except BaseException as exc:  # handed to the caller, never lost
        channel.t_end = monotonic()
        if not channel.cancelled.is_set():
            channel.queue.put(exc)
    else:
        channel.t_end = monotonic()
        if not channel.cancelled.is_set():  # a producer that stopped for close() ends nothing
            channel.queue.put(END)
    finally:
        channel.forget_closer()


# -- cancel=threading.Event(): one watcher thread for all streams that have one --

_watched: dict[Channel, threading.Event] = {}
_watch_lock = threading.Lock()
_watcher: Optional[threading.Thread] = None
#: How often the watcher looks at the cancel events, in seconds.
WATCH_INTERVAL = 0.005


def _watch(cancel: threading.Event, channel: Channel) -> None:
    global _watcher
    with _watch_lock:
        _watched[channel] = cancel
        if _watcher is None:
            _watcher = threading.Thread(target=_watch_loop, name="codey-cancel-watch", daemon=True)
            _watcher.start()


def _watch_loop() -> None:
    global _watcher
    while True:
        with _watch_lock:
            for channel, cancel in list(_watched.items()):
                if cancel.is_set():
                    channel.cancel()
                if channel.cancelled.is_set():
                    del _watched[channel]
            if not _watched:
                _watcher = None
                return
        # A threading.Event cannot be waited on together with others: poll them.
        time.sleep(WATCH_INTERVAL)
