"""Claude today (issue 24, item 4) over the fake's Messages API: structured outputs
as ``output_config.format``, thinking blocks sent back in a tool loop, and the stop
reasons ``refusal``, ``pause_turn`` and ``model_context_window_exceeded``."""

from __future__ import annotations

import json
from typing import Any

import pytest

import codey
from codey.testing import (
    Done,
    FakeProvider,
    Finish,
    Raw,
    Reasoning,
    RedactedThinking,
    Text,
    ToolCall,
    UsageStep,
    answer,
    events,
)
from codey.testing._messages import signature
from tests.helpers import kwargs_for

PERSON_SCHEMA = "name str, age int"


def weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def claude(fake: FakeProvider, model: str, **extra: Any) -> dict[str, Any]:
    return kwargs_for(fake, "anthropic", model=model, **extra)


def tool_round(*steps: Any, call_id: str = "toolu_1") -> Any:
    """A round of thinking (``steps``) and one weather call, as a thinking model sends it."""
    call = ToolCall(0, call_id, "weather", '{"city": "Oslo"}')
    return events(*steps, call, Finish(), UsageStep(), Done())


class TestStructuredOutput:
    def test_a_current_model_gets_output_config_format_not_a_forced_tool(
        self, fake: FakeProvider
    ) -> None:
        """Before, codey forced a tool, which the API refuses for Claude Sonnet 5."""
        fake.push(answer('{"name": "Ada", ', '"age": 36}'))
        value = codey.complete_json("Who?", schema=PERSON_SCHEMA, **claude(fake, "claude-sonnet-5"))
        assert value == {"name": "Ada", "age": 36}
        body = fake.requests[-1].json
        assert "tool_choice" not in body
        assert "tools" not in body
        output_format = body["output_config"]["format"]
        assert output_format["type"] == "json_schema"
        assert output_format["schema"]["required"] == ["name", "age"]

    @pytest.mark.parametrize(
        ("model", "extra", "thinking"),
        [
            ("claude-sonnet-5", {"effort": "high"}, {"type": "adaptive"}),
            (
                "claude-haiku-4-5",
                {"thinking_budget": 2048},
                {"type": "enabled", "budget_tokens": 2048},
            ),
        ],
    )
    def test_a_schema_with_thinking(
        self, fake: FakeProvider, model: str, extra: dict[str, Any], thinking: dict[str, Any]
    ) -> None:
        """Before, schema= with thinking was an UnsupportedOptionError."""
        fake.push(answer('{"name": "Ada", "age": 36}', reasoning=["Ada, surely."]))
        with codey.stream("Who?", schema=PERSON_SCHEMA, **claude(fake, model, **extra)) as stream:
            assert stream.json() == {"name": "Ada", "age": 36}
        assert stream.reasoning == "Ada, surely."
        body = fake.requests[-1].json
        assert body["thinking"] == thinking
        assert body["output_config"]["format"]["type"] == "json_schema"

    def test_the_fake_refuses_a_forced_tool_to_a_current_claude_model(
        self, fake: FakeProvider
    ) -> None:
        """What a current Claude model answers to the old shape (its thinking is on)."""
        body = {
            "model": "claude-sonnet-5",
            "max_tokens": 100,
            "stream": True,
            "messages": [{"role": "user", "content": "Who?"}],
            "tools": [{"name": "answer", "input_schema": {"type": "object"}}],
            "tool_choice": {"type": "tool", "name": "answer"},
        }
        import requests

        response = requests.post(
            fake.base_url("anthropic") + "/v1/messages",
            json=body,
            headers={"x-api-key": "x", "anthropic-version": "2023-06-01"},
            timeout=5,
        )
        assert response.status_code == 400
        message = response.json()["error"]["message"]
        assert message == "Thinking may not be enabled when tool_choice forces tool use."
        response = requests.post(
            fake.base_url("anthropic") + "/v1/messages",
            json={**body, "thinking": {"type": "disabled"}},
            headers={"x-api-key": "x", "anthropic-version": "2023-06-01"},
            timeout=5,
        )
        assert response.status_code == 500  # taken (no reply scripted): not refused

    def test_a_model_without_structured_outputs_keeps_the_forced_tool(
        self, fake: FakeProvider
    ) -> None:
        fake.push(answer('{"name": "Ada", "age": 36}'))
        options = claude(fake, "claude-sonnet-4-0")
        assert codey.complete_json("Who?", schema=PERSON_SCHEMA, **options) == {
            "name": "Ada",
            "age": 36,
        }
        assert fake.requests[-1].json["tool_choice"] == {"type": "tool", "name": "answer"}


