"""The providers' own tools (``tools=["web_search"]``, ``codey.ServerTool``): their
definitions per provider, their calls as ``ServerToolCall`` events, and Anthropic's
``pause_turn`` continued on every stream."""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import codey
from codey.testing import (
    Done,
    FakeProvider,
    Finish,
    Pause,
    Raw,
    ServerToolUse,
    Stall,
    Text,
    ToolCall,
    UsageStep,
    answer,
    events,
)
from tests.helpers import FAKE_KEY


def options(fake: FakeProvider, provider: str, model: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": model,
        "api_key": FAKE_KEY,
        "base_url": fake.base_url(provider),
        "chunk_timeout": 2.0,
        "connect_timeout": 2.0,
        **extra,
    }


CLAUDE = ("anthropic", "claude-sonnet-5")
GPT = ("openai", "gpt-4.1")  # a Chat Completions model by default
GROK = ("xai", "grok-4.3")


def search(query: str = "oslo weather", **extra: Any) -> ServerToolUse:
    return ServerToolUse("web_search", {"query": query}, **extra)


def paused(*steps: Any) -> Any:
    return events(*steps, Finish("pause_turn"), UsageStep(), Done())


def weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny in {city}"


class TestDefinitions:
    @pytest.mark.parametrize(
        ("target", "tool", "words"),
        [
            (CLAUDE, "x_search", "anthropic offers no x_search server tool"),
            (GPT, "web_fetch", "openai offers no web_fetch server tool"),
            (GPT, "x_search", "openai offers no x_search server tool"),
            (GROK, "web_fetch", "xai offers no web_fetch server tool"),
        ],
    )
    def test_a_tool_the_provider_lacks_is_refused_before_sending(
        self, fake: FakeProvider, target: tuple[str, str], tool: str, words: str
    ) -> None:
        with pytest.raises(codey.UnsupportedOptionError, match=words):
            codey.stream("hi", tools=[tool], **options(fake, *target))
        assert fake.requests == []

    @pytest.mark.parametrize(
        ("target", "tool", "words"),
        [
            (CLAUDE, codey.ServerTool("code_execution", max_uses=2), "takes no max_uses"),
            (GPT, codey.ServerTool("web_search", blocked_domains=["x.com"]), "blocked_domains"),
            (GPT, codey.ServerTool("web_search", max_uses=3), "takes no max_uses"),
            (GROK, codey.ServerTool("web_search", max_uses=3), "takes no max_uses"),
            (GROK, codey.ServerTool("web_search", user_location={"city": "Oslo"}), "location"),
        ],
    )
    def test_an_option_the_provider_lacks_is_refused_before_sending(
        self, fake: FakeProvider, target: tuple[str, str], tool: Any, words: str
    ) -> None:
        with pytest.raises(codey.UnsupportedOptionError, match=words):
            codey.stream("hi", tools=[tool], **options(fake, *target))
        assert fake.requests == []

    def test_a_name_codey_does_not_know_is_a_value_error(self) -> None:
        with pytest.raises(ValueError, match="a server tool is one of web_search"):
            codey.ServerTool("web_browse")
        with pytest.raises(ValueError, match="given twice"):
            codey.stream("hi", tools=["web_search", "web_search"], model="claude-sonnet-5")

    def test_anthropic_gets_its_server_tools_with_their_options_and_beta_header(
        self, fake: FakeProvider
    ) -> None:
        fake.push(answer("ok"))
        tools = [
            weather,
            codey.ServerTool(
                "web_search",
                allowed_domains=["yr.no"],
                max_uses=3,
                user_location={"city": "Oslo", "country": "NO"},
            ),
            codey.ServerTool("web_fetch", blocked_domains=["example.com"], max_uses=1),
            "code_execution",
        ]
        assert codey.complete("hi", tools=tools, **options(fake, *CLAUDE)) == "ok"
        request = fake.requests[0]
        assert request.json["tools"][1:] == [
            {
                "type": "web_search_20250305",
                "name": "web_search",
                "allowed_domains": ["yr.no"],
                "max_uses": 3,
                "user_location": {"type": "approximate", "city": "Oslo", "country": "NO"},
            },
            {
                "type": "web_fetch_20250910",
                "name": "web_fetch",
                "blocked_domains": ["example.com"],
                "max_uses": 1,
            },
            {"type": "code_execution_20250825", "name": "code_execution"},
        ]
        assert request.json["tools"][0]["name"] == "weather"
        assert request.headers["anthropic-beta"] == "web-fetch-2025-09-10"  # code execution is GA

    def test_openai_goes_over_responses_with_its_forms(self, fake: FakeProvider) -> None:
        """gpt-4.1 goes over Chat Completions by default; with server tools, Responses."""
        fake.push(answer("ok"))
        location = {"city": "Oslo", "timezone": "Europe/Oslo"}
        tools = [
            codey.ServerTool("web_search", allowed_domains=["yr.no"], user_location=location),
            "code_execution",
        ]
        with codey.stream("hi", tools=tools, **options(fake, *GPT)) as stream:
            assert "".join(stream) == "ok"
        assert stream.api == "responses"
        assert fake.requests[0].path == "/openai/v1/responses"
        assert fake.requests[0].json["tools"] == [
            {
                "type": "web_search",
                "filters": {"allowed_domains": ["yr.no"]},
                "user_location": {"type": "approximate", **location},
            },
            {"type": "code_interpreter", "container": {"type": "auto"}},
        ]

    def test_xai_gets_its_forms(self, fake: FakeProvider) -> None:
        fake.push(answer("ok"))
        tools = [
            codey.ServerTool("web_search", allowed_domains=["x.ai"], blocked_domains=["y.com"]),
            "x_search",
            "code_execution",
        ]
        assert codey.complete("hi", tools=tools, **options(fake, *GROK)) == "ok"
        assert fake.requests[0].path == "/xai/v1/responses"
        assert fake.requests[0].json["tools"] == [
            {"type": "web_search", "allowed_domains": ["x.ai"], "excluded_domains": ["y.com"]},
            {"type": "x_search"},
            {"type": "code_interpreter"},
        ]

    @pytest.mark.parametrize("target", [GPT, GROK])
    def test_chat_completions_has_none(self, fake: FakeProvider, target: tuple[str, str]) -> None:
        with pytest.raises(codey.UnsupportedOptionError, match="no server tools"):
            codey.stream("hi", tools=["web_search"], **options(fake, *target, api="chat"))
        assert fake.requests == []

    def test_a_compatible_service_has_none(self, fake: FakeProvider) -> None:
        """A Chat Completions service of its own has no Responses API to go to."""
        with pytest.raises(codey.UnsupportedOptionError, match="no server tools"):
            codey.stream(
                "hi",
                tools=["web_search"],
                model="deepseek:deepseek-chat",
                api_key=FAKE_KEY,
                base_url=fake.base_url("openai"),
            )
        assert fake.requests == []

    def test_run_tools_needs_a_function(self) -> None:
        with pytest.raises(ValueError, match="run_tools=True needs tools="):
            codey.stream("hi", tools=["web_search"], run_tools=True, model="claude-sonnet-5")


