"""The wire side of provider batches: what a batch is made of (:class:`FakeBatch`,
the stored files, items and batches), the objects OpenAI and Anthropic send for
them, their input checked as the APIs check it (multipart uploads, JSONL input
files, Message Batch requests), their result lines, and their error bodies."""

from __future__ import annotations

import datetime
import email.parser
import email.policy
import http.client
import json as _json
import re
import time
from typing import Any, Optional, Union, cast

import attrs

from codey.testing._common import _DEFAULT_MODEL, _dumps
from codey.testing._replies import Reply, _error_body
from codey.testing._requests import RecordedRequest
from codey.testing._whole import _hex, _Outcome

_ENDPOINT = "/v1/chat/completions"  # a fake OpenAI batch's endpoint, unless said
#: The endpoints a fake OpenAI batch runs, and the wire format of their replies.
_ENDPOINTS = {_ENDPOINT: "chat", "/v1/responses": "responses"}
_WINDOW = 24 * 3600  # completion_window "24h"; Anthropic batches expire after 24 h too
_CUSTOM_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_ENDED = frozenset({"completed", "failed", "expired", "cancelled", "ended"})
_CANCELLING = ("cancelling", "canceling")  # OpenAI's spelling, Anthropic's
_EXPIRED = {
    "code": "batch_expired",
    "message": "This request could not be executed before the completion window expired.",
}
_CANCELLED = {
    "code": "batch_cancelled",
    "message": "This request was not executed: the batch was cancelled.",
}


@attrs.frozen
class FakeBatch:
    """A provider batch the fake received, as it is now (see :attr:`FakeProvider.batches`).

    - ``id``: ``batch_...`` (OpenAI) or ``msgbatch_...`` (Anthropic).
    - ``provider``: ``"openai"`` or ``"anthropic"``.
    - ``status``: what the API reports now: OpenAI's ``status`` (``validating``,
      ``in_progress``, ``cancelling``, ``cancelled``, ``completed``, ``expired``,
      ``failed``) or Anthropic's ``processing_status`` (``in_progress``,
      ``canceling``, ``ended``).
    - ``custom_ids``: the items' ids, in input order (none for an OpenAI input
      file that fails validation).
    - ``requests``: one :class:`RecordedRequest` per item, in input order, as the
      responder sees it: ``POST`` to the path the item stands for
      (``/openai/v1/chat/completions``, ``/openai/v1/responses`` or
      ``/anthropic/v1/messages``), with the
      item's body and the headers of the request that created the batch. They are
      not in :attr:`FakeProvider.requests`.
    - ``metadata``: the OpenAI batch's ``metadata``, else ``None``.
    """

    id: str
    provider: str
    status: str
    custom_ids: tuple[str, ...]
    requests: tuple[RecordedRequest, ...] = attrs.field(repr=False)
    metadata: Optional[dict[str, str]] = None


@attrs.define
class _File:
    id: str
    filename: str
    purpose: str
    data: bytes
    created_at: int

    def obj(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "expires_at": None,
            "status_details": None,
        }


@attrs.define
class _Item:
    custom_id: str
    request: RecordedRequest
    model: str


@attrs.define
class _Batch:
    id: str
    provider: str
    base: str  # the path prefix the batch was created under ("/openai", "/anthropic" or "")
    status: str
    items: list[_Item]
    counts: dict[str, int]
    created: float = attrs.field(factory=time.time)
    polls_left: int = 0
    busy: bool = False  # a poll is running the items (without the lock)
    times: dict[str, float] = attrs.field(factory=dict)  # "in_progress_at", "ended_at", ...
    # OpenAI only
    endpoint: str = _ENDPOINT
    input_file_id: str = ""
    completion_window: str = "24h"
    metadata: Optional[dict[str, str]] = None
    invalid: list[dict[str, Any]] = attrs.field(factory=list)  # applied as it leaves validating
    errors: Optional[dict[str, Any]] = None
    output_file_id: Optional[str] = None
    error_file_id: Optional[str] = None
    # Anthropic only: the results JSONL
    results: bytes = b""


def _snapshot(batch: _Batch) -> FakeBatch:
    return FakeBatch(
        id=batch.id,
        provider=batch.provider,
        status=batch.status,
        custom_ids=tuple(item.custom_id for item in batch.items),
        requests=tuple(item.request for item in batch.items),
        metadata=None if batch.metadata is None else dict(batch.metadata),
    )


