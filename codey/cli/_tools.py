"""``--attach``, ``--functions``, ``--tool`` and ``--mcp``: attachments and tools from the
command line.

Tools run only with a yes: on a terminal codey asks before each call
(``Run tool NAME(ARGS)? [y/N]`` on standard error); with ``--yes`` it does
not ask, nor for a tool named by ``--allow-tool``; anywhere else (standard
input or error not a terminal), unless every tool offered is allowed or
``--yes`` is given, it refuses before anything is sent, naming the tools
that need a yes, because a pipe cannot answer and running code unasked is
not a default (and offering the model fewer tools than asked for, silently,
would be a surprise). An ``--allow-tool`` name that no tool has is a usage
error: a typo would otherwise leave the tool asking, or refused.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import os
import sys

import attrs

from codey.cli._config import ConfigError
from codey.cli._exit import UsageError
from codey.cli._io import InputError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Collection, Iterator, Sequence
    from contextlib import ExitStack
    from typing import Any, Callable, Optional

    from codey._attachments import Attachment
    from codey._chatlog import Chat
    from codey._tools import Tool
    from codey.cli._context import Run
    from codey.cli._mcp import ServerSpec

__all__ = [
    "Offered",
    "ToolDeclined",
    "ask_on_terminal",
    "asker",
    "attach_to_prompt",
    "attachments",
    "describe_call",
    "guarded",
    "list_tools",
    "load_tools",
    "on_terminal",
    "read_stdin_bytes",
    "tool_options",
]

#: Where ``-T module:function`` imports from, besides sys.path: the current directory.
_CWD = "."


class ToolDeclined(Exception):
    """The person at the terminal said no; the model is told so."""


@attrs.frozen
class Offered:
    """A tool offered to the model, and where it comes from."""

    tool: Tool
    #: The ``--functions`` file, the ``-T`` target, or the file that describes the server.
    file: str
    #: The MCP server's name (None for a function).
    server: Optional[str] = None

    @property
    def source(self) -> str:
        """``tools.py`` or ``server git, servers.json``: where ``codey tools`` says it is from."""
        return self.file if self.server is None else f"server {self.server}, {self.file}"


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
    messages = list(chat.messages)
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role == "user":
            message = messages[index]
            messages[index] = attrs.evolve(message, attachments=(*message.attachments, *found))
            return attrs.evolve(chat, messages=messages)
    raise InputError("-a/--attach: the chat log has no user message to attach to")


def load_tools(
    functions: Sequence[str],
    targets: Sequence[str],
    servers: Sequence[ServerSpec] = (),
    resources: Optional[ExitStack] = None,
    timeout: Optional[float] = None,
    status_delay: Optional[float] = None,
) -> list[Offered]:
    """The tools of ``--functions FILE.py`` (its public functions), ``-T module:function``
    and the MCP servers, each started and put in ``resources`` to be closed at the end
    (``Run.tools`` loads them once per run). Two tools of one name are a ConfigError."""
    offered: list[Offered] = []
    for path in functions:
        offered.extend(
            Offered(_tool(f"--functions {path}", function), path)
            for function in _functions_in(path)
        )
    for target in targets:
        offered.append(Offered(_tool(f"-T {target}", _named_function(target)), target))
    if servers:  # SIGTERM and SIGHUP unwind too, so the servers stop before codey does
        from codey.cli._signals import terminate_on_signals

        assert resources is not None
        resources.enter_context(terminate_on_signals())
        for spec in servers:
            offered.extend(
                Offered(tool, spec.source, spec.name)
                for tool in _serve(spec, resources, timeout, status_delay)
            )
    seen: dict[str, Offered] = {}
    for item in offered:
        first = seen.setdefault(item.tool.name, item)
        if first is not item:
            raise ConfigError(
                f"two tools are named {item.tool.name!r}: one from {first.source}, "
                f"one from {item.source}"
            )
    return offered


def _serve(
    spec: ServerSpec, resources: ExitStack, timeout: Optional[float], delay: Optional[float]
) -> list[Tool]:
    """Start the server (it stops when ``resources`` closes) and list its tools; one that
    does not start is the library's MCPError (exit status 1), naming it. On a terminal, a
    status line says so while it starts (``npx`` or ``uvx`` may first download it)."""
    from time import monotonic

    from codey.cli._mcp import open_server
    from codey.cli._status import StatusLine, Terminal, status_delay

    started, after = monotonic(), status_delay(delay)

    def starting() -> Optional[str]:
        waited = monotonic() - started
        return (
            None
            if waited < after
            else f"codey: starting the MCP server {spec.name!r}: {waited:.0f} s"
        )

    with StatusLine(Terminal(sys.stdout, sys.stderr), starting):
        return list(resources.enter_context(open_server(spec, timeout)).tools)


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

    Off a terminal, tools need ``--yes`` (or ``--allow-tool`` for each): a ConfigError
    (exit status 3) before anything is sent. An ``--allow-tool`` name no tool has is a
    UsageError (exit status 2). The provider's own tools (``--server-tool``) run on its
    servers: no question.
    """
    tools = run.tools()
    names = [tool.name for tool in tools]
    for name in run.allow_tools:
        if name not in names:
            raise UsageError(
                f"argument --allow-tool: no tool offered is named {name!r} "
                f"(the tools: {', '.join(names) or 'none'})"
            )
    if not tools:
        return {"tools": list(run.server_tools)} if run.server_tools else {}
    asked = [name for name in names if name not in run.allow_tools]
    if asked and not interactive and not run.yes:
        raise ConfigError(
            "tools run only after a yes: codey asks before each call when standard input "
            "and standard error are a terminal; elsewhere, pass --yes to run them unasked, "
            f"or --allow-tool NAME for each of {', '.join(asked)}"
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


def guarded(
    tools: Sequence[Any], ask: Callable[[str], bool], allowed: Collection[str] = ()
) -> list[Any]:
    """The tools, each asking ``ask("Run tool NAME(ARGS)? [y/N] ")`` before it runs
    (except those ``allowed``, by name, and a server tool's name: the provider runs it)."""

    def guard(tool: Tool) -> Tool:
        if tool.name in allowed:
            return tool
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


def list_tools(offered: Sequence[Offered], as_json: bool) -> str:
    """What ``codey tools`` prints: each tool, where from, its description and parameters
    (one a line), or with ``as_json`` one JSON object a line (the parameters' schema)."""
    import json

    if as_json:
        return "".join(
            json.dumps(
                {
                    "name": item.tool.name,
                    "server": item.server,
                    "file": item.file,
                    "description": item.tool.description,
                    "parameters": item.tool.parameters,
                },
                ensure_ascii=False,
            )
            + "\n"
            for item in offered
        )
    blocks = []
    for item in offered:
        lines = [f"{item.tool.name}  ({item.source})"]
        description = " ".join(item.tool.description.split())
        if description:
            lines.append(f"    {description}")
        schema = item.tool.parameters
        required = schema.get("required") or ()
        for name, parameter in (schema.get("properties") or {}).items():
            lines.append(f"    {_parameter(name, parameter, name in required)}")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def _parameter(name: str, schema: Any, required: bool) -> str:
    """``city: string, required: the city's name``."""
    if not isinstance(schema, dict):
        return f"{name}: any"
    text = f"{name}: {_type_of(schema)}"
    if required:
        text += ", required"
    if "default" in schema:
        text += f", default {_json_text(schema['default'])}"
    description = " ".join(str(schema.get("description") or "").split())
    return f"{text}: {description}" if description else text


def _type_of(schema: Any) -> str:
    """A JSON schema's type in a few words: ``string``, ``array of integer``, ``"a" or "b"``."""
    if not isinstance(schema, dict):
        return "any"
    if "enum" in schema and isinstance(schema["enum"], list):
        return " or ".join(_json_text(value) for value in schema["enum"])
    if "const" in schema:
        return _json_text(schema["const"])
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            return " or ".join(_type_of(option) for option in schema[key])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(str(item) for item in kind)
    if kind == "array":
        return f"array of {_type_of(schema.get('items', {}))}"
    return str(kind) if kind else "any"


def _json_text(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)
