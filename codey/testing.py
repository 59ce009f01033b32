"""A fake LLM provider for tests: a real local HTTP server that streams scripted replies.

``FakeProvider`` is an HTTP/1.1 server on ``127.0.0.1`` (an ephemeral port) that
speaks the OpenAI / xAI Chat Completions streaming format and the Anthropic
Messages streaming format. It serves scripted replies in order, records every
request it receives, and can inject every fault a streaming client must
survive: error statuses and error events, stalls, truncated bodies, resets,
tiny writes, gzip, odd line endings, byte order marks.

Example::

    import codey
    from codey.testing import FakeProvider, Stall, Text, answer, error, events

    with FakeProvider() as fake:
        fake.push(error(429, "slow down", retry_after=0))  # first request
        fake.push(answer("Hel", "lo"))  # second request (the retry)
        stream = codey.stream(
            "hi", model="gpt-4.1", base_url=fake.base_url("openai"), api_key="k"
        )
        assert "".join(stream) == "Hello"
        assert len(fake.requests) == 2
        assert fake.requests[1].json["model"] == "gpt-4.1"
        assert fake.requests[1].headers["authorization"] == "Bearer k"

        fake.push(events(Text("partial"), Stall()))  # then hang up on nothing
        with codey.stream("hi", model="claude-sonnet-4-0", api_key="k",
                          base_url=fake.base_url("anthropic")) as stream:
            next(iter(stream))
        assert fake.requests[-1].disconnected.wait(1.0)  # the client hung up

Routing. ``fake.base_url("openai")`` is ``http://127.0.0.1:PORT/openai/v1``
(the client posts to ``{base}/chat/completions``), ``fake.base_url("xai")`` is
``.../xai/v1``, and ``fake.base_url("anthropic")`` is ``.../anthropic`` (the
client posts to ``{base}/v1/messages``). A path ending in ``/chat/completions``
is Chat Completions (provider ``xai`` when the first path segment is ``xai``,
otherwise ``openai``); a path ending in ``/v1/messages`` is Anthropic Messages;
``GET .../models`` lists :attr:`FakeProvider.models`; anything else is a 404
with a JSON error body. ``fake.env()`` gives the ``*_BASE_URL`` and
``*_API_KEY`` variables (key ``sk-fake-key``) for subprocess tests.

Replies. Each chat/messages request takes the next :class:`Reply` pushed with
:meth:`FakeProvider.push` (first in, first out); when none is queued it gets
:attr:`FakeProvider.default`, and when that is ``None`` a 500 JSON error
"no scripted reply". A reply is a format-neutral script of steps (:class:`Text`,
:class:`Reasoning`, :class:`ToolCall`, :class:`UsageStep`, :class:`Finish`,
:class:`Done`, :class:`ErrorEvent`, :class:`Comment`, :class:`Ping`,
:class:`Raw`, :class:`Pause`, :class:`Stall`, :class:`Close`, :class:`Reset`),
rendered at serve time in the wire format of the request (and with the request's
``model``). Build replies with :func:`answer` (the happy path), :func:`error`
(an error status with the provider's own error body) and :func:`events` (any
script); change one with ``reply.evolve(gzip=True, split=1, ...)``.
:func:`sse_bytes` renders a reply's body without any HTTP framing.

Requests. :attr:`FakeProvider.requests` lists a :class:`RecordedRequest` per
request received (every path, 404s included), in arrival order.
``RecordedRequest.headers`` is an :class:`http.client.HTTPMessage`, i.e. an
:class:`email.message.Message`: lookups are case-insensitive and a missing
header is ``None`` (``headers["authorization"]``, ``headers.get("x-api-key")``).
``RecordedRequest.disconnected`` is a :class:`threading.Event` set as soon as
the server sees the client's end of file or reset on that connection: while
stalled or pausing, between writes, after the reply while waiting for the next
request on a kept-alive connection, or after the server closed its side (a
``Close()`` step or ``framing="close"``) and the client then closed too. It is
not set when the server itself resets the connection or shuts down.

Trying codey without a key. ``python -m codey.testing serve [--port N]
[--host H] [--delay S]`` runs a ``FakeProvider`` whose responder is
:func:`demo_reply` (every model answers with the last user message, echoed
back word by word), prints the ``export`` lines that point codey at it, and
serves until Ctrl-C or SIGTERM.

Everything runs on daemon threads named ``fake-provider-*``.
:meth:`FakeProvider.close` (or leaving the ``with`` block) releases stalls,
closes every socket and joins every thread.
"""

from __future__ import annotations

import email.utils
import http
import http.client
import io
import json as _json
import math
import os
import re
import select
import socket
import struct
import threading
import time
import zlib
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Callable, Optional, Union

import attrs

__all__ = [
    "FAKE_API_KEY",
    "Close",
    "Comment",
    "Done",
    "ErrorEvent",
    "FakeProvider",
    "Finish",
    "Pause",
    "Ping",
    "Raw",
    "Reasoning",
    "RecordedRequest",
    "Reply",
    "Reset",
    "Stall",
    "Step",
    "Text",
    "ToolCall",
    "UsageStep",
    "answer",
    "demo_reply",
    "error",
    "events",
    "sse_bytes",
]

#: The API key :meth:`FakeProvider.env` sets for every provider.
FAKE_API_KEY = "sk-fake-key"

_PROVIDERS = ("openai", "xai", "anthropic")
_FRAMINGS = ("chunked", "close", "length")
_LINE_ENDINGS = ("\n", "\r\n", "\r")
_DEFAULT_MODEL = "fake-model"
_SEND_FLAGS = getattr(socket, "MSG_NOSIGNAL", 0)


# --------------------------------------------------------------------------- steps


def _pieces(value: Union[str, Iterable[str]]) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _to_bytes(value: Union[bytes, str]) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(value)