class TestCalls:
    def test_anthropic_calls_stream_as_server_tool_calls(self, fake: FakeProvider) -> None:
        fake.push(
            events(
                Text("Looking. "),
                search(sources=("https://yr.no/",)),
                ServerToolUse("web_fetch", {"url": "https://down.example/"}, error="unavailable"),
                ServerToolUse("code_execution", {"command": "echo 2"}, output="2\n"),
                Text("Sunny."),
                Finish(),
                Done(),
            )
        )
        with codey.stream("Weather?", tools=["web_search"], **options(fake, *CLAUDE)) as stream:
            seen = [event for event in stream.events() if isinstance(event, codey.ServerToolCall)]
        assert [(call.name, call.status, call.error) for call in seen] == [
            ("web_search", "in_progress", None),
            ("web_search", "completed", None),
            ("web_fetch", "in_progress", None),
            ("web_fetch", "failed", "unavailable"),
            ("code_execution", "in_progress", None),
            ("code_execution", "completed", None),
        ]
        assert seen[0].input == {"query": "oslo weather"}
        assert seen[0].id == seen[1].id == "srvtoolu_fake_1"
        assert stream.text == "Looking. Sunny."
        assert stream.tool_calls == ()
        assert [(call.name, call.status) for call in stream.server_tool_calls] == [
            ("web_search", "completed"),
            ("web_fetch", "failed"),
            ("code_execution", "completed"),
        ]
        assert stream.server_tool_calls[2].input == {"command": "echo 2"}

    @pytest.mark.parametrize("target", [GPT, GROK])
    def test_responses_calls_stream_with_their_statuses(
        self, fake: FakeProvider, target: tuple[str, str]
    ) -> None:
        fake.push(
            events(
                search("oslo", sources=("https://yr.no/",)),
                ServerToolUse("code_execution", {"code": "print(2)"}, output="2\n"),
                Text("Sunny."),
                Finish(),
                Done(),
            )
        )
        tools = ["web_search", "code_execution"]
        with codey.stream("Weather?", tools=tools, **options(fake, *target)) as stream:
            seen = [event for event in stream.events() if isinstance(event, codey.ServerToolCall)]
        searches = [call.status for call in seen if call.name == "web_search"]
        code = [call.status for call in seen if call.name == "code_execution"]
        assert searches[:3] == ["in_progress", "searching", "completed"]
        assert "interpreting" in code
        assert code[-1] == "completed"
        first, second = stream.server_tool_calls
        assert first.input == {
            "type": "search",
            "query": "oslo",
            "sources": [{"type": "url", "url": "https://yr.no/"}],
        }
        assert second.input == {"code": "print(2)"}
        assert stream.tool_calls == ()
        assert stream.text == "Sunny."

    def test_a_failed_search_over_responses(self, fake: FakeProvider) -> None:
        fake.push(events(search(error="unavailable"), Text("Sorry."), Finish(), Done()))
        with codey.stream("?", tools=["web_search"], **options(fake, *GPT)) as stream:
            assert "".join(stream) == "Sorry."
        assert [call.status for call in stream.server_tool_calls] == ["failed"]

    @pytest.mark.parametrize("target", [CLAUDE, GPT])
    def test_a_tool_loop_runs_functions_never_server_tools(
        self, fake: FakeProvider, target: tuple[str, str]
    ) -> None:
        fake.push(
            events(
                search("oslo"),
                ToolCall(0, name="weather", arguments='{"city": "Oslo"}'),
                Finish(),
                Done(),
            ),
            events(Text("Sunny, says the tool."), Finish(), Done()),
        )
        ran: list[str] = []

        def weather(city: str) -> str:
            """The weather in a city."""
            ran.append(city)
            return "sunny"

        with codey.stream(
            "Weather?", tools=[weather, "web_search"], run_tools=True, **options(fake, *target)
        ) as stream:
            assert "".join(stream) == "Sunny, says the tool."
        assert ran == ["Oslo"]
        assert [call.name for call in stream.tool_calls] == ["weather"]
        assert [call.name for call in stream.server_tool_calls] == ["web_search"]
        assert stream.rounds == 1
        # the server tool's blocks went back with the round, unchanged
        sent = str(fake.requests[1].json)
        assert ("srvtoolu_fake_1" if target == CLAUDE else "ws_fake_0") in sent


