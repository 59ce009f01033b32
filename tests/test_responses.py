"""The Responses wire format: what is sent, how a model gets there (api=, its own
name), and what only this format has (reasoning summaries, response.failed,
response.incomplete, the two shapes of an error event). The guarantees every
format shares are tested in test_stream.py, parametrised over them all."""

from __future__ import annotations

import json

import pytest

import codey
from codey import _providers
from codey.testing import (
    Close,
    Done,
    ErrorEvent,
    Finish,
    Raw,
    Reasoning,
    Reply,
    Text,
    ToolCall,
    UsageStep,
    answer,
    error,
    events,
)
from tests.conftest import FAKE_KEY
from tests.helpers import kwargs_for


def run(fake, model="o3-pro", **extra):
    options = {**kwargs_for(fake, "openai-responses"), "model": model, **extra}
    return codey.stream("hi", **options)


def event(name: str, **fields: object) -> Raw:
    data = json.dumps({"type": name, **fields, "sequence_number": 0})
    return Raw(f"event: {name}\ndata: {data}\n\n")


class TestRequest:
    def test_body_and_headers(self, fake):
        """The conversation as input items (system ones in place), never stored, Bearer key."""
        fake.push(answer("ok"))
        conversation = [
            codey.Message("user", "q1"),
            codey.Message("assistant", "a1"),
            codey.Message("system", "now in French"),
            codey.Message("user", "q2"),
        ]
        options = kwargs_for(
            fake,
            "openai-responses",
            model="openai-responses:unlisted",  # not in the model table: takes a temperature
            system="be brief",
            max_tokens=50,
            temperature=0.5,
        )
        assert codey.complete(conversation, **options) == "ok"
        request = fake.requests[-1]
        assert request.path == "/openai/v1/responses"
        assert request.headers["authorization"] == f"Bearer {FAKE_KEY}"
        assert request.headers["accept"] == "text/event-stream"
        assert request.json == {
            "model": "unlisted",
            "input": [
                {"type": "message", "role": "system", "content": "be brief"},
                {"type": "message", "role": "user", "content": "q1"},
                {"type": "message", "role": "assistant", "content": "a1"},
                {"type": "message", "role": "system", "content": "now in French"},
                {"type": "message", "role": "user", "content": "q2"},
            ],
            "stream": True,
            "store": False,
            "max_output_tokens": 50,
            "temperature": 0.5,
        }

    def test_reasoning_effort_asks_for_a_summary(self, fake):
        fake.push(answer("ok"))
        codey.complete("hi", **kwargs_for(fake, "openai-responses", reasoning_effort="high"))
        assert fake.requests[-1].json["reasoning"] == {"effort": "high", "summary": "auto"}

    def test_cache_is_accepted_and_marks_nothing(self, fake):
        """OpenAI caches long prompts by itself: cache=True changes nothing sent."""
        fake.push(answer("a"), answer("b"))
        codey.complete("hi", **kwargs_for(fake, "openai-responses"))
        codey.complete("hi", **kwargs_for(fake, "openai-responses", cache=True))
        assert fake.requests[0].json == fake.requests[1].json

    def test_thinking_budget_is_unsupported(self, fake):
        with pytest.raises(codey.UnsupportedOptionError, match="effort="):
            run(fake, thinking_budget=2048)
        assert fake.requests == []


