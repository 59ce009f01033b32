"""``Stream`` is an iterator: ``next()`` works, and shares its position with ``for``."""

from __future__ import annotations

import gc
import threading
import time

import pytest

import codey
from codey.testing import FakeProvider, Stall, Text, answer, error, events
from tests.helpers import kwargs_for, open_sockets, wait_until


def start(fake: FakeProvider, provider: str = "openai", **extra: object) -> codey.Stream:
    return codey.stream("hi", **kwargs_for(fake, provider, **extra))  # type: ignore[arg-type]


@pytest.mark.parametrize("provider", ["openai", "xai", "anthropic"])
def test_next_then_for_share_the_position(fake, provider):
    """The WSGI pattern: peek the first chunk, then stream the rest."""
    fake.push(answer("a", "b", "c", finish_reason="stop"))
    with start(fake, provider) as stream:
        assert iter(stream).__class__.__name__ == "generator"
        first = next(stream)
        assert first == "a"
        assert stream.text == "a"
        assert list(stream) == ["b", "c"]
        assert stream.text == "abc"
        assert stream.finish_reason == "stop"
        with pytest.raises(StopIteration):
            next(stream)


def test_next_on_a_fresh_stream(fake):
    fake.push(answer("only"))
    assert next(start(fake)) == "only"


def test_next_to_the_end(fake):
    fake.push(answer("x", "y"))
    stream = start(fake)
    assert [next(stream), next(stream)] == ["x", "y"]
    with pytest.raises(StopIteration):
        next(stream)
    assert stream.closed
    assert not stream.cancelled
    assert stream.usage is not None


def test_an_error_before_text_is_raised_by_next(fake):
    """So a WSGI app can answer 502 before it commits a 200."""
    fake.push(error(401, "bad key"))
    stream = start(fake)
    with pytest.raises(codey.AuthenticationError):
        next(stream)
    with pytest.raises(StopIteration):  # a stream that raised is finished
        next(stream)


def test_an_error_mid_stream_is_raised_by_next_after_the_text(fake):
    fake.push(events(Text("part")).evolve(framing="close"))
    stream = start(fake)
    assert next(stream) == "part"
    with pytest.raises(codey.IncompleteStreamError) as info:
        next(stream)
    assert info.value.partial_text == "part"


def test_next_after_a_for_loop_broke_yields_nothing(fake):
    fake.push(answer("a", "b", "c"))
    stream = start(fake)
    for _ in stream:
        break
    assert stream.closed
    with pytest.raises(StopIteration):
        next(stream)


def test_for_after_close_yields_nothing(fake):
    fake.push(answer("a", "b"))
    stream = start(fake)
    assert next(stream) == "a"
    stream.close()
    assert list(stream) == []
    with pytest.raises(StopIteration):
        next(stream)


def test_close_from_another_thread_ends_a_blocked_next(fake):
    fake.push(events(Text("first"), Stall()))
    stream = start(fake, chunk_timeout=30.0)
    assert next(stream) == "first"
    closer = threading.Timer(0.1, stream.close)
    closer.start()
    started = time.monotonic()
    with pytest.raises(StopIteration):
        next(stream)
    closer.join()
    assert time.monotonic() - started < 5.0
    assert stream.cancelled
    assert stream.finish_reason is None
    assert fake.wait_for_requests(1)
    assert wait_until(lambda: fake.requests[0].disconnected)


def test_chunk_timeout_applies_to_next(fake):
    fake.push(events(Text("first"), Stall()))
    stream = start(fake, chunk_timeout=0.2)
    assert next(stream) == "first"
    with pytest.raises(codey.ChunkTimeoutError) as info:
        next(stream)
    assert info.value.partial_text == "first"


def test_abandoned_after_next_leaks_nothing(fake):
    """A stream dropped after next() (no loop, no close) closes its connection."""
    before = open_sockets()
    for _ in range(20):
        fake.push(events(Text("first"), Stall()))
        stream = start(fake, chunk_timeout=30.0)
        assert next(stream) == "first"
        del stream
    gc.collect()
    assert wait_until(lambda: all(r.disconnected for r in fake.requests), timeout=5.0)
    assert wait_until(lambda: open_sockets() <= before, timeout=5.0)


def test_events_and_next_share_the_position(fake):
    fake.push(answer("a", "b", "c"))
    stream = start(fake)
    assert next(stream) == "a"
    kinds = [type(event).__name__ for event in stream.events()]
    assert kinds[:2] == ["TextDelta", "TextDelta"]
    assert kinds[-1] == "Finish"
    assert stream.text == "abc"
