"""The Responses wire format as the fake renders it: the real event sequence, each
event named and numbered, over a real request to ``.../responses``."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from codey.testing import (
    Comment,
    Done,
    ErrorEvent,
    FakeProvider,
    Finish,
    Ping,
    Reasoning,
    Reply,
    Text,
    ToolCall,
    UsageStep,
    answer,
    error,
    events,
    sse_bytes,
)
from tests.testing.wire import parse_sse

BODY = {"model": "o3-test", "stream": True, "input": [{"role": "user", "content": "hi"}]}


def rendered(reply: Reply) -> list[tuple[str, dict[str, Any]]]:
    """(event name, data) of each event, checking that the two name the same type and
    that the sequence numbers count from 0."""
    evs = [
        (name, json.loads(data))
        for name, data in parse_sse(sse_bytes(reply, "openai", wire_format="responses"))
    ]
    assert [data["type"] for _, data in evs] == [name for name, _ in evs]
    assert [data["sequence_number"] for _, data in evs] == list(range(len(evs)))
    return evs


def names(evs: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [name for name, _ in evs]


@pytest.mark.parametrize("provider", ["openai", "xai"])
def test_happy_path(fake: FakeProvider, provider: str) -> None:
    fake.push(answer("Hel", "lo", usage=(7, 3)))
    response = requests.post(fake.base_url(provider) + "/responses", json=BODY, timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    evs = [(name, json.loads(data)) for name, data in parse_sse(response.content)]
    assert names(evs) == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    created = evs[0][1]["response"]
    assert (created["object"], created["status"], created["model"]) == (
        "response",
        "in_progress",
        "o3-test",
    )
    assert created["output"] == []
    assert created["usage"] is None
    item = evs[2][1]
    assert item["output_index"] == 0
    assert item["item"] == {
        "id": "msg_fake_0",
        "type": "message",
        "status": "in_progress",
        "content": [],
        "role": "assistant",
    }
    place = {"item_id": "msg_fake_0", "output_index": 0, "content_index": 0}
    assert evs[3][1] == {
        "type": "response.content_part.added",
        **place,
        "part": {"type": "output_text", "annotations": [], "logprobs": [], "text": ""},
        "sequence_number": 3,
    }
    assert evs[4][1] == {
        "type": "response.output_text.delta",
        **place,
        "delta": "Hel",
        "logprobs": [],
        "sequence_number": 4,
    }
    assert evs[6][1]["text"] == "Hello"
    assert evs[7][1]["part"]["text"] == "Hello"
    done = evs[8][1]["item"]
    assert done["status"] == "completed"
    assert done["content"] == [
        {"type": "output_text", "annotations": [], "logprobs": [], "text": "Hello"}
    ]
    completed = evs[9][1]["response"]
    assert completed["status"] == "completed"
    assert completed["output"] == [done]
    assert completed["usage"] == {
        "input_tokens": 7,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": 3,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 10,
    }
    assert fake.requests[0].provider == provider


def test_reasoning_summary_and_function_calls() -> None:
    reply = answer(
        "ok",
        reasoning=["let me ", "think"],
        tool_calls=[ToolCall(0, "call_1", "get_weather", ['{"city"', ':"Paris"}'])],
    )
    evs = rendered(reply)
    assert names(evs)[2:7] == [
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
    ]
    assert evs[2][1]["item"] == {"id": "rs_fake_0", "type": "reasoning", "summary": []}
    assert evs[4][1] == {
        "type": "response.reasoning_summary_text.delta",
        "item_id": "rs_fake_0",
        "output_index": 0,
        "summary_index": 0,
        "delta": "let me ",
        "sequence_number": 4,
    }
    calls = [data for name, data in evs if name.startswith("response.function_call")]
    assert [(c["type"], c["output_index"], c.get("delta")) for c in calls] == [
        ("response.function_call_arguments.delta", 2, '{"city"'),
        ("response.function_call_arguments.delta", 2, ':"Paris"}'),
        ("response.function_call_arguments.done", 2, None),
    ]
    assert calls[-1]["arguments"] == '{"city":"Paris"}'
    added = [data["item"] for name, data in evs if name == "response.output_item.added"]
    assert [item["type"] for item in added] == ["reasoning", "message", "function_call"]
    assert added[2] == {
        "id": "fc_fake_2",
        "type": "function_call",
        "status": "in_progress",
        "arguments": "",
        "call_id": "call_1",
        "name": "get_weather",
    }
    output = evs[-1][1]["response"]["output"]
    assert output[0]["summary"] == [{"type": "summary_text", "text": "let me think"}]
    assert output[2]["arguments"] == '{"city":"Paris"}'
    assert output[2]["status"] == "completed"


@pytest.mark.parametrize("reason", ["max_output_tokens", "content_filter"])
def test_incomplete(reason: str) -> None:
    evs = rendered(answer("cut", finish_reason=reason, usage=None))
    name, data = evs[-1]
    assert name == "response.incomplete"
    assert data["response"]["status"] == "incomplete"
    assert data["response"]["incomplete_details"] == {"reason": reason}
    assert data["response"]["usage"] is None


def test_explicit_steps() -> None:
    """Usage in the terminal event, no terminal event without Done, errors and keep-alives."""
    reply = events(Comment(), Ping(), Text("a"), Finish(), UsageStep(1, 2))
    body = sse_bytes(reply, "openai", wire_format="responses")
    assert body.startswith(b": keep-alive\n\n: ping\n\n")
    assert b"response.completed" not in body  # no Done, no end
    assert names(rendered(reply))[-1] == "response.output_item.done"
    evs = rendered(events(Text("a"), ErrorEvent("rate_limit_exceeded", "Slow down")))
    assert evs[-1][1] == {
        "type": "error",
        "code": "rate_limit_exceeded",
        "message": "Slow down",
        "param": None,
        "sequence_number": len(evs) - 1,
    }
    evs = rendered(events(ErrorEvent("server_error", "boom", code="E1")))
    assert names(evs) == ["error"]
    assert evs[0][1]["code"] == "E1"
    evs = rendered(events(Text("a"), ErrorEvent("server_error", "boom", failed=True)))
    assert names(evs)[-1] == "response.failed"
    failed = evs[-1][1]["response"]
    assert failed["status"] == "failed"
    assert failed["error"] == {"code": "server_error", "message": "boom"}


def test_reasoning_then_done() -> None:
    assert names(rendered(events(Reasoning("r"), Done())))[-4:] == [
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
        "response.completed",
    ]


def test_unknown_wire_format() -> None:
    with pytest.raises(ValueError, match="wire_format"):
        sse_bytes(answer("a"), "openai", wire_format="grpc")


def test_routes_and_error_bodies(fake: FakeProvider) -> None:
    """``.../responses`` is the Responses route; error bodies are the provider's own."""
    fake.push(error(429, "slow down"))
    response = requests.post(fake.base_url("openai") + "/responses", json=BODY, timeout=5)
    assert response.status_code == 429
    assert response.json() == {
        "error": {
            "message": "slow down",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }
    wrong = requests.get(fake.base_url("openai") + "/responses", timeout=5)
    assert wrong.status_code == 405
    fake.push(answer("a"))
    plain = requests.post(fake.url + "/v1/responses", json=BODY, timeout=5)
    assert b"event: response.completed" in plain.content
    assert [r.provider for r in fake.requests] == ["openai", "openai", "openai"]