class TestSelection:
    @pytest.mark.parametrize(
        ("model", "api", "provider", "path"),
        [
            ("o3-pro", None, "openai", "/openai/v1/responses"),
            ("o3-pro-2025-06-10", None, "openai", "/openai/v1/responses"),
            ("gpt-5-pro", None, "openai", "/openai/v1/responses"),
            ("o3", None, "openai", "/openai/v1/responses"),  # the table's API for it
            ("gpt-4.1", None, "openai", "/openai/v1/chat/completions"),
            ("gpt-4.1", "responses", "openai", "/openai/v1/responses"),
            ("openai-responses:gpt-4.1", None, "openai", "/openai/v1/responses"),
            ("o3-pro", "chat", "openai", "/openai/v1/chat/completions"),
            ("gpt-4.1", "chat", "openai", "/openai/v1/chat/completions"),
            ("grok-4.3", "responses", "xai", "/xai/v1/responses"),
            ("grok-4.3", "chat", "xai", "/xai/v1/chat/completions"),
        ],
    )
    def test_model_and_api(self, fake_env, model, api, provider, path):
        """Models the table sends over Responses go there; api= moves any OpenAI or xAI
        model; the provider is the service's name whichever API answered."""
        fake_env.push(answer("ok"))
        with codey.stream("hi", model=model, api=api) as stream:
            assert "".join(stream) == "ok"
        assert stream.provider == provider
        assert stream.api == path.rsplit("/", 1)[-1].replace("completions", "chat")
        assert stream.model == model.split(":")[-1]
        assert fake_env.requests[-1].path == path
        assert fake_env.requests[-1].json["model"] == stream.model

    @pytest.mark.parametrize(
        ("model", "api"),
        [
            ("claude-sonnet-4-0", "responses"),
            ("claude-sonnet-4-0", "chat"),
            ("ollama:llama3.2", "responses"),
            ("deepseek-chat", "responses"),
        ],
    )
    def test_a_provider_without_that_api(self, fake_env, model, api):
        with pytest.raises(codey.UnsupportedOptionError) as info:
            codey.stream("hi", model=model, api=api)
        assert "has no" in str(info.value)
        assert fake_env.requests == []

    @pytest.mark.parametrize("api", ["completions", "", 1])
    def test_an_unknown_api(self, fake_env, api):
        with pytest.raises(ValueError, match="api must be one of"):
            codey.stream("hi", model="gpt-4.1", api=api)

    def test_api_applies_to_the_first_model_only(self, fake_env):
        """A fallback keeps its own API, so a fallback to Anthropic still works."""
        fake_env.push(error(503, "busy"), answer("from claude"))
        stream = codey.stream(
            "hi", model="gpt-4.1", api="responses", fallbacks=["claude-sonnet-4-0"], retries=0
        )
        assert "".join(stream) == "from claude"
        assert [r.path for r in fake_env.requests[-2:]] == [
            "/openai/v1/responses",
            "/anthropic/v1/messages",
        ]

    def test_the_longest_prefix_wins(self):
        assert _providers.resolve("o3-pro")[0].name == "openai-responses"
        assert _providers.resolve("o3-mini")[0].name == "openai"
        assert _providers.resolve("gpt-5.1-codex-max")[0].name == "openai-responses"
        assert _providers.resolve("gpt-5.1")[0].name == "openai"

    def test_listed(self):
        assert "openai-responses" in codey.providers()
        assert "xai-responses" in codey.providers()
        assert "gpt-5.5-pro" in codey.models()  # current; the older ones are legacy or retired
        assert {"o3-pro", "o1-pro", "codex-mini-latest"} <= set(codey.models(all=True))


