"""The shared session, and a way for each stream to cut its socket.

Every connection a stream's worker opens or reuses is noted in the stream's
channel as a closer (a shutdown of its socket), so that ``close()`` from any
thread unblocks a read at once.
"""

from __future__ import annotations

import http.client
import os
import queue
import socket
import threading
from functools import partial
from typing import TYPE_CHECKING, Any, Callable, Optional

import requests
import requests.adapters
import urllib3
import urllib3.connection

from codey._version import __version__

if TYPE_CHECKING:
    from codey._channel import Channel

# -- sockets ----------------------------------------------------------------------

_current = threading.local()


def bind(channel: Optional[Channel]) -> None:
    """The stream this thread now works for (None: none); its sockets go to its channel."""
    _current.channel = channel


def _shutdown(sock: socket.socket) -> None:
    # socket.socket.shutdown on the raw descriptor, so that an SSL socket's
    # state is not touched from this thread; the blocked recv returns at once.
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except (OSError, ValueError):
        pass


def closer(sock: Optional[socket.socket]) -> Optional[Callable[[], None]]:
    """What cuts ``sock`` from another thread (None for no socket)."""
    return None if sock is None else partial(_shutdown, sock)


def _note_socket(sock: Optional[socket.socket]) -> None:
    channel: Optional[Channel] = getattr(_current, "channel", None)
    if channel is not None and sock is not None:
        channel.set_closer(partial(_shutdown, sock))


def socket_of(response: requests.Response) -> Optional[socket.socket]:
    """The socket a response is read from, if it can be found."""
    raw = response.raw
    sock = getattr(getattr(raw, "_connection", None), "sock", None)
    if sock is None:
        sock = getattr(
            getattr(getattr(getattr(raw, "_fp", None), "fp", None), "raw", None), "_sock", None
        )
    return sock if isinstance(sock, socket.socket) else None


def keep_connection(response: requests.Response) -> None:
    """Hand the connection of a response whose body was read to its end back to the pool.

    The event-stream body is read from the socket's reader directly, past
    http.client and urllib3, so neither knows it ended: closing http.client's
    response says so (its socket stays with the connection), and urllib3 then
    pools the connection for the next request instead of closing it (and the
    next request's TCP and TLS handshakes with it). A connection the server
    said it would close is left to close.
    """
    raw = response.raw
    http_response = getattr(raw, "_fp", None)
    if not isinstance(http_response, http.client.HTTPResponse) or http_response.will_close:
        return
    http_response.close()
    raw.release_conn()


#: A request body up to this size goes out in one write with the head.
ONE_WRITE = 65536


class _HTTPConnection(urllib3.connection.HTTPConnection):
    """Notes its socket in the stream's channel when it connects, and at each request;
    sends a small request whole, head and body in one write.

    urllib3 writes the head, then the body: two system calls, two packets (two
    TLS records) and two wake-ups of the server, where one does.
    """

    _holding = False
    _head: Optional[bytes] = None

    def connect(self) -> None:
        super().connect()
        _note_socket(self.sock)

    def request(
        self, method: str, url: str, body: Any = None, headers: Any = None, **kwargs: Any
    ) -> None:
        _note_socket(self.sock)
        # send() keeps the head back for the body that follows it.
        self._holding = isinstance(body, bytes) and 0 < len(body) <= ONE_WRITE
        try:
            super().request(method, url, body, headers, **kwargs)
        finally:
            self._holding = False
            self._head = None

    def send(self, data: Any) -> None:
        if self._holding:
            head = self._head
            if head is None:
                self._head = bytes(data)
                return
            self._holding = False
            self._head = None
            data = head + data
        super().send(data)


class _HTTPSConnection(_HTTPConnection, urllib3.connection.HTTPSConnection):
    # The same notes, around HTTPSConnection's connect (next in the MRO).
    pass


class _QuietPool(urllib3.HTTPConnectionPool):
    """A pool that closes a connection it has no room for without a word: more
    streams at once than it keeps is a batch at work, not something to warn about
    (urllib3 logs a warning for each)."""

    def _put_conn(self, conn: Any) -> None:
        pool = self.pool
        if pool is not None and conn is not None:
            try:
                pool.put(conn, block=False)
                return
            except queue.Full:
                pass
        if conn is not None:
            conn.close()


class _HTTPPool(_QuietPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(_QuietPool, urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _Adapter(requests.adapters.HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


# -- the session ------------------------------------------------------------------

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
