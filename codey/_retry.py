"""The retry policy: what may be retried, how long to wait, what kind a failure was."""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Optional

from codey._errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ChatLogError,
    ChunkTimeoutError,
    CodeyError,
    ConnectTimeoutError,
    DeadlineExceededError,
    IncompleteStreamError,
    InvalidAPIKeyError,
    MissingAPIKeyError,
    MissingBaseURLError,
    NetworkError,
    ProviderBatchError,
    RateLimitError,
    ServerError,
    StreamError,
    UnknownModelError,
    UnsupportedOptionError,
    status_error_class,
)

#: Error-event types that mean "busy or failing, try again" (Anthropic's names).
RETRYABLE_EVENT_TYPES = frozenset({"overloaded_error", "api_error", "rate_limit_error"})
#: Words that mark a Chat Completions or Responses error's type or code as retryable
#: (``too_many_requests``: what a Responses ``error`` event has been seen to say for a 429).
_RETRYABLE_WORDS = (
    "server",
    "overload",
    "rate_limit",
    "internal",
    "unavailable",
    "timeout",
    "too_many_requests",
)

#: The longest ``Retry-After`` honoured, in seconds; longer ones fall back to backoff.
MAX_RETRY_AFTER = 60.0
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0


def is_retryable(exc: BaseException) -> bool:
    """Whether a failure before any text arrived may be retried.

    Only failures that cannot have produced output qualify: connection
    errors, connect timeouts, 408/409/429/5xx/529, a body that broke before
    any text, and busy/failing error events. A chunk timeout is never
    retried: a server that went silent mid-answer is not asked again.
    """
    if isinstance(exc, ChunkTimeoutError) or not isinstance(exc, CodeyError):
        return False
    if isinstance(exc, (RateLimitError, ServerError, NetworkError, ConnectTimeoutError)):
        return True
    if isinstance(exc, IncompleteStreamError):
        return True
    if isinstance(exc, StreamError):
        return is_retryable_error_type(exc.error_type, getattr(exc, "code", None))
    return False


def is_retryable_error_type(error_type: Optional[str], code: Optional[str] = None) -> bool:
    """Whether an error event's type (or Chat Completions code) names a busy or failing server."""
    for name in (error_type, code):
        if not name:
            continue
        name = str(name).lower()
        if name in RETRYABLE_EVENT_TYPES or any(word in name for word in _RETRYABLE_WORDS):
            return True
    return False


def parse_retry_after(headers: Mapping[str, str]) -> Optional[float]:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def backoff_delay(
    retry_number: int,
    retry_after: Optional[float] = None,
    *,
    rand: Optional[float] = None,
) -> float:
    """How long to wait before retry number ``retry_number`` (0 for the first retry).

    A ``Retry-After`` of at most 60 s wins; otherwise exponential backoff
    (0.5 s, 1 s, 2 s... capped at 8 s) with jitter between half and all of it.
    """
    if retry_after is not None and retry_after <= MAX_RETRY_AFTER:
        return retry_after
    if rand is None:
        rand = random.random()
    return min(BACKOFF_CAP, BACKOFF_BASE * 2.0**retry_number) * (0.5 + rand / 2.0)


#: What kind of failure an error is (``error_kind``), so a caller knows what to do about it.
KINDS = ("configuration", "busy", "timeout", "broken", "other")

_CONFIGURATION = (
    MissingAPIKeyError,
    MissingBaseURLError,
    InvalidAPIKeyError,
    UnknownModelError,
    ChatLogError,
    UnsupportedOptionError,
    AuthenticationError,
    BadRequestError,
)
_BUSY = (RateLimitError, ServerError)


def error_kind(exc: BaseException) -> str:
    """``configuration`` (fix the setup: key, model, 4xx), ``busy`` (try again later: 429,
    5xx, overloaded, after retries), ``timeout``, ``broken`` (the stream broke) or ``other``.

    The one home of this judgement: the command line's exit statuses (3, 4, 5, 6, 1)
    and a batch's error records both come from it.
    """
    if isinstance(exc, _CONFIGURATION):
        return "configuration"
    if isinstance(exc, ProviderBatchError):  # expired: the provider had no time for it
        return "busy" if exc.status == "expired" else "other"
    if isinstance(exc, _BUSY):
        return "busy"
    if isinstance(exc, APIStatusError):  # raised with a status its class does not say
        return "busy" if issubclass(status_error_class(exc.status_code), _BUSY) else "configuration"
    if isinstance(exc, (ConnectTimeoutError, ChunkTimeoutError, DeadlineExceededError)):
        return "timeout"
    if (
        isinstance(exc, StreamError)
        and not isinstance(exc, IncompleteStreamError)
        and not exc.partial_text
        and is_retryable_error_type(exc.error_type, getattr(exc, "code", None))
    ):
        return "busy"  # an error event that says the provider is busy (retried, in vain)
    if isinstance(exc, (StreamError, NetworkError)):
        return "broken"
    return "other"
