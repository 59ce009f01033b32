"""codey prompt over the API the model table names for a model (OpenAI's reasoning
models and xAI's grok-4 family over the Responses API), ``--api chat`` and a config
file's ``api = "chat"`` to keep Chat Completions, a config file's provider over its
own wire format, and the API that answered in ``--events`` and ``--stats``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codey.testing import FakeProvider, ToolCall, answer
from tests.helpers import environment, run_cli


def prompt(fake: FakeProvider, *args: str) -> tuple[int, bytes, bytes]:
    result = run_cli("prompt", "hi", *args, env=environment(fake))
    return result.returncode, result.stdout, result.stderr


def write_config(home: Path, text: str) -> None:
    """The config file at $XDG_CONFIG_HOME (the autouse fixture points it at tmp_path)."""
    path = home / "codey" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "path", "words"),
    [
        (("-m", "gpt-5.6-terra"), "/openai/v1/responses", "over the Responses API"),
        (("-m", "grok-4.7"), "/xai/v1/responses", "over the Responses API"),
        (
            ("-m", "gpt-5.6-terra", "--api", "chat"),
            "/openai/v1/chat/completions",
            "over Chat Completions",
        ),
        (("-m", "grok-4.7", "--api", "chat"), "/xai/v1/chat/completions", "over Chat Completions"),
        (("-m", "gpt-4.1"), "/openai/v1/chat/completions", "over Chat Completions"),
        (("-m", "claude-sonnet-4-6"), "/anthropic/v1/messages", "over the Messages API"),
    ],
)
def test_the_api_and_the_stats_line(
    fake: FakeProvider, args: tuple[str, ...], path: str, words: str
) -> None:
    """The table's API unless --api says; --stats says which answered."""
    fake.push(answer("Hel", "lo"))
    code, out, err = prompt(fake, *args, "--stats")
    assert (code, out) == (0, b"Hello\n")
    assert fake.requests[-1].path == path
    (line,) = err.decode().splitlines()
    assert line.startswith(f"codey: {args[1]}: {words}, ")
    assert "to headers" in line


def test_a_config_model_table_keeps_chat_completions(fake: FakeProvider, tmp_path: Path) -> None:
    """``api = "chat"`` in a model's table is that model's; another keeps the table's API."""
    write_config(tmp_path, '[models."gpt-5.5"]\napi = "chat"\n')
    fake.push(answer("one"), answer("two"))
    assert prompt(fake, "-m", "gpt-5.5") == (0, b"one\n", b"")
    assert prompt(fake, "-m", "gpt-5.4-mini") == (0, b"two\n", b"")
    assert [request.path for request in fake.requests] == [
        "/openai/v1/chat/completions",
        "/openai/v1/responses",
    ]


def test_a_config_files_provider_keeps_its_wire_format(fake: FakeProvider, tmp_path: Path) -> None:
    """A ``[providers.openai]`` table (a proxy, say) is sent to as it is: its models
    are not moved to the built-in Responses provider, which it does not name."""
    write_config(tmp_path, f'[providers.openai]\nbase_url = "{fake.base_url("openai")}"\n')
    fake.push(answer("ok"), answer("ok"))
    assert prompt(fake, "-m", "gpt-5.5") == (0, b"ok\n", b"")
    assert prompt(fake, "-m", "grok-4.7") == (0, b"ok\n", b"")  # xAI's is still built in
    assert [request.path for request in fake.requests] == [
        "/openai/v1/chat/completions",
        "/xai/v1/responses",
    ]


@pytest.mark.parametrize(
    ("args", "api"),
    [(("-m", "gpt-5.5"), "responses"), (("-m", "gpt-5.5", "--api", "chat"), "chat")],
)
def test_events_finish_record_says_the_api(
    fake: FakeProvider, args: tuple[str, ...], api: str
) -> None:
    fake.push(answer("ok", usage=None))
    code, out, _ = prompt(fake, *args, "--events")
    assert code == 0
    records = [json.loads(line) for line in out.decode().splitlines()]
    assert records[-1] == {"type": "finish", "reason": "stop", "api": api}


@pytest.mark.parametrize(
    ("args", "path"),
    [((), "/openai/v1/responses"), (("--api", "chat"), "/openai/v1/chat/completions")],
)
def test_a_provider_batch_goes_to_the_models_api(
    fake: FakeProvider, tmp_path: Path, args: tuple[str, ...], path: str
) -> None:
    """gpt-5.5's lines go to the Batch API's /v1/responses; --api chat keeps Chat Completions."""
    fake.push(answer("one"), answer("two"))
    source = tmp_path / "p.jsonl"
    source.write_text('"first"\n"second"\n', encoding="utf-8")
    result = run_cli(
        "batch", str(source), "-m", "gpt-5.5", *args, "--provider-batch",
        "--poll-interval", "0.01", env=environment(fake),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [batch] = fake.batches
    assert [request.path for request in batch.requests] == [path, path]
    out = (tmp_path / "p.out.jsonl").read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(line)["text"] for line in out) == ["one", "two"]


@pytest.mark.parametrize(("model", "path"), [("gpt-5.6-terra", "/openai/v1/responses"),
                                             ("grok-4.7", "/xai/v1/responses")])  # fmt: skip
def test_a_tool_loop_by_default(fake: FakeProvider, tmp_path: Path, model: str, path: str) -> None:
    """The issue's example: --functions with a current reasoning model runs its loop
    over the Responses API, where the fake (as the API) takes tools with an effort."""
    (tmp_path / "tools.py").write_text(
        'def weather(city: str) -> str:\n    """The weather."""\n    return "sunny in " + city\n'
    )
    fake.push(
        answer(tool_calls=[ToolCall(0, "c1", "weather", '{"city": "Rome"}')]), answer("Warm.")
    )
    result = run_cli(
        "prompt", "?", "--functions", "tools.py", "--yes", "-m", model, "--effort", "high",
        env=environment(fake), cwd=tmp_path,
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (0, b"Warm.\n"), result.stderr
    assert [request.path for request in fake.requests] == [path, path]
    output = fake.requests[-1].json["input"][-1]
    assert (output["type"], output["output"]) == ("function_call_output", "sunny in Rome")


@pytest.mark.parametrize(
    ("model", "path"),
    [
        ("gpt-5.6-terra", "/openai/v1/responses"),
        ("grok-4.7", "/xai/v1/responses"),
        ("claude-sonnet-5", "/anthropic/v1/messages"),
    ],
)
def test_a_schema_and_an_image_by_default(
    fake: FakeProvider, tmp_path: Path, model: str, path: str
) -> None:
    """The issue's done-when, for --schema and -a image.png: each current model answers
    over its own API, with an effort, the image and the schema in that API's shape."""
    import base64

    (tmp_path / "image.png").write_bytes(
        base64.b64decode(
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
        )
    )
    fake.push(answer('{"colour": "red"}'))
    result = run_cli(
        "prompt", "What colour?", "-a", "image.png", "--schema", "colour str",
        "-m", model, "--effort", "high", env=environment(fake), cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"colour": "red"}
    [request] = fake.requests
    assert request.path == path
    body = request.json
    if path.endswith("/responses"):
        assert body["text"]["format"]["type"] == "json_schema"
        parts = body["input"][-1]["content"]
        assert {part["type"] for part in parts} == {"input_image", "input_text"}
    else:
        assert body["output_config"]["format"]["type"] == "json_schema"
        blocks = body["messages"][-1]["content"]
        assert "image" in [block["type"] for block in blocks]
