"""Keys in odd places (a tool's exception, a long prefix, a %-encoded key, URL credentials),
and the size of what a tool sends back."""

from __future__ import annotations

from pathlib import Path

import pytest

import codey
from codey._secrets import redact
from codey.testing import FakeProvider, ToolCall, answer, error
from tests.conftest import FAKE_KEY
from tests.helpers import kwargs_for
from tests.test_keys import assert_no_key

OTHER = "sk-ant-SECRETanth1234567890"


def boom(x: int) -> str:
    """Fails quoting a key, as a tool wrapping an HTTP API might."""
    raise RuntimeError(f"GET https://api.example/v1?key={OTHER} failed: kaboom with {OTHER}")


def test_a_tools_exception_is_redacted_for_the_model_and_the_caller(
    fake: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", OTHER)
    fake.push(answer(tool_calls=[ToolCall(0, "c1", "boom", '{"x": 1}')]), answer("done"))
    stream = codey.stream("go", tools=[boom], run_tools=True, **kwargs_for(fake, "openai"))
    with stream:
        assert "".join(stream) == "done"
    sent = fake.requests[-1].json["messages"][-1]
    assert sent["role"] == "tool"
    assert sent["content"].startswith("error: RuntimeError: GET https://api.example/v1?key=")
    assert "[REDACTED]" in sent["content"]
    assert "SECRET" not in sent["content"]
    [result] = stream.tool_results
    assert "SECRET" not in result.output
    [kept] = stream.tool_errors
    assert_no_key(kept, OTHER)


@pytest.mark.parametrize(
    ("quoted", "shown"),
    [
        # All but the last five characters: most of the key.
        (FAKE_KEY[:-5], "[REDACTED]"),
        # %-encoded, in part or whole, in either case of hex digit.
        (FAKE_KEY.replace("-", "%2D"), "[REDACTED]"),
        ("".join(f"%{ord(c):02x}" for c in FAKE_KEY), "[REDACTED]"),
        (FAKE_KEY[:5].replace("-", "%2d") + FAKE_KEY[5:-3], "[REDACTED]"),
        # A short piece of a key gives nothing away: kept, so messages stay readable.
        (FAKE_KEY[:8], FAKE_KEY[:8]),
    ],
)
def test_a_key_quoted_in_part_or_encoded(quoted: str, shown: str) -> None:
    assert redact(f"bad key '{quoted}'.", [FAKE_KEY]) == f"bad key '{shown}'."


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_an_error_body_quoting_most_of_the_key(fake: FakeProvider, provider: str) -> None:
    fake.push(error(401, f"Incorrect API key provided: {FAKE_KEY[:-4]}; see {FAKE_KEY[:3]}…"))
    with pytest.raises(codey.AuthenticationError) as info:
        codey.complete("hi", **kwargs_for(fake, provider, api_key=FAKE_KEY))
    assert "[REDACTED]" in str(info.value)
    assert_no_key(info.value, FAKE_KEY[:-4])


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:BASEPASS@127.0.0.1:9/v1", "http://user:[REDACTED]@127.0.0.1:9/v1"),
        ("https://h/v1?key=QUERYSECRET&api-version=1", "https://h/v1?key=[REDACTED]&api-version=1"),
        ("https://h/v1?x=1&access_token=T0K", "https://h/v1?x=1&access_token=[REDACTED]"),
        (
            "http://127.0.0.1:8080/v1?api-version=2024-10-21",
            "http://127.0.0.1:8080/v1?api-version=2024-10-21",
        ),
    ],
)
def test_secrets_in_urls(url: str, shown: str) -> None:
    assert (
        redact(f"could not reach x at {url}: refused", [])
        == f"could not reach x at {shown}: refused"
    )


def test_a_huge_tool_result_is_cut_with_a_note(fake: FakeProvider) -> None:
    from codey._tools import MAX_TOOL_OUTPUT

    def dump() -> str:
        """Returns far too much."""
        return "x" * (3 * MAX_TOOL_OUTPUT)

    fake.push(answer(tool_calls=[ToolCall(0, "c1", "dump", "{}")]), answer("done"))
    with codey.stream("go", tools=[dump], run_tools=True, **kwargs_for(fake, "openai")) as stream:
        assert "".join(stream) == "done"
    sent = fake.requests[-1].json["messages"][-1]["content"]
    assert sent.startswith(
        "x" * MAX_TOOL_OUTPUT + "\n\n[codey: the output was cut: 300,000 characters"
    )
    assert sent.count("x") == MAX_TOOL_OUTPUT
    assert stream.tool_results[0].output == sent


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_provider_batch_keeps_the_base_urls_query(
    fake: FakeProvider, tmp_path: Path, provider: str
) -> None:
    from tests.test_provider_batch import echo, options

    fake.responder = echo
    settings = options(fake, provider)
    settings["base_url"] += "?key=QUERYSECRET"
    summary = codey.batch(["one", "two"], tmp_path / "out.jsonl", provider_batch=True, **settings)
    assert (summary.done, summary.failed) == (2, 0)
    # Every URL codey builds (not the results_url the server gives) carries the query.
    paths = [r.path for r in fake.requests if not r.path.endswith("/results")]
    assert len(paths) >= 3
    assert all("key=QUERYSECRET" in path for path in paths), paths
