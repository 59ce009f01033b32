"""Version shims, and nothing else.

Each shim is a function, so importing this module imports nothing heavy.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["load_toml", "toml_decode_error", "toml_error_details"]


def load_toml(text: str) -> dict[str, Any]:
    """Parse TOML text with ``tomllib`` (Python 3.11+) or its backport ``tomli``."""
    if sys.version_info >= (3, 11):
        import tomllib  # novermin
    else:  # pragma: no cover - exercised on Python < 3.11 only
        import tomli as tomllib
    return tomllib.loads(text)


def toml_decode_error() -> type[ValueError]:
    """The exception class :func:`load_toml` raises for invalid TOML."""
    if sys.version_info >= (3, 11):
        import tomllib  # novermin
    else:  # pragma: no cover - exercised on Python < 3.11 only
        import tomli as tomllib
    return tomllib.TOMLDecodeError


def toml_error_details(exc: ValueError, text: str) -> tuple[int, str]:
    """The line (1-based, within ``text``) and the reason of a TOML decode error.

    Python 3.14's ``tomllib`` has ``lineno`` and ``msg``; before, and in
    ``tomli``, the message ends with "(at line N, column C)" or "(at end of
    document)".
    """
    import re

    where = re.compile(r"\s*\(at (?:line (\d+), column \d+|end of document)\)")
    lineno = getattr(exc, "lineno", None)
    if not isinstance(lineno, int):
        match = where.search(str(exc))
        lineno = int(match.group(1)) if match and match.group(1) else text.count("\n") + 1
    return lineno, where.sub("", str(getattr(exc, "msg", "") or exc))
