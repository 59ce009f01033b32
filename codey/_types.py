"""Value classes: messages, tool calls, usage and the typed events of a stream."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Optional, Union

import attrs

from codey._attachments import Attachment

__all__ = [
    "Finish",
    "Message",
    "ReasoningDelta",
    "Replay",
    "ServedModel",
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
    encrypted content, Claude's signed thinking blocks. Each wire format sends
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
Event = Union[TextDelta, ReasoningDelta, ToolCallDelta, ToolResult, Usage, Finish]
