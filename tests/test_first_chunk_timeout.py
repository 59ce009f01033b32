"""``first_chunk_timeout``: a model may think in silence before its first content."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Optional

import pytest

import codey
from codey import _request
from codey._stream import worker_thread
from codey.testing import (
    Comment,
    Done,
    FakeProvider,
    Finish,
    Ping,
    Reasoning,
    Stall,
    Step,
    Text,
    Think,
    ToolCall,
    answer,
    error,
    events,
)
from tests.conftest import FAKE_KEY
from tests.helpers import fake_base_url, kwargs_for

#: Every wire format: Chat Completions, Messages, the Responses API.
PROVIDERS = ["openai", "anthropic", "openai-responses"]


def first_chunk_error(info: pytest.ExceptionInfo[codey.ChunkTimeoutError], seconds: float) -> None:
    """The error says which timeout ran out, how long it was, and how to raise it."""
    message = str(info.value)
    assert f"sent no content for {seconds} s" in message
    assert "first_chunk_timeout" in message
    assert "--first-chunk-timeout" in message


class TestThinking:
    @pytest.mark.parametrize("provider", PROVIDERS)
    @pytest.mark.parametrize("first", [None, 3.0])
    def test_silence_past_chunk_timeout_before_the_first_content(
        self, fake: FakeProvider, provider: str, first: Optional[float]
    ) -> None:
        """A reasoning model silent for longer than chunk_timeout (by the table's
        default, or an explicit first_chunk_timeout) answers."""
        fake.push(answer("Hel", "lo", think=0.6))
        model = {"openai": "o3", "anthropic": "claude-sonnet-4-0", "openai-responses": "o3-pro"}
        options: dict[str, Any] = {"chunk_timeout": 0.2, "model": model[provider]}
        if first is not None:
            options["first_chunk_timeout"] = first
        assert codey.complete("hi", **kwargs_for(fake, provider, **options)) == "Hello"

    @pytest.mark.parametrize("provider", PROVIDERS)
    def test_silence_past_first_chunk_timeout(self, fake: FakeProvider, provider: str) -> None:
        """Past first_chunk_timeout it is a ChunkTimeoutError that names it."""
        fake.push(events(Stall()))
        stream = codey.stream(
            "hi", **kwargs_for(fake, provider, chunk_timeout=5.0, first_chunk_timeout=0.3)
        )
        started = time.monotonic()
        with pytest.raises(codey.ChunkTimeoutError) as info:
            list(stream)
        assert 0.25 <= time.monotonic() - started < 2.0
        first_chunk_error(info, 0.3)
        assert len(fake.requests) == 1  # a timeout is never retried

    @pytest.mark.parametrize(
        "content", [Text("a"), Reasoning("hmm"), ToolCall(name="look", arguments="{")]
    )
    def test_chunk_timeout_after_the_first_content(self, fake: FakeProvider, content: Step) -> None:
        """Text, reasoning and a tool call are content: then chunk_timeout applies."""
        fake.push(events(content, Stall()))
        stream = codey.stream(
            "hi", **kwargs_for(fake, "anthropic", chunk_timeout=0.3, first_chunk_timeout=5.0)
        )
        started = time.monotonic()
        with pytest.raises(codey.ChunkTimeoutError) as info:
            list(stream.events())
        assert 0.25 <= time.monotonic() - started < 2.0
        assert str(info.value) == "anthropic sent nothing for 0.3 s (chunk_timeout)"

    @pytest.mark.parametrize("provider", PROVIDERS)
    def test_pings_reset_the_clock_but_are_no_content(
        self, fake: FakeProvider, provider: str
    ) -> None:
        """Keep-alives during the thinking keep it alive; they do not end it."""
        fake.push(answer("ok", think=1.2, keepalive=0.1))
        options = kwargs_for(fake, provider, chunk_timeout=5.0, first_chunk_timeout=0.4)
        assert codey.complete("hi", **options) == "ok"
        fake.push(events(Ping(), Comment(), Ping(), Stall()))
        with pytest.raises(codey.ChunkTimeoutError) as info:
            codey.complete("hi", **options)
        first_chunk_error(info, 0.4)

    def test_none_is_no_limit(self, fake: FakeProvider) -> None:
        fake.push(answer("ok", think=0.6))
        options = kwargs_for(fake, "openai", chunk_timeout=0.2, first_chunk_timeout=None)
        assert codey.complete("hi", **options) == "ok"

    def test_the_deadline_still_bounds_the_thinking(self, fake: FakeProvider) -> None:
        fake.push(events(Stall()))
        options = kwargs_for(fake, "openai", first_chunk_timeout=None, deadline=0.4)
        started = time.monotonic()
        with pytest.raises(codey.DeadlineExceededError):
            codey.complete("hi", **options)
        assert time.monotonic() - started < 2.0

    def test_a_fallback_that_reasons_gets_its_own(
        self, fake: FakeProvider, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Each model has its own default: gpt-4.1 fails, o3 thinks past chunk_timeout."""
        monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", fake_base_url(fake, "openai"))
        fake.push(error(500))
        fake.push(answer("thought", think=0.6))
        options = kwargs_for(fake, "openai", chunk_timeout=0.2, retries=0, fallbacks=["o3"])
        with codey.stream("hi", **options) as stream:
            assert "".join(stream) == "thought"
            assert stream.model == "o3"

    def test_a_bad_value(self, fake: FakeProvider) -> None:
        with pytest.raises(ValueError, match="first_chunk_timeout must be a positive number"):
            codey.stream("hi", **kwargs_for(fake, "openai", first_chunk_timeout=0))
        assert fake.requests == []


