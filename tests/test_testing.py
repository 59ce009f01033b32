"""The fake provider itself, exercised with plain socket / http.client / requests clients."""

from __future__ import annotations

import gzip
import http.client
import json
import re
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from typing import Any, Optional

import pytest
import requests

from codey.testing import (
    Close,
    Comment,
    Done,
    ErrorEvent,
    FakeProvider,
    Finish,
    Pause,
    Ping,
    Raw,
    Reasoning,
    Reply,
    Reset,
    Stall,
    Text,
    ToolCall,
    UsageStep,
    answer,
    error,
    events,
    sse_bytes,
)

CHAT_BODY = {"model": "gpt-test", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
MESSAGES_BODY = {
    "model": "claude-test",
    "stream": True,
    "max_tokens": 10,
    "messages": [{"role": "user", "content": "hi"}],
}


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    with FakeProvider() as provider:
        yield provider


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


# --------------------------------------------------------------------------- basics


def test_urls_and_env(fake: FakeProvider) -> None:
    assert fake.url == f"http://127.0.0.1:{fake.port}"
    assert fake.base_url("openai") == f"{fake.url}/openai/v1"
    assert fake.base_url("xai") == f"{fake.url}/xai/v1"
    assert fake.base_url("anthropic") == f"{fake.url}/anthropic"
    with pytest.raises(ValueError):
        fake.base_url("mistral")
    env = fake.env()
    assert env["OPENAI_BASE_URL"] == fake.base_url("openai")
    assert env["XAI_BASE_URL"] == fake.base_url("xai")
    assert env["ANTHROPIC_BASE_URL"] == fake.base_url("anthropic")
    for name in ("OPENAI_API_KEY", "XAI_API_KEY", "ANTHROPIC_API_KEY"):
        assert env[name] == "sk-fake-key"


def test_threads_are_named_and_close_joins_them() -> None:
    before = set(fake_threads())
    fake = FakeProvider()
    fake.push(answer("a"))
    assert post(fake).status_code == 200
    assert all(not t.name.startswith("codey-") for t in threading.enumerate())
    assert set(fake_threads()) - before
    fake.close()
    fake.close()  # idempotent
    assert not [t for t in fake_threads() if t not in before and t.is_alive()]


def test_reply_value_class() -> None:
    reply = answer("a")
    assert reply.evolve(gzip=True).gzip
    assert not reply.gzip
    assert events(Text("a"), Done(), framing="length") == Reply(
        steps=[Text("a"), Done()], framing="length"
    )
    with pytest.raises(ValueError):
        Reply(framing="bogus")
    with pytest.raises(ValueError):
        Reply(line_ending="\n\n")
    with pytest.raises(ValueError):
        Reply(split=0)
    with pytest.raises(TypeError):
        FakeProvider.push(FakeProvider.__new__(FakeProvider), "nope")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize("provider", ["openai", "xai"])
def test_chat_happy_path(fake: FakeProvider, provider: str) -> None:
    fake.push(answer("Hel", "lo", usage=(7, 3)))
    response = post(fake, provider)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["transfer-encoding"] == "chunked"
    chunks = chat_chunks(response.content)
    assert chunks[-1] == "[DONE]"
    role, hel, lo, finish, usage = chunks[:-1]
    for chunk in (role, hel, lo, finish, usage):
        assert chunk["id"] == "chatcmpl-fake"
        assert chunk["object"] == "chat.completion.chunk"
        assert chunk["model"] == "gpt-test"
        assert isinstance(chunk["created"], int)
    assert role["choices"] == [
        {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
    ]
    assert hel["choices"][0]["delta"] == {"content": "Hel"}
    assert lo["choices"][0]["delta"] == {"content": "lo"}
    assert finish["choices"] == [{"index": 0, "delta": {}, "finish_reason": "stop"}]
    assert usage["choices"] == []
    assert usage["usage"] == {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
    assert fake.requests[0].provider == provider


def test_anthropic_happy_path(fake: FakeProvider) -> None:
    fake.push(answer("Hel", "lo", usage=(7, 3)))
    response = post(fake, "anthropic")
    assert response.status_code == 200
    evs = parse_sse(response.content)
    names = [name for name, _ in evs]
    assert names == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    datas = [json.loads(d) for _, d in evs]
    assert all(d["type"] == name for d, name in zip(datas, names))
    assert datas[0]["message"] == {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 7, "output_tokens": 1},
    }
    assert datas[1] == {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": ""},
    }
    assert datas[2] == {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": "Hel"},
    }
    assert datas[3]["delta"]["text"] == "lo"
    assert datas[4] == {"type": "content_block_stop", "index": 0}
    assert datas[5] == {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": 3},
    }
    assert datas[6] == {"type": "message_stop"}
    assert fake.requests[0].provider == "anthropic"


def test_anthropic_reasoning_and_tools() -> None:
    reply = answer(
        "ok",
        reasoning=["let me ", "think"],
        tool_calls=[ToolCall(0, "toolu_1", "get_weather", ['{"city"', ':"Paris"}'])],
        pings=True,
    )
    evs = [(name, json.loads(d)) for name, d in parse_sse(sse_bytes(reply, "anthropic"))]
    names = [name for name, _ in evs]
    assert names[:2] == ["message_start", "ping"]
    assert evs[1][1] == {"type": "ping"}
    blocks = [d["content_block"] for n, d in evs if n == "content_block_start"]
    assert blocks == [
        {"type": "thinking", "thinking": ""},
        {"type": "text", "text": ""},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}},
    ]
    deltas = [(d["index"], d["delta"]) for n, d in evs if n == "content_block_delta"]
    assert deltas == [
        (0, {"type": "thinking_delta", "thinking": "let me "}),
        (0, {"type": "thinking_delta", "thinking": "think"}),
        (0, {"type": "signature_delta", "signature": deltas[2][1]["signature"]}),
        (1, {"type": "text_delta", "text": "ok"}),
        (2, {"type": "input_json_delta", "partial_json": '{"city"'}),
        (2, {"type": "input_json_delta", "partial_json": ':"Paris"}'}),
    ]
    # The signature comes right before the thinking block's stop.
    sig = names.index("content_block_delta") + 2
    assert evs[sig + 1] == ("content_block_stop", {"type": "content_block_stop", "index": 0})
    stops = [d["index"] for n, d in evs if n == "content_block_stop"]
    assert stops == [0, 1, 2]
    message_delta = next(d for n, d in evs if n == "message_delta")
    assert message_delta["delta"]["stop_reason"] == "tool_use"
    assert names[-1] == "message_stop"


