"""Clients for the fake provider's tests: raw sockets, requests, and parsers of
what comes back (SSE events, chat chunks, chunked bodies)."""

from __future__ import annotations

import json
import socket
import threading
from typing import Any

import requests

from codey.testing import FakeProvider

CHAT_BODY = {"model": "gpt-test", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
MESSAGES_BODY = {
    "model": "claude-test",
    "stream": True,
    "max_tokens": 10,
    "messages": [{"role": "user", "content": "hi"}],
}


def path_of(fake: FakeProvider, provider: str) -> str:
    base = fake.base_url(provider)[len(fake.url) :]
    return base + ("/v1/messages" if provider == "anthropic" else "/chat/completions")


def body_for(provider: str) -> dict[str, Any]:
    return MESSAGES_BODY if provider == "anthropic" else CHAT_BODY


def post(fake: FakeProvider, provider: str = "openai", **kwargs: Any) -> requests.Response:
    url = fake.base_url(provider) + (
        "/v1/messages" if provider == "anthropic" else "/chat/completions"
    )
    return requests.post(url, json=body_for(provider), timeout=5, **kwargs)


def parse_sse(data: bytes) -> list[tuple[str, str]]:
    """(event name, data) of each event; comments dropped. Handles all three line endings."""
    text = data.decode("utf-8")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[tuple[str, str]] = []
    name, datas = "", list[str]()
    for line in lines:
        if not line:
            if datas:
                out.append((name or "message", "\n".join(datas)))
            name, datas = "", []
        elif line.startswith(":"):
            continue
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            datas.append(line[5:].lstrip(" "))
    return out


def chat_chunks(data: bytes) -> list[Any]:
    return [json.loads(d) if d != "[DONE]" else d for _, d in parse_sse(data)]


def raw_request(fake: FakeProvider, provider: str = "openai", extra: str = "") -> socket.socket:
    body = json.dumps(body_for(provider)).encode()
    sock = socket.create_connection(("127.0.0.1", fake.port), timeout=5)
    head = (
        f"POST {path_of(fake, provider)} HTTP/1.1\r\nHost: x\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    )
    sock.sendall(head.encode() + body)
    return sock


def read_until(sock: socket.socket, marker: bytes, got: bytes = b"") -> bytes:
    while marker not in got:
        data = sock.recv(65536)
        if not data:
            raise AssertionError(f"EOF before {marker!r}: {got!r}")
        got += data
    return got


def read_all(sock: socket.socket) -> bytes:
    got = b""
    while True:
        data = sock.recv(65536)
        if not data:
            return got
        got += data


def dechunk(data: bytes) -> tuple[bytes, list[int]]:
    """The payload of a complete chunked body and the chunk sizes."""
    payload, sizes = b"", list[int]()
    while True:
        line, _, data = data.partition(b"\r\n")
        size = int(line, 16)
        if size == 0:
            assert data == b"\r\n"
            return payload, sizes
        sizes.append(size)
        payload += data[:size]
        assert data[size : size + 2] == b"\r\n"
        data = data[size + 2 :]


def fake_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("fake-provider")]