@attrs.frozen
class Text:
    """A piece of answer text (chat ``delta.content``; anthropic ``text_delta``)."""

    text: str


@attrs.frozen
class Reasoning:
    """A piece of reasoning (chat ``delta.reasoning_content``; anthropic ``thinking_delta``)."""

    text: str


@attrs.frozen
class ToolCall:
    """A tool call, or more pieces of one already started (same ``index``).

    ``arguments`` is a string or a sequence of string pieces of the JSON
    arguments. Chat: the first chunk of a new ``index`` carries ``id``,
    ``type`` and ``function.name`` with the first piece; each later piece is a
    chunk with only ``function.arguments``. Anthropic: a ``tool_use`` content
    block (opened on a new ``index``) with one ``input_json_delta`` per piece.
    ``id`` defaults to ``call_fake_<index>`` (chat) or ``toolu_fake_<index>``.
    """

    index: int = 0
    id: Optional[str] = None
    name: str = "tool"
    arguments: tuple[str, ...] = attrs.field(default=(), converter=_pieces)


@attrs.frozen
class UsageStep:
    """Token usage.

    Chat: a ``{"choices": [], "usage": {...}}`` chunk. Anthropic: renders
    nothing itself; the first ``UsageStep`` of a script supplies
    ``message_start``'s ``input_tokens`` and ``message_delta``'s
    ``output_tokens``.

    Prompt caching, when non-zero: chat ``prompt_tokens_details.cached_tokens``
    (``cache_read_tokens``; Chat Completions reports no writes); anthropic
    ``message_start``'s ``cache_read_input_tokens`` and ``cache_creation_input_tokens``.
    """

    input_tokens: int = 10
    output_tokens: int = 5
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


@attrs.frozen
class Finish:
    """The stop reason.

    ``None`` means ``"stop"`` (chat) or ``"end_turn"`` (anthropic), or
    ``"tool_calls"`` / ``"tool_use"`` after a :class:`ToolCall`. Chat: a chunk with
    an empty delta and ``finish_reason``. Anthropic: closes the open content
    block, then ``message_delta``.
    """

    reason: Optional[str] = None


@attrs.frozen
class Done:
    """The end marker: chat ``data: [DONE]``; anthropic ``message_stop`` (after
    closing any open content block)."""


@attrs.frozen
class ErrorEvent:
    """An error in the stream.

    Anthropic: ``event: error`` with ``{"type": "error", "error": {"type", "message"}}``.
    Chat: ``data: {"error": {"message", "type", "param": null, "code"}}``.
    """

    error_type: str = "overloaded_error"
    message: str = "Overloaded"
    code: Optional[str] = None


@attrs.frozen
class Comment:
    """An SSE comment line (``: text``) and a blank line: a keep-alive."""

    text: str = "keep-alive"


@attrs.frozen
class Ping:
    """Anthropic ``event: ping``; chat: the comment ``: ping``."""


@attrs.frozen
class Raw:
    """Bytes written as they are (a ``str`` is encoded as UTF-8)."""

    data: bytes = attrs.field(converter=_to_bytes)


@attrs.frozen
class Pause:
    """Write nothing for ``seconds`` (the connection is watched for the client's EOF)."""

    seconds: float


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
    ToolCall,
    UsageStep,
    Finish,
    Done,
    ErrorEvent,
    Comment,
    Ping,
    Raw,
    Pause,
    Stall,
    Close,
    Reset,
]

#: A reply body: bytes, or a function of the requesting provider's name.
Body = Union[bytes, Callable[[str], bytes]]


# --------------------------------------------------------------------------- replies


def _steps(value: Iterable[Step]) -> tuple[Step, ...]:
    return tuple(value)


def _headers(value: Optional[Mapping[str, str]]) -> dict[str, str]:
    return dict(value or {})


def _check_split(
    instance: object, attribute: attrs.Attribute[Optional[int]], value: object
) -> None:
    if value is not None and (not isinstance(value, int) or value < 1):
        raise ValueError(f"split must be None or a positive int, not {value!r}")


@attrs.frozen(kw_only=True)
class Reply:
    """One scripted response.

    - ``status``: the HTTP status.
    - ``headers``: extra response headers (replacing a default of the same name).
    - ``steps``: the script, rendered in the request's wire format.
    - ``framing``: ``"chunked"`` (``Transfer-Encoding: chunked``), ``"length"``
      (``Content-Length``) or ``"close"`` (``Connection: close``, the body ends
      when the server closes).
    - ``gzip``: ``Content-Encoding: gzip``, one streaming gzip member, each write
      flushed with ``Z_SYNC_FLUSH`` so that it can be decoded as it arrives.
    - ``line_ending``: the SSE line terminator: ``"\\n"``, ``"\\r\\n"`` or ``"\\r"``.
    - ``bom``: start the body with a UTF-8 byte order mark.
    - ``split``: cut every body write into pieces of this many bytes (anywhere:
      inside UTF-8 characters, inside ``\\r\\n``), each sent separately, and in
      chunked framing each its own HTTP chunk. The head is sent in one write.
    - ``write_delay``: seconds between two body writes (or pieces).
    - ``content_type``: defaults to ``text/event-stream; charset=utf-8`` for a
      2xx status, else ``application/json``.
    - ``body``: bytes (or a function of the provider name returning bytes)
      written before the steps, e.g. a JSON error body.
    """

    status: int = 200
    headers: dict[str, str] = attrs.field(factory=dict, converter=_headers)
    steps: tuple[Step, ...] = attrs.field(default=(), converter=_steps)
    framing: str = attrs.field(default="chunked", validator=attrs.validators.in_(_FRAMINGS))
    gzip: bool = False
    line_ending: str = attrs.field(default="\n", validator=attrs.validators.in_(_LINE_ENDINGS))
    bom: bool = False
    split: Optional[int] = attrs.field(default=None, validator=_check_split)
    write_delay: float = 0.0
    content_type: Optional[str] = None
    body: Optional[Body] = None

    def evolve(self, **changes: Any) -> Reply:
        """A copy with some fields changed (``attrs.evolve``)."""
        return attrs.evolve(self, **changes)


