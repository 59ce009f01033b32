"""The API a model goes over by default: the model table's (OpenAI's reasoning models
and xAI's grok-4 family over the Responses API), ``api="chat"`` to keep Chat
Completions, compatible and config-file providers over their own wire format,
``Stream.provider`` the service's name and ``Stream.api`` the API that answered,
each fallback over its own default, and a provider batch's Responses lines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import pytest

import codey
from codey import _providers
from codey.testing import FakeProvider, ToolCall, answer, error
from tests.conftest import FAKE_KEY


def options(fake: FakeProvider, model: str, **extra: Any) -> dict[str, Any]:
    """stream() keywords for ``model`` at the fake (its route found from its provider)."""
    provider = codey.model_info(model).provider
    route = "xai" if provider.startswith("xai") else "openai"
    return {
        "model": model,
        "api_key": FAKE_KEY,
        "base_url": fake.base_url(route),
        "chunk_timeout": 2.0,
        "connect_timeout": 2.0,
        **extra,
    }


class TestTheTablesAPI:
    @pytest.mark.parametrize(
        ("model", "provider", "path"),
        [
            ("gpt-5.5", "openai", "/openai/v1/responses"),
            ("gpt-6-sol", "openai", "/openai/v1/responses"),
            ("o4-mini", "openai", "/openai/v1/responses"),
            ("grok-4.7", "xai", "/xai/v1/responses"),
            ("grok-4.20-non-reasoning", "xai", "/xai/v1/responses"),  # xAI: all over Responses
            ("gpt-4.1", "openai", "/openai/v1/chat/completions"),  # not a reasoning model
        ],
    )
    def test_each_model_goes_over_its_rows_api(
        self, fake: FakeProvider, model: str, provider: str, path: str
    ) -> None:
        fake.push(answer("ok"))
        with codey.stream("hi", **options(fake, model)) as stream:
            assert "".join(stream) == "ok"
        assert fake.requests[-1].path == path
        assert fake.requests[-1].json["model"] == model
        # The service's name, whichever API answered; the API says which.
        assert (stream.provider, stream.model) == (provider, model)
        assert stream.api == codey.model_info(model).api
        assert repr(stream).startswith(f"<codey.Stream {provider}:{model} ")

    @pytest.mark.parametrize(
        ("model", "provider", "path"),
        [
            ("gpt-5.5", "openai", "/openai/v1/chat/completions"),
            ("grok-4.3", "xai", "/xai/v1/chat/completions"),
        ],
    )
    def test_api_chat_keeps_chat_completions(
        self, fake: FakeProvider, model: str, provider: str, path: str
    ) -> None:
        fake.push(answer("ok"))
        with codey.stream("hi", **options(fake, model, api="chat")) as stream:
            assert "".join(stream) == "ok"
        assert fake.requests[-1].path == path
        assert (stream.provider, stream.api) == (provider, "chat")

    def test_messages_is_anthropics_api(self, fake: FakeProvider) -> None:
        fake.push(answer("ok"))
        kwargs = {**options(fake, "gpt-4.1"), "base_url": fake.base_url("anthropic")}
        with codey.stream("hi", **{**kwargs, "model": "claude-sonnet-4-6"}) as stream:
            assert "".join(stream) == "ok"
        assert (stream.provider, stream.api) == ("anthropic", "messages")

    def test_a_tool_stream_says_its_api(self, fake: FakeProvider) -> None:
        def look(city: str) -> str:
            """Look."""
            return "sunny"

        fake.push(
            answer(tool_calls=[ToolCall(0, "c1", "look", '{"city": "Rome"}')]), answer("sunny")
        )
        stream = codey.stream("hi", tools=[look], run_tools=True, **options(fake, "gpt-5.6-terra"))
        with stream:
            assert "".join(stream) == "sunny"
        assert stream.rounds == 1
        assert [request.path for request in fake.requests] == ["/openai/v1/responses"] * 2
        assert (stream.provider, stream.api) == ("openai", "responses")

    def test_a_compatible_service_keeps_chat_completions(self, fake: FakeProvider) -> None:
        """A compatible service's gpt-5.5 is not OpenAI's: its own wire format."""
        fake.push(answer("ok"))
        with codey.stream(
            "hi", **{**options(fake, "gpt-4.1"), "model": "openrouter:gpt-5.5"}
        ) as stream:
            assert "".join(stream) == "ok"
        assert fake.requests[-1].path == "/openai/v1/chat/completions"
        assert (stream.provider, stream.api) == ("openrouter", "chat")

    def test_a_config_files_provider_keeps_its_wire_format(self, fake: FakeProvider) -> None:
        """A provider registered over the built-in ``openai`` (a ``[providers.openai]``
        table) is sent to as it says, not moved to the built-in Responses provider."""
        proxy = _providers.build(attrs.evolve(_providers.get("openai").service))
        undo = _providers.register(proxy)
        try:
            fake.push(answer("ok"))
            with codey.stream("hi", **options(fake, "gpt-5.5")) as stream:
                assert "".join(stream) == "ok"
        finally:
            undo()
        assert fake.requests[-1].path == "/openai/v1/chat/completions"
        assert (stream.provider, stream.api) == ("openai", "chat")


class TestFallbacks:
    def test_each_fallback_goes_over_its_own_default(self, fake_env: FakeProvider) -> None:
        """api= is the first model's; each fallback takes the table's API for it."""
        fake_env.push(error(503, "busy"), error(503, "busy"), answer("from grok"))
        stream = codey.stream(
            "hi",
            model="gpt-5.5",
            api="chat",
            retries=0,
            fallbacks=["gpt-5.4-mini", "grok-4.3"],
        )
        with stream:
            assert "".join(stream) == "from grok"
        assert [request.path for request in fake_env.requests] == [
            "/openai/v1/chat/completions",
            "/openai/v1/responses",
            "/xai/v1/responses",
        ]
        assert (stream.provider, stream.model, stream.api) == ("xai", "grok-4.3", "responses")


class TestProviderBatch:
    def run(self, fake: FakeProvider, tmp_path: Path, model: str, **extra: Any) -> list[Any]:
        out = tmp_path / "out.jsonl"
        fake.push(answer("one"), answer("two"))
        codey.batch(
            ["first", "second"],
            str(out),
            provider_batch=True,
            poll_interval=0.01,
            model=model,
            api_key=FAKE_KEY,
            base_url=fake.base_url("openai"),
            **extra,
        )
        return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]

    def test_a_responses_model_goes_to_v1_responses(
        self, fake: FakeProvider, tmp_path: Path
    ) -> None:
        records = self.run(fake, tmp_path, "gpt-5.5")
        assert sorted(record["text"] for record in records) == ["one", "two"]
        (batch,) = fake.batches
        assert [request.path for request in batch.requests] == ["/openai/v1/responses"] * 2
        body = batch.requests[0].json
        # A Responses body, whole (not streamed): input items, not messages.
        assert body["input"] == [{"type": "message", "role": "user", "content": "first"}]
        assert "messages" not in body
        assert "stream" not in body
        create = next(r for r in fake.requests if r.path == "/openai/v1/batches")
        assert create.json["endpoint"] == "/v1/responses"

    def test_api_chat_keeps_the_chat_completions_endpoint(
        self, fake: FakeProvider, tmp_path: Path
    ) -> None:
        records = self.run(fake, tmp_path, "gpt-5.5", api="chat")
        assert sorted(record["text"] for record in records) == ["one", "two"]
        (batch,) = fake.batches
        paths = [request.path for request in batch.requests]
        assert paths == ["/openai/v1/chat/completions"] * 2
