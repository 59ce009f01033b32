"""A reply's body: rendered in a wire format, as byte writes and control steps.

The wire formats the fake speaks are registered in ``_RENDERERS``, one renderer
class each (a ``_sse._Renderer`` in a module of its own). A request routed to
one of them (``_requests._route`` names the format of a streaming path) gets its
reply in that format; any other reply (a ``models`` list, an error page) and
:func:`sse_bytes` use the format of the provider (``_PROVIDER_FORMATS``).
"""

from __future__ import annotations

import zlib
from typing import Any, Optional, Union

from codey.testing._chat import _ChatRenderer
from codey.testing._common import _DEFAULT_MODEL, _PROVIDERS, _unknown_provider
from codey.testing._messages import _AnthropicRenderer, as_forced_tool
from codey.testing._replies import Reply
from codey.testing._responses import _ResponsesRenderer
from codey.testing._sse import _Renderer
from codey.testing._steps import Close, Pause, Raw, Reset, Stall

#: The renderer of each wire format, by the name ``_route`` gives its requests.
_RENDERERS: dict[str, type[_Renderer]] = {
    "chat": _ChatRenderer,  # OpenAI / xAI Chat Completions
    "messages": _AnthropicRenderer,  # Anthropic Messages
    "responses": _ResponsesRenderer,  # OpenAI / xAI Responses
}

#: The wire format of each provider's replies when the request names none.
_PROVIDER_FORMATS = {"openai": "chat", "xai": "chat", "anthropic": "messages"}

_Control = Union[Pause, Stall, Close, Reset]
#: The steps that shape the delivery, not the answer (``_Control``'s, for isinstance).
_CONTROLS = (Pause, Stall, Close, Reset)
_Action = Union[bytes, _Control]


def _wire_format(provider: str, wire_format: str) -> str:
    """The format a reply is rendered in: the request's (a key of ``_RENDERERS``),
    else the provider's own."""
    if provider not in _PROVIDERS:
        raise _unknown_provider(provider)
    return wire_format if wire_format in _RENDERERS else _PROVIDER_FORMATS[provider]


def _plan(
    reply: Reply,
    provider: str,
    model: str,
    wire_format: str = "",
    request: Any = None,
    sealed: Optional[dict[str, str]] = None,
) -> list[_Action]:
    """The reply's body as a list of byte writes and control steps (not compressed).

    ``wire_format`` is the format the request was routed to (a key of
    ``_RENDERERS``), or anything else for the provider's own; ``request`` is
    the request's JSON body (a Messages request that forces a tool gets it called;
    a Responses request that includes ``reasoning.encrypted_content`` gets it).
    ``sealed`` gets, by call_id, the encrypted reasoning each function call of a
    Responses reply followed (see ``_refusals._unreplayed``).
    """
    wire_format = _wire_format(provider, wire_format)
    actions: list[_Action] = []
    prefix = b"\xef\xbb\xbf" if reply.bom else b""
    if reply.body is not None:
        prefix += reply.body if isinstance(reply.body, bytes) else reply.body(provider)
    if prefix:
        actions.append(prefix)
    steps = as_forced_tool(reply.steps, request) if wire_format == "messages" else reply.steps
    renderer = _RENDERERS[wire_format](model, reply.line_ending, steps)
    if isinstance(renderer, _ResponsesRenderer) and isinstance(request, dict):
        include = request.get("include") or ()
        renderer.encrypted = "reasoning.encrypted_content" in include
        renderer.search_sources = "web_search_call.action.sources" in include
    for step in steps:
        if isinstance(step, _CONTROLS):
            actions.append(step)
        elif isinstance(step, Raw):
            if step.data:
                actions.append(step.data)
        else:
            text = renderer.render(step)
            if text:
                actions.append(text.encode("utf-8"))
    if sealed is not None and isinstance(renderer, _ResponsesRenderer):
        sealed.update(renderer.sealed)
    return actions


def sse_bytes(
    reply: Reply, provider: str, model: str = _DEFAULT_MODEL, *, wire_format: str = ""
) -> bytes:
    """The body ``reply`` would deliver to a ``provider`` request for ``model``.

    ``wire_format`` is ``"chat"``, ``"messages"`` or ``"responses"`` (the
    Responses API, as a ``.../responses`` request gets it); by default, the
    provider's own. No HTTP framing, no gzip, no timing; it stops at a
    :class:`Close` or :class:`Reset` step, as the client would.
    """
    if wire_format and wire_format not in _RENDERERS:
        raise ValueError(f"wire_format must be one of {', '.join(_RENDERERS)}, not {wire_format!r}")
    out = []
    for action in _plan(reply, provider, model, wire_format):
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