def events(*steps: Step, **reply_kwargs: Any) -> Reply:
    """``Reply(steps=steps, **reply_kwargs)``: e.g. ``events(Text("a"), Stall())``."""
    return Reply(steps=list(steps), **reply_kwargs)


def answer(
    *chunks: str,
    reasoning: Iterable[str] = (),
    usage: Optional[tuple[int, int]] = (10, 5),
    finish_reason: Optional[str] = None,
    tool_calls: Iterable[ToolCall] = (),
    pings: bool = False,
    **reply_kwargs: Any,
) -> Reply:
    """The happy path: reasoning, text chunks, tool calls, ``Finish``, usage, ``Done``.

    ``usage`` is ``(input_tokens, output_tokens)`` or ``None`` for no usage.
    ``pings=True`` starts the script with a :class:`Ping` (anthropic sends one
    right after ``message_start``). Other keywords go to :class:`Reply`
    (``answer("a", gzip=True, split=1)``).
    """
    steps: list[Step] = []
    if pings:
        steps.append(Ping())
    steps.extend(Reasoning(text) for text in reasoning)
    steps.extend(Text(chunk) for chunk in chunks)
    steps.extend(tool_calls)
    steps.append(Finish(finish_reason))
    if usage is not None:
        steps.append(UsageStep(usage[0], usage[1]))
    steps.append(Done())
    return Reply(steps=steps, **reply_kwargs)


_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}

# status: (type, code) of an OpenAI error body.
_OPENAI_TYPES: dict[int, tuple[str, Optional[str]]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}

# xAI answers errors with a gRPC-style status text in "code" and the message in "error".
_XAI_CODES = {
    400: "Client specified an invalid argument",
    401: "The request does not have valid authentication credentials",
    403: "The caller does not have permission to execute the specified operation",
    404: "Some requested entity was not found",
    408: "The operation was cancelled",
    409: "The operation was aborted",
    429: "Some resource has been exhausted",
    500: "Internal error",
    503: "The service is currently unavailable",
}


def _phrase(status: int) -> str:
    if status == 529:
        return "Overloaded"
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _dumps(obj: object) -> str:
    return _json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def _error_body(status: int, message: str, error_type: Optional[str], provider: str) -> bytes:
    if provider == "anthropic":
        kind = error_type or _ANTHROPIC_TYPES.get(
            status, "api_error" if status >= 500 else "invalid_request_error"
        )
        obj: dict[str, Any] = {"type": "error", "error": {"type": kind, "message": message}}
    elif provider == "xai":
        obj = {"code": error_type or _XAI_CODES.get(status, _phrase(status)), "error": message}
    else:
        default_type, code = _OPENAI_TYPES.get(
            status, ("server_error" if status >= 500 else "invalid_request_error", None)
        )
        obj = {
            "error": {
                "message": message,
                "type": error_type or default_type,
                "param": None,
                "code": code,
            }
        }
    return _dumps(obj).encode("utf-8")


def _header_number(value: Union[int, float, str]) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def error(
    status: int,
    message: Optional[str] = None,
    *,
    error_type: Optional[str] = None,
    retry_after: Union[int, float, str, None] = None,
    retry_after_ms: Union[int, float, str, None] = None,
    html: bool = False,
    headers: Optional[Mapping[str, str]] = None,
) -> Reply:
    """An error response, with the requesting provider's own JSON error body.

    - OpenAI: ``{"error": {"message", "type", "param": null, "code"}}`` (type
      ``invalid_request_error`` for 4xx, ``requests``/``rate_limit_exceeded`` for
      429, ``server_error`` for 5xx).
    - xAI: ``{"code": "<status text>", "error": "<message>"}``, as api.x.ai does.
    - Anthropic: ``{"type": "error", "error": {"type", "message"}}`` (type
      ``invalid_request_error`` 400, ``authentication_error`` 401,
      ``permission_error`` 403, ``not_found_error`` 404, ``rate_limit_error`` 429,
      ``api_error`` 500, ``overloaded_error`` 529, ...).

    ``error_type`` overrides the type (xAI: the ``code``). ``retry_after`` sets
    ``Retry-After`` (seconds, or a string such as an HTTP date);
    ``retry_after_ms`` sets ``retry-after-ms``. ``html=True`` gives a proxy's
    ``text/html`` error page instead (``<title>502 Bad Gateway</title>`` for 502).
    The body is sent with ``Content-Length``.
    """
    text = message if message is not None else _phrase(status)
    extra: dict[str, str] = {}
    if retry_after is not None:
        extra["Retry-After"] = _header_number(retry_after)
    if retry_after_ms is not None:
        extra["retry-after-ms"] = _header_number(retry_after_ms)
    extra.update(headers or {})
    if html:
        title = f"{status} {_phrase(status)}"
        page = (
            f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
            "</body>\r\n</html>\r\n"
        )
        return Reply(
            status=status,
            headers=extra,
            framing="length",
            content_type="text/html",
            body=page.encode("utf-8"),
        )

    def body(provider: str) -> bytes:
        return _error_body(status, text, error_type, provider)

    return Reply(
        status=status,
        headers=extra,
        framing="length",
        content_type="application/json",
        body=body,
    )


# --------------------------------------------------------------------------- rendering


