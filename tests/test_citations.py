"""codey.Citation: the sources a provider cites, each with its span of ``stream.text``.

Replayed from real recordings (fixtures/SOURCES.rst) and from ``codey.testing``'s
renderings of each provider's documented form, streamed and whole.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import codey
from codey.testing import FakeProvider, Raw, Reply, Source, Text, ToolCall, answer, events
from tests.helpers import MODELS, kwargs_for

FIXTURES = Path(__file__).parent / "fixtures"
PARIS = Source(
    url="https://example.com/paris", title="Paris", cited_text="Paris is the capital of France."
)
ATLAS = Source(title="Atlas", cited_text="The Seine flows through Paris.", kind="page", page=3)
#: Each wire format once (xAI speaks Chat Completions like OpenAI).
WIRES = ["anthropic", "openai-responses", "openai", "xai"]


def cited(stream: codey.Stream) -> list[tuple[str, str, Any]]:
    """What each of the stream's citations cites, and its span of the answer."""
    return [(c.kind, stream.text[c.start : c.end], c.url) for c in stream.citations]


def read(fake: FakeProvider, provider: str, reply: Reply) -> tuple[codey.Stream, list[Any]]:
    fake.push(reply)
    stream = codey.stream("hi", **kwargs_for(fake, provider, retries=0))
    return stream, list(stream.events())


@pytest.mark.parametrize("split", [None, 1, 7])
def test_anthropic_recording(fake, split):
    """Each citations_delta cites the whole text block it arrives in, however its
    text and the stream are split."""
    body = (FIXTURES / "anthropic" / "web_search.sse").read_bytes()
    stream, got = read(fake, "anthropic", events(Raw(body), split=split))
    found = [event for event in got if isinstance(event, codey.Citation)]
    assert found == stream.citations
    assert len(found) == 5
    spans = [stream.text[c.start : c.end] for c in found]
    # The recording's cited blocks, each made of several text deltas.
    assert spans[0] == (
        "Today (November 15, 2025) in San Francisco is overcast with a slight chance of "
        "a rain shower, with a high of 63°F."
    )
    assert spans[1] == "Winds are from the west at 10 to 15 mph."
    assert spans[4].endswith("bringing periods of rain this weekend.")
    first = found[0]
    assert first.kind == "web"
    assert first.url == "https://www.wunderground.com/hourly/us/ca/san-francisco"
    assert first.title == "San Francisco, CA Hourly Weather Forecast | Weather Underground"
    assert first.cited_text is not None
    assert first.cited_text.startswith("zoom out")
    assert first.raw["type"] == "web_search_result_location"
    assert "encrypted_index" in first.raw
    # Each comes after the last text it cites, before any text after it.
    position = got.index(first)
    before = "".join(e.text for e in got[:position] if isinstance(e, codey.TextDelta))
    assert len(before) == first.end


@pytest.mark.parametrize("split", [None, 1, 7])
def test_responses_recording(fake, split):
    """output_text.annotation.added: start_index and end_index within the part."""
    body = (FIXTURES / "recorded" / "responses_web_search.sse").read_bytes()
    stream, got = read(fake, "openai-responses", events(Raw(body), split=split))
    [citation] = [event for event in got if isinstance(event, codey.Citation)]
    assert stream.citations == [citation]
    url = "https://www.britannica.com/place/Mount-Columbia?utm_source=openai"
    assert stream.text[citation.start : citation.end] == f"([britannica.com]({url}))"
    assert (citation.kind, citation.url, citation.cited_text) == ("web", url, None)
    assert citation.title == "Mount Columbia | mountain, Alberta, Canada | Britannica"


@pytest.mark.parametrize("split", [None, 7])
def test_chat_recording(fake, split):
    """Chat Completions annotations (OpenRouter's, before the text, with no span and
    the cited passage as ``content``)."""
    body = (FIXTURES / "recorded" / "chat_web_search.sse").read_bytes()
    stream, got = read(fake, "openai", events(Raw(body), split=split))
    found = [event for event in got if isinstance(event, codey.Citation)]
    assert found == stream.citations
    assert [c.url for c in found][:2] == [
        "https://github.com/pydantic/pydantic-ai",
        "https://pydantic.dev/pydantic-ai",
    ]
    assert len(found) == 5
    assert all((c.start, c.end, c.kind) == (0, 0, "web") for c in found)
    assert found[0].cited_text is not None
    assert found[0].cited_text.startswith("# pydantic/")
    assert found[1].title is None  # sent as ""
    assert stream.text.endswith("https://github.com/pydantic/pydantic-ai")