def _leave_validating(batch: _Batch) -> None:
    """OpenAI: validating -> in_progress, or failed when the input file was invalid."""
    if batch.status != "validating":
        return
    if batch.invalid:
        batch.status = "failed"
        batch.times["failed_at"] = time.time()
        batch.errors = {"object": "list", "data": batch.invalid}
    else:
        batch.status = "in_progress"
        batch.times["in_progress_at"] = time.time()


def _openai_items(
    data: bytes, request: RecordedRequest, base: str, endpoint: str = _ENDPOINT
) -> tuple[list[_Item], list[dict[str, Any]], int]:
    """The items of an input file, the validation errors of its lines (then no
    items), and how many lines it has."""
    items: list[_Item] = []
    invalid: list[dict[str, Any]] = []
    seen: set[str] = set()
    total = 0
    for number, raw in enumerate(data.splitlines(), 1):
        if not raw.strip():
            continue
        total += 1
        checked = _check_line(raw, seen, endpoint)
        if not isinstance(checked, tuple) and items:
            # "Each input file can only include requests to a single model" (the Batch guide).
            model, first = checked["body"].get("model"), items[0].request.json.get("model")
            if model != first:
                message = f"The model {model!r} is not {first!r}, the file's first request's."
                checked = "mismatched_model", message
        if isinstance(checked, tuple):
            code, message = checked
            invalid.append({"code": code, "message": message, "param": None, "line": number})
        else:
            path = f"{base}{endpoint}"
            custom_id, body = checked["custom_id"], checked["body"]
            items.append(_item(custom_id, body, path, "openai", request.headers))
    if not total:
        message = "The batch input file is empty."
        invalid.append({"code": "empty_file", "message": message, "param": None, "line": None})
    return ([] if invalid else items), invalid, total


def _check_line(
    raw: bytes, seen: set[str], endpoint: str = _ENDPOINT
) -> Union[tuple[str, str], dict[str, Any]]:
    """One input line as an object, or the (code, message) of what is wrong with it."""
    try:
        obj = _json.loads(raw)
    except ValueError:
        return "invalid_json_line", "This line is not parseable as valid JSON."
    if not isinstance(obj, dict):
        return "invalid_json_line", "This line is not a JSON object."
    custom_id = obj.get("custom_id")
    if not isinstance(custom_id, str):
        return "missing_required_parameter", "Missing required parameter: 'custom_id' (a string)."
    if custom_id in seen:
        return "duplicate_custom_id", (
            "The custom_id for this request is a duplicate of another request. "
            "The custom_id parameter must be unique for each request in a batch."
        )
    seen.add(custom_id)
    if obj.get("method") != "POST":
        return "invalid_method", "The method of a batch request must be POST."
    if obj.get("url") != endpoint:
        return "invalid_url", f"The url of this request does not match the endpoint {endpoint}."
    if not isinstance(obj.get("body"), dict):
        return "invalid_body", "The body of a batch request must be a JSON object."
    return cast("dict[str, Any]", obj)


def _item(
    custom_id: str,
    body: dict[str, Any],
    path: str,
    provider: str,
    headers: http.client.HTTPMessage,
) -> _Item:
    """An item and the synthetic request the responder sees for it."""
    request = RecordedRequest(
        method="POST",
        path=path,
        provider=provider,
        headers=headers,
        body=_dumps(body).encode("utf-8"),
        json=body,
    )
    model = body.get("model")
    return _Item(custom_id, request, model if isinstance(model, str) else _DEFAULT_MODEL)


def _anthropic_items(request: RecordedRequest, base: str) -> Union[list[_Item], str]:
    """The items of a Message Batch request, or what is wrong with it (a 400)."""
    body = request.json
    entries = body.get("requests") if isinstance(body, dict) else None
    if not isinstance(entries, list) or not entries:
        return "requests: Field required (a non-empty list)"
    items: list[_Item] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"requests.{index}"
        custom_id = entry.get("custom_id") if isinstance(entry, dict) else None
        if not isinstance(custom_id, str) or not _CUSTOM_ID.fullmatch(custom_id):
            return f"{where}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
        if custom_id in seen:
            return f"{where}.custom_id: {custom_id!r} is used twice; each must be unique"
        seen.add(custom_id)
        params = entry.get("params")
        if not isinstance(params, dict) or not isinstance(params.get("model"), str):
            return f"{where}.params.model: Field required"
        items.append(_item(custom_id, params, f"{base}/v1/messages", "anthropic", request.headers))
    return items


