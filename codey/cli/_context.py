"""One run of the command line: what the commands read, built once from the parsed arguments.

:func:`from_args` is the one place that reads the argparse Namespace; the
commands take a :class:`Run`. The request flags stay a Namespace inside it,
read only by ``codey.cli._options`` (flags + chat log + config file →
request options, the home of the flag → keyword mapping).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Optional

import attrs

from codey.cli._batch_args import DEFAULT_PARALLEL

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from codey._chatlog import Chat, ChatSettings
    from codey._tools import Tool
    from codey._types import Message
    from codey.cli._answer import Show
    from codey.cli._config import Config
    from codey.cli._mcp import ServerSpec
    from codey.cli._tools import Offered

__all__ = ["Run", "from_args", "needs_config", "problem"]


def _tuple(value: Any) -> tuple[str, ...]:
    """A repeatable flag (a list, or None when not given) or a single one, as a tuple."""
    if value is None:
        return ()
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


@attrs.frozen(kw_only=True, eq=False)
class Run:
    """The command, its options, the config file and the loaded tools."""

    command: str
    #: The config file, loaded (None for a command that needs none).
    loaded_config: Optional[Config] = None
    #: INPUT: the prompt, the batch file or the text to render.
    input: Optional[str] = None
    #: ``--encoding`` and ``--errors``: how input bytes are decoded.
    encoding: str = "utf-8"
    errors: str = "strict"
    raw: bool = False
    #: ``-m``, each time given (``codey prompt`` takes several).
    models: tuple[str, ...] = ()
    #: The chat-log file of ``save`` and ``chat``.
    file: Optional[str] = None
    attach: tuple[str, ...] = ()
    attach_from: tuple[str, ...] = ()
    add_delimiters: bool = False
    events: bool = False
    #: ``--functions`` files and ``-T`` targets, and whether they run unasked.
    functions: tuple[str, ...] = ()
    tool_targets: tuple[str, ...] = ()
    #: ``--mcp`` files (or config-file server names), and ``--mcp-timeout``.
    mcp: tuple[str, ...] = ()
    mcp_timeout: Optional[float] = None
    yes: bool = False
    #: ``--allow-tool``: the tools that run unasked.
    allow_tools: tuple[str, ...] = ()
    max_tool_rounds: Optional[int] = None
    #: ``--server-tool``: the provider's own tools, by name.
    server_tools: tuple[str, ...] = ()
    #: ``--schema``: already made a Schema by the parser.
    schema: Any = None
    #: ``codey batch``'s own options.
    output: Optional[str] = None
    column: Optional[str] = None
    retries: Optional[int] = None
    parallel: int = DEFAULT_PARALLEL
    provider_batch: bool = False
    resume: bool = False
    poll_interval: Optional[float] = None
    #: ``codey models``: ``--all``, ``--json``, ``--refresh`` and ``--check [FILE]``.
    show_all: bool = False
    as_json: bool = False
    refresh: bool = False
    check_names: Optional[str] = None
    #: ``codey config --path`` and ``codey completion SHELL``.
    path: bool = False
    shell: Optional[str] = None
    #: The request and output flags, for ``codey.cli._options`` only.
    flags: argparse.Namespace
    _tools: list[list[Offered]] = attrs.field(factory=list, init=False, repr=False)
    #: What closes at the end of the run, however it ends: the MCP servers.
    _resources: contextlib.ExitStack = attrs.field(
        factory=contextlib.ExitStack, init=False, repr=False
    )

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._resources.close()

    @property
    def config(self) -> Config:
        if self.loaded_config is None:
            raise RuntimeError(f"codey {self.command} loads no config file")
        return self.loaded_config

    @property
    def model(self) -> Optional[str]:
        """``-m`` for the commands that take one model."""
        return self.models[0] if self.models else None

    def tools(self) -> list[Tool]:
        """The tools of ``--functions``, ``-T`` and ``--mcp``, loaded once per run
        (``codey chat`` asks at every turn); the MCP servers stay open until the run ends."""
        return [offered.tool for offered in self.offered()]

    def offered(self) -> list[Offered]:
        """The tools with where each comes from (``codey tools`` lists them)."""
        if not self._tools:
            from codey.cli._tools import load_tools

            servers = self.mcp
            if self.command == "tools" and not servers:  # every server the config file names
                servers = tuple(self.config.mcp_servers)
            self._tools.append(
                load_tools(
                    self.functions,
                    self.tool_targets,
                    self.mcp_servers(servers),
                    self._resources,
                    self.mcp_timeout,
                    self.config.status_delay,
                )
            )
        return list(self._tools[0])

    def mcp_servers(self, values: Sequence[str]) -> list[ServerSpec]:
        """The servers of ``--mcp`` values: files, or the config file's server names."""
        if not values:
            return []
        from codey.cli._mcp import servers_named

        return servers_named(tuple(values), self.config.mcp_servers)

    def request_options(self, model: str, chat: Chat) -> dict[str, Any]:
        """The keywords for codey.stream(): the model, and only the options given."""
        from codey.cli._options import request_options

        return request_options(self.flags, self.config, model, chat)

    def model_options(self, model: str, messages: Sequence[Message]) -> dict[str, Any]:
        """The model and the options given for it (flag, else the config file's)."""
        from codey.cli._options import model_options

        return model_options(self.flags, self.config, model, messages)

    def show(self, settings: Optional[ChatSettings]) -> Show:
        """What to print, and how (``--chunk``, ``--events``, ``--usage``...)."""
        from codey.cli._options import show_for

        return show_for(self.flags, self.config, settings)


def problem(args: argparse.Namespace) -> Optional[str]:
    """What is wrong with the arguments together (the command's own check), if anything."""
    effort, old = getattr(args, "effort", None), getattr(args, "reasoning_effort", None)
    if effort and old and effort != old:
        return "argument --effort: not allowed with a different --reasoning-effort (its old name)"
    check = getattr(args, "check", None)
    return check(args) if check is not None else None


def needs_config(args: argparse.Namespace) -> bool:
    """Whether the command reads the config file."""
    return bool(getattr(args, "config_needed", False))


def from_args(args: argparse.Namespace, config: Optional[Config] = None) -> Run:
    """The run the parsed arguments describe (the one reader of the Namespace)."""

    def get(name: str, default: Any = None) -> Any:
        value = getattr(args, name, default)
        return default if value is None else value

    return Run(
        command=args.command,
        loaded_config=config,
        input=get("input"),
        encoding=get("encoding", "utf-8"),
        errors=get("errors", "strict"),
        raw=get("raw", False),
        models=_tuple(get("model")),
        file=get("file"),
        attach=_tuple(get("attach")),
        attach_from=_tuple(get("attach_from")),
        add_delimiters=get("add_delimiters", False),
        events=get("events", False),
        functions=_tuple(get("functions")),
        tool_targets=_tuple(get("tool")),
        mcp=_tuple(get("mcp")),
        mcp_timeout=get("mcp_timeout"),
        yes=get("yes", False),
        allow_tools=_tuple(get("allow_tool")),
        max_tool_rounds=get("max_tool_rounds"),
        server_tools=_tuple(get("server_tool")),
        schema=get("schema"),
        output=get("output"),
        column=get("column"),
        retries=get("retries"),
        parallel=get("parallel", DEFAULT_PARALLEL),
        provider_batch=get("provider_batch", False),
        resume=get("resume", False),
        poll_interval=get("poll_interval"),
        show_all=get("all", False),
        as_json=get("json", False),
        refresh=get("refresh", False),
        check_names=getattr(args, "check_names", None),
        path=get("path", False),
        shell=get("shell"),
        flags=args,
    )
