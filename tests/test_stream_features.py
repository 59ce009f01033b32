"""Beyond the contract: deadlines, typed events, reasoning, timings, many models,
fallbacks and cancelling from anywhere."""

from __future__ import annotations

import threading
import time

import pytest

import codey
from codey.testing import (
    Comment,
    Pause,
    Stall,
    Text,
    ToolCall,
    answer,
    error,
    events,
)
from tests.helpers import MODELS, codey_threads, kwargs_for, wait_until


def keepalive_trickle(seconds: float) -> list[object]:
    steps: list[object] = [Text("start")]
    for _ in range(int(seconds / 0.05)):
        steps += [Pause(0.05), Comment("keep-alive")]
    return steps


class TestDeadline:
    def test_deadline_beats_a_keepalive_trickle(self, fake):
        """A server trickling keep-alives cannot stretch the call past its deadline."""
        fake.push(events(*keepalive_trickle(5.0)))
        stream = codey.stream("hi", **kwargs_for(fake, "openai", chunk_timeout=1.0, deadline=0.5))
        started = time.monotonic()
        with pytest.raises(codey.DeadlineExceededError) as info:
            list(stream)
        late = time.monotonic() - started
        assert 0.4 <= late < 1.0
        assert isinstance(info.value, TimeoutError)
        assert info.value.partial_text == "start"
        assert fake.requests[-1].disconnected.wait(1.0)

    def test_deadline_covers_retry_waits(self, fake):
        """The deadline bounds retry waits too: a long Retry-After does not outlive it."""
        fake.push(error(429, "busy", retry_after=30))
        started = time.monotonic()
        with pytest.raises(codey.DeadlineExceededError):
            codey.complete(
                "hi", **kwargs_for(fake, "anthropic", deadline=0.3, connect_timeout=None)
            )
        assert time.monotonic() - started < 1.0

    def test_complete_within_deadline(self, fake):
        fake.push(answer("quick"))
        assert codey.complete("hi", **kwargs_for(fake, "xai", deadline=5)) == "quick"


class TestEvents:
    @pytest.mark.parametrize("provider", sorted(MODELS))
    def test_typed_events_in_order(self, fake, provider):
        """events() yields reasoning, text, tool calls and usage in order, then one Finish."""
        fake.push(
            answer(
                "Paris",
                ".",
                reasoning=("capital of", " France?"),
                tool_calls=(ToolCall(0, "call_1", "lookup", ['{"q":', ' "x"}']),),
                usage=(11, 22),
            )
        )
        with codey.stream("hi", **kwargs_for(fake, provider)) as stream:
            got = list(stream.events())
        kinds = [type(e).__name__ for e in got]
        assert kinds[-1] == "Finish"
        assert kinds.count("Finish") == 1
        texts = [e.text for e in got if isinstance(e, codey.TextDelta)]
        thoughts = [e.text for e in got if isinstance(e, codey.ReasoningDelta)]
        assert texts == ["Paris", "."]
        assert thoughts == ["capital of", " France?"]
        assert kinds.index("ReasoningDelta") < kinds.index("TextDelta")
        calls = [e for e in got if isinstance(e, codey.ToolCallDelta)]
        assert calls[0].name == "lookup"
        assert "".join(c.arguments for c in calls) == '{"q": "x"}'
        usage = [e for e in got if isinstance(e, codey.Usage)]  # one per answer, the final count
        assert [(u.input_tokens, u.output_tokens) for u in usage] == [(11, 22)]
        assert stream.reasoning == "capital of France?"
        assert stream.text == "Paris."
        assert got[-1].reason == stream.finish_reason

    def test_iteration_still_yields_text_only(self, fake):
        fake.push(answer("a", reasoning=("hmm",)))
        with codey.stream("hi", **kwargs_for(fake, "xai")) as stream:
            assert list(stream) == ["a"]
            assert stream.reasoning == "hmm"

    def test_events_raise_errors_too(self, fake):
        fake.push(events(Text("a"), Stall()))
        stream = codey.stream("hi", **kwargs_for(fake, "openai", chunk_timeout=0.2))
        got = []
        with pytest.raises(codey.ChunkTimeoutError):
            for event in stream.events():
                got.append(event)
        assert got == [codey.TextDelta("a")]


