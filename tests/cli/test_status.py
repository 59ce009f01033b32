"""The status line on a terminal's standard error when text is slow to come (through a pty)."""

from __future__ import annotations

import sys

import pytest

from codey.testing import Done, FakeProvider, Finish, Pause, Ping, Reasoning, Text, Think, events
from tests.cli.terminal import Pty, pty_env
from tests.helpers import environment, run_cli

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX pseudo-terminals")

ERASE = b"\r\x1b[K"


class TestStatusLine:
    def test_shown_while_waiting_and_erased_when_text_arrives(self, fake: FakeProvider) -> None:
        """Before the first text: seconds waited and seconds since the server's last sign."""
        fake.push(events(Pause(0.3), Ping(), Pause(0.5), Text("Hello"), Finish(), Done()))
        env = pty_env(environment(fake), CODEY_STATUS_DELAY="0.2")
        with Pty(["prompt", "hi", "-m", "gpt-4.1"], env, pipe_stdout=True) as term:
            shown = term.read_until(b"no text from gpt-4.1 for 0 s")
            line = term.read_until(b"\x1b[K")  # the end of the line drawn
            assert b"the server last sent something" in line
            assert b"stalled" not in line  # no answer has begun to stall
            assert term.wait() == 0
            assert term.stdout() == b"Hello\n"
        # The last thing on the terminal erases the line: nothing is left behind.
        assert term.output.endswith(ERASE)
        assert b"\n" not in term.output  # drawn in place, with carriage returns only
        assert shown.startswith(b"\r")

    def test_says_when_there_is_no_response_yet(self, fake: FakeProvider) -> None:
        """Before the response headers, it says there is no response."""
        from tests.helpers import silent_server

        with silent_server() as url:
            env = pty_env(environment(fake, OPENAI_BASE_URL=url + "/v1"), CODEY_STATUS_DELAY="0")
            args = ["prompt", "hi", "-m", "gpt-4.1", "--deadline", "0.5"]
            with Pty(args, env, pipe_stdout=True) as term:
                term.read_until(b"codey: no response from gpt-4.1 after 0 s")
                assert term.wait() == 5  # the deadline

    def test_below_a_partial_line_and_back(self, fake: FakeProvider) -> None:
        """Mid-answer, the status goes on the next line and the cursor comes back."""
        fake.push(events(Text("Hello"), Pause(0.8), Text(" world"), Finish(), Done()))
        env = pty_env(environment(fake), CODEY_STATUS_DELAY="0.2")
        with Pty(["prompt", "hi", "-m", "gpt-4.1"], env) as term:
            term.read_until(b"Hello")
            drawn = term.read_until(b"no text from gpt-4.1")
            assert drawn.startswith(b"\r\n\r")  # a new line below "Hello" (the pty adds \r)
            term.read_until(b"s (slow or stalled?); the server")  # once the answer has begun
            # Erased, up one line and right five columns: the end of "Hello".
            term.read_until(ERASE + b"\x1b[A\x1b[5C world")
            assert term.wait() == 0

    def test_a_reasoning_model_is_thinking(self, fake: FakeProvider) -> None:
        """Silent before its first content, a model that reasons is thinking, not
        stalled; once content has begun, a silence is "slow or stalled?"."""
        script = [Think(0.8, keepalive=0.2), Reasoning("hmm"), Pause(0.8), Text("Hi")]
        fake.push(events(*script, Finish(), Done()))
        env = pty_env(environment(fake), CODEY_STATUS_DELAY="0.3")
        with Pty(["prompt", "hi", "-m", "claude-sonnet-4-0"], env, pipe_stdout=True) as term:
            term.read_until(b"codey: claude-sonnet-4-0 is thinking (")
            assert b"stalled" not in term.read_until(b"\x1b[K")
            term.read_until(b"(slow or stalled?)")
            assert term.wait() == 0
            assert term.stdout() == b"Hi\n"

    def test_not_before_the_delay(self, fake: FakeProvider) -> None:
        """A pause shorter than the delay draws nothing."""
        fake.push(events(Pause(0.3), Text("quick"), Finish(), Done()))
        env = pty_env(environment(fake), CODEY_STATUS_DELAY="5")
        with Pty(["prompt", "hi", "-m", "gpt-4.1"], env) as term:
            assert term.wait() == 0
        assert term.output == b"quick\r\n"

    def test_never_when_stderr_is_not_a_terminal(self, fake: FakeProvider) -> None:
        fake.push(events(Pause(0.6), Text("late"), Finish(), Done()))
        env = environment(fake, CODEY_STATUS_DELAY="0")
        result = run_cli("prompt", "hi", "-m", "gpt-4.1", env=env)
        assert (result.returncode, result.stdout, result.stderr) == (0, b"late\n", b"")

    def test_progress_for_several_models(self, fake: FakeProvider) -> None:
        """-m A -m B on a terminal: a progress line while waiting, then the sections."""
        fake.default = events(Pause(0.5), Text("ok"), Finish(), Done())
        env = pty_env(environment(fake))
        args = ["prompt", "hi", "-m", "gpt-4.1", "-m", "grok-4.3"]
        with Pty(args, env, pipe_stdout=True) as term:
            term.read_until(b"gpt-4.1 waiting, grok-4.3 waiting")
            assert term.wait() == 0
            out = term.stdout()
        assert term.output.endswith(ERASE)
        sections = sorted(section.strip(b"\n") for section in out.split(b"\n\n"))
        assert sections == [b"=== gpt-4.1 ===\nok", b"=== grok-4.3 ===\nok"]
