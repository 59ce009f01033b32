"""A newcomer with no key: the CLI's hint, and ``python -m codey.testing serve``.

The server runs as a real process; ``codey prompt`` runs as another, with the
environment lines the server printed.
"""

from __future__ import annotations

import os
import queue
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import IO

import pytest

import codey
from codey import testing
from codey.cli import describe, main
from codey.testing import RecordedRequest, sse_bytes
from tests.helpers import ROOT, TIMEOUT

HINT = "or try codey with no key: python -m codey.testing serve"

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and pipes")


def environment(**extra: str) -> dict[str, str]:
    """The (already cleaned) environment, with codey importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.pop("CODEY_DEBUG", None)
    env.update(extra)
    return env


class TestMissingKeyHint:
    """Without a key, the one error line names the variable and the way to try codey."""

    def test_error_line(self, capsys: pytest.CaptureFixture[str]) -> None:
        """The README's main line, with no key: exit 3 and one line saying what to do."""
        code = main(["prompt", "What is a monad?", "--model", "gpt-4.1"])
        out, err = capsys.readouterr()
        assert (code, out) == (3, "")
        assert err == (f"codey: error: no API key for openai: set OPENAI_API_KEY ({HINT})\n")

    @pytest.mark.parametrize(
        ("model", "variable"),
        [("grok-4.3", "XAI_API_KEY"), ("claude-sonnet-4-0", "ANTHROPIC_API_KEY")],
    )
    def test_every_provider(
        self, capsys: pytest.CaptureFixture[str], model: str, variable: str
    ) -> None:
        assert main(["prompt", "hi", "--model", model]) == 3
        err = capsys.readouterr().err
        assert f": set {variable} ({HINT})\n" in err
        assert err.count("\n") == 1

    def test_library_message_unchanged(self) -> None:
        """codey.stream() itself still says what a Python caller can do."""
        with pytest.raises(codey.MissingAPIKeyError) as info:
            codey.stream("hi", model="gpt-4.1")
        assert "OPENAI_API_KEY" in str(info.value)
        assert "codey.testing" not in str(info.value)
        assert "api_key=" in str(info.value)

    def test_only_for_a_missing_key(self) -> None:
        """Other errors get no hint."""
        assert "codey.testing" not in describe(codey.UnknownModelError("no model x"))
        bare = codey.MissingAPIKeyError("no key here")
        assert describe(bare) == f"no key here ({HINT})"


class TestDemoReply:
    """demo_reply echoes the last user message back, word by word."""

    @staticmethod
    def request(provider: str, body: object) -> RecordedRequest:
        import http.client
        import io
        import json

        headers = http.client.parse_headers(io.BytesIO(b"\r\n"))
        data = json.dumps(body).encode()
        return RecordedRequest("POST", "/", provider, headers, data, body)

    def test_chat_and_messages(self) -> None:
        chat = self.request(
            "openai",
            {
                "messages": [
                    {"role": "user", "content": "old"},
                    {"role": "assistant", "content": "x"},
                    {"role": "user", "content": "two  words"},
                ]
            },
        )
        reply = testing.demo_reply(chat, delay=0)
        body = sse_bytes(reply, "openai").decode()
        assert '"content":"You"' in body
        assert '"content":" words"' in body
        blocks = self.request(
            "anthropic",
            {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]},
        )
        assert (
            '"text":" hi"' in sse_bytes(testing.demo_reply(blocks, delay=0), "anthropic").decode()
        )

    def test_responses(self) -> None:
        """A Responses request's input: one string, or items with text or content parts."""
        said = self.request("openai", {"input": "just this"})
        body = sse_bytes(testing.demo_reply(said, delay=0), "openai", wire_format="responses")
        assert b'"delta":" this"' in body
        items = self.request(
            "openai",
            {
                "input": [
                    {"type": "message", "role": "system", "content": "be brief"},
                    {"role": "user", "content": [{"type": "input_text", "text": "parts too"}]},
                ]
            },
        )
        reply = testing.demo_reply(items, delay=0)
        assert b'"delta":" too"' in sse_bytes(reply, "openai", wire_format="responses")

    def test_no_user_message(self) -> None:
        reply = testing.demo_reply(self.request("openai", {"messages": []}), delay=0)
        assert b"Hello" in sse_bytes(reply, "openai")


class Served:
    """A running ``python -m codey.testing serve`` and what it printed."""

    def __init__(self, process: subprocess.Popen[str], lines: list[str]) -> None:
        self.process = process
        self.lines = lines

    @property
    def env(self) -> dict[str, str]:
        """The variables of its ``export`` lines."""
        env = {}
        for line in self.lines:
            if line.startswith("export "):
                for word in shlex.split(line)[1:]:
                    name, _, value = word.partition("=")
                    env[name] = value
        return env


