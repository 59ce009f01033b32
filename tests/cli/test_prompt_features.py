"""codey prompt beyond the original: several models, --events, reasoning, usage, stats,
deadline, --no-stream, and the completion scripts. All through ``python -m codey``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codey.testing import (
    Close,
    Done,
    ErrorEvent,
    FakeProvider,
    Finish,
    Pause,
    Ping,
    Reasoning,
    Stall,
    Text,
    ToolCall,
    UsageStep,
    answer,
    error,
    events,
)
from tests.helpers import environment, one_error_line, run_cli

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX shells and signals")


@pytest.fixture
def other() -> Iterator[FakeProvider]:
    """A second server, so that each provider's replies are scripted on their own."""
    with FakeProvider() as server:
        yield server


def two_servers(fake: FakeProvider, other: FakeProvider, **extra: str) -> dict[str, str]:
    """OpenAI and xAI on ``fake``, Anthropic on ``other``."""
    return environment(fake, ANTHROPIC_BASE_URL=other.base_url("anthropic"), **extra)


def records(stdout: bytes) -> list[dict[str, Any]]:
    lines = stdout.decode("utf-8").splitlines()
    assert stdout.endswith(b"\n")
    return [json.loads(line) for line in lines]


class TestSeveralModels:
    def test_sections_in_order_of_completion(self, fake: FakeProvider, other: FakeProvider) -> None:
        """Off a terminal: a section per model, the first to finish first; exit 0."""
        fake.push(events(Pause(0.4), Text("slow "), Text("answer"), Finish(), Done()))
        other.push(answer("quick"))
        result = run_cli(
            "prompt", "hi", "-m", "gpt-4.1", "-m", "claude-sonnet-4-0", env=two_servers(fake, other)
        )
        assert result.returncode == 0
        assert result.stderr == b""
        assert result.stdout.decode() == (
            "=== claude-sonnet-4-0 ===\nquick\n\n=== gpt-4.1 ===\nslow answer\n"
        )

    def test_all_at_once(self, fake: FakeProvider, other: FakeProvider) -> None:
        """The models stream in parallel: the total is the slowest, not the sum."""
        import time

        fake.push(events(Pause(0.8), Text("a"), Finish(), Done()))
        other.push(events(Pause(0.8), Text("b"), Finish(), Done()))
        started = time.monotonic()
        result = run_cli(
            "prompt", "hi", "-m", "gpt-4.1", "-m", "claude-sonnet-4-0", env=two_servers(fake, other)
        )
        elapsed = time.monotonic() - started
        assert result.returncode == 0
        assert elapsed < 1.5 + 0.5  # one python start-up, one 0.8 s wait

    def test_chunk_lines_carry_the_model(self, fake: FakeProvider, other: FakeProvider) -> None:
        fake.push(events(Text("o1"), Pause(0.3), Text("o2"), Finish(), Done()))
        other.push(events(Pause(0.15), Text("a1"), Pause(0.3), Text("a2"), Finish(), Done()))
        result = run_cli(
            "prompt",
            "hi",
            "-m",
            "gpt-4.1",
            "-m",
            "claude-sonnet-4-0",
            "--chunk",
            env=two_servers(fake, other),
        )
        assert result.returncode == 0
        assert result.stdout == (
            b'{"model":"gpt-4.1","chunk":"o1"}\n'
            b'{"model":"claude-sonnet-4-0","chunk":"a1"}\n'
            b'{"model":"gpt-4.1","chunk":"o2"}\n'
            b'{"model":"claude-sonnet-4-0","chunk":"a2"}\n'
        )

    def test_failures(self, fake: FakeProvider, other: FakeProvider) -> None:
        """One stderr line per failed model; the others still answer; the first failure's code."""
        fake.push(events(Text("half"), Close()))  # grok-4.3 (xai): 6
        other.push(answer("fine"))
        env = two_servers(fake, other)
        env.pop("OPENAI_API_KEY")  # gpt-4.1 then fails before any request: missing key
        result = run_cli(
            "prompt",
            "hi",
            "-m",
            "grok-4.3",
            "-m",
            "gpt-4.1",
            "-m",
            "claude-sonnet-4-0",
            env=env,
        )
        assert result.returncode == 6  # grok-4.3 is first in the order given
        lines = sorted(result.stderr.decode().splitlines())
        assert len(lines) == 2
        assert lines[0].startswith("codey: error: gpt-4.1: ")
        assert "OPENAI_API_KEY" in lines[0]
        assert lines[1].startswith("codey: error: grok-4.3: ")
        out = result.stdout.decode()
        assert "=== claude-sonnet-4-0 ===\nfine\n" in out
        assert "=== grok-4.3 ===\nhalf\n" in out  # what arrived is kept
        assert "gpt-4.1" not in out

    def test_events_each_model_has_one_final_record(
        self, fake: FakeProvider, other: FakeProvider
    ) -> None:
        fake.push(events(Text("x"), Close()))
        other.push(answer("ok"))
        result = run_cli(
            "prompt",
            "hi",
            "-m",
            "gpt-4.1",
            "-m",
            "claude-sonnet-4-0",
            "--events",
            env=two_servers(fake, other),
        )
        assert result.returncode == 6
        got = records(result.stdout)
        assert all("model" in record for record in got)
        finals = [r for r in got if r["type"] in ("finish", "error")]
        assert sorted((r["model"], r["type"]) for r in finals) == [
            ("claude-sonnet-4-0", "finish"),
            ("gpt-4.1", "error"),
        ]
        failed = next(r for r in finals if r["type"] == "error")
        assert (failed["kind"], failed["partial_text_length"]) == ("broken", 1)
        for model in ("gpt-4.1", "claude-sonnet-4-0"):
            mine = [r for r in got if r["model"] == model]
            assert mine[-1]["type"] in ("finish", "error")

    def test_same_model_twice_is_a_usage_error(self, fake: FakeProvider) -> None:
        result = run_cli("prompt", "hi", "-m", "gpt-4.1", "-m", "gpt-4.1", env=environment(fake))
        assert result.returncode == 2
        assert fake.requests == []

    def test_single_model_output_unchanged(self, fake: FakeProvider) -> None:
        """One -m: exactly what codey always wrote."""
        fake.push(answer("same"))
        result = run_cli("prompt", "hi", "-m", "gpt-4.1", env=environment(fake))
        assert (result.stdout, result.stderr) == (b"same\n", b"")