@pytest.mark.parametrize(
    ("provider", "name", "span"),
    [
        ("anthropic", "anthropic_web_search_message.json", "In 1939, Finnish runner Taisto"),
        ("openai-responses", "responses_web_search.json", "([britannica.com]("),
        ("openai", "chat_web_search.json", ""),
    ],
)
def test_whole_recorded_replies(fake, provider, name, span):
    """A whole reply (JSON, not a stream) gives the same citations as a stream would."""
    body = (FIXTURES / "recorded" / name).read_bytes()
    stream, got = read(fake, provider, Reply(content_type="application/json", body=body))
    found = [event for event in got if isinstance(event, codey.Citation)]
    assert found
    assert found == stream.citations
    assert stream.text[found[0].start : found[0].end].startswith(span)
    assert all(0 <= c.start <= c.end <= len(stream.text) for c in found)


@pytest.mark.parametrize("provider", WIRES)
def test_scripted_citations(fake, provider):
    """codey.testing renders cited text in each wire format; codey reads it back."""
    reply = answer(
        "Yes. ",
        Text("Paris is the capital", citations=[PARIS]),
        ", ",
        Text("on the Seine.", citations=[PARIS, ATLAS]),
        " Bye.",
        split=3,
    )
    stream, got = read(fake, provider, reply)
    assert stream.text == "Yes. Paris is the capital, on the Seine. Bye."
    found = [event for event in got if isinstance(event, codey.Citation)]
    assert found == stream.citations
    web = [("web", "Paris is the capital", PARIS.url), ("web", "on the Seine.", PARIS.url)]
    if provider == "anthropic":
        assert cited(stream) == [*web, ("page", "on the Seine.", None)]
        assert found[2].page == 3
        assert found[2].title == "Atlas"
        assert found[0].cited_text == PARIS.cited_text
    elif provider == "openai-responses":  # a file_citation marks a point: after its text
        assert cited(stream) == [*web, ("file", "", None)]
        assert found[2].start == len("Yes. Paris is the capital, on the Seine.")
        assert (found[2].file_id, found[2].title) == ("file-fake", "Atlas")
    else:  # Chat Completions cites only URLs
        assert cited(stream) == web
    # Each is yielded once its span has arrived.
    for citation in found:
        before = got[: got.index(citation)]
        assert len("".join(e.text for e in before if isinstance(e, codey.TextDelta))) >= (
            citation.end
        )


def test_responses_span_across_deltas(fake):
    """A Responses annotation over text that came in several deltas, in the second
    output_text part of the answer: offsets count from that part's start."""

    def event(kind: str, **fields: Any) -> bytes:
        return f"event: {kind}\ndata: {json.dumps({'type': kind, **fields})}\n\n".encode()

    url = {"type": "url_citation", "url": "https://example.com", "title": "Ex"}
    body = b"".join(
        [
            event("response.created", response={"model": "o3-pro"}),
            event("response.output_text.delta", output_index=0, content_index=0, delta="One. "),
            event("response.output_text.delta", output_index=1, content_index=0, delta="Two "),
            event("response.output_text.delta", output_index=1, content_index=0, delta="three."),
            event(
                "response.output_text.annotation.added",
                output_index=1,
                content_index=0,
                annotation_index=0,
                annotation={**url, "start_index": 0, "end_index": 10},
            ),
            event("response.completed", response={"status": "completed"}),
        ]
    )
    stream, _ = read(fake, "openai-responses", events(Raw(body)))
    assert cited(stream) == [("web", "Two three.", "https://example.com")]


