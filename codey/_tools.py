"""Tools: Python functions the model may call.

:meth:`Tool.from_function` makes a tool's JSON schema from the function's
signature and type hints (``str``, ``int``, ``float``, ``bool``, ``None``,
``list[...]``, ``tuple[...]``, ``dict[str, ...]``, ``Optional``, ``Union``,
``Literal``, enums; a parameter with a default is not required) and its
docstring (the first paragraph describes the tool; ``:param x:`` lines or a
Google-style ``Args:`` section describe the parameters). :func:`run_call`
runs one call as the tool loop does: whatever the function raises becomes
an error result for the model, and is kept.
"""

from __future__ import annotations

import inspect
import json
import re
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Callable, Optional, Union, cast

import attrs

from codey._attachments import Attachment
from codey._errors import ToolCallError
from codey._options import SERVER_TOOLS
from codey._secrets import redact, scrub
from codey._types import ToolCall, ToolCallDelta, ToolResult

if TYPE_CHECKING:
    from codey._mcp import MCP

__all__ = [
    "MAX_TOOL_OUTPUT",
    "ServerTool",
    "Tool",
    "assemble_calls",
    "run_call",
    "schema_of",
    "server_tools",
    "to_tools",
]

#: The most characters of one tool result sent to the model (about 25,000 tokens);
#: beyond it the text is cut, with a note saying so (a 50 MB result would cost a
#: long upload, then be refused by the provider or crowd out the conversation).
MAX_TOOL_OUTPUT = 100_000
_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


@attrs.frozen
class Tool:
    """A function the model may call: its name, description and JSON-schema parameters.

    ``function`` is what the tool loop calls, with the arguments as keywords;
    it may be None for a tool only described to the model.
    """

    name: str
    description: str
    parameters: dict[str, Any] = attrs.field(eq=False)
    function: Optional[Callable[..., Any]] = attrs.field(default=None, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if not _NAME_RE.match(self.name):
            raise ValueError(
                f"a tool's name must be 1 to 64 letters, digits, _ or -, not {self.name!r}"
            )

    @classmethod
    def from_function(
        cls,
        function: Callable[..., Any],
        *,
        name: Optional[str] = None,
        description: Optional[str] = None,
    ) -> Tool:
        """The tool for ``function``: schema from its hints, descriptions from its docstring."""
        summary, notes = _read_docstring(inspect.getdoc(function) or "")
        return cls(
            name=name or str(getattr(function, "__name__", "")),
            description=summary if description is None else description,
            parameters=schema_of(function, notes),
            function=function,
        )


def _server_tool_name(instance: object, attribute: object, value: str) -> None:
    if value not in SERVER_TOOLS:
        raise ValueError(f"a server tool is one of {', '.join(SERVER_TOOLS)}, not {value!r}")


def _domains(value: Optional[Iterable[str]]) -> Optional[tuple[str, ...]]:
    if value is None:
        return None
    if isinstance(value, str):
        raise TypeError("a list of domains must be a list of strings, not one string")
    return tuple(value)


@attrs.frozen
class ServerTool:
    """A tool the provider runs on its own servers (``tools=[ServerTool("web_search")]``,
    or the name alone: ``tools=["web_search"]``), with the options the providers
    share. An option a provider lacks is an ``UnsupportedOptionError`` naming it,
    raised before anything is sent; so is a tool the provider does not offer.
    """

    #: ``web_search``, ``web_fetch``, ``code_execution`` or ``x_search`` (xAI's).
    name: str = attrs.field(validator=_server_tool_name)
    #: Only these domains are searched or fetched (``example.com`` covers its subdomains).
    allowed_domains: Optional[tuple[str, ...]] = attrs.field(default=None, converter=_domains)
    #: These domains never are.
    blocked_domains: Optional[tuple[str, ...]] = attrs.field(default=None, converter=_domains)
    #: At most this many uses of the tool in one request.
    max_uses: Optional[int] = None
    #: Where the user roughly is, for local results: any of ``city``, ``region``,
    #: ``country`` (two letters) and ``timezone`` (IANA).
    user_location: Optional[dict[str, str]] = attrs.field(default=None, hash=False)

    def __attrs_post_init__(self) -> None:
        if self.max_uses is not None and (
            isinstance(self.max_uses, bool)
            or not isinstance(self.max_uses, int)
            or self.max_uses < 1
        ):
            raise ValueError(f"max_uses must be a positive int, not {self.max_uses!r}")
        if self.user_location is not None:
            unknown = set(self.user_location) - set(LOCATION_FIELDS)
            if unknown:
                raise ValueError(
                    f"user_location takes {', '.join(LOCATION_FIELDS)}, not "
                    f"{', '.join(sorted(unknown))}"
                )

    def options(self) -> dict[str, Any]:
        """The options given (not None), by name."""
        names = ("allowed_domains", "blocked_domains", "max_uses", "user_location")
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}


