"""``codey prompt --schema``, ``--cache`` and Azure OpenAI, through ``python -m codey``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from codey.testing import (
    FAKE_API_KEY,
    Done,
    FakeProvider,
    Finish,
    Text,
    ToolCall,
    UsageStep,
    answer,
    error,
    events,
)
from tests.helpers import environment, one_error_line, run_cli

PERSON = {"name": "Ada", "age": 36}
SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}


def _pieces(value: Any) -> list[str]:
    text = json.dumps(value)
    return [text[i : i + 5] for i in range(0, len(text), 5)]


class TestSchema:
    def test_the_concise_form_prints_the_checked_json(self, fake: FakeProvider) -> None:
        fake.push(answer(*_pieces(PERSON)))
        result = run_cli(
            "prompt",
            "Who?",
            "-m",
            "gpt-4.1",
            "--schema",
            "name str, age int",
            env=environment(fake),
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == json.dumps(PERSON).encode() + b"\n"
        assert result.stderr == b""
        spec = fake.requests[-1].json["response_format"]["json_schema"]
        assert spec == {"name": "answer", "schema": SCHEMA, "strict": True}

    def test_a_schema_file_and_an_anthropic_model(self, fake: FakeProvider, tmp_path: Path) -> None:
        path = tmp_path / "person.json"
        path.write_text(json.dumps({**SCHEMA, "title": "Person"}), encoding="utf-8")
        call = ToolCall(name="Person", arguments=_pieces(PERSON))
        fake.push(events(call, Finish(), UsageStep(), Done()))
        model = "claude-sonnet-4-0"
        result = run_cli(
            "prompt", "Who?", "-m", model, "--schema", str(path), env=environment(fake)
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == PERSON
        body = fake.requests[-1].json
        assert body["tool_choice"] == {"type": "tool", "name": "Person"}
        assert body["tools"][0]["input_schema"] == {**SCHEMA, "title": "Person"}

    def test_invalid_json_from_the_model_is_status_6_with_nothing_on_stdout(
        self, fake: FakeProvider
    ) -> None:
        fake.push(answer('{"name": "Ada", ', '"age": '))
        result = run_cli("prompt", "Who?", "-m", "gpt-4.1", "--schema", "name str, age int",
                         env=environment(fake))  # fmt: skip
        assert result.returncode == 6
        assert result.stdout == b""
        line = one_error_line(result.stderr)
        assert "openai's answer is not valid JSON" in line
        assert '{"name": "Ada", "age": ' in line

    def test_json_that_does_not_match_is_status_6(self, fake: FakeProvider) -> None:
        fake.push(answer('{"name": "Ada", "age": "old"}'))
        result = run_cli(
            "prompt",
            "Who?",
            "-m",
            "grok-4.3",
            "--api",
            "chat",
            "--schema",
            "name str, age int",
            env=environment(fake),
        )
        assert result.returncode == 6
        assert result.stdout == b""
        assert "at $.age: 'old' is not of type 'integer'" in one_error_line(result.stderr)

    def test_events_end_with_an_error_record(self, fake: FakeProvider) -> None:
        fake.push(answer("no json"))
        result = run_cli("prompt", "?", "-m", "gpt-4.1", "--events", "--schema", "a int",
                         env=environment(fake))  # fmt: skip
        assert result.returncode == 6
        records = [json.loads(line) for line in result.stdout.decode().splitlines()]
        assert records[0] == {"type": "text", "text": "no json"}
        last = records[-1]
        assert (last["type"], last["kind"], last["exit_code"]) == ("error", "broken", 6)
        assert last["error"] == "StructuredOutputError"
        assert last["partial_text_length"] == len("no json")

    def test_several_models_each_checked(self, fake: FakeProvider) -> None:
        fake.responder = lambda request: answer('{"a": 1}' if request.model == "gpt-4.1" else "?")
        result = run_cli("prompt", "?", "-m", "gpt-4.1", "-m", "grok-4.3", "--api", "chat",
                         "--schema", "a int", env=environment(fake))  # fmt: skip
        assert result.returncode == 6
        assert result.stdout == b'=== gpt-4.1 ===\n{"a": 1}\n'
        assert "codey: error: grok-4.3: xai's answer is not valid JSON" in result.stderr.decode()

    def test_a_bad_concise_schema_is_a_usage_error(self, fake: FakeProvider) -> None:
        result = run_cli("prompt", "?", "--schema", "name string", env=environment(fake))
        assert result.returncode == 2
        assert "argument --schema: unknown type 'string' for 'name'" in result.stderr.decode()
        assert fake.requests == []

    def test_a_bad_schema_file_is_a_usage_error(self, fake: FakeProvider, tmp_path: Path) -> None:
        array = tmp_path / "array.json"
        array.write_text('{"type": "array"}', encoding="utf-8")
        broken = tmp_path / "broken.json"
        broken.write_text("{", encoding="utf-8")
        ref = tmp_path / "ref.json"
        ref.write_text('{"type":"object","properties":{"a":{"$ref":"#/defs/x"}}}')
        for path, message in [
            (tmp_path / "missing.json", "cannot read"),
            (broken, "is not JSON"),
            (array, "must describe a JSON object"),
            (ref, "$ref '#/defs/x' cannot be resolved"),
        ]:
            result = run_cli("prompt", "?", "--schema", str(path), env=environment(fake))
            assert result.returncode == 2, path
            assert message in result.stderr.decode()
        assert fake.requests == []

    def test_a_provider_that_cannot_is_status_3(self, fake: FakeProvider) -> None:
        env = environment(fake, DEEPSEEK_API_KEY="k", DEEPSEEK_BASE_URL=fake.base_url("openai"))
        result = run_cli("prompt", "?", "-m", "deepseek-chat", "--schema", "a int", env=env)
        assert result.returncode == 3
        assert "deepseek cannot hold an answer to a JSON schema" in one_error_line(result.stderr)
        result = run_cli("prompt", "?", "-m", "claude-sonnet-4-0", "--schema", "a int",
                         "--thinking-budget", "2048", env=environment(fake))  # fmt: skip
        assert result.returncode == 3
        assert fake.requests == []


class TestCache:
    def test_cache_marks_the_prompt_and_usage_shows_the_counts(self, fake: FakeProvider) -> None:
        usage = UsageStep(
            input_tokens=9, output_tokens=2, cache_read_tokens=4000, cache_write_tokens=12
        )
        fake.push(events(Text("ok"), Finish(), usage, Done()))
        result = run_cli("prompt", "hi", "-m", "claude-sonnet-4-0", "--system", "Be brief.",
                         "--cache", "--usage", env=environment(fake))  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert result.stderr.decode() == (
            "codey: claude-sonnet-4-0: 9 input tokens, 2 output tokens, "
            "4000 read from the cache, 12 written to the cache\n"
        )
        body = fake.requests[-1].json
        assert body["system"][0]["cache_control"] == {"type": "ephemeral"}
        assert body["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}

    def test_events_usage_record_has_the_counts(self, fake: FakeProvider) -> None:
        usage = UsageStep(input_tokens=100, output_tokens=2, cache_read_tokens=64)
        fake.push(events(Text("ok"), Finish(), usage, Done()))
        result = run_cli("prompt", "hi", "-m", "gpt-4.1", "--events", env=environment(fake))
        assert result.returncode == 0, result.stderr
        records = [json.loads(line) for line in result.stdout.decode().splitlines()]
        assert {"type": "usage", "input_tokens": 100, "output_tokens": 2,
                "cache_read_tokens": 64} in records  # fmt: skip

    def test_usage_without_cache_counts_is_as_before(self, fake: FakeProvider) -> None:
        fake.push(answer("ok"))
        result = run_cli("prompt", "hi", "-m", "gpt-4.1", "--usage", env=environment(fake))
        assert result.stderr == b"codey: gpt-4.1: 10 input tokens, 5 output tokens\n"

    def test_cache_in_the_config_file(self, fake: FakeProvider, tmp_path: Path) -> None:
        config = tmp_path / "config.toml"
        config.write_text("[defaults]\ncache = true\n", encoding="utf-8")
        fake.push(answer("ok"))
        env = environment(fake, CODEY_CONFIG=str(config))
        result = run_cli("prompt", "hi", "-m", "claude-sonnet-4-0", env=env)
        assert result.returncode == 0, result.stderr
        assert fake.requests[-1].json["messages"][-1]["content"][-1]["cache_control"]
        config.write_text('[defaults]\ncache = "yes"\n', encoding="utf-8")
        result = run_cli("prompt", "hi", "-m", "claude-sonnet-4-0", env=env)
        assert result.returncode == 3
        assert "line 2: cache must be true or false" in one_error_line(result.stderr)


class TestAzure:
    def test_a_deployment(self, fake: FakeProvider) -> None:
        fake.push(answer("hello"))
        env = environment(fake, AZURE_OPENAI_ENDPOINT=fake.url, AZURE_OPENAI_API_KEY=FAKE_API_KEY)
        result = run_cli("prompt", "hi", "-m", "azure:prod-gpt", env=env)
        assert result.returncode == 0, result.stderr
        assert result.stdout == b"hello\n"
        request = fake.requests[-1]
        assert request.path.startswith("/openai/deployments/prod-gpt/chat/completions?api-version=")
        assert request.headers["api-key"] == FAKE_API_KEY

    def test_no_endpoint_is_status_3_naming_the_variable(self, fake: FakeProvider) -> None:
        env = environment(fake, AZURE_OPENAI_API_KEY=FAKE_API_KEY)
        result = run_cli("prompt", "hi", "-m", "azure:prod-gpt", env=env)
        assert result.returncode == 3
        assert one_error_line(result.stderr) == (
            "codey: error: no endpoint for azure: set AZURE_OPENAI_ENDPOINT\n"
        )

    def test_a_401_never_shows_the_key(self, fake: FakeProvider) -> None:
        fake.push(error(401, f"invalid subscription key {FAKE_API_KEY}"))
        env = environment(fake, AZURE_OPENAI_ENDPOINT=fake.url, AZURE_OPENAI_API_KEY=FAKE_API_KEY)
        result = run_cli("prompt", "hi", "-m", "azure:prod-gpt", env=env)
        assert result.returncode == 3
        line = one_error_line(result.stderr)  # checks the key is not in it
        assert "azure returned HTTP 401: invalid subscription key [REDACTED]" in line

    def test_a_config_table_keeps_azures_path_and_header(
        self, fake: FakeProvider, tmp_path: Path
    ) -> None:
        config = tmp_path / "config.toml"
        config.write_text("[providers.azure]\ninclude_usage = true\n", encoding="utf-8")
        fake.push(answer("ok"))
        env = environment(
            fake,
            CODEY_CONFIG=str(config),
            AZURE_OPENAI_ENDPOINT=fake.url,
            AZURE_OPENAI_API_KEY=FAKE_API_KEY,
        )
        result = run_cli("prompt", "hi", "-m", "azure:d", "--usage", env=env)
        assert result.returncode == 0, result.stderr
        request = fake.requests[-1]
        assert request.path.startswith("/openai/deployments/d/chat/completions?api-version=")
        assert request.headers["api-key"] == FAKE_API_KEY
        assert request.json["stream_options"] == {"include_usage": True}
        assert result.stderr == b"codey: d: 10 input tokens, 5 output tokens\n"

    def test_api_key_header_for_any_provider(self, fake: FakeProvider, tmp_path: Path) -> None:
        config = tmp_path / "config.toml"
        table = '[providers.corp]\nkind = "openai"\nbase_url = "{url}"\napi_key_env = "CORP_KEY"\n'
        config.write_text(
            table.format(url=fake.base_url("openai")) + 'api_key_header = "x-corp-key"\n',
            encoding="utf-8",
        )
        fake.push(answer("ok"))
        env = environment(fake, CODEY_CONFIG=str(config), CORP_KEY="corp-secret-1")
        result = run_cli("prompt", "hi", "-m", "corp:m", env=env)
        assert result.returncode == 0, result.stderr
        assert fake.requests[-1].headers["x-corp-key"] == "corp-secret-1"
        assert fake.requests[-1].headers["authorization"] is None
        config.write_text(
            table.format(url=fake.base_url("openai")) + 'api_key_header = "x corp"\n',
            encoding="utf-8",
        )
        result = run_cli("prompt", "hi", "-m", "corp:m", env=env)
        assert result.returncode == 3
        assert "line 5: api_key_header must be a header name" in one_error_line(result.stderr)