class TestDefault:
    """The default comes from the model table: the resolved value, not wall time."""

    @pytest.mark.parametrize(
        ("model", "chunk_timeout", "expected"),
        [
            ("gpt-4.1", 15.0, 15.0),  # answers at once: chunk_timeout
            ("grok-4.20-non-reasoning", 7.0, 7.0),
            ("o3", 15.0, 600.0),  # reasons: ten minutes (docs/library.rst says why)
            ("claude-sonnet-4-0", 15.0, 600.0),
            ("grok-4.3", 15.0, 600.0),
            ("o3", 900.0, 900.0),  # never shorter than chunk_timeout
            ("o3", None, None),  # no limit after the first content: none before it
            ("openai:gpt-nonesuch", 15.0, 15.0),  # the table does not say it reasons
        ],
    )
    def test_from_the_table(
        self, model: str, chunk_timeout: Optional[float], expected: Optional[float]
    ) -> None:
        [target] = _request.targets(model, key="sk-test", url="http://127.0.0.1:9")
        assert _request.first_chunk_timeout_for(target, "auto", chunk_timeout) == expected
        assert _request.first_chunk_timeout_for(target, 42, chunk_timeout) == 42.0
        assert _request.first_chunk_timeout_for(target, None, chunk_timeout) is None

    def test_the_keyword_defaults_to_the_table(self) -> None:
        import inspect

        parameter = inspect.signature(codey.stream).parameters["first_chunk_timeout"]
        assert parameter.default == "auto"


class TestInAWorkerThread:
    """In worker_thread() (a batch's workers) the socket's timeouts bound the reads."""

    def test_thinking_past_chunk_timeout(self, fake: FakeProvider) -> None:
        fake.push(answer("ok", think=0.6))
        with worker_thread():
            stream = codey.stream("hi", **kwargs_for(fake, "anthropic", chunk_timeout=0.2))
            assert "".join(stream) == "ok"

    def test_first_chunk_timeout_from_the_socket(self, fake: FakeProvider) -> None:
        fake.push(events(Ping(), Stall()))
        with worker_thread():
            stream = codey.stream(
                "hi", **kwargs_for(fake, "openai", chunk_timeout=5.0, first_chunk_timeout=0.3)
            )
            started = time.monotonic()
            with pytest.raises(codey.ChunkTimeoutError) as info:
                "".join(stream)
        assert 0.25 <= time.monotonic() - started < 2.0
        first_chunk_error(info, 0.3)

    def test_chunk_timeout_from_the_socket_after_the_first_content(
        self, fake: FakeProvider
    ) -> None:
        fake.push(events(Reasoning("hmm"), Stall()))
        with worker_thread():
            stream = codey.stream(
                "hi", **kwargs_for(fake, "openai", chunk_timeout=0.3, first_chunk_timeout=5.0)
            )
            started = time.monotonic()
            with pytest.raises(codey.ChunkTimeoutError) as info:
                "".join(stream)
        assert 0.25 <= time.monotonic() - started < 2.0
        assert "(chunk_timeout)" in str(info.value)

    def test_a_batch_line_and_the_batch(self, fake: FakeProvider, tmp_path: Path) -> None:
        """A line's options and batch()'s keywords take it too."""
        fake.default = events(Stall())
        out = tmp_path / "out.jsonl"
        lines = [{"id": "a", "prompt": "x", "options": {"first_chunk_timeout": 0.3}}]
        codey.batch(lines, str(out), retries=0, **kwargs_for(fake, "openai", chunk_timeout=5.0))
        fake.default = answer("ok", think=0.6)
        again = tmp_path / "again.jsonl"
        options = kwargs_for(fake, "openai", chunk_timeout=0.2, first_chunk_timeout=3.0)
        codey.batch(["y"], str(again), retries=0, **options)
        [line] = [json.loads(text) for text in out.read_text(encoding="utf-8").splitlines()]
        assert line["error"]["type"] == "ChunkTimeoutError"
        assert "sent no content for 0.3 s" in line["error"]["message"]
        [line] = [json.loads(text) for text in again.read_text(encoding="utf-8").splitlines()]
        assert line["text"] == "ok"


class TestTheFake:
    def test_think_sends_nothing_or_pings(self) -> None:
        from codey.testing import Pause, sse_bytes

        assert events(Think(0.5)).steps == (Pause(0.5),)
        pinged = events(Think(0.3, keepalive=0.1), Text("a"), Finish(), Done())
        assert sse_bytes(pinged, "openai").startswith(b": ping\n\n: ping\n\ndata: ")
        assert answer("a", think=2.0).steps[0] == Pause(2.0)
        with pytest.raises(ValueError, match="keepalive"):
            Think(1.0, keepalive=0)
