"""HTTP for codey: the only module that imports requests and sseclient-py.

``produce`` runs in a stream's worker thread. It posts the request with
``stream=True``, retries what may be retried, and feeds sseclient-py a byte
iterator that yields whatever one read returned, so no event waits for the
next. Each read's events travel to the caller as one list on the queue.
Foreign exceptions become codey errors here, and only here.
"""

from __future__ import annotations

import http.client
import io
import json
import logging
import os
import re
import socket
import threading
import urllib.parse
import zlib
from collections.abc import Iterator, Sequence
from time import monotonic
from typing import Any, Callable, Optional

import requests
import requests.adapters
import urllib3
import urllib3.connection
from sseclient import SSEClient

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
from codey._providers._base import HTTPRequest, Parser, Provider
from codey._retry import backoff_delay, is_retryable, parse_retry_after
from codey._secrets import scrub
from codey._stream import Channel
from codey._version import __version__

log = logging.getLogger("codey")
log.addHandler(logging.NullHandler())

#: Bytes asked of one read: whatever has arrived, up to this much.
READ_SIZE = 65536
_BOM = b"\xef\xbb\xbf"
_EVENT_ENDS = (b"\n\n", b"\r\r", b"\r\n\r\n")
_ERROR_BODY_LIMIT = 65536
#: The most of a non-streamed (JSON) reply read as the answer.
_WHOLE_REPLY_LIMIT = 16 * 1024 * 1024
_MAX_LINE = 4096


class Plan:
    """Everything the worker needs for one stream (the key only inside ``request``)."""

    __slots__ = (
        "chunk_timeout",
        "connect_timeout",
        "model",
        "provider",
        "request",
        "retries",
        "session",
    )

    def __init__(
        self,
        *,
        provider: Provider,
        model: str,
        request: HTTPRequest,
        retries: int,
        connect_timeout: Optional[float],
        chunk_timeout: Optional[float],
        session: Optional[requests.Session],
    ) -> None:
        self.provider = provider
        self.model = model
        self.request = request
        self.retries = retries
        self.connect_timeout = connect_timeout
        self.chunk_timeout = chunk_timeout
        self.session = session

    def __repr__(self) -> str:
        return f"<Plan {self.provider.name} {self.request.url}>"


# -- sockets: note each one in the stream's channel, so close() can unblock it --

_current = threading.local()


def _note_socket(sock: Optional[socket.socket]) -> None:
    channel: Optional[Channel] = getattr(_current, "channel", None)
    if channel is not None and sock is not None:
        channel.set_socket(sock)