class TestCtrlC:
    def interrupt(self, fake: FakeProvider, requests: int, *args: str) -> tuple[int, bytes, bytes]:
        import signal
        import time

        from tests.helpers import start_cli

        proc = start_cli("prompt", "hi", *args, env=environment(fake))
        try:
            assert fake.wait_for_requests(requests)
            time.sleep(0.3)  # the first text is in
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=10)
        finally:
            proc.kill()
            proc.wait()
        assert all(request.disconnected.wait(2.0) for request in fake.requests)
        return proc.returncode, out, err

    def test_several_models(self, fake: FakeProvider) -> None:
        """Ctrl-C: every stream closed, what arrived shown, exit 130, nothing on stderr."""
        fake.default = events(Text("part"), Stall())
        code, out, err = self.interrupt(fake, 2, "-m", "gpt-4.1", "-m", "grok-4.3")
        assert (code, err) == (130, b"")
        assert out == b"=== gpt-4.1 ===\npart\n\n=== grok-4.3 ===\npart\n"

    def test_events(self, fake: FakeProvider) -> None:
        fake.default = events(Text("part"), Stall())
        code, out, err = self.interrupt(fake, 1, "-m", "gpt-4.1", "--events")
        assert (code, err) == (130, b"")
        assert records(out) == [
            {"type": "text", "text": "part"},
            {
                "type": "error",
                "kind": "interrupted",
                "error": "KeyboardInterrupt",
                "message": "interrupted (Ctrl-C)",
                "exit_code": 130,
                "partial_text_length": 4,
            },
        ]


