"""Every documented member of a Stream works on a plain stream and on a run_tools=True one."""

from __future__ import annotations

import pytest

import codey
from codey.testing import Source, Text, ToolCall, answer
from tests.helpers import RICH, kwargs_for


def weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@pytest.mark.parametrize("provider", RICH)
@pytest.mark.parametrize("run_tools", [False, True], ids=["plain", "run_tools"])
def test_every_documented_member(fake, provider, run_tools):
    source = Source(url="https://example.com/sky", title="Sky")
    blue = Text('"blue"}', citations=[source])
    replies = [answer('{"sky": ', blue, reasoning=["Hm."], usage=(3, 2))]
    if run_tools:
        call = ToolCall(0, "c1", "weather", '{"city": "Oslo"}')
        replies.insert(0, answer(tool_calls=[call], usage=(1, 1)))
    fake.push(*replies)
    options = kwargs_for(fake, provider)
    with codey.stream("?", tools=[weather], run_tools=run_tools, **options) as stream:
        assert repr(stream).startswith(f"<codey.Stream {provider}:")
        assert stream.model == options["model"]
        assert stream.provider == provider
        assert stream.closed is False
        assert iter(stream) is not stream  # a generator over the shared position
        assert next(stream) == '{"sky": '
        assert stream.response_status == 200
        assert stream.response_headers is not None
        assert stream.response_headers["Content-Type"].startswith("text/event-stream")
        rest = list(stream.events())
        assert codey.TextDelta('"blue"}') in rest
        assert rest[-1] == codey.Finish(stream.finish_reason)
        assert stream.json() == {"sky": "blue"}
        assert stream.text == '{"sky": "blue"}'
        assert stream.reasoning == "Hm."
        [citation] = stream.citations
        assert stream.text[citation.start : citation.end] == '"blue"}'
        assert citation.url == "https://example.com/sky"
        assert citation in rest
        assert stream.finish_reason in ("stop", "end_turn")
        assert stream.usage is not None
        assert stream.usage.input_tokens >= 3
        assert [call.name for call in stream.tool_calls] == (["weather"] if run_tools else [])
        assert stream.server_tool_calls == ()  # the provider ran none of its own
        timings = stream.timings
        assert isinstance(timings, codey.Timings)
        assert timings.to_headers is not None
        assert timings.to_first_text is not None
        assert timings.total >= timings.to_first_text
        assert stream.closed is True
        assert stream.cancelled is False
        stream.close()  # idempotent
    assert stream.closed is True
    assert stream.cancelled is False
