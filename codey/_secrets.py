"""API keys: checked before they go into a header, and kept out of every text we show.

``redact`` knows every key in use (any key a stream was started with) and
every key in the environment (the providers' variables and any other
``*_API_KEY``), so a server that quotes one back in an error body, an error
event or a malformed line cannot put it into a message, a repr or a log line.
The provider registry tells this module which variables are the providers'
(:func:`watch_variables`): the ground floor imports nothing above it.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable
from typing import Optional

from codey._errors import CodeyError, InvalidAPIKeyError

REDACTED = "[REDACTED]"
#: Shorter values are not worth hiding (and would garble every message).
_MIN_LENGTH = 4
# What an HTTP header value may hold that a real key ever has: visible ASCII.
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")

#: Keys streams were started with, newest last; bounded for servers with a key per user.
_in_use: dict[str, None] = {}
_IN_USE_LIMIT = 1024
_lock = threading.Lock()
#: The registered providers' key variables (the registry keeps it up to date).
_watched: frozenset[str] = frozenset()


def watch_variables(names: Iterable[str]) -> None:
    """From now on, hide the values of these variables (the providers' key variables)."""
    global _watched
    _watched = frozenset(names)


def check_key(key: str, source: str, provider: Optional[str] = None) -> str:
    """The key without surrounding whitespace (a Windows ``.env`` leaves ``\\r``).

    A key that still could not go into a header is an ``InvalidAPIKeyError``
    that names ``source`` (the variable or ``api_key=``), never the value.
    """
    if key != key.strip():
        key = key.strip()
    if key and not _HEADER_SAFE.fullmatch(key):
        bad = next(char for char in key if not _HEADER_SAFE.fullmatch(char))
        if bad.isspace():
            kind = "whitespace"
        elif ord(bad) < 32 or ord(bad) == 127:
            kind = "a control character"
        else:
            kind = "a non-ASCII character"
        raise InvalidAPIKeyError(
            f"the API key in {source} contains {kind}, which cannot be sent in an HTTP "
            "header: check its value",
            provider=provider,
            env_var=source if source.isupper() else None,
        )
    if len(key) >= _MIN_LENGTH:
        with _lock:
            _in_use.pop(key, None)
            _in_use[key] = None
            if len(_in_use) > _IN_USE_LIMIT:
                del _in_use[next(iter(_in_use))]
    return key


def known_keys() -> list[str]:
    """Every key worth hiding, longest first (so no key is half-replaced)."""
    names = _watched
    values = set()
    for name, value in os.environ.items():
        if name in names or name.upper().endswith("API_KEY"):
            values.add(value)
            values.add(value.strip())
    with _lock:
        values.update(_in_use)
    forms = set()
    for value in values:
        if len(value) >= _MIN_LENGTH:
            forms.add(value)
            escaped = repr(value)[1:-1]  # how a repr or an error message quotes it
            forms.add(escaped)
    return sorted(forms, key=len, reverse=True)


def redact(text: str, keys: Optional[list[str]] = None) -> str:
    """``text`` with every known key replaced by ``[REDACTED]``."""
    for key in known_keys() if keys is None else keys:
        if key in text:
            text = text.replace(key, REDACTED)
    return text


class Redacted:
    """``str(value)`` with every known key redacted, worked out only when shown
    (a log line's argument: nothing is done for a line that is not emitted)."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __str__(self) -> str:
        return redact(str(self.value))


def scrub(exc: BaseException) -> BaseException:
    """Redact an error's message and text attributes, and those of its causes and of
    the earlier attempts it carries (``attempts``: the fallbacks'), in place."""
    keys = known_keys()
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        try:
            current.args = tuple(
                redact(arg, keys) if isinstance(arg, str) else arg for arg in current.args
            )
        except (AttributeError, TypeError):  # an exception type that forbids it
            pass
        # Every text attribute, the library's causes' too: a JSONDecodeError keeps the
        # whole malformed data (``doc``), which can quote the key back.
        keep = "partial_text" if isinstance(current, CodeyError) else None
        for name, value in list(getattr(current, "__dict__", {}).items()):
            if isinstance(value, str) and name != keep and value:
                try:
                    setattr(current, name, redact(value, keys))
                except (AttributeError, TypeError):
                    pass
        attempts = getattr(current, "attempts", None)
        if isinstance(attempts, list):  # [(model, error)]: set by the fallbacks' producer
            todo.extend(entry[1] for entry in attempts if isinstance(entry[1], BaseException))
        cause = current.__cause__ or current.__context__
        if cause is not None:
            todo.append(cause)
    return exc
