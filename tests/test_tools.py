"""Tools: schemas from functions, the wire formats, and the run_tools loop over a real server."""

from __future__ import annotations

import enum
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Literal, Optional, Union

import pytest

import codey
from codey._retry import is_retryable
from codey.testing import (
    Close,
    Done,
    ErrorEvent,
    Finish,
    Pause,
    Raw,
    Reasoning,
    RecordedRequest,
    Reply,
    Reset,
    Text,
    ToolCall,
    UsageStep,
    answer,
    error,
    events,
)
from tests.helpers import RICH, kwargs_for
from tests.test_attachments import PNG


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


def weather(city: str, days: int = 1, unit: Literal["C", "F"] = "C") -> str:
    """The weather in a city.

    Looks it up somewhere.

    :param city: the city's name,
        in English
    :param days: how many days ahead
    """
    return f"sunny in {city} for {days} days ({unit})"


def kinds(
    tags: list[str],
    scores: dict[str, float],
    maybe: Optional[int],
    either: Union[int, str],
    flag: bool = False,
    colour: Colour = Colour.RED,
    anything: Any = None,
    pair: tuple[int, str] = (1, "a"),
) -> None:
    """Every kind of hint.

    Args:
        tags: labels to put on it, more than one
            if you like.
        scores (dict): a score per name.

    Returns:
        nothing: it is only looked at.
    """


class TestSchema:
    def test_from_hints_and_sphinx_docstring(self):
        tool = codey.Tool.from_function(weather)
        assert tool.name == "weather"
        assert tool.description == "The weather in a city."
        assert tool.parameters == {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "the city's name, in English"},
                "days": {"type": "integer", "description": "how many days ahead (default: 1)"},
                "unit": {"type": "string", "enum": ["C", "F"], "description": 'default: "C"'},
            },
            "required": ["city"],
        }

    def test_every_kind_of_hint_and_google_args(self):
        properties = codey.Tool.from_function(kinds).parameters["properties"]
        assert properties["tags"] == {
            "type": "array",
            "items": {"type": "string"},
            "description": "labels to put on it, more than one if you like.",
        }
        assert properties["scores"] == {
            "type": "object",
            "additionalProperties": {"type": "number"},
            "description": "a score per name.",
        }
        assert properties["maybe"] == {"type": ["integer", "null"]}
        assert properties["either"] == {"type": ["integer", "string"]}
        assert properties["flag"] == {"type": "boolean", "description": "default: false"}
        assert properties["colour"] == {"type": "string", "enum": ["red", "blue"]}
        assert properties["anything"] == {"description": "default: null"}
        assert properties["pair"]["prefixItems"] == [{"type": "integer"}, {"type": "string"}]
        assert codey.Tool.from_function(kinds).parameters["required"] == [
            "tags",
            "scores",
            "maybe",
            "either",
        ]
        assert codey.Tool.from_function(kinds).description == "Every kind of hint."
        assert "nothing" not in json.dumps(properties)

    def test_what_cannot_be_a_tool(self):
        def star(*names: str) -> None: ...

        def odd(when: threading.Event) -> None: ...

        with pytest.raises(ValueError, match=r"named parameters: star has \*names"):
            codey.Tool.from_function(star)
        with pytest.raises(ValueError, match=r"odd's parameter when: .*cannot be described"):
            codey.Tool.from_function(odd)
        with pytest.raises(ValueError, match="name must be"):
            codey.Tool.from_function(weather, name="has space")
        with pytest.raises(ValueError, match="two tools are named 'weather'"):
            codey._tools.to_tools([weather, weather])

    def test_an_explicit_tool_is_kept(self):
        tool = codey.Tool("look", "Look it up.", {"type": "object", "properties": {}}, weather)
        assert codey._tools.to_tools([tool]) == (tool,)


#: A tool call as Chat Completions sends it back.
WIRE_CALL = {
    "id": "c1",
    "type": "function",
    "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
}


