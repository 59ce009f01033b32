"""Adaptive concurrency for a batch: paced by the rate-limit headers, halved on a 429.

:class:`Limiter` hands out a slot per request. Two things decide when:

- *Concurrency*, AIMD-style under a ceiling (``parallel``): a 429, 503 or 529
  halves it (once per round: only a request started after the last halving
  can halve it again) and holds every new start for 1.5 times the
  ``Retry-After`` (the engine's own retries, which wait it out, go first);
  each ``concurrency`` clean completions in a row grow it by one.
- *Pacing*, from the headers that say what is left (OpenAI and xAI
  ``x-ratelimit-{remaining,limit,reset}-{requests,tokens}``, Anthropic
  ``anthropic-ratelimit-{requests,tokens}-{remaining,limit,reset}``): the
  limiter keeps a picture of each of the server's buckets (what remains, less
  what was started since the server said so, refilled at the rate that the
  limit and the reset time imply) and starts a request only when the picture
  says it fits, so a batch runs at the server's rate instead of into its 429s.

The first request goes alone, until its response began (or, when the
headers show a token limit, until it ended and so told what a request
costs): a batch does not open with a burst into a limit it has not yet seen.
Without rate-limit headers, and without 429s, it is then a plain semaphore
of ``parallel``.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from time import monotonic
from typing import Callable, Optional

from codey._retry import MAX_RETRY_AFTER, parse_retry_after

__all__ = ["Limiter", "Quota", "Ticket", "parse_reset", "read_quotas"]

#: Statuses that mean "too much, slow down": rate limited, unavailable, overloaded.
PRESSURE = frozenset({429, 503, 529})
#: The hold after a pressure status without ``Retry-After`` or a reset time, in seconds.
DEFAULT_HOLD = 0.5
#: New starts after a "slow down" wait this many times its ``Retry-After``.
NEW_AFTER_RETRIES = 1.5
#: How long to wait before a probe when a bucket is empty and nothing says when it refills.
PROBE_WAIT = 1.0
#: The weight of the newest request in the running mean of tokens per request.
_TOKEN_WEIGHT = 0.2

_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(h|ms|us|µs|ns|m|s)")
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_FRACTION = re.compile(r"\.(\d+)")


class Quota:
    """What one rate-limit bucket has left, as one response's headers say."""

    __slots__ = ("limit", "remaining", "reset")

    def __init__(
        self, remaining: float, limit: Optional[float] = None, reset: Optional[float] = None
    ) -> None:
        self.remaining = remaining
        #: The bucket's size, if given.
        self.limit = limit
        #: Seconds until the bucket is full again, if given.
        self.reset = reset

    def __repr__(self) -> str:
        return f"Quota(remaining={self.remaining}, limit={self.limit}, reset={self.reset})"


def parse_reset(value: str, now: Optional[float] = None) -> Optional[float]:
    """Seconds from a reset header: a duration (``1s``, ``6m0s``, ``20ms``, ``0.5``) or an
    RFC 3339 time (Anthropic's ``2025-01-01T00:00:30Z``); None if unreadable."""
    text = value.strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    parts = _DURATION.findall(text)
    if parts and "".join(number + unit for number, unit in parts) == text:
        return sum(float(number) * _UNIT[unit] for number, unit in parts)
    # Python 3.9's fromisoformat takes no "Z" and only 3 or 6 digits of fraction.
    iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
    iso = _FRACTION.sub(lambda match: "." + (match.group(1) + "000000")[:6], iso, count=1)
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _number(value: Optional[str]) -> Optional[float]:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if number >= 0 else None