def test_chat_reasoning_and_tools() -> None:
    reply = answer(
        "ok",
        reasoning=["hmm"],
        tool_calls=[ToolCall(1, "call_1", "get_weather", ['{"city"', ':"Paris"}'])],
        usage=None,
        pings=True,
    )
    data = sse_bytes(reply, "xai", model="grok-test")
    assert data.startswith(b": ping\n\n")
    chunks = chat_chunks(data)
    deltas = [c["choices"][0]["delta"] for c in chunks[:-1]]
    assert deltas == [
        {"role": "assistant", "content": ""},
        {"reasoning_content": "hmm"},
        {"content": "ok"},
        {
            "tool_calls": [
                {
                    "index": 1,
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city"'},
                }
            ]
        },
        {"tool_calls": [{"index": 1, "function": {"arguments": ':"Paris"}'}}]},
        {},
    ]
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-2]["model"] == "grok-test"
    assert chunks[-1] == "[DONE]"


def test_finish_reason_and_explicit_steps() -> None:
    reply = events(
        Comment(),
        Text("a"),
        Finish("length"),
        UsageStep(1, 2),
        ErrorEvent("overloaded_error", "Overloaded"),
        Raw(b"data: raw\n\n"),
    )
    chat = sse_bytes(reply, "openai")
    assert chat.startswith(b": keep-alive\n\n")
    chunks = chat_chunks(chat.replace(b"data: raw\n\n", b""))
    assert chunks[2]["choices"][0]["finish_reason"] == "length"
    assert chunks[4] == {
        "error": {"message": "Overloaded", "type": "overloaded_error", "param": None, "code": None}
    }
    assert chat.endswith(b"data: raw\n\n")
    anthropic = sse_bytes(reply, "anthropic")
    evs = parse_sse(anthropic)
    assert evs[-2] == (
        "error",
        '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
    )
    message_delta = json.loads(next(d for n, d in evs if n == "message_delta"))
    assert message_delta["delta"]["stop_reason"] == "length"
    assert message_delta["usage"] == {"output_tokens": 2}
    assert json.loads(evs[0][1])["message"]["usage"]["input_tokens"] == 1
    assert evs[-1] == ("message", "raw")
    assert b"message_stop" not in anthropic  # no Done, no end marker
    with pytest.raises(ValueError):
        sse_bytes(reply, "mistral")


