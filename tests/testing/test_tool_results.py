"""The fake refuses tool results the real APIs refuse: a part of a kind a tool result
cannot hold, and (Chat Completions) tool calls not answered right after them."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from codey.testing import FakeProvider, answer
from tests.conftest import FAKE_KEY

TIMEOUT = 10.0
IMAGE_URL = "data:image/png;base64,iVBORw0KGgo="
CALL = {"id": "c1", "type": "function", "function": {"name": "picture", "arguments": "{}"}}


def post(fake: FakeProvider, provider: str, path: str, body: dict[str, Any]) -> requests.Response:
    fake.push(answer("ok"))
    headers = {"Authorization": f"Bearer {FAKE_KEY}", "x-api-key": FAKE_KEY}
    return requests.post(
        fake.base_url(provider) + path, json=body, headers=headers, timeout=TIMEOUT
    )


def chat(*messages: dict[str, Any]) -> dict[str, Any]:
    return {"model": "gpt-4.1", "messages": [{"role": "user", "content": "Draw"}, *messages]}


ASKED = {"role": "assistant", "content": None, "tool_calls": [CALL]}
IMAGE_PART = {"type": "image_url", "image_url": {"url": IMAGE_URL}}


@pytest.mark.parametrize(
    ("body", "refused"),
    [
        (chat(ASKED, {"role": "tool", "tool_call_id": "c1", "content": "a dot"}), None),
        (
            chat(
                ASKED,
                {"role": "tool", "tool_call_id": "c1", "content": "a dot"},
                {"role": "user", "content": [IMAGE_PART]},
            ),
            None,
        ),
        (
            chat(
                ASKED,
                {"role": "tool", "tool_call_id": "c1", "content": [IMAGE_PART]},
            ),
            "Invalid value for 'messages[2].content[0].type': 'image_url'. "
            "Supported values are: 'text'.",
        ),
        (
            chat(
                ASKED,
                {"role": "user", "content": [IMAGE_PART]},
                {"role": "tool", "tool_call_id": "c1", "content": "a dot"},
            ),
            "An assistant message with 'tool_calls' must be followed by tool messages "
            "responding to each 'tool_call_id'. The following tool_call_ids did not have "
            "response messages: c1",
        ),
        (chat(ASKED), "The following tool_call_ids did not have response messages: c1"),
    ],
)
def test_chat_completions(fake: FakeProvider, body: dict[str, Any], refused: Any) -> None:
    response = post(fake, "openai", "/chat/completions", body)
    if refused is None:
        assert response.status_code == 200
    else:
        assert response.status_code == 400
        assert refused in response.json()["error"]["message"]


def responses(output: Any) -> dict[str, Any]:
    return {
        "model": "gpt-4.1",
        "input": [
            {"type": "message", "role": "user", "content": "Draw"},
            {"type": "function_call", "call_id": "c1", "name": "picture", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": output},
        ],
    }


@pytest.mark.parametrize(
    ("output", "status"),
    [
        ("a dot", 200),
        (
            [
                {"type": "input_text", "text": "a dot"},
                {"type": "input_image", "image_url": IMAGE_URL},
            ],
            200,
        ),
        ([{"type": "output_text", "text": "a dot"}], 400),
    ],
)
def test_responses(fake: FakeProvider, output: Any, status: int) -> None:
    response = post(fake, "openai", "/responses", responses(output))
    assert response.status_code == status


def messages(content: Any) -> dict[str, Any]:
    return {
        "model": "claude-sonnet-4-0",
        "max_tokens": 100,
        "messages": [
            {"role": "user", "content": "Draw"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "c1", "name": "picture", "input": {}}],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "c1", "content": content}],
            },
        ],
    }


IMAGE_BLOCK = {
    "type": "image",
    "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
}


@pytest.mark.parametrize(
    ("content", "status"),
    [
        ("a dot", 200),
        ([{"type": "text", "text": "a dot"}, IMAGE_BLOCK], 200),
        ([{"type": "tool_use", "id": "c2", "name": "x", "input": {}}], 400),
    ],
)
def test_messages(fake: FakeProvider, content: Any, status: int) -> None:
    response = post(fake, "anthropic", "/v1/messages", messages(content))
    assert response.status_code == status