class TestWire:
    @pytest.mark.parametrize("provider", ["openai", "xai"])
    def test_chat_completions_tools(self, fake, provider):
        fake.push(answer("ok"))
        codey.complete("hi", tools=[weather], **kwargs_for(fake, provider))
        tools = fake.requests[-1].json["tools"]
        assert tools == [
            {
                "type": "function",
                "function": {
                    "name": "weather",
                    "description": "The weather in a city.",
                    "parameters": codey.Tool.from_function(weather).parameters,
                },
            }
        ]

    def test_anthropic_tools(self, fake):
        fake.push(answer("ok"))
        codey.complete("hi", tools=[weather], **kwargs_for(fake, "anthropic"))
        assert fake.requests[-1].json["tools"] == [
            {
                "name": "weather",
                "description": "The weather in a city.",
                "input_schema": codey.Tool.from_function(weather).parameters,
            }
        ]

    def test_no_tools_no_field(self, fake):
        fake.push(answer("ok"))
        codey.complete("hi", **kwargs_for(fake, "openai"))
        assert "tools" not in fake.requests[-1].json

    @pytest.mark.parametrize("provider", RICH)
    def test_without_run_tools_the_calls_stream_and_are_whole_at_the_end(self, fake, provider):
        fake.push(
            answer(
                "Let me see.", tool_calls=[ToolCall(0, "c1", "weather", ['{"city"', ': "Oslo"}'])]
            )
        )
        with codey.stream("weather?", tools=[weather], **kwargs_for(fake, provider)) as stream:
            got = list(stream.events())
        deltas = [event for event in got if isinstance(event, codey.ToolCallDelta)]
        assert deltas[0].name == "weather"
        assert len(deltas) >= 2
        assert stream.finish_reason in ("tool_calls", "tool_use")
        assert stream.tool_calls == (codey.ToolCall("c1", "weather", '{"city": "Oslo"}'),)
        assert not any(isinstance(event, codey.ToolResult) for event in got)
        assert len(fake.requests) == 1  # nothing was run, nothing sent back

    def test_a_conversation_with_tool_messages_by_hand(self, fake):
        fake.push(answer("ok"), answer("ok"))
        call = codey.ToolCall("c1", "weather", '{"city": "Oslo"}')
        conversation = [
            codey.Message("user", "weather?"),
            codey.Message("assistant", "", tool_calls=[call]),
            codey.Message("tool", "sunny", tool_call_id="c1"),
        ]
        codey.complete(conversation, tools=[weather], **kwargs_for(fake, "openai"))
        assert fake.requests[-1].json["messages"][1:] == [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [WIRE_CALL],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        ]
        # The same conversation as dicts in the Chat Completions shape.
        as_dicts = [
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [WIRE_CALL],
            },
            {"role": "tool", "content": "sunny", "tool_call_id": "c1"},
        ]
        codey.complete(as_dicts, tools=[weather], **kwargs_for(fake, "openai"))
        assert fake.requests[-1].json["messages"] == fake.requests[-2].json["messages"]

    def test_message_rules(self):
        call = codey.ToolCall("c1", "weather")
        with pytest.raises(ValueError, match="tool_calls go with an assistant"):
            codey.Message("user", "x", tool_calls=[call])
        with pytest.raises(ValueError, match="tool_call_id"):
            codey.Message("tool", "x")
        with pytest.raises(ValueError, match="tool_call_id"):
            codey.Message("user", "x", tool_call_id="c1")
        assert repr(call) == "codey.ToolCall(id='c1', name='weather', arguments='{}')"


def tool_round(*calls: ToolCall, text: str = "") -> Reply:
    return answer(*([text] if text else []), tool_calls=calls)


