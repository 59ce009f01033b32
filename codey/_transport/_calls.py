"""Plain HTTP calls, for a provider batch: an upload, a create, a poll, a download.

Each call is one request with one whole answer (JSON, or a file copied to a
sink), retried with backoff as a stream's request is, its failures in
codey's words (``_failures``). A call that creates something is retried only
when the server said it did not act (429, 5xx), so that a batch is never
paid for twice.
"""

from __future__ import annotations

import json
import time
from typing import IO, TYPE_CHECKING, Any, Optional

from codey._errors import CodeyError, StreamError
from codey._secrets import scrub
from codey._transport._connection import default_session
from codey._transport._failures import BODY, REQUEST, foreign_errors, status_error
from codey._transport._reply import WHOLE_REPLY_LIMIT
from codey._transport._retries import with_retries

if TYPE_CHECKING:
    from codey._transport._plan import Plan

_COPY_SIZE = 1 << 16


def call(
    plan: Plan,
    method: str = "GET",
    *,
    files: Optional[dict[str, Any]] = None,
    sink: Optional[IO[bytes]] = None,
    creates: bool = False,
) -> Any:
    """``method`` ``plan.request.url`` (with ``plan.request.body``, or ``files`` as
    multipart): the decoded JSON answer, or None once the body is copied to ``sink``.

    :param creates: the call makes something that costs (a batch): not retried after
        a request that may have reached the server.
    """
    try:
        return with_retries(
            plan,
            lambda number: _once(plan, method, files, sink, number),
            may_retry=lambda exc: _may_repeat(exc, creates),
            pause=_sleep,
        )
    except CodeyError as exc:
        scrub(exc)  # it reaches the caller here: servers quote keys back
        raise


def _sleep(delay: float, error: CodeyError) -> bool:
    time.sleep(delay)
    return True


def _may_repeat(exc: CodeyError, creates: bool) -> bool:
    # A 429 or 5xx says the server did not act; a broken connection may hide that it did.
    return not creates or getattr(exc, "status_code", None) is not None


def _once(
    plan: Plan,
    method: str,
    files: Optional[dict[str, Any]],
    sink: Optional[IO[bytes]],
    number: int,
) -> Any:
    request = plan.request
    session = plan.session or default_session()
    if sink is not None and number > 1:  # what the failed attempt copied goes
        sink.seek(0)
        sink.truncate()
    headers = request.headers
    if files is not None:  # requests writes the multipart content type and its boundary
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    with foreign_errors(plan, REQUEST, attempts=number):
        response = session.request(
            method,
            request.url,
            data=request.body or None,
            files=files,
            headers=headers,
            stream=True,
            timeout=(plan.connect_timeout, plan.chunk_timeout),
            allow_redirects=False,  # never carry the key elsewhere
        )
    try:
        if response.status_code >= 300:
            raise status_error(response, plan)
        with foreign_errors(plan, BODY):
            if sink is not None:
                while True:
                    data = response.raw.read(_COPY_SIZE, decode_content=True)
                    if not data:
                        return None
                    sink.write(data)
            raw = response.raw.read(WHOLE_REPLY_LIMIT + 1, decode_content=True) or b""
    finally:
        response.close()
    name = plan.provider.name
    try:
        if len(raw) > WHOLE_REPLY_LIMIT:
            raise ValueError("too long")
        return json.loads(raw)
    except ValueError:
        shown = raw[:200].decode("utf-8", "replace")
        raise StreamError(
            f"{name} answered {method} {request.url} with something that is not JSON: {shown!r}",
            provider=name,
        ) from None
