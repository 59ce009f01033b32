"""Rate limits: the response headers reach the caller, and a batch keeps to a server's buckets."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

import codey
from codey._batch import DEFAULT_RETRIES
from codey._batch._limiter import Limiter, parse_reset, read_quotas
from codey.testing import FakeProvider, answer, error
from tests.buckets import RateLimited
from tests.helpers import kwargs_for


class TestResponseHeaders:
    def test_the_headers_of_the_answer(self, fake: FakeProvider) -> None:
        fake.push(answer("hi", headers={"x-ratelimit-remaining-requests": "7"}))
        stream = codey.stream("hi", **kwargs_for(fake, "openai"))
        assert "".join(stream) == "hi"
        headers = stream.response_headers
        assert headers is not None
        assert headers["X-RateLimit-Remaining-Requests"] == "7"  # any case
        assert stream.response_status == 200
        with pytest.raises(TypeError):
            headers["x-ratelimit-remaining-requests"] = "0"  # type: ignore[index]

    def test_each_attempt_is_reported_retried_ones_too(self, fake: FakeProvider) -> None:
        fake.push(error(429, retry_after=0, headers={"x-ratelimit-remaining-requests": "0"}))
        fake.push(answer("ok", headers={"x-ratelimit-remaining-requests": "9"}))
        seen: list[tuple[int, str]] = []

        def hook(status: int, headers: Any) -> None:
            seen.append((status, headers["x-ratelimit-remaining-requests"]))

        stream = codey.stream("hi", on_response=hook, **kwargs_for(fake, "openai"))
        assert "".join(stream) == "ok"
        assert seen == [(429, "0"), (200, "9")]
        assert stream.response_status == 200

    def test_a_hook_that_raises_ends_the_stream_with_its_error(self, fake: FakeProvider) -> None:
        fake.push(answer("never seen"))

        def hook(status: int, headers: Any) -> None:
            raise RuntimeError("the hook broke")

        stream = codey.stream("hi", on_response=hook, **kwargs_for(fake, "openai"))
        with pytest.raises(RuntimeError, match="the hook broke"):
            "".join(stream)
        assert stream.text == ""

    def test_no_response_no_headers(self) -> None:
        stream = codey.stream(
            "hi", model="gpt-4.1", api_key="k", base_url="http://127.0.0.1:9", retries=0
        )
        with pytest.raises(codey.NetworkError):
            "".join(stream)
        assert stream.response_headers is None
        assert stream.response_status is None


class TestHeaders:
    @pytest.mark.parametrize(
        ("text", "seconds"),
        [
            ("1s", 1.0),
            ("6m0s", 360.0),
            ("20ms", 0.02),
            ("1m30.5s", 90.5),
            ("1h", 3600.0),
            ("0.25", 0.25),
            ("17.5ms", 0.0175),
        ],
    )
    def test_durations(self, text: str, seconds: float) -> None:
        assert parse_reset(text) == pytest.approx(seconds)

    def test_an_rfc3339_time(self) -> None:
        assert parse_reset("2030-01-01T00:00:30Z", now=1893456000.0) == pytest.approx(30.0)
        assert parse_reset("2030-01-01T00:00:30.5Z", now=1893456000.0) == pytest.approx(30.5)
        assert parse_reset("2030-01-01T00:00:30.123456789Z", now=1893456000.0) == pytest.approx(
            30.123456
        )
        assert parse_reset("2000-01-01T00:00:00Z") == 0.0  # in the past: now

    @pytest.mark.parametrize("text", ["", "soon", "5 parsecs", "1s2"])
    def test_unreadable(self, text: str) -> None:
        assert parse_reset(text) is None

    def test_openai_quotas(self) -> None:
        quotas = read_quotas(
            {
                "x-ratelimit-remaining-requests": "59",
                "x-ratelimit-limit-requests": "60",
                "x-ratelimit-reset-requests": "1s",
                "x-ratelimit-remaining-tokens": "149984",
            }
        )
        requests = quotas["requests"]
        assert (requests.remaining, requests.limit, requests.reset) == (59, 60, 1.0)
        tokens = quotas["tokens"]
        assert (tokens.remaining, tokens.limit, tokens.reset) == (149984, None, None)

    def test_anthropic_quotas(self) -> None:
        quotas = read_quotas(
            {
                "anthropic-ratelimit-requests-remaining": "3",
                "anthropic-ratelimit-requests-limit": "50",
            }
        )
        assert quotas["requests"].remaining == 3
        assert quotas["requests"].limit == 50
        assert "tokens" not in quotas

    def test_nonsense_is_no_quota(self) -> None:
        assert read_quotas({"x-ratelimit-remaining-requests": "lots"}) == {}
        assert read_quotas({}) == {}


class TestLimiter:
    """The arithmetic alone, on a clock that only moves when told."""

    def test_a_429_halves_once_per_round_and_clean_completions_grow_it(self) -> None:
        now = [100.0]
        limiter = Limiter(8, clock=lambda: now[0])
        first = limiter.acquire()
        assert first is not None
        limiter.observe(first, 200, {})  # no limits: the probe is over
        tickets = [limiter.acquire() for _ in range(7)]
        assert limiter.active == 8
        limiter.observe(tickets[0], 429, {"retry-after": "0"})  # type: ignore[arg-type]
        assert limiter.concurrency == 4
        # The others were sent before the halving: they do not halve it again.
        limiter.observe(tickets[1], 429, {"retry-after": "0"})  # type: ignore[arg-type]
        assert limiter.concurrency == 4
        assert limiter.throttled == 2
        for ticket in [first, *tickets]:
            limiter.release(ticket)  # type: ignore[arg-type]
        # Six clean completions: one round of four grew it to 5.
        assert limiter.concurrency == 5
        again = limiter.acquire()
        assert again is not None
        limiter.observe(again, 529, {})
        assert limiter.concurrency == 2  # a request sent after the halving halves it again

    def test_never_below_one_nor_above_the_ceiling(self) -> None:
        limiter = Limiter(2)
        for _ in range(5):
            ticket = limiter.acquire()
            assert ticket is not None
            limiter.observe(ticket, 429, {"retry-after": "0"})
            limiter.release(ticket)
        assert limiter.concurrency == 1
        for _ in range(20):
            ticket = limiter.acquire()
            assert ticket is not None
            limiter.release(ticket)
        assert limiter.concurrency == 2

    def test_an_empty_bucket_holds_the_next_start_until_it_refills(self) -> None:
        limiter = Limiter(4)
        ticket = limiter.acquire()
        assert ticket is not None
        # Nothing left; full again in 0.2 s at 5 per second: one fits in 0.2 s.
        limiter.observe(
            ticket,
            200,
            {
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-limit-requests": "1",
                "x-ratelimit-reset-requests": "200ms",
            },
        )
        limiter.release(ticket)
        started = time.monotonic()
        ticket = limiter.acquire()
        waited = time.monotonic() - started
        assert ticket is not None
        limiter.release(ticket)
        assert 0.15 < waited < 2.0

    def test_close_wakes_the_waiters(self) -> None:
        limiter = Limiter(1)
        held = limiter.acquire()
        assert held is not None
        limiter.close()
        assert limiter.acquire() is None

    @pytest.mark.parametrize("bad", [0, -1, 1.5, True, "4"])
    def test_parallel_must_be_a_positive_int(self, bad: Any) -> None:
        with pytest.raises(ValueError, match="parallel"):
            Limiter(bad)


PROMPTS = [f"prompt {i}" for i in range(200)]


@pytest.mark.parametrize(
    ("style", "provider"), [("openai", "openai"), ("anthropic", "anthropic"), ("openai", "xai")]
)
def test_a_batch_keeps_to_the_servers_buckets(
    fake: FakeProvider, tmp_path: Path, style: str, provider: str
) -> None:
    """200 prompts, 16 at once, against 100 requests/s (bursts of 10) and 1500 tokens/s
    (bursts of 150, ten answers): every line done, and the headers keep the 429s rare.
    Without them, 16 threads would get a 429 for most requests (see the next test)."""
    buckets = RateLimited(100, 10, 1500, 150, style=style, hold=0.01)
    fake.responder = buckets
    summary = codey.batch(
        PROMPTS, tmp_path / "out.jsonl", parallel=16, **kwargs_for(fake, provider)
    )
    assert (summary.done, summary.failed) == (200, 0)
    assert buckets.accepted == 200
    requests = buckets.accepted + buckets.rejected
    assert buckets.rejected < 0.1 * requests, buckets.rejected
    assert summary.throttled == buckets.rejected
    state = codey.read_batch_output(tmp_path / "out.jsonl")
    assert sorted(state, key=int) == [str(i) for i in range(1, 201)]
    assert state["7"]["text"] == "echo: prompt 6"


def test_only_429s_to_go_by_concurrency_halves_and_every_line_ends_well(
    fake: FakeProvider, tmp_path: Path
) -> None:
    """No rate-limit headers: the 429s and their Retry-After alone slow the batch down."""
    buckets = RateLimited(200, 5, style="none", hold=0.01)
    fake.responder = buckets
    lowest: list[int] = []
    summary = codey.batch(
        PROMPTS[:100],
        tmp_path / "out.jsonl",
        parallel=16,
        retries=8,
        on_progress=lambda progress: lowest.append(progress.concurrency),
        **kwargs_for(fake, "openai"),
    )
    assert (summary.done, summary.failed) == (100, 0)
    assert buckets.rejected > 0  # the test has teeth: the server did push back
    assert summary.throttled == buckets.rejected
    assert min(lowest) < 16
    assert summary.retries == buckets.rejected  # each 429 retried by the engine, before text


def test_a_plain_thread_pool_loses_lines_to_the_same_buckets(fake: FakeProvider) -> None:
    """The comparison the batch is measured against: the same server, 16 threads, the
    same retries, no limiter."""
    from concurrent.futures import ThreadPoolExecutor

    buckets = RateLimited(100, 10, 1500, 150, hold=0.01)
    fake.responder = buckets

    def one(prompt: str) -> bool:
        try:
            codey.complete(prompt, retries=DEFAULT_RETRIES, **kwargs_for(fake, "openai"))
        except codey.RateLimitError:
            return False
        return True

    with ThreadPoolExecutor(16) as pool:
        succeeded = sum(pool.map(one, PROMPTS[:100]))
    assert buckets.rejected > 0.3 * (buckets.accepted + buckets.rejected)
    assert succeeded < 100