class TestLoop:
    @pytest.mark.parametrize("provider", RICH)
    def test_one_round_then_the_answer(self, fake, provider):
        seen: list[dict[str, Any]] = []

        def responder(request: RecordedRequest) -> Reply:
            seen.append(request.json)
            if len(seen) == 1:
                return tool_round(
                    ToolCall(0, "c1", "weather", ['{"city": "Oslo", ', '"days": 2}']),
                    text="Looking. ",
                )
            return answer("It is ", "sunny.", usage=(30, 4))

        fake.responder = responder
        with codey.stream(
            "weather in Oslo?", tools=[weather], run_tools=True, **kwargs_for(fake, provider)
        ) as stream:
            chunks = list(stream)
        assert chunks == ["Looking. ", "It is ", "sunny."]
        assert stream.text == "Looking. It is sunny."
        assert stream.finish_reason in ("stop", "end_turn")
        assert stream.rounds == 1
        assert [r.output for r in stream.tool_results] == ["sunny in Oslo for 2 days (C)"]
        assert stream.tool_errors == []
        assert stream.usage.input_tokens == 40
        assert stream.usage.output_tokens == 9
        assert len(seen) == 2
        second = seen[1]["messages"]
        if provider == "anthropic":
            assert second[-2] == {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Looking. "},
                    {
                        "type": "tool_use",
                        "id": "c1",
                        "name": "weather",
                        "input": {"city": "Oslo", "days": 2},
                    },
                ],
            }
            assert second[-1] == {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "c1",
                        "content": "sunny in Oslo for 2 days (C)",
                    }
                ],
            }
        else:
            assert second[-2]["tool_calls"][0]["function"] == {
                "name": "weather",
                "arguments": '{"city": "Oslo", "days": 2}',
            }
            assert second[-2]["content"] == "Looking. "
            assert second[-1] == {
                "role": "tool",
                "tool_call_id": "c1",
                "content": "sunny in Oslo for 2 days (C)",
            }
        assert [m.role for m in stream.messages] == ["user", "assistant", "tool", "assistant"]
        assert stream.messages[-1] == codey.Message("assistant", "It is sunny.")

    def test_complete_and_events(self, fake):
        fake.push(tool_round(ToolCall(0, "c1", "weather", '{"city": "Rome"}')), answer("Warm."))
        assert (
            codey.complete("?", tools=[weather], run_tools=True, **kwargs_for(fake, "openai"))
            == "Warm."
        )
        fake.push(tool_round(ToolCall(0, "c1", "weather", '{"city": "Rome"}')), answer("Warm."))
        stream = codey.stream("?", tools=[weather], run_tools=True, **kwargs_for(fake, "openai"))
        got = list(stream.events())
        names = [type(event).__name__ for event in got]
        assert names.count("Finish") == 1
        assert names[-1] == "Finish"
        assert names.index("ToolCallDelta") < names.index("ToolResult") < names.index("TextDelta")
        result = next(event for event in got if isinstance(event, codey.ToolResult))
        assert result.call.name == "weather"
        assert result.output.startswith("sunny in Rome")
        assert got[-1] == codey.Finish("stop")

    def test_several_calls_in_one_round_go_back_in_one_anthropic_message(self, fake):
        fake.push(
            tool_round(
                ToolCall(0, "t1", "weather", '{"city": "A"}'),
                ToolCall(1, "t2", "weather", '{"city": "B"}'),
            ),
            answer("Both sunny."),
        )
        text = codey.complete("?", tools=[weather], run_tools=True, **kwargs_for(fake, "anthropic"))
        assert text == "Both sunny."
        last = fake.requests[-1].json["messages"][-1]
        assert [block["tool_use_id"] for block in last["content"]] == ["t1", "t2"]

    @pytest.mark.parametrize("provider", RICH)
    def test_a_tool_that_raises_goes_back_as_an_error_and_is_kept(self, fake, provider):
        def explode(city: str) -> str:
            raise RuntimeError(f"no data for {city}")

        fake.push(tool_round(ToolCall(0, "c1", "explode", '{"city": "Oslo"}')), answer("Sorry."))
        stream = codey.stream("?", tools=[explode], run_tools=True, **kwargs_for(fake, provider))
        assert "".join(stream) == "Sorry."
        [exc] = stream.tool_errors
        assert isinstance(exc, RuntimeError)
        assert str(exc) == "no data for Oslo"
        sent = fake.requests[-1].json["messages"][-1]
        if provider == "anthropic":
            assert sent["content"] == [
                {
                    "type": "tool_result",
                    "tool_use_id": "c1",
                    "content": "error: RuntimeError: no data for Oslo",
                    "is_error": True,
                }
            ]
        else:
            assert sent == {
                "role": "tool",
                "tool_call_id": "c1",
                "content": "error: RuntimeError: no data for Oslo",
            }

    def test_an_unknown_tool_and_bad_arguments_are_error_results(self, fake):
        fake.push(
            tool_round(
                ToolCall(0, "c1", "nope", "{}"),
                ToolCall(1, "c2", "weather", '{"city": '),
                ToolCall(2, "c3", "weather", "[1, 2]"),
                ToolCall(3, "c4", "weather", '{"town": "Oslo"}'),
            ),
            answer("Hm."),
        )
        stream = codey.stream("?", tools=[weather], run_tools=True, **kwargs_for(fake, "openai"))
        assert "".join(stream) == "Hm."
        outputs = [m["content"] for m in fake.requests[-1].json["messages"] if m["role"] == "tool"]
        assert (
            outputs[0] == "error: ToolCallError: there is no tool named 'nope' (the tools: weather)"
        )
        assert outputs[1].startswith(
            "error: ToolCallError: the arguments of weather are not valid JSON"
        )
        assert (
            outputs[2]
            == "error: ToolCallError: the arguments of weather are a JSON list, not an object"
        )
        assert outputs[3].startswith("error: TypeError: ")
        assert "town" in outputs[3]
        errors = stream.tool_errors
        assert [type(e).__name__ for e in errors] == [
            "ToolCallError",
            "ToolCallError",
            "ToolCallError",
            "TypeError",
        ]
        assert errors[0].call == codey.ToolCall("c1", "nope", "{}")

    def test_rounds_are_bounded(self, fake):
        fake.responder = lambda request: tool_round(
            ToolCall(0, "c1", "weather", '{"city": "X"}'), text="again "
        )
        stream = codey.stream(
            "?", tools=[weather], run_tools=True, max_tool_rounds=2, **kwargs_for(fake, "xai")
        )
        with pytest.raises(codey.TooManyToolRoundsError, match="after 2 rounds") as caught:
            list(stream)
        assert caught.value.partial_text == "again again again "
        assert len(fake.requests) == 3
        assert stream.closed
        assert len(stream.tool_results) == 2
        with pytest.raises(ValueError, match="max_tool_rounds"):
            codey.stream(
                "?", tools=[weather], run_tools=True, max_tool_rounds=0, **kwargs_for(fake, "xai")
            )
        with pytest.raises(ValueError, match="needs tools"):
            codey.stream("?", run_tools=True, **kwargs_for(fake, "xai"))

    def test_each_round_is_retried_before_its_own_first_text(self, fake):
        fake.push(
            tool_round(ToolCall(0, "c1", "weather", '{"city": "X"}'), text="One. "),
            error(503, "busy"),
            answer("Two."),
        )
        options = kwargs_for(fake, "openai", retries=1)
        with codey.stream("?", tools=[weather], run_tools=True, **options) as stream:
            assert "".join(stream) == "One. Two."
        assert len(fake.requests) == 3
        assert stream.timings.retries == 1

    def test_a_failure_in_a_later_round_carries_all_the_text(self, fake):
        fake.push(
            tool_round(ToolCall(0, "c1", "weather", '{"city": "X"}'), text="One. "),
            events(Text("Tw"), Pause(0.01)),
        )
        stream = codey.stream("?", tools=[weather], run_tools=True, **kwargs_for(fake, "openai"))
        with pytest.raises(codey.IncompleteStreamError) as caught:
            list(stream)
        assert caught.value.partial_text == "One. Tw"

    def test_close_while_a_tool_runs(self, fake):
        fake.push(tool_round(ToolCall(0, "c1", "slow", "{}")), answer("never"))
        holder: list[codey.Stream] = []

        def slow() -> str:
            holder[0].close()  # as another thread would, while the tool runs
            return "done"

        stream = codey.stream("?", tools=[slow], run_tools=True, **kwargs_for(fake, "openai"))
        holder.append(stream)
        assert list(stream) == []
        assert stream.cancelled
        assert stream.closed
        assert len(fake.requests) == 1

    def test_cancel_event_stops_the_loop(self, fake):
        stop = threading.Event()

        def stopper() -> str:
            stop.set()
            return "ok"

        fake.push(
            tool_round(ToolCall(0, "c1", "stopper", "{}")),
            events(Text("x"), Pause(5.0), Finish(), Done()),
        )
        with codey.stream(
            "?", tools=[stopper], run_tools=True, cancel=stop, **kwargs_for(fake, "openai")
        ) as stream:
            list(stream)
        assert stream.cancelled

    def test_keyboard_interrupt_in_a_tool_is_not_sent_back(self, fake):
        def interrupted() -> str:
            raise KeyboardInterrupt

        fake.push(tool_round(ToolCall(0, "c1", "interrupted", "{}")), answer("never"))
        stream = codey.stream(
            "?", tools=[interrupted], run_tools=True, **kwargs_for(fake, "openai")
        )
        with pytest.raises(KeyboardInterrupt):
            list(stream)
        assert len(fake.requests) == 1
        assert stream.closed

    def test_results_that_are_not_text(self, fake):
        def data() -> dict[str, Any]:
            return {"temp": 21, "city": "Zürich"}

        fake.push(tool_round(ToolCall(0, "c1", "data", "")), answer("ok"))
        codey.complete("?", tools=[data], run_tools=True, **kwargs_for(fake, "openai"))
        tool = fake.requests[-1].json["messages"][-1]
        assert json.loads(tool["content"]) == {"temp": 21, "city": "Zürich"}


