"""The one retry loop: a stream's attempts (``_produce``) and a plain call's (``_calls``)."""

from __future__ import annotations

import logging
from time import monotonic
from typing import TYPE_CHECKING, Callable, Optional, TypeVar

from codey._errors import CodeyError
from codey._retry import backoff_delay, is_retryable
from codey._secrets import Redacted

if TYPE_CHECKING:
    from codey._transport._plan import Plan

T = TypeVar("T")

log = logging.getLogger("codey")


def with_retries(
    plan: Plan,
    attempt: Callable[[int], T],
    *,
    may_retry: Callable[[CodeyError], bool],
    pause: Callable[[float, CodeyError], bool],
    connect_by: Optional[float] = None,
) -> Optional[T]:
    """``attempt(number)``'s result, asked again after each failure that may be retried,
    at most ``plan.retries`` times, after a backoff (or the server's ``Retry-After``).

    ``may_retry(error)`` adds the caller's own conditions; ``pause(delay, error)`` waits
    and says whether to go on (False: stopped meanwhile, None is returned); no
    retry is made whose wait would end after ``connect_by`` (monotonic seconds).
    """
    retry = 0
    while True:
        try:
            return attempt(retry + 1)
        except CodeyError as exc:
            if retry >= plan.retries or not is_retryable(exc) or not may_retry(exc):
                raise
            delay = backoff_delay(retry, getattr(exc, "retry_after", None))
            if connect_by is not None and monotonic() + delay >= connect_by:
                raise  # no time left for another attempt within connect_timeout
            log.debug("%s: retrying in %.2f s after: %s", plan.provider.name, delay, Redacted(exc))
            if not pause(delay, exc):
                return None
            retry += 1
