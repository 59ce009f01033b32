"""The fake provider's server: :class:`FakeProvider` listens, accepts (one
``_connection._Connection`` thread per client), records every request and
chooses each one's reply (the queue, the responder, the default, the
``models`` list, a provider batch route of ``_batches``, a 404 or a 405 by the
request's route)."""

from __future__ import annotations

import os
import socket
import struct
import threading
import urllib.parse
from collections import deque
from typing import Any, Callable, Optional, Union

from codey.testing._batches import _Batches
from codey.testing._batchwire import FakeBatch
from codey.testing._common import _DEFAULT_MODEL, FAKE_API_KEY, _dumps, _unknown_provider
from codey.testing._connection import _Connection, _wait_readable
from codey.testing._messages import (
    issued_server_blocks,
    issued_thinking,
    paused_dropped,
    thinking_dropped,
)
from codey.testing._refusals import _misshapen, _refusal, _unreplayed
from codey.testing._render import _RENDERERS
from codey.testing._replies import Reply, error
from codey.testing._requests import RecordedRequest, _route
from codey.testing._servertools import _server_tools
from codey.testing._whole import _whole_reply


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
        #: A batched item's request is a synthetic one (see :class:`FakeBatch`).
        self.responder: Optional[Callable[[RecordedRequest], Reply]] = None
        #: Served when the queue is empty and there is no responder; ``None`` means
        #: a 500 "no scripted reply".
        self.default: Optional[Reply] = None
        #: What ``GET .../models`` lists, in the provider's format: a name, or a dict
        #: whose keys replace the entry's (``{"id": ..., "max_input_tokens": ...,
        #: "capabilities": {...}}`` for Anthropic).
        self.models: list[Union[str, dict[str, Any]]] = [_DEFAULT_MODEL]
        #: The model that answers for a name (a provider's redirect of a retired
        #: model: ``{"grok-3": "grok-4.3"}``): the replies' ``model`` fields name it.
        #: Any other name is answered as asked.
        self.redirects: dict[str, str] = {}
        #: Whether a request the real API refuses for its model (``codey.testing``'s
        #: own table: budget thinking or a temperature for Claude Sonnet 5, function
        #: tools with an effort over Chat Completions for gpt-5.4...) gets the real
        #: API's 400 and error body, before any reply is taken from the queue.
        self.refuse_like_the_api: bool = True
        #: How many status polls a provider batch stays in progress for; the poll
        #: after them runs its items. ``0``: they run as the batch is created.
        self.batch_polls: int = 1
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._closed = False
        self._released = False
        self._conns: set[socket.socket] = set()
        #: The thinking blocks streamed with each Messages tool call (by its id): the
        #: request after it must send them back unchanged (see refuse_like_the_api).
        self._thinking: dict[str, tuple[dict[str, Any], ...]] = {}
        #: The server tool blocks of the latest Messages reply that ended paused
        #: (``pause_turn``): its continuation must send them back unchanged.
        self._paused: tuple[dict[str, Any], ...] = ()
        self._threads: list[threading.Thread] = []
        self._count = 0
        self._batches = _Batches(self)
        #: By call_id, the encrypted reasoning a Responses function call followed.
        self._sealed: dict[str, str] = {}
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
        raise _unknown_provider(provider)

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
    def connections(self) -> int:
        """How many client connections were accepted so far (a kept-alive one counts once)."""
        with self._lock:
            return self._count

    @property
    def requests(self) -> list[RecordedRequest]:
        """The requests received so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def batches(self) -> list[FakeBatch]:
        """The provider batches created so far, in creation order (a copy)."""
        with self._lock:
            return self._batches.snapshot()

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
        refusal = None
        if self.refuse_like_the_api:
            refusal = (
                _refusal(request)
                or _unreplayed(request, self._sealed)
                or _misshapen(request)
                or _server_tools(request)
            )
        if refusal is not None:
            return refusal
        if self.refuse_like_the_api and _route(request.path)[1] == "messages":
            with self._lock:
                dropped = thinking_dropped(request.json, self._thinking)
                dropped = dropped or paused_dropped(request.json, self._paused)
                self._paused = ()
            if dropped is not None:
                return error(400, dropped)
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        if self.responder is not None:
            return self.responder(request)
        if self.default is not None:
            return self.default
        return error(500, "no scripted reply", error_type=None)

    def _answer(self, request: RecordedRequest, kind: str) -> tuple[Reply, str]:
        """The reply to a recorded request of ``kind`` (see ``_route``), and the
        model to render it for."""
        if kind == "models" and request.method == "GET":
            reply = _models_reply(list(self.models), request.provider or "openai", request.path)
            return reply, _DEFAULT_MODEL
        if kind == "batches":
            return self._batches.answer(request), _DEFAULT_MODEL
        if kind in _RENDERERS:
            if request.method != "POST":
                message = f"method {request.method} not allowed on {request.path}"
                return error(405, message), _DEFAULT_MODEL
            reply = self._next_reply(request)
            if reply.expired:
                return error(500, "an expired() reply is for provider batches"), _DEFAULT_MODEL
            model = request.model or _DEFAULT_MODEL
            model = self.redirects.get(model, model)
            body = request.json
            if isinstance(body, dict) and body.get("stream") is not True:  # one JSON object
                reply = _whole_reply(reply, request.provider or "openai", model, kind, body)
            elif kind == "messages":
                with self._lock:
                    self._thinking.update(issued_thinking(reply.steps))
                    self._paused = issued_server_blocks(reply.steps)
            return reply, model
        return error(404, f"no such path: {request.path}"), _DEFAULT_MODEL


#: What the fake says of an Anthropic model given by name only: the Models API's
#: fields (token limits, ``capabilities``) for a model that does everything.
_ANTHROPIC_CAPABILITIES: dict[str, Any] = {
    "batch": {"supported": True},
    "citations": {"supported": True},
    "code_execution": {"supported": True},
    "context_management": {"supported": True},
    "effort": {
        "supported": True,
        **{level: {"supported": True} for level in ("low", "medium", "high", "xhigh", "max")},
    },
    "image_input": {"supported": True},
    "pdf_input": {"supported": True},
    "structured_outputs": {"supported": True},
    "thinking": {
        "supported": True,
        "types": {"adaptive": {"supported": True}, "enabled": {"supported": False}},
    },
}


def _models_reply(models: list[Union[str, dict[str, Any]]], provider: str, path: str) -> Reply:
    """``GET .../models``: the list of ``models`` in the provider's format (Anthropic's
    paged by ``limit``, default 20, and ``after_id``, as the Models API is)."""
    obj: dict[str, Any]
    data: list[dict[str, Any]]
    if provider == "anthropic":
        data = [
            {
                "type": "model",
                "id": _DEFAULT_MODEL,
                "display_name": _DEFAULT_MODEL,
                "created_at": "2025-01-01T00:00:00Z",
                "max_input_tokens": 200000,
                "max_tokens": 64000,
                "capabilities": _ANTHROPIC_CAPABILITIES,
                **({"id": entry, "display_name": entry} if isinstance(entry, str) else entry),
            }
            for entry in models
        ]
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        after = query.get("after_id", [""])[0]
        ids = [entry["id"] for entry in data]
        start = ids.index(after) + 1 if after in ids else 0
        try:
            limit = max(1, min(1000, int(query.get("limit", ["20"])[0])))
        except ValueError:
            return error(400, "limit: Input should be a valid integer")
        page = data[start : start + limit]
        obj = {
            "data": page,
            "has_more": start + limit < len(data),
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
        }
    else:
        owner = "xai" if provider == "xai" else "openai"
        data = [
            {
                "id": _DEFAULT_MODEL,
                "object": "model",
                "created": 1735689600,
                "owned_by": owner,
                **({"id": entry} if isinstance(entry, str) else entry),
            }
            for entry in models
        ]
        obj = {"object": "list", "data": data}
    return Reply(framing="length", content_type="application/json", body=_dumps(obj).encode())