def _openai_lines(
    pairs: list[tuple[_Item, _Outcome]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The lines of the output file (2xx replies) and of the error file (the rest)."""
    output: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for item, outcome in pairs:
        line: dict[str, Any] = {"id": f"batch_req_{_hex()}", "custom_id": item.custom_id}
        if outcome.kind in ("succeeded", "errored"):
            response = {"status_code": outcome.status, "request_id": f"req_{_hex(16)}"}
            line.update(response={**response, "body": outcome.body}, error=None)
        else:  # never run: expired, or cancelled before the batch ran
            reason = _EXPIRED if outcome.kind == "expired" else _CANCELLED
            line.update(response=None, error=dict(reason))
        (output if outcome.kind == "succeeded" else failed).append(line)
    return output, failed


def _anthropic_result(outcome: _Outcome) -> dict[str, Any]:
    if outcome.kind == "succeeded":
        return {"type": "succeeded", "message": outcome.body}
    if outcome.kind == "errored":
        return {"type": "errored", "error": outcome.body}
    return {"type": outcome.kind}  # "expired" or "canceled"


def _multipart(
    request: RecordedRequest,
) -> Optional[tuple[dict[str, str], Optional[tuple[str, bytes]]]]:
    """The text fields and the file (name, bytes) of a ``multipart/form-data`` body."""
    content_type = request.headers.get("content-type") or ""
    if not content_type.lower().startswith("multipart/form-data"):
        return None
    head = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"
    parser = email.parser.BytesParser(policy=email.policy.HTTP)
    message = parser.parsebytes(head + request.body)
    if not message.is_multipart():
        return None
    fields: dict[str, str] = {}
    upload: Optional[tuple[str, bytes]] = None
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if name == "file" and filename is not None:
            upload = (filename, data)
        elif isinstance(name, str):
            fields[name] = data.decode("utf-8", "replace")
    return fields, upload


def _fail(provider: str, status: int, message: str) -> Reply:
    """An error in the provider's own body (OpenAI: type ``invalid_request_error``,
    ``code`` null, whatever the status)."""
    if provider == "anthropic":
        body = _error_body(status, message, None, provider)
    else:
        fields = {"message": message, "type": "invalid_request_error", "param": None, "code": None}
        body = _dumps({"error": fields}).encode("utf-8")
    return Reply(status=status, framing="length", content_type="application/json", body=body)


def _json_reply(obj: object) -> Reply:
    body = _dumps(obj).encode("utf-8")
    return Reply(framing="length", content_type="application/json", body=body)


def _jsonl(lines: list[dict[str, Any]]) -> bytes:
    return b"".join(_dumps(line).encode("utf-8") + b"\n" for line in lines)


def _unix(stamp: Optional[float]) -> Optional[int]:
    return None if stamp is None else int(stamp)


def _rfc3339(stamp: Optional[float]) -> Optional[str]:
    if stamp is None:
        return None
    moment = datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _anthropic_object(batch: _Batch, origin: str) -> dict[str, Any]:
    """A Message Batch object as the API sends it now (``origin``: the server's URL)."""
    url = f"{origin}{batch.base}/v1/messages/batches/{batch.id}/results"
    return {
        "id": batch.id,
        "type": "message_batch",
        "processing_status": batch.status,
        "request_counts": dict(batch.counts),
        "ended_at": _rfc3339(batch.times.get("ended_at")),
        "created_at": _rfc3339(batch.created),
        "expires_at": _rfc3339(batch.created + _WINDOW),
        "archived_at": None,
        "cancel_initiated_at": _rfc3339(batch.times.get("cancel_initiated_at")),
        "results_url": url if batch.status == "ended" else None,
    }


def _openai_object(batch: _Batch) -> dict[str, Any]:
    """An OpenAI batch object as the API sends it now."""
    times = {name: _unix(stamp) for name, stamp in batch.times.items()}
    return {
        "id": batch.id,
        "object": "batch",
        "endpoint": batch.endpoint,
        "errors": batch.errors,
        "input_file_id": batch.input_file_id,
        "completion_window": batch.completion_window,
        "status": batch.status,
        "output_file_id": batch.output_file_id,
        "error_file_id": batch.error_file_id,
        "created_at": int(batch.created),
        "in_progress_at": times.get("in_progress_at"),
        "expires_at": int(batch.created) + _WINDOW,
        "finalizing_at": times.get("finalizing_at"),
        "completed_at": times.get("completed_at"),
        "failed_at": times.get("failed_at"),
        "expired_at": times.get("expired_at"),
        "cancelling_at": times.get("cancelling_at"),
        "cancelled_at": times.get("cancelled_at"),
        "request_counts": dict(batch.counts),
        "metadata": None if batch.metadata is None else dict(batch.metadata),
    }
