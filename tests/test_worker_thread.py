"""Streams opened inside ``worker_thread()`` run in the reader's thread (a batch's workers)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import codey
import codey._batch._files
import codey._batch._streamed
from codey._stream import worker_thread
from codey.testing import Done, FakeProvider, Finish, Pause, Stall, Text, answer, error, events
from tests.conftest import FAKE_KEY
from tests.helpers import codey_threads, kwargs_for, silent_server, wait_until


def stream_threads() -> list[threading.Thread]:
    """A stream's own worker threads (not a batch's, which are ``codey-batch-*``)."""
    return [t for t in codey_threads() if not t.name.startswith("codey-batch")]


class TestInTheReadersThread:
    def test_no_thread_of_its_own(self, fake: FakeProvider) -> None:
        fake.push(answer("Hel", "lo", usage=(3, 2)))
        fake.push(answer("Hel", "lo", usage=(3, 2)))
        with codey.stream("hi", **kwargs_for(fake, "openai")) as control:
            assert stream_threads()  # the check below can see a stream's thread
            assert "".join(control) == "Hello"
        assert wait_until(lambda: not stream_threads())
        seen: list[list[threading.Thread]] = []
        with worker_thread():
            stream = codey.stream("hi", **kwargs_for(fake, "openai"))
            seen.append(stream_threads())
            with stream:
                assert "".join(stream) == "Hello"
            seen.append(stream_threads())
        assert seen == [[], []]
        assert stream.usage is not None
        assert stream.usage.output_tokens == 2
        assert stream.finish_reason == "stop"
        assert not stream.cancelled
        timings = stream.timings
        assert timings.to_first_text is not None
        assert timings.to_first_text <= timings.total

    def test_the_request_waits_for_the_first_read(self, fake: FakeProvider) -> None:
        fake.push(answer("late"))
        with worker_thread():
            stream = codey.stream("hi", **kwargs_for(fake, "openai"))
            assert fake.requests == []  # nothing sent until it is read
            assert codey.complete("again", **kwargs_for(fake, "openai")) == "late"
        assert len(fake.requests) == 1
        stream.close()
        assert list(stream) == []
        assert len(fake.requests) == 1  # closed before its first read: never sent

    def test_chunk_timeout_from_the_socket(self, fake: FakeProvider) -> None:
        fake.push(events(Text("so far"), Stall()))
        with worker_thread():
            stream = codey.stream("hi", **kwargs_for(fake, "openai", chunk_timeout=0.3))
            started = time.monotonic()
            with pytest.raises(codey.ChunkTimeoutError) as info:
                "".join(stream)
        waited = time.monotonic() - started
        assert 0.25 <= waited < 2.0
        assert info.value.partial_text == "so far"
        assert fake.requests[-1].disconnected.wait(1.0)
        assert len(fake.requests) == 1  # never retried after text

    def test_connect_timeout_from_the_socket(self) -> None:
        with silent_server() as url, worker_thread():
            started = time.monotonic()
            with pytest.raises(codey.ConnectTimeoutError) as info:
                codey.complete(
                    "hi",
                    model="gpt-4.1",
                    api_key=FAKE_KEY,
                    base_url=url,
                    connect_timeout=0.3,
                    retries=2,
                )
            waited = time.monotonic() - started
        assert "within 0.3 s" in str(info.value)
        assert 0.25 <= waited < 2.0

    def test_retried_before_the_first_text(self, fake: FakeProvider) -> None:
        fake.push(error(503, retry_after=0), answer("second time"))
        with worker_thread():
            assert codey.complete("hi", **kwargs_for(fake, "openai", retries=2)) == "second time"
        assert len(fake.requests) == 2

    def test_close_from_another_thread_cuts_the_read(self, fake: FakeProvider) -> None:
        fake.push(events(Text("a"), Stall()))
        with worker_thread():
            stream = codey.stream("hi", **kwargs_for(fake, "anthropic", chunk_timeout=30.0))
            closer = threading.Timer(0.2, stream.close)
            closer.start()
            started = time.monotonic()
            try:
                text = "".join(stream)
            finally:
                closer.join()
        assert time.monotonic() - started < 5.0
        assert text == ""  # the whole answer is read before it is handed on
        assert stream.cancelled
        assert stream.finish_reason is None
        assert fake.requests[-1].disconnected.wait(1.0)

    def test_a_deadline_gets_a_thread(self, fake: FakeProvider) -> None:
        fake.push(events(Text("a"), Stall()))
        with worker_thread():
            stream = codey.stream("hi", **kwargs_for(fake, "openai", deadline=0.3))
            assert len(stream_threads()) == 1
            with pytest.raises(codey.DeadlineExceededError):
                "".join(stream)
        assert fake.requests[-1].disconnected.wait(1.0)

    def test_only_within(self, fake: FakeProvider) -> None:
        fake.push(events(Text("a"), Stall()))
        with worker_thread():
            with worker_thread():
                pass
            inner = codey.stream("hi", **kwargs_for(fake, "openai"))
            assert stream_threads() == []
            inner.close()
        fake.push(events(Text("a"), Stall()))
        with codey.stream("hi", **kwargs_for(fake, "openai")):
            assert len(stream_threads()) == 1


class TestBatch:
    def test_no_thread_per_line(self, fake: FakeProvider, tmp_path: Path) -> None:
        fake.default = events(Text("slow"), Pause(0.15), Text(" answer"), Finish("stop"), Done())
        seen: list[tuple[int, int]] = []

        def progress(summary: codey.BatchSummary) -> None:
            threads = codey_threads()
            seen.append((len(threads) - len(stream_threads()), len(stream_threads())))

        summary = codey.batch(
            [f"p{i}" for i in range(6)],
            tmp_path / "out.jsonl",
            parallel=3,
            on_progress=progress,
            **kwargs_for(fake, "openai"),
        )
        assert (summary.done, summary.failed) == (6, 0)
        during = [streams for batch_threads, streams in seen if batch_threads]
        assert during  # the progress calls saw the batch at work
        assert set(during) == {0}

    def test_fsyncs_at_most_every_sync_interval(
        self, fake: FakeProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Answers faster than fsyncs: the writer gathers them, and loses none."""
        fake.responder = lambda request: answer("ok")
        calls: list[float] = []
        real_fsync = os.fsync

        def counted(fd: Any) -> None:
            calls.append(time.monotonic())
            real_fsync(fd)

        monkeypatch.setattr(codey._batch._files.os, "fsync", counted)
        monkeypatch.setattr(codey._batch._streamed, "SYNC_INTERVAL", 0.05)
        out = tmp_path / "out.jsonl"
        summary = codey.batch(
            [f"p{i}" for i in range(120)], out, parallel=8, **kwargs_for(fake, "openai")
        )
        assert (summary.done, summary.failed) == (120, 0)
        with open(out, encoding="utf-8") as f:
            assert sum(1 for _ in f) == 120  # one record per line, none twice
        assert sorted(codey.read_batch_output(out)) == sorted(str(i + 1) for i in range(120))
        gaps = [later - earlier for earlier, later in zip(calls, calls[1:])]
        assert len(calls) < 120
        assert min(gaps, default=1.0) >= 0.04  # a little slack for the clock's reading
