"""Exit statuses and error lines: what kind of failure it was, in one line.

``codey(1)`` documents the statuses; :func:`exit_code` is the one place that
picks them, from the library's ``codey._retry.error_kind`` (which decides what
counts as busy, not a copy here).
"""

from __future__ import annotations

import os
import sys

from codey._errors import CodeyError, MissingAPIKeyError, MissingBaseURLError
from codey.cli._config import ConfigError
from codey.cli._signals import Terminated

__all__ = ["CODES", "TRY_WITHOUT_KEY", "describe", "exit_code", "fail", "report"]

#: What a newcomer without a key can do at once (see docs/testing.rst).
TRY_WITHOUT_KEY = "python -m codey.testing serve"

#: The providers ``python -m codey.testing serve`` stands in for.
_FAKE_PROVIDERS = ("openai", "xai", "anthropic")

#: The exit status of each kind of failure (``codey._retry.error_kind``).
CODES = {"configuration": 3, "busy": 4, "timeout": 5, "broken": 6, "other": 1}


def exit_code(exc: BaseException) -> int:
    """The exit status for an error: what kind of failure it was (see ``codey(1)``)."""
    if isinstance(exc, KeyboardInterrupt):
        return 130
    if isinstance(exc, Terminated):
        return 128 + exc.signum
    if isinstance(exc, BrokenPipeError):
        return 141
    if isinstance(exc, ConfigError):
        return 3
    from codey._retry import error_kind

    return CODES[error_kind(exc)]


def _debugging() -> bool:
    return os.environ.get("CODEY_DEBUG", "") not in ("", "0")


def report(exc: BaseException) -> None:
    """One line on standard error (and the traceback first, with CODEY_DEBUG=1)."""
    try:
        from codey._secrets import redact

        if _debugging():
            import traceback

            text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            sys.stderr.write(redact(text))
        sys.stderr.write(f"codey: error: {describe(exc)}\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # standard error itself is gone
        pass


def describe(exc: BaseException) -> str:
    """An error as one line of text, as ``main`` prints it after ``codey: error:``
    (keys redacted: every error line and ``--events`` record is made here)."""
    from codey._secrets import redact

    return redact(_describe(exc))


def _describe(exc: BaseException) -> str:
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
        hint = "" if _debugging() else " (set CODEY_DEBUG=1 for a traceback)"
        text = f"{type(exc).__name__}: {exc}{hint}"
    return " ".join(text.split()) or type(exc).__name__


def _missing_key(exc: MissingAPIKeyError) -> str:
    """Which variable to set, and how to try codey with no key at all (for the
    providers the fake server speaks for: not a service the user set up)."""
    if exc.provider and exc.env_var:
        text = f"no API key for {exc.provider}: set {exc.env_var}"
    else:  # the library's own message ("... (or pass api_key=)") is for Python callers
        text = " ".join(str(exc).split()) or "no API key"
    if exc.provider is not None and exc.provider not in _FAKE_PROVIDERS:
        return text
    return f"{text} (or try codey with no key: {TRY_WITHOUT_KEY})"


def fail(message: str) -> int:
    """A failure with the original tool's exact message (no "codey: error:" prefix)."""
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
    return 1