class TestEvents:
    def test_reasoning_summary_text_and_tool_calls(self, fake):
        fake.push(
            answer(
                "Paris",
                reasoning=["Capital of ", "France?"],
                tool_calls=[ToolCall(0, "call_1", "look", ['{"q":', '"x"}'])],
                usage=(11, 22),
            )
        )
        with run(fake) as stream:
            got = list(stream.events())
        assert got == [
            codey.ReasoningDelta("Capital of "),
            codey.ReasoningDelta("France?"),
            codey.TextDelta("Paris"),
            codey.ToolCallDelta(index=0, id="call_1", name="look"),
            codey.ToolCallDelta(index=0, arguments='{"q":'),
            codey.ToolCallDelta(index=0, arguments='"x"}'),
            codey.Usage(11, 22, cache_read_tokens=0, reasoning_tokens=0),
            codey.Finish("tool_calls"),
        ]
        assert stream.reasoning == "Capital of France?"

    def test_tool_calls_are_numbered_apart_from_other_items(self, fake):
        """output_index counts every item; a ToolCallDelta's index counts calls."""
        fake.push(
            events(
                Reasoning("r"),
                ToolCall(0, "a", "one", "{}"),
                Text("t"),
                ToolCall(1, "b", "two", ["{", "}"]),
                Done(),
            )
        )
        with run(fake) as stream:
            calls = [e for e in stream.events() if isinstance(e, codey.ToolCallDelta)]
        assert [(c.index, c.id, c.name, c.arguments) for c in calls] == [
            (0, "a", "one", ""),
            (0, None, None, "{}"),
            (1, "b", "two", ""),
            (1, None, None, "{"),
            (1, None, None, "}"),
        ]

    def test_refusal_is_text(self, fake):
        fake.push(
            events(
                event(
                    "response.refusal.delta",
                    item_id="msg_1",
                    output_index=0,
                    content_index=0,
                    delta="I can't help with that.",
                ),
                Done(),
            )
        )
        assert codey.complete("hi", **kwargs_for(fake, "openai-responses")) == (
            "I can't help with that."
        )

    @pytest.mark.parametrize("reason", ["max_output_tokens", "content_filter"])
    def test_incomplete_gives_the_reason_and_usage(self, fake, reason):
        """response.incomplete ends the answer with the provider's own reason."""
        fake.push(answer("cut sh", finish_reason=reason, usage=(3, 4)))
        with run(fake) as stream:
            assert "".join(stream) == "cut sh"
        assert stream.finish_reason == reason
        assert stream.usage == codey.Usage(3, 4, cache_read_tokens=0, reasoning_tokens=0)

    def test_cached_tokens(self, fake):
        """usage.input_tokens_details.cached_tokens is the cache_read_tokens."""
        fake.push(events(Text("a"), Finish(), UsageStep(100, 5, cache_read_tokens=64), Done()))
        with run(fake) as stream:
            assert "".join(stream) == "a"
        assert stream.usage == codey.Usage(100, 5, cache_read_tokens=64, reasoning_tokens=0)

    def test_no_usage_reported(self, fake):
        fake.push(answer("ok", usage=None))
        with run(fake) as stream:
            assert "".join(stream) == "ok"
        assert stream.usage is None
        assert stream.finish_reason == "stop"

    def test_finish_without_the_terminal_event_is_incomplete(self, fake):
        """Only response.completed (or incomplete) ends an answer, whatever came before."""
        fake.push(events(Text("done"), Finish(), UsageStep(1, 2), Close()))
        with pytest.raises(codey.IncompleteStreamError) as info:
            list(run(fake, retries=0))
        assert info.value.partial_text == "done"