#: The fields of ``ServerTool.user_location``.
LOCATION_FIELDS = ("city", "region", "country", "timezone")


def to_tools(
    tools: Iterable[Union[Tool, ServerTool, str, Callable[..., Any], MCP]],
) -> tuple[Tool, ...]:
    """``tools=`` as Tool values: functions made into tools, each MCP server's tools
    (the server is opened if it is not yet); names must differ. The provider's own
    tools among them are :func:`server_tools`'s."""
    if _is_server(tools):
        tools = [tools]  # type: ignore[list-item]
    if isinstance(tools, (str, bytes)) or callable(tools):
        raise TypeError("tools must be a list of functions, codey.Tool or codey.MCP values")
    result: list[Tool] = []
    for item in tools:
        if isinstance(item, Tool):
            result.append(item)
        elif isinstance(item, (str, ServerTool)):
            continue  # the provider runs it: server_tools()
        elif _is_server(item):
            result.extend(cast("MCP", item).tools)
        else:
            result.append(Tool.from_function(cast("Callable[..., Any]", item)))
    names = [tool.name for tool in result]
    for tool_name in names:
        if names.count(tool_name) > 1:
            raise ValueError(f"two tools are named {tool_name!r}")
    return tuple(result)


def _is_server(value: object) -> bool:
    """Whether ``value`` is a codey.MCP: told by its ``tools`` (codey._mcp imports this
    module, so this one does not import it)."""
    return not callable(value) and isinstance(getattr(type(value), "tools", None), property)


def server_tools(tools: Iterable[Any]) -> tuple[ServerTool, ...]:
    """``tools=``'s server tools: ``ServerTool`` values, and names given alone
    (``"web_search"``); each tool at most once."""
    if _is_server(tools):  # one MCP server given alone
        return ()
    result = tuple(
        item if isinstance(item, ServerTool) else ServerTool(item)
        for item in tools
        if isinstance(item, (str, ServerTool))
    )
    names = [tool.name for tool in result]
    for tool_name in names:
        if names.count(tool_name) > 1:
            raise ValueError(f"the server tool {tool_name!r} is given twice")
    return result


# -- schemas ------------------------------------------------------------------


def schema_of(
    function: Callable[..., Any], notes: Optional[Mapping[str, str]] = None
) -> dict[str, Any]:
    """The JSON schema of ``function``'s parameters (an object with properties)."""
    name = getattr(function, "__name__", repr(function))
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"cannot read the signature of {name}: {exc}") from None
    try:
        hints = typing.get_type_hints(function)
    except Exception as exc:  # a hint that names what is not there, or 3.10 syntax on 3.9
        raise ValueError(f"cannot read the type hints of {name}: {exc}") from None
    properties: dict[str, Any] = {}
    required: list[str] = []
    for parameter in signature.parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise ValueError(f"a tool takes named parameters: {name} has *{parameter.name}")
        if parameter.kind is parameter.POSITIONAL_ONLY:
            raise ValueError(
                f"a tool takes named parameters: {name}'s {parameter.name} is positional"
            )
        hint = hints.get(parameter.name, inspect.Parameter.empty)
        try:
            schema = {} if hint is inspect.Parameter.empty else _schema(hint)
        except ValueError as exc:
            raise ValueError(f"{name}'s parameter {parameter.name}: {exc}") from None
        text = (notes or {}).get(parameter.name, "")
        if parameter.default is inspect.Parameter.empty:
            required.append(parameter.name)
        elif isinstance(parameter.default, (str, int, float, bool, type(None))):
            shown = json.dumps(parameter.default, ensure_ascii=False)
            text = f"{text} (default: {shown})" if text else f"default: {shown}"
        if text:
            schema = {**schema, "description": text}
        properties[parameter.name] = schema
    result: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        result["required"] = required
    return result


def _schema(hint: Any) -> dict[str, Any]:
    """The JSON schema of one type hint: the same mapping as ``schema=`` uses."""
    from codey._schema import type_to_schema

    return type_to_schema(hint)


