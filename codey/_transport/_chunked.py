"""Chunked transfer decoding (RFC 9112, 7.1), from whatever bytes one read brought."""

from __future__ import annotations

from typing import Optional

#: The longest chunk size line (with its extensions) taken.
_MAX_LINE = 4096


class Chunks:
    """Decodes a chunked body (RFC 9112, 7.1) from whatever bytes arrived.

    http.client's ``read1()`` stops at the end of each HTTP chunk, so a burst
    of small events would cross to the caller one by one; decoding here
    hands over every chunk that one socket read brought.
    """

    __slots__ = ("buffer", "data_left", "ended", "error", "in_trailers")

    def __init__(self) -> None:
        self.buffer = b""
        # Bytes of chunk data still to come; -1: the CRLF that ends a chunk.
        self.data_left = 0
        self.in_trailers = False
        self.ended = False
        self.error: Optional[ValueError] = None

    def decode(self, data: bytes) -> bytes:
        """The chunk data in ``data``.

        On broken framing, the data before it is returned and the ValueError
        is kept in ``error``, to be raised once that data has been handed on.
        """
        parts: list[bytes] = []
        try:
            self._decode(data, parts)
        except ValueError as exc:
            self.error = exc
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _decode(self, data: bytes, parts: list[bytes]) -> None:
        buffer = self.buffer + data if self.buffer else data
        end = len(buffer)
        position = 0
        data_left = self.data_left
        while position < end and not self.ended:
            if data_left > 0:
                stop = min(end, position + data_left)
                parts.append(buffer[position:stop])
                data_left -= stop - position
                position = stop
                if not data_left:
                    data_left = -1
            elif data_left < 0:
                if end - position < 2:
                    break
                if buffer[position : position + 2] != b"\r\n":
                    raise ValueError("no CRLF after a chunk")
                position += 2
                data_left = 0
            else:
                line_end = buffer.find(b"\n", position)
                if line_end < 0:
                    if end - position > _MAX_LINE:
                        raise ValueError("chunk size line too long")
                    break
                line = buffer[position:line_end]
                position = line_end + 1
                if self.in_trailers:
                    self.ended = line in (b"", b"\r")
                    continue
                size = int(line.partition(b";")[0], 16)
                if size <= 0:
                    if size:
                        raise ValueError(f"negative chunk size: {line!r}")
                    self.in_trailers = True
                    continue
                stop = position + size
                if stop + 2 > end:
                    data_left = size
                    continue
                # The whole chunk is here (the usual case): one step.
                if buffer[stop : stop + 2] != b"\r\n":
                    raise ValueError("no CRLF after a chunk")
                parts.append(buffer[position:stop])
                position = stop + 2
        self.buffer = buffer[position:]
        self.data_left = data_left
