"""The response body as bytes, read by read: the iterator fed to sseclient-py.

Each layer does one thing: ``_Wire`` reads what has arrived and removes the
HTTP framing; ``Body`` hands the previous read's events on, keeps the
stream's timings, inflates a compressed body and drops a leading BOM.
"""

from __future__ import annotations

import http.client
import io
import zlib
from collections.abc import Iterator
from time import monotonic
from typing import TYPE_CHECKING, Any, Callable, Optional

from codey._errors import StreamError
from codey._transport._chunked import Chunks
from codey._transport._connection import socket_of
from codey._transport._failures import BODY, foreign_errors
from codey._types import ReasoningDelta, ToolCallDelta

if TYPE_CHECKING:
    import requests

    from codey._channel import Channel
    from codey._providers._base import Parser
    from codey._transport._plan import Plan

#: Bytes asked of one read: whatever has arrived, up to this much.
READ_SIZE = 65536
_BOM = b"\xef\xbb\xbf"
#: What counts as content (a piece of the answer), as the parsers put it.
_CONTENT = (str, ReasoningDelta, ToolCallDelta)
_EVENT_ENDS = (b"\n\n", b"\r\r", b"\r\n\r\n")
#: Seconds to wait, after the provider's end marker, for the end of the HTTP body
#: (so that the connection can serve the next request).
END_WAIT = 0.005


class _Wire:
    """The body's bytes as each read brings them, without the HTTP framing."""

    __slots__ = ("chunks", "fp", "left", "poolable", "readinto", "size", "view")

    def __init__(self, response: http.client.HTTPResponse) -> None:
        # Read the socket's buffered reader directly: its read1() returns
        # whatever has arrived, where http.client's stops at each HTTP chunk.
        self.fp: io.BufferedReader = response.fp
        self.chunks = Chunks() if response.chunked else None
        #: Bytes of a Content-Length body still to come (None: read to the end).
        self.left: Optional[int] = None if response.chunked else response.length
        #: Whether the connection can serve again once the body ends (it has an end
        #: other than the server closing, and the server did not say it would close).
        self.poolable = not response.will_close and (response.chunked or self.left is not None)
        # Read into one reused buffer and copy out what arrived: read1() takes
        # a fresh block per read and shrinks it, which fragments the heap.
        # First what http.client's buffered reader holds, no more than its
        # own buffer size at a time (asked for more, readinto1() would wait
        # for new bytes before returning those it holds); once it is empty,
        # from the socket itself, up to READ_SIZE per read.
        self.view = memoryview(bytearray(READ_SIZE))
        self.readinto: Callable[[memoryview], Optional[int]] = self.fp.readinto1
        self.size = io.DEFAULT_BUFFER_SIZE

    @property
    def complete(self) -> bool:
        """Whether the body was read to its last byte, and nothing after it."""
        chunks = self.chunks
        if chunks is None:
            return self.left == 0
        return chunks.ended and chunks.error is None and not chunks.buffer

    def read(self) -> Optional[bytes]:
        """What one read brought (b"" when only chunk framing), None once the body is whole."""
        chunks = self.chunks
        if chunks is not None:
            if chunks.error is not None:
                raise chunks.error  # once the data before it was handed on
            if chunks.ended:
                return None
        left = self.left
        if left == 0:
            return None
        wanted = self.size if left is None else min(self.size, left)
        count = self.readinto(self.view[:wanted])
        if count is None:  # only a non-blocking socket says so
            raise BlockingIOError("the socket is in non-blocking mode")
        data = self.view[:count].tobytes()
        if left is not None:
            self.left = left - count
        if count < wanted and self.size != READ_SIZE:
            self.readinto = self.fp.raw.readinto  # the reader is empty
            self.size = READ_SIZE
        if chunks is None:
            return data or None
        if not count:
            raise http.client.IncompleteRead(b"")  # no last chunk
        data = chunks.decode(data)
        return None if not data and chunks.ended else data


