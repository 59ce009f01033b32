"""What the command line says about how an answer ended, and what an answer may do
to a terminal: ``python -m codey`` against the fake provider, on pipes and on a pty."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from codey.testing import (
    Done,
    ErrorEvent,
    FakeProvider,
    Finish,
    Pause,
    Reasoning,
    Reply,
    Text,
    answer,
    events,
)
from tests.cli.terminal import Pty, pty_env
from tests.helpers import environment, one_error_line, run_cli

ASSISTANT = "\n\n# === ASSISTANT ===\n\n"
USER = "\n\n# === USER ===\n\n"

#: An answer that would set the window title and the colour if written raw.
HOSTILE = "Sure\x1b]0;pwned-title\x07 \x1b[31mred\r\n\tend"
#: The same as a terminal shows it: control characters escaped, newline and tab kept.
SHOWN = "Sure\\x1b]0;pwned-title\\x07 \\x1b[31mred\\r\n\tend"


def by_model(fake: FakeProvider, replies: dict[str, Reply]) -> None:
    """Each request answered by its model's reply (several models ask at once)."""
    fake.responder = lambda request: replies[request.json["model"]]


class TestCutAnswer:
    """An answer the provider ended at the token limit says so, and still exits 0."""

    @pytest.mark.parametrize(
        ("model", "reason", "api"),
        [
            ("gpt-4.1", "length", ()),
            ("claude-sonnet-4-0", "max_tokens", ()),
            ("gpt-4.1", "max_output_tokens", ("--api", "responses")),
        ],
    )
    def test_one_line_on_stderr(
        self, fake: FakeProvider, model: str, reason: str, api: tuple[str, ...]
    ) -> None:
        fake.push(events(Text("part of a long"), Finish(reason), Done()))
        result = run_cli("prompt", "hi", "-m", model, *api, env=environment(fake))
        assert (result.returncode, result.stdout) == (0, b"part of a long\n")
        assert result.stderr.decode() == (
            f"codey: {model}: the answer was cut at the token limit "
            f"(finish reason: {reason}); raise --max-tokens\n"
        )

    def test_a_whole_answer_says_nothing(self, fake: FakeProvider) -> None:
        fake.push(events(Text("done."), Finish("stop"), Done()))
        result = run_cli("prompt", "hi", "-m", "gpt-4.1", env=environment(fake))
        assert (result.returncode, result.stdout, result.stderr) == (0, b"done.\n", b"")

    def test_save_writes_a_note(self, fake: FakeProvider, tmp_path: Path) -> None:
        """The log keeps the cut answer with a note; the next turn reads it as a log."""
        log = tmp_path / "chat.md"
        fake.push(events(Text("part of a long"), Finish("length"), Done()), answer("ok"))
        env = environment(fake)
        result = run_cli("save", "q", "--file", str(log), "-m", "gpt-4.1", env=env)
        assert result.returncode == 0
        assert b"cut at the token limit" in result.stderr
        note = (
            "<!-- codey: interrupted: the answer was cut at the token limit "
            "(finish reason: length) -->"
        )
        assert (
            log.read_text(encoding="utf-8") == "q" + ASSISTANT + "part of a long\n\n" + note + USER
        )
        assert (
            run_cli("save", "go on", "--file", str(log), "-m", "gpt-4.1", env=env).returncode == 0
        )
        assert fake.requests[-1].json["messages"] == [
            {"role": "user", "content": "q"},
            {"role": "assistant", "content": "part of a long"},
            {"role": "user", "content": "go on"},
        ]

    def test_several_models(self, fake: FakeProvider) -> None:
        """Only the cut model gets the line, named."""
        cut = events(Text("short"), Finish("length"), Done())
        by_model(fake, {"gpt-4.1": cut, "grok-4.3": answer("whole")})
        args = ["prompt", "hi", "-m", "gpt-4.1", "-m", "grok-4.3"]
        result = run_cli(*args, env=environment(fake))
        assert result.returncode == 0
        assert result.stderr.decode() == (
            "codey: gpt-4.1: the answer was cut at the token limit "
            "(finish reason: length); raise --max-tokens\n"
        )


class TestErrorEvents:
    """An error event in the stream names the provider and says it was an error event."""

    @pytest.mark.parametrize(
        ("args", "step", "wanted"),
        [
            (
                ("-m", "claude-sonnet-4-0"),
                ErrorEvent("overloaded_error", "Overloaded"),
                "anthropic sent an error event (overloaded_error): Overloaded",
            ),
            (
                ("-m", "gpt-4.1"),
                ErrorEvent("server_error", "boom"),
                "openai sent an error event (server_error): boom",
            ),
            (
                ("-m", "o3-pro"),
                ErrorEvent("server_error", "boom"),
                "openai-responses sent an error event (server_error): boom",
            ),
            (
                ("-m", "o3-pro"),
                ErrorEvent("server_error", "slow", failed=True),
                "openai-responses sent response.failed (server_error): slow",
            ),
        ],
    )
    def test_named(
        self, fake: FakeProvider, args: tuple[str, ...], step: ErrorEvent, wanted: str
    ) -> None:
        fake.push(events(Text("a "), step))
        result = run_cli("prompt", "hi", *args, env=environment(fake))
        assert result.returncode == 6
        assert one_error_line(result.stderr) == f"codey: error: {wanted}\n"


