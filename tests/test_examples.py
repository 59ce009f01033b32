"""The WSGI example streams to a browser over a real WSGI server, with codey.testing
playing the provider."""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import requests

from codey.testing import ErrorEvent, FakeProvider, Pause, Text, answer, events
from tests.conftest import FAKE_KEY
from tests.helpers import codey_threads, wait_until

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
import wsgi_sse


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def web(fake: FakeProvider) -> Iterator[str]:
    app = wsgi_sse.make_app(
        model="claude-sonnet-4-0",
        api_key=FAKE_KEY,
        base_url=fake.base_url("anthropic"),
        chunk_timeout=5.0,
    )
    server = make_server("127.0.0.1", 0, app, server_class=_Server, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="wsgi-test", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _frames(text: str) -> list[tuple[str, str]]:
    frames = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        frames.append((fields.get("event", "message"), fields["data"]))
    return frames


def test_streams_the_answer_as_sse(fake: FakeProvider, web: str) -> None:
    """The browser gets each chunk as an SSE message, then a done event."""
    fake.push(answer("Hel", "lo ", "wörld"))
    response = requests.get(f"{web}/stream", params={"q": "hi"}, timeout=5)
    assert response.headers["content-type"] == "text/event-stream"
    frames = _frames(response.content.decode("utf-8"))
    assert frames[-1][0] == "done"
    assert [json.loads(data) for kind, data in frames if kind == "message"] == [
        "Hel",
        "lo ",
        "wörld",
    ]
    assert fake.requests[-1].json["messages"] == [{"role": "user", "content": "hi"}]


def test_an_upstream_error_becomes_a_failed_event(fake: FakeProvider, web: str) -> None:
    fake.push(events(Text("par"), ErrorEvent("overloaded_error", "Overloaded")))
    response = requests.get(f"{web}/stream", params={"q": "hi"}, timeout=5)
    frames = _frames(response.content.decode("utf-8"))
    assert frames[0] == ("message", '"par"')
    assert frames[-1][0] == "failed"
    assert "Overloaded" in frames[-1][1]


def test_closing_the_browser_closes_the_upstream_stream(fake: FakeProvider, web: str) -> None:
    """When the browser goes away, the provider connection closes too."""
    steps: list[object] = [Text("first")]
    for i in range(100):
        steps += [Pause(0.05), Text(f" {i}")]
    fake.push(events(*steps))
    host, port = web.removeprefix("http://").split(":")
    browser = socket.create_connection((host, int(port)))
    browser.sendall(b"GET /stream?q=hi HTTP/1.1\r\nHost: x\r\n\r\n")
    received = b""
    while b"first" not in received:
        received += browser.recv(4096)
    browser.close()
    assert fake.requests[-1].disconnected.wait(2.0)
    assert wait_until(lambda: not codey_threads(), 2.0)


def test_page_and_bad_requests(web: str) -> None:
    assert b"EventSource" in requests.get(f"{web}/", timeout=5).content
    assert requests.get(f"{web}/stream", timeout=5).status_code == 400
    assert requests.get(f"{web}/nope", timeout=5).status_code == 404


def test_module_level_app_for_wsgi_servers(
    fake_env: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``gunicorn examples.wsgi_sse:app``: the module's own app asks $CODEY_MODEL."""
    monkeypatch.setenv("CODEY_MODEL", "claude-sonnet-4-0")
    fake_env.push(answer("from ", "the module"))
    server = make_server(
        "127.0.0.1", 0, wsgi_sse.app, server_class=_Server, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, name="wsgi-test", daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/stream"
        response = requests.get(url, params={"q": "hi"}, timeout=5)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    frames = _frames(response.content.decode("utf-8"))
    assert frames[-1][0] == "done"
    assert "".join(json.loads(data) for kind, data in frames if kind == "message") == (
        "from the module"
    )
    assert fake_env.requests[-1].path.startswith("/anthropic/")
    assert fake_env.requests[-1].json["model"] == "claude-sonnet-4-0"