def test_sse_bytes_stops_at_close() -> None:
    reply = events(Text("a"), Pause(0.01), Close(), Text("b"))
    assert b'"a"' in sse_bytes(reply, "openai")
    assert b'"b"' not in sse_bytes(reply, "openai")


def test_line_endings_and_bom(fake: FakeProvider) -> None:
    crlf = sse_bytes(answer("a", line_ending="\r\n"), "anthropic")
    assert b"\r\n\r\n" in crlf
    assert b"\n" not in crlf.replace(b"\r\n", b"")
    cr = sse_bytes(answer("a", line_ending="\r"), "openai")
    assert b"\n" not in cr
    assert cr.endswith(b"data: [DONE]\r\r")
    assert chat_chunks(cr)[-1] == "[DONE]"
    fake.push(answer("a", bom=True))
    content = post(fake).content
    assert content.startswith(b"\xef\xbb\xbfdata: ")
    assert chat_chunks(content)[1]["choices"][0]["delta"] == {"content": "a"}


# --------------------------------------------------------------------------- framing


def test_chunked_framing_on_the_wire(fake: FakeProvider) -> None:
    reply = answer("a")
    fake.push(reply)
    with raw_request(fake) as sock:
        data = read_until(sock, b"\r\n0\r\n\r\n")
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nTransfer-Encoding: chunked" in head
    assert b"Content-Length" not in head
    payload, _ = dechunk(body)
    assert payload == sse_bytes(reply, "openai", "gpt-test")


def test_length_framing(fake: FakeProvider) -> None:
    reply = answer("a", "€", framing="length")
    fake.push(reply)
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
    try:
        conn.request("POST", path_of(fake, "anthropic"), body=json.dumps(MESSAGES_BODY))
        response = conn.getresponse()
        assert response.getheader("transfer-encoding") is None
        body = response.read()
        assert int(response.getheader("content-length") or -1) == len(body)
        assert body == sse_bytes(reply, "anthropic", "claude-test")
        assert not response.will_close
    finally:
        conn.close()


def test_close_framing(fake: FakeProvider) -> None:
    reply = answer("a", framing="close")
    fake.push(reply)
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
    try:
        conn.request("POST", path_of(fake, "openai"), body=json.dumps(CHAT_BODY))
        response = conn.getresponse()
        assert response.getheader("connection") == "close"
        assert response.getheader("content-length") is None
        assert response.getheader("transfer-encoding") is None
        assert response.read() == sse_bytes(reply, "openai", "gpt-test")
    finally:
        conn.close()
    # The server half-closed, then saw the client close too.
    assert fake.requests[0].disconnected.wait(1.0)


@pytest.mark.parametrize("framing", ["chunked", "length", "close"])
def test_gzip_decodes(fake: FakeProvider, framing: str) -> None:
    reply = answer("Hel", "lo", gzip=True, framing=framing)
    fake.push(reply)
    response = post(fake, "anthropic")
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == sse_bytes(reply, "anthropic", "claude-test")


def test_gzip_is_flushed_per_step(fake: FakeProvider) -> None:
    fake.push(events(Text("first"), Stall(), gzip=True, framing="close"))
    with raw_request(fake) as sock:
        got = read_until(sock, b"\r\n\r\n")
        head, _, body = got.partition(b"\r\n\r\n")
        assert b"Content-Encoding: gzip" in head
        decoder = zlib.decompressobj(wbits=31)
        text = decoder.decompress(body)
        while b'"first"' not in text:
            text += decoder.decompress(sock.recv(65536))
    assert text.startswith(b"data: ")
    assert fake.requests[0].disconnected.wait(1.0)


def test_split_reassembles_into_one_byte_chunks(fake: FakeProvider) -> None:
    reply = answer("héllo ", "€😀", line_ending="\r\n", split=1)
    fake.push(reply)
    with raw_request(fake) as sock:
        data = read_until(sock, b"\r\n0\r\n\r\n")
    payload, sizes = dechunk(data.partition(b"\r\n\r\n")[2])
    assert set(sizes) == {1}
    # "created" is the server's clock in seconds: it may have ticked since.
    created = re.compile(rb'"created": ?\d+')
    expected = sse_bytes(reply, "openai", "gpt-test")
    assert created.sub(b"", payload) == created.sub(b"", expected)


