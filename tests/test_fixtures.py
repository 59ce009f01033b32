"""Byte-exact provider transcripts, replayed whole and split at every byte boundary.

Where each recording comes from, and its licence: fixtures/SOURCES.rst.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import codey
from codey.testing import FakeProvider, Raw, events
from tests.helpers import kwargs_for

FIXTURES = Path(__file__).parent / "fixtures"
CASES = sorted(
    (path.parent.name, path.stem)
    for provider in ("openai", "xai", "anthropic")
    for path in (FIXTURES / provider).glob("*.sse")
)


def _load(provider: str, case: str) -> tuple[bytes, dict[str, object]]:
    body = (FIXTURES / provider / f"{case}.sse").read_bytes()
    expected = json.loads((FIXTURES / provider / f"{case}.expected.json").read_text("utf-8"))
    return body, expected


def _replay(fake: FakeProvider, provider: str, reply: object) -> tuple[list[str], object]:
    fake.push(reply)
    got: list[str] = []
    stream = codey.stream("hi", **kwargs_for(fake, provider, retries=0))
    try:
        for chunk in stream:
            got.append(chunk)
    except codey.CodeyError as exc:
        return got, exc
    return got, stream


@pytest.mark.parametrize(("provider", "case"), CASES)
@pytest.mark.parametrize("split", [None, 1, 7])
@pytest.mark.parametrize("line_ending", ["\n", "\r\n"])
def test_fixture(provider: str, case: str, split: object, line_ending: str) -> None:
    """The transcript gives exactly its expected chunks, finish reason, usage or error."""
    body, expected = _load(provider, case)
    if line_ending != "\n":
        body = body.replace(b"\n", line_ending.encode())
    with FakeProvider() as fake:
        got, outcome = _replay(fake, provider, events(Raw(body), split=split))
    assert got == expected["chunks"]
    if "error" in expected:
        assert type(outcome).__name__ == expected["error"]
        assert outcome.error_type == expected["error_type"]  # type: ignore[attr-defined]
        assert outcome.partial_text == "".join(got)  # type: ignore[attr-defined]
    else:
        assert isinstance(outcome, codey.Stream)
        assert outcome.finish_reason == expected["finish_reason"]
        usage = outcome.usage
        if expected["usage"] is None:
            assert usage is None
        else:
            assert usage is not None
            assert [usage.input_tokens, usage.output_tokens] == expected["usage"]
        if "tool_calls" in expected:
            calls = [[call.id, call.name, call.arguments] for call in outcome.tool_calls]
            assert calls == expected["tool_calls"]
