"""What every provider module offers the engine."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, Optional, Protocol

import attrs

from codey._attachments import IMAGE_TYPES, Attachment
from codey._errors import StreamError, UnsupportedOptionError
from codey._types import Event, Message, ServedModel

if TYPE_CHECKING:
    from codey._tools import ServerTool

# The C scanner behind json.loads, without its Python wrapper and its two
# whitespace regexes: half the cost on a typical event.
_scan_json: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def join_url(base_url: str, path: str) -> str:
    """``path`` (which may carry a query) after ``base_url``'s path; a query in the
    base URL (``...?key=...``) stays a query, merged with the path's."""
    if "?" not in base_url and "#" not in base_url:
        return base_url.rstrip("/") + path
    import urllib.parse

    base = urllib.parse.urlsplit(base_url)
    path, _, query = path.partition("?")
    query = "&".join(part for part in (base.query, query) if part)
    return urllib.parse.urlunsplit(
        (base.scheme, base.netloc, base.path.rstrip("/") + path, query, "")
    )


def parse_event_data(data: str, provider: str) -> dict[str, Any]:
    """The JSON object in an event's ``data``; anything else is a StreamError."""
    try:
        obj, end = _scan_json(data, 0)
    except (StopIteration, ValueError):  # StopIteration: no value at the start
        end = -1
    if end != len(data):  # padding, something after the value, or no JSON: json.loads decides
        try:
            obj = json.loads(data)
        except ValueError:
            raise StreamError(
                f"{provider} sent malformed data: {data[:200]!r}", provider=provider
            ) from None
    if not isinstance(obj, dict):
        raise StreamError(f"{provider} sent unexpected data: {data[:200]!r}", provider=provider)
    return obj


#: The wire formats, in ``codey.testing``'s words: Chat Completions, Messages, Responses.
WIRES = ("chat", "messages", "responses")
#: The names a wire format had as ``kind`` (a config file may still say ``kind = "openai"``).
OLD_KINDS = {"openai": "chat", "anthropic": "messages", "openai-responses": "responses"}


def wire_of(name: str) -> str:
    """A wire format's name, given it or its old ``kind`` name."""
    return OLD_KINDS.get(name, name)


def served_model(obj: Any, out: list[Any]) -> bool:
    """Put a ServedModel on ``out`` if ``obj`` (a chunk, a response, a message) names
    its model; say whether it did."""
    model = obj.get("model") if isinstance(obj, dict) else None
    if isinstance(model, str) and model:
        out.append(ServedModel(model))
        return True
    return False


def error_details(body: Any, *, bare: bool = True) -> tuple[Optional[str], Optional[str]]:
    """(message, type) from a decoded error body: ``{"error": {"message": ..., "type": ...}}``
    (Messages wraps it in ``{"type": "error", ...}``) or ``{"error": "text"}``.

    ``bare``: a body without ``"error"`` may be the error object itself (some
    Chat Completions services send it so), its type perhaps in ``code``.
    """
    if not isinstance(body, dict):
        return None, None
    error = body.get("error", body if bare else None)
    if isinstance(error, str):
        return error, None
    if not isinstance(error, dict):
        return None, None
    message = error.get("message")
    error_type = error.get("type") or error.get("code")
    return (
        str(message) if message is not None else None,
        str(error_type) if error_type is not None else None,
    )


def error_event(
    provider: str,
    message: Optional[str],
    error_type: Optional[str],
    data: str,
    event: str = "an error event",
    **attributes: Any,
) -> StreamError:
    """The StreamError for an error the provider sent in the stream, in context:
    ``anthropic sent an error event (overloaded_error): Overloaded``."""
    kind = f" ({error_type})" if error_type else ""
    return StreamError(
        f"{provider} sent {event}{kind}: {message or data[:200]}",
        provider=provider,
        error_type=error_type,
        **attributes,
    )


