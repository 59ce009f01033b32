"""The two provider batch APIs on the wire: OpenAI's Batch API (a JSONL file uploaded,
then a batch over it) and Anthropic's Message Batches (the requests in one POST).

Each speaks for one provider at one base URL with one key: ``item`` makes a
request's entry, ``submit`` creates the batch, ``poll`` reads its state,
``outcomes`` downloads the results and says, per custom id, the whole reply
(a JSON body) or the error that stands for the line.
"""

from __future__ import annotations

import json
import tempfile
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import IO, Any, Callable, ClassVar, Optional, Union

import attrs

from codey._errors import APIStatusError, ProviderBatchError, StreamError, status_error_class
from codey._providers._base import HTTPRequest, Provider, join_url

__all__ = ["BATCH_APIS", "BatchAPI", "BatchState", "Outcome", "api_for"]

#: A line's outcome: the whole reply's JSON body, or the error that stands for it.
Outcome = Union[dict[str, Any], Exception]

_EXPIRED_MESSAGE = "the provider batch expired before this line was run"
_CANCELED_MESSAGE = "the provider batch was cancelled before this line was run"


@attrs.frozen
class BatchState:
    """A batch as one poll saw it."""

    #: The provider's own word (``in_progress``, ``completed``, ``ended``...).
    status: str
    ended: bool
    done: int
    failed: int
    total: int
    #: The batch object as the provider sent it.
    raw: Mapping[str, Any] = attrs.field(repr=False, eq=False)


class BatchAPI:
    """One provider's batch API, for one base URL and key."""

    max_requests = 0
    max_bytes = 0
    #: Whether a batch holds requests to one model only.
    one_model = False

    def __init__(
        self,
        provider: Provider,
        base_url: str,
        headers: Mapping[str, str],
        *,
        retries: int,
        connect_timeout: Optional[float],
        chunk_timeout: Optional[float],
        session: Any = None,
    ) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self._headers = dict(headers)
        self._retries = retries
        self._connect_timeout = connect_timeout
        self._chunk_timeout = chunk_timeout
        self._session = session

    def __repr__(self) -> str:
        from codey._secrets import redact

        return f"<{type(self).__name__} {self.provider.name} {redact(self.base_url)}>"

    def _url(self, path: str) -> str:
        """``path`` (and its query) after the base URL's path, the base URL's query kept."""
        return join_url(self.base_url, path)

    @property
    def name(self) -> str:
        return self.provider.name

    def _call(
        self,
        method: str,
        url: str,
        body: Optional[Any] = None,
        *,
        data: Optional[bytes] = None,
        files: Optional[dict[str, Any]] = None,
        sink: Optional[IO[bytes]] = None,
        creates: bool = False,
    ) -> Any:
        from codey import _transport

        if data is None:
            data = b"" if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        plan = _transport.Plan(
            provider=self.provider,
            model="",
            request=HTTPRequest(url=url, headers=self._headers, body=data),
            retries=self._retries,
            connect_timeout=self._connect_timeout,
            chunk_timeout=self._chunk_timeout,
            session=self._session,
        )
        answer = _transport.call(plan, method, files=files, sink=sink, creates=creates)
        if sink is None and not isinstance(answer, dict):
            raise StreamError(
                f"{self.name} answered {method} {url} with {type(answer).__name__}, not an object",
                provider=self.name,
            )
        return answer

    def _lines(self, url: str) -> Iterator[dict[str, Any]]:
        """The JSON lines of a results file, downloaded to disk first (memory stays flat)."""
        with tempfile.TemporaryFile() as sink:
            self._call("GET", url, sink=sink)
            sink.seek(0)
            for number, raw in enumerate(sink, 1):
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw)
                except ValueError:
                    obj = None
                if not isinstance(obj, dict):
                    raise StreamError(
                        f"{self.name}'s batch results: line {number} is not a JSON object",
                        provider=self.name,
                    )
                yield obj

    def _error(self, batch_id: str, status: str, message: str) -> ProviderBatchError:
        return ProviderBatchError(
            f"{self.name} batch {batch_id}: {message}",
            provider=self.name,
            batch_id=batch_id,
            status=status,
        )

    def _status_error(self, status: int, body: Any) -> APIStatusError:
        message, error_type = self.provider.error_details(body)
        return status_error_class(status)(
            message or f"HTTP {status}",
            status_code=status,
            provider=self.name,
            error_type=error_type,
        )

    # -- what each API says its own way

    def item(self, custom_id: str, body: Mapping[str, Any]) -> bytes:
        raise NotImplementedError

    def submit(
        self, items: list[bytes], metadata: Mapping[str, str], creating: Callable[[], None]
    ) -> str:
        """Create the batch; ``creating()`` is called just before the request that does."""
        raise NotImplementedError

    def poll(self, batch_id: str) -> BatchState:
        raise NotImplementedError

    def outcomes(self, state: BatchState) -> Iterator[tuple[str, Outcome]]:
        raise NotImplementedError

    def failure(self, state: BatchState) -> str:
        """Why an ended batch answered none of the lines it left out."""
        return f"the batch ended {state.status} without a result for this line"

    #: Whether ``find`` can tell if a batch was created (by its metadata).
    can_find = False

    def find(self, token: str, since: float) -> Optional[str]:
        """The id of the batch created with ``token`` in its metadata after ``since``
        (Unix time), or None when there is surely none."""
        raise NotImplementedError