@pytest.mark.parametrize("provider", WIRES)
def test_run_tools_spans_count_the_rounds_before(fake, provider):
    """With run_tools=True, a later round's citations point into the whole text."""

    def weather(city: str) -> str:
        """The weather in a city."""
        return "rain"

    call = ToolCall(0, "c1", "weather", '{"city": "Paris"}')
    fake.push(
        answer("Let me look. ", tool_calls=[call]),
        answer("It will ", Text("rain in Paris.", citations=[PARIS])),
    )
    options = kwargs_for(fake, provider, retries=0)
    with codey.stream("hi", tools=[weather], run_tools=True, **options) as stream:
        got = list(stream.events())
    assert stream.text == "Let me look. It will rain in Paris."
    assert cited(stream) == [("web", "rain in Paris.", PARIS.url)]
    assert [event for event in got if isinstance(event, codey.Citation)] == stream.citations


@pytest.mark.parametrize("provider_batch", [True, False], ids=["provider", "streamed"])
@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_batch_records_carry_citations(fake, tmp_path, provider, provider_batch):
    """A batch record of a cited answer (a provider batch's whole reply, or a
    streamed line) has its text and its citations, spans into that text."""
    fake.push(answer("Yes: ", Text("Paris.", citations=[PARIS])), answer("No sources."))
    out = tmp_path / "out.jsonl"
    summary = codey.batch(
        ["capital?", "other?"],
        out,
        provider_batch=provider_batch,
        model=MODELS[provider],
        api_key="k",
        base_url=fake.base_url(provider),
        poll_interval=0.01,
        parallel=1,
    )
    assert summary.done == 2
    records = {r["id"]: r for r in map(json.loads, out.read_text("utf-8").splitlines())}
    cited_record = next(r for r in records.values() if r["text"] == "Yes: Paris.")
    [citation] = cited_record["citations"]
    assert cited_record["text"][citation["start"] : citation["end"]] == "Paris."
    assert (citation["url"], citation["title"], citation["kind"]) == (PARIS.url, "Paris", "web")
    quoted = PARIS.cited_text if provider == "anthropic" else None  # OpenAI quotes nothing
    assert citation["cited_text"] == quoted
    other = next(r for r in records.values() if r["text"] == "No sources.")
    assert "citations" not in other  # the record's shape is unchanged without them


def test_citation_value():
    """A frozen value: compared without its raw object, moved by an offset."""
    one = codey.Citation(start=1, end=4, url="https://a", raw={"type": "x"})
    assert one == codey.Citation(start=1, end=4, url="https://a")
    assert one.moved(10) == codey.Citation(start=11, end=14, url="https://a")
    assert "raw" not in repr(one)
    with pytest.raises(AttributeError):
        one.start = 2  # type: ignore[misc]


@pytest.mark.parametrize(
    ("provider", "path", "body"),
    [
        ("anthropic", "/v1/messages", {"max_tokens": 50}),
        ("openai-responses", "/responses", {}),
        ("openai", "/chat/completions", {}),
    ],
)
def test_fake_whole_replies_carry_citations(fake, provider, path, body):
    """Asked for no stream, the fake answers one JSON object with its citations in
    the provider's form, and a whole reply read back gives the stream's citations."""
    import requests

    reply = answer("Yes: ", Text("Paris.", citations=[PARIS]), " Bye.")
    fake.push(reply)
    options = kwargs_for(fake, provider)
    request = {"model": options["model"], "messages": [{"role": "user", "content": "hi"}]}
    if provider == "openai-responses":
        request = {"model": options["model"], "input": "hi"}
    url = str(options["base_url"]) + path
    with requests.post(url, json={**request, **body}, timeout=5) as response:
        whole = response.json()
    if provider == "anthropic":
        [block] = [block for block in whole["content"] if block.get("citations")]
        assert block["text"] == "Paris."
        assert block["citations"][0]["type"] == "web_search_result_location"
    elif provider == "openai-responses":
        [part] = whole["output"][0]["content"]
        [annotation] = part["annotations"]
        assert part["text"][annotation["start_index"] : annotation["end_index"]] == "Paris."
    else:
        [annotation] = whole["choices"][0]["message"]["annotations"]
        content = whole["choices"][0]["message"]["content"]
        fields = annotation["url_citation"]
        assert content[fields["start_index"] : fields["end_index"]] == "Paris."
    data = json.dumps(whole).encode()
    stream, _ = read(fake, provider, Reply(content_type="application/json", body=data))
    assert cited(stream) == [("web", "Paris.", PARIS.url)]
