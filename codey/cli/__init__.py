"""The ``codey`` command line: ``main(argv) -> int`` and the one ``build_parser()``.

Each module holds one command or one concern and imports only those below it
(see "How the code is laid out" in the README). The library is reached
through ``codey`` and its documented internals; it never imports this package.
"""

from codey.cli._exit import describe, exit_code
from codey.cli._main import main
from codey.cli._parser import build_parser

__all__ = ["build_parser", "describe", "exit_code", "main"]