class TestEventsUsage:
    @pytest.mark.parametrize("model", ["claude-sonnet-4-0", "gpt-4.1", "o3-pro"])
    def test_one_usage_record_per_answer(self, fake: FakeProvider, model: str) -> None:
        """Anthropic counts in message_start and message_delta: one merged record."""
        fake.push(answer("hi there"))
        result = run_cli("prompt", "hi", "-m", model, "--events", env=environment(fake))
        records = [json.loads(line) for line in result.stdout.splitlines()]
        usage = [record for record in records if record["type"] == "usage"]
        assert len(usage) == 1, records
        assert usage[0]["input_tokens"]
        assert usage[0]["output_tokens"]


class TestBrokenModelSection:
    def test_marked_on_stdout(self, fake: FakeProvider) -> None:
        """-m A -m B: a model that broke mid-answer has its section say so."""
        broken = events(Pause(0.3), Text("half"), ErrorEvent("overloaded_error", "Overloaded"))
        by_model(fake, {"gpt-4.1": broken, "grok-4.3": answer("ok")})
        args = ["prompt", "hi", "-m", "gpt-4.1", "-m", "grok-4.3"]
        result = run_cli(*args, env=environment(fake))
        assert result.returncode == 6
        message = "openai sent an error event (overloaded_error): Overloaded"
        assert result.stdout.decode() == (
            "=== grok-4.3 ===\nok\n"
            f"\n=== gpt-4.1 ===\nhalf\n[codey: the answer broke off here: {message}]\n"
        )
        assert result.stderr.decode() == f"codey: error: gpt-4.1: {message}\n"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX pseudo-terminals")
class TestTerminalSafety:
    """Control sequences in an answer are shown escaped on a terminal, kept on a pipe."""

    def test_prompt_on_a_terminal(self, fake: FakeProvider) -> None:
        fake.push(answer(HOSTILE[:7], HOSTILE[7:]))
        with Pty(["prompt", "hi", "-m", "gpt-4.1"], pty_env(environment(fake))) as term:
            assert term.wait() == 0
        # The pty turns each newline into CRLF; nothing else reaches it raw.
        assert term.output == (SHOWN + "\n").replace("\n", "\r\n").encode()

    def test_prompt_on_a_pipe(self, fake: FakeProvider) -> None:
        fake.push(answer(HOSTILE))
        result = run_cli("prompt", "hi", "-m", "gpt-4.1", env=environment(fake))
        assert (result.returncode, result.stdout) == (0, (HOSTILE + "\n").encode())

    def test_save_echo_escaped_log_kept(self, fake: FakeProvider, tmp_path: Path) -> None:
        """save shows the answer escaped on the terminal and writes it as it is."""
        log = tmp_path / "chat.md"
        fake.push(answer(HOSTILE))
        args = ["save", "q", "--file", str(log), "-m", "gpt-4.1"]
        with Pty(args, pty_env(environment(fake))) as term:
            assert term.wait() == 0
        assert b"\x1b" not in term.output
        assert SHOWN.replace("\n", "\r\n").encode() in term.output
        assert log.read_bytes().decode().split(ASSISTANT)[1] == HOSTILE + USER

    def test_chat(self, fake: FakeProvider) -> None:
        fake.push(answer(HOSTILE))
        env = pty_env(environment(fake))
        with Pty(["chat", "-m", "gpt-4.1"], env) as term:
            term.read_until(b"> ")
            term.write(b"hi\r")
            term.read_until(b"end")
            term.read_until(b"> ")
            term.write(b"\x04")
            assert term.wait() == 0
        assert b"\x1b]0;" not in term.output
        assert SHOWN.replace("\n", "\r\n").encode() in term.output

    def test_several_models(self, fake: FakeProvider) -> None:
        fake.default = answer(HOSTILE)
        args = ["prompt", "hi", "-m", "gpt-4.1", "-m", "grok-4.3"]
        with Pty(args, pty_env(environment(fake))) as term:
            assert term.wait() == 0
        assert b"\x1b]0;" not in term.output
        assert term.output.count(SHOWN.replace("\n", "\r\n").encode()) == 2

    def test_reasoning_on_a_terminal(self, fake: FakeProvider) -> None:
        """--reasoning on a terminal's stderr is escaped as well (stdout piped)."""
        fake.push(events(Reasoning("think\x1b]0;x\x07"), Text("ok"), Finish(), Done()))
        args = ["prompt", "hi", "-m", "claude-sonnet-4-0", "--reasoning"]
        with Pty(args, pty_env(environment(fake)), pipe_stdout=True) as term:
            assert term.wait() == 0
            assert term.stdout() == b"ok\n"
        assert b"think\\x1b]0;x\\x07" in term.output
        assert b"\x1b]0;" not in term.output