class TestErrors:
    def test_failed_after_text(self, fake):
        """response.failed is a StreamError with the response's error code and message."""
        fake.push(events(Text("half"), ErrorEvent("server_error", "The model broke", failed=True)))
        with pytest.raises(codey.StreamError) as info:
            list(run(fake))
        exc = info.value
        assert type(exc) is codey.StreamError
        assert (exc.error_type, exc.code, exc.provider) == (
            "server_error",
            "server_error",
            "openai-responses",
        )
        assert str(exc) == "openai-responses sent response.failed (server_error): The model broke"
        assert exc.partial_text == "half"
        assert len(fake.requests) == 1

    @pytest.mark.parametrize(
        ("code", "retried"), [("server_error", True), ("invalid_prompt", False)]
    )
    def test_failed_before_text(self, fake, code, retried):
        """A failed response before any text is retried when its code names a server error."""
        fake.push(events(ErrorEvent(code, "no", failed=True)), answer("second try"))
        if retried:
            assert codey.complete("hi", **kwargs_for(fake, "openai-responses")) == "second try"
        else:
            with pytest.raises(codey.StreamError) as info:
                codey.complete("hi", **kwargs_for(fake, "openai-responses"))
            assert info.value.error_type == code
        assert len(fake.requests) == (2 if retried else 1)

    def test_failed_without_details(self, fake):
        fake.push(events(event("response.failed", response={"status": "failed", "error": None})))
        with pytest.raises(codey.StreamError, match="the response failed"):
            list(run(fake, retries=0))

    @pytest.mark.parametrize(
        ("fields", "error_type", "retried"),
        [
            (
                {"code": "rate_limit_exceeded", "message": "Slow down", "param": None},
                "rate_limit_exceeded",
                True,
            ),
            (
                {"code": "invalid_prompt", "message": "Slow down", "param": None},
                "invalid_prompt",
                False,
            ),
            # As OpenAI has been seen to send it: nested, with a type of its own.
            (
                {
                    "error": {
                        "type": "too_many_requests",
                        "code": "too_many_requests",
                        "message": "Slow down",
                        "param": None,
                    }
                },
                "too_many_requests",
                True,
            ),
            (
                {"error": {"type": "invalid_request_error", "code": None, "message": "Slow down"}},
                "invalid_request_error",
                False,
            ),
        ],
    )
    def test_error_event_shapes(self, fake, fields, error_type, retried):
        """Both shapes of the error event give the message and type; busy ones are retried."""
        fake.push(events(event("error", **fields)), answer("second try"))
        if retried:
            assert codey.complete("hi", **kwargs_for(fake, "openai-responses")) == "second try"
            assert len(fake.requests) == 2
            return
        with pytest.raises(codey.StreamError) as info:
            codey.complete("hi", **kwargs_for(fake, "openai-responses"))
        assert info.value.error_type == error_type
        assert str(info.value) == (
            f"openai-responses sent an error event ({error_type}): Slow down"
        )
        assert len(fake.requests) == 1

    def test_odd_shapes_are_no_crash(self, fake):
        """Objects where lists or strings were expected: ignored, or a typed error."""
        fake.push(
            events(
                event("response.output_item.added", output_index=0, item="function_call"),
                event("response.function_call_arguments.delta", output_index=0, delta="{}"),
                Text("a"),
                event("response.failed", response=["failed"]),
            )
        )
        with pytest.raises(codey.StreamError, match="the response failed") as info:
            list(run(fake, retries=0))
        assert info.value.partial_text == "a"

    def test_error_event_after_text_is_never_retried(self, fake):
        fake.push(events(Text("par"), ErrorEvent("rate_limit_exceeded", "Slow down")))
        fake.push(answer("never"))
        with pytest.raises(codey.StreamError) as info:
            list(run(fake))
        assert info.value.partial_text == "par"
        assert info.value.error_type == "rate_limit_exceeded"
        assert len(fake.requests) == 1

    def test_error_body_is_openai_shaped(self, fake):
        fake.push(error(404, "The model `o9` does not exist"))
        with pytest.raises(codey.BadRequestError) as info:
            list(run(fake, model="openai-responses:o9"))
        assert info.value.message == "The model `o9` does not exist"
        assert info.value.error_type == "invalid_request_error"
        assert info.value.provider == "openai-responses"


class TestWholeReply:
    def test_an_incomplete_response_as_json(self, fake):
        body = {
            "object": "response",
            "status": "incomplete",
            "incomplete_details": {"reason": "max_output_tokens"},
            "output": [
                {"type": "reasoning", "summary": [{"type": "summary_text", "text": "hmm"}]},
                {
                    "type": "function_call",
                    "call_id": "call_1",
                    "name": "look",
                    "arguments": "{}",
                },
                {"type": "message", "content": [{"type": "output_text", "text": "cut"}]},
            ],
            "usage": {"input_tokens": 2, "output_tokens": 3},
        }
        fake.push(
            Reply(content_type="application/json", framing="length", body=json.dumps(body).encode())
        )
        with run(fake) as stream:
            got = list(stream.events())
        assert got == [
            codey.ReasoningDelta("hmm"),
            codey.ToolCallDelta(index=0, id="call_1", name="look", arguments="{}"),
            codey.TextDelta("cut"),
            codey.Usage(2, 3),
            codey.Finish("max_output_tokens"),
        ]

    def test_a_failed_response_as_json_is_an_error(self, fake):
        body = {
            "object": "response",
            "status": "failed",
            "error": {"code": "invalid_prompt", "message": "flagged"},
            "output": [],
        }
        fake.push(
            Reply(content_type="application/json", framing="length", body=json.dumps(body).encode())
        )
        with pytest.raises(codey.StreamError) as info:
            list(run(fake))
        assert str(info.value) == "flagged"
        assert info.value.error_type == "invalid_prompt"