class OpenAIBatches(BatchAPI):
    """``POST /files`` (purpose ``batch``), ``POST /batches``, ``GET /batches/ID``,
    then the output and error files' content."""

    #: OpenAI's limits: 50,000 requests and 200 MB a batch (kept under, for the envelope).
    max_requests = 50_000
    max_bytes = 190 * 1024 * 1024
    #: "Each input file can only include requests to a single model" (the Batch guide).
    one_model = True
    endpoint = "/v1/chat/completions"
    _ENDED = frozenset({"completed", "failed", "expired", "cancelled"})

    def item(self, custom_id: str, body: Mapping[str, Any]) -> bytes:
        entry = {"custom_id": custom_id, "method": "POST", "url": self.endpoint, "body": body}
        return json.dumps(entry, ensure_ascii=False).encode("utf-8") + b"\n"

    def submit(
        self, items: list[bytes], metadata: Mapping[str, str], creating: Callable[[], None]
    ) -> str:
        upload = self._call(
            "POST",
            self._url("/files"),
            files={
                "purpose": (None, "batch"),
                "file": ("codey-batch.jsonl", b"".join(items), "application/jsonl"),
            },
        )
        creating()
        batch = self._call(
            "POST",
            self._url("/batches"),
            {
                "input_file_id": upload["id"],
                "endpoint": self.endpoint,
                "completion_window": "24h",
                "metadata": dict(metadata),
            },
            creates=True,
        )
        return str(batch["id"])

    def poll(self, batch_id: str) -> BatchState:
        obj = self._call("GET", self._url(f"/batches/{urllib.parse.quote(batch_id)}"))
        counts = obj.get("request_counts") or {}
        status = str(obj.get("status"))
        return BatchState(
            status=status,
            ended=status in self._ENDED,
            done=int(counts.get("completed") or 0),
            failed=int(counts.get("failed") or 0),
            total=int(counts.get("total") or 0),
            raw=obj,
        )

    def outcomes(self, state: BatchState) -> Iterator[tuple[str, Outcome]]:
        batch_id = str(state.raw.get("id"))
        for key in ("output_file_id", "error_file_id"):
            file_id = state.raw.get(key)
            if not file_id:
                continue
            url = self._url(f"/files/{urllib.parse.quote(str(file_id))}/content")
            for obj in self._lines(url):
                yield str(obj.get("custom_id")), self._outcome(batch_id, obj)

    def _outcome(self, batch_id: str, obj: Mapping[str, Any]) -> Outcome:
        response = obj.get("response")
        if isinstance(response, dict):
            status = int(response.get("status_code") or 0)
            body = response.get("body")
            if 200 <= status < 300 and isinstance(body, dict):
                return body
            return self._status_error(status or 500, body)
        error = obj.get("error") or {}
        code = str(error.get("code") or "")
        if code == "batch_expired":
            return self._error(batch_id, "expired", _EXPIRED_MESSAGE)
        if code == "batch_cancelled":
            return self._error(batch_id, "canceled", _CANCELED_MESSAGE)
        return self._error(batch_id, "failed", str(error.get("message") or code or "no result"))

    can_find = True
    #: Pages of 100 batches looked through, newest first, at the most.
    _FIND_PAGES = 20
    #: Seconds a batch's ``created_at`` may precede ours (the two clocks differ).
    _CLOCK_SLACK = 600.0

    def find(self, token: str, since: float) -> Optional[str]:
        after: Optional[str] = None
        for _ in range(self._FIND_PAGES):
            query = "limit=100" + (f"&after={urllib.parse.quote(after)}" if after else "")
            page = self._call("GET", self._url(f"/batches?{query}"))
            batches = [batch for batch in page.get("data") or [] if isinstance(batch, dict)]
            for batch in batches:
                if (batch.get("metadata") or {}).get("codey_token") == token:
                    return str(batch["id"])
            older = [float(batch.get("created_at") or 0) for batch in batches]
            if not page.get("has_more") or not batches or min(older) < since - self._CLOCK_SLACK:
                return None  # listed back to before the create request: never created
            after = str(batches[-1]["id"])
        raise ProviderBatchError(
            f"{self.name}: no batch with codey_token {token} among the newest "
            f"{100 * self._FIND_PAGES}, and there are older ones: look for it in the "
            "provider's console",
            provider=self.name,
            status="missing",
        )

    def failure(self, state: BatchState) -> str:
        errors = (state.raw.get("errors") or {}).get("data") or []
        said = "; ".join(
            f"line {error.get('line')}: {error.get('message')}"
            if error.get("line")
            else str(error.get("message"))
            for error in errors[:3]
            if isinstance(error, dict)
        )
        if state.status == "expired":
            return _EXPIRED_MESSAGE
        if state.status == "cancelled":
            return _CANCELED_MESSAGE
        return f"the batch {state.status}" + (f": {said}" if said else " without a result")