class _Renderer:
    def __init__(self, model: str, eol: str, steps: Sequence[Step]) -> None:
        self.model = model
        self.eol = eol
        self.any_tool = False
        usage = next((step for step in steps if isinstance(step, UsageStep)), None)
        self.input_tokens = usage.input_tokens if usage is not None else 0
        self.output_tokens = usage.output_tokens if usage is not None else 0
        self.usage = usage

    def comment(self, text: str) -> str:
        return f": {text}{self.eol}{self.eol}"

    def render(self, step: Step) -> str:
        raise NotImplementedError


class _ChatRenderer(_Renderer):
    def __init__(self, model: str, eol: str, steps: Sequence[Step]) -> None:
        super().__init__(model, eol, steps)
        self.created = int(time.time())
        self.started = False
        self.tools: set[int] = set()

    def data(self, obj: object) -> str:
        return f"data: {_dumps(obj)}{self.eol}{self.eol}"

    def chunk(self, delta: dict[str, Any], finish_reason: Optional[str] = None) -> str:
        return self.data(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            }
        )

    def start(self) -> str:
        if self.started:
            return ""
        self.started = True
        return self.chunk({"role": "assistant", "content": ""})

    def render(self, step: Step) -> str:
        if isinstance(step, Text):
            return self.start() + self.chunk({"content": step.text})
        if isinstance(step, Reasoning):
            return self.start() + self.chunk({"reasoning_content": step.text})
        if isinstance(step, ToolCall):
            return self.start() + self.tool_call(step)
        if isinstance(step, Finish):
            reason = step.reason or ("tool_calls" if self.any_tool else "stop")
            return self.start() + self.chunk({}, reason)
        if isinstance(step, UsageStep):
            usage: dict[str, Any] = {
                "prompt_tokens": step.input_tokens,
                "completion_tokens": step.output_tokens,
                "total_tokens": step.input_tokens + step.output_tokens,
            }
            if step.cache_read_tokens:
                usage["prompt_tokens_details"] = {"cached_tokens": step.cache_read_tokens}
            return self.data(
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "created": self.created,
                    "model": self.model,
                    "choices": [],
                    "usage": usage,
                }
            )
        if isinstance(step, Done):
            return f"data: [DONE]{self.eol}{self.eol}"
        if isinstance(step, ErrorEvent):
            return self.data(
                {
                    "error": {
                        "message": step.message,
                        "type": step.error_type,
                        "param": None,
                        "code": step.code,
                    }
                }
            )
        if isinstance(step, Comment):
            return self.comment(step.text)
        if isinstance(step, Ping):
            return self.comment("ping")
        raise TypeError(f"not a rendered step: {step!r}")

    def tool_call(self, step: ToolCall) -> str:
        self.any_tool = True
        pieces = list(step.arguments)
        out = []
        if step.index not in self.tools:
            self.tools.add(step.index)
            first = pieces.pop(0) if pieces else ""
            call = {
                "index": step.index,
                "id": step.id or f"call_fake_{step.index}",
                "type": "function",
                "function": {"name": step.name, "arguments": first},
            }
            out.append(self.chunk({"tool_calls": [call]}))
        for piece in pieces:
            call = {"index": step.index, "function": {"arguments": piece}}
            out.append(self.chunk({"tool_calls": [call]}))
        return "".join(out)


class _AnthropicRenderer(_Renderer):
    def __init__(self, model: str, eol: str, steps: Sequence[Step]) -> None:
        super().__init__(model, eol, steps)
        self.started = False
        self.index = -1
        self.open: Optional[tuple[str, int]] = None  # ("text" | "thinking" | "tool", tool index)

    def event(self, name: str, obj: Union[dict[str, Any], str]) -> str:
        data = obj if isinstance(obj, str) else _dumps(obj)
        return f"event: {name}{self.eol}data: {data}{self.eol}{self.eol}"

    def start(self) -> str:
        if self.started:
            return ""
        self.started = True
        message: dict[str, Any] = {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": self.input_tokens, "output_tokens": 1},
        }
        cached = self.usage
        if cached is not None and (cached.cache_read_tokens or cached.cache_write_tokens):
            message["usage"]["cache_creation_input_tokens"] = cached.cache_write_tokens
            message["usage"]["cache_read_input_tokens"] = cached.cache_read_tokens
        return self.event("message_start", {"type": "message_start", "message": message})

    def close_block(self) -> str:
        if self.open is None:
            return ""
        out = ""
        if self.open[0] == "thinking":
            delta = {"type": "signature_delta", "signature": "ZmFrZS1zaWduYXR1cmU="}
            out += self.delta(delta)
        self.open = None
        return out + self.event(
            "content_block_stop", {"type": "content_block_stop", "index": self.index}
        )

    def open_block(self, kind: tuple[str, int], block: dict[str, Any]) -> str:
        if self.open == kind:
            return ""
        out = self.close_block()
        self.index += 1
        self.open = kind
        start = {"type": "content_block_start", "index": self.index, "content_block": block}
        return out + self.event("content_block_start", start)

    def delta(self, delta: dict[str, Any]) -> str:
        event = {"type": "content_block_delta", "index": self.index, "delta": delta}
        return self.event("content_block_delta", event)

    def render(self, step: Step) -> str:
        if isinstance(step, Text):
            out = self.start() + self.open_block(("text", 0), {"type": "text", "text": ""})
            return out + self.delta({"type": "text_delta", "text": step.text})
        if isinstance(step, Reasoning):
            out = self.start()
            out += self.open_block(("thinking", 0), {"type": "thinking", "thinking": ""})
            return out + self.delta({"type": "thinking_delta", "thinking": step.text})
        if isinstance(step, ToolCall):
            self.any_tool = True
            block: dict[str, Any] = {
                "type": "tool_use",
                "id": step.id or f"toolu_fake_{step.index}",
                "name": step.name,
                "input": {},
            }
            out = self.start() + self.open_block(("tool", step.index), block)
            for piece in step.arguments or ("",):
                out += self.delta({"type": "input_json_delta", "partial_json": piece})
            return out
        if isinstance(step, Finish):
            reason = step.reason or ("tool_use" if self.any_tool else "end_turn")
            message_delta = {
                "type": "message_delta",
                "delta": {"stop_reason": reason, "stop_sequence": None},
                "usage": {"output_tokens": self.output_tokens},
            }
            out = self.start() + self.close_block()
            return out + self.event("message_delta", message_delta)
        if isinstance(step, UsageStep):
            return ""
        if isinstance(step, Done):
            out = self.start() + self.close_block()
            return out + self.event("message_stop", {"type": "message_stop"})
        if isinstance(step, ErrorEvent):
            body = {"type": "error", "error": {"type": step.error_type, "message": step.message}}
            return self.event("error", body)
        if isinstance(step, Comment):
            return self.comment(step.text)
        if isinstance(step, Ping):
            return self.start() + self.event("ping", '{"type": "ping"}')
        raise TypeError(f"not a rendered step: {step!r}")


