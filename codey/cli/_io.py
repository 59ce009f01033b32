"""The process's input and output: INPUT or standard input, bounded and decoded; UTF-8 out."""

from __future__ import annotations

import os
import sys

from codey.cli._status import isatty

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Optional, TextIO

    from codey.cli._context import Run
    from codey.cli._status import Terminal

__all__ = [
    "InputError",
    "decode",
    "discard_stdout",
    "hint_if_file_name",
    "max_input",
    "read_input",
    "read_inputs",
    "stdout",
    "terminal",
    "too_big",
]


class InputError(ValueError):
    """Input codey will not use: empty, too big, not text, or not a regular file."""


#: The most bytes read from standard input, INPUT or a chat-log file (CODEY_MAX_INPUT).
MAX_INPUT = 64 * 1024 * 1024
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def max_input(environ: Optional[dict[str, str]] = None) -> int:
    """The input size limit in bytes: $CODEY_MAX_INPUT (such as 1000, 512k, 64M), else 64 MiB."""
    value = (os.environ if environ is None else environ).get("CODEY_MAX_INPUT", "").strip()
    if not value:
        return MAX_INPUT
    number, unit = value.rstrip("kKmMgGiIbB"), value[len(value.rstrip("kKmMgGiIbB")) :]
    unit = unit.lower().rstrip("b").rstrip("i")
    try:
        limit = int(number) * _UNITS[unit]
    except (ValueError, KeyError):
        limit = 0
    if limit <= 0:
        raise InputError(f"CODEY_MAX_INPUT must be a positive size such as 64M, not {value!r}")
    return limit


def _size(limit: int) -> str:
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if limit % size == 0:
            return f"{limit // size} {unit}"
    return f"{limit} bytes"


def too_big(what: str, limit: int) -> InputError:
    return InputError(
        f"{what} is bigger than the {_size(limit)} input limit (CODEY_MAX_INPUT changes it)"
    )


def decode(data: bytes, what: str, encoding: str = "utf-8", errors: str = "strict") -> str:
    """Bytes as text; invalid bytes are an error naming where, unless ``errors`` says otherwise."""
    try:
        return data.decode(encoding, errors)
    except LookupError:
        raise InputError(f"unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as exc:
        byte = exc.object[exc.start : exc.start + 1].hex()
        raise InputError(
            f"{what} is not valid {encoding}: byte 0x{byte} at offset {exc.start} "
            f"({exc.reason}); use --encoding or --errors replace"
        ) from None


def _read_limited(read: Callable[[int], Any], limit: int, what: str) -> Any:
    """Read to the end, but never more than ``limit`` (one more says it is too big)."""
    data = read(limit + 1)
    if len(data) > limit:
        raise too_big(what, limit)
    return data


def _is_devnull(stream: object) -> bool:
    """Standard input is /dev/null (``< /dev/null``, cron, a closed stdin): no input at all."""
    try:
        info = os.fstat(stream.fileno())  # type: ignore[attr-defined]
        null = os.stat(os.devnull)
    except (AttributeError, OSError, ValueError):
        return False
    return (info.st_dev, info.st_ino, info.st_rdev) == (null.st_dev, null.st_ino, null.st_rdev)


def _is_piped(stream: object) -> bool:
    """Standard input is a pipe, a socket or a file (``< FILE``)."""
    import stat

    try:
        mode = os.fstat(stream.fileno()).st_mode  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode) or stat.S_ISSOCK(mode)


def read_input(
    argument: Optional[str], run: Optional[Run] = None, what: str = "prompt"
) -> Optional[str]:
    """Standard input (when piped) and INPUT, joined by a blank line; None when there is neither.

    See :func:`read_inputs`.
    """
    piped, given = read_inputs(argument, run, what)
    if piped is None or given is None:
        return given if piped is None else piped
    return f"{piped}\n\n{given}"


def read_inputs(
    argument: Optional[str], run: Optional[Run] = None, what: str = "prompt"
) -> tuple[Optional[str], Optional[str]]:
    """Standard input when it is not a terminal, and INPUT: (piped, argument).

    Both are bytes decoded with ``--encoding`` (default UTF-8) and ``--errors``
    (default strict: invalid bytes are an error naming the offset), at most
    :func:`max_input` bytes. Standard input is stripped. Standard input that
    is a terminal or /dev/null is no input (None); so is empty standard input
    when INPUT is given, and then standard input is read only when it is a
    pipe, a socket or a file. Input that is empty or only whitespace, with nothing
    else, is an :class:`InputError` (``no prompt: ... empty``).
    """
    encoding = run.encoding if run is not None else "utf-8"
    errors = run.errors if run is not None else "strict"
    limit = max_input()
    given: Optional[str] = None
    if argument is not None:
        source = "INPUT"
        # The argument's bytes as the shell passed them (Python kept bad ones as surrogates).
        data = os.fsencode(argument)
        if len(data) > limit:
            raise too_big(source, limit)
        given = decode(data, source, encoding, errors)
        if not given.strip():
            raise InputError(f"no {what}: INPUT is empty")
    piped: Optional[str] = None
    stdin = sys.stdin
    if given is not None and not _is_piped(stdin):
        pass  # with INPUT, only a pipe or a file is read too (not an embedding's own stdin)
    elif stdin is not None and not isatty(stdin) and not _is_devnull(stdin):
        source = "standard input"
        raw = getattr(stdin, "buffer", None)
        if raw is not None:
            piped = decode(_read_limited(raw.read, limit, source), source, encoding, errors)
        else:
            piped = _read_limited(stdin.read, limit, source)
        piped = piped.lstrip("\ufeff").strip()
        if not piped:
            if given is None:
                raise InputError(f"no {what}: standard input was empty")
            piped = None
    return piped, given


def hint_if_file_name(argument: Optional[str], command: str) -> None:
    """Say on standard error when INPUT, which is text, is the name of a file."""
    if argument and "\n" not in argument and os.path.isfile(argument):
        sys.stderr.write(
            f"codey: note: INPUT is the text itself, not a file; to read {argument}, "
            f"use codey {command} < {argument}\n"
        )


def stdout() -> TextIO:
    """Standard output, writing UTF-8 whatever the locale says."""
    out = sys.stdout
    import io

    if isinstance(out, io.TextIOWrapper) and out.encoding.lower().replace("-", "") != "utf8":
        out.reconfigure(encoding="utf-8")
    return out


def terminal() -> Terminal:
    """Standard output and standard error, as the status line and the answer use them."""
    from codey.cli._status import Terminal

    return Terminal(stdout(), sys.stderr)


def discard_stdout() -> None:
    """Point standard output at /dev/null, so the interpreter's final flush cannot fail."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # not a real file (tests capture it): nothing will flush at exit
