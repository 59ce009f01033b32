"""codey.batch(schema=...) and codey batch --schema: each answer checked, its JSON in the record."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

import codey
from codey.testing import FakeProvider, RecordedRequest, Reply, answer
from tests.conftest import FAKE_KEY
from tests.helpers import MODELS, environment, kwargs_for, run_cli


def labeller(bad: set[str]) -> Any:
    """Answer each prompt with a label as JSON, or with prose for the prompts in ``bad``."""

    def respond(request: RecordedRequest) -> Reply:
        assert request.json is not None
        prompt = request.json["messages"][-1]["content"]
        if prompt in bad:
            return answer("I think it is good.")
        return answer(json.dumps({"label": f"label of {prompt}", "score": 0.5}))

    return respond


FIXTURES = Path(__file__).parent / "fixtures"


def provider_batch(fake: FakeProvider, provider: str = "openai") -> dict[str, Any]:
    """batch() keywords for OpenAI's Batch API (or Anthropic's Message Batches) at the
    fake provider."""
    return {
        "provider_batch": True,
        "model": MODELS[provider],
        "api_key": FAKE_KEY,
        "base_url": fake.base_url(provider),
        "poll_interval": 0.01,
    }


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


class TestStreamed:
    def test_each_answer_checked_and_kept_as_json(self, fake: FakeProvider, tmp_path: Path) -> None:
        bad = {"p1"}
        fake.responder = labeller(bad)
        out = tmp_path / "out.jsonl"
        lines = [{"id": p, "prompt": p} for p in ("p0", "p1", "p2")]
        options = kwargs_for(fake, "openai")
        summary = codey.batch(lines, out, schema="label str, score float", **options)
        assert (summary.done, summary.failed) == (2, 1)
        found = {record["id"]: record for record in records(out)}
        assert found["p0"]["json"] == {"label": "label of p0", "score": 0.5}
        assert found["p2"]["json"] == {"label": "label of p2", "score": 0.5}
        assert found["p1"]["error"]["type"] == "StructuredOutputError"
        assert "json" not in found["p1"]
        # The model was held to the schema.
        schema = fake.requests[0].json["response_format"]["json_schema"]["schema"]
        assert sorted(schema["properties"]) == ["label", "score"]
        # Run again: only the failed line is asked, and now it answers as it should.
        bad.clear()
        asked = len(fake.requests)
        summary = codey.batch(lines, out, schema="label str, score float", **options)
        assert (summary.done, summary.failed, summary.skipped) == (1, 0, 2)
        assert len(fake.requests) == asked + 1
        assert codey.read_batch_output(out)["p1"]["json"]["label"] == "label of p1"

    def test_without_a_schema_no_json(self, fake: FakeProvider, tmp_path: Path) -> None:
        fake.responder = labeller(set())
        out = tmp_path / "out.jsonl"
        codey.batch(["p0"], out, **kwargs_for(fake, "openai"))
        [record] = records(out)
        assert "json" not in record
        assert "response_format" not in fake.requests[0].json

    def test_a_lines_own_schema(self, fake: FakeProvider, tmp_path: Path) -> None:
        fake.responder = labeller(set())
        out = tmp_path / "out.jsonl"
        source = tmp_path / "in.jsonl"
        schema = {
            "type": "object",
            "properties": {"label": {"type": "string"}, "score": {"type": "number"}},
            "required": ["label", "score"],
            "additionalProperties": False,
        }
        lines = [
            {"id": "own", "prompt": "p0", "options": {"schema": schema}},
            {"id": "plain", "prompt": "p1"},
        ]
        source.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
        summary = codey.batch(codey.read_batch_input(source), out, **kwargs_for(fake, "openai"))
        assert (summary.done, summary.failed) == (2, 0)
        found = codey.read_batch_output(out)
        assert found["own"]["json"] == {"label": "label of p0", "score": 0.5}
        assert "json" not in found["plain"]

    def test_a_bad_schema_fails_before_any_request(
        self, fake: FakeProvider, tmp_path: Path
    ) -> None:
        with pytest.raises(ValueError, match="unknown type 'strange'"):
            codey.batch(
                ["p0"], tmp_path / "out.jsonl", schema="label strange", **kwargs_for(fake, "openai")
            )
        assert fake.requests == []


class TestProviderBatch:
    @pytest.mark.parametrize("provider", ["openai", "anthropic"])
    def test_checked_at_collection(self, fake: FakeProvider, tmp_path: Path, provider: str) -> None:
        """Anthropic, made to call the answer tool, answers each line with a tool_use
        block and no text: its input is the answer."""
        fake.responder = labeller({"p1"})
        out = tmp_path / "out.jsonl"
        lines = [{"id": p, "prompt": p} for p in ("p0", "p1")]
        options = provider_batch(fake, provider)
        summary = codey.batch(lines, out, schema="label str, score float", **options)
        assert (summary.done, summary.failed) == (1, 1)
        found = codey.read_batch_output(out)
        assert found["p0"]["json"] == {"label": "label of p0", "score": 0.5}
        assert json.loads(found["p0"]["text"]) == found["p0"]["json"]
        assert found["p0"]["batch"].startswith(("batch_", "msgbatch_"))
        assert found["p1"]["error"]["type"] == "StructuredOutputError"
        [batch] = fake.batches
        bodies = [request.json for request in batch.requests]
        if provider == "openai":
            assert all("json_schema" in body["response_format"] for body in bodies)
        else:
            assert found["p0"]["finish_reason"] == "tool_use"
            forced = {"type": "tool", "name": bodies[0]["tools"][-1]["name"]}
            assert all(body["tool_choice"] == forced for body in bodies)

    def test_a_recorded_tool_use_answer(self, fake: FakeProvider, tmp_path: Path) -> None:
        """A real Message answering in a tool_use block (tests/fixtures/SOURCES.rst), as
        a Message Batches result: its input is the record's text and JSON."""

        @dataclasses.dataclass
        class final_result:  # the recorded tool's name
            city: str
            country: str

        recorded = (FIXTURES / "recorded" / "anthropic_forced_tool_message.json").read_bytes()
        fake.default = Reply(content_type="application/json", framing="length", body=recorded)
        out = tmp_path / "out.jsonl"
        options = provider_batch(fake, "anthropic")
        summary = codey.batch(["largest city?"], out, schema=final_result, **options)
        assert (summary.done, summary.failed) == (1, 0)
        [record] = records(out)
        assert record["json"] == {"city": "Mexico City", "country": "Mexico"}
        assert json.loads(record["text"]) == record["json"]
        assert (record["finish_reason"], record["usage"]["output_tokens"]) == ("tool_use", 56)

    def test_a_lines_own_schema_is_refused(self, fake: FakeProvider, tmp_path: Path) -> None:
        fake.responder = labeller(set())
        out = tmp_path / "out.jsonl"
        lines = [
            codey.BatchLine("own", "p0", options={"schema": "label str"}),
            codey.BatchLine("plain", "p1"),
        ]
        summary = codey.batch(lines, out, **provider_batch(fake))
        assert (summary.done, summary.failed) == (1, 1)
        found = codey.read_batch_output(out)
        assert found["own"]["error"]["type"] == "UnsupportedOptionError"
        assert "one schema" in found["own"]["error"]["message"]