@attrs.frozen
class Service:
    """One provider as described once: built in, or from a config file's ``[providers.NAME]``.

    ``wire`` names the wire format (``chat`` for Chat Completions, ``messages``
    for Messages, ``responses`` for the Responses API; the old ``kind`` names
    are read too); ``max_tokens_field`` and ``include_usage`` matter to Chat
    Completions only.
    """

    name: str
    wire: str = attrs.field(converter=wire_of)
    key_env: str
    base_url_env: str
    default_base_url: str
    prefixes: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    #: Whether a request needs a key (a local server such as Ollama does not).
    key_required: bool = True
    #: The name of the field that caps the answer's length.
    max_tokens_field: str = "max_tokens"
    #: The host where ``max_tokens_field`` applies (OpenAI's own); at any other base
    #: URL (a proxy, a compatible server) the field is ``max_tokens``. None: everywhere.
    max_tokens_field_host: Optional[str] = None
    #: Whether to ask for the usage chunk (``stream_options``); a few services reject it.
    include_usage: bool = True
    #: The path posted to after the base URL (Chat Completions); ``{model}`` and
    #: ``{api_version}`` are filled in (Azure names the deployment in the path).
    chat_path: str = "/chat/completions"
    #: The variable that names the API version, and the version without it (Azure).
    api_version_env: Optional[str] = None
    api_version: str = ""
    #: The header that carries the key as it is (Azure: ``api-key``);
    #: None means ``Authorization: Bearer KEY`` (or Anthropic's ``x-api-key``).
    api_key_header: Optional[str] = None
    #: Whether the service holds an answer to a JSON Schema (``response_format``).
    structured_output: bool = True
    #: The attachment types it takes (``image/png``..., ``application/pdf``).
    attachments: tuple[str, ...] = IMAGE_TYPES


class ServiceProvider:
    """A provider's description, read through from its :class:`Service`."""

    __slots__ = ("service",)
    wire = ""
    #: How ``repr()`` names the wire format.
    wire_name = ""

    def __init__(self, service: Service) -> None:
        if service.wire != self.wire:
            raise ValueError(f"a {type(self).__name__} speaks {self.wire!r}, not {service.wire!r}")
        self.service = service

    def __repr__(self) -> str:
        return f"<provider {self.name} ({self.wire_name}) {self.default_base_url}>"

    @property
    def name(self) -> str:
        return self.service.name

    @property
    def key_env(self) -> str:
        return self.service.key_env

    @property
    def base_url_env(self) -> str:
        return self.service.base_url_env

    @property
    def default_base_url(self) -> str:
        return self.service.default_base_url

    @property
    def prefixes(self) -> tuple[str, ...]:
        return self.service.prefixes

    @property
    def models(self) -> tuple[str, ...]:
        return self.service.models

    @property
    def key_required(self) -> bool:
        return self.service.key_required

    def check_attachment(self, attachment: Attachment) -> None:
        """UnsupportedOptionError unless the service takes this attachment's type."""
        taken = self.service.attachments
        if attachment.mime in taken:
            return
        if not taken:
            raise UnsupportedOptionError(f"{self.name} takes no attachments")
        raise UnsupportedOptionError(
            f"{self.name} cannot take {attachment.mime} attachments (it takes {', '.join(taken)})"
        )

    def tool_attachments(self, message: Message) -> tuple[str, tuple[Attachment, ...]]:
        """A tool message's text, and those of its attachments this service takes.

        An attachment it cannot take becomes a line of the text saying so: a
        tool's picture must not fail the round (a user's attachment does).
        """
        kept: list[Attachment] = []
        lines = [message.content] if message.content else []
        for attachment in message.attachments:
            try:
                self.check_attachment(attachment)
            except UnsupportedOptionError as exc:
                lines.append(f"[codey: the tool returned {attachment!r}, not sent: {exc}]")
            else:
                kept.append(attachment)
        return "\n".join(lines), tuple(kept)


def server_tool_options(
    provider: str, tool: ServerTool, offered: Mapping[str, tuple[str, ...]]
) -> dict[str, Any]:
    """The options given to ``tool``, held to what ``provider`` offers (``offered``:
    each of its server tools by codey's name, and the options it takes). A tool or an
    option it lacks is an UnsupportedOptionError naming it, raised before anything
    is sent."""
    if tool.name not in offered:
        has = f"it offers {', '.join(offered)}" if offered else "it has none"
        raise UnsupportedOptionError(f"{provider} offers no {tool.name} server tool ({has})")
    options = tool.options()
    for name in options:
        if name not in offered[tool.name]:
            takes = ", ".join(offered[tool.name]) or "no option"
            raise UnsupportedOptionError(
                f"{provider}'s {tool.name} takes no {name} (it takes {takes})"
            )
    return options


