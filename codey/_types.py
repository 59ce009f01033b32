"""Value classes: messages, tool calls, usage and the typed events of a stream."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Optional, Union

import attrs

from codey._attachments import Attachment

__all__ = [
    "Citation",
    "Finish",
    "Message",
    "ReasoningDelta",
    "Replay",
    "ServedModel",
    "ServerToolCall",
    "TextDelta",
    "ToolCall",
    "ToolCallDelta",
    "ToolResult",
    "Usage",
]

ROLES = ("system", "user", "assistant", "tool")


def _check_role(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {value!r}")


@attrs.frozen(repr=False)
class ToolCall:
    """A whole tool call the model made: its id, the tool's name, its arguments as JSON text.

    (Not :class:`codey.testing.ToolCall`, the fake server's scripted step.)
    """

    id: str = attrs.field(validator=attrs.validators.instance_of(str))
    name: str = attrs.field(validator=attrs.validators.instance_of(str))
    arguments: str = attrs.field(default="{}", validator=attrs.validators.instance_of(str))

    def __repr__(self) -> str:
        return f"codey.ToolCall(id={self.id!r}, name={self.name!r}, arguments={self.arguments!r})"


def _attachments(value: Iterable[Attachment]) -> tuple[Attachment, ...]:
    return tuple(value)


def _calls(value: Iterable[ToolCall]) -> tuple[ToolCall, ...]:
    return tuple(value)


def _replay(value: Iterable[tuple[str, dict[str, Any]]]) -> tuple[tuple[str, dict[str, Any]], ...]:
    return tuple((wire, item) for wire, item in value)


def _check_replay(
    instance: object, attribute: attrs.Attribute[Any], value: tuple[Any, ...]
) -> None:
    for wire, item in value:
        if not isinstance(wire, str) or not isinstance(item, dict):
            raise TypeError(f"replay holds (wire, dict) pairs, not ({wire!r}, {item!r})")


def _tuple_of(kind: type) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: tuple[Any, ...]) -> None:
        for item in value:
            if not isinstance(item, kind):
                raise TypeError(
                    f"{attribute.name} must hold codey.{kind.__name__} values, not {item!r}"
                )

    return check


@attrs.frozen
class Message:
    """One message of a conversation.

    ``attachments`` (images, PDFs) go with a user message, or with a tool
    message (what a tool returned besides text); ``tool_calls`` with an
    assistant message that called tools. A ``tool`` message is one tool's
    result: ``content`` is the text the tool returned, ``tool_call_id`` the
    call it answers, ``is_error`` whether the tool failed.

    ``replay`` (assistant messages): what the provider sent besides text and
    calls that must go back with the conversation, as it came, as
    ``(wire, item)`` pairs: the Responses API's ``reasoning`` items with their
    encrypted content and its server tools' items (``web_search_call``...),
    Claude's signed thinking blocks and its server tools' blocks
    (``server_tool_use`` and their results). Each wire format sends
    back its own (``"responses"``, ``"messages"``) and ignores the others'.
    Opaque: kept out of the repr, chat logs and ``--events``.
    """

    role: str = attrs.field(validator=_check_role)
    content: str = attrs.field(validator=attrs.validators.instance_of(str))
    attachments: tuple[Attachment, ...] = attrs.field(
        default=(), converter=_attachments, validator=_tuple_of(Attachment)
    )
    tool_calls: tuple[ToolCall, ...] = attrs.field(
        default=(), converter=_calls, validator=_tuple_of(ToolCall)
    )
    tool_call_id: Optional[str] = None
    is_error: bool = False
    replay: tuple[tuple[str, dict[str, Any]], ...] = attrs.field(
        default=(), converter=_replay, validator=_check_replay, repr=False, hash=False
    )

    def __attrs_post_init__(self) -> None:
        if self.attachments and self.role not in ("user", "tool"):
            raise ValueError(f"attachments go with a user or tool message, not a {self.role} one")
        if self.tool_calls and self.role != "assistant":
            raise ValueError(f"tool_calls go with an assistant message, not a {self.role} one")
        if self.replay and self.role != "assistant":
            raise ValueError(f"replay goes with an assistant message, not a {self.role} one")
        if (self.role == "tool") != (self.tool_call_id is not None):
            raise ValueError("a tool message, and only a tool message, has a tool_call_id")


@attrs.frozen
class Usage:
    """Token counts, as the provider reported them (``None`` when not reported).

    ``cache_read_tokens``: input tokens read from the provider's prompt cache;
    ``cache_write_tokens``: input tokens written to it (Anthropic only).
    Anthropic's ``input_tokens`` leaves both out; OpenAI's includes the cached ones.
    ``reasoning_tokens``: the output tokens spent reasoning (OpenAI, xAI), which
    ``output_tokens`` includes.
    """

    input_tokens: Optional[int] = None
    output_tokens: Optional[int] = None
    cache_read_tokens: Optional[int] = None
    cache_write_tokens: Optional[int] = None
    reasoning_tokens: Optional[int] = None


@attrs.frozen
class TextDelta:
    """A piece of the answer."""

    text: str


@attrs.frozen
class ReasoningDelta:
    """A piece of the model's reasoning (thinking), kept apart from the answer."""

    text: str


@attrs.frozen
class ToolCallDelta:
    """A piece of a tool call: the name when it starts, then pieces of its JSON arguments."""

    index: int
    id: Optional[str] = None
    name: Optional[str] = None
    arguments: str = ""


@attrs.frozen
class ToolResult:
    """With ``run_tools=True``: a tool call that was run, and what went back to the model.

    ``output`` is the text sent back (``"error: Type: message"`` when the
    call failed); ``attachments`` the images (or PDFs) sent back with it: a
    tool may return a :class:`codey.Attachment`, or a list of texts and
    attachments; ``error`` the exception, or None.
    """

    call: ToolCall
    output: str
    error: Optional[BaseException] = attrs.field(default=None, eq=False)
    attachments: tuple[Attachment, ...] = attrs.field(
        default=(), converter=_attachments, validator=_tuple_of(Attachment)
    )


@attrs.frozen(kw_only=True)
class Citation:
    """A source the provider cites for a span of the answer.

    ``Stream.events()`` yields one once its span is known (Anthropic: at the end
    of the text block it belongs to; the Responses API and Chat Completions: when
    the annotation arrives); ``Stream.citations`` keeps them all.
    """

    #: Where the cited span of the answer begins: an offset into ``Stream.text``
    #: (the whole stream's, every round of a ``run_tools=True`` stream included).
    start: int
    #: Where the span ends: ``stream.text[c.start:c.end]`` is the cited part of the
    #: answer. ``start == end`` when the provider gave no span (OpenRouter sends 0, 0).
    end: int
    #: The cited page's URL (a web search result, a ``url_citation``; Anthropic's
    #: ``search_result_location`` puts its ``source`` here), or None.
    url: Optional[str] = None
    #: The source's title (a web page's, a document's, a file's name), or None.
    title: Optional[str] = None
    #: The passage of the source the provider quotes for the span, or None (OpenAI
    #: quotes none).
    cited_text: Optional[str] = None
    #: What is cited: ``"web"`` (a web page), ``"document"`` (characters of a plain
    #: text document), ``"page"`` (pages of a PDF), ``"content_block"`` (blocks of a
    #: custom-content document), ``"search_result"`` (a search result the caller
    #: passed in), ``"file"`` (a file of the Responses API's file search or a
    #: container), or the provider's own word for a kind codey does not know.
    kind: str = "web"
    #: The cited document's position among the request's documents (Anthropic's
    #: ``document_index``, ``search_result_index``), or None.
    document_index: Optional[int] = None
    #: The first cited page of a PDF (1-based), or None.
    page: Optional[int] = None
    #: The cited file's id (a Files API or container file), or None.
    file_id: Optional[str] = None
    #: The provider's citation or annotation object as it came (the locations in
    #: the source, ``encrypted_index``...): not compared, not shown in the repr.
    raw: dict[str, Any] = attrs.field(factory=dict, eq=False, repr=False, hash=False)

    def moved(self, offset: int) -> Citation:
        """This citation with its span ``offset`` characters further on."""
        return attrs.evolve(self, start=self.start + offset, end=self.end + offset)

    def to_dict(self) -> dict[str, Any]:
        """The citation as JSON (``--events`` records, batch records): its span,
        ``url``, ``title``, ``cited_text`` and ``kind``, and ``document_index``,
        ``page`` and ``file_id`` where they apply; not ``raw``."""
        fields = {"start": self.start, "end": self.end, "url": self.url, "title": self.title}
        fields.update(cited_text=self.cited_text, kind=self.kind)
        for name in ("document_index", "page", "file_id"):
            if getattr(self, name) is not None:
                fields[name] = getattr(self, name)
        return fields


@attrs.frozen
class ServerToolCall:
    """What a provider's server tool did: one event per change of its status.

    ``Stream.events()`` yields one each time the call starts, moves on or ends;
    ``Stream.server_tool_calls`` keeps the latest of each call. The server ran
    it: it is never one of ``tool_calls``, and the tool loop never runs it.
    """

    #: codey's name of the tool: ``web_search``, ``web_fetch``, ``code_execution``, ``x_search``.
    name: str
    #: What the tool was given, as the provider gave it (``{"query": ...}``,
    #: ``{"url": ...}``, ``{"code": ...}``; an OpenAI web search's ``action``);
    #: ``{}`` until the provider says.
    input: dict[str, Any] = attrs.field(factory=dict, hash=False)
    #: ``in_progress``, ``searching`` (a web search under way), ``interpreting``
    #: (code running), ``completed`` or ``failed``.
    status: str = "in_progress"
    #: The provider's id of the call (``srvtoolu_...``, ``ws_...``, ``ci_...``).
    id: Optional[str] = None
    #: The provider's error code when the call failed (``max_uses_exceeded``...), else None.
    error: Optional[str] = None


@attrs.frozen
class Finish:
    """The provider said why it stopped (``stop``, ``end_turn``, ``length``...).

    ``Stream.events()`` ends with one; its reason is None if the provider gave none.
    """

    reason: Optional[str]


@attrs.frozen
class ServedModel:
    """The model the server says answered (Chat Completions' ``model``, the Responses
    object's, Anthropic's ``message.model``): sets ``Stream.served_model``.

    The stream's own bookkeeping, as its first piece; ``Stream.events()`` hands it on
    to no one.
    """

    name: str


@attrs.frozen(repr=False)
class Replay:
    """An item of the answer that must go back, as it came, with the conversation's
    next request (see ``Message.replay``): ``wire`` names the wire format that sends
    it back. The stream's own bookkeeping, like :class:`ServedModel`: it goes on the
    round's assistant message, never to ``Stream.events()``.
    """

    wire: str
    item: dict[str, Any] = attrs.field(hash=False)

    def __repr__(self) -> str:  # the item may be long and encrypted: never shown
        return f"codey.Replay(wire={self.wire!r}, ...)"


#: What a provider adapter makes of one server-sent event.
Event = Union[
    TextDelta, ReasoningDelta, ToolCallDelta, ToolResult, Citation, ServerToolCall, Usage, Finish
]