class TestPauses:
    def test_a_plain_stream_goes_on_after_a_pause(self, fake: FakeProvider) -> None:
        fake.push(
            paused(Text("Let me look. "), search()),
            events(Text("Sunny."), Finish(), UsageStep(3, 2), Done()),
        )
        with codey.stream("Weather?", tools=["web_search"], **options(fake, *CLAUDE)) as stream:
            pieces = list(stream.events())
        assert stream.text == "Let me look. Sunny."
        assert [piece.text for piece in pieces if isinstance(piece, codey.TextDelta)] == [
            "Let me look. ",
            "Sunny.",
        ]
        assert stream.finish_reason == "end_turn"
        assert pieces[-1] == codey.Finish("end_turn")
        assert stream.usage == codey.Usage(13, 7)
        assert len(fake.requests) == 2
        # The paused turn went back whole, as it came (the fake answers 400 otherwise).
        first, second = (request.json for request in fake.requests)
        assert second["messages"][:-1] == first["messages"]
        assert [block["type"] for block in second["messages"][-1]["content"]] == [
            "text",
            "server_tool_use",
            "web_search_tool_result",
        ]
        assert second["tools"] == first["tools"]

    def test_two_pauses_make_one_answer(self, fake: FakeProvider) -> None:
        fake.push(
            paused(Text("One. "), search("a")),
            paused(Text("Two. "), search("b", id="srvtoolu_b")),
            answer("Three."),
        )
        with codey.stream("?", tools=["web_search"], **options(fake, *CLAUDE)) as stream:
            assert "".join(stream) == "One. Two. Three."
        third = fake.requests[2].json["messages"][-1]["content"]
        assert [block.get("id") for block in third if block["type"] == "server_tool_use"] == [
            "srvtoolu_fake_1",
            "srvtoolu_b",
        ]
        assert third[0] == {"type": "text", "text": "One. Two. "}
        assert len(stream.server_tool_calls) == 2

    def test_pauses_are_bounded(self, fake: FakeProvider) -> None:
        from codey._pauses import MAX_PAUSES

        for _ in range(MAX_PAUSES + 2):
            fake.push(answer("more ", finish_reason="pause_turn"))
        with codey.stream("?", **options(fake, *CLAUDE)) as stream:
            assert "".join(stream) == "more " * (MAX_PAUSES + 1)
        assert stream.finish_reason == "pause_turn"
        assert len(fake.requests) == MAX_PAUSES + 1

    def test_the_deadline_bounds_the_whole_run(self, fake: FakeProvider) -> None:
        """Each part alone is within the deadline; together they are not."""
        fake.push(
            paused(Pause(0.4), Text("Part one. "), search()),
            events(Pause(0.4), Text("Part two."), Finish(), Done()),
        )
        started = time.monotonic()
        stream = codey.stream("?", tools=["web_search"], **options(fake, *CLAUDE, deadline=0.6))
        with pytest.raises(codey.DeadlineExceededError) as caught:
            "".join(stream)
        assert time.monotonic() - started < 3.0
        assert caught.value.partial_text == "Part one. "
        assert len(fake.requests) == 2

    def test_a_retry_of_the_next_part_keeps_the_first(self, fake: FakeProvider) -> None:
        fake.push(
            paused(Text("One. "), search()),
            codey.testing.error(529, "Overloaded"),
            answer("Two."),
        )
        kwargs = options(fake, *CLAUDE)
        with codey.stream("?", tools=["web_search"], **kwargs) as stream:
            assert "".join(stream) == "One. Two."
        assert len(stream.server_tool_calls) == 1
        assert stream.timings.retries == 1
        assert len(fake.requests) == 3

    def test_closing_during_the_next_part_ends_it(self, fake: FakeProvider) -> None:
        fake.push(paused(Text("One. "), search()), events(Stall()))
        stream = codey.stream("?", tools=["web_search"], **options(fake, *CLAUDE))
        got: list[str] = []
        reader = threading.Thread(target=lambda: got.extend(stream))
        reader.start()
        assert fake.wait_for_requests(2, timeout=2.0)  # the next part, stalled
        stream.close()  # from another thread, as any stream's
        reader.join(2.0)
        assert not reader.is_alive()
        assert fake.requests[1].disconnected.wait(2.0)
        assert stream.cancelled
        assert got == ["One. "]

    def test_the_fake_refuses_a_continuation_without_the_paused_blocks(
        self, fake: FakeProvider
    ) -> None:
        import requests

        fake.push(paused(Text("One. "), search()))
        with codey.stream("?", tools=["web_search"], **options(fake, *CLAUDE)) as stream:
            for _ in stream.events():
                break  # closed before the pause: no continuation sent
        body = {
            "model": "claude-sonnet-5",
            "max_tokens": 100,
            "stream": True,
            "messages": [
                {"role": "user", "content": "?"},
                {"role": "assistant", "content": "One."},
            ],
        }
        response = requests.post(fake.url + "/anthropic/v1/messages", json=body, timeout=5)
        assert response.status_code == 400
        assert "server_tool_use" in response.json()["error"]["message"]


