"""Foreign failures become codey errors here, and only here.

What requests, urllib3, http.client, sockets and zlib raise leaves the
transport through ``foreign_errors`` (one ``with`` around each call that may
raise it), as the codey error that says what happened in codey's words; a
response that is not a 2xx answer becomes one through ``status_error``.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import urllib.parse
import zlib
from typing import TYPE_CHECKING, Any, Callable, Optional

import requests

from codey._errors import (
    APIStatusError,
    ChunkTimeoutError,
    CodeyError,
    ConnectTimeoutError,
    IncompleteStreamError,
    NetworkError,
    RedirectError,
    StreamError,
    chunk_timeout_message,
    status_error_class,
)
from codey._retry import parse_retry_after

if TYPE_CHECKING:
    import threading
    from types import TracebackType

    from codey._channel import Channel
    from codey._transport._plan import Plan

#: Posting the request, until the response headers.
REQUEST = "request"
#: Reading the response body.
BODY = "body"
#: What each stage translates; anything else passes unchanged.
_FOREIGN: dict[str, type[Exception]] = {
    REQUEST: requests.exceptions.RequestException,
    BODY: Exception,
}
_ERROR_BODY_LIMIT = 65536
#: Statuses a proxy answers with itself (authentication, bad gateway, timeout).
_PROXY_STATUSES = (407, 502, 503, 504)


def _never() -> bool:
    return False


class _Boundary:
    __slots__ = ("aborted", "attempts", "cancelled", "channel", "plan", "stage")

    def __init__(
        self,
        plan: Plan,
        stage: str,
        attempts: int,
        aborted: Callable[[], bool],
        cancelled: Optional[threading.Event],
        channel: Optional[Channel],
    ) -> None:
        self.plan = plan
        self.channel = channel
        self.stage = stage
        self.attempts = attempts
        self.aborted = aborted
        self.cancelled = cancelled

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: Optional[type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> bool:
        if not isinstance(exc, _FOREIGN[self.stage]) or isinstance(exc, CodeyError):
            return False
        if self.cancelled is not None and self.cancelled.is_set():
            return True  # the stream was closed, which cut the read: the block just ends
        if self.stage == REQUEST:
            raise _request_error(self.plan, exc, self.attempts, self.aborted()) from exc
        raise _read_error(self.plan, exc, self.channel) from exc


def foreign_errors(
    plan: Plan,
    stage: str,
    *,
    attempts: int = 1,
    aborted: Callable[[], bool] = _never,
    cancelled: Optional[threading.Event] = None,
    channel: Optional[Channel] = None,
) -> _Boundary:
    """``with foreign_errors(plan, stage):``: foreign exceptions leave the block as codey errors.

    ``REQUEST``: what requests raises posting ``plan``'s request, ``attempts``
    so far; once ``aborted()`` (the connect timeout gave up on the attempt),
    any of it is a ConnectTimeoutError. ``BODY``: any exception reading the
    body; once ``cancelled`` is set, it ends the block quietly instead. A stream's
    ``channel`` says which timeout a read that timed out ran out of.
    """
    return _Boundary(plan, stage, attempts, aborted, cancelled, channel)


def connect_timeout(plan: Plan, attempts: int) -> ConnectTimeoutError:
    tries = f"; {attempts} attempts" if attempts > 1 else ""
    return ConnectTimeoutError(
        f"{plan.provider.name} did not respond within {plan.connect_timeout} s "
        f"(connect_timeout: connection and response headers{tries})"
    )


def _request_error(plan: Plan, exc: Exception, attempts: int, aborted: bool) -> CodeyError:
    if aborted or isinstance(
        exc, (requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout)
    ):
        return connect_timeout(plan, attempts)
    name, url = plan.provider.name, plan.request.url
    if isinstance(exc, requests.exceptions.ProxyError):  # the proxy failed, not the provider
        return NetworkError(
            f"the proxy {proxy_for(plan)} failed (on the way to {name} at {url}): {_reason(exc)}"
        )
    if isinstance(exc, requests.exceptions.ConnectionError):
        return NetworkError(f"could not reach {name} at {url}: {_reason(exc)}")
    if "SOCKS" in str(exc):  # requests' InvalidSchema "Missing dependencies for SOCKS support"
        return CodeyError(
            f"invalid request to {url}: the proxy {proxy_for(plan)} is a SOCKS proxy, which "
            "needs PySocks: pip install 'requests[socks]'"
        )
    return CodeyError(f"invalid request to {url}: {exc}")


def _reason(exc: BaseException) -> str:
    # requests wraps urllib3's MaxRetryError, which wraps the socket error.
    inner: Any = exc.args[0] if exc.args else exc
    inner = getattr(inner, "reason", inner)
    text = str(inner)
    match = re.search(r"\[Errno [^\]]+\] [^')\"]+|Tunnel connection failed: [^')\"]+", text)
    return match.group(0) if match else text


def proxy_for(plan: Plan) -> Optional[str]:
    """The proxy the request goes through, as ``scheme://host:port`` (no credentials), or None."""
    url = plan.request.url
    session = plan.session
    proxies = dict(session.proxies) if session is not None else {}
    if session is None or session.trust_env:
        for scheme, value in requests.utils.get_environ_proxies(url).items():
            proxies.setdefault(scheme, value)
    proxy = requests.utils.select_proxy(url, proxies)
    if not proxy:
        return None
    parts = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def _read_error(plan: Plan, exc: Exception, channel: Optional[Channel]) -> CodeyError:
    name = plan.provider.name
    if isinstance(exc, zlib.error):
        return StreamError(f"{name} sent a corrupt compressed body: {exc}", provider=name)
    if isinstance(exc, (socket.timeout, TimeoutError)):
        if channel is not None:
            return ChunkTimeoutError(channel.silence_message(name))
        return ChunkTimeoutError(chunk_timeout_message(name, plan.chunk_timeout))
    if isinstance(exc, (http.client.IncompleteRead, OSError)):
        return IncompleteStreamError(
            f"the connection to {name} broke before the end of the answer: {type(exc).__name__}",
            provider=name,
        )
    return IncompleteStreamError(
        f"{name} sent a malformed HTTP body: {type(exc).__name__}: {exc}", provider=name
    )


