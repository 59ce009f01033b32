"""``--attach``, ``--functions`` and ``--tool``: attachments and tools from the command line.

Tools run only with a yes: on a terminal codey asks before each call
(``Run tool NAME(ARGS)? [y/N]`` on standard error); with ``--yes`` it does
not ask; anywhere else (standard input or error not a terminal) and without
``--yes``, it refuses before anything is sent, because a pipe cannot answer
and running code unasked is not a default.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import os
import sys

from codey.cli._config import ConfigError
from codey.cli._io import InputError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from typing import Any, Callable, Optional

    from codey._attachments import Attachment
    from codey._chatlog import Chat
    from codey._tools import Tool
    from codey.cli._context import Run

__all__ = [
    "ToolDeclined",
    "ask_on_terminal",
    "asker",
    "attach_to_prompt",
    "attachments",
    "describe_call",
    "guarded",
    "load_tools",
    "on_terminal",
    "read_stdin_bytes",
    "tool_options",
]

#: Where ``-T module:function`` imports from, besides sys.path: the current directory.
_CWD = "."


class ToolDeclined(Exception):
    """The person at the terminal said no; the model is told so."""


def attachments(run: Run, stdin: Optional[bytes] = None) -> list[Attachment]:
    """The ``-a`` values as attachments: a path, an http(s) or data: URL, or ``-`` (stdin)."""
    from codey._attachments import Attachment

    found = []
    for value in run.attach:
        if value == "-":
            if stdin is None:
                raise InputError("-a -: standard input has no attachment (it is a terminal)")
            found.append(Attachment.from_bytes(stdin, name="stdin"))
        elif value.startswith(("http://", "https://", "data:")):
            found.append(Attachment.from_url(value))
        else:
            found.append(Attachment.from_path(value))
    return found


def read_stdin_bytes() -> Optional[bytes]:
    """All of standard input as bytes (for ``-a -``), bounded like any input; None on a terminal."""
    from codey._attachments import MAX_SIZE
    from codey.cli._status import isatty

    stdin = sys.stdin
    if stdin is None or isatty(stdin):
        return None
    raw = getattr(stdin, "buffer", None)
    if raw is None:  # replaced by a text stream (tests, embedding)
        return stdin.read(MAX_SIZE + 1).encode("utf-8", "surrogateescape")
    data: bytes = raw.read(MAX_SIZE + 1)
    return data


def attach_to_prompt(chat: Chat, found: Sequence[Attachment]) -> Chat:
    """The chat with ``found`` attached to its last user message (the prompt)."""
    if not found:
        return chat
    import attrs

    messages = list(chat.messages)
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role == "user":
            message = messages[index]
            messages[index] = attrs.evolve(message, attachments=(*message.attachments, *found))
            return attrs.evolve(chat, messages=messages)
    raise InputError("-a/--attach: the chat log has no user message to attach to")


def load_tools(functions: Sequence[str], targets: Sequence[str]) -> list[Tool]:
    """The tools of ``--functions FILE.py`` (its public functions) and ``-T module:function``
    (``Run.tools`` loads them once per run)."""
    tools: list[Tool] = []
    for path in functions:
        tools.extend(_tool(f"--functions {path}", function) for function in _functions_in(path))
    for target in targets:
        tools.append(_tool(f"-T {target}", _named_function(target)))
    return tools


def _tool(where: str, function: Callable[..., Any]) -> Tool:
    """The function as a tool; one that cannot be is a ConfigError (exit status 3)."""
    from codey._tools import Tool

    try:
        return Tool.from_function(function)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


@contextlib.contextmanager
def _importing(where: str) -> Iterator[None]:
    """What the imported code raises is a ConfigError (exit status 3) naming ``where``,
    its ``sys.exit()`` included (not codey exiting with its status)."""
    try:
        yield
    except SystemExit as exc:
        raise ConfigError(f"{where}: it called sys.exit({exc.code!r}) when imported") from None
    except Exception as exc:
        reason = " ".join(f"{type(exc).__name__}: {exc}".split())
        raise ConfigError(f"{where}: importing it raised {reason}") from exc


def on_terminal() -> bool:
    """Whether a person can answer a question: standard input and error are a terminal."""
    from codey.cli._status import isatty

    return isatty(sys.stdin) and isatty(sys.stderr)


def asker(run: Run, options: dict[str, Any]) -> Optional[Callable[[str], bool]]:
    """How to ask before each tool call: on the terminal, unless ``--yes`` (or no tools)."""
    if not options.get("run_tools") or run.yes:
        return None
    return ask_on_terminal


def _functions_in(path: str) -> list[Callable[..., Any]]:
    if not os.path.isfile(path):
        raise ConfigError(f"--functions {path}: no such file")
    name = "codey_functions_" + "".join(c if c.isalnum() else "_" for c in os.path.basename(path))
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"--functions {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and typing look modules up by name
    with _importing(f"--functions {path}"):
        spec.loader.exec_module(module)
    found: list[Callable[..., Any]] = [
        value
        for key, value in vars(module).items()
        if not key.startswith("_")
        and inspect.isfunction(value)
        and value.__module__ == name  # defined there, not imported
    ]
    if not found:
        raise ConfigError(f"--functions {path}: the file defines no public function")
    return found


def _named_function(target: str) -> Callable[..., Any]:
    module_name, colon, name = target.partition(":")
    if not colon or not module_name or not name:
        raise ConfigError(f"-T {target}: name a function as module:function")
    if _CWD not in sys.path and "" not in sys.path:
        sys.path.insert(0, _CWD)  # as ``python -m`` would, for a module of one's own
    with _importing(f"-T {target}"):
        module = importlib.import_module(module_name)
    function = getattr(module, name, None)
    if not callable(function):
        raise ConfigError(f"-T {target}: {module_name} has no function {name}")
    return function  # type: ignore[no-any-return]


def tool_options(run: Run, interactive: bool) -> dict[str, Any]:
    """``tools``, ``run_tools`` and ``max_tool_rounds`` for codey.stream(), or nothing.

    Off a terminal, tools need ``--yes``: a ConfigError (exit status 3) before anything is
    sent. The provider's own tools (``--server-tool``) run on its servers: no question.
    """
    tools = run.tools()
    if not tools:
        return {"tools": list(run.server_tools)} if run.server_tools else {}
    if not interactive and not run.yes:
        raise ConfigError(
            "tools run only after a yes: codey asks before each call when standard input "
            "and standard error are a terminal; elsewhere, pass --yes to run them unasked"
        )
    options: dict[str, Any] = {"tools": [*tools, *run.server_tools], "run_tools": True}
    if run.max_tool_rounds is not None:
        options["max_tool_rounds"] = run.max_tool_rounds
    return options


def describe_call(name: str, arguments: dict[str, Any]) -> str:
    """``name(a=1, b='x')``, short enough for one line, keys redacted (the model may echo one)."""
    from codey._secrets import redact

    shown = redact(", ".join(f"{key}={value!r}" for key, value in arguments.items()))
    if len(shown) > 200:
        shown = shown[:197] + "..."
    return f"{name}({shown})"


def guarded(tools: Sequence[Any], ask: Callable[[str], bool]) -> list[Any]:
    """The tools, each asking ``ask("Run tool NAME(ARGS)? [y/N] ")`` before it runs
    (a server tool's name, which the provider runs, stays as it is)."""
    import attrs

    def guard(tool: Tool) -> Tool:
        function = tool.function
        assert function is not None

        def run(**arguments: Any) -> Any:
            if not ask(f"Run tool {describe_call(tool.name, arguments)}? [y/N] "):
                raise ToolDeclined("the user did not allow this call")
            return function(**arguments)

        return attrs.evolve(tool, function=run)

    return [tool if isinstance(tool, str) else guard(tool) for tool in tools]


def ask_on_terminal(question: str) -> bool:
    """Ask on standard error; a line starting with y (or yes) from standard input says yes."""
    sys.stderr.write(question)
    sys.stderr.flush()
    answer = sys.stdin.readline()
    if not answer.endswith("\n"):
        sys.stderr.write("\n")
    return answer.strip().lower() in ("y", "yes")