class TestEvents:
    def test_every_kind_of_event(self, fake: FakeProvider) -> None:
        fake.push(
            events(
                Reasoning("think"),
                Text("Hi"),
                ToolCall(index=0, id="call_1", name="look", arguments=['{"q":', '"x"}']),
                UsageStep(12, 3),
                Finish("tool_calls"),
                Done(),
            )
        )
        result = run_cli("prompt", "hi", "-m", "gpt-4.1", "--events", env=environment(fake))
        assert (result.returncode, result.stderr) == (0, b"")
        assert records(result.stdout) == [
            {"type": "reasoning", "text": "think"},
            {"type": "text", "text": "Hi"},
            {"type": "tool_call", "index": 0, "id": "call_1", "name": "look", "arguments": '{"q":'},
            {"type": "tool_call", "index": 0, "id": None, "name": None, "arguments": '"x"}'},
            {"type": "usage", "input_tokens": 12, "output_tokens": 3},
            {"type": "finish", "reason": "tool_calls", "api": "chat"},
        ]

    @pytest.mark.parametrize(
        ("reply", "kind", "code", "partial"),
        [
            (events(Text("abc"), Close()), "broken", 6, 3),
            (events(Text("abcd"), ErrorEvent("overloaded_error")), "broken", 6, 4),
            (events(Text("ab"), Stall()), "timeout", 5, 2),
            (error(401, "no"), "configuration", 3, 0),
            (error(529, "busy", retry_after=0), "busy", 4, 0),
        ],
    )
    def test_a_cut_answer_ends_with_an_error_record(
        self, fake: FakeProvider, reply: Any, kind: str, code: int, partial: int
    ) -> None:
        fake.default = reply
        result = run_cli(
            "prompt",
            "hi",
            "-m",
            "claude-sonnet-4-0",
            "--events",
            "--chunk-timeout",
            "0.3",
            env=environment(fake),
        )
        assert result.returncode == code
        got = records(result.stdout)
        final = got[-1]
        assert (final["type"], final["kind"], final["exit_code"]) == ("error", kind, code)
        assert final["partial_text_length"] == partial
        assert final["error"].endswith("Error")
        assert [r["type"] for r in got[:-1] if r["type"] != "usage"] == ["text"] * bool(partial)
        one_error_line(result.stderr)

    def test_configuration_error_before_the_stream(self, fake: FakeProvider) -> None:
        """Even a missing key gives the one final record."""
        env = environment(fake)
        env.pop("OPENAI_API_KEY")
        result = run_cli("prompt", "hi", "-m", "gpt-4.1", "--events", env=env)
        assert result.returncode == 3
        (final,) = records(result.stdout)
        assert (final["type"], final["error"]) == ("error", "MissingAPIKeyError")

    def test_not_with_chunk(self) -> None:
        result = run_cli("prompt", "hi", "--events", "--chunk", env=environment())
        assert result.returncode == 2


class TestReasoningUsageStats:
    def test_reasoning_goes_to_stderr_only(self, fake: FakeProvider) -> None:
        fake.push(answer("The answer.", reasoning=["Let me ", "think."]))
        result = run_cli("prompt", "hi", "-m", "o3", "--reasoning", env=environment(fake))
        assert (result.returncode, result.stdout) == (0, b"The answer.\n")
        assert result.stderr == b"Let me think.\n"

    def test_reasoning_hidden_without_the_flag(self, fake: FakeProvider) -> None:
        fake.push(answer("The answer.", reasoning=["secret"]))
        result = run_cli("prompt", "hi", "-m", "o3", env=environment(fake))
        assert (result.stdout, result.stderr) == (b"The answer.\n", b"")

    def test_reasoning_effort_and_thinking_budget(self, fake: FakeProvider) -> None:
        fake.push(answer("a"), answer("b"))
        env = environment(fake)
        assert (
            run_cli(
                "prompt", "hi", "-m", "o3", "--api", "chat", "--reasoning-effort", "high", env=env
            ).returncode
            == 0
        )
        assert fake.requests[-1].json["reasoning_effort"] == "high"
        result = run_cli(
            "prompt", "hi", "-m", "claude-sonnet-4-0", "--thinking-budget", "2048", env=env
        )
        assert result.returncode == 0
        assert fake.requests[-1].json["thinking"] == {"type": "enabled", "budget_tokens": 2048}

    def test_thinking_budget_for_openai_is_a_configuration_error(self, fake: FakeProvider) -> None:
        result = run_cli(
            "prompt", "hi", "-m", "o3", "--thinking-budget", "2048", env=environment(fake)
        )
        assert result.returncode == 3
        assert "effort=" in one_error_line(result.stderr)
        assert fake.requests == []

    def test_usage_and_stats(self, fake: FakeProvider) -> None:
        fake.push(answer("ok", usage=(21, 8)))
        result = run_cli(
            "prompt", "hi", "-m", "gpt-4.1", "--usage", "--stats", env=environment(fake)
        )
        assert (result.returncode, result.stdout) == (0, b"ok\n")
        usage, stats = result.stderr.decode().splitlines()
        assert usage == "codey: gpt-4.1: 21 input tokens, 8 output tokens"
        assert stats.startswith("codey: gpt-4.1: ")
        for words in ("to headers", "to first text", "longest gap", "in all", "0 retries"):
            assert words in stats

    def test_stats_count_retries(self, fake: FakeProvider) -> None:
        fake.push(error(503, "busy", retry_after=0), answer("ok"))
        result = run_cli("prompt", "hi", "-m", "gpt-4.1", "--stats", env=environment(fake))
        assert result.returncode == 0
        assert "1 retry (" in result.stderr.decode()

    def test_usage_after_a_failure(self, fake: FakeProvider) -> None:
        fake.push(events(Text("cut"), Close()))
        result = run_cli("prompt", "hi", "-m", "gpt-4.1", "--usage", env=environment(fake))
        assert result.returncode == 6
        lines = result.stderr.decode().splitlines()
        assert lines[0] == "codey: gpt-4.1: the provider reported no token usage"
        assert lines[1].startswith("codey: error: ")