@pytest.mark.parametrize("framing", ["chunked", "length", "close"])
def test_split_with_requests(fake: FakeProvider, framing: str) -> None:
    reply = answer("héllo ", "€😀", split=3, framing=framing, gzip=framing == "length")
    fake.push(reply)
    response = post(fake, "anthropic", stream=True)
    pieces = list(response.iter_content(chunk_size=None))
    response.close()
    assert b"".join(pieces) == sse_bytes(reply, "anthropic", "claude-test")


def test_write_delay_and_pause(fake: FakeProvider) -> None:
    fake.push(events(Text("a"), Text("b"), Pause(0.1), Done(), write_delay=0.05))
    started = time.monotonic()
    response = post(fake)
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert 0.2 <= elapsed < 2.0  # delays between 4 writes + the pause


# --------------------------------------------------------------------------- errors


def test_openai_error_with_retry_after(fake: FakeProvider) -> None:
    fake.push(error(429, "slow down", retry_after=0, retry_after_ms=250))
    response = post(fake)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "0"
    assert response.headers["retry-after-ms"] == "250"
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "error": {
            "message": "slow down",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (429, "rate_limit_error"),
        (500, "api_error"),
        (529, "overloaded_error"),
    ],
)
def test_anthropic_error_types(fake: FakeProvider, status: int, kind: str) -> None:
    fake.push(error(status, "nope", retry_after=1.5))
    response = post(fake, "anthropic")
    assert response.status_code == status
    assert response.headers["retry-after"] == "1.5"
    assert response.json() == {"type": "error", "error": {"type": kind, "message": "nope"}}


def test_error_formats_per_provider(fake: FakeProvider) -> None:
    reply = error(503, error_type="overloaded", headers={"X-Extra": "1"})
    fake.push(reply, reply, reply)
    openai = post(fake, "openai")
    assert openai.status_code == 503
    assert openai.headers["x-extra"] == "1"
    assert openai.json()["error"] == {
        "message": "Service Unavailable",
        "type": "overloaded",
        "param": None,
        "code": None,
    }
    xai = post(fake, "xai")
    assert xai.json() == {"code": "overloaded", "error": "Service Unavailable"}
    anthropic = post(fake, "anthropic")
    assert anthropic.json()["error"]["type"] == "overloaded"
    assert post(fake, "xai").status_code == 500  # queue exhausted
    fake.push(error(400, "bad key"))
    assert post(fake, "xai").json() == {
        "code": "Client specified an invalid argument",
        "error": "bad key",
    }


def test_html_502(fake: FakeProvider) -> None:
    fake.push(error(502, html=True))
    response = post(fake, "anthropic")
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.startswith("<html>")
    assert "<title>502 Bad Gateway</title>" in response.text


def test_no_scripted_reply_and_default(fake: FakeProvider) -> None:
    response = post(fake)
    assert response.status_code == 500
    assert response.json()["error"]["message"] == "no scripted reply"
    assert post(fake, "anthropic").json()["error"]["type"] == "api_error"
    fake.default = answer("ok")
    fake.push(answer("first"))
    assert fake.pending == 1
    texts = []
    for _ in range(3):
        chunks = chat_chunks(post(fake).content)
        texts.append(chunks[1]["choices"][0]["delta"]["content"])
    assert texts == ["first", "ok", "ok"]
    assert fake.pending == 0


def test_unknown_path_models_and_methods(fake: FakeProvider) -> None:
    missing = requests.post(fake.url + "/anthropic/messages", json={}, timeout=5)
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "not_found_error"
    nowhere = requests.get(fake.url + "/elsewhere", timeout=5)
    assert nowhere.status_code == 404
    assert "error" in nowhere.json()
    models = requests.get(fake.base_url("openai") + "/models", timeout=5)
    assert models.json()["data"][0]["id"] == "fake-model"
    fake.models = ["a", "b"]
    models = requests.get(fake.base_url("anthropic") + "/v1/models", timeout=5)
    assert [m["id"] for m in models.json()["data"]] == ["a", "b"]
    wrong = requests.get(fake.base_url("openai") + "/chat/completions", timeout=5)
    assert wrong.status_code == 405
    plain = requests.post(fake.url + "/v1/chat/completions", json=CHAT_BODY, timeout=5)
    assert plain.status_code == 500  # routed as openai, nothing scripted
    recorded = fake.requests
    assert [r.provider for r in recorded] == [
        "anthropic",
        None,
        "openai",
        "anthropic",
        "openai",
        "openai",
    ]