_PARAM_RE = re.compile(r"^:param\s+(?:[^:]*\s)?(\w+):\s*(.*)$")
_ARGS_HEADINGS = ("Args:", "Arguments:", "Parameters:", "Params:")
_GOOGLE_RE = re.compile(r"^(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def _read_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """(the first paragraph, joined; each parameter's description)."""
    summary = " ".join(doc.strip().split("\n\n", 1)[0].split()) if doc.strip() else ""
    if summary.startswith((":", *_ARGS_HEADINGS)):
        summary = ""
    notes: dict[str, str] = {}
    current: Optional[str] = None
    in_args = False
    args_indent = item_indent = 0
    for line in doc.splitlines():
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        match = _PARAM_RE.match(stripped)
        if match:
            current, in_args = match.group(1), False
            notes[current] = match.group(2).strip()
            continue
        if stripped in _ARGS_HEADINGS:
            in_args, current, args_indent = True, None, indent
            continue
        if in_args:
            if stripped and indent <= args_indent:
                in_args, current = False, None  # the next section
            elif stripped:
                match = _GOOGLE_RE.match(stripped)
                if match and (current is None or indent <= item_indent):
                    current, item_indent = match.group(1).lstrip("*"), indent
                    notes[current] = match.group(2).strip()
                elif current is not None:
                    notes[current] = f"{notes[current]} {stripped}".strip()
            continue
        if current is not None:
            if stripped and not stripped.startswith(":"):
                notes[current] = f"{notes[current]} {stripped}".strip()
            else:
                current = None
    return summary, notes


# -- calls ----------------------------------------------------------------------


def assemble_calls(deltas: Sequence[ToolCallDelta]) -> tuple[ToolCall, ...]:
    """Whole calls from streamed pieces: grouped by index, in the order they began."""
    order: list[int] = []
    ids: dict[int, Optional[str]] = {}
    names: dict[int, str] = {}
    pieces: dict[int, list[str]] = {}
    for delta in deltas:
        if delta.index not in pieces:
            order.append(delta.index)
            pieces[delta.index] = []
            ids[delta.index] = None
            names[delta.index] = ""
        if delta.id:
            ids[delta.index] = delta.id
        # Chat Completions deltas may split the name; some servers (llama.cpp,
        # OpenRouter's Kimi K2) repeat it whole in every delta: that is the name.
        if delta.name and delta.name != names[delta.index]:
            names[delta.index] += delta.name
        pieces[delta.index].append(delta.arguments)
    return tuple(
        ToolCall(
            id=ids[index] or f"call_{index}",
            name=names[index],
            arguments="".join(pieces[index]) or "{}",
        )
        for index in order
    )


def _output(value: Any) -> tuple[str, tuple[Attachment, ...]]:
    """What a tool returned: its text, and its attachments (an Attachment, or a list
    of texts and Attachments; the texts are joined by newlines)."""
    if isinstance(value, Attachment):
        return "", (value,)
    if isinstance(value, list) and any(isinstance(item, Attachment) for item in value):
        texts = [_output(item)[0] for item in value if not isinstance(item, Attachment)]
        found = tuple(item for item in value if isinstance(item, Attachment))
        return "\n".join(texts), found
    if isinstance(value, str):
        return value, ()
    if value is None:
        return "", ()
    try:
        return json.dumps(value, ensure_ascii=False), ()
    except (TypeError, ValueError):
        return str(value), ()


def run_call(tools: Mapping[str, Tool], call: ToolCall) -> ToolResult:
    """Run one call; an exception (or an unknown tool, or bad arguments) is an error result.

    Only ``Exception`` is caught: Ctrl-C and SystemExit go on up.
    """
    tool = tools.get(call.name)
    error: Optional[Exception] = None
    if tool is None or tool.function is None:
        known = ", ".join(sorted(tools)) or "none"
        error = ToolCallError(
            f"there is no tool named {call.name!r} (the tools: {known})", call=call
        )
    else:
        try:
            arguments = json.loads(call.arguments or "{}")
        except ValueError as exc:
            arguments = None
            reason = f"not valid JSON ({exc})"
        else:
            reason = f"a JSON {type(arguments).__name__}, not an object"
        if not isinstance(arguments, dict):
            error = ToolCallError(f"the arguments of {call.name} are {reason}", call=call)
        else:
            try:
                text, attachments = _output(tool.function(**arguments))
                return ToolResult(call=call, output=_cut(text), attachments=attachments)
            except Exception as exc:  # sent back to the model, and kept on the stream
                error = exc
    if isinstance(error, ToolCallError) and error.call is None:  # raised by the tool itself
        error.call = call
    # A tool's own message can quote a key (a URL with ?key=...): not to the model, nor shown.
    scrub(error)
    return ToolResult(
        call=call, output=_cut(redact(f"error: {type(error).__name__}: {error}")), error=error
    )


def _cut(output: str) -> str:
    """At most MAX_TOOL_OUTPUT characters, with a note to the model when it was more."""
    if len(output) <= MAX_TOOL_OUTPUT:
        return output
    return (
        f"{output[:MAX_TOOL_OUTPUT]}\n\n[codey: the output was cut: "
        f"{len(output):,} characters, of which only the first {MAX_TOOL_OUTPUT:,} are here]"
    )