def test_the_command_line(fake: FakeProvider, tmp_path: Path) -> None:
    fake.responder = labeller({"p1"})
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(p) + "\n" for p in ("p0", "p1")), encoding="utf-8")
    out = tmp_path / "in.out.jsonl"
    result = run_cli(
        "batch", str(source), "-m", "gpt-4.1", "--schema", "label str, score float",
        env=environment(fake),
    )  # fmt: skip
    assert result.returncode == 6, result.stderr  # the one failed line's kind: broken
    found = codey.read_batch_output(out)
    assert found["1"]["json"] == {"label": "label of p0", "score": 0.5}
    assert found["2"]["error"]["type"] == "StructuredOutputError"
    assert "response_format" in fake.requests[0].json


def test_the_command_line_provider_batch_at_anthropic(fake: FakeProvider, tmp_path: Path) -> None:
    """The trial's HIGH-1: every line was recorded as a StructuredOutputError."""
    fake.responder = labeller(set())
    source = tmp_path / "two.csv"
    source.write_text("id,prompt\n1,bad\n2,worse\n", encoding="utf-8")
    result = run_cli(
        "batch", str(source), "-m", "claude-sonnet-4-0", "--schema", "label str, score float",
        "--provider-batch", "--poll-interval", "0.01", env=environment(fake),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    found = codey.read_batch_output(tmp_path / "two.out.jsonl")
    assert found["1"]["json"] == {"label": "label of bad", "score": 0.5}
    assert found["2"]["json"] == {"label": "label of worse", "score": 0.5}
