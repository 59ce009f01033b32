"""Provider batches: OpenAI's Batch API (Files and Batches) and Anthropic's Message
Batches: the stores of files and batches, the routes, and a batch's life
(created; in progress for ``FakeProvider.batch_polls`` polls of its status; then
every item takes its reply, in input order, and the batch ends). What the APIs
send and check is in ``_batchwire``.

The stores are guarded by the server's lock; replies are taken (and the
responder called) without it, as for a streamed request. While one poll runs a
batch's items, other requests about that batch wait for it on the server's
condition.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, Optional, Union
from urllib.parse import parse_qs, urlsplit

from codey.testing._batchwire import (
    _CANCELLING,
    _ENDED,
    _ENDPOINTS,
    FakeBatch,
    _anthropic_items,
    _anthropic_object,
    _anthropic_result,
    _Batch,
    _fail,
    _File,
    _json_reply,
    _jsonl,
    _leave_validating,
    _multipart,
    _openai_items,
    _openai_lines,
    _openai_object,
    _snapshot,
)
from codey.testing._replies import Reply, error
from codey.testing._requests import RecordedRequest, _batch_path
from codey.testing._whole import _hex, _Outcome, _outcome

if TYPE_CHECKING:
    from codey.testing._server import FakeProvider

_Handler = Callable[[RecordedRequest, str, str, str], Reply]


class _Batches:
    """The batch routes of one :class:`FakeProvider`, and what they store."""

    def __init__(self, server: FakeProvider) -> None:
        self.server = server
        self.files: dict[str, _File] = {}
        self.batches: dict[str, _Batch] = {}  # in creation order
        self.routes: dict[tuple[str, tuple[str, ...]], dict[str, _Handler]] = {
            ("openai", ("files",)): {"POST": self.upload},
            ("openai", ("files", "{id}")): {"GET": self.file},
            ("openai", ("files", "{id}", "content")): {"GET": self.content},
            ("openai", ("batches",)): {"POST": self.create_openai, "GET": self.list},
            ("openai", ("batches", "{id}")): {"GET": self.retrieve},
            ("openai", ("batches", "{id}", "cancel")): {"POST": self.cancel},
            ("anthropic", ()): {"POST": self.create_anthropic, "GET": self.list},
            ("anthropic", ("{id}",)): {"GET": self.retrieve},
            ("anthropic", ("{id}", "cancel")): {"POST": self.cancel},
            ("anthropic", ("{id}", "results")): {"GET": self.results},
        }

    def snapshot(self) -> list[FakeBatch]:
        """Every batch as a :class:`FakeBatch` (the caller holds the lock)."""
        return [_snapshot(batch) for batch in self.batches.values()]

    def answer(self, request: RecordedRequest) -> Reply:
        """The reply to a request ``_route`` sent here (kind ``"batches"``)."""
        found = _batch_path(request.path)
        assert found is not None
        provider, base, rest = found
        # OpenAI: files|batches [ID [more]]; Anthropic: [ID [more]].
        at = 1 if provider == "openai" else 0
        ident = rest[at] if len(rest) > at else ""
        shape = tuple("{id}" if index == at else part for index, part in enumerate(rest))
        methods = self.routes.get((provider, shape))
        if methods is None:
            return _fail(provider, 404, f"no such path: {request.path}")
        handler = methods.get(request.method)
        if handler is None:
            return error(405, f"method {request.method} not allowed on {request.path}")
        return handler(request, provider, base, ident)

    def _object(self, batch: _Batch) -> dict[str, Any]:
        """The batch object the API would send now (the caller holds the lock)."""
        if batch.provider == "anthropic":
            return _anthropic_object(batch, self.server.url)
        return _openai_object(batch)

    # -- OpenAI files

    def upload(self, request: RecordedRequest, provider: str, base: str, ident: str) -> Reply:
        parsed = _multipart(request)
        if parsed is None:
            return _fail(provider, 400, "Expected multipart/form-data with 'purpose' and 'file'.")
        fields, upload = parsed
        purpose = fields.get("purpose")
        if purpose is None:
            return _fail(provider, 400, "Missing required parameter: 'purpose'.")
        if purpose != "batch":
            return _fail(provider, 400, f"Invalid 'purpose': {purpose!r} (the fake: 'batch').")
        if upload is None:
            return _fail(provider, 400, "Missing required parameter: 'file'.")
        stored = _File(f"file-{_hex()}", upload[0], purpose, upload[1], int(time.time()))
        with self.server._lock:
            self.files[stored.id] = stored
        return _json_reply(stored.obj())

    def _file(self, ident: str) -> Optional[_File]:
        with self.server._lock:
            return self.files.get(ident)

    def file(self, request: RecordedRequest, provider: str, base: str, ident: str) -> Reply:
        stored = self._file(ident)
        if stored is None:
            return _fail(provider, 404, f"No such File object: {ident}")
        return _json_reply(stored.obj())

    def content(self, request: RecordedRequest, provider: str, base: str, ident: str) -> Reply:
        stored = self._file(ident)
        if stored is None:
            return _fail(provider, 404, f"No such File object: {ident}")
        return Reply(framing="length", content_type="application/octet-stream", body=stored.data)

    # -- creating batches

    def create_openai(
        self, request: RecordedRequest, provider: str, base: str, ident: str
    ) -> Reply:
        body = request.json
        if not isinstance(body, dict):
            return _fail(provider, 400, "The request body must be a JSON object.")
        file_id = body.get("input_file_id")
        if not isinstance(file_id, str):
            return _fail(provider, 400, "Missing required parameter: 'input_file_id'.")
        endpoint = body.get("endpoint")
        if endpoint not in _ENDPOINTS:
            message = f"Invalid 'endpoint': {endpoint!r} (the fake: {', '.join(_ENDPOINTS)})."
            return _fail(provider, 400, message)
        if body.get("completion_window") != "24h":
            return _fail(provider, 400, "Invalid 'completion_window': only '24h' is supported.")
        metadata = body.get("metadata")
        if metadata is not None and not (
            isinstance(metadata, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items())
        ):
            return _fail(provider, 400, "Invalid type for 'metadata': expected strings by string.")
        stored = self._file(file_id)
        if stored is None:
            return _fail(provider, 404, f"No such File object: {file_id}")
        if stored.purpose != "batch":
            message = f"File {file_id} has purpose {stored.purpose!r}, not 'batch'."
            return _fail(provider, 400, message)
        items, invalid, total = _openai_items(stored.data, request, base, endpoint)
        batch = _Batch(
            id=f"batch_{_hex()}",
            provider=provider,
            base=base,
            status="validating",
            items=items,
            counts={"total": total, "completed": 0, "failed": 0},
            endpoint=endpoint,
            input_file_id=file_id,
            metadata=None if metadata is None else dict(metadata),
            invalid=invalid,
        )
        return self._register(batch)

    def create_anthropic(
        self, request: RecordedRequest, provider: str, base: str, ident: str
    ) -> Reply:
        items = _anthropic_items(request, base)
        if isinstance(items, str):
            return _fail(provider, 400, items)
        counts = {"processing": len(items), "succeeded": 0, "errored": 0}
        counts.update(canceled=0, expired=0)
        batch = _Batch(f"msgbatch_{_hex()}", provider, base, "in_progress", items, counts)
        return self._register(batch)

    def _register(self, batch: _Batch) -> Reply:
        with self.server._lock:
            batch.polls_left = self.server.batch_polls
            self.batches[batch.id] = batch
        if batch.polls_left <= 0:
            self._poll(batch)  # batch_polls 0: the create reply already tells the end
        with self.server._lock:
            return _json_reply(self._object(batch))

    # -- a batch's life

    def _batch(self, provider: str, ident: str) -> Union[_Batch, Reply]:
        with self.server._lock:
            batch = self.batches.get(ident)
        if batch is None or batch.provider != provider:
            if provider == "anthropic":
                return _fail(provider, 404, f"Message Batch {ident!r} not found.")
            return _fail(provider, 404, f"No batch found with id '{ident}'.")
        return batch

    def retrieve(self, request: RecordedRequest, provider: str, base: str, ident: str) -> Reply:
        batch = self._batch(provider, ident)
        if isinstance(batch, Reply):
            return batch
        self._poll(batch)
        with self.server._lock:
            return _json_reply(self._object(batch))

    def _poll(self, batch: _Batch) -> None:
        """One look at the batch's status: move it on (see the module documentation)."""
        changed = self.server._changed
        with changed:
            changed.wait_for(lambda: not batch.busy or self.server._closed)
            if batch.busy or batch.status in _ENDED:
                return
            if batch.status in _CANCELLING:
                # Cancelled before it ran: no item takes a reply.
                self._end(batch, [_Outcome("canceled")] * len(batch.items))
                return
            _leave_validating(batch)
            if batch.polls_left > 0:
                batch.polls_left -= 1
                return
            if batch.status == "failed":
                return
            batch.busy = True
            items = list(batch.items)
        outcomes: list[_Outcome] = []
        try:
            for item in items:  # in input order, each as a streamed request would
                reply = self.server._next_reply(item.request)
                # The endpoint's replies: a Responses batch's are Responses objects.
                wire_format = _ENDPOINTS[batch.endpoint] if batch.provider == "openai" else ""
                outcome = _outcome(
                    reply, batch.provider, item.model, wire_format, request=item.request.json
                )
                outcomes.append(outcome)
        finally:
            with changed:
                batch.busy = False
                if len(outcomes) == len(items):
                    self._end(batch, outcomes)
                changed.notify_all()

    def _end(self, batch: _Batch, outcomes: list[_Outcome]) -> None:
        """Write the results (reversed: a client must map them by ``custom_id``) and
        end the batch; the caller holds the lock."""
        now = time.time()
        pairs = list(zip(batch.items, outcomes))[::-1]
        kinds = [outcome.kind for outcome in outcomes]
        if batch.provider == "anthropic":
            lines = [
                {"custom_id": item.custom_id, "result": _anthropic_result(outcome)}
                for item, outcome in pairs
            ]
            batch.results = _jsonl(lines)
            batch.counts = {"processing": 0, "succeeded": kinds.count("succeeded")}
            for kind in ("errored", "canceled", "expired"):
                batch.counts[kind] = kinds.count(kind)
            batch.status = "ended"
            batch.times["ended_at"] = now
            return
        output, failed = _openai_lines(pairs)
        batch.output_file_id = self._result_file(batch, "output", output)
        batch.error_file_id = self._result_file(batch, "error", failed)
        batch.counts = {"total": len(batch.items), "completed": len(output), "failed": len(failed)}
        if batch.status == "cancelling":
            batch.status = "cancelled"
        else:
            batch.times["finalizing_at"] = now
            batch.status = "expired" if "expired" in kinds else "completed"
        batch.times[f"{batch.status}_at"] = now

    def _result_file(self, batch: _Batch, kind: str, lines: list[dict[str, Any]]) -> Optional[str]:
        """Store an output or error file; ``None`` for no lines (the API makes none)."""
        if not lines:
            return None
        name = f"{batch.id}_{kind}.jsonl"
        stored = _File(f"file-{_hex()}", name, "batch_output", _jsonl(lines), int(time.time()))
        self.files[stored.id] = stored
        return stored.id

    def cancel(self, request: RecordedRequest, provider: str, base: str, ident: str) -> Reply:
        batch = self._batch(provider, ident)
        if isinstance(batch, Reply):
            return batch
        changed = self.server._changed
        with changed:
            changed.wait_for(lambda: not batch.busy or self.server._closed)
            if batch.status in _CANCELLING or batch.status == "cancelled":
                pass  # cancelling twice changes nothing
            elif batch.status in _ENDED:
                if provider == "anthropic":
                    return _fail(provider, 400, f"Message Batch {ident} has ended: no cancel.")
                message = f"Cannot cancel a batch with status '{batch.status}'."
                return _fail(provider, 409, message)
            elif provider == "anthropic":
                batch.status = "canceling"
                batch.times["cancel_initiated_at"] = time.time()
            else:
                batch.status = "cancelling"
                batch.times["cancelling_at"] = time.time()
            return _json_reply(self._object(batch))

    # -- listing and results

    def list(self, request: RecordedRequest, provider: str, base: str, ident: str) -> Reply:
        query = parse_qs(urlsplit(request.path).query)

        def param(name: str) -> Optional[str]:
            values = query.get(name)
            return values[0] if values else None

        most = 1000 if provider == "anthropic" else 100
        try:
            limit = int(param("limit") or 20)
        except ValueError:
            limit = 0
        if not 1 <= limit <= most:
            return _fail(provider, 400, f"Invalid 'limit': an integer from 1 to {most}.")
        with self.server._lock:
            newest = [b for b in reversed(self.batches.values()) if b.provider == provider]
            ids = [batch.id for batch in newest]
            before = param("before_id") if provider == "anthropic" else None
            after = param("after_id" if provider == "anthropic" else "after")
            if before is not None:  # the page just newer than ``before``
                end = ids.index(before) if before in ids else 0
                start = max(0, end - limit)
                page, has_more = newest[start:end], start > 0
            else:
                start = 0 if after is None else ids.index(after) + 1 if after in ids else len(ids)
                page, has_more = newest[start : start + limit], start + limit < len(ids)
            data = [self._object(batch) for batch in page]
        first_id = data[0]["id"] if data else None
        last_id = data[-1]["id"] if data else None
        listing = {"data": data, "has_more": has_more, "first_id": first_id, "last_id": last_id}
        if provider == "openai":
            listing = {"object": "list", **listing}
        return _json_reply(listing)

    def results(self, request: RecordedRequest, provider: str, base: str, ident: str) -> Reply:
        batch = self._batch(provider, ident)
        if isinstance(batch, Reply):
            return batch
        with self.server._lock:
            if batch.status != "ended":
                message = f"Message Batch {ident} has not ended yet: no results to stream."
                return _fail(provider, 400, message)
            data = batch.results
        return Reply(framing="length", content_type="application/binary", body=data)