_Control = Union[Pause, Stall, Close, Reset]
_Action = Union[bytes, _Control]


def _plan(reply: Reply, provider: str, model: str) -> list[_Action]:
    """The reply's body as a list of byte writes and control steps (not compressed)."""
    if provider not in _PROVIDERS:
        raise ValueError(f"provider must be one of {', '.join(_PROVIDERS)}, not {provider!r}")
    actions: list[_Action] = []
    prefix = b"\xef\xbb\xbf" if reply.bom else b""
    if reply.body is not None:
        prefix += reply.body if isinstance(reply.body, bytes) else reply.body(provider)
    if prefix:
        actions.append(prefix)
    renderer: _Renderer
    if provider == "anthropic":
        renderer = _AnthropicRenderer(model, reply.line_ending, reply.steps)
    else:
        renderer = _ChatRenderer(model, reply.line_ending, reply.steps)
    for step in reply.steps:
        if isinstance(step, (Pause, Stall, Close, Reset)):
            actions.append(step)
        elif isinstance(step, Raw):
            if step.data:
                actions.append(step.data)
        else:
            text = renderer.render(step)
            if text:
                actions.append(text.encode("utf-8"))
    return actions


def sse_bytes(reply: Reply, provider: str, model: str = _DEFAULT_MODEL) -> bytes:
    """The body ``reply`` would deliver to a ``provider`` request for ``model``.

    No HTTP framing, no gzip, no timing; it stops at a :class:`Close` or
    :class:`Reset` step, as the client would.
    """
    out = []
    for action in _plan(reply, provider, model):
        if isinstance(action, (Close, Reset)):
            break
        if isinstance(action, bytes):
            out.append(action)
    return b"".join(out)


def _encode(actions: list[_Action], use_gzip: bool) -> list[_Action]:
    """Gzip the byte writes (one stream, ``Z_SYNC_FLUSH`` after each write)."""
    if not use_gzip:
        return actions
    compressor = zlib.compressobj(wbits=31)
    out: list[_Action] = []
    for action in actions:
        if isinstance(action, bytes):
            out.append(compressor.compress(action) + compressor.flush(zlib.Z_SYNC_FLUSH))
        else:
            out.append(action)
    out.append(compressor.flush(zlib.Z_FINISH))
    return out


# --------------------------------------------------------------------------- requests


@attrs.frozen
class RecordedRequest:
    """A request the fake provider received.

    ``headers`` is an :class:`http.client.HTTPMessage` (case-insensitive; a
    missing header is ``None``). ``json`` is the parsed body, or ``None`` when
    the body is not JSON. ``provider`` is ``"openai"``, ``"xai"`` or
    ``"anthropic"`` (from the path), or ``None`` for a path that names none.
    ``disconnected`` is set when the server sees the client close or reset the
    connection that carried this request.
    """

    method: str
    path: str
    provider: Optional[str]
    headers: http.client.HTTPMessage
    body: bytes
    json: Any
    disconnected: threading.Event = attrs.field(factory=threading.Event, eq=False, repr=False)

    @property
    def model(self) -> Optional[str]:
        """The ``model`` of a JSON body, if any."""
        if isinstance(self.json, dict):
            model = self.json.get("model")
            if isinstance(model, str):
                return model
        return None


def _route(path: str) -> tuple[Optional[str], str]:
    """(provider, kind) of a request path; kind is "chat", "messages", "models" or ""."""
    bare = path.split("?", 1)[0].rstrip("/")
    segments = [segment for segment in bare.split("/") if segment]
    first = segments[0] if segments else ""
    prefix = first if first in _PROVIDERS else None
    if bare.endswith("/chat/completions"):
        return ("xai" if prefix == "xai" else "openai"), "chat"
    if bare.endswith("/v1/messages"):
        return "anthropic", "messages"
    if bare.endswith("/models"):
        return prefix or "openai", "models"
    return prefix, ""


# --------------------------------------------------------------------------- server


class _Gone(Exception):
    """The client went away, or the server is closing: stop serving this connection."""


class _BadRequest(Exception):
    pass


