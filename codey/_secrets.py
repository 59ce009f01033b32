"""API keys: checked before they go into a header, and kept out of every text we show.

``redact`` knows every key in use (any key a stream was started with) and
every key in the environment (the providers' variables and any other
``*_API_KEY``), so a server that quotes one back in an error body, an error
event or a malformed line cannot put it into a message, a repr or a log line:
whole, %-encoded, or a long prefix of it (all but its last few characters).
It also hides a URL's password (``http://user:PASSWORD@host``) and the
values of query parameters named like a secret (``?key=...``).
The provider registry tells this module which variables are the providers'
(:func:`watch_variables`): the ground floor imports nothing above it.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Iterable
from typing import Optional

from codey._errors import CodeyError, InvalidAPIKeyError

REDACTED = "[REDACTED]"
#: Shorter values are not worth hiding (and would garble every message).
_MIN_LENGTH = 4
#: A quoted prefix of a key this long (or half the key, if that is longer) gives it away.
_PREFIX = 12
# A URL's password, and the value of a query parameter named like a secret.
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s/@:]*):[^\s/@]+@")
_SECRET_QUERY = re.compile(
    r"(?i)([?&][\w.-]*(?:key|token|secret|passw|pwd|sig|auth|credential)[\w.-]*=)"
    r"[^&#\s'\"]*[^&#\s'\".,:;)]"  # a value, less the punctuation of the text around it
)
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
    remember([key])
    return key


def remember(values: Iterable[str]) -> None:
    """From now on, hide these values too (keys in use, an MCP server's headers and env)."""
    with _lock:
        for value in values:
            if len(value) >= _MIN_LENGTH:
                _in_use.pop(value, None)
                _in_use[value] = None
                if len(_in_use) > _IN_USE_LIMIT:
                    del _in_use[next(iter(_in_use))]


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
    """``text`` with every known key, and every URL password or secret query value,
    replaced by ``[REDACTED]``."""
    for key in known_keys() if keys is None else keys:
        if key in text:
            text = text.replace(key, REDACTED)
        elif len(key) >= _PREFIX or "%" in text:
            text = _redact_partial(text, key)
    if "://" in text:
        text = _URL_PASSWORD.sub(rf"\1:{REDACTED}@", text)
    if "=" in text:
        text = _SECRET_QUERY.sub(rf"\1{REDACTED}", text)
    return text


def _needed(key: str) -> int:
    """How long a prefix of the key gives it away."""
    return min(len(key), max(_PREFIX, len(key) // 2))


def _encoded(char: str) -> str:
    return "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))


@functools.lru_cache(maxsize=256)
def _prefix_pattern(key: str) -> re.Pattern[str]:
    """The key's shortest prefix worth hiding, each character as itself or %-encoded."""
    return re.compile(
        "".join(f"(?:{re.escape(char)}|(?i:{_encoded(char)}))" for char in key[: _needed(key)])
    )


def _redact_partial(text: str, key: str) -> str:
    """``text`` with each long prefix of ``key``, plain or %-encoded, redacted."""
    pattern = _prefix_pattern(key)
    pieces: list[str] = []
    at = 0
    for match in pattern.finditer(text):
        if match.start() < at:  # inside the last match's extension
            continue
        end, index = match.end(), _needed(key)
        while index < len(key):  # as much more of the key as is there
            char = key[index]
            encoded = _encoded(char)
            if text.startswith(char, end):
                end += len(char)
            elif text[end : end + len(encoded)].upper() == encoded:
                end += len(encoded)
            else:
                break
            index += 1
        pieces += [text[at : match.start()], REDACTED]
        at = end
    return "".join(pieces) + text[at:] if pieces else text


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