class TestThinkingInAToolLoop:
    @pytest.mark.parametrize(
        ("model", "extra"),
        [
            ("claude-sonnet-5", {}),  # thinking on by default: blocks arrive unasked
            ("claude-sonnet-5", {"effort": "high"}),
            ("claude-haiku-4-5", {"thinking_budget": 2048}),
        ],
    )
    def test_the_signed_thinking_goes_back_first_and_unchanged(
        self, fake: FakeProvider, model: str, extra: dict[str, Any]
    ) -> None:
        """Before, a tool loop with thinking was refused, and thinking blocks that
        arrived unasked were dropped (the API's 400)."""
        fake.push(
            tool_round(Reasoning("Oslo's weather, "), Reasoning("then answer."), Text("Looking.")),
            answer("Sunny in Oslo."),
        )
        options = claude(fake, model, **extra)
        with codey.stream("Weather?", tools=[weather], run_tools=True, **options) as stream:
            assert "".join(stream) == "Looking.Sunny in Oslo."
        assert stream.finish_reason == "end_turn"
        assert stream.reasoning == "Oslo's weather, then answer."
        sent = fake.requests[1].json["messages"][1]
        assert sent["role"] == "assistant"
        thinking = "Oslo's weather, then answer."
        assert sent["content"] == [
            {"type": "thinking", "thinking": thinking, "signature": signature(thinking)},
            {"type": "text", "text": "Looking."},
            {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Oslo"}},
        ]
        # Opaque: the signature shows in no repr.
        assert signature(thinking) not in repr(stream.messages)

    def test_redacted_thinking_goes_back_as_it_came(self, fake: FakeProvider) -> None:
        fake.push(
            tool_round(Reasoning("First."), RedactedThinking("c2VjcmV0"), Reasoning("Second.")),
            answer("Done."),
        )
        options = claude(fake, "claude-opus-4-8", effort="low")
        assert codey.complete("?", tools=[weather], run_tools=True, **options) == "Done."
        content = fake.requests[1].json["messages"][1]["content"]
        assert content[:3] == [
            {"type": "thinking", "thinking": "First.", "signature": signature("First.")},
            {"type": "redacted_thinking", "data": "c2VjcmV0"},
            {"type": "thinking", "thinking": "Second.", "signature": signature("Second.")},
        ]

    def test_the_fake_refuses_thinking_dropped_or_altered(self, fake: FakeProvider) -> None:
        """The fake holds codey to the API's rule (its real 400s)."""
        fake.push(tool_round(Reasoning("Plan.")), answer("Sunny."))
        options = claude(fake, "claude-sonnet-5")
        codey.complete("?", tools=[weather], run_tools=True, **options)
        good = fake.requests[1].json
        assistant = good["messages"][1]
        dropped = {**assistant, "content": assistant["content"][1:]}
        altered_block = {**assistant["content"][0], "thinking": "Another plan."}
        altered = {**assistant, "content": [altered_block, *assistant["content"][1:]]}
        import requests

        for message, words in [
            (dropped, "Expected `thinking` or `redacted_thinking`, but found `tool_use`"),
            (altered, "Invalid `signature` in `thinking` block"),
        ]:
            body = {**good, "messages": [good["messages"][0], message, *good["messages"][2:]]}
            response = requests.post(
                fake.base_url("anthropic") + "/v1/messages",
                json=body,
                headers={"x-api-key": "x", "anthropic-version": "2023-06-01"},
                timeout=5,
            )
            assert response.status_code == 400
            assert words in response.json()["error"]["message"]


class TestStopReasons:
    def test_a_refusal_is_no_answer_to_a_schema(self, fake: FakeProvider) -> None:
        fake.push(answer('{"name": "Ada", "age": 36}', finish_reason="refusal"))
        options = claude(fake, "claude-sonnet-5")
        stream = codey.stream("Who?", schema=PERSON_SCHEMA, **options)
        with pytest.raises(codey.StructuredOutputError, match="refused to answer"):
            stream.json()
        assert stream.finish_reason == "refusal"

    def test_a_paused_turn_is_continued(self, fake: FakeProvider) -> None:
        """pause_turn: the partial answer (a server tool's blocks) goes back and the
        model goes on; before, the loop ended on the paused turn."""
        search = {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}
        script = [
            {"type": "content_block_start", "index": 0, "content_block": search},
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": '{"query": "oslo"}'},
            },
            {"type": "content_block_stop", "index": 0},
        ]
        raw = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in script)
        fake.push(
            events(Text("Searching. "), Raw(raw), Finish("pause_turn"), UsageStep(), Done()),
            answer("Sunny in Oslo."),
        )
        options = claude(fake, "claude-sonnet-5")
        with codey.stream("Weather?", tools=[weather], run_tools=True, **options) as stream:
            assert "".join(stream) == "Searching. Sunny in Oslo."
        assert stream.finish_reason == "end_turn"
        assert stream.rounds == 0  # no tool of the caller's ran
        sent = fake.requests[1].json["messages"]
        # In the order it came: the text, then the server tool's block (no text last).
        assert sent[-1] == {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Searching. "},
                {**search, "input": {"query": "oslo"}},
            ],
        }

    def test_pauses_are_bounded(self, fake: FakeProvider) -> None:
        from codey._toolloop import MAX_PAUSES

        for _ in range(MAX_PAUSES + 1):
            fake.push(answer("more ", finish_reason="pause_turn"))
        options = claude(fake, "claude-sonnet-5")
        with codey.stream("?", tools=[weather], run_tools=True, **options) as stream:
            assert "".join(stream) == "more " * (MAX_PAUSES + 1)
        assert stream.finish_reason == "pause_turn"
        assert len(fake.requests) == MAX_PAUSES + 1