def read_quotas(headers: Mapping[str, str]) -> dict[str, Quota]:
    """The ``requests`` and ``tokens`` quotas a response's headers report (either may be absent)."""
    quotas = {}
    for name in ("requests", "tokens"):
        for remaining, limit, reset in (
            (
                f"x-ratelimit-remaining-{name}",
                f"x-ratelimit-limit-{name}",
                f"x-ratelimit-reset-{name}",
            ),
            (
                f"anthropic-ratelimit-{name}-remaining",
                f"anthropic-ratelimit-{name}-limit",
                f"anthropic-ratelimit-{name}-reset",
            ),
        ):
            left = _number(headers.get(remaining))
            if left is None:
                continue
            when = headers.get(reset)
            quotas[name] = Quota(
                left, _number(headers.get(limit)), None if when is None else parse_reset(when)
            )
            break
    return quotas


class _Bucket:
    """The limiter's picture of one of the server's buckets (None: nothing known, no limit)."""

    __slots__ = ("at", "capacity", "level", "news", "rate", "reset_at")

    def __init__(self) -> None:
        self.level: Optional[float] = None
        self.capacity: Optional[float] = None
        #: Refill per second, from the limit and the reset time.
        self.rate: Optional[float] = None
        self.reset_at: Optional[float] = None
        self.at = 0.0
        #: The ticket number of the newest response applied: older news is ignored.
        self.news = -1

    def refill(self, now: float) -> None:
        level = self.level
        if level is None:
            return
        if self.rate:
            level += self.rate * (now - self.at)
        elif self.reset_at is not None and now >= self.reset_at:
            level = max(level, self.capacity or 1.0)  # the reset passed: assume it is full
            self.reset_at = None
        if self.capacity is not None:
            level = min(level, self.capacity)
        self.level = level
        self.at = now

    def update(self, quota: Quota, uncounted: float, now: float, news: int) -> None:
        if news < self.news:
            return
        self.news = news
        if quota.limit:
            self.capacity = quota.limit
            if quota.reset and quota.limit > quota.remaining:
                self.rate = (quota.limit - quota.remaining) / quota.reset
        self.reset_at = None if quota.reset is None else now + quota.reset
        # What the server had left when it answered, less what started since.
        self.level = quota.remaining - uncounted
        self.at = now

    def wait(self, cost: float, now: float) -> float:
        """Seconds until ``cost`` fits (0: it fits now)."""
        if self.level is None or cost <= 0:
            return 0.0
        self.refill(now)
        assert self.level is not None
        if self.capacity is not None:
            cost = min(cost, self.capacity)  # larger than the bucket: wait until it is full
        if self.level >= cost:
            return 0.0
        if self.rate:
            return (cost - self.level) / self.rate
        if self.reset_at is not None:
            return max(0.0, self.reset_at - now)
        self.reset_at = now + PROBE_WAIT  # nothing says when: try one again after a while
        return PROBE_WAIT

    def take(self, cost: float) -> None:
        if self.level is not None:
            self.level -= cost


class Ticket:
    """One request's slot: give it back with :meth:`Limiter.release`."""

    __slots__ = ("number", "throttled")

    def __init__(self, number: int) -> None:
        self.number = number
        #: Whether a response to this request said "slow down" (429, 503, 529).
        self.throttled = False