class TestReasoningOptions:
    def test_reasoning_effort_for_openai_style(self, fake):
        fake.push(answer("ok"), answer("ok"))
        codey.complete("hi", **kwargs_for(fake, "openai", model="o3", reasoning_effort="high"))
        assert fake.requests[-1].json["reasoning_effort"] == "high"
        codey.complete("hi", **kwargs_for(fake, "xai", reasoning_effort="low"))
        assert fake.requests[-1].json["reasoning_effort"] == "low"

    def test_thinking_budget_for_anthropic(self, fake):
        fake.push(answer("ok"))
        codey.complete("hi", **kwargs_for(fake, "anthropic", thinking_budget=2048))
        body = fake.requests[-1].json
        assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}
        assert body["max_tokens"] > 2048

    @pytest.mark.parametrize(
        ("provider", "options", "words"),
        [
            ("anthropic", {"reasoning_effort": "minimal"}, "takes effort none, low, medium"),
            ("openai", {"thinking_budget": 2048}, "drop thinking_budget="),
            ("xai", {"thinking_budget": 2048}, "effort="),
            ("anthropic", {"thinking_budget": 10}, "at least 1024"),
            ("anthropic", {"thinking_budget": 2048, "max_tokens": 1000}, "larger"),
        ],
    )
    def test_unsupported_options_are_clear_errors(self, fake, provider, options, words):
        """Each provider rejects what it cannot do, at once, before any request."""
        with pytest.raises(codey.UnsupportedOptionError, match=words):
            codey.stream("hi", **kwargs_for(fake, provider, **options))
        assert fake.requests == []


class TestTimings:
    def test_timings_during_and_after(self, fake):
        fake.push(error(503, "busy", retry_after_ms=50))
        fake.push(events(Text("a"), Pause(0.3), Text("b"), Stall()))
        stream = codey.stream("hi", **kwargs_for(fake, "openai", chunk_timeout=1.0))
        iterator = iter(stream)
        assert next(iterator) == "a"
        during = stream.timings
        assert during.retries == 1
        assert 0.04 <= during.retry_wait <= 0.2
        assert during.to_headers is not None
        assert during.to_first_text is not None
        assert during.to_headers <= during.to_first_text <= during.total
        assert next(iterator) == "b"
        assert stream.timings.longest_gap >= 0.25
        time.sleep(0.2)
        assert stream.timings.idle >= 0.15
        stream.close()
        after = stream.timings
        time.sleep(0.05)
        assert stream.timings.total == pytest.approx(after.total, abs=0.2)


class TestStreamMany:
    def test_pairs_in_arrival_order_and_errors_are_items(self, fake, monkeypatch):
        """Each model streams in parallel; one model's error does not stop the others."""
        for name, value in fake.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("XAI_API_KEY")

        def respond(request):
            if request.provider == "openai":
                return events(Text("o1"), Pause(0.2), Text("o2"), *answer().steps)
            return events(Pause(0.1), Text("a1"), Pause(0.2), Text("a2"), *answer().steps)

        fake.responder = respond
        with codey.stream_many("hi", models=["gpt-4.1", "claude-sonnet-4-0", "grok-4.3"]) as many:
            got = list(many)
        chunks = [(m, c) for m, c in got if isinstance(c, str)]
        assert chunks == [
            ("gpt-4.1", "o1"),
            ("claude-sonnet-4-0", "a1"),
            ("gpt-4.1", "o2"),
            ("claude-sonnet-4-0", "a2"),
        ]
        failures = [(m, c) for m, c in got if isinstance(c, BaseException)]
        assert len(failures) == 1
        assert failures[0][0] == "grok-4.3"
        assert isinstance(failures[0][1], codey.MissingAPIKeyError)
        assert many.streams["gpt-4.1"].text == "o1o2"

    def test_typed_events_and_per_model_options(self, fake, monkeypatch):
        """events=True yields typed events, each model ending with Finish; options go per model."""
        for name, value in fake.env().items():
            monkeypatch.setenv(name, value)
        fake.responder = lambda request: answer("hi from " + str(request.model))
        many = codey.stream_many(
            "hi",
            models=["gpt-4.1", "fast"],
            events=True,
            options={"fast": {"model": "claude-sonnet-4-0", "max_tokens": 77}},
            max_tokens=11,
        )
        with many:
            got = list(many)
        texts = {
            m: "".join(e.text for n, e in got if n == m and isinstance(e, codey.TextDelta))
            for m in ("gpt-4.1", "fast")
        }
        assert texts == {"gpt-4.1": "hi from gpt-4.1", "fast": "hi from claude-sonnet-4-0"}
        for model in ("gpt-4.1", "fast"):
            assert isinstance([e for n, e in got if n == model][-1], codey.Finish)
        sent = {r.provider: r.json for r in fake.requests}
        assert sent["openai"]["max_tokens"] == 11
        assert sent["anthropic"]["max_tokens"] == 77

    def test_close_closes_all(self, fake, monkeypatch):
        for name, value in fake.env().items():
            monkeypatch.setenv(name, value)
        fake.default = events(Text("x"), Stall())
        many = codey.stream_many("hi", models=["gpt-4.1", "claude-sonnet-4-0"])
        iterator = iter(many)
        next(iterator)
        assert fake.wait_for_requests(2)
        iterator.close()
        assert all(r.disconnected.wait(1.0) for r in fake.requests)
        assert wait_until(lambda: not codey_threads(), 1.0)


