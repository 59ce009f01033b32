"""Rendering: every step in each wire format, as sse_bytes() gives it and as a
real client reads it (line endings, byte order mark)."""

from __future__ import annotations

import json

import pytest
import requests

from codey.testing import (
    Close,
    Comment,
    Done,
    ErrorEvent,
    FakeProvider,
    Finish,
    Pause,
    Ping,
    Raw,
    Reasoning,
    Text,
    ToolCall,
    UsageStep,
    answer,
    events,
    sse_bytes,
)
from tests.testing.wire import MESSAGES_BODY, chat_chunks, parse_sse, post

# ---------------------------------------------- chat completions and messages


@pytest.mark.parametrize("provider", ["openai", "xai"])
def test_chat_happy_path(fake: FakeProvider, provider: str) -> None:
    fake.push(answer("Hel", "lo", usage=(7, 3)))
    response = post(fake, provider)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["transfer-encoding"] == "chunked"
    chunks = chat_chunks(response.content)
    assert chunks[-1] == "[DONE]"
    role, hel, lo, finish, usage = chunks[:-1]
    for chunk in (role, hel, lo, finish, usage):
        assert chunk["id"] == "chatcmpl-fake"
        assert chunk["object"] == "chat.completion.chunk"
        assert chunk["model"] == "gpt-test"
        assert isinstance(chunk["created"], int)
    assert role["choices"] == [
        {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
    ]
    assert hel["choices"][0]["delta"] == {"content": "Hel"}
    assert lo["choices"][0]["delta"] == {"content": "lo"}
    assert finish["choices"] == [{"index": 0, "delta": {}, "finish_reason": "stop"}]
    assert usage["choices"] == []
    assert usage["usage"] == {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}
    assert fake.requests[0].provider == provider


def test_anthropic_happy_path(fake: FakeProvider) -> None:
    fake.push(answer("Hel", "lo", usage=(7, 3)))
    response = post(fake, "anthropic")
    assert response.status_code == 200
    evs = parse_sse(response.content)
    names = [name for name, _ in evs]
    assert names == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    datas = [json.loads(d) for _, d in evs]
    assert all(d["type"] == name for d, name in zip(datas, names))
    assert datas[0]["message"] == {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 7, "output_tokens": 1},
    }
    assert datas[1] == {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": ""},
    }
    assert datas[2] == {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": "Hel"},
    }
    assert datas[3]["delta"]["text"] == "lo"
    assert datas[4] == {"type": "content_block_stop", "index": 0}
    assert datas[5] == {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": 3},
    }
    assert datas[6] == {"type": "message_stop"}
    assert fake.requests[0].provider == "anthropic"


def test_anthropic_reasoning_and_tools() -> None:
    reply = answer(
        "ok",
        reasoning=["let me ", "think"],
        tool_calls=[ToolCall(0, "toolu_1", "get_weather", ['{"city"', ':"Paris"}'])],
        pings=True,
    )
    evs = [(name, json.loads(d)) for name, d in parse_sse(sse_bytes(reply, "anthropic"))]
    names = [name for name, _ in evs]
    assert names[:2] == ["message_start", "ping"]
    assert evs[1][1] == {"type": "ping"}
    blocks = [d["content_block"] for n, d in evs if n == "content_block_start"]
    assert blocks == [
        {"type": "thinking", "thinking": "", "signature": ""},
        {"type": "text", "text": ""},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}},
    ]
    deltas = [(d["index"], d["delta"]) for n, d in evs if n == "content_block_delta"]
    assert deltas == [
        (0, {"type": "thinking_delta", "thinking": "let me "}),
        (0, {"type": "thinking_delta", "thinking": "think"}),
        (0, {"type": "signature_delta", "signature": deltas[2][1]["signature"]}),
        (1, {"type": "text_delta", "text": "ok"}),
        (2, {"type": "input_json_delta", "partial_json": '{"city"'}),
        (2, {"type": "input_json_delta", "partial_json": ':"Paris"}'}),
    ]
    # The signature comes right before the thinking block's stop.
    sig = names.index("content_block_delta") + 2
    assert evs[sig + 1] == ("content_block_stop", {"type": "content_block_stop", "index": 0})
    stops = [d["index"] for n, d in evs if n == "content_block_stop"]
    assert stops == [0, 1, 2]
    message_delta = next(d for n, d in evs if n == "message_delta")
    assert message_delta["delta"]["stop_reason"] == "tool_use"
    assert names[-1] == "message_stop"


def test_anthropic_forced_tool(fake: FakeProvider) -> None:
    """A request that forces a tool gets it called, as the API does: the text is the
    tool's input, in a tool_use block named as the tool, and no text block."""
    fake.push(answer('{"a": ', "1}", usage=(7, 3)))
    body = {**MESSAGES_BODY, "tool_choice": {"type": "tool", "name": "answer"}}
    response = requests.post(fake.base_url("anthropic") + "/v1/messages", json=body, timeout=5)
    evs = [(name, json.loads(d)) for name, d in parse_sse(response.content)]
    blocks = [d["content_block"] for n, d in evs if n == "content_block_start"]
    assert blocks == [{"type": "tool_use", "id": "toolu_fake_0", "name": "answer", "input": {}}]
    deltas = [d["delta"] for n, d in evs if n == "content_block_delta"]
    assert deltas == [
        {"type": "input_json_delta", "partial_json": '{"a": '},
        {"type": "input_json_delta", "partial_json": "1}"},
    ]
    message_delta = next(d for n, d in evs if n == "message_delta")
    assert message_delta["delta"]["stop_reason"] == "tool_use"
    # Not forced (auto, or no tool_choice): text, as before.
    fake.push(answer("plain"))
    body["tool_choice"] = {"type": "auto"}
    response = requests.post(fake.base_url("anthropic") + "/v1/messages", json=body, timeout=5)
    blocks = [
        json.loads(d)["content_block"]
        for n, d in parse_sse(response.content)
        if n == "content_block_start"
    ]
    assert blocks == [{"type": "text", "text": ""}]


