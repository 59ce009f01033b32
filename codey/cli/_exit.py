"""Exit statuses and error lines: what kind of failure it was, in one line.

:data:`STATUSES` is the one table of exit statuses: :func:`exit_code`, the
``--events`` error records, ``codey batch``'s status, ``--help``, ``codey(1)``
and the "Exit status" table of docs/cli.rst all read it. What kind a library error
is comes from ``codey._retry.error_kind`` (which decides what counts as busy,
not a copy here).
"""

from __future__ import annotations

import os
import sys
from typing import NamedTuple

from codey._errors import CodeyError, MissingAPIKeyError, MissingBaseURLError
from codey.cli._config import ConfigError
from codey.cli._signals import Terminated

__all__ = [
    "STATUSES",
    "TRY_WITHOUT_KEY",
    "Status",
    "UsageError",
    "describe",
    "exit_code",
    "fail",
    "failure",
    "report",
    "status_of",
]

#: What a newcomer without a key can do at once (see docs/testing.rst).
TRY_WITHOUT_KEY = "python -m codey.testing serve"

#: The providers ``python -m codey.testing serve`` stands in for.
_FAKE_PROVIDERS = ("openai", "xai", "anthropic")


class UsageError(CodeyError, ValueError):
    """The command line is wrong in a way only running it shows (exit status 2), such as
    an ``--allow-tool`` name no tool offered has."""


class Status(NamedTuple):
    """One exit status: its number, the ``--events`` record's ``kind``, what it means."""

    code: int
    #: The ``kind`` of an ``--events`` error record ("" for statuses no error has).
    kind: str
    #: What it means, as docs/cli.rst's table says it (reStructuredText inline markup).
    text: str


#: Every exit status, by the failure that gives it: the kinds of ``codey._retry.error_kind``,
#: the signals by name, and the command line's own ("success", "usage", "broken pipe").
STATUSES: dict[str, Status] = {
    "success": Status(0, "", "success"),
    "other": Status(1, "other", "any other error (no input, an unwritable file, a missing extra)"),
    "usage": Status(2, "usage", "usage error"),
    "configuration": Status(
        3,
        "configuration",
        "configuration or authentication: missing key, unknown model, invalid front matter "
        "or config file, an option the model cannot take, HTTP 401, 403, 400, 404, 413, 422",
    ),
    "busy": Status(
        4,
        "busy",
        "the provider is busy or failing, after retries, before any text: "
        "408, 409, 429, 5xx, 529, ``overloaded_error``",
    ),
    "timeout": Status(
        5,
        "timeout",
        "timeout: connect, silence longer than ``--chunk-timeout``, or ``--deadline``",
    ),
    "broken": Status(
        6,
        "broken",
        "the stream broke: ended early, an error event after text, malformed data, "
        "a network error, or (with ``--schema``) an answer that is not JSON matching the schema",
    ),
    "SIGHUP": Status(129, "interrupted", "the terminal closed (SIGHUP), handled as 130"),
    "SIGINT": Status(
        130, "interrupted", "interrupted (Ctrl-C): the partial answer already printed stays"
    ),
    "broken pipe": Status(141, "other", "standard output closed (``codey prompt ... | head -1``)"),
    "SIGTERM": Status(143, "interrupted", "terminated (SIGTERM, ``kill``), handled as 130"),
}


def failure(exc: BaseException) -> str:
    """Which row of :data:`STATUSES` an error is."""
    if isinstance(exc, KeyboardInterrupt):
        return "SIGINT"
    if isinstance(exc, Terminated):
        return exc.name
    if isinstance(exc, BrokenPipeError):
        return "broken pipe"
    if isinstance(exc, ConfigError):
        return "configuration"
    if isinstance(exc, UsageError):
        return "usage"
    from codey._retry import error_kind

    return error_kind(exc)


def status_of(kind: str) -> Status:
    """The row of :data:`STATUSES` for a failure (``other`` for one it does not list)."""
    return STATUSES.get(kind, STATUSES["other"])


def exit_code(exc: BaseException) -> int:
    """The exit status for an error: what kind of failure it was (see :data:`STATUSES`)."""
    return status_of(failure(exc)).code


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
