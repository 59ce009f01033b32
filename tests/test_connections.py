"""Connections: a stream read to the end leaves its connection to the next request
(no new TCP or TLS handshake per answer); one cut short, or that the server closes,
does not."""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any

import pytest

import codey
from codey._transport._connection import ONE_WRITE
from codey.testing import Done, FakeProvider, Pause, Stall, Text, answer, events
from tests.helpers import MODELS, RICH, kwargs_for, wait_until


@pytest.mark.parametrize("provider", sorted(MODELS))
@pytest.mark.parametrize("framing", ["chunked", "length"])
def test_answers_in_a_row_share_one_connection(
    fake: FakeProvider, provider: str, framing: str
) -> None:
    fake.default = answer("Hel", "lo").evolve(framing=framing)
    for _ in range(3):
        assert codey.complete("hi", **kwargs_for(fake, provider)) == "Hello"
    assert len(fake.requests) == 3
    assert fake.connections == 1
    assert not fake.requests[0].disconnected.is_set()  # still open, in the pool


@pytest.mark.parametrize("provider", sorted(RICH))
def test_a_server_that_closes_gets_a_new_connection_each_time(
    fake: FakeProvider, provider: str
) -> None:
    fake.default = answer("Hello").evolve(framing="close")
    for _ in range(2):
        assert codey.complete("hi", **kwargs_for(fake, provider)) == "Hello"
    assert fake.connections == 2


def test_a_stream_closed_early_does_not_hand_on_its_connection(fake: FakeProvider) -> None:
    fake.push(events(Text("one"), Pause(5.0), Text("two"), Done()))
    fake.default = answer("fine")
    stream = codey.stream("hi", **kwargs_for(fake, "openai"))
    assert next(iter(stream)) == "one"
    stream.close()
    assert fake.requests[0].disconnected.wait(2.0)
    # The next answer comes whole, on a connection of its own.
    assert codey.complete("again", **kwargs_for(fake, "openai")) == "fine"
    assert fake.connections == 2


def test_an_end_of_body_that_lags_the_end_marker_is_not_waited_for(
    fake: FakeProvider,
) -> None:
    # The last chunk comes long after [DONE]: the answer is complete at [DONE],
    # and the connection, whose body has not ended, is closed rather than pooled.
    fake.push(events(Text("Hello"), Done(), Pause(3.0)))
    fake.default = answer("next")
    started = time.monotonic()
    assert codey.complete("hi", **kwargs_for(fake, "openai")) == "Hello"
    assert time.monotonic() - started < 1.5
    assert fake.requests[0].disconnected.wait(2.0)
    assert codey.complete("again", **kwargs_for(fake, "openai")) == "next"
    assert fake.connections == 2


def test_an_error_response_read_whole_leaves_its_connection(fake: FakeProvider) -> None:
    from codey.testing import error

    fake.push(error(429, "slow down", retry_after=0), answer("Hello"))
    assert codey.complete("hi", **kwargs_for(fake, "anthropic")) == "Hello"
    assert len(fake.requests) == 2
    assert fake.connections == 1


def test_more_streams_than_the_pool_keeps_close_the_rest_quietly(
    fake: FakeProvider, caplog: pytest.LogCaptureFixture
) -> None:
    # The pool keeps 256 connections a host; 270 at once leave 14 with no room. Every
    # answer is held until all 270 requests are in, so each has a connection of its own.
    fake.default = events(Stall(), Text("hi"), Done())
    count = 270
    answers: list[str] = []

    def ask() -> None:
        options = kwargs_for(fake, "openai", connect_timeout=30.0, chunk_timeout=30.0)
        answers.append(codey.complete("x", **options))

    callers = [threading.Thread(target=ask) for _ in range(count)]
    with caplog.at_level(logging.WARNING):
        for caller in callers:
            caller.start()
        assert fake.wait_for_requests(count, timeout=30.0)
        fake.release()
        for caller in callers:
            caller.join()
    assert answers == ["hi"] * count
    opened = fake.connections
    assert opened == count
    assert [r.getMessage() for r in caplog.records if r.name.startswith("urllib3")] == []

    # Those with no room were closed, not left open.
    def closed() -> int:
        return sum(request.disconnected.is_set() for request in fake.requests)

    # (Under load a few more: a last chunk later than 5 ms after [DONE] is not waited for.)
    assert wait_until(lambda: closed() >= opened - 256)


class _CountedSocket(socket.socket):
    """A real socket that notes what each sendall() was given."""

    writes: list[bytes]

    def sendall(self, data: Any, *args: Any) -> None:
        self.writes.append(bytes(data))
        super().sendall(data, *args)


def _counted(fake: FakeProvider) -> tuple[Any, list[bytes]]:
    """codey's own urllib3 connection to the fake, its socket counting writes."""
    from codey._transport._connection import _HTTPConnection

    conn = _HTTPConnection("127.0.0.1", fake.port, timeout=5.0)
    conn.connect()
    counted = _CountedSocket(fileno=conn.sock.detach())
    counted.writes = []
    conn.sock = counted
    return conn, counted.writes


def _body(size: int) -> bytes:
    """A Chat Completions body of exactly ``size`` bytes (at least 41)."""
    head, tail = b'{"model":"gpt-4.1","messages":[],"pad":"', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


@pytest.mark.parametrize("size", [100, ONE_WRITE])
def test_a_small_request_goes_out_in_one_write(fake: FakeProvider, size: int) -> None:
    """Head and body in one write (one packet, one wake-up of the server), not two."""
    fake.push(answer("ok"))
    body = _body(size)
    conn, writes = _counted(fake)
    try:
        conn.request(
            "POST",
            "/openai/v1/chat/completions",
            body=body,
            headers={"Content-Type": "application/json", "Authorization": "Bearer sk-x"},
        )
        response = conn.getresponse()
        response.read()
    finally:
        conn.close()
    assert response.status == 200
    assert len(writes) == 1
    assert writes[0].startswith(b"POST /openai/v1/chat/completions HTTP/1.1\r\n")
    assert writes[0].endswith(b"\r\n\r\n" + body)
    assert fake.requests[-1].json["model"] == "gpt-4.1"


def test_a_large_body_and_no_body_go_as_urllib3_sends_them(fake: FakeProvider) -> None:
    fake.push(answer("ok"))
    fake.push(answer("ok"))
    conn, writes = _counted(fake)
    big = _body(ONE_WRITE + 1)
    try:
        conn.request("POST", "/openai/v1/chat/completions", body=big)
        conn.getresponse().read()
        assert len(writes) == 2  # the head, then the body (not copied into one)
        assert writes[1] == big
        conn.request("GET", "/openai/v1/models")
        conn.getresponse().read()
    finally:
        conn.close()
    assert len(writes) == 3
    assert writes[2].startswith(b"GET /openai/v1/models HTTP/1.1\r\n")
    assert fake.requests[0].body == big