class TestDeadlineAndNoStream:
    def test_deadline(self, fake: FakeProvider) -> None:
        """A server trickling keep-alives cannot stretch --deadline: exit 5."""
        import time

        steps = [Text("slow")] + [Pause(0.1), Ping()] * 40
        fake.push(events(*steps))
        started = time.monotonic()
        result = run_cli(
            "prompt", "hi", "-m", "claude-sonnet-4-0", "--deadline", "0.5", env=environment(fake)
        )
        assert time.monotonic() - started < 3.0
        assert (result.returncode, result.stdout) == (5, b"slow")
        assert "deadline" in one_error_line(result.stderr)

    def test_no_stream_writes_once(self, fake: FakeProvider) -> None:
        """--no-stream: nothing on standard output until the answer is whole."""
        from tests.helpers import start_cli

        fake.push(events(Text("first "), Stall(), Text("second"), Finish(), Done()))
        proc = start_cli("prompt", "hi", "-m", "gpt-4.1", "--no-stream", env=environment(fake))
        try:
            assert fake.wait_for_requests(1)
            import select

            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], 0.5)
            assert ready == []  # "first " has arrived, but is not written yet
            fake.release()
            out, err = proc.communicate(timeout=10)
        finally:
            proc.kill()
            proc.wait()
        assert (proc.returncode, out, err) == (0, b"first second\n", b"")

    def test_no_stream_with_chunk(self, fake: FakeProvider) -> None:
        fake.push(answer("a", "b"))
        result = run_cli(
            "prompt", "hi", "-m", "gpt-4.1", "--no-stream", "--chunk", env=environment(fake)
        )
        assert result.stdout == b'{"chunk":"a"}\n{"chunk":"b"}\n'


