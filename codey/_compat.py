"""Version shims, and nothing else.

Each shim is a function, so importing this module imports nothing heavy.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["load_toml", "toml_decode_error"]


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
