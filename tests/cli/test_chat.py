"""``codey chat`` on a real pseudo-terminal against the fake provider."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from codey.testing import FakeProvider, Stall, Text, answer, error, events
from tests.cli.terminal import Pty, pty_env
from tests.helpers import environment, run_cli

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX pseudo-terminals")

ASSISTANT = "\n\n# === ASSISTANT ===\n\n"
USER = "\n\n# === USER ===\n\n"
PROMPT = b"> "


def chat(fake: FakeProvider, *args: str) -> Pty:
    return Pty(["chat", "-m", "gpt-4.1", *args], pty_env(environment(fake)))


class TestConversation:
    def test_keeps_the_conversation(self, fake: FakeProvider) -> None:
        """Each turn sends the whole conversation so far; Ctrl-D leaves with status 0."""
        fake.push(answer("Paris."), answer("London."))
        with chat(fake) as term:
            banner = term.read_until(PROMPT)
            assert b"gpt-4.1" in banner
            assert b"Ctrl-D" in banner
            term.write(b"capital of France?\r")
            term.read_until(b"Paris.")
            term.read_until(PROMPT)
            term.write(b"and of the UK?\r")
            term.read_until(b"London.")
            term.read_until(PROMPT)
            term.write(b"\x04")  # Ctrl-D
            assert term.wait() == 0
        assert fake.requests[-1].json["messages"] == [
            {"role": "user", "content": "capital of France?"},
            {"role": "assistant", "content": "Paris."},
            {"role": "user", "content": "and of the UK?"},
        ]

    def test_continuation_lines(self, fake: FakeProvider) -> None:
        """A line ending with a backslash goes on."""
        fake.push(answer("ok"))
        with chat(fake) as term:
            term.read_until(PROMPT)
            term.write(b"one\\\r")
            term.read_until(b"... ")
            term.write(b"two\r")
            term.read_until(b"ok")
            term.read_until(PROMPT)
            term.write(b"\x04")
            assert term.wait() == 0
        assert fake.requests[-1].json["messages"][-1]["content"] == "one\ntwo"

    def test_an_error_keeps_the_session(self, fake: FakeProvider) -> None:
        """A failed answer prints one error line and the prompt comes back."""
        fake.push(error(401, "bad key"), answer("fine"))
        with chat(fake) as term:
            term.read_until(PROMPT)
            term.write(b"hi\r")
            term.read_until(b"codey: error: openai returned HTTP 401: bad key")
            term.read_until(PROMPT)
            term.write(b"again\r")
            term.read_until(b"fine")
            term.read_until(PROMPT)
            term.write(b"\x04")
            assert term.wait() == 0
        # The failed turn left nothing in the conversation.
        assert fake.requests[-1].json["messages"] == [{"role": "user", "content": "again"}]


class TestCtrlC:
    def test_stops_only_the_answer(self, fake: FakeProvider) -> None:
        """Ctrl-C mid-answer closes the stream and returns to the prompt, partial answer kept
        and marked as interrupted in the next request."""
        fake.push(events(Text("Once upon "), Text("a time"), Stall()), answer("The end."))
        with chat(fake) as term:
            term.read_until(PROMPT)
            term.write(b"tell me a story\r")
            term.read_until(b"a time")
            term.write(b"\x03")  # Ctrl-C: the terminal sends SIGINT
            term.read_until(b"answer stopped")
            assert fake.requests[0].disconnected.wait(2.0)
            term.read_until(PROMPT)
            term.write(b"go on\r")
            term.read_until(b"The end.")
            term.read_until(PROMPT)
            term.write(b"\x04")
            assert term.wait() == 0
        assert fake.requests[-1].json["messages"] == [
            {"role": "user", "content": "tell me a story"},
            # The model is told that its answer was cut.
            {"role": "assistant", "content": "Once upon a time\n\n[interrupted by the user]"},
            {"role": "user", "content": "go on"},
        ]

    def test_twice_at_an_empty_prompt_leaves(self, fake: FakeProvider) -> None:
        with chat(fake) as term:
            term.read_until(PROMPT)
            term.ctrl_c_at_the_prompt(b"Ctrl-C again or Ctrl-D to leave")
            term.read_until(PROMPT)
            term.ctrl_c_at_the_prompt(None)
            assert term.wait() == 0
        assert fake.requests == []

    def test_typed_text_is_dropped_not_counted(self, fake: FakeProvider) -> None:
        """Ctrl-C on a half-typed line clears it; it does not count towards leaving."""
        fake.push(answer("yes"))
        with chat(fake) as term:
            term.read_until(PROMPT)
            term.ctrl_c_at_the_prompt(b"Ctrl-C again or Ctrl-D to leave")
            term.read_until(PROMPT)
            term.write(b"never mind")
            term.read_until(b"never mind")
            term.ctrl_c_at_the_prompt(PROMPT)
            term.write(b"hello\r")
            term.read_until(b"yes")
            term.read_until(PROMPT)
            term.write(b"\x04")
            assert term.wait() == 0
        assert fake.requests[-1].json["messages"] == [{"role": "user", "content": "hello"}]


class TestFile:
    def test_loads_appends_and_survives_ctrl_c(self, fake: FakeProvider, tmp_path: Path) -> None:
        """--file: the log is read, each turn is appended as it streams, Ctrl-C leaves a note."""
        log = tmp_path / "chat.md"
        log.write_text("what is 2+2?" + ASSISTANT + "4" + USER, encoding="utf-8")
        fake.push(events(Text("5, "), Text("no, "), Stall()), answer("6."))
        with chat(fake, "--file", str(log)) as term:
            assert b"2 messages" in term.read_until(PROMPT)
            term.write(b"and 2+3?\r")
            term.read_until(b"no, ")
            # Appended as it streams: the file already holds the partial answer.
            assert log.read_text(encoding="utf-8").endswith("and 2+3?" + ASSISTANT + "5, no, ")
            term.write(b"\x03")
            term.read_until(b"answer stopped")
            term.read_until(PROMPT)
            term.write(b"and 3+3?\r")
            term.read_until(b"6.")
            term.read_until(PROMPT)
            term.write(b"\x04")
            assert term.wait() == 0
        assert fake.requests[0].json["messages"][:2] == [
            {"role": "user", "content": "what is 2+2?"},
            {"role": "assistant", "content": "4"},
        ]
        assert log.read_text(encoding="utf-8") == (
            "what is 2+2?"
            + ASSISTANT
            + "4"
            + USER
            + "and 2+3?"
            + ASSISTANT
            + "5, no, \n\n<!-- codey: interrupted: Ctrl-C -->"
            + USER
            + "and 3+3?"
            + ASSISTANT
            + "6."
            + USER
        )
        # What is in the file is what was sent: the note is not.
        assert fake.requests[-1].json["messages"][-2:] == [
            {"role": "assistant", "content": "5, no,\n\n[interrupted by the user]"},
            {"role": "user", "content": "and 3+3?"},
        ]

    def test_front_matter_model(self, fake: FakeProvider, tmp_path: Path) -> None:
        """Without --model, the log's front matter names the model."""
        log = tmp_path / "chat.md"
        log.write_text('+++\nmodel = "claude-sonnet-4-0"\n+++\n', encoding="utf-8")
        fake.push(answer("hi"))
        env = pty_env(environment(fake))
        with Pty(["chat", "--file", str(log)], env) as term:
            assert b"claude-sonnet-4-0" in term.read_until(PROMPT)
            term.write(b"hello\r")
            term.read_until(b"hi")
            term.read_until(PROMPT)
            term.write(b"\x04")
            assert term.wait() == 0
        assert fake.requests[-1].provider == "anthropic"
        assert log.read_text(encoding="utf-8").endswith("hello" + ASSISTANT + "hi" + USER)

    def test_invalid_file(self, fake: FakeProvider, tmp_path: Path) -> None:
        log = tmp_path / "chat.md"
        log.write_text("+++\nmodel = \n+++\nhi\n", encoding="utf-8")
        result = run_cli("chat", "--file", str(log), env=environment(fake))
        assert result.returncode == 3
        assert b"line 2" in result.stderr


