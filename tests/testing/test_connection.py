"""One client connection: HTTP/1.1 framing, gzip, split writes and delays, the
faults (stalls, closes, resets), client disconnects, keep-alive and request bodies,
exercised with plain socket / http.client / requests clients."""

from __future__ import annotations

import gzip
import http.client
import json
import re
import socket
import time
import zlib

import pytest
import requests

from codey.testing import (
    Close,
    Done,
    FakeProvider,
    Pause,
    Reset,
    Stall,
    Text,
    answer,
    events,
    sse_bytes,
)
from tests.testing.wire import (
    CHAT_BODY,
    MESSAGES_BODY,
    chat_chunks,
    dechunk,
    path_of,
    post,
    raw_request,
    read_all,
    read_until,
)

# -------------------------------------------------------------------- framing


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


# --------------------------------------------------------------------- faults


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


# ---------------------------------------------------------------- connections


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


def test_chunked_request_body_and_non_json(fake: FakeProvider) -> None:
    fake.default = answer("a")
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
    try:
        conn.request(
            "POST",
            path_of(fake, "openai"),
            body=iter([b'{"model": ', b'"chunked-model", "stream": true}']),
            encode_chunked=True,
        )
        body = conn.getresponse().read()
        conn.request("POST", path_of(fake, "openai"), body=b"not json")
        conn.getresponse().read()
    finally:
        conn.close()
    assert fake.requests[0].json == {"model": "chunked-model", "stream": True}
    assert chat_chunks(body)[0]["model"] == "chunked-model"
    assert fake.requests[1].json is None
    assert fake.requests[1].body == b"not json"
    assert chat_chunks(sse_bytes(answer("a"), "openai"))[0]["model"] == "fake-model"


def test_malformed_request_gets_400(fake: FakeProvider) -> None:
    with socket.create_connection(("127.0.0.1", fake.port), timeout=5) as sock:
        sock.sendall(b"NONSENSE\r\n\r\n")
        data = read_all(sock)
    assert data.startswith(b"HTTP/1.1 400 ")
