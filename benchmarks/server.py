"""The benchmarks' local SSE server: both wire formats, chunked or close-delimited.

Raw sockets, one thread per connection, and one *pacer* thread that sends
every paced event of every connection from a heap, so that a hundred paced
streams cost the server a hundred writes per tick, not a hundred sleeping
threads. Unpaced answers are rendered once, cached, and written with one
``sendall``: the server is never the bottleneck (the "byte counter" row of
the benchmark shows its capacity).

What to answer is in the request path, so any client (codey, requests, the
SDKs) can ask for it through its base URL::

    POST /b/n=50000,framing=chunked/chat/completions      Chat Completions
    POST /b/n=200,pace=0.02,ts=1,framing=close/v1/messages  Messages

Options (comma separated ``key=value`` in the segment after ``/b/``):

``n``        text chunks (default 10)
``framing``  ``chunked`` (one HTTP chunk per event, keep-alive) or ``close``
             (no Content-Length, the server closes at the end)
``pace``     seconds between text events (0: everything at once)
``ts``       1: each text is the server's ``time.monotonic()`` at the write
             (CLOCK_MONOTONIC, system-wide on Linux), for latency measures
``stall``    after this many text events, send nothing more and wait for the
             client to hang up (0: never stall)
``ttft``     seconds between the headers (and preamble) and the first text: a
             model's time to first token (then the rest at once; 0: none)
``tag``      a name under which the server records the time of its last write
             and of the client's EOF; ``GET /rec/<tag>`` returns them as JSON
             (waiting up to 5 s for the EOF)

Run it alone with ``python -m benchmarks.server`` (prints the port).
"""

from __future__ import annotations

import heapq
import itertools
import json
import socket
import sys
import threading
from time import monotonic
from typing import Any, Callable, Optional

#: ~4-character text pieces, cycled.
TOKENS = (
    " the",
    " cat",
    " sat",
    " on ",
    "the ",
    "mat,",
    " and",
    " ate",
    " a p",
    "ie. ",
    "Then",
    " it ",
    "slep",
    "t so",
    "undl",
    "y.\n",
)

CHAT = "chat"
MESSAGES = "messages"
CHUNKED = "chunked"
CLOSE = "close"

_CHAT_HEAD = (
    b'{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1750000000,'
    b'"model":"gpt-4.1","system_fingerprint":"fp_bench","choices":[{"index":0,'
)
_CHAT_TAIL = b',"logprobs":null,"finish_reason":null}],"usage":null}'


def text_of(i: int) -> str:
    """The i-th text piece of an answer."""
    return TOKENS[i % len(TOKENS)]


def answer_text(n: int) -> str:
    """The whole text of an n-piece answer."""
    return "".join(text_of(i) for i in range(n))


# -- events -----------------------------------------------------------------------


