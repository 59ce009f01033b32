"""Connections: a stream read to the end leaves its connection to the next request
(no new TCP or TLS handshake per answer); one cut short, or that the server closes,
does not."""

from __future__ import annotations

import logging
import threading
import time

import pytest

import codey
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