class FakeProvider:
    """A fake LLM provider on a local port; see the module documentation.

    The server starts listening and serving in the constructor; use it as a
    context manager (or call :meth:`close`).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.host = host
        #: Replies served, one per chat/messages request, first in first out.
        self._queue: deque[Reply] = deque()
        #: Called with each :class:`RecordedRequest` when the queue is empty, to make
        #: its reply (for replies that depend on the request); else ``default`` serves.
        self.responder: Optional[Callable[[RecordedRequest], Reply]] = None
        #: Served when the queue is empty and there is no responder; ``None`` means
        #: a 500 "no scripted reply".
        self.default: Optional[Reply] = None
        #: The model names ``GET .../models`` lists.
        self.models: list[str] = [_DEFAULT_MODEL]
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._closed = False
        self._released = False
        self._conns: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._count = 0
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            if os.name != "nt":
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((host, port))
            listener.listen(64)
            listener.setblocking(False)
        except BaseException:
            listener.close()
            raise
        self._listener = listener
        self.port: int = listener.getsockname()[1]
        self._stop_r, self._stop_w = socket.socketpair()
        self._release_r, self._release_w = socket.socketpair()
        self._accepter = threading.Thread(
            target=self._accept_loop, name="fake-provider-accept", daemon=True
        )
        self._accepter.start()

    # -- public API

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def base_url(self, provider: str) -> str:
        """The base URL a client of ``provider`` should use (see the module docs)."""
        if provider == "anthropic":
            return f"{self.url}/anthropic"
        if provider in ("openai", "xai"):
            return f"{self.url}/{provider}/v1"
        raise ValueError(f"provider must be one of {', '.join(_PROVIDERS)}, not {provider!r}")

    def env(self) -> dict[str, str]:
        """``*_BASE_URL`` pointing here and ``*_API_KEY`` set to ``sk-fake-key``."""
        return {
            "OPENAI_BASE_URL": self.base_url("openai"),
            "XAI_BASE_URL": self.base_url("xai"),
            "ANTHROPIC_BASE_URL": self.base_url("anthropic"),
            "OPENAI_API_KEY": FAKE_API_KEY,
            "XAI_API_KEY": FAKE_API_KEY,
            "ANTHROPIC_API_KEY": FAKE_API_KEY,
        }

    def push(self, *replies: Reply) -> None:
        """Queue replies; each chat/messages request takes the oldest one."""
        for reply in replies:
            if not isinstance(reply, Reply):
                raise TypeError(f"push() takes Reply objects, not {type(reply)!r}")
        with self._lock:
            self._queue.extend(replies)

    @property
    def pending(self) -> int:
        """How many pushed replies have not been served yet."""
        with self._lock:
            return len(self._queue)

    @property
    def requests(self) -> list[RecordedRequest]:
        """The requests received so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    def wait_for_requests(self, n: int, timeout: Optional[float] = 5.0) -> bool:
        """Wait until at least ``n`` requests have arrived; ``False`` on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._requests) >= n, timeout)

    def release(self) -> None:
        """Release every :class:`Stall` held now; later ones return at once."""
        with self._lock:
            if self._released or self._closed:
                return
            self._released = True
            self._release_w.send(b"r")

    def close(self) -> None:
        """Release stalls, stop serving, close every socket, join every thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if not self._released:
                self._released = True
                self._release_w.send(b"r")
            self._stop_w.send(b"s")
            for conn in self._conns:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._changed.notify_all()
        self._accepter.join()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join()
        self._listener.close()
        for sock in (self._stop_r, self._stop_w, self._release_r, self._release_w):
            sock.close()

    def __enter__(self) -> FakeProvider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else self.url
        return f"<FakeProvider {state}>"

    # -- internals

    def _accept_loop(self) -> None:
        while True:
            ready = _wait_readable([self._listener, self._stop_r], None)
            if self._closed or self._stop_r in ready:
                return
            try:
                conn, _ = self._listener.accept()
            except OSError:
                continue
            with self._lock:
                if self._closed:
                    conn.close()
                    return
                conn.setblocking(True)
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._count += 1
                self._conns.add(conn)
                self._threads = [t for t in self._threads if t.is_alive()]
                thread = threading.Thread(
                    target=_Connection(self, conn).run,
                    name=f"fake-provider-conn-{self._count}",
                    daemon=True,
                )
                self._threads.append(thread)
                thread.start()

    def _forget(self, conn: socket.socket, reset: bool) -> None:
        with self._lock:
            self._conns.discard(conn)
            if reset:
                try:
                    conn.setsockopt(
                        socket.SOL_SOCKET,
                        socket.SO_LINGER,
                        struct.pack("HH" if os.name == "nt" else "ii", 1, 0),
                    )
                except OSError:
                    pass
            conn.close()

    def _record(self, request: RecordedRequest) -> None:
        with self._changed:
            self._requests.append(request)
            self._changed.notify_all()

    def _next_reply(self, request: RecordedRequest) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        if self.responder is not None:
            return self.responder(request)
        if self.default is not None:
            return self.default
        return error(500, "no scripted reply", error_type=None)


def _wait_readable(socks: list[socket.socket], timeout: Optional[float]) -> list[socket.socket]:
    """The sockets of ``socks`` that are readable (or at EOF, or in error) within ``timeout``."""
    if hasattr(select, "poll"):
        poller = select.poll()
        by_fd = {}
        for sock in socks:
            by_fd[sock.fileno()] = sock
            poller.register(sock, select.POLLIN | select.POLLPRI)
        millis = None if timeout is None else max(0, math.ceil(timeout * 1000))
        while True:
            try:
                ready = poller.poll(millis)
                break
            except InterruptedError:  # pragma: no cover - retried by Python since 3.5
                continue
        return [by_fd[fd] for fd, _ in ready]
    readable, _, errored = select.select(socks, [], socks, timeout)  # pragma: no cover
    return list(set(readable) | set(errored))  # pragma: no cover


