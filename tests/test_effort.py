"""One effort, mapped per model; sampling settings only where the model takes them;
and a fake provider that refuses what the real APIs refuse (issue 23, items 5, 6, 8).

Each request goes to a FakeProvider whose per-model table refuses, in the real
words, what the real API refuses: a test passes only when codey shapes the
request as the provider wants it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

import codey
from codey.testing import FakeProvider, answer
from tests.conftest import FAKE_KEY

ALL = ("none", "minimal", "low", "medium", "high", "xhigh", "max")


def options(fake: FakeProvider, model: str, **extra: Any) -> dict[str, Any]:
    """stream() keywords for ``model`` at the fake, its provider found from the name."""
    provider = codey.model_info(model).provider
    route = "anthropic" if provider == "anthropic" else "xai" if provider == "xai" else "openai"
    return {
        "model": model,
        "api_key": FAKE_KEY,
        "base_url": fake.base_url(route),
        "chunk_timeout": 2.0,
        "connect_timeout": 2.0,
        **extra,
    }


def sent(fake: FakeProvider, model: str, **extra: Any) -> dict[str, Any]:
    """The body codey sent for one answered request (the fake took it)."""
    fake.push(answer("ok"))
    assert codey.complete("hi", **options(fake, model, **extra)) == "ok"
    body = fake.requests[-1].json
    assert isinstance(body, dict)
    return body


def weather(city: str) -> str:
    """The weather in a city."""
    return "sunny"


class TestEachProviderGetsItsForm:
    def test_anthropic_adaptive_models_get_adaptive_thinking_and_an_effort(
        self, fake: FakeProvider
    ) -> None:
        """claude-sonnet-5 refuses budget thinking (the fake answers 400 as the API does)."""
        body = sent(fake, "claude-sonnet-5", effort="high")
        assert body["thinking"] == {"type": "adaptive"}
        assert body["output_config"] == {"effort": "high"}
        assert "temperature" not in body

    @pytest.mark.parametrize(
        ("effort", "budget"),
        [("low", 1024), ("medium", 4096), ("high", 16384), ("xhigh", 32768), ("max", 57344)],
    )
    def test_anthropic_budget_models_get_a_budget(
        self, fake: FakeProvider, effort: str, budget: int
    ) -> None:
        """claude-haiku-4-5 refuses adaptive thinking: its effort is a budget."""
        body = sent(fake, "claude-haiku-4-5", effort=effort)
        assert body["thinking"] == {"type": "enabled", "budget_tokens": budget}
        assert body["max_tokens"] > budget
        assert "output_config" not in body

    def test_none_asks_a_budget_model_for_no_thinking(self, fake: FakeProvider) -> None:
        body = sent(fake, "claude-haiku-4-5", effort="none")
        assert "thinking" not in body
        assert "output_config" not in body

    def test_the_budget_stays_below_max_tokens(self, fake: FakeProvider) -> None:
        """At most half of max_tokens, so that the answer keeps room."""
        body = sent(fake, "claude-haiku-4-5", effort="max", max_tokens=3000)
        assert body["thinking"] == {"type": "enabled", "budget_tokens": 1500}
        assert body["max_tokens"] == 3000
        with pytest.raises(
            codey.UnsupportedOptionError, match=r"max_tokens \(1024\) leaves no room"
        ):
            codey.stream("hi", **options(fake, "claude-haiku-4-5", effort="low", max_tokens=1024))
        assert len(fake.requests) == 1

    def test_chat_completions_gets_reasoning_effort(self, fake: FakeProvider) -> None:
        assert sent(fake, "o3", effort="low", api="chat")["reasoning_effort"] == "low"
        assert sent(fake, "grok-4.3", effort="none", api="chat")["reasoning_effort"] == "none"
        body = sent(fake, "gpt-5.6-sol", effort="xhigh", api="chat")
        assert body["reasoning_effort"] == "xhigh"

    def test_responses_gets_reasoning_effort_in_an_object(self, fake: FakeProvider) -> None:
        body = sent(fake, "gpt-5.6-sol", effort="none", api="responses")
        assert body["reasoning"] == {"effort": "none", "summary": "auto"}
        assert "reasoning_effort" not in body
        body = sent(fake, "grok-4.3", effort="high", api="responses")
        assert body["reasoning"]["effort"] == "high"

    def test_reasoning_effort_is_the_same_setting(self, fake: FakeProvider) -> None:
        """Its old name maps the same way (before, Anthropic refused it outright)."""
        body = sent(fake, "claude-sonnet-5", reasoning_effort="max")
        assert (body["thinking"], body["output_config"]) == (
            {"type": "adaptive"},
            {"effort": "max"},
        )
        body = sent(fake, "claude-haiku-4-5", reasoning_effort="medium")
        assert body["thinking"] == {"type": "enabled", "budget_tokens": 4096}
        assert (
            sent(fake, "o3", reasoning_effort="high", effort="high", api="chat")["reasoning_effort"]
            == "high"
        )

    def test_both_names_with_different_values_are_a_value_error(self, fake: FakeProvider) -> None:
        with pytest.raises(ValueError, match="effort='high' and reasoning_effort='low' differ"):
            codey.stream("hi", **options(fake, "o3", effort="high", reasoning_effort="low"))
        assert fake.requests == []


class TestWhatTheModelDoesNotTake:
    @pytest.mark.parametrize(
        ("model", "effort", "taken"),
        [
            ("claude-sonnet-5", "none", "low, medium, high, xhigh, max"),
            ("claude-sonnet-5", "minimal", "low, medium, high, xhigh, max"),
            ("claude-sonnet-4-6", "none", "low, medium, high, xhigh, max"),  # Anthropic's set
            ("claude-haiku-4-5", "minimal", "none, low, medium, high, xhigh, max"),
            ("gpt-5.6-sol", "minimal", "none, low, medium, high, xhigh"),
            ("o3", "xhigh", "low, medium, high"),
            ("grok-4.3", "max", "none, low, medium, high"),
        ],
    )
    def test_an_effort_the_model_does_not_take_lists_those_it_does(
        self, fake: FakeProvider, model: str, effort: str, taken: str
    ) -> None:
        with pytest.raises(codey.UnsupportedOptionError) as caught:
            codey.stream("hi", **options(fake, model, effort=effort))
        assert str(caught.value) == f"{model} takes effort {taken}, not {effort!r}"
        assert fake.requests == []

    def test_a_model_that_takes_no_effort(self, fake: FakeProvider) -> None:
        with pytest.raises(codey.UnsupportedOptionError, match=r"gpt-4\.1 takes no effort setting"):
            codey.complete("hi", **options(fake, "gpt-4.1", effort="low"))
        assert fake.requests == []

    def test_a_model_outside_the_table_gets_the_value_unchecked(self, fake: FakeProvider) -> None:
        """Its provider decides."""
        assert sent(fake, "openai:gpt-next", effort="max")["reasoning_effort"] == "max"
        body = sent(fake, "anthropic:claude-next", effort="none")
        assert body["output_config"] == {"effort": "none"}

    @pytest.mark.parametrize("model", ["claude-sonnet-5", "claude-opus-4-7", "claude-opus-4-8"])
    def test_a_thinking_budget_for_an_adaptive_model_names_effort(
        self, fake: FakeProvider, model: str
    ) -> None:
        """Before, codey sent budget thinking and the API answered 400."""
        with pytest.raises(codey.UnsupportedOptionError) as caught:
            codey.stream("hi", **options(fake, model, thinking_budget=2048))
        assert str(caught.value) == (
            f"{model} thinks adaptively: set effort= (low, medium, high, xhigh, max) "
            "instead of thinking_budget="
        )
        assert fake.requests == []

    def test_a_thinking_budget_goes_to_budget_and_unknown_anthropic_models(
        self, fake: FakeProvider
    ) -> None:
        for model in ("claude-haiku-4-5", "anthropic:claude-next"):
            body = sent(fake, model, thinking_budget=2048)
            assert body["thinking"] == {"type": "enabled", "budget_tokens": 2048}

    @pytest.mark.parametrize(
        ("model", "extra", "words"),
        [
            ("claude-haiku-4-5", {"thinking_budget": 2048}, "give one"),
            ("anthropic:claude-next", {"thinking_budget": 2048}, "give one"),
            (
                "anthropic:claude-next",
                {"schema": "answer str"},
                "drop effort= .or thinking_budget=. or schema=",
            ),
        ],
    )
    def test_what_cannot_go_with_an_effort(
        self, fake: FakeProvider, model: str, extra: dict[str, Any], words: str
    ) -> None:
        """Thinking asked for twice; Anthropic's forced answer tool (a model without
        structured outputs), which thinking cannot join (as with a budget)."""
        with pytest.raises(codey.UnsupportedOptionError, match=words):
            codey.stream("hi", **options(fake, model, effort="low", **extra))
        assert fake.requests == []

    @pytest.mark.parametrize(
        "model", ["claude-sonnet-5", "claude-opus-4-7", "o3", "gpt-5.6-sol", "gpt-6-astra"]
    )
    def test_a_temperature_the_model_refuses_is_refused_before_sending(
        self, fake: FakeProvider, model: str
    ) -> None:
        with pytest.raises(codey.UnsupportedOptionError) as caught:
            codey.stream("hi", **options(fake, model, temperature=0.2))
        assert str(caught.value).startswith(f"{model} takes no temperature")
        assert fake.requests == []

    def test_a_temperature_goes_where_it_is_taken(self, fake: FakeProvider) -> None:
        assert sent(fake, "gpt-4.1", temperature=0.2)["temperature"] == 0.2
        assert sent(fake, "claude-haiku-4-5", temperature=0.2)["temperature"] == 0.2
        assert sent(fake, "anthropic:claude-next", temperature=0.2)["temperature"] == 0.2

    def test_each_fallback_is_held_to_its_own_row(
        self, fake_env: FakeProvider, fake: FakeProvider
    ) -> None:
        with pytest.raises(codey.UnsupportedOptionError, match="claude-sonnet-5 takes effort"):
            codey.stream(
                "hi",
                fallbacks=["claude-sonnet-5"],
                **options(fake, "openai:gpt-next", effort="minimal"),
            )
        assert fake.requests == []


class TestBatches:
    def test_a_batch_line_effort_is_mapped_and_checked(
        self, fake: FakeProvider, tmp_path: Path
    ) -> None:
        fake.default = answer("ok")
        output = tmp_path / "out.jsonl"
        lines = [
            {"id": "adaptive", "prompt": "hi", "options": {"effort": "high"}},
            {"id": "refused", "prompt": "hi", "options": {"effort": "none"}},
            {"id": "old-name", "prompt": "hi"},
        ]
        kwargs = options(fake, "claude-sonnet-5", reasoning_effort="low")
        summary = codey.batch(lines, str(output), parallel=1, **kwargs)
        assert (summary.done, summary.failed) == (2, 1)
        records = {r["id"]: r for r in map(json.loads, output.read_text().splitlines())}
        assert "takes effort low, medium, high, xhigh, max, not 'none'" in json.dumps(
            records["refused"]
        )
        efforts = sorted(request.json["output_config"]["effort"] for request in fake.requests)
        assert efforts == ["high", "low"]  # the line's effort wins over batch()'s old name

    def test_a_provider_batch_is_shaped_as_a_stream_is(
        self, fake: FakeProvider, tmp_path: Path
    ) -> None:
        """Message Batches get the adaptive form; a line the model refuses fails alone."""
        fake.default = answer("ok")
        output = tmp_path / "out.jsonl"
        lines = [
            {"id": "fine", "prompt": "hi", "options": {"effort": "max"}},
            {"id": "refused", "prompt": "hi", "options": {"thinking_budget": 2048}},
        ]
        kwargs = options(fake, "claude-sonnet-5", poll_interval=0.01)
        summary = codey.batch(lines, str(output), provider_batch=True, **kwargs)
        assert (summary.done, summary.failed) == (1, 1)
        [batch] = fake.batches
        assert batch.custom_ids == ("fine",)
        body = batch.requests[0].json
        assert (body["thinking"], body["output_config"]) == (
            {"type": "adaptive"},
            {"effort": "max"},
        )
        assert "instead of thinking_budget=" in output.read_text(encoding="utf-8")


class TestTheFakeRefusesWhatTheAPIRefuses:
    """The fake's own table: the requests codey no longer sends get the real 400s."""

    def post(self, fake: FakeProvider, route: str, path: str, body: dict[str, Any]) -> Any:
        return requests.post(fake.base_url(route) + path, json={"stream": True, **body}, timeout=5)

    def test_budget_thinking_for_an_adaptive_claude(self, fake: FakeProvider) -> None:
        body = {"model": "claude-sonnet-5-20260301", "max_tokens": 4096, "messages": []}
        body["thinking"] = {"type": "enabled", "budget_tokens": 2048}
        response = self.post(fake, "anthropic", "/v1/messages", body)
        assert response.status_code == 400
        assert response.json() == {
            "type": "error",
            "error": {
                "type": "invalid_request_error",
                "message": '"thinking.type.enabled" is not supported for this model. Use '
                '"thinking.type.adaptive" and "output_config.effort" to control thinking '
                "behavior.",
            },
        }

    def test_sampling_for_a_claude_that_takes_none(self, fake: FakeProvider) -> None:
        body = {"model": "claude-opus-4-7", "max_tokens": 10, "messages": [], "top_k": 5}
        response = self.post(fake, "anthropic", "/v1/messages", body)
        assert (response.status_code, response.json()["error"]["message"]) == (
            400,
            "`top_k` is deprecated for this model.",
        )
        fake.push(answer("ok"))  # its default is taken
        body = {"model": "claude-opus-4-7", "max_tokens": 10, "messages": [], "temperature": 1}
        assert self.post(fake, "anthropic", "/v1/messages", body).status_code == 200

    def test_adaptive_thinking_for_a_budget_claude(self, fake: FakeProvider) -> None:
        body = {"model": "claude-haiku-4-5", "max_tokens": 10, "messages": []}
        body["thinking"] = {"type": "adaptive"}
        assert self.post(fake, "anthropic", "/v1/messages", body).status_code == 400

    def test_tools_with_effort_over_chat_completions(self, fake: FakeProvider) -> None:
        """codey sends them when asked to (api="chat"): the 400 is the API's, in its words."""
        with pytest.raises(codey.BadRequestError) as caught:
            codey.complete(
                "hi", tools=[weather], **options(fake, "gpt-5.4", effort="low", api="chat")
            )
        assert "Function tools with reasoning_effort are not supported for gpt-5.4 in " in str(
            caught.value
        )
        assert "Please use /v1/responses instead." in str(caught.value)
        fake.push(answer("ok"))  # without an effort they are taken
        codey.complete("hi", tools=[weather], **options(fake, "gpt-5.4", api="chat"))

    @pytest.mark.parametrize(
        ("model", "effort", "refused"),
        [
            ("gpt-5.6-sol", None, True),
            ("gpt-5.6-sol", "none", False),
            ("gpt-6-astra", None, True),
            ("gpt-5.4-mini", None, False),
        ],
    )
    def test_tools_over_chat_completions_for_the_newest_models(
        self, fake: FakeProvider, model: str, effort: str, refused: bool
    ) -> None:
        body: dict[str, Any] = {"model": model, "messages": [], "tools": [{"type": "function"}]}
        if effort is not None:
            body["reasoning_effort"] = effort
        fake.push(answer("ok"))
        response = self.post(fake, "openai", "/chat/completions", body)
        assert response.status_code == (400 if refused else 200)
        if refused:
            message = response.json()["error"]["message"]
            assert message.endswith("To use function tools, use /v1/responses")

    def test_an_effort_the_openai_model_does_not_take(self, fake: FakeProvider) -> None:
        body = {"model": "gpt-5.6-terra", "messages": [], "reasoning_effort": "minimal"}
        response = self.post(fake, "openai", "/chat/completions", body)
        assert response.json()["error"]["message"] == (
            "Unsupported value: 'reasoning_effort' does not support 'minimal' with this model. "
            "Supported values are: 'none', 'low', 'medium', 'high', and 'xhigh'."
        )

    def test_a_fake_can_be_told_to_take_everything(self, fake: FakeProvider) -> None:
        fake.refuse_like_the_api = False
        fake.push(answer("ok"))
        body = {"model": "claude-sonnet-5", "max_tokens": 10, "messages": [], "temperature": 0}
        assert self.post(fake, "anthropic", "/v1/messages", body).status_code == 200
