"""``codey batch`` as a process: records, exit statuses, signals, kill -9, the progress bar."""

from __future__ import annotations

import json
import re
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from codey.testing import FakeProvider, Pause, RecordedRequest, Reply, answer, error
from tests.cli.terminal import Pty, pty_env, text
from tests.helpers import TIMEOUT, environment, one_error_line, run_cli, start_cli

SUMMARY = re.compile(
    r"codey: batch: (\d+) done, (\d+) failed(?: \([^)]*\))?, (\d+) skipped in "
    r"\d+\.\d s \(\d+ prompts/s\)"
)


def echo(request: RecordedRequest, pause: float = 0.0) -> Reply:
    assert request.json is not None
    content = request.json["messages"][-1]["content"]
    reply = answer("echo: ", content)
    return reply.evolve(steps=(Pause(pause), *reply.steps)) if pause else reply


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def prompts(path: Path, count: int) -> Path:
    path.write_text("".join(f'"prompt {i}"\n' for i in range(count)), encoding="utf-8")
    return path


def counts(stderr: bytes) -> tuple[int, int, int]:
    match = SUMMARY.search(stderr.decode())
    assert match, stderr
    done, failed, skipped = match.groups()
    return int(done), int(failed), int(skipped)


class TestRun:
    def test_a_jsonl_file_answered_into_the_default_output(
        self, fake: FakeProvider, tmp_path: Path
    ) -> None:
        fake.responder = echo
        source = prompts(tmp_path / "prompts.jsonl", 5)
        result = run_cli("batch", str(source), "-m", "gpt-4.1", env=environment(fake))
        assert result.returncode == 0, result.stderr
        assert result.stdout == b""
        # Off a terminal: no bar, only the summary line.
        lines = result.stderr.decode().splitlines()
        assert len(lines) == 1, lines
        assert SUMMARY.fullmatch(lines[0]), lines
        assert counts(result.stderr) == (5, 0, 0)
        found = {r["id"]: r["text"] for r in records(tmp_path / "prompts.out.jsonl")}
        assert found == {str(i + 1): f"echo: prompt {i}" for i in range(5)}
        again = run_cli("batch", str(source), "-m", "gpt-4.1", env=environment(fake))
        assert again.returncode == 0
        assert counts(again.stderr) == (0, 0, 5)
        assert len(fake.requests) == 5

    def test_csv_with_a_column_flags_and_the_config_file(
        self, fake: FakeProvider, tmp_path: Path
    ) -> None:
        fake.responder = echo
        config = tmp_path / "codey" / "config.toml"  # XDG_CONFIG_HOME is tmp_path
        config.parent.mkdir()
        config.write_text(
            '[aliases]\nfast = "gpt-4.1-mini"\n[defaults]\nmax_tokens = 50\n', encoding="utf-8"
        )
        source = tmp_path / "reviews.csv"
        source.write_text("id,review,model\na,good,\nb,bad,claude-sonnet-4-0\n", encoding="utf-8")
        out = tmp_path / "labels.jsonl"
        result = run_cli(
            "batch",
            str(source),
            "--column",
            "review",
            "-o",
            str(out),
            "-m",
            "fast",
            "--system",
            "Label it",
            "-p",
            "2",
            env=environment(fake),
        )
        assert result.returncode == 0, result.stderr
        sent = {request.provider: request.json for request in fake.requests}
        assert sent["openai"]["model"] == "gpt-4.1-mini"  # the alias
        assert sent["openai"]["max_tokens"] == 50  # the config file's [defaults]
        assert sent["openai"]["messages"][0] == {"role": "system", "content": "Label it"}
        assert sent["anthropic"]["model"] == "claude-sonnet-4-0"  # the row's own model
        assert sent["anthropic"]["system"] == "Label it"
        assert {r["id"]: r["model"] for r in records(out)} == {
            "a": "gpt-4.1-mini",
            "b": "claude-sonnet-4-0",
        }

    @pytest.mark.parametrize(
        ("replies", "status", "kinds"),
        [
            ([error(429, retry_after=0)], 4, "2 busy"),
            ([error(401)], 3, "2 configuration"),
            ([error(401), error(503)], 1, "1 busy, 1 configuration"),
        ],
    )
    def test_the_exit_status_says_what_failed(
        self, fake: FakeProvider, tmp_path: Path, replies: list[Reply], status: int, kinds: str
    ) -> None:
        fake.push(*replies)
        fake.default = replies[-1]
        source = prompts(tmp_path / "p.jsonl", 2)
        result = run_cli(
            "batch", str(source), "-m", "gpt-4.1", "--retries", "0", "-p", "1",
            env=environment(fake),
        )  # fmt: skip
        assert result.returncode == status, result.stderr
        assert counts(result.stderr) == (0, 2, 0)
        assert f"({kinds})" in result.stderr.decode()
        assert "run it again to retry" in result.stderr.decode()

    def test_a_duplicate_id_is_one_error_line_before_any_request(
        self, fake: FakeProvider, tmp_path: Path
    ) -> None:
        source = tmp_path / "p.jsonl"
        source.write_text('{"id": 1, "prompt": "a"}\n{"id": "1", "prompt": "b"}\n')
        result = run_cli("batch", str(source), "-m", "gpt-4.1", env=environment(fake))
        assert result.returncode == 1
        assert "'1' appears twice" in one_error_line(result.stderr)
        assert fake.requests == []
        assert not (tmp_path / "p.out.jsonl").exists()

    def test_the_output_may_not_be_the_input(self, fake: FakeProvider, tmp_path: Path) -> None:
        source = prompts(tmp_path / "p.jsonl", 1)
        result = run_cli("batch", str(source), "-o", str(source), env=environment(fake))
        assert result.returncode == 1
        assert "would be the input" in one_error_line(result.stderr)
        assert source.read_text() == '"prompt 0"\n'

    def test_usage_errors(self, tmp_path: Path) -> None:
        for flags in (["-p", "0"], ["--retries", "-1"], []):
            args = ["batch", *flags] + ([str(tmp_path / "x.jsonl")] if flags else [])
            result = run_cli(*args, env=environment())
            assert result.returncode == 2, (flags, result.stderr)