class _Connection:
    """Serves the requests of one client connection, on its own thread."""

    def __init__(self, server: FakeProvider, sock: socket.socket) -> None:
        self.server = server
        self.sock = sock
        self.buffer = b""
        self.requests: list[RecordedRequest] = []
        self.reset = False

    def run(self) -> None:
        try:
            while self.serve_one():
                pass
        except _Gone:
            pass
        finally:
            self.server._forget(self.sock, self.reset)

    # -- client liveness

    def gone(self) -> _Gone:
        """The client closed or reset the connection: flag its requests."""
        if not self.server._closed:
            for request in self.requests:
                request.disconnected.set()
        return _Gone()

    def receive(self) -> None:
        """Read what the client sent into the buffer; raise ``_Gone`` at EOF."""
        try:
            data = self.sock.recv(65536)
        except OSError:
            raise self.gone() from None
        if not data:
            raise self.gone()
        self.buffer += data

    def wait(self, timeout: Optional[float], stall: bool = False) -> None:
        """Wait ``timeout`` seconds (or, for a stall, until released), watching
        for the client's EOF and for the server closing."""
        deadline = None if timeout is None else time.monotonic() + timeout
        socks = [self.sock, self.server._stop_r]
        if stall:
            socks.append(self.server._release_r)
        while True:
            if self.server._closed:
                raise _Gone()
            if stall and self.server._released:
                return
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return
            ready = _wait_readable(socks, remaining)
            if self.sock in ready:
                self.receive()

    def check(self) -> None:
        """Notice, without waiting, a client that has already gone."""
        if _wait_readable([self.sock], 0):
            self.receive()

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data, _SEND_FLAGS)
        except OSError:
            raise self.gone() from None

    def linger(self) -> None:
        """Half-close, then wait for the client to close its side."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            raise self.gone() from None
        while True:
            ready = _wait_readable([self.sock, self.server._stop_r], None)
            if self.server._closed:
                raise _Gone()
            if self.sock in ready:
                self.receive()
                self.buffer = b""

    # -- reading a request

    def read_until(self, marker: bytes, limit: int) -> bytes:
        while True:
            index = self.buffer.find(marker)
            if index >= 0:
                head = self.buffer[:index]
                self.buffer = self.buffer[index + len(marker) :]
                return head
            if len(self.buffer) > limit:
                raise _BadRequest("request head too large")
            self.wait_for_data()

    def read_exact(self, n: int) -> bytes:
        while len(self.buffer) < n:
            self.wait_for_data()
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def wait_for_data(self) -> None:
        while True:
            ready = _wait_readable([self.sock, self.server._stop_r], None)
            if self.server._closed:
                raise _Gone()
            if self.sock in ready:
                self.receive()
                return

    def read_body(self, headers: http.client.HTTPMessage) -> bytes:
        if "chunked" in (headers.get("transfer-encoding") or "").lower():
            parts: list[bytes] = []
            while True:
                size_line = self.read_until(b"\r\n", 1024)
                try:
                    size = int(size_line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise _BadRequest("bad chunk size") from None
                if size == 0:
                    while self.read_until(b"\r\n", 65536):  # trailers
                        pass
                    return b"".join(parts)
                parts.append(self.read_exact(size))
                self.read_exact(2)
        length = headers.get("content-length")
        if length is None:
            return b""
        try:
            n = int(length)
        except ValueError:
            raise _BadRequest("bad Content-Length") from None
        if n < 0:
            raise _BadRequest("bad Content-Length")
        return self.read_exact(n)

    # -- serving

    def serve_one(self) -> bool:
        """Read and answer one request; whether to keep the connection open."""
        try:
            head = self.read_until(b"\r\n\r\n", 65536).lstrip(b"\r\n")
            request_line, _, header_bytes = head.partition(b"\r\n")
            parts = request_line.decode("latin-1").split()
            if len(parts) != 3 or not parts[2].startswith("HTTP/"):
                raise _BadRequest("bad request line")
            method, target, version = parts
            headers = http.client.parse_headers(io.BytesIO(header_bytes + b"\r\n\r\n"))
            if (headers.get("expect") or "").lower() == "100-continue":
                self.send(b"HTTP/1.1 100 Continue\r\n\r\n")
            body = self.read_body(headers)
        except (_BadRequest, http.client.HTTPException, UnicodeError):
            self.respond_simple(400, "openai", "malformed request", keep_alive=False)
            return False
        connection = (headers.get("connection") or "").lower()
        keep_alive = version == "HTTP/1.1" and "close" not in connection
        if version == "HTTP/1.0" and "keep-alive" in connection:
            keep_alive = True
        try:
            parsed = _json.loads(body) if body else None
        except ValueError:
            parsed = None
        provider, kind = _route(target)
        request = RecordedRequest(
            method=method,
            path=target,
            provider=provider,
            headers=headers,
            body=body,
            json=parsed,
        )
        self.requests.append(request)
        self.server._record(request)
        fmt = provider or "openai"
        if kind == "models" and method == "GET":
            return self.respond(self.models_reply(fmt), fmt, _DEFAULT_MODEL, keep_alive)
        if kind in ("chat", "messages"):
            if method != "POST":
                message = f"method {method} not allowed on {target}"
                return self.respond_simple(405, fmt, message, keep_alive)
            model = request.model or _DEFAULT_MODEL
            return self.respond(self.server._next_reply(request), fmt, model, keep_alive)
        return self.respond_simple(404, fmt, f"no such path: {target}", keep_alive)

    def models_reply(self, provider: str) -> Reply:
        names = list(self.server.models)
        obj: dict[str, Any]
        data: list[dict[str, Any]]
        if provider == "anthropic":
            data = [
                {
                    "type": "model",
                    "id": name,
                    "display_name": name,
                    "created_at": "2025-01-01T00:00:00Z",
                }
                for name in names
            ]
            obj = {
                "data": data,
                "has_more": False,
                "first_id": names[0] if names else None,
                "last_id": names[-1] if names else None,
            }
        else:
            data = [
                {"id": name, "object": "model", "created": 0, "owned_by": "fake-provider"}
                for name in names
            ]
            obj = {"object": "list", "data": data}
        return Reply(framing="length", content_type="application/json", body=_dumps(obj).encode())

    def respond_simple(self, status: int, provider: str, message: str, keep_alive: bool) -> bool:
        return self.respond(error(status, message), provider, _DEFAULT_MODEL, keep_alive)

    def respond(self, reply: Reply, provider: str, model: str, keep_alive: bool) -> bool:
        actions = _encode(_plan(reply, provider, model), reply.gzip)
        keep_alive = keep_alive and reply.framing != "close"
        content_type = reply.content_type
        if content_type is None:
            if 200 <= reply.status < 300:
                content_type = "text/event-stream; charset=utf-8"
            else:
                content_type = "application/json"
        elif content_type == "text/event-stream":
            content_type = "text/event-stream; charset=utf-8"
        elif content_type == "text/html":
            content_type = "text/html; charset=utf-8"
        fields: list[tuple[str, str]] = [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Server", "fake-provider"),
            ("Content-Type", content_type),
            ("Cache-Control", "no-cache"),
        ]
        if reply.gzip:
            fields.append(("Content-Encoding", "gzip"))
        if reply.framing == "chunked":
            fields.append(("Transfer-Encoding", "chunked"))
        elif reply.framing == "length":
            total = sum(len(action) for action in actions if isinstance(action, bytes))
            fields.append(("Content-Length", str(total)))
        fields.append(("Connection", "keep-alive" if keep_alive else "close"))
        for name, value in reply.headers.items():
            fields = [field for field in fields if field[0].lower() != name.lower()]
            fields.append((name, value))
        head = f"HTTP/1.1 {reply.status} {_phrase(reply.status)}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in fields) + "\r\n"
        self.send(head.encode("latin-1"))
        chunked = reply.framing == "chunked"
        wrote = False
        for action in actions:
            if isinstance(action, bytes):
                size = reply.split or len(action)
                for start in range(0, len(action), size):
                    if wrote and reply.write_delay > 0:
                        self.wait(reply.write_delay)
                    wrote = True
                    piece = action[start : start + size]
                    if chunked:
                        piece = b"%x\r\n%s\r\n" % (len(piece), piece)
                    self.send(piece)
                    self.check()
            elif isinstance(action, Pause):
                self.wait(action.seconds)
            elif isinstance(action, Stall):
                self.wait(None, stall=True)
            elif isinstance(action, Close):
                self.linger()
            else:
                self.reset = True
                return False
        if chunked:
            self.send(b"0\r\n\r\n")
        if not keep_alive:
            self.linger()
        return True


# --------------------------------------------------------------------------- serve

#: Seconds between two chunks of the demo answer, so that streaming shows.
_DEMO_DELAY = 0.05


def _user_text(request: RecordedRequest) -> str:
    """The text of the last user message of a Chat Completions or Messages request."""
    body = request.json if isinstance(request.json, dict) else {}
    messages = body.get("messages")
    for message in reversed(messages if isinstance(messages, list) else []):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):  # content parts / blocks
            texts = [part.get("text") for part in content if isinstance(part, dict)]
            return " ".join(text for text in texts if isinstance(text, str))
        return ""
    return ""


def demo_reply(request: RecordedRequest, delay: float = _DEMO_DELAY) -> Reply:
    """The answer ``python -m codey.testing serve`` streams: the last user
    message echoed back a word at a time, ``delay`` seconds apart.

    Use it as a responder: ``fake.responder = demo_reply``.
    """
    said = " ".join(_user_text(request).split())
    text = f"You said: {said}" if said else "Hello from codey.testing."
    words = re.findall(r"\s*\S+", text)
    return answer(*words, usage=(len(said.split()), len(words)), write_delay=delay)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m codey.testing serve``: a fake provider to try codey without a key.

    It prints the ``export`` lines that point codey at it, then serves every
    model of every provider with :func:`demo_reply` until Ctrl-C or SIGTERM
    (exit status 0).
    """
    import argparse
    import signal
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m codey.testing",
        description="A fake LLM provider on this machine: try codey with no API key.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve = commands.add_parser(
        "serve",
        help="serve a demo answer to every request, until Ctrl-C",
        description="Serve OpenAI, xAI and Anthropic requests with a streamed demo answer "
        "(your last message, echoed back word by word) until Ctrl-C or SIGTERM.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="the address (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="the port (default: any free one)")
    serve.add_argument(
        "--delay",
        type=float,
        default=_DEMO_DELAY,
        help=f"seconds between chunks of the answer (default: {_DEMO_DELAY})",
    )
    args = parser.parse_args(argv)
    if args.delay < 0:
        parser.error("--delay must not be negative")

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # SIGTERM ends it as quietly as Ctrl-C (signals can be set only in the main thread).
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, interrupt) if main_thread else None
    try:
        try:
            fake = FakeProvider(args.host, args.port)
        except OSError as exc:
            where = f"{args.host}:{args.port}"
            print(f"codey.testing: error: cannot listen on {where}: {exc}", file=sys.stderr)
            return 1
        try:
            delay = args.delay
            fake.responder = lambda request: demo_reply(request, delay)
            _announce(fake)
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0
        finally:
            try:
                fake.close()
            except KeyboardInterrupt:  # a second Ctrl-C: the daemon threads die with us
                pass
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _announce(fake: FakeProvider) -> None:
    """Print where the fake provider is and the lines that point codey at it."""
    import shlex

    env = fake.env()
    lines = [
        f"codey.testing: a fake provider at {fake.url}; every model answers with your own "
        "words, no API key needed.",
        "Paste these lines into another shell:",
        "",
    ]
    for provider in _PROVIDERS:
        names = (f"{provider.upper()}_BASE_URL", f"{provider.upper()}_API_KEY")
        lines.append("export " + " ".join(f"{name}={shlex.quote(env[name])}" for name in names))
    lines += ['codey prompt "hello" --model gpt-4.1', "", "Ctrl-C stops it."]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
