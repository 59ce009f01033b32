"""FakeProvider: URLs and environment, threads, the reply queue and its fallbacks,
routing, recorded requests, release() and close()."""

from __future__ import annotations

import json
import threading
import time
from typing import Optional

import pytest
import requests

from codey.testing import Done, FakeProvider, Stall, Text, answer, events
from tests.testing.wire import (
    CHAT_BODY,
    MESSAGES_BODY,
    chat_chunks,
    fake_threads,
    post,
    raw_request,
    read_all,
    read_until,
)

# --------------------------------------------------------------------- basics


def test_urls_and_env(fake: FakeProvider) -> None:
    assert fake.url == f"http://127.0.0.1:{fake.port}"
    assert fake.base_url("openai") == f"{fake.url}/openai/v1"
    assert fake.base_url("xai") == f"{fake.url}/xai/v1"
    assert fake.base_url("anthropic") == f"{fake.url}/anthropic"
    with pytest.raises(ValueError):
        fake.base_url("mistral")
    env = fake.env()
    assert env["OPENAI_BASE_URL"] == fake.base_url("openai")
    assert env["XAI_BASE_URL"] == fake.base_url("xai")
    assert env["ANTHROPIC_BASE_URL"] == fake.base_url("anthropic")
    for name in ("OPENAI_API_KEY", "XAI_API_KEY", "ANTHROPIC_API_KEY"):
        assert env[name] == "sk-fake-key"


def test_threads_are_named_and_close_joins_them() -> None:
    before = set(fake_threads())
    fake = FakeProvider()
    fake.push(answer("a"))
    assert post(fake).status_code == 200
    assert all(not t.name.startswith("codey-") for t in threading.enumerate())
    assert set(fake_threads()) - before
    fake.close()
    fake.close()  # idempotent
    assert not [t for t in fake_threads() if t not in before and t.is_alive()]


# --------------------------------------------------------- replies and routes


def test_no_scripted_reply_and_default(fake: FakeProvider) -> None:
    response = post(fake)
    assert response.status_code == 500
    assert response.json()["error"]["message"] == "no scripted reply"
    assert post(fake, "anthropic").json()["error"]["type"] == "api_error"
    fake.default = answer("ok")
    fake.push(answer("first"))
    assert fake.pending == 1
    texts = []
    for _ in range(3):
        chunks = chat_chunks(post(fake).content)
        texts.append(chunks[1]["choices"][0]["delta"]["content"])
    assert texts == ["first", "ok", "ok"]
    assert fake.pending == 0


def test_unknown_path_models_and_methods(fake: FakeProvider) -> None:
    missing = requests.post(fake.url + "/anthropic/messages", json={}, timeout=5)
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "not_found_error"
    nowhere = requests.get(fake.url + "/elsewhere", timeout=5)
    assert nowhere.status_code == 404
    assert "error" in nowhere.json()
    models = requests.get(fake.base_url("openai") + "/models", timeout=5)
    assert models.json()["data"][0]["id"] == "fake-model"
    fake.models = ["a", "b"]
    models = requests.get(fake.base_url("anthropic") + "/v1/models", timeout=5)
    assert [m["id"] for m in models.json()["data"]] == ["a", "b"]
    wrong = requests.get(fake.base_url("openai") + "/chat/completions", timeout=5)
    assert wrong.status_code == 405
    plain = requests.post(fake.url + "/v1/chat/completions", json=CHAT_BODY, timeout=5)
    assert plain.status_code == 500  # routed as openai, nothing scripted
    recorded = fake.requests
    assert [r.provider for r in recorded] == [
        "anthropic",
        None,
        "openai",
        "anthropic",
        "openai",
        "openai",
    ]


# ------------------------------------------------------------------- requests


def test_requests_are_recorded(fake: FakeProvider) -> None:
    fake.push(answer("a"))
    response = requests.post(
        fake.base_url("anthropic") + "/v1/messages?beta=true",
        json=MESSAGES_BODY,
        headers={"x-api-key": "k", "anthropic-version": "2023-06-01", "Authorization": "none"},
        timeout=5,
    )
    assert response.status_code == 200
    assert fake.wait_for_requests(1, timeout=1)
    assert not fake.wait_for_requests(2, timeout=0.01)
    request = fake.requests[0]
    assert request.method == "POST"
    assert request.path == "/anthropic/v1/messages?beta=true"
    assert request.provider == "anthropic"
    assert request.headers["x-api-key"] == "k"
    assert request.headers["X-Api-Key"] == "k"
    assert request.headers["authorization"] == "none"
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.headers["x-missing"] is None
    assert request.json == MESSAGES_BODY
    assert request.model == "claude-test"
    assert json.loads(request.body) == MESSAGES_BODY


def test_wait_for_requests_from_threads(fake: FakeProvider) -> None:
    fake.default = answer("a")
    results: list[Optional[int]] = []

    def worker() -> None:
        results.append(post(fake).status_code)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    assert fake.wait_for_requests(3, timeout=5)
    for thread in threads:
        thread.join(5)
    assert results == [200, 200, 200]


# ---------------------------------------------------------- release and close


def test_release_ends_stalls(fake: FakeProvider) -> None:
    fake.push(events(Text("a"), Stall(), Text("b"), Done()))
    result: list[requests.Response] = []
    thread = threading.Thread(target=lambda: result.append(post(fake)))
    thread.start()
    assert fake.wait_for_requests(1, timeout=2)
    time.sleep(0.05)
    assert thread.is_alive()
    fake.release()
    thread.join(5)
    assert b'"b"' in result[0].content
    fake.push(events(Text("c"), Stall(), Done()))  # later stalls return at once
    assert post(fake).content.endswith(b"data: [DONE]\n\n")


def test_close_releases_stall_and_leaves_nothing_behind() -> None:
    before = set(fake_threads())
    fake = FakeProvider()
    fake.push(events(Text("a"), Stall()))
    sock = raw_request(fake)
    try:
        read_until(sock, b'"a"')
        started = time.monotonic()
        fake.close()
        assert time.monotonic() - started < 1.0
        assert b"0\r\n\r\n" not in read_all(sock)  # EOF: the server closed its side
    finally:
        sock.close()
    assert not [t for t in fake_threads() if t not in before and t.is_alive()]
    assert not fake.requests[0].disconnected.is_set()  # the server hung up, not the client