class TestRetriedAttempt:
    """A retry starts from nothing: no piece of the failed attempt joins the retry's."""

    @staticmethod
    def cut(ending: object) -> Reply:
        """An attempt that breaks inside a tool call, before any text."""
        return events(
            Reasoning("hmm"),
            UsageStep(7, 1),
            ToolCall(0, "c1", "weather", ['{"city": "Os']),
            ending,  # type: ignore[arg-type]
        )

    @pytest.mark.parametrize("provider", RICH)
    @pytest.mark.parametrize("ending", [Reset(), Close()])
    def test_the_retry_alone_is_the_answer(self, fake, provider, ending):
        fake.push(
            self.cut(ending),
            answer(tool_calls=[ToolCall(0, "c2", "weather", '{"city": "Oslo"}')], usage=(10, 5)),
        )
        with codey.stream("?", tools=[weather], **kwargs_for(fake, provider, retries=1)) as stream:
            assert list(stream) == []
        assert stream.tool_calls == (codey.ToolCall("c2", "weather", '{"city": "Oslo"}'),)
        assert stream.reasoning == ""
        assert (stream.usage.input_tokens, stream.usage.output_tokens) == (10, 5)
        assert stream.finish_reason in ("tool_calls", "tool_use")
        assert len(fake.requests) == 2

    @pytest.mark.parametrize("provider", RICH)
    def test_the_tool_loop_runs_the_retried_call(self, fake, provider):
        fake.push(
            self.cut(Reset()),
            tool_round(ToolCall(0, "c2", "weather", '{"city": "Oslo"}')),
            answer("Sunny.", usage=(20, 2)),
        )
        options = kwargs_for(fake, provider, retries=1)
        with codey.stream("?", tools=[weather], run_tools=True, **options) as stream:
            assert "".join(stream) == "Sunny."
        assert [r.output for r in stream.tool_results] == ["sunny in Oslo for 1 days (C)"]
        assert stream.tool_errors == []
        assert stream.reasoning == ""
        assert (stream.usage.input_tokens, stream.usage.output_tokens) == (30, 7)
        assert stream.messages[1].tool_calls == (
            codey.ToolCall("c2", "weather", '{"city": "Oslo"}'),
        )

    @pytest.mark.parametrize("provider", RICH)
    @pytest.mark.parametrize("run_tools", [False, True])
    def test_pieces_seen_through_events_are_not_retried(self, fake, provider, run_tools):
        fake.push(self.cut(Reset()), tool_round(ToolCall(0, "c2", "weather", '{"city": "Oslo"}')))
        options = kwargs_for(fake, provider, retries=1)
        got: list[object] = []
        stream = codey.stream("?", tools=[weather], run_tools=run_tools, **options)
        with stream, pytest.raises(codey.CodeyError) as caught:
            got.extend(stream.events())
        assert is_retryable(caught.value)  # it would have been retried, were it not seen
        calls = [event for event in got if isinstance(event, codey.ToolCallDelta)]
        assert [(call.id, call.name) for call in calls if call.name] == [("c1", "weather")]
        assert len(fake.requests) == 1  # the retry waits at least 0.25 s: it never went out

    def test_usage_seen_through_events_does_not_stop_a_retry(self, fake):
        # A usage report is not a piece of the answer (Anthropic's now comes whole at
        # message_delta, so the failed attempt may show none).
        fake.push(events(UsageStep(7, 1), ErrorEvent("overloaded_error")), answer("ok"))
        options = kwargs_for(fake, "anthropic", retries=1)
        with codey.stream("?", **options) as stream:
            got = list(stream.events())
        assert [event.text for event in got if isinstance(event, codey.TextDelta)] == ["ok"]
        assert sum(isinstance(event, codey.Usage) for event in got) >= 1
        assert stream.usage.input_tokens == 10
        assert len(fake.requests) == 2


