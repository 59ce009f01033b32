"""The providers' own tools in a request: the definitions each API takes, and its
400 for one it does not (an unknown type, a missing field or beta header, an option
the tool lacks), in the API's words."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from codey.testing._replies import Reply, error
from codey.testing._requests import _route

#: The tool types Messages takes (``custom`` being a function tool), each with the
#: fields it takes besides ``type``, ``name`` and ``cache_control``; and the
#: ``anthropic-beta`` header a version needs. Sources: the web search, web fetch
#: and code execution tool pages of platform.claude.com (read 2026-12-07).
_DOMAINS = ("allowed_domains", "blocked_domains", "max_uses")
_ANTHROPIC: Mapping[str, tuple[str, ...]] = {
    "custom": ("description", "input_schema"),
    "bash_20250124": (),
    "code_execution_20250522": (),
    "code_execution_20250825": (),
    "code_execution_20260120": (),
    "text_editor_20250728": ("max_characters",),
    "web_fetch_20250910": (*_DOMAINS, "citations", "max_content_tokens"),
    "web_fetch_20260209": (*_DOMAINS, "citations", "max_content_tokens"),
    "web_search_20250305": (*_DOMAINS, "user_location"),
    "web_search_20260209": (*_DOMAINS, "user_location"),
}
_BETAS = {
    "code_execution_20250522": "code-execution-2025-05-22",
    "web_fetch_20250910": "web-fetch-2025-09-10",
}
#: The Responses API's tool types and the fields of the server ones: OpenAI's
#: (https://platform.openai.com/docs/api-reference/responses/create) and xAI's
#: (https://docs.x.ai/docs/guides/tools/overview).
_OPENAI: Mapping[str, Optional[tuple[str, ...]]] = {
    "function": None,
    "file_search": None,
    "computer_use_preview": None,
    "web_search": ("filters", "user_location", "search_context_size"),
    "web_search_preview": ("user_location", "search_context_size"),
    "mcp": None,
    "code_interpreter": ("container",),
    "image_generation": None,
    "local_shell": None,
    "custom": None,
}
_XAI: Mapping[str, Optional[tuple[str, ...]]] = {
    "function": None,
    "web_search": ("allowed_domains", "excluded_domains", "enable_image_understanding"),
    "x_search": ("allowed_x_handles", "excluded_x_handles", "from_date", "to_date"),
    "code_interpreter": (),
    "file_search": None,
    "mcp": None,
}


def _server_tools(request: Any) -> Optional[Reply]:
    """The API's 400 for a request whose tools it does not take, else None."""
    body = request.json
    provider, kind = _route(request.path)
    tools = body.get("tools") if isinstance(body, dict) else None
    if not isinstance(tools, list):
        return None
    for number, tool in enumerate(tools):
        if not isinstance(tool, dict):
            continue
        if kind == "messages":
            message = _anthropic(number, tool, request.headers.get("anthropic-beta") or "")
        elif kind == "responses":
            message = _responses(number, tool, _XAI if provider == "xai" else _OPENAI)
        else:
            message = None
        if message is not None:
            return error(400, message)
    return None


def _anthropic(number: int, tool: dict[str, Any], betas: str) -> Optional[str]:
    kind = str(tool.get("type") or "custom")
    if kind not in _ANTHROPIC:
        tags = ", ".join(f"'{tag}'" for tag in sorted(_ANTHROPIC))
        return (
            f"tools.{number}: Input tag '{kind}' found using 'type' does not match any "
            f"of the expected tags: {tags}"
        )
    for field in tool:
        if field not in ("type", "name", "cache_control", *_ANTHROPIC[kind]):
            return f"tools.{number}.{kind}.{field}: Extra inputs are not permitted"
    beta = _BETAS.get(kind)
    if beta is not None and beta not in [part.strip() for part in betas.split(",")]:
        return f"tools.{number}: the tool '{kind}' needs the header 'anthropic-beta: {beta}'"
    return None


def _responses(
    number: int, tool: dict[str, Any], types: Mapping[str, Optional[tuple[str, ...]]]
) -> Optional[str]:
    kind = str(tool.get("type"))
    if kind not in types:
        values = ", ".join(f"'{value}'" for value in types)
        return f"Invalid value: '{kind}'. Supported values are: {values}."
    fields = types[kind]
    if fields is None:
        return None
    for field in tool:
        if field != "type" and field not in fields:
            return f"Unknown parameter: 'tools[{number}].{field}'."
    if "container" in fields and "container" not in tool:
        return f"Missing required parameter: 'tools[{number}].container'."
    return None
