"""The command line as a real process: ``python -m codey`` against the fake provider.

Exit statuses, Ctrl-C during a stalled stream, ``| head -1``, bytes on the
wire of standard output, the file lock of ``save``, and start-up cost.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import pytest

from codey.testing import (
    Close,
    Done,
    FakeProvider,
    Finish,
    Pause,
    Stall,
    Step,
    Text,
    answer,
    error,
    events,
)
from tests.helpers import (
    SEED,
    TIMEOUT,
    environment,
    one_error_line,
    read_until,
    run_cli,
    start_cli,
)

ASSISTANT = "\n\n# === ASSISTANT ===\n\n"
USER = "\n\n# === USER ===\n\n"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and pipes")


class TestOutput:
    """Bytes on standard output."""

    def test_streamed_text(self, fake: FakeProvider) -> None:
        fake.push(answer("Hel", "lo ✓"))
        result = run_cli("prompt", "hi", "--model", "gpt-4.1", env=environment(fake))
        assert (result.returncode, result.stdout, result.stderr) == (
            0,
            "Hello ✓\n".encode(),
            b"",
        )

    def test_chunk_bytes_are_utf8_whatever_the_locale(self, fake: FakeProvider) -> None:
        """--chunk keeps non-ASCII as UTF-8 even when Python would write ASCII."""
        fake.push(answer("Hé", "llo"))
        env = environment(fake, PYTHONIOENCODING="ascii", LC_ALL="C")
        result = run_cli("prompt", "hi", "--model", "gpt-4.1", "--chunk", env=env)
        assert result.returncode == 0
        assert result.stdout == b'{"chunk":"H\xc3\xa9"}\n{"chunk":"llo"}\n'

    def test_add_delimiters(self, fake: FakeProvider) -> None:
        fake.push(answer("Paris."))
        result = run_cli("prompt", "q", "--model", "o3", "--add-delimiters", env=environment(fake))
        assert result.stdout.decode() == ASSISTANT + "Paris." + USER + "\n"

    def test_seed_chat_log_on_stdin(self, fake: FakeProvider) -> None:
        """codey prompt < seed-chat.md sends the conversation up to its last prompt."""
        fake.push(answer("ok"))
        with SEED.open("rb") as stdin:
            result = run_cli(
                "prompt", "--model", "grok-4.3", "--api", "chat", env=environment(fake), stdin=stdin
            )
        assert (result.returncode, result.stdout) == (0, b"ok\n")
        messages = fake.requests[-1].json["messages"]
        # The seed ends with an empty user section: the conversation ends on the last prompt.
        assert len(messages) == 11
        assert [m["role"] for m in messages] == ["user", "assistant"] * 5 + ["user"]

    def test_python_dash_m_version(self) -> None:
        from codey import __version__

        result = run_cli("--version", env=environment())
        assert (result.returncode, result.stdout) == (0, f"codey {__version__}\n".encode())


class TestExitStatus:
    """Each kind of failure: its exit status and exactly one line on stderr."""

    def test_missing_key(self) -> None:
        result = run_cli("prompt", "hi", "--model", "claude-sonnet-4-0", env=environment())
        assert result.returncode == 3
        assert "ANTHROPIC_API_KEY" in one_error_line(result.stderr)

    def test_authentication(self, fake: FakeProvider) -> None:
        fake.push(error(401, "invalid x-api-key"))
        result = run_cli("prompt", "hi", "--model", "claude-sonnet-4-0", env=environment(fake))
        assert (result.returncode, result.stdout) == (3, b"")
        assert "401" in one_error_line(result.stderr)

    def test_busy(self, fake: FakeProvider) -> None:
        fake.default = error(429, "slow down", retry_after=0)
        result = run_cli("prompt", "hi", "--model", "gpt-4.1", env=environment(fake))
        assert result.returncode == 4
        one_error_line(result.stderr)
        assert len(fake.requests) == 3

    def test_chunk_timeout(self, fake: FakeProvider) -> None:
        fake.push(events(Text("partial"), Stall()))
        result = run_cli(
            "prompt", "hi", "--model", "gpt-4.1", "--chunk-timeout", "0.5", env=environment(fake)
        )
        assert (result.returncode, result.stdout) == (5, b"partial")
        one_error_line(result.stderr)

    def test_broken_stream(self, fake: FakeProvider) -> None:
        fake.push(events(Text("partial"), Close()))
        result = run_cli("prompt", "hi", "--model", "grok-4.3", env=environment(fake))
        assert (result.returncode, result.stdout) == (6, b"partial")
        one_error_line(result.stderr)

    def test_no_input(self) -> None:
        result = run_cli("prompt", env=environment())
        assert (result.returncode, result.stdout) == (1, b"")
        assert result.stderr == b"No prompt supplied (argument or stdin required).\n"

    def test_endless_stdin_is_bounded(self) -> None:
        """codey prompt < /dev/zero stops at the input limit with one error line."""
        with open("/dev/zero", "rb") as zero:
            result = run_cli("prompt", env=environment(CODEY_MAX_INPUT="1M"), stdin=zero)
        assert (result.returncode, result.stdout) == (1, b"")
        assert "standard input is bigger than the 1 MiB input limit" in one_error_line(
            result.stderr
        )

    def test_save_to_dev_zero(self, tmp_path: Path) -> None:
        """save --file /dev/zero ends at once (it used to read forever)."""
        result = run_cli("save", "hi", "--file", "/dev/zero", env=environment(), cwd=tmp_path)
        assert result.returncode == 1
        assert "/dev/zero: not a regular file" in one_error_line(result.stderr)

    def test_usage(self) -> None:
        result = run_cli("prompt", "--nope", env=environment())
        assert result.returncode == 2
        assert result.stderr.startswith(b"usage: codey")
        assert b"--nope" in result.stderr

    def test_debug_traceback(self) -> None:
        result = run_cli("prompt", "hi", "--model", "gpt-4.1", env=environment(CODEY_DEBUG="1"))
        assert result.returncode == 3
        assert b"Traceback" in result.stderr
        assert result.stderr.decode().splitlines()[-1].startswith("codey: error: ")


class TestInterrupt:
    """Ctrl-C (SIGINT) during a stalled stream."""

    def test_prompt(self, fake: FakeProvider) -> None:
        """Exit 130, the partial output stays, no traceback, the connection is closed."""
        fake.push(events(Text("partial "), Text("answer"), Stall()))
        proc = start_cli("prompt", "hi", "--model", "gpt-4.1", env=environment(fake))
        try:
            seen = read_until(proc, b"partial answer")
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=TIMEOUT)
        finally:
            proc.kill()
            proc.wait()
        assert proc.returncode == 130
        assert seen + out == b"partial answer"
        assert err == b""
        assert fake.requests[-1].disconnected.wait(2.0)

    def test_save(self, fake: FakeProvider, tmp_path: Path) -> None:
        """save keeps what arrived, notes the interruption and closes with the user delimiter."""
        log = tmp_path / "chat.md"
        fake.push(events(Text("half an "), Text("answer"), Stall()))
        proc = start_cli(
            "save", "q", "--file", str(log), "--model", "gpt-4.1", env=environment(fake)
        )
        try:
            read_until(proc, b"half an answer")
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=TIMEOUT)
        finally:
            proc.kill()
            proc.wait()
        assert proc.returncode == 130
        assert err == b""
        text = log.read_text(encoding="utf-8")
        assert text == (
            "q" + ASSISTANT + "half an answer\n\n<!-- codey: interrupted: Ctrl-C -->" + USER
        )

    @pytest.mark.parametrize(
        ("signum", "name"), [(signal.SIGTERM, "SIGTERM"), (signal.SIGHUP, "SIGHUP")]
    )
    def test_save_terminated(
        self, signum: int, name: str, fake: FakeProvider, tmp_path: Path
    ) -> None:
        """SIGTERM and SIGHUP close the file as Ctrl-C does, and exit 128 + the signal."""
        log = tmp_path / "chat.md"
        fake.push(events(Text("half an "), Text("answer"), Stall()))
        proc = start_cli(
            "save", "q", "--file", str(log), "--model", "gpt-4.1", env=environment(fake)
        )
        try:
            read_until(proc, b"half an answer")
            proc.send_signal(signum)
            _, err = proc.communicate(timeout=TIMEOUT)
        finally:
            proc.kill()
            proc.wait()
        assert (proc.returncode, err) == (128 + signum, b"")
        assert log.read_text(encoding="utf-8") == (
            "q" + ASSISTANT + f"half an answer\n\n<!-- codey: interrupted: {name} -->" + USER
        )
        assert fake.requests[-1].disconnected.wait(2.0)

    def test_chat_file_terminated(self, fake: FakeProvider, tmp_path: Path) -> None:
        """codey chat --file closes the partial answer on SIGTERM, too."""
        log = tmp_path / "chat.md"
        fake.push(events(Text("half"), Stall()))
        proc = start_cli(
            "chat",
            "--file",
            str(log),
            "--model",
            "gpt-4.1",
            env=environment(fake),
            stdin=subprocess.PIPE,
        )
        try:
            assert proc.stdin is not None
            proc.stdin.write(b"q\n")
            proc.stdin.flush()
            read_until(proc, b"half")
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=TIMEOUT)
        finally:
            proc.kill()
            proc.wait()
        assert (proc.returncode, err) == (143, b"")
        assert log.read_text(encoding="utf-8") == (
            "q" + ASSISTANT + "half\n\n<!-- codey: interrupted: SIGTERM -->" + USER
        )


class TestClosedPipe:
    """codey prompt ... | head -1."""

    def test_head(self, fake: FakeProvider) -> None:
        """Exit 141 at once, nothing on stderr, the upstream connection closed."""
        steps: list[Step] = [Text("first line\n")]
        for number in range(2, 40):
            steps += [Pause(0.05), Text(f"line {number}\n")]
        fake.push(events(*steps, Finish(), Done()))
        codey_proc = start_cli("prompt", "hi", "--model", "gpt-4.1", env=environment(fake))
        assert codey_proc.stdout is not None
        head = subprocess.Popen(["head", "-1"], stdin=codey_proc.stdout, stdout=subprocess.PIPE)
        codey_proc.stdout.close()  # only head reads it now
        try:
            head_out, _ = head.communicate(timeout=TIMEOUT)
            started = time.monotonic()
            _, err = codey_proc.communicate(timeout=TIMEOUT)
            elapsed = time.monotonic() - started
        finally:
            codey_proc.kill()
            codey_proc.wait()
        assert head_out == b"first line\n"
        assert codey_proc.returncode == 141
        assert err == b""
        assert elapsed < 1.5  # it stopped at the next write, not at the end of the answer
        assert fake.requests[-1].disconnected.wait(2.0)

    def test_save_to_head(self, fake: FakeProvider, tmp_path: Path) -> None:
        """save | head -1: the file keeps what arrived and stays a valid chat log."""
        log = tmp_path / "chat.md"
        steps: list[Step] = [Text("first line\n")]
        for number in range(2, 40):
            steps += [Pause(0.05), Text(f"line {number}\n")]
        fake.push(events(*steps, Finish(), Done()))
        proc = start_cli(
            "save", "q", "--file", str(log), "--model", "gpt-4.1", env=environment(fake)
        )
        assert proc.stdout is not None
        head = subprocess.Popen(["head", "-1"], stdin=proc.stdout, stdout=subprocess.PIPE)
        proc.stdout.close()
        try:
            head.communicate(timeout=TIMEOUT)
            _, err = proc.communicate(timeout=TIMEOUT)
        finally:
            proc.kill()
            proc.wait()
        assert (proc.returncode, err) == (141, b"")
        text = log.read_text(encoding="utf-8")
        assert "<!-- codey: interrupted: standard output was closed -->" in text
        assert text.endswith(USER)


class TestSaveLock:
    """Two saves on one file take turns."""

    def test_no_interleaving(self, fake: FakeProvider, tmp_path: Path) -> None:
        log = tmp_path / "chat.md"
        env = environment(fake)
        fake.push(
            events(Text("alpha "), Stall(), Text("omega"), Finish(), Done()),
            answer("beta"),
        )
        first = start_cli("save", "one", "--file", str(log), "--model", "gpt-4.1", env=env)
        second: Optional[subprocess.Popen[bytes]] = None
        try:
            read_until(first, b"alpha ")
            second = start_cli("save", "two", "--file", str(log), "--model", "gpt-4.1", env=env)
            # The second waits for the lock before it even sends its request.
            assert not fake.wait_for_requests(2, timeout=0.5)
            assert second.poll() is None
            fake.release()
            assert first.wait(TIMEOUT) == 0
            assert second.wait(TIMEOUT) == 0
            # Standard error is not a terminal: no word about the wait.
            assert second.communicate()[1] == b""
        finally:
            for proc in (first, second):
                if proc is not None:
                    proc.kill()
                    proc.communicate()
        assert log.read_text(encoding="utf-8") == (
            "one" + ASSISTANT + "alpha omega" + USER + "two" + ASSISTANT + "beta" + USER
        )
        assert fake.requests[-1].json["messages"][-2:] == [
            {"role": "assistant", "content": "alpha omega"},
            {"role": "user", "content": "two"},
        ]

    def test_waiting_is_said_on_a_terminal(self, fake: FakeProvider, tmp_path: Path) -> None:
        """A save waiting for the lock says so on a terminal's stderr after about a second."""
        from tests.cli.terminal import Pty, pty_env

        log = tmp_path / "chat.md"
        env = environment(fake)
        fake.push(events(Text("alpha "), Stall(), Text("omega"), Finish(), Done()), answer("beta"))
        first = start_cli("save", "one", "--file", str(log), "--model", "gpt-4.1", env=env)
        try:
            read_until(first, b"alpha ")
            with Pty(["save", "two", "--file", str(log), "-m", "gpt-4.1"], pty_env(env)) as term:
                started = time.monotonic()
                term.read_until(f"codey: waiting for {log} (locked by another codey)...".encode())
                assert 0.5 < time.monotonic() - started < 10
                assert len(fake.requests) == 1
                fake.release()
                term.read_until(b"beta")
                assert term.wait() == 0
            assert first.wait(TIMEOUT) == 0
        finally:
            first.kill()
            first.communicate()
        assert log.read_text(encoding="utf-8").endswith("two" + ASSISTANT + "beta" + USER)


class TestStartUp:
    """codey --help is cheap: no engine, no JSON, no Markdown libraries."""

    def test_help_imports_little(self) -> None:
        code = (
            "import sys\n"
            "from codey.cli import build_parser\n"
            "build_parser().format_help()\n"
            "heavy = {'requests', 'urllib3', 'sseclient', 'attrs', 'json', 'rich', 'mdformat',\n"
            "    'yaml', 'tomllib', 'tomli', 'codey._api', 'codey._stream'} & set(sys.modules)\n"
            "assert not heavy, sorted(heavy)\n"
        )
        subprocess.run([sys.executable, "-c", code], env=environment(), check=True)

    def test_help_wall_time(self) -> None:
        """codey --help costs at most 80 ms more than python -c pass (best of 7)."""

        def best(*args: str) -> float:
            times = []
            for _ in range(7):
                started = time.perf_counter()
                subprocess.run(
                    [sys.executable, *args],
                    env=environment(),
                    stdout=subprocess.DEVNULL,
                    check=True,
                )
                times.append(time.perf_counter() - started)
            return min(times)

        baseline = best("-c", "pass")
        help_time = best("-m", "codey", "--help")
        assert help_time - baseline < 0.080, (help_time, baseline)