# --------------------------------------------------------------------------- faults


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_stall_then_client_disconnect(fake: FakeProvider, provider: str) -> None:
    fake.push(events(Text("partial"), Stall()))
    sock = raw_request(fake, provider)
    try:
        read_until(sock, b'"partial"')
        assert not fake.requests[0].disconnected.is_set()
    finally:
        sock.close()
    started = time.monotonic()
    assert fake.requests[0].disconnected.wait(1.0)
    assert time.monotonic() - started < 0.5


def test_release_ends_stalls(fake: FakeProvider) -> None:
    fake.push(events(Text("a"), Stall(), Text("b"), Done()))
    result: list[requests.Response] = []
    thread = threading.Thread(target=lambda: result.append(post(fake)))
    thread.start()
    assert fake.wait_for_requests(1, timeout=2)
    time.sleep(0.05)
    assert thread.is_alive()
    fake.release()
    thread.join(5)
    assert b'"b"' in result[0].content
    fake.push(events(Text("c"), Stall(), Done()))  # later stalls return at once
    assert post(fake).content.endswith(b"data: [DONE]\n\n")


def test_close_releases_stall_and_leaves_nothing_behind() -> None:
    before = set(fake_threads())
    fake = FakeProvider()
    fake.push(events(Text("a"), Stall()))
    sock = raw_request(fake)
    try:
        read_until(sock, b'"a"')
        started = time.monotonic()
        fake.close()
        assert time.monotonic() - started < 1.0
        assert b"0\r\n\r\n" not in read_all(sock)  # EOF: the server closed its side
    finally:
        sock.close()
    assert not [t for t in fake_threads() if t not in before and t.is_alive()]
    assert not fake.requests[0].disconnected.is_set()  # the server hung up, not the client


@pytest.mark.parametrize("framing", ["chunked", "length"])
def test_close_truncates_the_body(fake: FakeProvider, framing: str) -> None:
    fake.push(events(Text("a"), Close(), Text("b"), Done(), framing=framing))
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
    try:
        conn.request("POST", path_of(fake, "openai"), body=json.dumps(CHAT_BODY))
        response = conn.getresponse()
        with pytest.raises(http.client.IncompleteRead) as caught:
            response.read()
        assert b'"a"' in caught.value.partial
        assert b'"b"' not in caught.value.partial
    finally:
        conn.close()
    assert fake.requests[0].disconnected.wait(1.0)


def test_close_with_requests_raises(fake: FakeProvider) -> None:
    fake.push(events(Text("a"), Close()))
    response = post(fake, "anthropic", stream=True)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        b"".join(response.iter_content(chunk_size=None))
    response.close()


def test_reset(fake: FakeProvider) -> None:
    fake.push(events(Text("a"), Pause(0.05), Reset()))
    sock = raw_request(fake)
    try:
        with pytest.raises(ConnectionResetError):
            read_all(sock)
    finally:
        sock.close()


def test_client_disconnect_mid_write(fake: FakeProvider, capfd: pytest.CaptureFixture[str]) -> None:
    fake.push(events(*[Text("x" * 1000) for _ in range(5000)], Done(), write_delay=0.001))
    sock = raw_request(fake)
    try:
        read_until(sock, b'"xxxx')
    finally:
        sock.close()
    assert fake.requests[0].disconnected.wait(1.0)
    fake.close()
    captured = capfd.readouterr()
    assert captured.err == ""


def test_disconnect_seen_after_the_reply_while_kept_alive(fake: FakeProvider) -> None:
    fake.push(answer("a"))
    sock = raw_request(fake)
    try:
        read_until(sock, b"\r\n0\r\n\r\n")
        time.sleep(0.02)
        assert not fake.requests[0].disconnected.is_set()
    finally:
        sock.close()
    assert fake.requests[0].disconnected.wait(1.0)


# --------------------------------------------------------------------------- connections


@pytest.mark.parametrize("framing", ["chunked", "length"])
def test_keep_alive_serves_the_queue_in_order(fake: FakeProvider, framing: str) -> None:
    fake.push(answer("one", framing=framing), answer("two", framing=framing))
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
    try:
        conn.request("POST", path_of(fake, "openai"), body=json.dumps(CHAT_BODY))
        first = conn.getresponse().read()
        sock = conn.sock
        conn.request("POST", path_of(fake, "xai"), body=json.dumps(CHAT_BODY))
        second = conn.getresponse().read()
        assert conn.sock is sock  # the same connection
    finally:
        conn.close()
    assert chat_chunks(first)[1]["choices"][0]["delta"]["content"] == "one"
    assert chat_chunks(second)[1]["choices"][0]["delta"]["content"] == "two"
    assert [r.provider for r in fake.requests] == ["openai", "xai"]
    for request in fake.requests:
        assert request.disconnected.wait(1.0)