def _json(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def text_event(fmt: str, text: str) -> bytes:
    quoted = _json(text)
    if fmt == CHAT:
        return (
            b"data: " + _CHAT_HEAD + b'"delta":{"content":' + quoted + b"}" + _CHAT_TAIL + b"\n\n"
        )
    return (
        b"event: content_block_delta\ndata: "
        b'{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":'
        + quoted
        + b"}}\n\n"
    )


def preamble(fmt: str) -> list[bytes]:
    if fmt == CHAT:
        return [
            b"data: "
            + _CHAT_HEAD
            + b'"delta":{"role":"assistant","content":""}'
            + _CHAT_TAIL
            + b"\n\n"
        ]
    start = {
        "type": "message_start",
        "message": {
            "id": "msg_bench",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-6",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 12, "output_tokens": 1},
        },
    }
    block = {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": ""},
    }
    return [
        b"event: message_start\ndata: " + _json(start) + b"\n\n",
        b"event: content_block_start\ndata: " + _json(block) + b"\n\n",
        b'event: ping\ndata: {"type": "ping"}\n\n',
    ]


def epilogue(fmt: str, n: int) -> list[bytes]:
    if fmt == CHAT:
        finish = (
            b"data: "
            + _CHAT_HEAD
            + b'"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}\n\n'
        )
        usage = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": 1750000000,
            "model": "gpt-4.1",
            "choices": [],
            "usage": {"prompt_tokens": 12, "completion_tokens": n, "total_tokens": 12 + n},
        }
        return [finish, b"data: " + _json(usage) + b"\n\n", b"data: [DONE]\n\n"]
    delta = {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": n},
    }
    return [
        b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
        b"event: message_delta\ndata: " + _json(delta) + b"\n\n",
        b'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    ]


def frame(framing: str, event: bytes) -> bytes:
    if framing == CHUNKED:
        return b"%x\r\n%s\r\n" % (len(event), event)
    return event


def head(framing: str) -> bytes:
    lines = [b"HTTP/1.1 200 OK", b"Content-Type: text/event-stream", b"Cache-Control: no-cache"]
    if framing == CHUNKED:
        lines += [b"Transfer-Encoding: chunked", b"Connection: keep-alive"]
    else:
        lines += [b"Connection: close"]
    return b"\r\n".join(lines) + b"\r\n\r\n"


_END_CHUNK = b"0\r\n\r\n"


class Options:
    __slots__ = ("fmt", "framing", "n", "pace", "stall", "tag", "ts", "ttft")

    def __init__(self, fmt: str, spec: str) -> None:
        values = dict(part.split("=", 1) for part in spec.split(",") if "=" in part)
        self.fmt = fmt
        self.n = int(values.get("n", 10))
        self.framing = values.get("framing", CHUNKED)
        if self.framing not in (CHUNKED, CLOSE):
            raise ValueError(f"framing must be chunked or close, not {self.framing!r}")
        self.pace = float(values.get("pace", 0))
        self.ts = values.get("ts", "0") == "1"
        self.stall = int(values.get("stall", 0))
        self.ttft = float(values.get("ttft", 0))
        self.tag = values.get("tag") or None


# -- sending ------------------------------------------------------------------------


class Recorder:
    """Times of the last write and of the client's EOF, by tag."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.last_write: dict[str, float] = {}
        self.eof: dict[str, float] = {}

    def wrote(self, tag: Optional[str], when: float) -> None:
        if tag:
            self.last_write[tag] = when

    def saw_eof(self, tag: Optional[str], when: float) -> None:
        if tag:
            with self.cond:
                self.eof[tag] = when
                self.cond.notify_all()

    def get(self, tag: str, timeout: float = 5.0) -> dict[str, Optional[float]]:
        with self.cond:
            self.cond.wait_for(lambda: tag in self.eof, timeout)
            return {"last_write": self.last_write.pop(tag, None), "eof": self.eof.pop(tag, None)}


class Job:
    """One answer sent event by event (paced, timestamped or stalling)."""

    def __init__(self, conn: socket.socket, opts: Options, recorder: Recorder) -> None:
        self.conn = conn
        self.opts = opts
        self.recorder = recorder
        self.i = 0
        self.start = 0.0
        self.done = threading.Event()
        self.stalled = False
        self.failed = False
        fmt = opts.fmt
        self.pre = b"".join(frame(opts.framing, e) for e in preamble(fmt))
        self.post = b"".join(frame(opts.framing, e) for e in epilogue(fmt, opts.n))
        if opts.framing == CHUNKED:
            self.post += _END_CHUNK
        self.events = None if opts.ts else [frame(opts.framing, text_event(fmt, t)) for t in TOKENS]

    def step(self) -> Optional[float]:
        """Send the next text event (with what must go with it); the next due time or None.

        Paced or timestamped: one text event per write. Otherwise (a stalling
        answer): everything up to the stall in one write.
        """
        opts = self.opts
        out: list[bytes] = []
        if self.i == 0:
            out.append(self.pre)
            self.start = monotonic()
        while True:
            if opts.stall and self.i >= opts.stall:
                self.stalled = True
                self._finish(out)
                return None
            if self.i >= opts.n:
                out.append(self.post)
                self._finish(out)
                return None
            if self.events is None:
                out.append(frame(opts.framing, text_event(opts.fmt, repr(monotonic()))))
            else:
                out.append(self.events[self.i % len(self.events)])
            self.i += 1
            if opts.pace > 0 or opts.ts:
                break
        if not self._send(out):
            return None
        if opts.pace > 0:
            return self.start + self.i * opts.pace
        return monotonic()

    def _send(self, out: list[bytes]) -> bool:
        if not out:
            return True
        try:
            self.conn.sendall(b"".join(out))
        except OSError:
            self.failed = True
            self.done.set()
            return False
        self.recorder.wrote(self.opts.tag, monotonic())
        return True

    def _finish(self, out: list[bytes]) -> None:
        if self._send(out):
            self.done.set()


class Later:
    """The rest of an answer, sent in one write when the pacer gets to it (``ttft``)."""

    def __init__(self, conn: socket.socket, rest: bytes) -> None:
        self.conn = conn
        self.rest = rest
        self.done = threading.Event()
        self.failed = False

    def step(self) -> None:
        try:
            self.conn.sendall(self.rest)
        except OSError:
            self.failed = True
        self.done.set()


class Pacer:
    """One thread that runs every paced job's next step when it falls due."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.heap: list[tuple[float, int, Any]] = []
        self.seq = itertools.count()
        threading.Thread(target=self._run, name="bench-pacer", daemon=True).start()

    def add(self, due: float, job: Any) -> None:
        with self.cond:
            heapq.heappush(self.heap, (due, next(self.seq), job))
            self.cond.notify()

    def _run(self) -> None:
        heap = self.heap
        while True:
            with self.cond:
                while True:
                    if not heap:
                        self.cond.wait()
                        continue
                    delay = heap[0][0] - monotonic()
                    if delay <= 0:
                        _, _, job = heapq.heappop(heap)
                        break
                    self.cond.wait(delay)
            due = job.step()
            if due is not None:
                with self.cond:
                    heapq.heappush(heap, (due, next(self.seq), job))


class Server:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, port))
        self.listener.listen(1024)
        self.port: int = self.listener.getsockname()[1]
        self.recorder = Recorder()
        self.pacer = Pacer()
        self.cache: dict[tuple[str, str, int], bytes] = {}
        self.cache_lock = threading.Lock()

    def serve_forever(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def start(self) -> Server:
        threading.Thread(target=self.serve_forever, name="bench-server", daemon=True).start()
        return self

    # -- one connection -------------------------------------------------------------

    def _handle(self, conn: socket.socket) -> None:
        buf = b""
        tag: Optional[str] = None
        try:
            while True:
                request, buf = _read_request(conn, buf)
                if request is None:
                    self.recorder.saw_eof(tag, monotonic())
                    return
                _method, path = request
                if path.startswith("/rec/"):
                    body = _json(self.recorder.get(path[5:]))
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
                    )
                    return
                opts = _options(path)
                if opts is None:
                    conn.sendall(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    )
                    return
                tag = opts.tag
                if not self._answer(conn, opts):
                    self.recorder.saw_eof(tag, monotonic())
                    return
                if opts.framing == CLOSE:
                    return
        except OSError:
            self.recorder.saw_eof(tag, monotonic())
        finally:
            conn.close()

    def _answer(self, conn: socket.socket, opts: Options) -> bool:
        """Send the answer; False if the client went away. After a stall, wait for its EOF."""
        if opts.pace <= 0 and not opts.ts and not opts.stall:
            if opts.ttft > 0:
                pre = b"".join(frame(opts.framing, e) for e in preamble(opts.fmt))
                body = self._body(opts)
                conn.sendall(head(opts.framing) + pre)
                later = Later(conn, body[len(pre) :])
                self.pacer.add(monotonic() + opts.ttft, later)
                later.done.wait()
                return not later.failed
            conn.sendall(head(opts.framing) + self._body(opts))
            self.recorder.wrote(opts.tag, monotonic())
            return True
        conn.sendall(head(opts.framing))
        job = Job(conn, opts, self.recorder)
        if opts.pace > 0:
            self.pacer.add(monotonic(), job)
            job.done.wait()
        else:
            while job.step() is not None:
                pass
        if job.failed:
            return False
        if job.stalled:
            while conn.recv(65536):
                pass
            return False
        return True

    def _body(self, opts: Options) -> bytes:
        key = (opts.fmt, opts.framing, opts.n)
        with self.cache_lock:
            body = self.cache.get(key)
            if body is None:
                events = preamble(opts.fmt)
                events += [text_event(opts.fmt, text_of(i)) for i in range(opts.n)]
                events += epilogue(opts.fmt, opts.n)
                body = b"".join(frame(opts.framing, e) for e in events)
                if opts.framing == CHUNKED:
                    body += _END_CHUNK
                if len(self.cache) > 64:
                    self.cache.clear()
                self.cache[key] = body
            return body


