"""The providers' own tools (web search, web fetch, code execution...) in each wire
format: their definitions in a request, and their calls in an answer as
:class:`~codey.ServerToolCall` values. Messages: Anthropic's server tools;
Responses: OpenAI's and xAI's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from codey._providers._base import approximate, server_tool_options
from codey._types import ServerToolCall

if TYPE_CHECKING:
    from codey._tools import ServerTool

__all__ = [
    "MESSAGES_TOOLS",
    "OPENAI_SERVER_TOOLS",
    "SERVER_EVENTS",
    "XAI_SERVER_TOOLS",
    "messages_call",
    "messages_tool",
    "responses_call",
    "responses_tool",
]

# -- Messages

#: The server tools, by codey's name: the tool's ``type`` (its version), the options
#: it takes, and the ``anthropic-beta`` header the version asks for (or None).
#: web_search_20250305 (every current model; the 20260209 version filters with code
#: execution, on the newest models only):
#: https://platform.claude.com/docs/en/agents-and-tools/tool-use/web-search-tool
#: web_fetch_20250910, still a beta, ``web-fetch-2025-09-10``:
#: https://platform.claude.com/docs/en/agents-and-tools/tool-use/web-fetch-tool
#: code_execution_20250825, generally available (no header; its calls come as
#: ``bash_code_execution`` and ``text_editor_code_execution``):
#: https://platform.claude.com/docs/en/agents-and-tools/tool-use/code-execution-tool
_DOMAINS = ("allowed_domains", "blocked_domains", "max_uses")
MESSAGES_TOOLS: dict[str, tuple[str, tuple[str, ...], Optional[str]]] = {
    "web_search": ("web_search_20250305", (*_DOMAINS, "user_location"), None),
    "web_fetch": ("web_fetch_20250910", _DOMAINS, "web-fetch-2025-09-10"),
    "code_execution": ("code_execution_20250825", (), None),
}
#: The server's own names of its tools' calls (``server_tool_use.name``), as codey names them.
_CALL_NAMES = {
    "bash_code_execution": "code_execution",
    "text_editor_code_execution": "code_execution",
}


def messages_tool(tool: ServerTool) -> dict[str, Any]:
    """``tool`` as a Messages server tool definition."""
    options = server_tool_options(
        "anthropic", tool, {name: row[1] for name, row in MESSAGES_TOOLS.items()}
    )
    definition: dict[str, Any] = {"type": MESSAGES_TOOLS[tool.name][0], "name": tool.name}
    for name, value in options.items():
        definition[name] = approximate(value) if name == "user_location" else value
    for name in ("allowed_domains", "blocked_domains"):
        if name in definition:
            definition[name] = list(definition[name])
    return definition


def messages_call(
    block: dict[str, Any], calls: dict[str, tuple[str, dict[str, Any]]]
) -> Optional[ServerToolCall]:
    """The ServerToolCall a server tool's block says: its ``server_tool_use`` whole (in
    progress), or its result (completed, or failed with the error's code)."""
    kind = block.get("type")
    if kind == "server_tool_use":
        name = str(block.get("name") or "")
        name = _CALL_NAMES.get(name, name)
        given = block.get("input")
        given = given if isinstance(given, dict) else {}
        if block.get("id"):
            calls[str(block["id"])] = (name, given)
        return ServerToolCall(name, given, "in_progress", block.get("id"))
    if not isinstance(kind, str) or not kind.endswith("_tool_result"):
        return None
    call_id = block.get("tool_use_id")
    name, given = calls.get(str(call_id), (kind[: -len("_tool_result")], {}))
    content = block.get("content")
    failed = isinstance(content, dict) and str(content.get("type", "")).endswith("error")
    code = content.get("error_code") if failed and isinstance(content, dict) else None
    return ServerToolCall(
        _CALL_NAMES.get(name, name),
        given,
        "failed" if failed else "completed",
        call_id,
        str(code) if code else None,
    )


# -- Responses

#: The server tools over the Responses API, by codey's name: the options each takes.
#: OpenAI: ``web_search`` (``filters.allowed_domains``, ``user_location``),
#: https://platform.openai.com/docs/guides/tools-web-search, and ``code_interpreter``
#: in a container made for the request,
#: https://platform.openai.com/docs/guides/tools-code-interpreter
OPENAI_SERVER_TOOLS: dict[str, tuple[str, ...]] = {
    "web_search": ("allowed_domains", "user_location"),
    "code_execution": (),
}
#: xAI: ``web_search`` (``allowed_domains``, ``excluded_domains``) and ``x_search``,
#: https://docs.x.ai/docs/guides/tools/search-tools, and ``code_interpreter``,
#: https://docs.x.ai/docs/guides/tools/code-execution-tool
XAI_SERVER_TOOLS: dict[str, tuple[str, ...]] = {
    "web_search": ("allowed_domains", "blocked_domains"),
    "x_search": (),
    "code_execution": (),
}
#: The output items of server tools' calls, as codey names the tool.
_SERVER_ITEMS = {
    "web_search_call": "web_search",
    "code_interpreter_call": "code_execution",
    "x_search_call": "x_search",
}
SERVER_EVENTS = ("response.web_search_call.", "response.code_interpreter_call.")


def responses_tool(tool: ServerTool, xai: bool) -> dict[str, Any]:
    """``tool`` as a Responses tool, in OpenAI's or xAI's form."""
    offered = XAI_SERVER_TOOLS if xai else OPENAI_SERVER_TOOLS
    options = server_tool_options("xai" if xai else "openai", tool, offered)
    if tool.name == "code_execution":
        # OpenAI runs it in a container: "auto" makes one for the request.
        return (
            {"type": "code_interpreter"}
            if xai
            else {
                "type": "code_interpreter",
                "container": {"type": "auto"},
            }
        )
    definition: dict[str, Any] = {"type": tool.name}
    allowed, blocked = options.get("allowed_domains"), options.get("blocked_domains")
    if xai:
        if allowed is not None:
            definition["allowed_domains"] = list(allowed)
        if blocked is not None:
            definition["excluded_domains"] = list(blocked)
    elif allowed is not None:
        definition["filters"] = {"allowed_domains": list(allowed)}
    if "user_location" in options:
        definition["user_location"] = approximate(options["user_location"])
    return definition


def responses_call(item: dict[str, Any]) -> Optional[ServerToolCall]:
    """The ServerToolCall of a server tool's output item (None for any other item)."""
    name = _SERVER_ITEMS.get(str(item.get("type")))
    if name is None:
        return None
    if name == "code_execution":
        given: dict[str, Any] = {"code": item.get("code") or ""}
    else:
        action = item.get("action")
        given = action if isinstance(action, dict) else {}
    return ServerToolCall(name, given, str(item.get("status") or "in_progress"), item.get("id"))