class TestSaveOptions:
    def test_save_takes_the_request_options(self, fake: FakeProvider, tmp_path: Path) -> None:
        log = tmp_path / "chat.md"
        fake.push(answer("ok", usage=(3, 1)))
        result = run_cli(
            "save",
            "q",
            "--file",
            str(log),
            "-m",
            "gpt-4.1",
            "--system",
            "Be brief.",
            "--usage",
            env=environment(fake),
        )
        assert (result.returncode, result.stdout) == (0, b"ok\n")
        assert result.stderr == b"codey: gpt-4.1: 3 input tokens, 1 output token\n"
        assert fake.requests[-1].json["messages"][0] == {"role": "system", "content": "Be brief."}
        assert (
            log.read_text(encoding="utf-8")
            == "q\n\n# === ASSISTANT ===\n\nok\n\n# === USER ===\n\n"
        )


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The three completion scripts, made with a config file that has an alias."""
    home = tmp_path_factory.mktemp("home")
    config = home / "codey" / "config.toml"
    config.parent.mkdir()
    config.write_text('[aliases]\nfast = "gpt-4.1-mini"\n', encoding="utf-8")
    env = environment(XDG_CONFIG_HOME=str(home))
    return {shell: run_cli("completion", shell, env=env).stdout.decode() for shell in SHELLS}


SHELLS = ("bash", "zsh", "fish")


COMMANDS = ("prompt", "save", "chat", "batch", "models", "providers", "config", "completion")


class TestCompletion:
    def test_bash_accepts_it(self, scripts: dict[str, str], tmp_path: Path) -> None:
        path = tmp_path / "codey.bash"
        path.write_text(scripts["bash"], encoding="utf-8")
        subprocess.run(["bash", "-n", str(path)], check=True)

    @pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
    def test_names_every_command(self, scripts: dict[str, str], shell: str) -> None:
        for command in COMMANDS:
            assert command in scripts[shell]
        assert "--reasoning-effort" in scripts[shell] or "reasoning-effort" in scripts[shell]
        assert "claude-sonnet-5" in scripts[shell]  # a current model
        assert "fast" in scripts[shell]  # the config file's alias

    @pytest.mark.parametrize(
        ("line", "expected"),
        [
            ("codey ", [*COMMANDS, "tools", "buffer", "format", "color"]),
            ("codey pro", ["prompt", "providers"]),
            ("codey --v", ["--version"]),
            ("codey prompt --mo", ["--model"]),
            ("codey prompt --rea", ["--reasoning-effort", "--reasoning"]),
            ("codey prompt -m claude-s", ["claude-sonnet-5", "claude-sonnet-4-6"]),
            ("codey prompt --model=gpt-5.4-n", ["gpt-5.4-nano"]),
            ("codey prompt -m ollama:qw", ["qwen3"]),
            ("codey prompt -m fa", ["fast"]),
            ("codey prompt --reasoning-effort m", ["minimal", "medium", "max"]),
            ("codey completion ", ["bash", "zsh", "fish"]),
            ("codey batch --pa", ["--parallel"]),
            ("codey chat --", None),
            ("codey prompt --max-tokens ", []),
        ],
    )
    def test_bash_completes(
        self, scripts: dict[str, str], tmp_path: Path, line: str, expected: Any
    ) -> None:
        path = tmp_path / "codey.bash"
        path.write_text(scripts["bash"], encoding="utf-8")
        driver = (
            f'source "{path}"\n'
            f"COMP_LINE={json.dumps(line)}\n"
            "COMP_POINT=${#COMP_LINE}\n"
            "_codey\n"
            'printf "%s\\n" "${COMPREPLY[@]}"\n'
        )
        result = subprocess.run(["bash", "-c", driver], capture_output=True, check=True)
        got = [word for word in result.stdout.decode().split("\n") if word]
        if expected is None:  # every chat option
            assert {"--file", "--model", "--system", "--reasoning", "--usage"} <= set(got)
        else:
            assert sorted(got) == sorted(expected)

    @pytest.mark.parametrize(("shell", "check"), [("zsh", ["zsh", "-n"]), ("fish", ["fish", "-n"])])
    def test_other_shells_accept_it(
        self, scripts: dict[str, str], tmp_path: Path, shell: str, check: list[str]
    ) -> None:
        if shutil.which(shell) is None:
            pytest.skip(f"{shell} is not installed")
        path = tmp_path / f"codey.{shell}"
        path.write_text(scripts[shell], encoding="utf-8")
        subprocess.run([*check, str(path)], check=True)

    def test_zsh_and_fish_shapes(self, scripts: dict[str, str]) -> None:
        assert scripts["zsh"].startswith("#compdef codey\n")
        assert "'chat:talk with a model, interactively'" in scripts["zsh"]
        assert "'*'{-m,--model}'[the model, such as gpt-5.5" in scripts["zsh"]
        assert (
            'complete -c codey -n "__fish_seen_subcommand_from prompt" -s m -l model -x'
            in (scripts["fish"])
        )

    def test_unknown_shell(self) -> None:
        assert run_cli("completion", "tcsh", env=environment()).returncode == 2
