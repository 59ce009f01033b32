"""The run's context: built once from the parsed arguments; commands take it, not args."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

from codey.cli._context import from_args
from codey.cli._main import COMMANDS
from codey.cli._parser import build_parser
from tests.helpers import ROOT


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_takes_the_run(command: str) -> None:
    module, _, name = COMMANDS[command].partition(":")
    function = getattr(importlib.import_module(module), name)
    (parameter,) = inspect.signature(function).parameters.values()
    assert parameter.annotation == "Run", COMMANDS[command]


def test_only_the_context_reads_the_namespace() -> None:
    """No getattr(args, ...) and no attribute set on the Namespace outside the one place
    that builds the context (and the request options' own module, ``_options.py``)."""
    for path in sorted((ROOT / "codey" / "cli").glob("*.py")):
        if path.name in ("_context.py", "_options.py"):
            continue
        text = path.read_text(encoding="utf-8")
        assert "getattr(args" not in text, path.name
        assert not re.search(r"\bargs\.\w+ = ", text), path.name


def test_the_run_from_the_flags() -> None:
    """Repeatable flags are tuples, one -m is a model, defaults fill what is not given."""
    args = build_parser().parse_args(
        ["prompt", "hi", "-m", "a", "-m", "b", "-a", "x.png", "-T", "m:f", "--yes"]
    )
    run = from_args(args)
    assert (run.command, run.input, run.models) == ("prompt", "hi", ("a", "b"))
    assert (run.attach, run.tool_targets, run.functions, run.yes) == (
        ("x.png",),
        ("m:f",),
        (),
        True,
    )
    assert (run.encoding, run.errors, run.parallel) == ("utf-8", "strict", 8)
    chat = from_args(build_parser().parse_args(["chat", "-m", "a", "--file", "log.md"]))
    assert (chat.model, chat.file) == ("a", "log.md")
    with pytest.raises(RuntimeError, match="loads no config file"):
        chat.config  # noqa: B018
