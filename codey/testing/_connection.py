"""One client connection of the fake provider, on its own thread: HTTP/1.1 as a
server speaks it (reading requests, their bodies, chunked or not; writing a
reply with its framing, pieces, delays and faults), and noticing at once when
the client goes away."""

from __future__ import annotations

import email.utils
import http.client
import io
import json as _json
import math
import select
import socket
import time
from typing import TYPE_CHECKING, Any, Optional

from codey.testing._common import _DEFAULT_MODEL, _phrase
from codey.testing._render import _Action, _encode, _plan
from codey.testing._replies import Reply, error
from codey.testing._requests import RecordedRequest, _route
from codey.testing._steps import Close, Pause, Stall

if TYPE_CHECKING:
    from codey.testing._server import FakeProvider

_SEND_FLAGS = getattr(socket, "MSG_NOSIGNAL", 0)


class _Gone(Exception):
    """The client went away, or the server is closing: stop serving this connection."""


class _BadRequest(Exception):
    pass


def _wait_readable(socks: list[socket.socket], timeout: Optional[float]) -> list[socket.socket]:
    """The sockets of ``socks`` that are readable (or at EOF, or in error) within ``timeout``."""
    if hasattr(select, "poll"):
        poller = select.poll()
        by_fd = {}
        for sock in socks:
            by_fd[sock.fileno()] = sock
            poller.register(sock, select.POLLIN | select.POLLPRI)
        millis = None if timeout is None else max(0, math.ceil(timeout * 1000))
        while True:
            try:
                ready = poller.poll(millis)
                break
            except InterruptedError:  # pragma: no cover - retried by Python since 3.5
                continue
        return [by_fd[fd] for fd, _ in ready]
    readable, _, errored = select.select(socks, [], socks, timeout)  # pragma: no cover
    return list(set(readable) | set(errored))  # pragma: no cover


