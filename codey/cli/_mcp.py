"""MCP servers on the command line: ``--mcp FILE.json`` and the config file's servers.

``--mcp`` reads the ``mcpServers`` file that Claude Code's ``--mcp-config``
and most MCP clients read (https://code.claude.com/docs/en/mcp, "Project
scope" and "Environment variable expansion in .mcp.json")::

    {"mcpServers": {
        "git": {"command": "uvx", "args": ["mcp-server-git"], "env": {"TOKEN": "${TOKEN}"}},
        "docs": {"type": "http", "url": "https://example.com/mcp",
                 "headers": {"Authorization": "Bearer ${DOCS_TOKEN}"}}}}

A server is local (``command``, ``args``, ``env``, ``cwd``; ``"type": "stdio"``)
or remote over streamable HTTP (``url``, ``headers``; ``"type": "http"`` or
``"streamable-http"``); ``${VAR}`` and ``${VAR:-default}`` in those values
come from the environment, as Claude Code expands them. Keys other clients
add (``autoApprove``, ``timeout``...) are ignored; ``"disabled": true`` leaves
the server out. The config file's ``[mcp_servers.NAME]`` tables take the same
keys (:func:`server`), and ``--mcp NAME`` names one. Env and header values
are secrets: no message, listing or record shows them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, Optional

import attrs

from codey.cli._config import ConfigError, read_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from codey._mcp import MCP

__all__ = [
    "KEYS",
    "EntryError",
    "ServerSpec",
    "open_server",
    "read_servers",
    "server",
    "servers_named",
]

#: The keys of an entry codey reads (the config file's tables may hold only these).
KEYS = ("type", "command", "args", "env", "cwd", "url", "headers", "disabled")
#: The transports by ``type``: a local subprocess, or streamable HTTP.
_TYPES = {"stdio": "stdio", "http": "http", "streamable-http": "http", "streamable_http": "http"}
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class EntryError(ValueError):
    """What is wrong with one server entry, and the key it is about (for a line number)."""

    def __init__(self, message: str, key: Optional[str] = None) -> None:
        super().__init__(message)
        self.key = key


@attrs.frozen(kw_only=True)
class ServerSpec:
    """One MCP server as a file describes it (env and header values never shown).

    The values are as written, ``${VAR}`` and all, until :meth:`expanded`: so
    ``codey config`` shows no expanded token, and a config file's server whose
    variable is unset fails only when it is used.
    """

    name: str
    #: Where it was described: ``servers.json`` or the config file's path.
    source: str
    #: How an error names the entry: ``--mcp servers.json: mcpServers.git``.
    label: str
    #: The program and its arguments (a local server), or empty.
    command: tuple[str, ...] = ()
    env: Optional[dict[str, str]] = attrs.field(default=None, repr=False)
    cwd: Optional[str] = None
    url: Optional[str] = None
    headers: Optional[dict[str, str]] = attrs.field(default=None, repr=False)

    def expanded(self, environ: Optional[Mapping[str, str]] = None) -> ServerSpec:
        """The server with ``${VAR}`` and ``${VAR:-default}`` replaced from the environment.

        Raises:
            ConfigError: a variable is not set and has no default, or the url is not http(s).
        """
        env = os.environ if environ is None else environ

        def some(values: Optional[dict[str, str]], key: str) -> Optional[dict[str, str]]:
            if values is None:
                return None
            return {name: _expand(value, f"{key}.{name}", env) for name, value in values.items()}

        try:
            url = None if self.url is None else _expand(self.url, "url", env)
            if url is not None and not url.startswith(("http://", "https://")):
                raise EntryError("url must start with http:// or https://")
            return attrs.evolve(
                self,
                command=tuple(_expand(part, "command/args", env) for part in self.command),
                env=some(self.env, "env"),
                cwd=None if self.cwd is None else _expand(self.cwd, "cwd", env),
                url=url,
                headers=some(self.headers, "headers"),
            )
        except EntryError as exc:
            raise ConfigError(f"{self.label}: {exc}") from None


def server(name: str, entry: object, source: str, label: str) -> Optional[ServerSpec]:
    """The server an entry describes (None when it says ``"disabled": true``).

    Raises:
        EntryError: a wrong key or value.
    """
    if not isinstance(entry, dict):
        raise EntryError(f"must be an object with command or url, not {_kind(entry)}")
    disabled = entry.get("disabled", False)
    if not isinstance(disabled, bool):
        raise EntryError("disabled must be true or false", "disabled")
    if disabled:
        return None
    kind = entry.get("type")
    if kind is None:
        kind = "stdio" if "command" in entry or "url" not in entry else "http"
    if not isinstance(kind, str) or kind not in _TYPES:
        raise EntryError(
            f'type {kind!r} is not supported: codey starts local servers ("stdio") and '
            'reaches remote ones over streamable HTTP ("http")',
            "type",
        )
    if _TYPES[kind] == "stdio":
        for key in ("url", "headers"):
            if key in entry:
                raise EntryError(f"a local (stdio) server takes command, not {key}", key)
        args = entry.get("args", [])
        if not isinstance(args, list):
            raise EntryError(f"args must be a list of strings, not {_kind(args)}", "args")
        cwd = entry.get("cwd")
        return ServerSpec(
            name=name,
            source=source,
            label=label,
            command=(
                _text(entry.get("command"), "command"),
                *(_text(arg, "args", empty=True) for arg in args),
            ),
            env=_strings(entry.get("env"), "env"),
            cwd=None if cwd is None else _text(cwd, "cwd"),
        )
    for key in ("command", "args", "env", "cwd"):
        if key in entry:
            raise EntryError(f"a remote (http) server takes url, not {key}", key)
    url = _text(entry.get("url"), "url")
    if not url.startswith(("http://", "https://", "${")):
        raise EntryError("url must start with http:// or https://", "url")
    return ServerSpec(
        name=name,
        source=source,
        label=label,
        url=url,
        headers=_strings(entry.get("headers"), "headers"),
    )


def read_servers(path: str) -> list[ServerSpec]:
    """The servers of an ``mcpServers`` file; anything wrong is a ConfigError naming the
    file (and the entry)."""
    import json

    try:
        text = read_text(path)
    except FileNotFoundError:
        raise ConfigError(f"--mcp {path}: no such file", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"--mcp {path}: cannot read it: {reason}", path=path) from None
    except ConfigError as exc:
        raise ConfigError(f"--mcp {exc}", path=path) from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"--mcp {path}: not JSON: {exc}", path=path) from None
    table = data.get("mcpServers") if isinstance(data, dict) else None
    if not isinstance(table, dict):
        raise ConfigError(
            f'--mcp {path}: not an MCP servers file: it needs {{"mcpServers": {{"NAME": '
            '{"command": ...} or {"url": ...}}}',
            path=path,
        )
    found = []
    for name, entry in table.items():
        label = f"--mcp {path}: mcpServers.{name}"
        try:
            spec = server(name, entry, path, label)
        except EntryError as exc:
            raise ConfigError(f"{label}: {exc}", path=path) from None
        if spec is not None:
            found.append(spec)
    return found


def servers_named(
    values: tuple[str, ...], configured: Mapping[str, ServerSpec]
) -> list[ServerSpec]:
    """The servers of ``--mcp`` values, a FILE.json or the NAME of a config-file server,
    their ``${VAR}`` expanded."""
    found: list[ServerSpec] = []
    for value in values:
        if value in configured and not value.lower().endswith(".json"):
            found.append(configured[value])
        elif os.path.exists(value) or value.lower().endswith(".json") or os.sep in value:
            found.extend(read_servers(value))
        else:
            known = ", ".join(configured) or "none"
            raise ConfigError(
                f"--mcp {value}: no such file, and the config file names no MCP server "
                f"{value} (its servers: {known})"
            )
    names = [spec.name for spec in found]
    for spec in found:
        if names.count(spec.name) > 1:
            raise ConfigError(f"--mcp: two servers are named {spec.name!r}")
    return [spec.expanded() for spec in found]


def open_server(spec: ServerSpec, timeout: Optional[float]) -> MCP:
    """The ``codey.MCP`` for a server, not yet open."""
    import codey

    options: dict[str, Any] = {"name": spec.name}
    if timeout is not None:
        options["timeout"] = timeout
    if spec.url is not None:
        return codey.MCP(url=spec.url, headers=spec.headers, **options)
    return codey.MCP(command=list(spec.command), env=spec.env, cwd=spec.cwd, **options)


# -- values ------------------------------------------------------------------


def _text(value: object, key: str, empty: bool = False) -> str:
    if not isinstance(value, str):
        what = "missing" if value is None else f"{_kind(value)}, not a string"
        raise EntryError(f"{key} is {what}", key)
    if not value and not empty:
        raise EntryError(f"{key} must not be empty", key)
    return value


def _strings(value: object, key: str) -> Optional[dict[str, str]]:
    """``env`` or ``headers``: names to strings (the values, secrets, never in a message)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise EntryError(f"{key} must be an object of names to strings, not {_kind(value)}", key)
    checked = {}
    for name, item in value.items():
        if not isinstance(item, str):
            raise EntryError(f"{key}.{name} must be a string, not {_kind(item)}", key)
        checked[name] = item
    return checked


def _expand(value: str, key: str, environ: Mapping[str, str]) -> str:
    """``${VAR}`` and ``${VAR:-default}`` replaced from the environment."""

    def value_of(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = environ.get(name)
        if found is None or (found == "" and default is not None):
            if default is None:
                raise EntryError(f"{key} names ${{{name}}}, which is not set", key)
            return default
        return found

    return _VARIABLE.sub(value_of, value) if "${" in value else value


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "null" if value is None else type(value).__name__
