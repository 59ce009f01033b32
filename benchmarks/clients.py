"""The clients the benchmark compares, each a function ``Target -> iterable of text``.

Libraries load lazily, inside the functions, so that a fresh process can
time "the first call after import" of exactly one of them.

Also the child-process entry points (``python -m benchmarks.clients first|scale ...``).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
from collections.abc import Iterable, Iterator
from time import monotonic
from typing import Any, Callable, Optional

from benchmarks.server import CHAT, MESSAGES

HOST = "127.0.0.1"
API_KEY = "sk-bench-not-a-key"
MODELS = {CHAT: "gpt-4.1", MESSAGES: "claude-sonnet-4-6"}
PROMPT = "Write a short story."
READ_SIZE = 65536


class Target:
    """One request to the benchmark server: port, wire format and answer options."""

    __slots__ = ("fmt", "port", "spec")

    def __init__(self, port: int, fmt: str, spec: str) -> None:
        self.port = port
        self.fmt = fmt
        self.spec = spec

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/b/{self.spec}"

    @property
    def path(self) -> str:
        suffix = "/chat/completions" if self.fmt == CHAT else "/v1/messages"
        return f"/b/{self.spec}{suffix}"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}{self.path}"

    def body(self) -> bytes:
        messages = [{"role": "user", "content": PROMPT}]
        obj: dict[str, Any] = {"model": MODELS[self.fmt], "messages": messages, "stream": True}
        if self.fmt == MESSAGES:
            obj["max_tokens"] = 4096
        else:
            obj["stream_options"] = {"include_usage": True}
        return json.dumps(obj).encode()

    def headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if self.fmt == CHAT:
            headers["Authorization"] = f"Bearer {API_KEY}"
        else:
            headers["x-api-key"] = API_KEY
            headers["anthropic-version"] = "2023-06-01"
        return headers

    def with_spec(self, spec: str) -> Target:
        return Target(self.port, self.fmt, spec)


# -- the byte counter: the server's capacity ----------------------------------------------


def _raw_request(target: Target) -> bytes:
    body = target.body()
    lines = [f"POST {target.path} HTTP/1.1", f"Host: {HOST}:{target.port}"]
    lines += [f"{k}: {v}" for k, v in target.headers().items()]
    lines += [f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(lines).encode() + body


def count_bytes(target: Target) -> int:
    """Read the whole answer and only count its bytes; returns the count."""
    request = _raw_request(target)
    sock = socket.create_connection((HOST, target.port))
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(request)
        buf = bytearray(READ_SIZE)
        view = memoryview(buf)
        recv_into = sock.recv_into
        total = 0
        tail = b""
        first = True
        while True:
            n = recv_into(view)
            if not n:
                return total
            total += n
            if first:
                first = False
                chunked = b"chunked" in bytes(view[: min(n, 400)]).lower()
            if chunked:
                tail = (tail + bytes(view[max(0, n - 7) : n]))[-7:]
                if tail == b"\r\n0\r\n\r\n":
                    return total
    finally:
        sock.close()


# -- the floor: raw sockets, manual de-chunking and SSE splitting, json.loads ---------------


def floor(target: Target) -> Iterator[str]:
    """The physical limit of Python here: nothing but the work that must be done."""
    loads = json.loads
    request = _raw_request(target)
    sock = socket.create_connection((HOST, target.port))
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(request)
        recv = sock.recv
        raw = b""
        while True:
            end = raw.find(b"\r\n\r\n")
            if end >= 0:
                break
            data = recv(READ_SIZE)
            if not data:
                raise ConnectionError("closed before the headers")
            raw += data
        header = raw[:end].lower()
        if not header.startswith(b"http/1.1 200"):
            raise ConnectionError(header.split(b"\r\n", 1)[0].decode())
        raw = raw[end + 4 :]
        chunked = b"transfer-encoding: chunked" in header
        chat = target.fmt == CHAT
        pending = b""
        ended = False
        while True:
            if chunked:
                parts = []
                pos = 0
                size_end = raw.find(b"\r\n")
                while size_end >= 0:
                    size = int(raw[pos:size_end], 16)
                    stop = size_end + 2 + size
                    if stop + 2 > len(raw):
                        break
                    if size == 0:
                        ended = True
                        break
                    parts.append(raw[size_end + 2 : stop])
                    pos = stop + 2
                    size_end = raw.find(b"\r\n", pos)
                if pos:
                    raw = raw[pos:]
                data = b"".join(parts)
            else:
                data = raw
                raw = b""
            if data:
                events = (pending + data).split(b"\n\n") if pending else data.split(b"\n\n")
                pending = events.pop()
                for event in events:
                    if chat:
                        payload = event[6:]  # b"data: "
                        if payload == b"[DONE]":
                            return
                        choices = loads(payload)["choices"]
                        if choices:
                            text = choices[0]["delta"].get("content")
                            if text:
                                yield text
                    else:
                        obj = loads(event[event.find(b"data: ") + 6 :])
                        kind = obj["type"]
                        if kind == "content_block_delta":
                            delta = obj["delta"]
                            if delta["type"] == "text_delta":
                                yield delta["text"]
                        elif kind == "message_stop":
                            return
            data = b"" if ended else recv(READ_SIZE)
            if not data:
                raise ConnectionError("the body ended before the end marker")
            raw += data
    finally:
        sock.close()


# -- requests + sseclient-py ------------------------------------------------------------

_sessions: dict[str, Any] = {}
_sessions_lock = threading.Lock()


def _session() -> Any:
    import requests

    with _sessions_lock:
        session = _sessions.get("requests")
        if session is None:
            session = _sessions["requests"] = requests.Session()
        return session


def _texts(events: Iterable[Any], fmt: str) -> Iterator[str]:
    loads = json.loads
    if fmt == CHAT:
        for event in events:
            data = event.data
            if data == "[DONE]":
                return
            choices = loads(data)["choices"]
            if choices:
                text = choices[0]["delta"].get("content")
                if text:
                    yield text
    else:
        for event in events:
            obj = loads(event.data)
            kind = obj["type"]
            if kind == "content_block_delta":
                delta = obj["delta"]
                if delta["type"] == "text_delta":
                    yield delta["text"]
            elif kind == "message_stop":
                return


def requests_well(target: Target) -> Iterator[str]:
    """requests + sseclient-py in the caller's thread, fed whatever has arrived (``read1``)."""
    from sseclient import SSEClient

    response = _session().post(
        target.url, data=target.body(), headers=target.headers(), stream=True
    )
    try:
        response.raise_for_status()
        read1 = response.raw._fp.read1

        def arrived() -> Iterator[bytes]:
            while True:
                data = read1(READ_SIZE)
                if not data:
                    return
                yield data

        yield from _texts(SSEClient(arrived()).events(), target.fmt)
    finally:
        response.close()