class TestFallbacks:
    def test_fallback_across_providers(self, fake, monkeypatch):
        """When the primary fails before any text, the next model answers."""
        for name, value in fake.env().items():
            monkeypatch.setenv(name, value)

        def respond(request):
            if request.provider == "openai":
                return error(500, "down", retry_after=0)
            return answer("from claude")

        fake.responder = respond
        stream = codey.stream("hi", model="gpt-4.1", fallbacks=["claude-sonnet-4-0"], retries=1)
        assert "".join(stream) == "from claude"
        assert (stream.model, stream.provider) == ("claude-sonnet-4-0", "anthropic")
        assert [r.provider for r in fake.requests] == ["openai", "openai", "anthropic"]

    def test_all_fail_keeps_every_error(self, fake, monkeypatch):
        for name, value in fake.env().items():
            monkeypatch.setenv(name, value)
        fake.responder = lambda request: error(
            401 if request.provider == "openai" else 429, "no", retry_after=0
        )
        with pytest.raises(codey.RateLimitError) as info:
            codey.complete("hi", model="gpt-4.1", fallbacks=["grok-4.3"], retries=0)
        attempts = info.value.attempts
        assert [model for model, _ in attempts] == ["gpt-4.1", "grok-4.3"]
        assert isinstance(attempts[0][1], codey.AuthenticationError)

    def test_no_fallback_after_text(self, fake, monkeypatch):
        for name, value in fake.env().items():
            monkeypatch.setenv(name, value)
        fake.push(events(Text("half"), __import__("codey.testing").testing.Close()))
        fake.push(answer("never"))
        with pytest.raises(codey.IncompleteStreamError) as info:
            codey.complete("hi", model="gpt-4.1", fallbacks=["claude-sonnet-4-0"])
        assert info.value.partial_text == "half"
        assert len(fake.requests) == 1

    def test_fallback_key_is_checked_at_once(self, fake):
        with pytest.raises(codey.MissingAPIKeyError, match="ANTHROPIC_API_KEY"):
            codey.stream("hi", fallbacks=["claude-sonnet-4-0"], **kwargs_for(fake, "openai"))


class TestCancel:
    def test_close_from_another_thread_ends_a_blocked_loop(self, fake):
        """close() from another thread stops a blocked iteration with a clean end."""
        fake.push(events(Text("a"), Stall()))
        stream = codey.stream("hi", **kwargs_for(fake, "anthropic", chunk_timeout=10))
        got: list[str] = []
        closed_at: list[float] = []
        first = threading.Event()

        def closer() -> None:
            first.wait(5.0)
            closed_at.append(time.monotonic())
            stream.close()

        threading.Thread(target=closer).start()
        for chunk in stream:
            got.append(chunk)
            first.set()
        stopped = time.monotonic()
        assert got == ["a"]
        assert stopped - closed_at[0] < 5.0  # well before the 10 s chunk timeout
        assert stream.cancelled
        assert stream.finish_reason is None
        assert fake.requests[-1].disconnected.wait(1.0)

    def test_cancel_event(self, fake):
        """Setting a cancel Event, from a watchdog, stops the stream and its connection."""
        fake.push(events(Text("a"), Stall()))
        cancel = threading.Event()
        threading.Timer(0.2, cancel.set).start()
        with pytest.raises(codey.CancelledError) as info:
            codey.complete("hi", cancel=cancel, **kwargs_for(fake, "xai", chunk_timeout=10))
        assert info.value.partial_text == "a"
        assert fake.requests[-1].disconnected.wait(1.0)
        assert wait_until(lambda: not codey_threads(), 1.0)

    def test_finished_stream_is_not_cancelled(self, fake):
        fake.push(answer("whole"))
        stream = codey.stream("hi", **kwargs_for(fake, "openai"))
        assert "".join(stream) == "whole"
        assert not stream.cancelled
        assert stream.closed
