"""``--mcp`` and ``--mcp-timeout``, and ``codey tools``' own arguments (the other tool
options are in ``_parser``)."""

from __future__ import annotations

import argparse

from codey.cli._argtypes import _positive

TOOLS_HELP = "list the tools of functions and MCP servers"

TOOLS_DESCRIPTION = (
    "Print each tool the functions and MCP servers given (with no --mcp, the config "
    "file's servers) offer: its name, where from, its description and parameters. "
    "Nothing is sent to a model and no tool runs."
)


def mcp_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--mcp",
        action="append",
        metavar="FILE.json|NAME",
        help="the tools of the MCP servers in this file (the mcpServers JSON of Claude "
        "Code's --mcp-config), or of the config file's [mcp_servers.NAME]; each starts "
        "once and stops when codey ends; repeatable",
    )
    group.add_argument(
        "--mcp-timeout",
        type=_positive,
        metavar="SECONDS",
        help="the most seconds one MCP tool call may take (default: 60)",
    )


def tools_arguments(tools: argparse.ArgumentParser) -> None:
    """``codey tools --json`` (its ``tools`` group is the parser's, as ``prompt``'s)."""
    tools.add_argument(
        "--json",
        action="store_true",
        help="one JSON object a line: name, server, file, description, parameters (a schema)",
    )
    tools.set_defaults(command="tools", config_needed=True)
