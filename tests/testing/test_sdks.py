"""The official ``openai`` and ``anthropic`` SDKs pointed at the fake provider: each
renderer's events and whole replies validate against the SDKs' own types, and the
SDKs' clients read them (streamed and not) into their typed objects."""

from __future__ import annotations

import json
import typing
from typing import Any

import pytest
import requests

from codey.testing import FakeProvider, Reply, ToolCall, answer
from codey.testing._messages import signature
from tests.testing.wire import parse_sse

anthropic = pytest.importorskip("anthropic")
openai = pytest.importorskip("openai")
pydantic = pytest.importorskip("pydantic")

TOOL = {
    "name": "get_weather",
    "description": "The weather in a city.",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}
FUNCTION = {
    "type": "function",
    "function": {
        "name": TOOL["name"],
        "description": TOOL["description"],
        "parameters": TOOL["input_schema"],
    },
}
USER = [{"role": "user", "content": "Weather in Paris?"}]


def full_reply(tool_id: str) -> Reply:
    """Reasoning, text and a tool call in two pieces, with usage."""
    call = ToolCall(0, tool_id, "get_weather", ['{"city"', ': "Paris"}'])
    return answer("Let me ", "look.", reasoning=["Paris, ", "so France."], tool_calls=[call])


def strict(model: Any, data: Any) -> Any:
    """``data`` validated as the SDK type ``model`` strictly (the SDKs' clients
    construct objects without checking them); of a union of event types, as the
    member its ``type`` names."""
    members = typing.get_args(model)
    if members and typing.get_origin(members[0]) is typing.Union:  # Annotated[Union[...], ...]
        members = typing.get_args(members[0])
    for member in members:
        if typing.get_args(member.model_fields["type"].annotation) == (data["type"],):
            model = member
            break
    return pydantic.TypeAdapter(model).validate_python(data)


def raw_events(fake: FakeProvider, path: str, body: dict[str, Any]) -> list[Any]:
    """The JSON data of each event the fake streams for ``body``."""
    response = requests.post(fake.url + path, json={**body, "stream": True}, timeout=5)
    assert response.headers["content-type"].startswith("text/event-stream")
    return [json.loads(data) for _, data in parse_sse(response.content) if data != "[DONE]"]


def raw_whole(fake: FakeProvider, path: str, body: dict[str, Any]) -> Any:
    """The one JSON object the fake answers ``body`` (no ``stream``) with."""
    response = requests.post(fake.url + path, json=body, timeout=5)
    assert response.headers["content-type"] == "application/json"
    return response.json()


# ------------------------------------------------------------------ anthropic


@pytest.fixture
def claude(fake: FakeProvider) -> Any:
    client = anthropic.Anthropic(base_url=fake.base_url("anthropic"), api_key="sk-fake")
    yield client
    client.close()


MESSAGES = {"model": "claude-sonnet-4-0", "max_tokens": 4096, "messages": USER, "tools": [TOOL]}


def test_anthropic_events_validate(fake: FakeProvider) -> None:
    fake.push(full_reply("toolu_1"))
    events = raw_events(fake, "/anthropic/v1/messages", MESSAGES)
    typed = [strict(anthropic.types.RawMessageStreamEvent, event) for event in events]
    blocks = [e.content_block for e in typed if e.type == "content_block_start"]
    assert [type(block).__name__ for block in blocks] == [
        "ThinkingBlock",
        "TextBlock",
        "ToolUseBlock",
    ]
    assert blocks[0].signature == ""  # the real API starts a thinking block so


def test_anthropic_stream_with_the_sdk(fake: FakeProvider, claude: Any) -> None:
    fake.push(full_reply("toolu_1"), full_reply("toolu_2"))
    with claude.messages.create(**MESSAGES, stream=True) as stream:
        types = [type(event).__name__ for event in stream]
    assert (types[0], types[-1]) == ("RawMessageStartEvent", "RawMessageStopEvent")
    with claude.messages.stream(**MESSAGES) as stream:
        message = stream.get_final_message()
    thinking, text, tool = message.content
    assert (thinking.thinking, thinking.signature) == (
        "Paris, so France.",
        signature("Paris, so France."),
    )
    assert text.text == "Let me look."
    assert (tool.id, tool.name, tool.input) == ("toolu_2", "get_weather", {"city": "Paris"})
    assert message.stop_reason == "tool_use"


