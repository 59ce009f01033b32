"""Small helpers shared by the tests."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Optional, Union

from codey.testing import FAKE_API_KEY, sse_bytes
from tests.conftest import FAKE_KEY

if TYPE_CHECKING:
    from codey.testing import FakeProvider, Reply

#: The project's root, put on PYTHONPATH for ``python -m codey``.
ROOT = Path(__file__).resolve().parent.parent
#: The seed chat log of the original tool.
SEED = Path(__file__).parent / "fixtures" / "chat" / "seed-chat.md"
#: The longest a ``python -m codey`` run may take in a test.
TIMEOUT = 20.0

#: One model per provider (and wire format), for parametrised tests.
MODELS = {
    "openai": "gpt-4.1",
    "xai": "grok-4.3",
    "anthropic": "claude-sonnet-4-0",
    "openai-responses": "o3-pro",  # OpenAI over the Responses API
}
#: The providers whose tests read Chat Completions or Messages bodies (Responses: its own tests).
RICH = sorted(set(MODELS) - {"openai-responses"})
#: The fake provider's name and wire format for each of MODELS' providers.
FAKE_ROUTES = {
    "openai": ("openai", "chat"),
    "xai": ("xai", "chat"),
    "anthropic": ("anthropic", "messages"),
    "openai-responses": ("openai", "responses"),
}


def fake_base_url(fake: FakeProvider, provider: str) -> str:
    """Where ``provider``'s client should point to reach ``fake``."""
    return fake.base_url(FAKE_ROUTES[provider][0])


def sse_for(reply: Reply, provider: str) -> bytes:
    """``sse_bytes`` of ``reply`` as ``provider``'s client receives it."""
    name, wire_format = FAKE_ROUTES[provider]
    return sse_bytes(reply, name, wire_format=wire_format)


def wire_kwargs(provider: str) -> dict[str, object]:
    """``api="chat"`` for OpenAI's and xAI's routes over Chat Completions (FAKE_ROUTES):
    the model table sends their reasoning models over Responses by default."""
    return {"api": "chat"} if FAKE_ROUTES[provider] in (("openai", "chat"), ("xai", "chat")) else {}


def kwargs_for(fake: object, provider: str, **extra: object) -> dict[str, object]:
    """stream() keywords that point at the fake provider with the fake key, over the
    wire format FAKE_ROUTES names (:func:`wire_kwargs`)."""
    options: dict[str, object] = {
        "model": MODELS[provider],
        "api_key": FAKE_KEY,
        "base_url": fake_base_url(fake, provider),  # type: ignore[arg-type]
        "chunk_timeout": 2.0,
        "connect_timeout": 2.0,
    }
    options.update(wire_kwargs(provider))
    options.update(extra)
    return options


def codey_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("codey-")]


def wait_until(predicate: object, timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.005)
    return bool(predicate())  # type: ignore[operator]


def open_sockets() -> int:
    """How many sockets this process holds (Linux)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                count += 1
        except OSError:
            pass
    return count


@contextmanager
def silent_server(received: Optional[threading.Event] = None) -> Iterator[str]:
    """A server that accepts connections and never answers: yields its base URL.

    ``received`` is set once a connection has sent its first bytes (the
    request), so a test can act while the client waits for the headers.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            accepted.append(conn)
            if received is not None:
                conn.settimeout(1.0)
                try:
                    if conn.recv(65536):
                        received.set()
                except OSError:
                    pass

    thread = threading.Thread(target=accept, name="silent-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()


def closed_port_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


@contextmanager
def scripted_server(pieces: list[bytes], pause: float = 0.0005) -> Iterator[str]:
    """A server that answers one request with ``pieces``, each its own write
    (a short pause between them, so they arrive as separate reads), then
    closes. Yields its base URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(5.0)

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.settimeout(5.0)
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(65536)
            head, _, body = request.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(body) < length:
                body += conn.recv(65536)
            try:
                for piece in pieces:
                    conn.sendall(piece)
                    time.sleep(pause)
            except OSError:
                pass

    thread = threading.Thread(target=serve, name="scripted-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()
        thread.join()


# -- codey as a process ------------------------------------------------------


def environment(fake: Optional[FakeProvider] = None, **extra: str) -> dict[str, str]:
    """The (already cleaned) environment, codey importable, the fake's URLs and keys."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("CODEY_DEBUG", None)
    if fake is not None:
        env.update(fake.env())
    env.update(extra)
    return env


def run_cli(
    *args: str,
    env: Mapping[str, str],
    stdin: Union[int, IO[bytes]] = subprocess.DEVNULL,
    cwd: Optional[Path] = None,
) -> subprocess.CompletedProcess[bytes]:
    """``python -m codey ARGS`` run to the end, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "codey", *args],
        env=env,
        stdin=stdin,
        capture_output=True,
        timeout=TIMEOUT,
        cwd=cwd,
        check=False,
    )


def start_cli(
    *args: str, env: Mapping[str, str], stdin: object = subprocess.DEVNULL, **kwargs: object
) -> subprocess.Popen[bytes]:
    """``python -m codey ARGS`` started, its stdout and stderr piped."""
    return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "codey", *args],
        env=env,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,
    )


def read_until(proc: subprocess.Popen[bytes], wanted: bytes, timeout: float = TIMEOUT) -> bytes:
    """Read the process's stdout as it comes until ``wanted`` appears."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    data = b""
    deadline = time.monotonic() + timeout
    while wanted not in data:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"timed out waiting for {wanted!r}; got {data!r}"
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            piece = os.read(fd, 65536)
            assert piece, f"stdout closed before {wanted!r}; got {data!r}"
            data += piece
    return data


def one_error_line(stderr: bytes) -> str:
    """The one ``codey: error:`` line a failed run printed (no traceback, no key)."""
    text = stderr.decode("utf-8")
    assert text.startswith("codey: error: "), text
    assert text.count("\n") == 1, text
    assert "Traceback" not in text
    assert FAKE_API_KEY not in text
    return text
