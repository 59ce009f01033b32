"""A 200 that is not an event stream: say what arrived; a whole JSON reply is the answer."""

from __future__ import annotations

import json

import pytest

import codey
from codey.testing import Reply
from tests.helpers import MODELS, kwargs_for


def whole_reply(provider: str) -> bytes:
    """What each API sends when it ignores ``stream: true``."""
    if provider == "openai-responses":
        text = {"type": "output_text", "text": "Paris, as a whole.", "annotations": []}
        body = {
            "id": "resp_1",
            "object": "response",
            "status": "completed",
            "model": "o3-pro",
            "output": [
                {"id": "rs_1", "type": "reasoning", "summary": []},
                {
                    "id": "msg_1",
                    "type": "message",
                    "status": "completed",
                    "role": "assistant",
                    "content": [text],
                },
            ],
            "usage": {"input_tokens": 7, "output_tokens": 5, "total_tokens": 12},
        }
    elif provider == "anthropic":
        body = {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-0",
            "content": [{"type": "text", "text": "Paris, as a whole."}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 7, "output_tokens": 5},
        }
    else:
        body = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "gpt-4.1",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Paris, as a whole."},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12},
        }
    return json.dumps(body).encode()


def reply(content_type: str, body: object) -> Reply:
    return Reply(content_type=content_type, framing="length", body=body)  # type: ignore[arg-type]


@pytest.mark.parametrize("provider", sorted(MODELS))
def test_a_whole_json_reply_is_the_answer(fake, provider):
    fake.push(reply("application/json", whole_reply(provider)))
    with codey.stream("hi", **kwargs_for(fake, provider)) as stream:
        assert list(stream) == ["Paris, as a whole."]
    assert stream.finish_reason == ("end_turn" if provider == "anthropic" else "stop")
    assert stream.usage == codey.Usage(7, 5)
    assert len(fake.requests) == 1


@pytest.mark.parametrize("provider", sorted(MODELS))
def test_a_captive_portal_is_named(fake, provider):
    page = b"<html><head><title>Hotel WiFi - Log in</title></head><body>...</body></html>"
    fake.push(reply("text/html; charset=utf-8", page))
    with pytest.raises(codey.StreamError) as info:
        codey.complete("hi", **kwargs_for(fake, provider))
    message = str(info.value)
    assert "text/html" in message
    assert "Hotel WiFi - Log in" in message
    assert "closed the connection" not in message
    assert not isinstance(info.value, codey.IncompleteStreamError)
    assert len(fake.requests) == 1  # retrying will not make it a stream


@pytest.mark.parametrize("provider", sorted(MODELS))
def test_garbage_is_quoted(fake, provider):
    fake.push(reply("text/plain", b"hello from a misconfigured proxy"))
    with pytest.raises(codey.StreamError) as info:
        codey.complete("hi", **kwargs_for(fake, provider))
    assert "text/plain" in str(info.value)
    assert "hello from a misconfigured proxy" in str(info.value)


def test_json_that_is_not_a_reply(fake):
    fake.push(reply("application/json", b'{"status": "ok"}'))
    with pytest.raises(codey.StreamError) as info:
        codey.complete("hi", **kwargs_for(fake, "openai"))
    assert "application/json" in str(info.value)
    assert "status" in str(info.value)


def test_json_error_object_with_200(fake):
    body = b'{"error": {"message": "model is loading", "type": "server_error"}}'
    fake.push(reply("application/json", body), reply("application/json", whole_reply))
    # A busy server's error object is retried like its streamed twin.
    assert codey.complete("hi", **kwargs_for(fake, "openai")) == "Paris, as a whole."
    assert len(fake.requests) == 2


def test_cli_prints_the_whole_reply(fake):
    from tests.helpers import environment, run_cli

    fake.push(reply("application/json", whole_reply))
    result = run_cli("prompt", "hi", "-m", "claude-sonnet-4-0", env=environment(fake))
    assert (result.returncode, result.stdout) == (0, b"Paris, as a whole.\n")
