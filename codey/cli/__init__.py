"""The ``codey`` command line: ``main(argv) -> int`` and the one ``build_parser()``.

Each module holds one command or one concern and imports only those below it
(see docs/architecture.rst). The library is reached
through ``codey`` and its documented internals; it never imports this package.
"""

from __future__ import annotations

from typing import Any

from codey.cli._exit import describe, exit_code
from codey.cli._main import main
from codey.cli._parser import build_parser

__all__ = ["ConfigError", "MissingExtraError", "build_parser", "describe", "exit_code", "main"]

#: The command line's own errors, loaded when first asked for (``--help`` stays light).
_LAZY = {"ConfigError": "codey.cli._config", "MissingExtraError": "codey.cli._render"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