def test_anthropic_whole_message(fake: FakeProvider, claude: Any) -> None:
    """No "stream": true: one Message object, as the API answers."""
    fake.push(full_reply("toolu_1"), full_reply("toolu_2"))
    strict(anthropic.types.Message, raw_whole(fake, "/anthropic/v1/messages", MESSAGES))
    message = claude.messages.create(**MESSAGES)
    assert isinstance(message, anthropic.types.Message)
    assert [block.type for block in message.content] == ["thinking", "text", "tool_use"]
    assert message.content[2].input == {"city": "Paris"}
    assert (message.stop_reason, message.usage.output_tokens) == ("tool_use", 5)


# --------------------------------------------------------- chat completions


@pytest.fixture
def gpt(fake: FakeProvider) -> Any:
    client = openai.OpenAI(base_url=fake.base_url("openai"), api_key="sk-fake")
    yield client
    client.close()


CHAT = {"model": "gpt-4.1", "messages": USER, "tools": [FUNCTION]}


def test_chat_chunks_validate(fake: FakeProvider) -> None:
    fake.push(full_reply("call_1"))
    chunks = raw_events(fake, "/openai/v1/chat/completions", CHAT)
    typed = [strict(openai.types.chat.ChatCompletionChunk, chunk) for chunk in chunks]
    calls = [
        call for chunk in typed if chunk.choices for call in chunk.choices[0].delta.tool_calls or ()
    ]
    assert "".join(call.function.arguments for call in calls) == '{"city": "Paris"}'


def test_chat_with_the_sdk(fake: FakeProvider, gpt: Any) -> None:
    fake.push(full_reply("call_1"), full_reply("call_2"))
    stream = gpt.chat.completions.create(**CHAT, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "Let me look."
    completion = gpt.chat.completions.create(**CHAT)
    assert isinstance(completion, openai.types.chat.ChatCompletion)
    message = completion.choices[0].message
    assert message.content == "Let me look."
    [call] = message.tool_calls
    assert (call.id, call.function.name, call.function.arguments) == (
        "call_2",
        "get_weather",
        '{"city": "Paris"}',
    )
    assert completion.choices[0].finish_reason == "tool_calls"


def test_chat_whole_completion_validates(fake: FakeProvider) -> None:
    fake.push(full_reply("call_1"))
    strict(openai.types.chat.ChatCompletion, raw_whole(fake, "/openai/v1/chat/completions", CHAT))


# --------------------------------------------------------------- responses


RESPONSES = {
    "model": "o3-pro",
    "input": "Weather in Paris?",
    "tools": [{**FUNCTION["function"], "type": "function"}],
}


def test_responses_events_validate(fake: FakeProvider) -> None:
    fake.push(full_reply("call_1"))
    events = raw_events(fake, "/openai/v1/responses", RESPONSES)
    typed = [strict(openai.types.responses.ResponseStreamEvent, event) for event in events]
    assert typed[-1].type == "response.completed"
    kinds = [item.type for item in typed[-1].response.output]
    assert kinds == ["reasoning", "message", "function_call"]


def test_responses_with_the_sdk(fake: FakeProvider, gpt: Any) -> None:
    fake.push(full_reply("call_1"), full_reply("call_2"))
    stream = gpt.responses.create(**RESPONSES, stream=True)
    deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
    assert "".join(deltas) == "Let me look."
    response = gpt.responses.create(**RESPONSES)
    assert isinstance(response, openai.types.responses.Response)
    assert response.output_text == "Let me look."
    call = response.output[-1]
    assert (call.call_id, call.name, call.arguments) == (
        "call_2",
        "get_weather",
        '{"city": "Paris"}',
    )


def test_responses_whole_response_validates(fake: FakeProvider) -> None:
    fake.push(full_reply("call_1"))
    strict(openai.types.responses.Response, raw_whole(fake, "/openai/v1/responses", RESPONSES))
