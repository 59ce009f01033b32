"""A rate-limited provider for tests: a FakeProvider responder with token buckets.

Like the real services, it counts each request when it arrives: a request
per request and its tokens (input and output) per tokens, in two buckets that
refill continuously. A request that does not fit gets a 429 with
``Retry-After`` and ``retry-after-ms`` (OpenAI sends both) and the
rate-limit headers; one that fits gets its answer and the headers saying what
is left, in OpenAI's form (``x-ratelimit-*``, reset as a duration) or
Anthropic's (``anthropic-ratelimit-*``, reset as an RFC 3339 time), or none
at all (``style="none"``: only the 429s tell).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from time import monotonic
from typing import Optional

from codey.testing import RecordedRequest, Reply, answer, error

#: What each answer costs: (input tokens, output tokens).
USAGE = (10, 5)


class Bucket:
    def __init__(self, rate: float, capacity: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.level = capacity
        self.at = monotonic()

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + self.rate * (now - self.at))
        self.at = now

    def wait(self, cost: float) -> float:
        return max(0.0, (cost - self.level) / self.rate)

    def reset(self) -> float:
        """Seconds until full."""
        return (self.capacity - self.level) / self.rate


class RateLimited:
    """``fake.responder = RateLimited(...)``: requests and tokens per second, with bursts.

    ``accepted`` and ``rejected`` count the answers and the 429s; each answer
    waits ``hold`` seconds before its text (a model's time to first token).
    """

    def __init__(
        self,
        requests_per_second: float,
        request_burst: int,
        tokens_per_second: Optional[float] = None,
        token_burst: Optional[int] = None,
        *,
        style: str = "openai",
        hold: float = 0.0,
    ) -> None:
        self.requests = Bucket(requests_per_second, request_burst)
        self.tokens = (
            None
            if tokens_per_second is None
            else Bucket(tokens_per_second, token_burst or tokens_per_second)
        )
        self.style = style
        self.hold = hold
        self.accepted = 0
        self.rejected = 0
        self._lock = threading.Lock()

    def __call__(self, request: RecordedRequest) -> Reply:
        cost = sum(USAGE)
        with self._lock:
            now = monotonic()
            self.requests.refill(now)
            wait = self.requests.wait(1)
            if self.tokens is not None:
                self.tokens.refill(now)
                wait = max(wait, self.tokens.wait(cost))
            if wait > 0:
                # As a real server, no finer than the time one request's token takes.
                wait = max(wait, 1 / self.requests.rate)
                self.rejected += 1
                return error(
                    429,
                    "Rate limit reached for requests",
                    retry_after=max(1, round(wait)),
                    retry_after_ms=round(wait * 1000, 1),
                    headers=self._headers(),
                )
            self.requests.level -= 1
            if self.tokens is not None:
                self.tokens.level -= cost
            self.accepted += 1
            headers = self._headers()
        text = request.json["messages"][-1]["content"] if request.json else ""
        steps = answer("echo: ", text, usage=USAGE, headers=headers)
        if self.hold:
            from codey.testing import Pause

            steps = steps.evolve(steps=(Pause(self.hold), *steps.steps))
        return steps

    def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.style == "none":
            return headers
        buckets = {"requests": self.requests, "tokens": self.tokens}
        for name, bucket in buckets.items():
            if bucket is None:
                continue
            remaining = str(int(bucket.level))
            limit = str(int(bucket.capacity))
            if self.style == "anthropic":
                when = datetime.fromtimestamp(time.time() + bucket.reset(), timezone.utc)
                headers[f"anthropic-ratelimit-{name}-remaining"] = remaining
                headers[f"anthropic-ratelimit-{name}-limit"] = limit
                headers[f"anthropic-ratelimit-{name}-reset"] = when.isoformat(
                    timespec="milliseconds"
                ).replace("+00:00", "Z")
            else:
                headers[f"x-ratelimit-remaining-{name}"] = remaining
                headers[f"x-ratelimit-limit-{name}"] = limit
                headers[f"x-ratelimit-reset-{name}"] = f"{bucket.reset() * 1000:.0f}ms"
        return headers
