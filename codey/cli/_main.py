"""``main(argv) -> int``: parse, load the config file, run the command, map a failure to its status.

Every failure ends here: one line on standard error (:func:`_exit.report`)
and its status from the one table, :data:`_exit.STATUSES`. The commands' modules load
only when they run, so ``codey --help`` stays instant.
"""

from __future__ import annotations

import errno
import importlib
import sys
import warnings

from codey._errors import ModelWarning
from codey.cli._exit import exit_code, report
from codey.cli._parser import build_parser
from codey.cli._signals import Terminated

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, Callable, Optional, Union

    from codey.cli._config import Config
    from codey.cli._context import Run

__all__ = ["COMMANDS", "main"]

#: Which function runs each subcommand, as ``module:function``.
COMMANDS = {
    "prompt": "codey.cli._prompt:run_prompt",
    "save": "codey.cli._prompt:run_save",
    "chat": "codey.cli._chat:run_chat",
    "batch": "codey.cli._batch:run_batch",
    "models": "codey.cli._listings:run_models",
    "providers": "codey.cli._listings:run_providers",
    "config": "codey.cli._listings:run_config",
    "tools": "codey.cli._listings:run_tools",
    "completion": "codey.cli._listings:run_completion",
    "buffer": "codey.cli._render:run_buffer",
    "format": "codey.cli._render:run_format",
    "color": "codey.cli._render:run_color",
}


def _runner(command: str) -> Callable[[Run], int]:
    module, _, name = COMMANDS[command].partition(":")
    run: Callable[[Run], int] = getattr(importlib.import_module(module), name)
    return run


def _shown(show: Callable[..., None]) -> Callable[..., None]:
    """``warnings.showwarning`` that gives a ModelWarning one ``codey:`` line on
    standard error (once per place that streams, as the default filter does)."""

    def showwarning(message: Union[Warning, str], category: type[Warning], *rest: Any) -> None:
        if issubclass(category, ModelWarning):
            sys.stderr.write(f"codey: {message}\n")
            sys.stderr.flush()
        else:
            show(message, category, *rest)

    return showwarning


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; return the exit status (the console script exits with it)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        from codey.cli import _context  # after --help: it loads attrs

        problem = _context.problem(args)
        if problem:
            args.subparser.error(problem)  # usage and message on stderr, exit status 2
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    restore: Optional[Callable[[], None]] = None
    try:
        if sys.stdout is None:  # started with >&-: say so before anything is sent
            raise OSError(
                errno.EBADF,
                "standard output is closed; codey writes there "
                "(send it to /dev/null to throw it away)",
            )
        command = _runner(args.command)
        config: Optional[Config] = None
        if _context.needs_config(args):
            from codey.cli._configfile import load

            config = load()
            restore = config.apply()  # the config file's providers, registered
        with warnings.catch_warnings():
            warnings.simplefilter("default", ModelWarning)  # a line, never a failure
            warnings.showwarning = _shown(warnings.showwarning)
            with _context.from_args(args, config) as run:  # closes its MCP servers
                return command(run)
    except (Exception, KeyboardInterrupt, Terminated) as exc:
        if isinstance(exc, BrokenPipeError):
            # The reader went away (| head -1): the stream is closed by now; exit
            # quietly, with no complaint from the interpreter's final flush.
            from codey.cli._io import discard_stdout

            discard_stdout()
        elif isinstance(exc, Exception):  # a signal says nothing: its status tells
            report(exc)
        return exit_code(exc)
    finally:
        if restore is not None:
            restore()
