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


def _batch_path(path: str) -> Optional[tuple[str, str, list[str]]]:
    """(provider, base, rest) of a provider batch path, else ``None``.

    OpenAI: ``[/openai]/v1/files[/ID[/content]]`` and
    ``[/openai]/v1/batches[/ID[/cancel]]``, ``rest`` from ``files`` or ``batches``
    on. Anthropic: ``[/anthropic]/v1/messages/batches[/ID[/cancel|/results]]``,
    ``rest`` after ``batches``. ``base`` is the prefix before ``/v1`` (``""`` or
    ``/openai``, ``/anthropic``).
    """
    segments = [segment for segment in path.split("?", 1)[0].split("/") if segment]
    prefix = segments[0] if segments and segments[0] in _PROVIDERS else None
    rest = segments[1:] if prefix else segments
    base = f"/{prefix}" if prefix else ""
    if prefix in (None, "anthropic") and rest[:3] == ["v1", "messages", "batches"]:
        return ("anthropic", base, rest[3:]) if len(rest) <= 5 else None
    openai = rest[:1] == ["v1"] and 2 <= len(rest) <= 4 and rest[1] in ("files", "batches")
    if prefix in (None, "openai") and openai:
        return "openai", base, rest[1:]
    return None


def _route(path: str) -> tuple[Optional[str], str]:
    """(provider, kind) of a request path.

    ``kind`` is the wire format of a streaming path (``"chat"``, ``"messages"`` or
    ``"responses"``, the keys of ``_render._RENDERERS``), ``"models"``,
    ``"batches"`` (see ``_batch_path``), or ``""`` for no such path.
    """
    batch = _batch_path(path)
    if batch is not None:  # first: a batch or file id may be any word ("models")
        return batch[0], "batches"
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
