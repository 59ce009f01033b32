"""Requests: :class:`RecordedRequest` (what the fake received) and ``_route`` (what
a request path asks for)."""

from __future__ import annotations

import http.client
import threading
from typing import Any, Optional

import attrs

from codey.testing._common import _PROVIDERS


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
    """(provider, kind) of a request path.

    ``kind`` is the wire format of a streaming path (``"chat"``, ``"messages"`` or
    ``"responses"``, the keys of ``_render._RENDERERS``), ``"models"``, or ``""``
    for no such path.
    """
    bare = path.split("?", 1)[0].rstrip("/")
    segments = [segment for segment in bare.split("/") if segment]
    first = segments[0] if segments else ""
    prefix = first if first in _PROVIDERS else None
    if bare.endswith("/chat/completions"):
        return ("xai" if prefix == "xai" else "openai"), "chat"
    if bare.endswith("/v1/messages"):
        return "anthropic", "messages"
    if bare.endswith("/responses"):
        return ("xai" if prefix == "xai" else "openai"), "responses"
    if bare.endswith("/models"):
        return prefix or "openai", "models"
    return prefix, ""