def _wait_for_records(path: Path, count: int) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(b"\n") >= count:
            return
        time.sleep(0.01)
    raise AssertionError(f"fewer than {count} records in {path}")


class TestStopping:
    def test_kill_9_mid_run_then_run_again(self, fake: FakeProvider, tmp_path: Path) -> None:
        """A kill -9 loses only what was in flight; the next run does the rest, and no id
        is answered twice."""
        fake.responder = lambda request: echo(request, pause=0.02)
        source = prompts(tmp_path / "p.jsonl", 80)
        out = tmp_path / "p.out.jsonl"
        args = ("batch", str(source), "-m", "gpt-4.1", "-p", "4")
        proc = start_cli(*args, env=environment(fake))
        try:
            _wait_for_records(out, 10)
            proc.send_signal(signal.SIGKILL)
            assert proc.wait(TIMEOUT) == -signal.SIGKILL
        finally:
            proc.kill()
            proc.communicate()
        before = records(out)
        assert 10 <= len(before) < 80
        result = run_cli(*args, env=environment(fake))
        assert result.returncode == 0, result.stderr
        done, failed, skipped = counts(result.stderr)
        assert (done + skipped, failed) == (80, 0)
        assert skipped >= len(before)
        ids = Counter(record["id"] for record in records(out) if "error" not in record)
        assert set(ids) == {str(i) for i in range(1, 81)}
        assert max(ids.values()) == 1

    @pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
    def test_ctrl_c_or_sigterm_stops_cleanly(
        self, fake: FakeProvider, tmp_path: Path, signum: int, status: int
    ) -> None:
        fake.responder = lambda request: echo(request, pause=0.05)
        source = prompts(tmp_path / "p.jsonl", 200)
        out = tmp_path / "p.out.jsonl"
        proc = start_cli("batch", str(source), "-m", "gpt-4.1", "-p", "4", env=environment(fake))
        try:
            _wait_for_records(out, 4)
            proc.send_signal(signum)
            _, stderr = proc.communicate(timeout=TIMEOUT)
        finally:
            proc.kill()
        assert proc.returncode == status, stderr
        assert "interrupted: run it again to go on" in stderr.decode()
        assert "Traceback" not in stderr.decode()
        done = records(out)  # every line whole
        assert counts(stderr)[0] == len(done)
        assert all("text" in record for record in done)
        # Every request it made was closed.
        assert all(request.disconnected.wait(2) for request in fake.requests)


def test_the_progress_bar_on_a_terminal(fake: FakeProvider, tmp_path: Path) -> None:
    pytest.importorskip("tqdm")
    fake.responder = lambda request: echo(request, pause=0.01)
    source = prompts(tmp_path / "p.jsonl", 40)
    with Pty(["batch", str(source), "-m", "gpt-4.1", "-p", "2"], pty_env(environment(fake))) as tty:
        seen = tty.read_until(b"codey: batch: 40 done")
        assert tty.wait() == 0
    shown = text(seen)
    assert "codey batch:" in shown  # the bar's description
    assert re.search(r"\d+/40", shown), shown
    assert "in flight" in shown
    assert "tokens/s" in shown
    assert "0 failed" in shown
    assert len(records(tmp_path / "p.out.jsonl")) == 40


class TestStandardInput:
    def test_prompts_on_standard_input(self, fake: FakeProvider, tmp_path: Path) -> None:
        fake.responder = echo
        source = prompts(tmp_path / "p.jsonl", 3)
        out = tmp_path / "answers.jsonl"
        spool = tmp_path / "spool"
        spool.mkdir()
        with source.open("rb") as stdin:
            result = run_cli(
                "batch", "-", "-o", str(out), "-m", "gpt-4.1",
                env=environment(fake, TMPDIR=str(spool)), stdin=stdin,
            )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert counts(result.stderr) == (3, 0, 0)
        assert {r["id"]: r["text"] for r in records(out)} == {
            str(i + 1): f"echo: prompt {i}" for i in range(3)
        }
        assert list(spool.iterdir()) == []  # the copy of standard input is gone

    def test_a_bad_line_is_named_as_standard_input(
        self, fake: FakeProvider, tmp_path: Path
    ) -> None:
        out = tmp_path / "answers.jsonl"
        with (tmp_path / "bad.jsonl").open("w+b") as stdin:
            stdin.write(b'"fine"\n{"prompt": \n')
            stdin.seek(0)
            result = run_cli("batch", "-", "-o", str(out), env=environment(fake), stdin=stdin)
        assert result.returncode == 1, result.stderr
        assert "standard input: line 2: not JSON" in one_error_line(result.stderr)
        assert fake.requests == []

    def test_standard_input_needs_an_output(self, tmp_path: Path) -> None:
        result = run_cli("batch", "-", env=environment())
        assert result.returncode == 2
        assert b"-o/--output: needed when INPUT is -" in result.stderr