def _options(path: str) -> Optional[Options]:
    if not path.startswith("/b/"):
        return None
    spec, _, rest = path[3:].partition("/")
    if rest == "chat/completions":
        return Options(CHAT, spec)
    if rest == "v1/messages":
        return Options(MESSAGES, spec)
    return None


def _read_request(conn: socket.socket, buf: bytes) -> tuple[Optional[tuple[str, str]], bytes]:
    """One request (method, path), its body skipped; (None, b"") at EOF.

    A path ``/b/h/...`` takes its options from an ``X-Bench`` header instead
    (for clients whose base URL is fixed, such as the SDKs).
    """
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return None, b""
        buf += data
    header, _, buf = buf.partition(b"\r\n\r\n")
    lines = header.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "x-bench" and path.startswith("/b/h/"):
            path = "/b/" + value.strip() + path[4:]
    while len(buf) < length:
        data = conn.recv(65536)
        if not data:
            return None, b""
        buf += data
    return (method, path), buf[length:]


# -- a subprocess server ------------------------------------------------------------


class ServerProcess:
    """The server in a child process (its own GIL); ``port`` once started."""

    def __init__(self) -> None:
        import subprocess

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.server"],
            stdout=subprocess.PIPE,
            stdin=subprocess.PIPE,
            cwd=_repo_root(),
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())

    def record(self, tag: str) -> dict[str, Optional[float]]:
        """The server's record for ``tag``: last write and EOF times (monotonic seconds)."""
        with socket.create_connection(("127.0.0.1", self.port)) as sock:
            sock.sendall(f"GET /rec/{tag} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            data = b""
            while True:
                part = sock.recv(65536)
                if not part:
                    break
                data += part
        return json.loads(data.partition(b"\r\n\r\n")[2])  # type: ignore[no-any-return]

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(5)
            except Exception:
                self.proc.kill()
                self.proc.wait()


def _repo_root() -> str:
    import os

    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(
    argv: Optional[list[str]] = None, on_ready: Optional[Callable[[int], None]] = None
) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="The benchmarks' local SSE server.")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = Server(port=args.port).start()
    print(server.port, flush=True)
    # Serve until the parent closes our stdin (or we are interrupted).
    try:
        sys.stdin.read()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