class _HTTPConnection(urllib3.connection.HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _note_socket(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _note_socket(self.sock)
        super().request(*args, **kwargs)


class _HTTPSConnection(urllib3.connection.HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _note_socket(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _note_socket(self.sock)
        super().request(*args, **kwargs)


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _Adapter(requests.adapters.HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


# What requests reads from the environment for an http(s) URL (under CGI,
# REQUEST_METHOD makes it ignore HTTP_PROXY).
_ENVIRONMENT = (
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
    "REQUEST_METHOD",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
)


def _keep_headers(request: requests.PreparedRequest) -> requests.PreparedRequest:
    # As the session's auth: the key is in our headers, so ~/.netrc is never
    # consulted (and can never replace it).
    return request


class _Session(requests.Session):
    """The default session: environment settings looked up once per host.

    requests scans every environment variable on each request to find the
    proxies (a third of its overhead per request); the variables that can
    matter are read each time, and the scan runs again only when one changes.
    """

    def __init__(self) -> None:
        super().__init__()
        self._settings: dict[tuple[Any, ...], Any] = {}

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:  # requests' stubs name the type privately
        if proxies or not isinstance(url, str):
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        origin = url.split("/", 3)[:3]
        environ = os.environ
        key = (*origin, stream, verify, cert, *[environ.get(name) for name in _ENVIRONMENT])
        settings = self._settings.get(key)
        if settings is None:
            if len(self._settings) >= 64:
                self._settings.clear()
            settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
            self._settings[key] = settings
        return {**settings, "proxies": dict(settings["proxies"])}


_session: Optional[requests.Session] = None
_session_lock = threading.Lock()


def default_session() -> requests.Session:
    """codey's own session, shared by all streams (urllib3's pool is thread-safe)."""
    global _session
    with _session_lock:
        if _session is None:
            session = _Session()
            session.auth = _keep_headers
            adapter = _Adapter(pool_connections=16, pool_maxsize=256)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers["User-Agent"] = f"codey/{__version__}"
            # Only what we decode ourselves: no brotli or zstd surprises.
            session.headers["Accept-Encoding"] = "gzip, deflate"
            _session = session
        return _session


def _socket_of(response: requests.Response) -> Optional[socket.socket]:
    raw = response.raw
    sock = getattr(getattr(raw, "_connection", None), "sock", None)
    if sock is None:
        sock = getattr(
            getattr(getattr(getattr(raw, "_fp", None), "fp", None), "raw", None), "_sock", None
        )
    return sock if isinstance(sock, socket.socket) else None


# -- the producer ---------------------------------------------------------------


def produce(channel: Channel, plans: Sequence[Plan]) -> None:
    """Run the request, with retries then fallbacks, putting the answer on ``channel.queue``.

    The next plan (a fallback model) is tried only when one failed, after its
    retries, before any text arrived. If all fail, the last error is raised
    with ``.attempts``: the (model, error) of every plan tried.
    """
    _current.channel = channel
    attempts: list[tuple[str, CodeyError]] = []
    try:
        for index, plan in enumerate(plans):
            channel.current = index
            try:
                _with_retries(channel, plan)
                return
            except CodeyError as exc:
                if channel.cancelled.is_set():
                    return
                attempts.append((plan.model, exc))
                if channel.saw_text or index == len(plans) - 1:
                    if len(plans) > 1:
                        exc.attempts = attempts  # type: ignore[attr-defined]
                    raise
                log.debug(
                    "%s failed, falling back to %s: %s", plan.model, plans[index + 1].model, exc
                )
                channel.retries += 1
    except BaseException as exc:
        scrub(exc)  # anything at all that reaches the caller
        raise
    finally:
        _current.channel = None


def _with_retries(channel: Channel, plan: Plan) -> None:
    # connect_timeout bounds the whole wait for the response, retries included.
    timeout = plan.connect_timeout
    connect_by = None if timeout is None else monotonic() + timeout
    retry = 0
    while True:
        try:
            _attempt(channel, plan, connect_by, retry + 1)
            return
        except CodeyError as exc:
            scrub(exc)  # before it is logged or handed on: servers quote keys back
            if channel.cancelled.is_set():
                return
            if retry >= plan.retries or channel.saw_text or not is_retryable(exc):
                raise
            delay = backoff_delay(retry, getattr(exc, "retry_after", None))
            if connect_by is not None and monotonic() + delay >= connect_by:
                raise  # no time left for another attempt within connect_timeout
            log.debug("%s: retrying in %.2f s after: %s", plan.provider.name, delay, exc)
            channel.begin_backoff(delay)
            if channel.cancelled.wait(delay):
                return
            retry += 1


def _attempt(channel: Channel, plan: Plan, connect_by: Optional[float], number: int) -> None:
    attempt = channel.begin_attempt(connect_by)
    request = plan.request
    session = plan.session or default_session()
    timeout = None if connect_by is None else max(0.001, connect_by - monotonic())
    try:
        response = session.post(
            request.url,
            data=request.body,
            headers=request.headers,
            stream=True,
            timeout=(timeout, timeout),
            # A redirect would carry x-api-key (or api-key) to wherever it points.
            allow_redirects=False,
        )
    except requests.exceptions.RequestException as exc:
        raise _request_error(channel, attempt, plan, exc, number) from exc
    try:
        sock = _socket_of(response)
        if not channel.begin_streaming(attempt, sock):
            if channel.cancelled.is_set():
                return
            raise _connect_timeout(plan, number)
        if response.status_code >= 300:
            raise _status_error(response, plan)
        if sock is not None and plan.chunk_timeout != timeout:
            sock.settimeout(plan.chunk_timeout)
        mime = response.headers.get("content-type", "").partition(";")[0].strip().lower()
        if mime and mime != "text/event-stream":
            _read_whole_reply(channel, plan, response, mime)
        else:
            _read_events(channel, plan, response)
    finally:
        channel.forget_socket()
        response.close()


def _connect_timeout(plan: Plan, attempts: int) -> ConnectTimeoutError:
    tries = f"; {attempts} attempts" if attempts > 1 else ""
    return ConnectTimeoutError(
        f"{plan.provider.name} did not respond within {plan.connect_timeout} s "
        f"(connect_timeout: connection and response headers{tries})"
    )


def _request_error(
    channel: Channel,
    attempt: int,
    plan: Plan,
    exc: requests.exceptions.RequestException,
    number: int,
) -> CodeyError:
    if channel.was_aborted(attempt) or isinstance(
        exc, (requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout)
    ):
        return _connect_timeout(plan, number)
    if isinstance(exc, requests.exceptions.ConnectionError):
        return NetworkError(
            f"could not reach {plan.provider.name} at {plan.request.url}: {_reason(exc)}"
        )
    return CodeyError(f"invalid request to {plan.request.url}: {exc}")


def _reason(exc: BaseException) -> str:
    # requests wraps urllib3's MaxRetryError, which wraps the socket error.
    inner: Any = exc.args[0] if exc.args else exc
    inner = getattr(inner, "reason", inner)
    text = str(inner)
    match = re.search(r"\[Errno [^\]]+\] [^')\"]+", text)
    return match.group(0) if match else text


def _status_error(response: requests.Response, plan: Plan) -> APIStatusError:
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
            _page_title(text) or " ".join(text.split())[:300] or (response.reason or "no details")
        )
    retry_after = parse_retry_after(response.headers)
    if retry_after is not None:
        message += f" (Retry-After: {retry_after:g} s)"
    return status_error_class(status)(
        message,
        status_code=status,
        provider=plan.provider.name,
        retry_after=retry_after,
        error_type=error_type,
    )


def _page_title(text: str) -> Optional[str]:
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


def _read_whole_reply(channel: Channel, plan: Plan, response: requests.Response, mime: str) -> None:
    """A 200 that is not an event stream: a whole JSON reply is the answer; else say what came."""
    name = plan.provider.name
    try:
        raw = response.raw.read(_WHOLE_REPLY_LIMIT + 1, decode_content=True) or b""
    except Exception as exc:
        raise _read_error(plan, exc) from exc
    channel.last_read = monotonic()
    text = raw[:_WHOLE_REPLY_LIMIT].decode("utf-8", "replace")
    body: Any = None
    if mime == "application/json" or mime.endswith("+json"):
        try:
            body = json.loads(text)
        except ValueError:
            body = None
    events = plan.provider.complete_reply(body, plan.request) if body is not None else None
    if events is not None and len(raw) <= _WHOLE_REPLY_LIMIT:
        saw_text = any(piece.__class__ is str for piece in events)
        channel.saw_text = channel.saw_text or saw_text
        if saw_text:
            channel.t_first_text = channel.last_read
        channel.queue.put(events)
        return
    if isinstance(body, dict) and body.get("error"):
        message, error_type = plan.provider.error_details(body)
        raise StreamError(
            message or f"{name} sent an error: {text[:200]}", provider=name, error_type=error_type
        )
    title = _page_title(text)
    if title:
        shown = title
        hint = " (a captive portal or a proxy's page?)"
    else:
        shown = repr(" ".join(text.split())[:200]) if text.strip() else "an empty body"
        hint = ""
    raise StreamError(
        f"{name} answered with {mime}, not an event stream{hint}: {shown}", provider=name
    )


class _Chunks:
    """Decodes a chunked body (RFC 9112, 7.1) from whatever bytes arrived.

    http.client's ``read1()`` stops at the end of each HTTP chunk, so a burst
    of small events would cross to the caller one by one; decoding here
    hands over every chunk that one socket read brought.
    """

    __slots__ = ("buffer", "data_left", "ended", "error", "in_trailers")

    def __init__(self) -> None:
        self.buffer = b""
        # Bytes of chunk data still to come; -1: the CRLF that ends a chunk.
        self.data_left = 0
        self.in_trailers = False
        self.ended = False
        self.error: Optional[ValueError] = None

    def decode(self, data: bytes) -> bytes:
        """The chunk data in ``data``.

        On broken framing, the data before it is returned and the ValueError
        is kept in ``error``, to be raised once that data has been handed on.
        """
        parts: list[bytes] = []
        try:
            self._decode(data, parts)
        except ValueError as exc:
            self.error = exc
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _decode(self, data: bytes, parts: list[bytes]) -> None:
        buffer = self.buffer + data if self.buffer else data
        end = len(buffer)
        position = 0
        data_left = self.data_left
        while position < end and not self.ended:
            if data_left > 0:
                stop = min(end, position + data_left)
                parts.append(buffer[position:stop])
                data_left -= stop - position
                position = stop
                if not data_left:
                    data_left = -1
            elif data_left < 0:
                if end - position < 2:
                    break
                if buffer[position : position + 2] != b"\r\n":
                    raise ValueError("no CRLF after a chunk")
                position += 2
                data_left = 0
            else:
                line_end = buffer.find(b"\n", position)
                if line_end < 0:
                    if end - position > _MAX_LINE:
                        raise ValueError("chunk size line too long")
                    break
                line = buffer[position:line_end]
                position = line_end + 1
                if self.in_trailers:
                    self.ended = line in (b"", b"\r")
                    continue
                size = int(line.partition(b";")[0], 16)
                if size <= 0:
                    if size:
                        raise ValueError(f"negative chunk size: {line!r}")
                    self.in_trailers = True
                    continue
                stop = position + size
                if stop + 2 > end:
                    data_left = size
                    continue
                # The whole chunk is here (the usual case): one step.
                if buffer[stop : stop + 2] != b"\r\n":
                    raise ValueError("no CRLF after a chunk")
                parts.append(buffer[position:stop])
                position = stop + 2
        self.buffer = buffer[position:]
        self.data_left = data_left


class _Body:
    """The byte iterator fed to sseclient-py.

    Before each read it hands the events parsed from the previous read to
    the caller, as one list: the caller never waits for a batch to fill.
    Every read resets the chunk timer, whatever it carried.
    """

    __slots__ = (
        "channel",
        "chunks",
        "decoder",
        "eof",
        "fp",
        "left",
        "out",
        "parser",
        "plan",
        "tail",
    )

    def __init__(
        self, channel: Channel, plan: Plan, response: requests.Response, parser: Parser
    ) -> None:
        self.channel = channel
        self.parser = parser
        self.plan = plan
        # Read the socket's buffered reader directly: its read1() returns
        # whatever has arrived, where http.client's stops at each HTTP chunk.
        http_response: http.client.HTTPResponse = response.raw._fp  # type: ignore[assignment]
        self.fp: io.BufferedReader = http_response.fp
        self.chunks = _Chunks() if http_response.chunked else None
        #: Bytes of a Content-Length body still to come (None: read to the end).
        self.left: Optional[int] = None if http_response.chunked else http_response.length
        self.out: list[Any] = []
        self.eof = False
        self.tail = b"\n\n"
        encoding = response.headers.get("content-encoding", "").strip().lower()
        if encoding in ("", "identity"):
            self.decoder = None
        elif encoding in ("gzip", "x-gzip"):
            self.decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self.decoder = zlib.decompressobj()
        else:
            raise StreamError(
                f"{plan.provider.name} sent an unsupported content-encoding: {encoding}",
                provider=plan.provider.name,
            )

    def flush(self) -> None:
        if self.out:
            channel = self.channel
            if channel.t_first_text is None and self.parser.saw_text:
                channel.t_first_text = channel.last_read
            channel.queue.put(self.out)
            self.out = []

    def __iter__(self) -> Iterator[bytes]:
        channel = self.channel
        put = channel.queue.put
        # Read into one reused buffer and copy out what arrived: read1() takes
        # a fresh block per read and shrinks it, which fragments the heap.
        # First what http.client's buffered reader holds, no more than its
        # own buffer size at a time (asked for more, readinto1() would wait
        # for new bytes before returning those it holds); once it is empty,
        # from the socket itself, up to READ_SIZE per read.
        view = memoryview(bytearray(READ_SIZE))
        readinto: Callable[[memoryview], Optional[int]] = self.fp.readinto1
        size = io.DEFAULT_BUFFER_SIZE
        decoder = self.decoder
        timeout = self.plan.chunk_timeout
        parser = self.parser
        chunks = self.chunks
        left = self.left
        # The first bytes, kept until we know whether they start with a BOM.
        pending: Optional[bytes] = b""
        read_at = monotonic()
        while True:
            if self.out:
                if channel.t_first_text is None and parser.saw_text:
                    channel.t_first_text = read_at
                put(self.out)
                self.out = []
            try:
                if chunks is not None and chunks.error is not None:
                    raise chunks.error
                if left == 0 or (chunks is not None and chunks.ended):
                    data = b""  # the whole body is read
                else:
                    wanted = size if left is None else min(size, left)
                    count = readinto(view[:wanted])
                    if count is None:  # only a non-blocking socket says so
                        raise BlockingIOError("the socket is in non-blocking mode")
                    data = view[:count].tobytes()
                    if left is not None:
                        left -= count
                    if count < wanted and size != READ_SIZE:
                        readinto = self.fp.raw.readinto  # the reader is empty
                        size = READ_SIZE
                    if chunks is not None:
                        if not count:
                            raise http.client.IncompleteRead(b"")  # no last chunk
                        data = chunks.decode(data)
            except Exception as exc:
                if channel.cancelled.is_set():
                    return
                raise _read_error(self.plan, exc) from exc
            now = monotonic()
            if now - read_at > channel.longest_gap:
                channel.longest_gap = now - read_at
            channel.last_read = read_at = now
            if timeout is not None:
                channel.expires_at = now + timeout
            if not data:
                if chunks is not None and not chunks.ended:
                    continue  # only chunk framing arrived
                if decoder is not None:
                    data = decoder.flush()
                self.eof = True
                if pending or data:
                    yield (pending or b"") + data
                return
            if decoder is not None:
                try:
                    data = decoder.decompress(data)
                except zlib.error as exc:
                    raise StreamError(
                        f"{self.plan.provider.name} sent a corrupt compressed body: {exc}",
                        provider=self.plan.provider.name,
                    ) from exc
                if not data:
                    continue
            if pending is not None:
                data = pending + data
                if len(data) < 3 and _BOM.startswith(data):
                    pending = data
                    continue
                if data.startswith(_BOM):
                    data = data[3:]
                pending = None
                if not data:
                    continue
            self.tail = data[-4:]
            yield data

    def ended_mid_event(self) -> bool:
        return self.eof and not self.tail.endswith(_EVENT_ENDS)


def _read_error(plan: Plan, exc: Exception) -> CodeyError:
    name = plan.provider.name
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return ChunkTimeoutError(chunk_timeout_message(name, plan.chunk_timeout))
    if isinstance(exc, (http.client.IncompleteRead, OSError)):
        return IncompleteStreamError(
            f"the connection to {name} broke before the end of the answer: {type(exc).__name__}",
            provider=name,
        )
    return IncompleteStreamError(
        f"{name} sent a malformed HTTP body: {type(exc).__name__}: {exc}", provider=name
    )


def _read_events(channel: Channel, plan: Plan, response: requests.Response) -> None:
    parser = plan.provider.new_parser(plan.request)
    body = _Body(channel, plan, response, parser)
    feed = parser.feed
    try:
        try:
            for event in SSEClient(iter(body)).events():
                feed(event.event, event.data, body.out)
                if parser.done:
                    break
        except StreamError as exc:
            # A body cut short (even mid-event) is incomplete, not malformed...
            if not isinstance(exc, IncompleteStreamError):
                if exc.error_type or not body.ended_mid_event():
                    raise
                exc = IncompleteStreamError(
                    f"{plan.provider.name} closed the connection in the middle of an event",
                    provider=plan.provider.name,
                )
            # ...unless a finish_reason arrived: then any end of the body completes it.
            if not parser.complete_at_eof:
                raise exc from None
    finally:
        channel.saw_text = channel.saw_text or parser.saw_text
        body.flush()
    if parser.done or parser.complete_at_eof or channel.cancelled.is_set():
        return
    raise IncompleteStreamError(
        f"{plan.provider.name} closed the connection before the end of the answer",
        provider=plan.provider.name,
    )