class _Connection:
    """Serves the requests of one client connection, on its own thread."""

    def __init__(self, server: FakeProvider, sock: socket.socket) -> None:
        self.server = server
        self.sock = sock
        self.buffer = b""
        self.requests: list[RecordedRequest] = []
        self.reset = False

    def run(self) -> None:
        try:
            while self.serve_one():
                pass
        except _Gone:
            pass
        finally:
            self.server._forget(self.sock, self.reset)

    # -- client liveness

    def gone(self) -> _Gone:
        """The client closed or reset the connection: flag its requests."""
        if not self.server._closed:
            for request in self.requests:
                request.disconnected.set()
        return _Gone()

    def receive(self) -> None:
        """Read what the client sent into the buffer; raise ``_Gone`` at EOF."""
        try:
            data = self.sock.recv(65536)
        except OSError:
            raise self.gone() from None
        if not data:
            raise self.gone()
        self.buffer += data

    def wait(self, timeout: Optional[float], stall: bool = False) -> None:
        """Wait ``timeout`` seconds (or, for a stall, until released), watching
        for the client's EOF and for the server closing."""
        deadline = None if timeout is None else time.monotonic() + timeout
        socks = [self.sock, self.server._stop_r]
        if stall:
            socks.append(self.server._release_r)
        while True:
            if self.server._closed:
                raise _Gone()
            if stall and self.server._released:
                return
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return
            ready = _wait_readable(socks, remaining)
            if self.sock in ready:
                self.receive()

    def check(self) -> None:
        """Notice, without waiting, a client that has already gone."""
        if _wait_readable([self.sock], 0):
            self.receive()

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data, _SEND_FLAGS)
        except OSError:
            raise self.gone() from None

    def linger(self) -> None:
        """Half-close, then wait for the client to close its side."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            raise self.gone() from None
        while True:  # what the client still sends is dropped
            self.wait_for_data()
            self.buffer = b""

    # -- reading a request

    def read_until(self, marker: bytes, limit: int) -> bytes:
        while True:
            index = self.buffer.find(marker)
            if index >= 0:
                head = self.buffer[:index]
                self.buffer = self.buffer[index + len(marker) :]
                return head
            if len(self.buffer) > limit:
                raise _BadRequest("request head too large")
            self.wait_for_data()

    def read_exact(self, n: int) -> bytes:
        while len(self.buffer) < n:
            self.wait_for_data()
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def wait_for_data(self) -> None:
        """Wait until the client sends more (read into the buffer); raise ``_Gone``
        at its EOF or when the server closes."""
        while True:
            ready = _wait_readable([self.sock, self.server._stop_r], None)
            if self.server._closed:
                raise _Gone()
            if self.sock in ready:
                self.receive()
                return

    def read_body(self, headers: http.client.HTTPMessage) -> bytes:
        if "chunked" in (headers.get("transfer-encoding") or "").lower():
            parts: list[bytes] = []
            while True:
                size_line = self.read_until(b"\r\n", 1024)
                try:
                    size = int(size_line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise _BadRequest("bad chunk size") from None
                if size == 0:
                    while self.read_until(b"\r\n", 65536):  # trailers
                        pass
                    return b"".join(parts)
                parts.append(self.read_exact(size))
                self.read_exact(2)
        length = headers.get("content-length")
        if length is None:
            return b""
        try:
            n = int(length)
        except ValueError:
            raise _BadRequest("bad Content-Length") from None
        if n < 0:
            raise _BadRequest("bad Content-Length")
        return self.read_exact(n)

    def read_request(self) -> tuple[str, str, str, http.client.HTTPMessage, bytes]:
        """The method, target, HTTP version, headers and body of the next request."""
        head = self.read_until(b"\r\n\r\n", 65536).lstrip(b"\r\n")
        request_line, _, header_bytes = head.partition(b"\r\n")
        parts = request_line.decode("latin-1").split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            raise _BadRequest("bad request line")
        method, target, version = parts
        headers = http.client.parse_headers(io.BytesIO(header_bytes + b"\r\n\r\n"))
        if (headers.get("expect") or "").lower() == "100-continue":
            self.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        return method, target, version, headers, self.read_body(headers)

    # -- serving

    def serve_one(self) -> bool:
        """Read and answer one request; whether to keep the connection open."""
        try:
            method, target, version, headers, body = self.read_request()
        except (_BadRequest, http.client.HTTPException, UnicodeError):
            self.respond(
                error(400, "malformed request"), "openai", _DEFAULT_MODEL, keep_alive=False
            )
            return False
        keep_alive = _keep_alive(version, headers)
        provider, kind = _route(target)
        request = RecordedRequest(
            method=method,
            path=target,
            provider=provider,
            headers=headers,
            body=body,
            json=_parse_json(body),
        )
        self.requests.append(request)
        self.server._record(request)
        reply, model = self.server._answer(request, kind)
        return self.respond(reply, provider or "openai", model, keep_alive, kind, request.json)

    def respond(
        self,
        reply: Reply,
        provider: str,
        model: str,
        keep_alive: bool,
        wire_format: str = "",
        body: Any = None,
    ) -> bool:
        """Send ``reply``, rendered for ``provider`` and ``model`` (in ``wire_format``,
        for a request whose JSON body is ``body``: see ``_render._plan``); whether to
        keep the connection open."""
        plan = _plan(reply, provider, model, wire_format, body, self.server._sealed)
        actions = _encode(plan, reply.gzip)
        keep_alive = keep_alive and reply.framing != "close"
        self.send(_head(reply, actions, keep_alive))
        if not self.write_body(reply, actions):
            return False
        if reply.framing == "chunked":
            self.send(b"0\r\n\r\n")
        if not keep_alive:
            self.linger()
        return True

    def write_body(self, reply: Reply, actions: list[_Action]) -> bool:
        """Send the body's writes and carry out its control steps; ``False`` after a
        ``Reset`` (the connection is to be reset, not closed)."""
        chunked = reply.framing == "chunked"
        wrote = False
        for action in actions:
            if isinstance(action, bytes):
                for piece in _split(action, reply.split):
                    if wrote and reply.write_delay > 0:
                        self.wait(reply.write_delay)
                    wrote = True
                    if chunked:
                        piece = b"%x\r\n%s\r\n" % (len(piece), piece)
                    self.send(piece)
                    self.check()
            elif isinstance(action, Pause):
                self.wait(action.seconds)
            elif isinstance(action, Stall):
                self.wait(None, stall=True)
            elif isinstance(action, Close):
                self.linger()
            else:
                self.reset = True
                return False
        return True


def _keep_alive(version: str, headers: http.client.HTTPMessage) -> bool:
    """Whether the client means to keep the connection open after this request."""
    connection = (headers.get("connection") or "").lower()
    keep_alive = version == "HTTP/1.1" and "close" not in connection
    if version == "HTTP/1.0" and "keep-alive" in connection:
        keep_alive = True
    return keep_alive


def _parse_json(body: bytes) -> Any:
    """The JSON value of a request body; ``None`` if it is empty or not JSON."""
    try:
        return _json.loads(body) if body else None
    except ValueError:
        return None


def _split(data: bytes, size: Optional[int]) -> list[bytes]:
    """``data`` cut into pieces of ``size`` bytes (``None``: one piece)."""
    size = size or len(data)
    return [data[start : start + size] for start in range(0, len(data), size)]


def _content_type(reply: Reply) -> str:
    if reply.content_type is None:
        if 200 <= reply.status < 300:
            return "text/event-stream; charset=utf-8"
        return "application/json"
    if reply.content_type == "text/event-stream":
        return "text/event-stream; charset=utf-8"
    if reply.content_type == "text/html":
        return "text/html; charset=utf-8"
    return reply.content_type


def _head(reply: Reply, actions: list[_Action], keep_alive: bool) -> bytes:
    """The status line and header fields of ``reply``, whose body is ``actions``."""
    fields: list[tuple[str, str]] = [
        ("Date", email.utils.formatdate(usegmt=True)),
        ("Server", "fake-provider"),
        ("Content-Type", _content_type(reply)),
        ("Cache-Control", "no-cache"),
    ]
    if reply.gzip:
        fields.append(("Content-Encoding", "gzip"))
    if reply.framing == "chunked":
        fields.append(("Transfer-Encoding", "chunked"))
    elif reply.framing == "length":
        total = sum(len(action) for action in actions if isinstance(action, bytes))
        fields.append(("Content-Length", str(total)))
    fields.append(("Connection", "keep-alive" if keep_alive else "close"))
    for name, value in reply.headers.items():
        fields = [field for field in fields if field[0].lower() != name.lower()]
        fields.append((name, value))
    head = f"HTTP/1.1 {reply.status} {_phrase(reply.status)}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in fields) + "\r\n"
    return head.encode("latin-1")
