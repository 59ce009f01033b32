"""Value classes: messages, usage and the typed events of a stream."""

from __future__ import annotations

from typing import Any, Optional, Union

import attrs

__all__ = [
    "Finish",
    "Message",
    "ReasoningDelta",
    "TextDelta",
    "ToolCallDelta",
    "Usage",
]

ROLES = ("system", "user", "assistant")


def _check_role(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if value not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {value!r}")


@attrs.frozen
class Message:
    """One message of a conversation."""

    role: str = attrs.field(validator=_check_role)
    content: str = attrs.field(validator=attrs.validators.instance_of(str))


@attrs.frozen
class Usage:
    """Token counts, as the provider reported them (``None`` when not reported).

    ``cache_read_tokens``: input tokens read from the provider's prompt cache;
    ``cache_write_tokens``: input tokens written to it (Anthropic only).
    Anthropic's ``input_tokens`` leaves both out; OpenAI's includes the cached ones.
    """

    input_tokens: Optional[int] = None
    output_tokens: Optional[int] = None
    cache_read_tokens: Optional[int] = None
    cache_write_tokens: Optional[int] = None


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
class Finish:
    """The provider said why it stopped (``stop``, ``end_turn``, ``length``...).

    ``Stream.events()`` ends with one; its reason is None if the provider gave none.
    """

    reason: Optional[str]


#: What a provider adapter makes of one server-sent event.
Event = Union[TextDelta, ReasoningDelta, ToolCallDelta, Usage, Finish]

MessageLike = Union[Message, "dict[str, Any]"]