# -- responses that are not an answer ---------------------------------------------


def status_error(response: requests.Response, plan: Plan) -> APIStatusError:
    """The error a response of status 300 or more stands for."""
    status = response.status_code
    if status < 400:
        return _redirect_error(response, plan)
    try:
        raw = response.raw.read(_ERROR_BODY_LIMIT, decode_content=True) or b""
    except Exception:  # the status already says what went wrong
        raw = b""
    text = raw.decode("utf-8", "replace")
    message: Optional[str] = None
    error_type: Optional[str] = None
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if body is not None:
        message, error_type = plan.provider.error_details(body)
    if not message:
        message = (
            page_title(text) or " ".join(text.split())[:300] or (response.reason or "no details")
        )
    if status in (400, 404) and plan.model in message:
        message += _retired_note(plan)
    retry_after = parse_retry_after(response.headers)
    if retry_after is not None:
        message += f" (Retry-After: {retry_after:g} s)"
    if status in _PROXY_STATUSES:
        proxy = proxy_for(plan)
        if proxy:  # a gateway error may be the proxy's own
            message += f" (through the proxy {proxy})"
    return status_error_class(status)(
        message,
        status_code=status,
        provider=plan.provider.name,
        retry_after=retry_after,
        error_type=error_type,
    )


def _retired_note(plan: Plan) -> str:
    """`` (X was retired on DATE; its replacement is Y)`` when the refused model is a
    retired one, else nothing."""
    from codey import _models

    info = _models.find(plan.model, plan.provider.name)
    note = None if info is None else _models.retirement(info, plan.model)
    return "" if note is None else f" ({note})"


def page_title(text: str) -> Optional[str]:
    """An HTML page's title (a proxy's error page, a captive portal), else None."""
    match = re.search(r"<title>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    return " ".join(match.group(1).split()) if match else None


def _redirect_error(response: requests.Response, plan: Plan) -> RedirectError:
    status = response.status_code
    location = response.headers.get("location")
    target = urllib.parse.urljoin(plan.request.url, location) if location else None
    where = (urllib.parse.urlsplit(target).netloc or target) if target else "nowhere given"
    setting = plan.provider.base_url_env
    return RedirectError(
        f"redirect to {where} not followed: codey never sends a key on to another "
        f"address; if the API has moved, set {setting} (or base_url=) to the new URL",
        status_code=status,
        provider=plan.provider.name,
        location=location,
    )