FIXTURES = Path(__file__).parent / "fixtures"


def recording(provider: str, case: str) -> tuple[bytes, dict[str, Any]]:
    """A real provider's recorded body (see fixtures/SOURCES.rst) and what it holds."""
    body = (FIXTURES / provider / f"{case}.sse").read_bytes()
    expected = json.loads((FIXTURES / provider / f"{case}.expected.json").read_text("utf-8"))
    return body, expected


class TestRecordedRetries:
    """Real recordings cut inside a tool call, then retried whole."""

    @pytest.mark.parametrize(
        ("provider", "case", "kept"),
        # Up to the first call's first argument piece (Anthropic: its one, empty).
        [("anthropic", "tool_use", 4), ("openai", "tool_call_multiply", 7)],
    )
    def test_a_cut_recording_retried(self, fake, provider, case, kept):
        body, expected = recording(provider, case)
        cut = b"".join(event + b"\n\n" for event in body.split(b"\n\n")[:kept])
        fake.push(events(Raw(cut), Reset()), events(Raw(body)))
        with codey.stream("?", **kwargs_for(fake, provider, retries=1)) as stream:
            assert list(stream) == expected["chunks"]
        calls = [[call.id, call.name, call.arguments] for call in stream.tool_calls]
        assert calls == expected["tool_calls"]
        assert [stream.usage.input_tokens, stream.usage.output_tokens] == expected["usage"]
        assert len(fake.requests) == 2