def requests_documented(target: Target) -> Iterator[str]:
    """requests + sseclient-py as its README shows: ``SSEClient(response)``."""
    from sseclient import SSEClient

    response = _session().post(
        target.url, data=target.body(), headers=target.headers(), stream=True
    )
    try:
        response.raise_for_status()
        yield from _texts(SSEClient(response).events(), target.fmt)
    finally:
        response.close()


# -- codey -----------------------------------------------------------------------------


def codey_stream(target: Target, **options: Any) -> Any:
    """``codey.stream(...)`` itself: a ``Stream`` (iterable, ``close()``)."""
    import codey

    return codey.stream(
        PROMPT,
        model=MODELS[target.fmt],
        api_key=API_KEY,
        base_url=target.base_url,
        **options,
    )


# -- the official SDKs (optional) -------------------------------------------------------


def _sdk_client(name: str, port: int) -> Any:
    with _sessions_lock:
        key = f"{name}:{port}"
        client = _sessions.get(key)
        if client is None:
            base = f"http://{HOST}:{port}/b/h"
            if name == "openai":
                import openai

                client = openai.OpenAI(api_key=API_KEY, base_url=base, max_retries=0)
            else:
                import anthropic

                client = anthropic.Anthropic(api_key=API_KEY, base_url=base, max_retries=0)
            _sessions[key] = client
        return client


def openai_sdk(target: Target) -> Iterator[str]:
    client = _sdk_client("openai", target.port)
    stream = client.chat.completions.create(
        model=MODELS[CHAT],
        messages=[{"role": "user", "content": PROMPT}],
        stream=True,
        extra_headers={"X-Bench": target.spec},
    )
    try:
        for chunk in stream:
            if chunk.choices:
                text = chunk.choices[0].delta.content
                if text:
                    yield text
    finally:
        stream.close()


def anthropic_sdk(target: Target) -> Iterator[str]:
    client = _sdk_client("anthropic", target.port)
    stream = client.messages.create(
        model=MODELS[MESSAGES],
        max_tokens=4096,
        messages=[{"role": "user", "content": PROMPT}],
        stream=True,
        extra_headers={"X-Bench": target.spec},
    )
    try:
        for event in stream:
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                yield event.delta.text
    finally:
        stream.close()


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