class Lines:
    """The lines of a process's pipe, read on a thread, each with its arrival time.

    (select() on the pipe would miss lines already in the TextIOWrapper's buffer.)
    """

    def __init__(self, stream: IO[str]) -> None:
        self._queue: queue.Queue[tuple[str, float]] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put((line, time.monotonic()))
        self._queue.put(("", time.monotonic()))

    def next(self, timeout: float = TIMEOUT) -> tuple[str, float]:
        """The next line and when it arrived; ``""`` at the end of the output."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no output in time") from None


@pytest.fixture
def served() -> Iterator[Served]:
    process = subprocess.Popen(
        [sys.executable, "-m", "codey.testing", "serve", "--port", "0", "--delay", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=environment(),
        text=True,
        bufsize=1,
    )
    try:
        assert process.stdout is not None
        output = Lines(process.stdout)
        lines: list[str] = []
        while not lines or lines[-1] != "Ctrl-C stops it.":
            line, _ = output.next()
            assert line, "the server ended early"
            lines.append(line.rstrip("\n"))
        yield Served(process, lines)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(TIMEOUT)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


@posix_only
class TestServe:
    """python -m codey.testing serve: try codey end to end, no key."""

    def test_prints_what_to_paste(self, served: Served) -> None:
        """The URL, one export line per provider, and a line to run."""
        assert served.lines[0].startswith("codey.testing: a fake provider at http://127.0.0.1:")
        env = served.env
        assert set(env) == {
            f"{provider}_{suffix}"
            for provider in ("OPENAI", "XAI", "ANTHROPIC")
            for suffix in ("BASE_URL", "API_KEY")
        }
        assert env["OPENAI_BASE_URL"].startswith("http://127.0.0.1:")
        assert env["OPENAI_BASE_URL"].endswith("/v1")
        assert 'codey prompt "hello" --model gpt-4.1' in served.lines

    @pytest.mark.parametrize("model", ["gpt-4.1", "grok-4.3", "claude-sonnet-4-0", "o3-pro"])
    def test_codey_prompt_against_it(self, served: Served, model: str) -> None:
        """codey prompt, a real process with the printed environment, streams the
        echo of the prompt."""
        result = subprocess.run(
            [sys.executable, "-m", "codey", "prompt", "hello streaming world", "--model", model],
            env=environment(**served.env),
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )
        assert (result.returncode, result.stderr) == (0, b"")
        assert result.stdout == b"You said: hello streaming world\n"

    def test_the_answer_streams(self, served: Served) -> None:
        """The chunks arrive one at a time, --delay apart, not all at the end."""
        process = subprocess.Popen(
            [sys.executable, "-m", "codey", "prompt", "a b c", "--chunk", "--model", "gpt-4.1"],
            env=environment(**served.env),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert process.stdout is not None
            output = Lines(process.stdout)
            arrivals = []
            chunks = []
            while True:
                line, arrival = output.next()
                if not line:
                    break
                arrivals.append(arrival)
                chunks.append(line)
            assert process.wait(TIMEOUT) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            assert process.stdout is not None
            process.stdout.close()
        assert chunks == [
            '{"chunk":"You"}\n',
            '{"chunk":" said:"}\n',
            '{"chunk":" a"}\n',
            '{"chunk":" b"}\n',
            '{"chunk":" c"}\n',
        ]
        assert arrivals[-1] - arrivals[0] >= 0.2  # four gaps of 0.1 s

    @pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
    def test_stops_quietly(self, served: Served, signum: int) -> None:
        """Ctrl-C or SIGTERM: exit status 0, nothing on standard error."""
        served.process.send_signal(signum)
        assert served.process.wait(TIMEOUT) == 0
        assert served.process.stderr is not None
        assert served.process.stderr.read() == ""

    def test_stops_quietly_mid_answer(self, served: Served) -> None:
        """SIGTERM while an answer is streaming: still 0 and quiet."""
        process = subprocess.Popen(
            [sys.executable, "-m", "codey", "prompt", " ".join(["word"] * 40), "--model", "o3"],
            env=environment(**served.env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert process.stdout is not None
            assert process.stdout.read(3) == b"You"
            served.process.send_signal(signal.SIGTERM)
            assert served.process.wait(TIMEOUT) == 0
            assert served.process.stderr is not None
            assert served.process.stderr.read() == ""
            assert process.wait(TIMEOUT) == 6  # the client saw the stream break
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()


class TestRun:
    """``python -m codey.testing run COMMAND``: the README's first line, no key needed."""

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        env = environment()
        for name in ("OPENAI", "XAI", "ANTHROPIC"):
            env.pop(f"{name}_API_KEY", None)
            env.pop(f"{name}_BASE_URL", None)
        return subprocess.run(
            [sys.executable, "-m", "codey.testing", "run", "--delay", "0", *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )

    @posix_only
    def test_a_pipeline_streams_an_answer(self) -> None:
        """The whole pipeline of the Quick start answers, with no key in the environment."""
        python = shlex.quote(sys.executable)
        done = self.run(
            "sh",
            "-c",
            f'{python} -m codey prompt "Explain chunked encoding" --model gpt-4.1'
            f" | {python} -m codey buffer",
        )
        assert (done.returncode, done.stderr) == (0, "")
        assert done.stdout == "You said: Explain chunked encoding\n"

    @pytest.mark.parametrize("model", ["gpt-4.1", "grok-4.3", "claude-sonnet-4-5"])
    def test_every_provider_points_at_it(self, model: str) -> None:
        done = self.run(sys.executable, "-m", "codey", "prompt", "hi", "--model", model)
        assert (done.returncode, done.stdout, done.stderr) == (0, "You said: hi\n", "")

    def test_the_commands_status(self) -> None:
        done = self.run(sys.executable, "-c", "raise SystemExit(7)")
        assert done.returncode == 7

    def test_no_command_is_a_usage_error(self) -> None:
        done = self.run()
        assert done.returncode == 2
        assert "run needs a command" in done.stderr

    def test_a_missing_command(self) -> None:
        done = self.run("no-such-command-anywhere")
        assert done.returncode == 127
        assert "cannot run no-such-command-anywhere" in done.stderr