def test_without_stream_one_json_object(fake: FakeProvider) -> None:
    """A request without "stream": true gets the whole answer as one JSON object; an
    error event makes it a 500 with the provider's error body; a Close comes before
    the body, so none arrives."""
    fake.push(answer("Hel", "lo", usage=(7, 3)))
    body = {k: v for k, v in MESSAGES_BODY.items() if k != "stream"}
    url = fake.base_url("anthropic") + "/v1/messages"
    response = requests.post(url, json=body, timeout=5)
    assert response.headers["content-type"] == "application/json"
    message = response.json()
    assert (message["type"], message["content"]) == ("message", [{"type": "text", "text": "Hello"}])
    assert (message["stop_reason"], message["usage"]["output_tokens"]) == ("end_turn", 3)
    fake.push(events(Text("a"), ErrorEvent("overloaded_error", "Overloaded"), Done()))
    failed = requests.post(url, json=body, timeout=5)
    assert failed.status_code == 500
    assert failed.json() == {
        "type": "error",
        "error": {"type": "api_error", "message": "Overloaded"},
    }
    fake.push(events(Text("a"), Close()))
    with pytest.raises(requests.RequestException):
        requests.post(url, json=body, timeout=5)


def test_chat_reasoning_and_tools() -> None:
    reply = answer(
        "ok",
        reasoning=["hmm"],
        tool_calls=[ToolCall(1, "call_1", "get_weather", ['{"city"', ':"Paris"}'])],
        usage=None,
        pings=True,
    )
    data = sse_bytes(reply, "xai", model="grok-test")
    assert data.startswith(b": ping\n\n")
    chunks = chat_chunks(data)
    deltas = [c["choices"][0]["delta"] for c in chunks[:-1]]
    assert deltas == [
        {"role": "assistant", "content": ""},
        {"reasoning_content": "hmm"},
        {"content": "ok"},
        {
            "tool_calls": [
                {
                    "index": 1,
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city"'},
                }
            ]
        },
        {"tool_calls": [{"index": 1, "function": {"arguments": ':"Paris"}'}}]},
        {},
    ]
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-2]["model"] == "grok-test"
    assert chunks[-1] == "[DONE]"


def test_reasoning_only_stream() -> None:
    chat = chat_chunks(sse_bytes(events(Reasoning("r"), Done()), "openai"))
    assert chat[1]["choices"][0]["delta"] == {"reasoning_content": "r"}
    evs = parse_sse(sse_bytes(events(Reasoning("r"), Done()), "anthropic"))
    assert [name for name, _ in evs] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_stop",
    ]


def test_ping_in_chat_is_a_comment() -> None:
    assert sse_bytes(events(Ping()), "openai") == b": ping\n\n"
    assert parse_sse(sse_bytes(events(Ping()), "anthropic"))[-1] == ("ping", '{"type": "ping"}')


# ------------------------------------------------------------- explicit steps


def test_finish_reason_and_explicit_steps() -> None:
    reply = events(
        Comment(),
        Text("a"),
        Finish("length"),
        UsageStep(1, 2),
        ErrorEvent("overloaded_error", "Overloaded"),
        Raw(b"data: raw\n\n"),
    )
    chat = sse_bytes(reply, "openai")
    assert chat.startswith(b": keep-alive\n\n")
    chunks = chat_chunks(chat.replace(b"data: raw\n\n", b""))
    assert chunks[2]["choices"][0]["finish_reason"] == "length"
    assert chunks[4] == {
        "error": {"message": "Overloaded", "type": "overloaded_error", "param": None, "code": None}
    }
    assert chat.endswith(b"data: raw\n\n")
    anthropic = sse_bytes(reply, "anthropic")
    evs = parse_sse(anthropic)
    assert evs[-2] == (
        "error",
        '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}',
    )
    message_delta = json.loads(next(d for n, d in evs if n == "message_delta"))
    assert message_delta["delta"]["stop_reason"] == "length"
    assert message_delta["usage"] == {"output_tokens": 2}
    assert json.loads(evs[0][1])["message"]["usage"]["input_tokens"] == 1
    assert evs[-1] == ("message", "raw")
    assert b"message_stop" not in anthropic  # no Done, no end marker
    with pytest.raises(ValueError):
        sse_bytes(reply, "mistral")


def test_sse_bytes_stops_at_close() -> None:
    reply = events(Text("a"), Pause(0.01), Close(), Text("b"))
    assert b'"a"' in sse_bytes(reply, "openai")
    assert b'"b"' not in sse_bytes(reply, "openai")


def test_line_endings_and_bom(fake: FakeProvider) -> None:
    crlf = sse_bytes(answer("a", line_ending="\r\n"), "anthropic")
    assert b"\r\n\r\n" in crlf
    assert b"\n" not in crlf.replace(b"\r\n", b"")
    cr = sse_bytes(answer("a", line_ending="\r"), "openai")
    assert b"\n" not in cr
    assert cr.endswith(b"data: [DONE]\r\r")
    assert chat_chunks(cr)[-1] == "[DONE]"
    fake.push(answer("a", bom=True))
    content = post(fake).content
    assert content.startswith(b"\xef\xbb\xbfdata: ")
    assert chat_chunks(content)[1]["choices"][0]["delta"] == {"content": "a"}