class Limiter:
    """Slots for requests, at most ``ceiling`` at once; see the module docs. Thread-safe."""

    def __init__(self, ceiling: int, *, clock: Callable[[], float] = monotonic) -> None:
        if not isinstance(ceiling, int) or isinstance(ceiling, bool) or ceiling < 1:
            raise ValueError(f"parallel must be a positive int, not {ceiling!r}")
        self.ceiling = ceiling
        self._clock = clock
        self._cond = threading.Condition()
        self._limit = float(ceiling)
        self._active = 0
        self._resume_at = 0.0
        #: The number of the last ticket issued when concurrency was last halved.
        self._last_decrease = 0
        self._clean = 0
        self._issued = 0
        self._closed = False
        self._probing = True
        #: Tickets whose request may not have reached the server yet (no response seen).
        self._unanswered: set[int] = set()
        self._buckets = {"requests": _Bucket(), "tokens": _Bucket()}
        #: The running mean of tokens per request (input and output), once one completed.
        self._tokens_per_request = 0.0
        #: How many responses said "slow down" (429, 503, 529).
        self.throttled = 0

    @property
    def concurrency(self) -> int:
        """How many requests may run at once now (between 1 and the ceiling)."""
        return int(self._limit)

    @property
    def active(self) -> int:
        """How many slots are out."""
        return self._active

    def acquire(self) -> Optional[Ticket]:
        """Wait for a slot; None once :meth:`close` was called."""
        with self._cond:
            while True:
                if self._closed:
                    return None
                now = self._clock()
                wait = self._resume_at - now
                if wait <= 0:
                    if self._active >= (1 if self._probing else int(self._limit)):
                        self._cond.wait()
                        continue
                    wait = max(
                        self._buckets["requests"].wait(1.0, now),
                        self._buckets["tokens"].wait(self._tokens_per_request, now),
                    )
                    if wait <= 0:
                        break
                self._cond.wait(wait)
            self._active += 1
            self._issued += 1
            self._unanswered.add(self._issued)
            self._buckets["requests"].take(1.0)
            self._buckets["tokens"].take(self._tokens_per_request)
            return Ticket(self._issued)

    def observe(self, ticket: Ticket, status: int, headers: Mapping[str, str]) -> None:
        """A response to ``ticket``'s request began (any attempt): learn from it."""
        quotas = read_quotas(headers)
        with self._cond:
            now = self._clock()
            number = ticket.number
            self._unanswered.discard(number)
            # What the server may not have counted yet: every request started after
            # this one, and those started before it that have no response yet.
            uncounted = self._issued - number + sum(1 for n in self._unanswered if n < number)
            for name, quota in quotas.items():
                cost = 1.0 if name == "requests" else self._tokens_per_request
                self._buckets[name].update(quota, uncounted * cost, now, number)
            opened = self._probing and status < 300 and "tokens" not in quotas
            if opened:
                self._probing = False
            if status in PRESSURE:
                ticket.throttled = True
                self.throttled += 1
                # The engine will send it again: count that request now.
                self._unanswered.add(number)
                self._buckets["requests"].take(1.0)
                self._buckets["tokens"].take(self._tokens_per_request)
                if number > self._last_decrease:  # sent after the last halving
                    self._limit = max(1.0, self._limit / 2)
                    self._last_decrease = self._issued
                    self._clean = 0
                hold = parse_retry_after(headers)
                if hold is None or hold > MAX_RETRY_AFTER:
                    resets = [q.reset for q in quotas.values() if q.remaining < 1 and q.reset]
                    hold = min(max(resets), MAX_RETRY_AFTER) if resets else DEFAULT_HOLD
                # New requests wait longer than the engine's retries of those already
                # told to wait, so that the first tokens back go to those retries.
                self._resume_at = max(self._resume_at, now + hold * NEW_AFTER_RETRIES)
            if opened:
                self._cond.notify_all()
            else:
                self._cond.notify()  # the picture may allow a start now

    def release(self, ticket: Ticket, tokens: Optional[int] = None) -> None:
        """The request ended; ``tokens`` is what it used (input and output), if known."""
        with self._cond:
            self._active -= 1
            self._unanswered.discard(ticket.number)
            opened = self._probing
            self._probing = False
            if tokens:
                mean = self._tokens_per_request
                self._tokens_per_request = (
                    float(tokens) if not mean else mean + _TOKEN_WEIGHT * (tokens - mean)
                )
            if not ticket.throttled:
                self._clean += 1
                if self._clean >= int(self._limit) and self._limit < self.ceiling:
                    self._limit = min(float(self.ceiling), self._limit + 1)
                    self._clean = 0
            if opened:
                self._cond.notify_all()
            else:
                # One slot is free (two, when it grew); waking every waiter would cost
                # a thread switch each, per request.
                self._cond.notify(2)

    def close(self) -> None:
        """Wake every waiter with None: the batch is stopping."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