def test_keep_alive_with_a_session(fake: FakeProvider) -> None:
    fake.push(answer("one"), answer("two"))
    with requests.Session() as session:
        for _ in range(2):
            response = session.post(
                fake.base_url("anthropic") + "/v1/messages", json=MESSAGES_BODY, timeout=5
            )
            assert response.status_code == 200
    assert len(fake.requests) == 2


def test_requests_are_recorded(fake: FakeProvider) -> None:
    fake.push(answer("a"))
    response = requests.post(
        fake.base_url("anthropic") + "/v1/messages?beta=true",
        json=MESSAGES_BODY,
        headers={"x-api-key": "k", "anthropic-version": "2023-06-01", "Authorization": "none"},
        timeout=5,
    )
    assert response.status_code == 200
    assert fake.wait_for_requests(1, timeout=1)
    assert not fake.wait_for_requests(2, timeout=0.01)
    request = fake.requests[0]
    assert request.method == "POST"
    assert request.path == "/anthropic/v1/messages?beta=true"
    assert request.provider == "anthropic"
    assert request.headers["x-api-key"] == "k"
    assert request.headers["X-Api-Key"] == "k"
    assert request.headers["authorization"] == "none"
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.headers["x-missing"] is None
    assert request.json == MESSAGES_BODY
    assert request.model == "claude-test"
    assert json.loads(request.body) == MESSAGES_BODY


def test_chunked_request_body_and_non_json(fake: FakeProvider) -> None:
    fake.default = answer("a")
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
    try:
        conn.request(
            "POST",
            path_of(fake, "openai"),
            body=iter([b'{"model": ', b'"chunked-model"}']),
            encode_chunked=True,
        )
        body = conn.getresponse().read()
        conn.request("POST", path_of(fake, "openai"), body=b"not json")
        conn.getresponse().read()
    finally:
        conn.close()
    assert fake.requests[0].json == {"model": "chunked-model"}
    assert chat_chunks(body)[0]["model"] == "chunked-model"
    assert fake.requests[1].json is None
    assert fake.requests[1].body == b"not json"
    assert chat_chunks(sse_bytes(answer("a"), "openai"))[0]["model"] == "fake-model"


def test_malformed_request_gets_400(fake: FakeProvider) -> None:
    with socket.create_connection(("127.0.0.1", fake.port), timeout=5) as sock:
        sock.sendall(b"NONSENSE\r\n\r\n")
        data = read_all(sock)
    assert data.startswith(b"HTTP/1.1 400 ")


def test_wait_for_requests_from_threads(fake: FakeProvider) -> None:
    fake.default = answer("a")
    results: list[Optional[int]] = []

    def worker() -> None:
        results.append(post(fake).status_code)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    assert fake.wait_for_requests(3, timeout=5)
    for thread in threads:
        thread.join(5)
    assert results == [200, 200, 200]


def test_gzip_module_agrees() -> None:
    # The gzip stream is one well-formed member.
    with FakeProvider() as fake:
        reply = answer("a", gzip=True, framing="length")
        fake.push(reply)
        conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
        try:
            conn.request("POST", path_of(fake, "openai"), body=json.dumps(CHAT_BODY))
            raw = conn.getresponse().read()
        finally:
            conn.close()
    assert gzip.decompress(raw) == sse_bytes(reply, "openai", "gpt-test")


def test_reasoning_only_stream() -> None:
    chat = chat_chunks(sse_bytes(events(Reasoning("r"), Done()), "openai"))
    assert chat[1]["choices"][0]["delta"] == {"reasoning_content": "r"}
    evs = parse_sse(sse_bytes(events(Reasoning("r"), Done()), "anthropic"))
    assert [name for name, _ in evs] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_stop",
    ]


def test_ping_in_chat_is_a_comment() -> None:
    assert sse_bytes(events(Ping()), "openai") == b": ping\n\n"
    assert parse_sse(sse_bytes(events(Ping()), "anthropic"))[-1] == ("ping", '{"type": "ping"}')
