"""``-a/--attach``, ``--functions``, ``-T/--tool`` and ``--yes``, through ``python -m codey``."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from codey.testing import FakeProvider, ToolCall, answer
from tests.cli.terminal import Pty, pty_env
from tests.helpers import environment, one_error_line, run_cli
from tests.test_attachments import PDF, PNG

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX shells and terminals")

TOOLS = '''\
from os.path import join  # imported: not a tool


def weather(city: str, days: int = 1) -> str:
    """The weather in a city.

    :param city: the city's name
    """
    return f"sunny in {city} for {days} days"


def explode(city: str) -> str:
    """Always fails."""
    raise RuntimeError("no data for " + city)


def _helper() -> None:
    pass
'''


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "photo.png").write_bytes(PNG)
    (tmp_path / "paper.pdf").write_bytes(PDF)
    (tmp_path / "notes.txt").write_text("plain text")
    (tmp_path / "tools.py").write_text(TOOLS)
    return tmp_path


def run_in(work: Path, fake: FakeProvider, *args: str, **kwargs: Any) -> Any:
    """``python -m codey ARGS`` in ``work``, pointed at the fake provider."""
    return run_cli(*args, env=environment(fake), cwd=work, **kwargs)


def tool_round(name: str, arguments: str, text: str = "") -> Any:
    return answer(*([text] if text else []), tool_calls=[ToolCall(0, "c1", name, arguments)])


class TestAttach:
    def test_a_file(self, fake: FakeProvider, work: Path) -> None:
        fake.push(answer("A plot."))
        result = run_in(
            work,
            fake,
            "prompt",
            "what is it?",
            "-a",
            "photo.png",
            "-m",
            "gpt-4.1",
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == b"A plot.\n"
        content = fake.requests[-1].json["messages"][-1]["content"]
        assert content == [
            {"type": "text", "text": "what is it?"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64(PNG)}"}},
        ]

    def test_standard_input(self, fake: FakeProvider, work: Path) -> None:
        fake.push(answer("A paper."))
        with open(work / "paper.pdf", "rb") as stdin:
            result = run_cli(
                "prompt",
                "summarise",
                "-a",
                "-",
                "-m",
                "claude-sonnet-4-0",
                env=environment(fake),
                stdin=stdin,
            )
        assert result.returncode == 0, result.stderr
        content = fake.requests[-1].json["messages"][-1]["content"]
        assert content[0] == {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": b64(PDF)},
        }
        assert content[1] == {"type": "text", "text": "summarise"}

    def test_standard_input_needs_the_prompt_as_input(self, fake: FakeProvider) -> None:
        result = run_cli("prompt", "-a", "-", env=environment(fake))
        assert result.returncode == 2
        assert b"give the prompt as INPUT" in result.stderr
        assert fake.requests == []

    @pytest.mark.parametrize(
        ("value", "model", "status", "words"),
        [
            ("gone.png", "gpt-4.1", 1, "gone.png: No such file or directory"),
            ("notes.txt", "gpt-4.1", 3, "cannot tell what notes.txt is"),
            ("paper.pdf", "grok-4.3", 3, "xai cannot take application/pdf"),
        ],
    )
    def test_faults(
        self, fake: FakeProvider, work: Path, value: str, model: str, status: int, words: str
    ) -> None:
        result = run_in(
            work,
            fake,
            "prompt",
            "x",
            "-a",
            value,
            "-m",
            model,
            "--api",
            "chat",
        )
        assert result.returncode == status
        assert words in one_error_line(result.stderr)
        assert fake.requests == []

    def test_save_writes_the_reference_and_continues_with_it(
        self, fake: FakeProvider, work: Path
    ) -> None:
        logs = work / "logs"
        logs.mkdir()
        fake.push(answer("A plot."), answer("Blue."))
        env = environment(fake)
        first = run_cli(
            "save",
            "what is it?",
            "-a",
            "photo.png",
            "--file",
            "logs/chat.md",
            "-m",
            "gpt-4.1",
            env=env,
            cwd=work,
        )
        assert first.returncode == 0, first.stderr
        log = (logs / "chat.md").read_text()
        assert log.startswith(
            "what is it?\n\n![attachment](../photo.png)\n\n# === ASSISTANT ===\n\nA plot."
        )
        # The photo is outside the log's folder: a later turn needs --attach-from.
        refused = run_cli("save", "what colour?", "--file", "chat.md", env=env, cwd=logs)
        assert refused.returncode == 3
        assert b"../photo.png: outside the chat log's folder" in refused.stderr
        second = run_cli(
            "save",
            "what colour?",
            "--file",
            "chat.md",
            "-m",
            "gpt-4.1",
            "--attach-from",
            "..",
            env=env,
            cwd=logs,
        )
        assert second.returncode == 0, second.stderr
        messages = fake.requests[-1].json["messages"]
        assert messages[0]["content"][1]["image_url"]["url"] == f"data:image/png;base64,{b64(PNG)}"
        assert messages[-1] == {"role": "user", "content": "what colour?"}
        # A chat log piped in reads its paths from the current directory.
        fake.push(answer("Still blue."))
        with open(logs / "chat.md", "rb") as stdin:
            third = run_cli(
                "prompt", "-m", "gpt-4.1", "--attach-from", "..", env=env, stdin=stdin, cwd=logs
            )
        assert third.returncode == 0, third.stderr
        assert fake.requests[-1].json["messages"][0]["content"][1]["type"] == "image_url"

    def test_save_of_standard_input_keeps_the_bytes_in_the_log(
        self, fake: FakeProvider, work: Path
    ) -> None:
        fake.push(answer("A plot."))
        with open(work / "photo.png", "rb") as stdin:
            result = run_in(
                work,
                fake,
                "save",
                "what?",
                "-a",
                "-",
                "--file",
                "chat.md",
                "-m",
                "gpt-4.1",
                stdin=stdin,
            )
        assert result.returncode == 0, result.stderr
        assert f"![attachment](data:image/png;base64,{b64(PNG)})" in (work / "chat.md").read_text()


class TestTools:
    def test_functions_with_yes(self, fake: FakeProvider, work: Path) -> None:
        fake.push(
            tool_round("weather", '{"city": "Oslo"}', text="Let me look."), answer("It is sunny.")
        )
        result = run_in(
            work,
            fake,
            "prompt",
            "weather in Oslo?",
            "--functions",
            "tools.py",
            "--yes",
            "-m",
            "gpt-4.1",
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == b"Let me look.\n\nIt is sunny.\n"
        assert result.stderr == b""
        first, second = fake.requests
        names = [tool["function"]["name"] for tool in first.json["tools"]]
        assert names == ["weather", "explode"]
        assert second.json["messages"][-1] == {
            "role": "tool",
            "tool_call_id": "c1",
            "content": "sunny in Oslo for 1 days",
        }

    def test_a_named_function_and_a_failing_tool(self, fake: FakeProvider, work: Path) -> None:
        fake.push(tool_round("explode", '{"city": "Oslo"}'), answer("Sorry."))
        result = run_in(
            work,
            fake,
            "prompt",
            "?",
            "-T",
            "tools:explode",
            "--yes",
            "-m",
            "claude-sonnet-4-0",
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == b"Sorry.\n"
        assert result.stderr.decode() == (
            "codey: tool explode(city='Oslo') failed: RuntimeError: no data for Oslo\n"
        )
        [tool] = fake.requests[0].json["tools"]
        assert tool["name"] == "explode"
        block = fake.requests[-1].json["messages"][-1]["content"][0]
        assert block["is_error"] is True
        assert block["content"] == "error: RuntimeError: no data for Oslo"

    def test_off_a_terminal_without_yes_nothing_runs(self, fake: FakeProvider, work: Path) -> None:
        result = run_in(
            work,
            fake,
            "prompt",
            "?",
            "--functions",
            "tools.py",
            "-m",
            "gpt-4.1",
        )
        assert result.returncode == 3
        assert "pass --yes" in one_error_line(result.stderr)
        assert fake.requests == []

    def test_events_carry_the_results(self, fake: FakeProvider, work: Path) -> None:
        fake.push(tool_round("weather", '{"city": "Rome"}'), answer("Warm."))
        result = run_in(
            work,
            fake,
            "prompt",
            "?",
            "--functions",
            "tools.py",
            "--yes",
            "--events",
            "-m",
            "xai:grok-4.3",
            "--api",
            "chat",
        )
        assert result.returncode == 0, result.stderr
        records = [json.loads(line) for line in result.stdout.decode().splitlines()]
        kinds = [record["type"] for record in records]
        assert kinds.index("tool_call") < kinds.index("tool_result") < kinds.index("text")
        assert kinds[-1] == "finish"
        result_record = records[kinds.index("tool_result")]
        assert result_record == {
            "type": "tool_result",
            "id": "c1",
            "name": "weather",
            "output": "sunny in Rome for 1 days",
            "error": None,
        }

    def test_rounds_exceeded(self, fake: FakeProvider, work: Path) -> None:
        fake.responder = lambda request: tool_round("weather", '{"city": "X"}')
        result = run_in(
            work,
            fake,
            "prompt",
            "?",
            "--functions",
            "tools.py",
            "--yes",
            "--max-tool-rounds",
            "1",
            "-m",
            "gpt-4.1",
        )
        assert result.returncode == 1
        assert "after 1 rounds" in result.stderr.decode().splitlines()[-1]
        assert len(fake.requests) == 2

    def test_faults_in_the_flags(self, fake: FakeProvider, work: Path) -> None:
        env = environment(fake)
        several = run_cli(
            "prompt",
            "?",
            "--functions",
            "tools.py",
            "-m",
            "gpt-4.1",
            "-m",
            "grok-4.3",
            env=env,
            cwd=work,
        )
        assert several.returncode == 2
        assert b"not allowed with several models" in several.stderr
        missing = run_cli(
            "prompt", "?", "--functions", "nope.py", "--yes", "-m", "gpt-4.1", env=env, cwd=work
        )
        assert missing.returncode == 3
        assert "nope.py: no such file" in one_error_line(missing.stderr)
        bad = run_cli("prompt", "?", "-T", "tools", "--yes", "-m", "gpt-4.1", env=env, cwd=work)
        assert bad.returncode == 3
        assert "module:function" in one_error_line(bad.stderr)
        assert fake.requests == []

    def test_save_with_tools_keeps_the_text(self, fake: FakeProvider, work: Path) -> None:
        fake.push(tool_round("weather", '{"city": "Oslo"}', text="Looking."), answer("Sunny."))
        result = run_in(
            work,
            fake,
            "save",
            "weather?",
            "--functions",
            "tools.py",
            "--yes",
            "--file",
            "chat.md",
            "-m",
            "gpt-4.1",
        )
        assert result.returncode == 0, result.stderr
        assert (work / "chat.md").read_text() == (
            "weather?\n\n# === ASSISTANT ===\n\nLooking.\n\nSunny.\n\n# === USER ===\n\n"
        )


class TestTerminal:
    def ask(self, fake: FakeProvider, work: Path) -> Pty:
        env = pty_env(environment(fake))
        return Pty(
            ["prompt", "weather in Oslo?", "--functions", str(work / "tools.py"), "-m", "gpt-4.1"],
            env,
            pipe_stdout=True,
        )

    def test_yes_runs_the_call(self, fake: FakeProvider, work: Path) -> None:
        fake.push(tool_round("weather", '{"city": "Oslo"}'), answer("Sunny."))
        with self.ask(fake, work) as term:
            term.read_until(b"Run tool weather(city='Oslo')? [y/N] ")
            assert len(fake.requests) == 1  # nothing runs before the answer
            term.write(b"y\r")
            assert term.wait() == 0
            assert term.stdout() == b"Sunny.\n"
        assert fake.requests[-1].json["messages"][-1]["content"] == "sunny in Oslo for 1 days"

    def test_no_tells_the_model(self, fake: FakeProvider, work: Path) -> None:
        fake.push(tool_round("weather", '{"city": "Oslo"}'), answer("As you wish."))
        with self.ask(fake, work) as term:
            term.read_until(b"[y/N] ")
            term.write(b"\r")
            assert term.wait() == 0
            assert term.stdout() == b"As you wish.\n"
        sent = fake.requests[-1].json["messages"][-1]["content"]
        assert sent == "error: ToolDeclined: the user did not allow this call"


def test_completion_has_the_new_flags(fake: FakeProvider) -> None:
    result = run_cli("completion", "bash", env=environment(fake))
    assert result.returncode == 0
    script = result.stdout.decode()
    for flag in ("--attach", "--functions", "--tool", "--yes", "--max-tool-rounds"):
        assert flag in script


class TestConfigFile:
    def write(self, work: Path, text: str) -> dict[str, str]:
        path = work / "config.toml"
        path.write_text(text)
        return {"CODEY_CONFIG": str(path)}

    def test_a_provider_says_what_it_takes(self, fake: FakeProvider, work: Path) -> None:
        extra = self.write(
            work,
            f'[providers.local]\nkind = "openai"\nbase_url = "{fake.base_url("openai")}"\n'
            'models = ["small"]\nattachments = ["image/png"]\n'
            # A built-in provider moved elsewhere keeps what it takes (PDFs for OpenAI).
            f'[providers.openai]\nbase_url = "{fake.base_url("openai")}"\n',
        )
        env = environment(fake, **extra)
        fake.push(answer("a png"), answer("a pdf"))
        png = run_cli("prompt", "?", "-a", "photo.png", "-m", "local:small", env=env, cwd=work)
        assert png.returncode == 0, png.stderr
        pdf = run_cli("prompt", "?", "-a", "paper.pdf", "-m", "local:small", env=env, cwd=work)
        assert pdf.returncode == 3
        assert "local cannot take application/pdf" in one_error_line(pdf.stderr)
        moved = run_cli("prompt", "?", "-a", "paper.pdf", "-m", "gpt-4.1", env=env, cwd=work)
        assert moved.returncode == 0, moved.stderr
        assert fake.requests[-1].json["messages"][-1]["content"][1]["type"] == "file"

    def test_an_unknown_type_is_a_config_error(self, fake: FakeProvider, work: Path) -> None:
        extra = self.write(
            work,
            '[providers.local]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'
            'attachments = ["image/bmp"]\n',
        )
        result = run_cli("prompt", "?", "-m", "local:x", env=environment(fake, **extra), cwd=work)
        assert result.returncode == 3
        assert "'image/bmp' is not one of" in one_error_line(result.stderr)


class TestChat:
    def test_tools_off_a_terminal_need_yes_before_any_prompt(
        self, fake: FakeProvider, work: Path
    ) -> None:
        (work / "in.txt").write_bytes(b"weather?\n")
        with open(work / "in.txt", "rb") as stdin:
            result = run_in(
                work,
                fake,
                "chat",
                "--functions",
                "tools.py",
                "-m",
                "gpt-4.1",
                stdin=stdin,
            )
        assert result.returncode == 3
        assert "pass --yes" in one_error_line(result.stderr)
        assert fake.requests == []

    def test_a_log_with_attachments_and_tools(self, fake: FakeProvider, work: Path) -> None:
        logs = work / "logs"
        logs.mkdir()
        (logs / "chat.md").write_text(
            "what is it?\n\n![attachment](../photo.png)"
            "\n\n# === ASSISTANT ===\n\nA plot.\n\n# === USER ===\n\n"
        )
        (work / "in.txt").write_bytes(b"weather in Oslo?\n")
        fake.push(tool_round("weather", '{"city": "Oslo"}'), answer("Sunny."))
        with open(work / "in.txt", "rb") as stdin:
            result = run_in(
                work,
                fake,
                "chat",
                "--file",
                "logs/chat.md",
                "--attach-from",
                ".",
                "--functions",
                "tools.py",
                "--yes",
                "-m",
                "gpt-4.1",
                stdin=stdin,
            )
        assert result.returncode == 0, result.stderr
        assert result.stdout == b"Sunny.\n"
        first, second = fake.requests
        assert (
            first.json["messages"][0]["content"][1]["image_url"]["url"]
            == f"data:image/png;base64,{b64(PNG)}"
        )
        assert second.json["messages"][-1]["role"] == "tool"
        assert (
            (logs / "chat.md")
            .read_text()
            .endswith("weather in Oslo?\n\n# === ASSISTANT ===\n\nSunny.\n\n# === USER ===\n\n")
        )


class TestResponsesAPI:
    """--functions, --schema and -a over the Responses API (--api responses)."""

    @pytest.mark.parametrize(
        ("model", "path"), [("gpt-5.6-terra", "/openai"), ("grok-4.3", "/xai")]
    )
    def test_functions_run_to_the_answer(
        self, fake: FakeProvider, work: Path, model: str, path: str
    ) -> None:
        fake.push(
            answer(
                reasoning=["Need the weather."],
                tool_calls=[ToolCall(0, "c1", "weather", '{"city": "Oslo"}')],
            ),
            answer("Sunny in Oslo."),
        )
        args = (
            "prompt",
            "weather?",
            "--functions",
            "tools.py",
            "--yes",
            "-m",
            model,
            "--api",
            "responses",
        )
        result = run_in(work, fake, *args)
        assert result.returncode == 0, result.stderr
        assert result.stdout == b"Sunny in Oslo.\n"
        assert [request.path for request in fake.requests] == [f"{path}/v1/responses"] * 2
        second = fake.requests[1].json["input"]
        assert [item["type"] for item in second][1:] == [
            "reasoning",
            "function_call",
            "function_call_output",
        ]
        assert second[-1]["output"] == "sunny in Oslo for 1 days"

    def test_events_do_not_show_the_encrypted_reasoning(
        self, fake: FakeProvider, work: Path
    ) -> None:
        fake.push(
            answer(
                reasoning=["Hm."], tool_calls=[ToolCall(0, "c1", "weather", '{"city": "Oslo"}')]
            ),
            answer("Sunny."),
        )
        args = (
            "prompt",
            "w?",
            "--functions",
            "tools.py",
            "--yes",
            "-m",
            "gpt-5.6-terra",
            "--api",
            "responses",
            "--events",
        )
        result = run_in(work, fake, *args)
        assert result.returncode == 0, result.stderr
        assert b"encrypted" not in result.stdout
        assert b"gAAAAB" not in result.stdout + result.stderr
        assert "gAAAAB" in json.dumps(fake.requests[1].json)  # it went back all the same

    def test_schema_and_an_image(self, fake: FakeProvider, work: Path) -> None:
        fake.push(answer('{"city": "Oslo"}'))
        args = (
            "prompt",
            "where?",
            "--schema",
            "city str",
            "-a",
            "photo.png",
            "-m",
            "gpt-5.6-terra",
            "--api",
            "responses",
        )
        result = run_in(work, fake, *args)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == {"city": "Oslo"}
        body = fake.requests[-1].json
        assert fake.requests[-1].path == "/openai/v1/responses"
        assert body["text"]["format"]["type"] == "json_schema"
        assert [part["type"] for part in body["input"][-1]["content"]] == [
            "input_text",
            "input_image",
        ]