def approximate(location: Mapping[str, str]) -> dict[str, str]:
    """``ServerTool.user_location`` as OpenAI's and Anthropic's web searches take it."""
    return {"type": "approximate", **location}


class ToolSpec(Protocol):
    """What a provider sends of a tool (a ``codey.Tool`` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def parameters(self) -> dict[str, Any]:
        """The JSON Schema of the tool's arguments."""
        ...


class AnswerSchema(Protocol):
    """What a provider sends of ``schema=`` (a ``codey._schema.Schema`` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def json_schema(self) -> dict[str, Any]: ...

    @property
    def strict(self) -> bool:
        """Whether it meets OpenAI's strict mode."""
        ...


@attrs.frozen
class RequestSpec:
    """A provider-neutral request: what the caller asked for."""

    model: str
    messages: tuple[Message, ...]  # system messages included
    max_tokens: Optional[int] = None
    temperature: Optional[float] = None
    reasoning_effort: Optional[str] = None
    thinking_budget: Optional[int] = None
    #: The answer must be JSON matching this (``schema=``).
    schema: Optional[AnswerSchema] = None
    #: Mark the prompt for the provider's cache (``cache=True``).
    cache: bool = False
    #: The tools the model may call (their name, description and JSON schema).
    tools: tuple[ToolSpec, ...] = ()
    #: How hard the model thinks (``none`` ... ``max``), in the provider's form on the
    #: wire; ``reasoning_effort`` is its old name, set to the same by ``request_spec()``.
    effort: Optional[str] = None
    #: The provider's own tools (web search...) the model may use: the provider runs them.
    server_tools: tuple[ServerTool, ...] = ()


@attrs.frozen
class HTTPRequest:
    """What goes on the wire. The key travels only in ``headers`` and never in the repr."""

    url: str
    headers: dict[str, str] = attrs.field(repr=False)
    body: bytes = attrs.field(repr=False)
    #: A tool the model is made to call whose JSON input is the answer (Anthropic
    #: with ``schema=``): its parser yields that JSON as text.
    answer_tool: Optional[str] = None


class Parser(Protocol):
    """Turns one server-sent event into events for the stream.

    ``done`` becomes true at the provider's end marker; ``complete_at_eof``
    says whether a clean end of the body now would be a complete answer (a
    Chat Completions stream whose ``finish_reason`` arrived without
    ``[DONE]``); ``saw_text`` whether any text was produced.
    """

    done: bool
    complete_at_eof: bool
    saw_text: bool

    def feed(self, event: str, data: str, out: list[Any]) -> None: ...


class Provider(Protocol):
    #: ``chat`` (Chat Completions), ``messages`` (Messages) or ``responses``
    #: (Responses): the wire format.
    wire: str
    service: Service

    @property
    def name(self) -> str: ...

    @property
    def key_env(self) -> str: ...

    @property
    def base_url_env(self) -> str: ...

    @property
    def default_base_url(self) -> str: ...

    @property
    def prefixes(self) -> tuple[str, ...]: ...

    @property
    def models(self) -> tuple[str, ...]: ...

    @property
    def key_required(self) -> bool: ...

    def build_request(self, spec: RequestSpec, api_key: str, base_url: str) -> HTTPRequest: ...

    def request_body(self, spec: RequestSpec, base_url: str, stream: bool = True) -> dict[str, Any]:
        """The JSON body of ``spec``'s request; ``stream=False`` asks for a whole reply
        (a provider batch's requests)."""
        ...

    def headers(self, api_key: str, stream: bool = True) -> dict[str, str]:
        """The headers of a request with ``api_key`` (of a whole reply: ``stream=False``)."""
        ...

    def new_parser(self, request: Optional[HTTPRequest] = None) -> Parser: ...

    def error_details(self, body: Any) -> tuple[Optional[str], Optional[str]]:
        """(message, error type) from a decoded JSON error body, or (None, None)."""
        ...

    def complete_reply(
        self, body: Any, request: Optional[HTTPRequest] = None
    ) -> Optional[list[Any]]:
        """The events of a whole reply sent as JSON instead of a stream, or None."""
        ...


__all__ = [
    "AnswerSchema",
    "Event",
    "HTTPRequest",
    "Parser",
    "Provider",
    "RequestSpec",
    "Service",
    "ServiceProvider",
    "ToolSpec",
    "WIRES",
    "approximate",
    "error_details",
    "served_model",
    "server_tool_options",
    "wire_of",
]
