"""Tools, schema=, attachments and reasoning over the Responses API: function_call
items out and back, the tool loop, encrypted reasoning replayed with nothing stored,
and the fault cases (a call cut mid-stream then retried, a response.failed after text)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

import codey
from codey.testing import (
    Close,
    ErrorEvent,
    Raw,
    Reasoning,
    RecordedRequest,
    Reply,
    Text,
    ToolCall,
    UsageStep,
    answer,
)
from tests.helpers import kwargs_for

#: gpt-5.6-terra (the Responses API is its best) and grok-4.3 over xAI's Responses API.
TARGETS = {
    "openai": ("openai-responses", {"model": "gpt-5.6-terra", "api": "responses"}),
    "xai": ("xai", {"model": "grok-4.3", "api": "responses"}),
}
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
PDF = b"%PDF-1.7\n" + b"\0" * 32


def options(fake: object, target: str = "openai", **extra: object) -> dict[str, object]:
    provider, more = TARGETS[target]
    return kwargs_for(fake, provider, **{**more, **extra})


def weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def clock(zone: str) -> str:
    """The time in a zone."""
    return f"noon in {zone}"


def of_type(items: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [item for item in items if item.get("type") == kind]


class TestRequest:
    def test_tools_schema_and_reasoning_on_the_wire(self, fake):
        fake.push(answer('{"city": "Oslo"}'))
        codey.complete("hi", tools=[weather], schema="city str", **options(fake))
        body = fake.requests[-1].json
        assert body["tools"] == [
            {
                "type": "function",
                "name": "weather",
                "description": "The weather in a city.",
                "parameters": codey.Tool.from_function(weather).parameters,
            }
        ]
        fmt = body["text"]["format"]
        assert (fmt["type"], fmt["strict"]) == ("json_schema", True)
        assert fmt["schema"]["properties"] == {"city": {"type": "string"}}
        # A reasoning model: the summary asked for, the reasoning kept with nothing stored.
        assert body["store"] is False
        assert body["include"] == ["reasoning.encrypted_content"]
        assert body["reasoning"] == {"summary": "auto"}

    def test_effort_none_asks_for_no_reasoning(self, fake):
        fake.push(answer("ok"))
        codey.complete("hi", effort="none", **options(fake))
        body = fake.requests[-1].json
        assert body["reasoning"] == {"effort": "none", "summary": "auto"}
        assert "include" not in body

    def test_a_model_that_does_not_reason_gets_no_include(self, fake):
        fake.push(answer("ok"))
        codey.complete("hi", **options(fake, model="gpt-4.1"))
        assert "include" not in fake.requests[-1].json
        assert "reasoning" not in fake.requests[-1].json

    def test_a_conversation_with_calls_by_hand(self, fake):
        fake.push(answer("ok"))
        call = codey.ToolCall("c1", "weather", '{"city": "Oslo"}')
        conversation = [
            codey.Message("user", "weather?"),
            codey.Message("assistant", "Looking.", tool_calls=[call]),
            codey.Message("tool", "sunny", tool_call_id="c1"),
        ]
        codey.complete(conversation, tools=[weather], **options(fake))
        assert fake.requests[-1].json["input"] == [
            {"type": "message", "role": "user", "content": "weather?"},
            {"type": "message", "role": "assistant", "content": "Looking."},
            {
                "type": "function_call",
                "call_id": "c1",
                "name": "weather",
                "arguments": '{"city": "Oslo"}',
            },
            {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        ]

    def test_another_wire_s_replay_is_not_sent(self, fake):
        fake.push(answer("ok"))
        thinking = {"type": "thinking", "thinking": "x", "signature": "s"}
        message = codey.Message("assistant", "a", replay=[("messages", thinking)])
        codey.complete(
            [codey.Message("user", "q"), message, codey.Message("user", "q2")], **options(fake)
        )
        assert of_type(fake.requests[-1].json["input"], "thinking") == []
        assert len(fake.requests[-1].json["input"]) == 3


class TestReplayField:
    def test_only_an_assistant_message_carries_replay_and_it_stays_out_of_repr(self):
        item = {"type": "reasoning", "encrypted_content": "gAAAABsecret"}
        with pytest.raises(ValueError, match="replay goes with an assistant"):
            codey.Message("user", "q", replay=[("responses", item)])
        with pytest.raises(TypeError, match="wire, dict"):
            codey.Message("assistant", "a", replay=[("responses", "not a dict")])
        message = codey.Message("assistant", "a", replay=[("responses", item)])
        assert message.replay == (("responses", item),)
        assert "secret" not in repr(message)
        assert hash(message) == hash(codey.Message("assistant", "a"))


class TestAttachments:
    def test_image_and_pdf_as_bytes_and_urls(self, fake):
        fake.push(answer("ok"))
        attachments = [
            codey.Attachment.from_bytes(PNG, name="a.png"),
            codey.Attachment.from_url("https://example.com/b.png"),
            codey.Attachment.from_bytes(PDF, name="report.pdf"),
            codey.Attachment.from_url("https://example.com/c.pdf"),
        ]
        codey.complete("look", attachments=attachments, **options(fake))
        content = fake.requests[-1].json["input"][-1]["content"]
        assert content == [
            {"type": "input_text", "text": "look"},
            {
                "type": "input_image",
                "image_url": "data:image/png;base64," + base64.b64encode(PNG).decode(),
            },
            {"type": "input_image", "image_url": "https://example.com/b.png"},
            {
                "type": "input_file",
                "filename": "report.pdf",
                "file_data": "data:application/pdf;base64," + base64.b64encode(PDF).decode(),
            },
            {"type": "input_file", "file_url": "https://example.com/c.pdf"},
        ]

    def test_xai_takes_images_not_pdfs(self, fake):
        fake.push(answer("ok"))
        png = codey.Attachment.from_bytes(PNG, name="a.png")
        assert codey.complete("look", attachments=[png], **options(fake, "xai")) == "ok"
        assert fake.requests[-1].path == "/xai/v1/responses"
        pdf = codey.Attachment.from_bytes(PDF, name="r.pdf")
        with pytest.raises(codey.UnsupportedOptionError, match="application/pdf"):
            codey.stream("read", attachments=[pdf], **options(fake, "xai"))


def tool_round(*calls: ToolCall, thought: str = "Need the weather.") -> Reply:
    return answer(reasoning=[thought], tool_calls=calls)


class TestLoop:
    @pytest.mark.parametrize("target", sorted(TARGETS))
    def test_a_tool_loop_to_its_answer(self, fake, target):
        seen: list[dict[str, Any]] = []

        def responder(request: RecordedRequest) -> Reply:
            seen.append(request.json)
            if len(seen) == 1:
                return tool_round(
                    ToolCall(0, "c1", "weather", ['{"city": ', '"Oslo"}']),
                    ToolCall(1, "c2", "clock", '{"zone": "CET"}'),  # parallel calls
                )
            return answer("Sunny at noon.")

        fake.responder = responder
        with codey.stream(
            "weather?", tools=[weather, clock], run_tools=True, **options(fake, target)
        ) as stream:
            got = list(stream.events())
        assert stream.text == "Sunny at noon."
        assert stream.finish_reason == "stop"
        assert [r.output for r in got if isinstance(r, codey.ToolResult)] == [
            "sunny in Oslo",
            "noon in CET",
        ]
        assert stream.reasoning == "Need the weather."
        second = seen[1]["input"]
        assert [item["type"] for item in second] == [
            "message",
            "reasoning",
            "function_call",
            "function_call",
            "function_call_output",
            "function_call_output",
        ]
        assert of_type(second, "function_call_output") == [
            {"type": "function_call_output", "call_id": "c1", "output": "sunny in Oslo"},
            {"type": "function_call_output", "call_id": "c2", "output": "noon in CET"},
        ]
        assert second[2]["arguments"] == '{"city": "Oslo"}'

    def test_encrypted_reasoning_goes_back_byte_for_byte(self, fake):
        bodies: list[bytes] = []

        def responder(request: RecordedRequest) -> Reply:
            bodies.append(request.body)
            if len(bodies) == 1:
                return tool_round(ToolCall(0, "c1", "weather", '{"city": "Oslo"}'))
            return answer("done")

        fake.responder = responder
        with codey.stream("w?", tools=[weather], run_tools=True, **options(fake)) as stream:
            assert stream.text == ""
            assert "".join(stream) == "done"
        # The item as the first reply's output_item.done gave it (the fake answers
        # 400 to any other encrypted_content: see the next test).
        assistant = stream.messages[1]
        ((wire, item),) = assistant.replay
        assert wire == "responses"
        assert item["type"] == "reasoning"
        assert item["id"] == "rs_fake_0"
        assert item["summary"] == [{"type": "summary_text", "text": "Need the weather."}]
        assert item["encrypted_content"].startswith("gAAAAB")
        assert of_type(json.loads(bodies[1])["input"], "reasoning") == [item]
        assert "gAAAAB" not in repr(assistant)
        assert "gAAAAB" not in repr(stream.messages)

    def test_without_its_reasoning_the_fake_refuses_the_next_round(self, fake):
        fake.push(tool_round(ToolCall(0, "c1", "weather", '{"city": "Oslo"}')))
        with codey.stream("w?", tools=[weather], **options(fake)) as stream:
            list(stream)
        assert stream.finish_reason == "tool_calls"  # as Chat Completions says it
        by_hand = [
            codey.Message("user", "w?"),
            codey.Message("assistant", "", tool_calls=stream.tool_calls),  # no replay
            codey.Message("tool", "sunny", tool_call_id="c1"),
        ]
        with pytest.raises(codey.APIStatusError, match="required 'reasoning' item") as info:
            codey.complete(by_hand, tools=[weather], **options(fake))
        assert info.value.status_code == 400
        # Tampered with: refused too.
        item = {
            "type": "reasoning",
            "id": "rs_fake_0",
            "summary": [],
            "encrypted_content": "gAAAABx",
        }
        by_hand[1] = codey.Message(
            "assistant", "", tool_calls=stream.tool_calls, replay=[("responses", item)]
        )
        with pytest.raises(codey.APIStatusError, match="required 'reasoning' item"):
            codey.complete(by_hand, tools=[weather], **options(fake))

    def test_arguments_cut_mid_stream_are_retried(self, fake):
        cut = Reply(steps=[Reasoning("hm"), ToolCall(0, "c1", "weather", ['{"ci']), Close()])
        fake.push(cut, tool_round(ToolCall(0, "c1", "weather", '{"city": "Oslo"}')), answer("ok"))
        with codey.stream(
            "w?", tools=[weather], run_tools=True, retries=1, **options(fake)
        ) as stream:
            assert "".join(stream) == "ok"
        assert [r.call.arguments for r in stream.tool_results] == ['{"city": "Oslo"}']
        assert len(fake.requests) == 3
        assert stream.timings.retries == 1

    def test_failed_after_text_is_a_typed_error_with_the_text(self, fake):
        fake.push(
            Reply(
                steps=[
                    Text("Half an "),
                    ErrorEvent("server_error", "boom", code="server_error", failed=True),
                ]
            )
        )
        with pytest.raises(codey.StreamError, match="boom") as info:
            codey.complete("hi", retries=2, **options(fake))
        assert info.value.partial_text == "Half an "
        assert info.value.error_type == "server_error"
        assert len(fake.requests) == 1  # text was shown: no retry


class TestWhatComesBack:
    def test_reasoning_summary_refusal_and_usage(self, fake):
        fake.push(
            Reply(
                steps=[
                    Reasoning("Thinking "),
                    Reasoning("hard."),
                    Text("Sure."),
                    UsageStep(40, 12, cache_read_tokens=30, reasoning_tokens=8),
                    *answer().steps[-2:],
                ]
            )
        )
        with codey.stream("hi", **options(fake)) as stream:
            got = list(stream.events())
        assert [e.text for e in got if isinstance(e, codey.ReasoningDelta)] == [
            "Thinking ",
            "hard.",
        ]
        assert stream.usage == codey.Usage(40, 12, cache_read_tokens=30, reasoning_tokens=8)
        assert not any(type(e).__name__ == "Replay" for e in got)

    def test_reasoning_tokens_over_chat_completions_too(self, fake):
        fake.push(
            Reply(
                steps=[
                    Text("a"),
                    *answer(usage=None).steps[-2:-1],
                    UsageStep(5, 9, reasoning_tokens=6),
                    *answer().steps[-1:],
                ]
            )
        )
        with codey.stream("hi", **kwargs_for(fake, "openai")) as stream:
            assert "".join(stream) == "a"
        assert stream.usage == codey.Usage(5, 9, reasoning_tokens=6)

    def test_a_refusal_is_text(self, fake):
        event = {
            "type": "response.refusal.delta",
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 0,
            "delta": "I can't help with that.",
            "sequence_number": 1,
        }
        fake.push(
            Reply(
                steps=[
                    Raw(f"event: response.refusal.delta\ndata: {json.dumps(event)}\n\n"),
                    *answer().steps,
                ]
            )
        )
        assert codey.complete("hi", **options(fake)) == "I can't help with that."

    def test_schema_answer(self, fake):
        fake.push(answer('{"city": ', '"Oslo"}'))
        with codey.stream("hi", schema="city str", **options(fake, "xai")) as stream:
            assert stream.json() == {"city": "Oslo"}
        assert fake.requests[-1].json["text"]["format"]["type"] == "json_schema"


class TestWholeReply:
    def test_a_whole_response_gives_calls_reasoning_and_its_replay(self, fake):
        """A server that ignored ``stream`` and sent the response whole: the same events."""
        item = {
            "id": "rs_1",
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": "Hm."}],
            "encrypted_content": "gAAAABsealed",
        }
        call = {
            "id": "fc_1",
            "type": "function_call",
            "call_id": "c1",
            "name": "weather",
            "arguments": '{"city": "Oslo"}',
            "status": "completed",
        }
        body = {
            "object": "response",
            "status": "completed",
            "model": "gpt-5.6-terra",
            "output": [item, call],
            "usage": {
                "input_tokens": 9,
                "output_tokens": 7,
                "output_tokens_details": {"reasoning_tokens": 4},
            },
        }
        fake.push(Reply(body=json.dumps(body).encode(), content_type="application/json"))
        fake.push(answer("Sunny."))
        with codey.stream("w?", tools=[weather], run_tools=True, **options(fake)) as stream:
            assert "".join(stream) == "Sunny."
        assert stream.messages[1].replay == (("responses", item),)
        assert of_type(fake.requests[1].json["input"], "reasoning") == [item]
        assert stream.reasoning == "Hm."
