"""Replies: :class:`Reply` (one scripted response) and the builders :func:`events`,
:func:`answer`, :func:`error` (with each provider's own error body) and :func:`expired`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Callable, Optional, Union

import attrs

from codey.testing._common import _dumps, _phrase
from codey.testing._steps import (
    Done,
    Finish,
    Ping,
    Reasoning,
    Step,
    Text,
    Think,
    ToolCall,
    UsageStep,
)

_FRAMINGS = ("chunked", "close", "length")
_LINE_ENDINGS = ("\n", "\r\n", "\r")

#: A reply body: bytes, or a function of the requesting provider's name.
Body = Union[bytes, Callable[[str], bytes]]


def _steps(value: Iterable[Step]) -> tuple[Step, ...]:
    steps: list[Step] = []
    for step in value:
        if isinstance(step, Think):
            steps.extend(step.steps())
        else:
            steps.append(step)
    return tuple(steps)


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
    - ``expired``: in a provider batch, the item is never run: it ends expired; a
      streamed request that takes such a reply gets a 500 (see :func:`expired`).
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
    expired: bool = False

    def evolve(self, **changes: Any) -> Reply:
        """A copy with some fields changed (``attrs.evolve``)."""
        return attrs.evolve(self, **changes)


def events(*steps: Step, **reply_kwargs: Any) -> Reply:
    """``Reply(steps=steps, **reply_kwargs)``: e.g. ``events(Text("a"), Stall())``."""
    return Reply(steps=list(steps), **reply_kwargs)


def expired() -> Reply:
    """``Reply(expired=True)``: a batched request that expires before it runs.

    OpenAI: an error-file line with ``error.code`` ``batch_expired`` (and the batch
    ends ``expired``); Anthropic: a ``{"type": "expired"}`` result. A streamed
    request that takes it gets a 500 JSON error.
    """
    return Reply(expired=True)


def answer(
    *chunks: Union[str, Text],
    reasoning: Iterable[str] = (),
    usage: Optional[tuple[int, int]] = (10, 5),
    finish_reason: Optional[str] = None,
    tool_calls: Iterable[ToolCall] = (),
    pings: bool = False,
    think: float = 0.0,
    keepalive: Optional[float] = None,
    **reply_kwargs: Any,
) -> Reply:
    """The happy path: reasoning, text chunks, tool calls, ``Finish``, usage, ``Done``.

    ``usage`` is ``(input_tokens, output_tokens)`` or ``None`` for no usage.
    ``pings=True`` starts the script with a :class:`Ping` (anthropic sends one
    right after ``message_start``). ``think=2.0`` starts the answer after two
    seconds of silence (a :class:`Think` step; ``keepalive`` is its ping interval).
    Other keywords go to :class:`Reply` (``answer("a", gzip=True, split=1)``).
    A chunk may be a :class:`Text` step: one that cites sources
    (``Text("Paris.", citations=[Source(url=...)])``).
    """
    steps: list[Step] = []
    if pings:
        steps.append(Ping())
    if think:
        steps.append(Think(think, keepalive))
    steps.extend(Reasoning(text) for text in reasoning)
    steps.extend(chunk if isinstance(chunk, Text) else Text(chunk) for chunk in chunks)
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