class TestPiped:
    def test_each_line_is_a_prompt(self, fake: FakeProvider, tmp_path: Path) -> None:
        """Without a terminal, chat reads prompts line by line: no banner, no prompt."""
        fake.push(answer("one"), answer("two"))
        source = tmp_path / "in.txt"
        source.write_bytes(b"first\nsecond\n")
        with source.open("rb") as stdin:
            result = run_cli("chat", "-m", "gpt-4.1", env=environment(fake), stdin=stdin)
        assert (result.returncode, result.stdout, result.stderr) == (0, b"one\ntwo\n", b"")
        assert len(fake.requests[-1].json["messages"]) == 3

    def test_stops_at_the_first_error(self, fake: FakeProvider, tmp_path: Path) -> None:
        fake.push(error(401, "bad key"))
        source = tmp_path / "in.txt"
        source.write_bytes(b"first\nsecond\n")
        with source.open("rb") as stdin:
            result = run_cli("chat", "-m", "gpt-4.1", env=environment(fake), stdin=stdin)
        assert result.returncode == 3
        assert result.stderr.count(b"\n") == 1
        assert len(fake.requests) == 1


class TestHistory:
    """Prompts are kept across sessions in $XDG_STATE_HOME/codey/history."""

    def session(
        self, fake: FakeProvider, env: dict[str, str], keys: bytes, answer_text: bytes
    ) -> None:
        with Pty(["chat", "-m", "gpt-4.1"], env) as term:
            term.read_until(PROMPT)
            term.write(keys)
            term.read_until(answer_text)
            term.read_until(PROMPT)
            term.write(b"\x04")
            assert term.wait() == 0

    def test_kept_across_sessions(self, fake: FakeProvider, tmp_path: Path) -> None:
        """The up arrow in a new session brings back the last one's prompt; the file is 0600."""
        state = tmp_path / "state"
        env = pty_env(environment(fake), HOME=str(tmp_path / "home"), XDG_STATE_HOME=str(state))
        fake.push(answer("first answer"), answer("again"))
        self.session(fake, env, b"the first question\r", b"first answer")
        history = state / "codey" / "history"
        assert "the first question" in history.read_text(encoding="utf-8")
        assert history.stat().st_mode & 0o777 == 0o600
        self.session(fake, env, b"\x1b[A\r", b"again")  # up arrow, Enter
        assert fake.requests[-1].json["messages"] == [
            {"role": "user", "content": "the first question"}
        ]

    def test_default_place_and_bounded(self, fake: FakeProvider, tmp_path: Path) -> None:
        """Without XDG_STATE_HOME it is ~/.local/state/codey/history, at most 1000 prompts."""
        home = tmp_path / "home"
        history = home / ".local" / "state" / "codey" / "history"
        history.parent.mkdir(parents=True)
        history.write_text("".join(f"old {n}\n" for n in range(1500)), encoding="utf-8")
        history.chmod(0o644)
        env = pty_env(environment(fake), HOME=str(home))
        env.pop("XDG_STATE_HOME", None)
        fake.push(answer("ok"))
        self.session(fake, env, b"newest\r", b"ok")
        lines = history.read_text(encoding="utf-8").splitlines()
        assert len(lines) <= 1000
        assert lines[-1] == "newest"
        assert history.stat().st_mode & 0o777 == 0o600

    def test_a_continued_prompt_is_one_entry(self, fake: FakeProvider, tmp_path: Path) -> None:
        """Lines joined with a backslash come back whole with one up arrow, in a new session too."""
        state = tmp_path / "state"
        env = pty_env(environment(fake), HOME=str(tmp_path / "home"), XDG_STATE_HOME=str(state))
        fake.push(answer("first"), answer("again"), answer("and again"))
        with Pty(["chat", "-m", "gpt-4.1"], env) as term:
            term.read_until(PROMPT)
            term.write(b"one\\\r")
            term.read_until(b"... ")
            term.write(b"two\r")
            term.read_until(b"first")
            term.read_until(PROMPT)
            term.write(b"\x1b[A\r")  # up arrow, Enter: the whole prompt again
            term.read_until(b"again")
            term.read_until(PROMPT)
            term.write(b"\x04")
            assert term.wait() == 0
        assert fake.requests[1].json["messages"][-1]["content"] == "one\ntwo"
        history = state / "codey" / "history"
        assert history.read_text(encoding="utf-8").splitlines() == ["one\\", "two"]
        self.session(fake, env, b"\x1b[A\r", b"and again")
        assert fake.requests[-1].json["messages"] == [{"role": "user", "content": "one\ntwo"}]