def _inflater(plan: Plan, encoding: str) -> Any:
    """The zlib decompressor for a Content-Encoding, None for none."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    raise StreamError(
        f"{plan.provider.name} sent an unsupported content-encoding: {encoding}",
        provider=plan.provider.name,
    )


class Body:
    """The byte iterator fed to sseclient-py.

    Before each read it hands the events parsed from the previous read to
    the caller, as one list: the caller never waits for a batch to fill.
    Every read resets the chunk timer, whatever it carried: to
    ``first_chunk_timeout`` until the first content, ``chunk_timeout`` after.
    """

    __slots__ = (
        "channel",
        "eof",
        "inflater",
        "out",
        "parser",
        "pending",
        "plan",
        "read_at",
        "silence",
        "sock",
        "tail",
        "wire",
    )

    def __init__(
        self, channel: Channel, plan: Plan, response: requests.Response, parser: Parser
    ) -> None:
        self.channel = channel
        self.parser = parser
        self.plan = plan
        http_response: http.client.HTTPResponse = response.raw._fp  # type: ignore[assignment]
        self.wire = _Wire(http_response)
        self.inflater = _inflater(plan, response.headers.get("content-encoding", ""))
        #: The events parsed from the last read, not yet handed on.
        self.out: list[Any] = []
        self.eof = False
        self.tail = b"\n\n"
        # The first bytes, kept until we know whether they start with a BOM.
        self.pending: Optional[bytes] = b""
        self.read_at = 0.0
        #: The longest silence allowed now (the socket's timeout is the same).
        self.silence = plan.first_chunk_timeout
        self.sock = socket_of(response)

    def __iter__(self) -> Iterator[bytes]:
        with foreign_errors(
            self.plan, BODY, cancelled=self.channel.cancelled, channel=self.channel
        ):
            self.read_at = monotonic()
            while True:
                data = self._read()
                if data is None:
                    break
                if data and self.inflater is not None:
                    data = self.inflater.decompress(data)
                if data and self.pending is not None:
                    data = self._without_bom(data)
                if data:
                    self.tail = data[-4:]
                    yield data
            # What the inflater and the BOM check still hold, as it is.
            rest = self.inflater.flush() if self.inflater is not None else b""
            self.eof = True
            if self.pending or rest:
                yield (self.pending or b"") + rest

    def _read(self) -> Optional[bytes]:
        """One read, after handing on the last one's events; it restarts the chunk timer."""
        self.flush()
        data = self.wire.read()
        channel = self.channel
        now = monotonic()
        if now - self.read_at > channel.longest_gap:
            channel.longest_gap = now - self.read_at
        channel.last_read = self.read_at = now
        timeout = self.silence
        if timeout is not None:
            channel.expires_at = now + timeout
        return data

    def _without_bom(self, data: bytes) -> bytes:
        """``data`` after the bytes kept back, less a leading BOM; b"" while undecided."""
        data = (self.pending or b"") + data
        if len(data) < 3 and _BOM.startswith(data):
            self.pending = data
            return b""
        self.pending = None
        return data[3:] if data.startswith(_BOM) else data

    def flush(self) -> None:
        """Hand the events parsed so far to the caller."""
        if self.out:
            channel = self.channel
            if channel.awaiting_content:
                self._content_began()
            if channel.t_first_text is None and self.parser.saw_text:
                channel.t_first_text = channel.last_read
            channel.queue.put(self.out)
            self.out = []

    def _content_began(self) -> None:
        """Once the first content is here, ``chunk_timeout`` bounds the silences."""
        if not any(piece.__class__ in _CONTENT for piece in self.out):
            return  # usage, a stop reason: no sign of an answer yet
        self.channel.awaiting_content = False
        timeout = self.silence = self.plan.chunk_timeout
        if self.sock is not None and timeout != self.plan.first_chunk_timeout:
            self.sock.settimeout(timeout)

    def finish(self, response: requests.Response) -> bool:
        """After the provider's end marker: whether the body ended there, reading the rest
        of its framing (the last chunk) if it comes within ``END_WAIT`` seconds."""
        wire = self.wire
        if not wire.poolable:
            return False  # no use waiting for an end the connection cannot outlive
        if wire.complete:
            return True
        sock = socket_of(response)
        if sock is None:
            return False
        try:
            previous = sock.gettimeout()
            sock.settimeout(END_WAIT)
            try:
                for _ in range(3):  # the last chunk's lines can come apart
                    data = wire.read()
                    if data or data is None:  # more body after the end: not ours to pool
                        return data is None and wire.complete
                    if wire.complete:
                        return True
            finally:
                sock.settimeout(previous)
        except (OSError, ValueError, http.client.HTTPException):
            pass  # not there in time, or broken: the connection is closed, as it would be
        return False

    def ended_mid_event(self) -> bool:
        return self.eof and not self.tail.endswith(_EVENT_ENDS)