class TestFakeRequests:
    @pytest.mark.parametrize(
        ("path", "tools", "words"),
        [
            ("/anthropic/v1/messages", [{"type": "web_search_2099", "name": "w"}], "Input tag"),
            (
                "/anthropic/v1/messages",
                [{"type": "web_fetch_20250910", "name": "web_fetch"}],
                "anthropic-beta",
            ),
            ("/openai/v1/responses", [{"type": "web_browse"}], "Invalid value: 'web_browse'"),
            ("/openai/v1/responses", [{"type": "code_interpreter"}], "tools[0].container"),
            ("/openai/v1/responses", [{"type": "x_search"}], "Invalid value: 'x_search'"),
            (
                "/xai/v1/responses",
                [{"type": "web_search", "blocked_domains": ["a"]}],
                "tools[0].blocked_domains",
            ),
        ],
    )
    def test_a_server_tool_the_api_does_not_take_gets_its_400(
        self, fake: FakeProvider, path: str, tools: list[dict[str, Any]], words: str
    ) -> None:
        import requests

        body = {"model": "m", "stream": True, "tools": tools, "input": "hi", "messages": []}
        response = requests.post(fake.url + path, json=body, timeout=5)
        assert response.status_code == 400
        assert words in response.text


class TestRecordings:
    """Real responses, recorded by other projects' test suites (fixtures/SOURCES.rst)."""

    def test_a_claude_web_search(self, fake: FakeProvider) -> None:
        fake.push(events(Raw((RECORDED.parent / "anthropic" / "web_search.sse").read_bytes())))
        with codey.stream("?", tools=["web_search"], **options(fake, *CLAUDE)) as stream:
            calls = [event for event in stream.events() if isinstance(event, codey.ServerToolCall)]
        assert [(call.name, call.status) for call in calls] == [
            ("web_search", "in_progress"),
            ("web_search", "completed"),
        ]
        assert calls[0].id == "srvtoolu_01SPfvT38PDPAFnkcrMNGUrM"
        assert calls[0].input == {"query": "San Francisco weather today"}
        assert stream.tool_calls == ()

    def test_a_claude_code_execution(self, fake: FakeProvider) -> None:
        fake.push(events(Raw((RECORDED.parent / "anthropic" / "code_execution.sse").read_bytes())))
        with codey.stream("?", tools=["code_execution"], **options(fake, *CLAUDE)) as stream:
            "".join(stream)
        (call,) = stream.server_tool_calls
        assert (call.name, call.status, call.id) == (
            "code_execution",
            "completed",
            "srvtoolu_01MwXaweAHve88x6s3Fc8x6Q",
        )
        assert call.input == {"command": 'echo "65465-6544 * 65464-6+1.02255" | bc -l'}

    def test_an_openai_web_search(self, fake: FakeProvider) -> None:
        fake.push(events(Raw((RECORDED / "responses_web_search_call.sse").read_bytes())))
        with codey.stream("?", tools=["web_search"], **options(fake, "openai", "gpt-5")) as stream:
            calls = [event for event in stream.events() if isinstance(event, codey.ServerToolCall)]
        assert [call.status for call in calls] == [
            "in_progress",
            "searching",
            "completed",
            "completed",  # the item done, its action whole
        ]
        assert calls[-1].input["query"] == "weather: San Francisco, CA"
        assert stream.text.startswith("San Francisco weather today")
        assert stream.finish_reason == "stop"

    def test_a_paused_claude_search_goes_on_as_the_api_took_it(self, fake: FakeProvider) -> None:
        """pydantic-ai recorded a turn Claude paused after ten searches and its
        continuation, which the API took: codey sends back the same thinking and
        server tool blocks (signatures, inputs, encrypted results), in the same
        order, the search not run yet last, and the parts' text (as one block)."""
        paused = gzip.decompress((RECORDED / "anthropic_pause_turn_web_search.sse.gz").read_bytes())
        rest = (RECORDED / "anthropic_pause_turn_web_search_continued.sse.gz").read_bytes()
        fake.push(events(Raw(paused)), events(Raw(gzip.decompress(rest))))
        recorded = json.loads(
            (RECORDED / "anthropic_pause_turn_web_search.request.json").read_text()
        )
        kwargs = options(fake, "anthropic", "claude-sonnet-4-5", thinking_budget=4096)
        with codey.stream("?", tools=["web_search"], **kwargs) as stream:
            text = "".join(stream)
        assert stream.finish_reason == "end_turn"
        assert text.startswith("I'll run these searches one at a time as requested.")
        assert text.endswith("All searches have been completed as requested.")
        assert len(fake.requests) == 2
        sent = fake.requests[1].json["messages"][-1]
        assert sent["role"] == recorded["role"] == "assistant"
        blocks = [block for block in sent["content"] if block["type"] != "text"]
        assert [_summary(block) for block in blocks] == recorded["blocks"]
        texts = [block["text"] for block in sent["content"] if block["type"] == "text"]
        assert texts == ["".join(recorded["texts"])]
        assert blocks[-1]["type"] == "server_tool_use"  # the search not run yet goes back too