class OpenAIResponsesBatches(OpenAIBatches):
    """OpenAI's Batch API running Responses requests: each line a Responses body
    posted to ``/v1/responses``, each result a Responses object ("The endpoint to
    be used for all requests in the batch. Currently `/v1/responses`,
    `/v1/chat/completions`, ... are supported": BatchCreateParams in the SDKs,
    openai/openai-node PR #1391, platform.openai.com/docs/api-reference/batch/create)."""

    endpoint = "/v1/responses"


class AnthropicBatches(BatchAPI):
    """``POST /v1/messages/batches``, ``GET /v1/messages/batches/ID``, then its
    ``results_url``."""

    #: Anthropic's limits: 100,000 requests and 256 MB a batch.
    max_requests = 100_000
    max_bytes = 250 * 1024 * 1024
    #: An errored result names a type, not a status: the status each type stands for.
    _STATUSES: ClassVar[dict[str, int]] = {
        "invalid_request_error": 400,
        "authentication_error": 401,
        "permission_error": 403,
        "not_found_error": 404,
        "request_too_large": 413,
        "rate_limit_error": 429,
        "api_error": 500,
        "overloaded_error": 529,
    }

    def item(self, custom_id: str, body: Mapping[str, Any]) -> bytes:
        return json.dumps({"custom_id": custom_id, "params": body}, ensure_ascii=False).encode()

    def submit(
        self, items: list[bytes], metadata: Mapping[str, str], creating: Callable[[], None]
    ) -> str:
        data = b'{"requests":[' + b",".join(items) + b"]}"
        url = self._url("/v1/messages/batches")
        creating()
        return str(self._call("POST", url, data=data, creates=True)["id"])

    def poll(self, batch_id: str) -> BatchState:
        url = self._url(f"/v1/messages/batches/{urllib.parse.quote(batch_id)}")
        obj = self._call("GET", url)
        counts = obj.get("request_counts") or {}
        number = {key: int(counts.get(key) or 0) for key in counts}
        status = str(obj.get("processing_status"))
        return BatchState(
            status=status,
            ended=status == "ended",
            done=number.get("succeeded", 0),
            failed=sum(number.get(key, 0) for key in ("errored", "canceled", "expired")),
            total=sum(number.values()),
            raw=obj,
        )

    def outcomes(self, state: BatchState) -> Iterator[tuple[str, Outcome]]:
        batch_id = str(state.raw.get("id"))
        url = state.raw.get("results_url")
        if not url:
            return
        url = str(url)
        if _origin(url) != _origin(self.base_url):  # the key goes to the base URL's host only
            raise self._error(
                batch_id,
                "failed",
                f"its results are at another host ({_origin(url)}); codey sends the key to "
                f"{_origin(self.base_url)} only",
            )
        for obj in self._lines(url):
            result = obj.get("result") or {}
            yield str(obj.get("custom_id")), self._outcome(batch_id, result)

    def _outcome(self, batch_id: str, result: Mapping[str, Any]) -> Outcome:
        kind = result.get("type")
        if kind == "succeeded" and isinstance(result.get("message"), dict):
            return dict(result["message"])
        if kind == "errored":
            body = result.get("error") or {}
            error_type = (body.get("error") or {}).get("type") if isinstance(body, dict) else None
            return self._status_error(self._STATUSES.get(str(error_type), 500), body)
        if kind == "expired":
            return self._error(batch_id, "expired", _EXPIRED_MESSAGE)
        if kind == "canceled":
            return self._error(batch_id, "canceled", _CANCELED_MESSAGE)
        return self._error(batch_id, "failed", f"a result of type {kind!r}")


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


#: The batch APIs codey speaks, by what identifies one: the service that hosts it and
#: the wire format of the requests it batches. Not by the wire alone: another service
#: that speaks Chat Completions has no OpenAI Batch API codey knows of.
BATCH_APIS: dict[tuple[str, str], type[BatchAPI]] = {
    ("openai", "chat"): OpenAIBatches,
    ("openai-responses", "responses"): OpenAIResponsesBatches,
    ("anthropic", "messages"): AnthropicBatches,
}


def api_for(provider: Provider) -> Optional[type[BatchAPI]]:
    """The batch API of ``provider`` (OpenAI's own service, Anthropic), else None."""
    return BATCH_APIS.get((provider.name, provider.wire))