class TestServerTools:
    """Anthropic's server tools (web search, MCP...) are the server's business, not calls."""

    def test_a_recorded_web_search_answer_is_one_request(self, fake):
        body, expected = recording("anthropic", "web_search")
        fake.push(events(Raw(body)), answer("a second request"))
        options = kwargs_for(fake, "anthropic")
        with codey.stream("weather?", tools=[weather], run_tools=True, **options) as stream:
            got = list(stream.events())
        assert stream.text == "".join(expected["chunks"])
        assert stream.finish_reason == "end_turn"
        assert stream.tool_calls == ()
        assert stream.rounds == 0
        assert not any(isinstance(event, codey.ToolCallDelta) for event in got)
        assert len(fake.requests) == 1

    def test_mcp_and_server_blocks_beside_a_client_call(self, fake):
        # The documented shapes: mcp_tool_use and server_tool_use blocks with their
        # input_json_deltas and results, then the client's own tool_use block.
        blocks = [
            {"type": "mcp_tool_use", "id": "mcptoolu_1", "name": "ask", "server_name": "wiki"},
            {
                "type": "mcp_tool_result",
                "tool_use_id": "mcptoolu_1",
                "is_error": False,
                "content": [{"type": "text", "text": "found"}],
            },
            {"type": "server_tool_use", "id": "srvtoolu_1", "name": "code_execution"},
            {
                "type": "code_execution_tool_result",
                "tool_use_id": "srvtoolu_1",
                "content": {
                    "type": "code_execution_result",
                    "stdout": "4",
                    "stderr": "",
                    "return_code": 0,
                    "content": [],
                },
            },
            {"type": "tool_use", "id": "toolu_1", "name": "weather"},
        ]
        script = [
            {"type": "message_start", "message": {"usage": {"input_tokens": 5, "output_tokens": 1}}}
        ]
        for index, block in enumerate(blocks):
            if "input" not in block and block["type"].endswith("tool_use"):
                block = {**block, "input": {}}
            script.append({"type": "content_block_start", "index": index, "content_block": block})
            if block["type"].endswith("tool_use"):
                piece = '{"city": "Oslo"}' if block["type"] == "tool_use" else '{"q": "x"}'
                script.append(
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": piece},
                    }
                )
            script.append({"type": "content_block_stop", "index": index})
        script.append(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use"},
                "usage": {"output_tokens": 9},
            }
        )
        script.append({"type": "message_stop"})
        raw = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in script)
        fake.push(events(Raw(raw)), answer("Sunny."))
        options = kwargs_for(fake, "anthropic")
        with codey.stream("?", tools=[weather], run_tools=True, **options) as stream:
            assert "".join(stream) == "Sunny."
        assert [r.call for r in stream.tool_results] == [
            codey.ToolCall("toolu_1", "weather", '{"city": "Oslo"}')
        ]
        # The server's blocks go back as they came (their inputs whole), before the call.
        sent = fake.requests[1].json["messages"][-2]["content"]
        server_blocks = [
            {**block, "input": {"q": "x"}} if "id" in block else block for block in blocks[:4]
        ]
        assert sent == [
            *server_blocks,
            {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Oslo"}},
        ]


class TestRepeatedNames:
    """A name (and id) some servers repeat in every delta of one call is that name."""

    def test_the_recorded_call_runs(self, fake):
        body, _ = recording("openai", "repeated_name")

        def llm_version() -> str:
            return "0.27"

        fake.push(events(Raw(body)), answer("It is 0.27."))
        options = kwargs_for(fake, "openai")
        with codey.stream("?", tools=[llm_version], run_tools=True, **options) as stream:
            assert "".join(stream) == "It is 0.27."
        assert [r.call.name for r in stream.tool_results] == ["llm_version"]
        assert stream.tool_errors == []

    def test_name_and_id_in_every_delta_as_llama_cpp_sends_them(self, fake):
        def chunk(arguments: str) -> str:
            call = {"index": 0, "id": "abc", "type": "function",
                    "function": {"name": "weather", "arguments": arguments}}  # fmt: skip
            delta = {"choices": [{"index": 0, "delta": {"tool_calls": [call]}}]}
            return f"data: {json.dumps(delta)}\n\n"

        raw = "".join(chunk(piece) for piece in ['{"city"', ': "Oslo"', "}"])
        raw += 'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}\n\n'
        fake.push(events(Raw(raw + "data: [DONE]\n\n")))
        with codey.stream("?", tools=[weather], **kwargs_for(fake, "openai")) as stream:
            list(stream)
        assert stream.tool_calls == (codey.ToolCall("abc", "weather", '{"city": "Oslo"}'),)


class TestSeveralChoices:
    """Several choices in one Chat Completions stream: choice 0 is the answer."""

    def test_the_other_choices_are_not_interleaved(self, fake):
        def chunk(index: int, delta: dict[str, Any], reason: Optional[str] = None) -> str:
            choice = {"index": index, "delta": delta, "finish_reason": reason}
            return f"data: {json.dumps({'choices': [choice]})}\n\n"

        def call(index: int, name: str) -> dict[str, Any]:
            return {"tool_calls": [{"index": 0, "id": f"c{index}", "type": "function",
                                    "function": {"name": name, "arguments": "{}"}}]}  # fmt: skip

        raw = "".join(
            [
                chunk(1, {"content": "One "}),
                chunk(0, {"content": "Zero "}),
                chunk(2, {"reasoning_content": "hmm"}),
                chunk(2, call(2, "other")),
                chunk(0, call(0, "weather")),
                chunk(1, {"content": "more"}),
                chunk(1, {}, "length"),
                chunk(0, {}, "tool_calls"),
                chunk(2, {}, "stop"),
                "data: [DONE]\n\n",
            ]
        )
        fake.push(events(Raw(raw)))
        with codey.stream("?", tools=[weather], **kwargs_for(fake, "xai")) as stream:
            assert list(stream) == ["Zero "]
        assert stream.tool_calls == (codey.ToolCall("c0", "weather", "{}"),)
        assert stream.finish_reason == "tool_calls"
        assert stream.reasoning == ""


class TestLoopUsage:
    """The usage of a tool loop sums every count, the cache's too."""

    def test_cache_counts_are_summed(self, fake):
        fake.push(
            events(
                ToolCall(0, "c1", "weather", '{"city": "Oslo"}'),
                Finish(),
                UsageStep(10, 5, cache_read_tokens=100, cache_write_tokens=20),
                Done(),
            ),
            events(Text("Sunny."), Finish(), UsageStep(30, 4, cache_read_tokens=120), Done()),
        )
        options = kwargs_for(fake, "anthropic")
        with codey.stream("?", tools=[weather], run_tools=True, **options) as stream:
            assert "".join(stream) == "Sunny."
        assert stream.usage == codey.Usage(40, 9, 220, 20)

    def test_none_only_when_no_round_reported_them(self, fake):
        fake.push(tool_round(ToolCall(0, "c1", "weather", '{"city": "Oslo"}')), answer("Sunny."))
        options = kwargs_for(fake, "openai")
        with codey.stream("?", tools=[weather], run_tools=True, **options) as stream:
            assert "".join(stream) == "Sunny."
        assert stream.usage == codey.Usage(20, 10, None, None)

    def test_a_recorded_anthropic_loop(self, fake):
        # Both rounds of a real loop: two calls, then the answer (cache counts 0 in each).
        first, _ = recording("anthropic", "tool_use")
        second, expected = recording("anthropic", "tool_use_answer")
        names = iter(["Charles", "Sammy"])

        def pelican_name_generator() -> str:
            return next(names)

        fake.push(events(Raw(first)), events(Raw(second)))
        options = kwargs_for(fake, "anthropic")
        tools = [pelican_name_generator]
        with codey.stream(
            "Two names for a pet pelican", tools=tools, run_tools=True, **options
        ) as s:
            assert list(s) == expected["chunks"]
        assert [r.output for r in s.tool_results] == ["Charles", "Sammy"]
        assert s.usage == codey.Usage(542 + 678, 62 + 82, 0, 0)
        results = fake.requests[1].json["messages"][-1]["content"]
        assert [r["tool_use_id"] for r in results] == [
            "toolu_01LtHJmixrs9NcWQkK8hu8hj",
            "toolu_01N8a4jWyf116qKTMqKKmjyt",
        ]


# -- what a tool returns besides text, and MCP without its SDK ------------------------


def test_a_python_tool_may_return_an_image(fake):
    image = codey.Attachment.from_bytes(PNG)

    def snapshot() -> list[object]:
        """A picture of the screen."""
        return ["the screen:", image]

    seen: list[dict[str, Any]] = []

    def responder(request: RecordedRequest) -> Reply:
        seen.append(request.json)
        if len(seen) == 1:
            return answer(tool_calls=[ToolCall(0, "c1", "snapshot", ["{}"])])
        return answer("I see it.")

    fake.responder = responder
    stream = codey.stream("Look", tools=[snapshot], run_tools=True, **kwargs_for(fake, "anthropic"))
    assert "".join(stream) == "I see it."
    assert stream.tool_results[0].output == "the screen:"
    assert stream.tool_results[0].attachments == (image,)
    block = seen[1]["messages"][-1]["content"][0]
    assert block["content"][1]["source"]["data"] == image.base64()


def test_a_tools_pdf_by_url_over_chat_completions_is_a_line_not_a_failed_round(fake):
    """Chat Completions takes a PDF as data only: a tool's PDF URL is said in its text."""
    report = codey.Attachment.from_url("https://example.com/report.pdf")

    def fetch() -> list[object]:
        """The report."""
        return ["the report:", report]

    fake.push(answer(tool_calls=[ToolCall(0, "c1", "fetch", ["{}"])]), answer("Noted."))
    options = kwargs_for(fake, "openai", model="gpt-4.1", api="chat")
    assert codey.complete("Read", tools=[fetch], run_tools=True, **options) == "Noted."
    sent = fake.requests[1].json["messages"]
    assert sent[-1]["role"] == "tool"
    assert sent[-1]["content"].startswith("the report:\n[codey: the tool returned ")
    assert "takes a PDF as data, not a URL" in sent[-1]["content"]


def test_mcp_without_the_sdk_says_what_to_install():
    code = (
        "import sys; sys.modules['mcp'] = None\n"
        "import codey\n"
        "try:\n"
        "    codey.MCP(['server'])\n"
        "except codey.MCPError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    if sys.version_info >= (3, 10):
        assert out.stdout.strip() == "codey.MCP needs the mcp SDK: pip install 'codey[mcp]'"
    else:
        assert out.stdout.startswith("codey.MCP needs Python 3.10 or later (the mcp SDK does)")