RECORDED = Path(__file__).parent / "fixtures" / "recorded"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _summary(block: dict[str, Any]) -> dict[str, Any]:
    """A block as fixtures/recorded/*.request.json sums it up: what the API checks
    (ids, inputs, the encrypted parts' digests)."""
    kind = block["type"]
    if kind == "thinking":
        return {
            "type": kind,
            "thinking_sha256": _sha(block["thinking"]),
            "signature_sha256": _sha(block["signature"]),
        }
    if kind == "server_tool_use":
        return {"type": kind, "id": block["id"], "name": block["name"], "input": block["input"]}
    results = [[result["url"], _sha(result["encrypted_content"])] for result in block["content"]]
    return {"type": kind, "tool_use_id": block["tool_use_id"], "results": results}


def test_a_whole_reply_has_its_server_tool_calls_too(fake: FakeProvider) -> None:
    """A service that answers a streamed request with one JSON Message (stream ignored)."""
    from codey.testing import Reply

    use = {
        "type": "server_tool_use",
        "id": "srvtoolu_1",
        "name": "web_fetch",
        "input": {"url": "u"},
    }
    failed = {"type": "web_fetch_tool_error", "error_code": "url_not_accessible"}
    result = {"type": "web_fetch_tool_result", "tool_use_id": "srvtoolu_1", "content": failed}
    message = {
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-5",
        "content": [use, result, {"type": "text", "text": "It is down."}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 3, "output_tokens": 2},
    }
    body = json.dumps(message).encode()
    fake.push(Reply(content_type="application/json", framing="length", body=body))
    with codey.stream("?", tools=["web_fetch"], **options(fake, *CLAUDE)) as stream:
        assert "".join(stream) == "It is down."
    assert [(c.name, c.status, c.error) for c in stream.server_tool_calls] == [
        ("web_fetch", "failed", "url_not_accessible")
    ]


def test_a_citation_after_a_pause_spans_the_whole_answer(fake: FakeProvider) -> None:
    """The next part's citations count in the one answer's text (cite's Citation)."""
    from codey.testing import Source

    source = Source(url="https://yr.no/", title="Yr", cited_text="sun")
    fake.push(
        paused(Text("Let me look. "), search(sources=("https://yr.no/",))),
        events(Text("Sunny.", citations=[source]), Finish(), Done()),
    )
    with codey.stream("Weather?", tools=["web_search"], **options(fake, *CLAUDE)) as stream:
        assert "".join(stream) == "Let me look. Sunny."
    (citation,) = stream.citations
    assert stream.text[citation.start : citation.end] == "Sunny."
    assert citation.url == "https://yr.no/"
