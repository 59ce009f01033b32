"""Exit statuses and error lines: what kind of failure it was, in one line.

``codey(1)`` documents the statuses; :func:`exit_code` is the one place that
picks them, from the library's error classes (its ``status_error_class`` and
``is_retryable_error_type`` decide what counts as busy, not a copy here).
"""

from __future__ import annotations

import os
import sys

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
    RateLimitError,
    ServerError,
    StreamError,
    UnknownModelError,
    UnsupportedOptionError,
    status_error_class,
)
from codey.cli._config import ConfigError
from codey.cli._signals import Terminated

__all__ = ["TRY_WITHOUT_KEY", "describe", "exit_code", "fail", "report"]

#: What a newcomer without a key can do at once (see "codey.testing" in the README).
TRY_WITHOUT_KEY = "python -m codey.testing serve"

_CONFIGURATION = (
    MissingAPIKeyError,
    MissingBaseURLError,
    InvalidAPIKeyError,
    UnknownModelError,
    ChatLogError,
    ConfigError,
    UnsupportedOptionError,
    AuthenticationError,
    BadRequestError,
)
_BUSY = (RateLimitError, ServerError)


def exit_code(exc: BaseException) -> int:
    """The exit status for an error: what kind of failure it was (see ``codey(1)``)."""
    if isinstance(exc, KeyboardInterrupt):
        return 130
    if isinstance(exc, Terminated):
        return 128 + exc.signum
    if isinstance(exc, BrokenPipeError):
        return 141
    if isinstance(exc, _CONFIGURATION):
        return 3
    if isinstance(exc, _BUSY):
        return 4
    if isinstance(exc, APIStatusError):  # raised with a status its class does not say
        return 4 if issubclass(status_error_class(exc.status_code), _BUSY) else 3
    if isinstance(exc, (ConnectTimeoutError, ChunkTimeoutError, DeadlineExceededError)):
        return 5
    if (
        isinstance(exc, StreamError)
        and not isinstance(exc, IncompleteStreamError)
        and not exc.partial_text
        and _busy_event(exc)
    ):
        return 4
    if isinstance(exc, (StreamError, NetworkError)):
        return 6
    return 1


def _busy_event(exc: StreamError) -> bool:
    """An error event that says the provider is busy or failing (retried, in vain)."""
    from codey._retry import is_retryable_error_type

    return is_retryable_error_type(exc.error_type, getattr(exc, "code", None))


def report(exc: BaseException) -> None:
    """One line on standard error (and the traceback first, with CODEY_DEBUG=1)."""
    try:
        from codey._secrets import redact

        if os.environ.get("CODEY_DEBUG", "") not in ("", "0"):
            import traceback

            text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            sys.stderr.write(redact(text))
        sys.stderr.write(f"codey: error: {redact(describe(exc))}\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # standard error itself is gone
        pass


def describe(exc: BaseException) -> str:
    """An error as one line of text, as ``main`` prints it after ``codey: error:``."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl-C)"
    if isinstance(exc, Terminated):
        return f"terminated ({exc.name})"
    if isinstance(exc, MissingAPIKeyError):
        return _missing_key(exc)
    if isinstance(exc, MissingBaseURLError) and exc.env_var:  # not the "(or pass base_url=)"
        return f"no endpoint for {exc.provider}: set {exc.env_var}"
    if isinstance(exc, OSError) and not isinstance(exc, CodeyError) and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    elif isinstance(exc, (CodeyError, OSError, ValueError, TypeError)):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc} (set CODEY_DEBUG=1 for a traceback)"
    return " ".join(text.split()) or type(exc).__name__


def _missing_key(exc: MissingAPIKeyError) -> str:
    """Which variable to set, and how to try codey with no key at all."""
    if exc.provider and exc.env_var:
        text = f"no API key for {exc.provider}: set {exc.env_var}"
    else:  # the library's own message ("... (or pass api_key=)") is for Python callers
        text = " ".join(str(exc).split()) or "no API key"
    return f"{text} (or try codey with no key: {TRY_WITHOUT_KEY})"


def fail(message: str) -> int:
    """A failure with the original tool's exact message (no "codey: error:" prefix)."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
    return 1