class Row:
    """A client row of the table."""

    def __init__(
        self,
        name: str,
        label: str,
        open: Callable[[Target], Iterable[str]],
        formats: tuple[str, ...] = (CHAT, MESSAGES),
        imports: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.label = label
        self.open = open
        self.formats = formats
        self.imports = imports


ROWS = {
    row.name: row
    for row in (
        Row("floor", "floor (raw socket)", floor),
        Row(
            "requests-well",
            "requests + sseclient-py, done well",
            requests_well,
            imports=("requests", "sseclient"),
        ),
        Row(
            "requests-documented",
            "requests + sseclient-py, as documented",
            requests_documented,
            imports=("requests", "sseclient"),
        ),
        Row("codey", "**codey.stream**", codey_stream, imports=("codey",)),
        Row(
            "codey-preloaded",
            "codey.stream, requests + sseclient-py imported beforehand (diagnostic)",
            codey_stream,
            imports=("codey", "requests", "sseclient"),
        ),
        Row("openai-sdk", "openai SDK (reference)", openai_sdk, (CHAT,), ("openai",)),
        Row(
            "anthropic-sdk", "anthropic SDK (reference)", anthropic_sdk, (MESSAGES,), ("anthropic",)
        ),
    )
}


def sdk_rows() -> list[str]:
    """The SDK rows whose package is installed."""
    return [name for name in ("openai-sdk", "anthropic-sdk") if _importable(ROWS[name].imports[0])]


# -- process measures ------------------------------------------------------------------------


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (Linux 4.0+); False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def close_idle_pools() -> int:
    """Close codey's idle pooled connections (kept alive for the next request: not
    leaks, but fds all the same); how many file descriptors that freed."""
    transport = sys.modules.get("codey._transport._connection")
    session = getattr(transport, "_session", None)
    if session is None:
        return 0
    import gc

    before = fd_count()
    session.close()
    gc.collect()
    return before - fd_count()


def thread_count() -> int:
    return len(os.listdir("/proc/self/task"))


def cpu_seconds() -> float:
    """CPU time of the whole process (every thread), user + system, in seconds."""
    import time

    return time.process_time()


# -- child-process entry points ------------------------------------------------------------


def _first_main(args: Any) -> None:
    """The first call after import, in a fresh process: import, then time the first text."""
    row = ROWS[args.row]
    target = Target(args.port, args.fmt, args.spec)
    import importlib

    start = monotonic()
    for name in row.imports:
        importlib.import_module(name)
    imported = monotonic()
    first = monotonic()
    stream = row.open(target)
    iterator = iter(stream)
    next(iterator)
    got = monotonic()
    for _ in iterator:
        pass
    print(json.dumps({"first_ms": (got - first) * 1e3, "import_ms": (imported - start) * 1e3}))


def _scale_main(args: Any) -> None:
    """Many concurrent paced streams from as many caller threads; resources before and after."""
    import gc
    import time

    row = ROWS[args.row]
    spec = f"n={args.chunks},pace={args.pace},framing={args.framing}"
    target = Target(args.port, args.fmt, spec)
    # Warm up: imports, sessions, lazy loading; not part of the measure.
    for _ in row.open(target.with_spec(f"n=20,framing={args.framing}")):
        pass
    gc.collect()
    time.sleep(args.settle)
    base = {"rss": rss_bytes(), "threads": thread_count(), "fds": fd_count()}
    peak_ok = reset_peak_rss()
    counts = [0] * args.streams
    errors: list[str] = []
    barrier = threading.Barrier(args.streams)

    def caller(i: int) -> None:
        barrier.wait()
        n = 0
        try:
            for _ in row.open(target):
                n += 1
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        counts[i] = n

    callers = [threading.Thread(target=caller, args=(i,)) for i in range(args.streams)]
    peak_sampled = 0
    cpu0 = cpu_seconds()
    wall0 = monotonic()
    for thread in callers:
        thread.start()
    # Sampled too, in case the peak mark cannot be reset.
    while any(t.is_alive() for t in callers):
        peak_sampled = max(peak_sampled, rss_bytes())
        time.sleep(0.02)
    for thread in callers:
        thread.join()
    wall = monotonic() - wall0
    cpu = cpu_seconds() - cpu0
    peak = peak_rss_bytes() if peak_ok else peak_sampled
    gc.collect()
    time.sleep(args.settle)
    pooled = close_idle_pools()
    after = {"rss": rss_bytes(), "threads": thread_count(), "fds": fd_count()}
    total = sum(counts)
    print(
        json.dumps(
            {
                "row": args.row,
                "chunks": total,
                "expected": args.streams * args.chunks,
                "errors": errors[:5],
                "error_count": len(errors),
                "wall_s": wall,
                "cpu_s": cpu,
                "cpu_us_per_chunk": cpu / max(total, 1) * 1e6,
                "peak_rss_over_base_mb": (max(peak, peak_sampled) - base["rss"]) / 2**20,
                "base": base,
                "after": after,
                "rss_after_over_base_mb": (after["rss"] - base["rss"]) / 2**20,
                "threads_after_over_base": after["threads"] - base["threads"],
                "fds_after_over_base": after["fds"] - base["fds"],
                "pooled_connections_closed": pooled,
                "codey_threads_after": sum(
                    1 for t in threading.enumerate() if t.name.startswith("codey-")
                ),
            }
        )
    )


def main(argv: Optional[list[str]] = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.clients")
    sub = parser.add_subparsers(dest="command", required=True)
    first = sub.add_parser("first")
    scale = sub.add_parser("scale")
    for p in (first, scale):
        p.add_argument("--row", required=True, choices=sorted(ROWS))
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--fmt", required=True, choices=(CHAT, MESSAGES))
    first.add_argument("--spec", default="n=5,framing=chunked")
    scale.add_argument("--framing", default="chunked")
    scale.add_argument("--streams", type=int, default=100)
    scale.add_argument("--chunks", type=int, default=2000)
    scale.add_argument("--pace", type=float, default=0.005)
    scale.add_argument("--settle", type=float, default=0.2, help="seconds before each count")
    args = parser.parse_args(argv)
    if args.command == "first":
        _first_main(args)
    else:
        _scale_main(args)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
