"""The steps of a scripted reply: format-neutral, rendered at serve time in the
wire format of the request (see ``_render``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Optional, Union

import attrs


def _pieces(value: Union[str, Iterable[str]]) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _to_bytes(value: Union[bytes, str]) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(value)


@attrs.frozen
class Source:
    """A source that a :class:`Text` piece cites, rendered in each provider's form.

    ``kind``: ``"web"`` (Anthropic ``web_search_result_location``; responses and chat
    ``url_citation``), ``"document"`` (Anthropic ``char_location``), ``"page"``
    (``page_location``, from ``page``), ``"content_block"``
    (``content_block_location``), ``"search_result"`` (``search_result_location``,
    ``url`` as its ``source``); on the Responses API every kind but ``"web"`` is a
    ``file_citation`` (``file_id``, ``title`` as its ``filename``), and Chat
    Completions, which has only ``url_citation``, shows only ``"web"`` sources.
    """

    url: Optional[str] = None
    title: Optional[str] = None
    cited_text: str = ""
    kind: str = "web"
    document_index: int = 0
    page: int = 1
    file_id: str = "file-fake"


def _sources(value: Iterable[Source]) -> tuple[Source, ...]:
    return tuple(value)


@attrs.frozen
class Text:
    """A piece of answer text (chat ``delta.content``; anthropic ``text_delta``;
    responses ``response.output_text.delta``).

    ``citations``: the :class:`Source` values this piece cites, as each API sends
    them. Anthropic: the piece is a text block of its own, its ``citations_delta``
    events before its ``text_delta`` (a whole reply: the block's ``citations``).
    Responses: a ``response.output_text.annotation.added`` per source after the
    piece's delta, its ``start_index`` and ``end_index`` the piece's place in the
    ``output_text`` part, and the annotations in the part and item when done.
    Chat: the ``annotations`` (``url_citation``, offsets into the message's content)
    in the piece's own chunk (a whole reply: ``message.annotations``).
    """

    text: str
    citations: tuple[Source, ...] = attrs.field(default=(), converter=_sources)


@attrs.frozen
class Reasoning:
    """A piece of reasoning (chat ``delta.reasoning_content``; anthropic ``thinking_delta``;
    responses ``response.reasoning_summary_text.delta``).

    Responses: pieces in a row make one ``reasoning`` output item; when the request
    includes ``reasoning.encrypted_content``, the item carries one when done, and a
    later request that sends back the function calls that followed it must send the
    item back with it, byte for byte (else a 400, as the API answers).
    """

    text: str


@attrs.frozen
class RedactedThinking:
    """Anthropic: a ``redacted_thinking`` content block, its ``data`` (encrypted
    thinking) whole in ``content_block_start``; it must come back unchanged with
    the next round of a tool loop. The other formats show nothing of it."""

    data: str = "RmFrZSByZWRhY3RlZCB0aGlua2luZw=="


@attrs.frozen
class ToolCall:
    """A tool call, or more pieces of one already started (same ``index``).

    ``arguments`` is a string or a sequence of string pieces of the JSON
    arguments. Chat: the first chunk of a new ``index`` carries ``id``,
    ``type`` and ``function.name`` with the first piece; each later piece is a
    chunk with only ``function.arguments``. Anthropic: a ``tool_use`` content
    block (opened on a new ``index``) with one ``input_json_delta`` per piece.
    Responses: a ``function_call`` output item (opened on a new ``index``) with
    one ``response.function_call_arguments.delta`` per piece. ``id`` defaults to
    ``call_fake_<index>`` (chat, responses) or ``toolu_fake_<index>``.
    """

    index: int = 0
    id: Optional[str] = None
    name: str = "tool"
    arguments: tuple[str, ...] = attrs.field(default=(), converter=_pieces)


def _input(value: Optional[Mapping[str, Any]]) -> dict[str, Any]:
    return dict(value or {})


@attrs.frozen
class ServerToolUse:
    """The provider ran one of its own tools (``web_search``, ``web_fetch``,
    ``code_execution``) and has its result, in the documented form of each format.

    Anthropic: a ``server_tool_use`` block (``srvtoolu_fake_<n>``; its ``input``
    in one ``input_json_delta``), then its result block, whole in its
    ``content_block_start``: ``web_search_tool_result`` (one ``web_search_result``
    per source, with ``encrypted_content``), ``web_fetch_tool_result`` (the
    first source as a text ``document`` of ``output``) or, for code,
    ``bash_code_execution_tool_result`` (``output`` as ``stdout``; a ``command``
    input) or ``code_execution_tool_result`` (a ``code`` input). With ``error``
    (``max_uses_exceeded``, ``unavailable``...) the result's content is the
    tool's error object with that ``error_code``.
    Responses: a ``web_search_call`` item (``ws_fake_<n>``) with its
    ``response.web_search_call.in_progress``, ``.searching`` and ``.completed``
    events, done with ``action: {type: search, query, sources}``; or a
    ``code_interpreter_call`` (``ci_fake_<n>``: ``.in_progress``, the code in
    ``response.code_interpreter_call_code.delta`` and ``.done``, ``.interpreting``,
    ``.completed``; its ``outputs`` the logs of ``output``); ``status: failed``
    with ``error``. Chat Completions has no server tools: nothing.
    A later :class:`Text` cites the search's sources with its ``citations``.
    """

    name: str = "web_search"
    input: dict[str, Any] = attrs.field(factory=dict, converter=_input, hash=False)
    id: Optional[str] = None
    #: The URLs a search found, or the page a fetch read.
    sources: tuple[str, ...] = attrs.field(default=("https://example.com/",), converter=tuple)
    #: A fetched page's text, or the code's standard output.
    output: str = ""
    error: Optional[str] = None


@attrs.frozen
class UsageStep:
    """Token usage.

    Chat: a ``{"choices": [], "usage": {...}}`` chunk. Anthropic: renders
    nothing itself; the first ``UsageStep`` of a script supplies
    ``message_start``'s ``input_tokens`` and ``message_delta``'s
    ``output_tokens``. Responses: renders nothing itself; the first one is the
    ``usage`` of the terminal event's response (``null`` without one).

    Prompt caching, when non-zero: chat ``prompt_tokens_details.cached_tokens``
    (``cache_read_tokens``; Chat Completions reports no writes); anthropic
    ``message_start``'s ``cache_read_input_tokens`` and ``cache_creation_input_tokens``;
    responses ``input_tokens_details.cached_tokens`` (``cache_read_tokens``) and
    ``cache_write_tokens`` (always there, as the SDK's type has it).

    ``reasoning_tokens`` (of the output tokens): chat
    ``completion_tokens_details.reasoning_tokens`` (when non-zero); responses
    ``output_tokens_details.reasoning_tokens``; anthropic reports none.
    """

    input_tokens: int = 10
    output_tokens: int = 5
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0


@attrs.frozen
class Finish:
    """The stop reason.

    ``None`` means ``"stop"`` (chat) or ``"end_turn"`` (anthropic), or
    ``"tool_calls"`` / ``"tool_use"`` after a :class:`ToolCall`. Chat: a chunk with
    an empty delta and ``finish_reason``. Anthropic: closes the open content
    block, then ``message_delta``. Responses: closes the open output item; the
    reason picks the terminal event :class:`Done` sends: ``None`` or ``"stop"``
    gives ``response.completed``, any other ``response.incomplete`` with that
    ``incomplete_details.reason`` (the API's are ``max_output_tokens`` and
    ``content_filter``).
    """

    reason: Optional[str] = None


@attrs.frozen
class Done:
    """The end marker: chat ``data: [DONE]``; anthropic ``message_stop`` (after
    closing any open content block); responses ``response.completed`` or
    ``response.incomplete`` (see :class:`Finish`), after closing any open item."""


@attrs.frozen
class ErrorEvent:
    """An error in the stream.

    Anthropic: ``event: error`` with ``{"type": "error", "error": {"type", "message"}}``.
    Chat: ``data: {"error": {"message", "type", "param": null, "code"}}``.
    Responses: ``event: error`` with ``{"type": "error", "code", "message", "param":
    null}`` (``code`` is ``code``, else ``error_type``); with ``failed=True``,
    ``response.failed`` instead: the response, ``status`` ``failed``, with
    ``error: {"code", "message"}``. The other formats ignore ``failed``.
    """

    error_type: str = "overloaded_error"
    message: str = "Overloaded"
    code: Optional[str] = None
    failed: bool = False


@attrs.frozen
class Comment:
    """An SSE comment line (``: text``) and a blank line: a keep-alive."""

    text: str = "keep-alive"


@attrs.frozen
class Ping:
    """Anthropic ``event: ping``; chat and responses: the comment ``: ping``."""


@attrs.frozen
class Raw:
    """Bytes written as they are (a ``str`` is encoded as UTF-8)."""

    data: bytes = attrs.field(converter=_to_bytes)


@attrs.frozen
class Pause:
    """Write nothing for ``seconds`` (the connection is watched for the client's EOF)."""

    seconds: float


def _keepalive(instance: object, attribute: object, value: Optional[float]) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"keepalive must be None or a positive number of seconds, not {value!r}")


@attrs.frozen
class Think:
    """A model thinking in silence for ``seconds``: nothing is sent meanwhile, or,
    with ``keepalive``, a :class:`Ping` every ``keepalive`` seconds (as Anthropic
    keeps a long thinking alive). A reply's steps hold it as those :class:`Pause`
    and :class:`Ping` steps."""

    seconds: float
    keepalive: Optional[float] = attrs.field(default=None, validator=_keepalive)

    def steps(self) -> list[Union[Pause, Ping]]:
        if self.keepalive is None:
            return [Pause(self.seconds)]
        steps: list[Union[Pause, Ping]] = []
        left = self.seconds
        while left > self.keepalive:
            steps += [Pause(self.keepalive), Ping()]
            left -= self.keepalive
        return [*steps, Pause(left)]


@attrs.frozen
class Stall:
    """Stop writing and hold the connection open until the client disconnects,
    :meth:`FakeProvider.release` is called, or the server closes."""


@attrs.frozen
class Close:
    """Close the connection now: no end marker, and in chunked framing no
    terminating ``0`` chunk. (In ``length`` framing the ``Content-Length`` counts
    the whole script, so the body comes up short unless this is the last step.)"""


@attrs.frozen
class Reset:
    """Close the connection with ``SO_LINGER`` 0, so that the client gets a RST."""


Step = Union[
    Text,
    Reasoning,
    RedactedThinking,
    ToolCall,
    ServerToolUse,
    UsageStep,
    Finish,
    Done,
    ErrorEvent,
    Comment,
    Ping,
    Raw,
    Pause,
    Think,
    Stall,
    Close,
    Reset,
]
