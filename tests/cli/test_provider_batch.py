"""``codey batch --provider-batch`` and ``--resume`` as a process, against the fake
provider's batch endpoints."""

from __future__ import annotations

import json
import re
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from codey.testing import FakeProvider, RecordedRequest, Reply, answer
from tests.cli.terminal import Pty, pty_env, text
from tests.helpers import TIMEOUT, environment, one_error_line, run_cli, start_cli


def echo(request: RecordedRequest) -> Reply:
    assert request.json is not None
    return answer("echo: ", request.json["messages"][-1]["content"])


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def prompts(path: Path, count: int) -> Path:
    path.write_text("".join(f'"prompt {i}"\n' for i in range(count)), encoding="utf-8")
    return path


def test_submitted_polled_and_written(fake: FakeProvider, tmp_path: Path) -> None:
    fake.responder = echo
    source = prompts(tmp_path / "p.jsonl", 4)
    result = run_cli(
        "batch", str(source), "-m", "claude-sonnet-4-0", "--provider-batch",
        "--poll-interval", "0.01", env=environment(fake),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [batch] = fake.batches
    stderr = result.stderr.decode()
    # Off a terminal: a line per step of the batch, then the summary.
    assert f"codey: batch: provider batch {batch.id}: ended" in stderr
    assert "codey: batch: 4 done, 0 failed, 0 skipped" in stderr
    found = {r["id"]: r["text"] for r in records(tmp_path / "p.out.jsonl")}
    assert found == {str(i + 1): f"echo: prompt {i}" for i in range(4)}


def test_interrupted_then_resumed(fake: FakeProvider, tmp_path: Path) -> None:
    fake.responder = echo
    fake.batch_polls = 100
    source = prompts(tmp_path / "p.jsonl", 3)
    out = tmp_path / "p.out.jsonl"
    state = tmp_path / "p.out.jsonl.provider-batch.json"
    args = ("batch", str(source), "-m", "gpt-4.1", "--poll-interval", "0.02")
    proc = start_cli(*args, "--provider-batch", env=environment(fake))
    try:
        deadline = time.monotonic() + TIMEOUT
        while not (state.exists() and "batch_" in state.read_text(encoding="utf-8")):
            assert time.monotonic() < deadline, "no batch submitted"
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=TIMEOUT)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr
    assert "run it again with --resume to collect it" in stderr.decode()
    assert "Traceback" not in stderr.decode()
    assert state.exists()
    # Run again without --resume: refused, nothing paid for twice.
    refused = run_cli(*args, "--provider-batch", env=environment(fake))
    assert refused.returncode == 1
    assert "in flight" in one_error_line(refused.stderr)
    assert "run it again with --resume" in one_error_line(refused.stderr)
    assert "resume=True" not in one_error_line(refused.stderr)  # the library's words
    resumed = run_cli(*args, "--resume", env=environment(fake))
    assert resumed.returncode == 0, resumed.stderr
    assert len(fake.batches) == 1
    assert sorted(r["text"] for r in records(out)) == [f"echo: prompt {i}" for i in range(3)]
    assert not state.exists()


def test_a_failed_poll_says_how_to_go_on(tmp_path: Path) -> None:
    fake = FakeProvider()
    fake.responder = echo
    fake.batch_polls = 1000
    source = prompts(tmp_path / "p.jsonl", 2)
    state = tmp_path / "p.out.jsonl.provider-batch.json"
    proc = start_cli(
        "batch", str(source), "-m", "gpt-4.1", "--provider-batch", "--retries", "0",
        "--poll-interval", "0.02", "--connect-timeout", "1", env=environment(fake),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + TIMEOUT
        while not (state.exists() and "batch_" in state.read_text(encoding="utf-8")):
            assert time.monotonic() < deadline, "no batch submitted"
            time.sleep(0.01)
        fake.close()  # the provider goes away mid-poll
        _, stderr = proc.communicate(timeout=TIMEOUT)
    finally:
        proc.kill()
        fake.close()
    text = stderr.decode()
    assert proc.returncode == 6, text  # broken: the connection
    assert "run it again with --resume to collect it" in text
    assert "Traceback" not in text
    assert state.exists()


def test_the_bar_and_the_steps_on_a_terminal(fake: FakeProvider, tmp_path: Path) -> None:
    pytest.importorskip("tqdm")
    fake.responder = echo
    fake.batch_polls = 5
    source = prompts(tmp_path / "p.jsonl", 6)
    args = ["batch", str(source), "-m", "gpt-4.1", "--provider-batch", "--poll-interval", "0.05"]
    with Pty(args, pty_env(environment(fake))) as tty:
        seen = tty.read_until(b"codey: batch: 6 done")
        assert tty.wait() == 0
    shown = text(seen)
    [batch] = fake.batches
    assert f"codey: batch: provider batch {batch.id}: in_progress" in shown
    assert f"codey: batch: provider batch {batch.id}: completed" in shown
    assert "codey batch:" in shown  # the bar's description
    assert re.search(r"\d+/6", shown), shown
    assert len(records(tmp_path / "p.out.jsonl")) == 6


def test_interrupted_before_the_first_report(
    fake: FakeProvider,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Ctrl-C just after the batch was created, before any progress: still says --resume."""
    import codey._batch._provider._run as run_module
    from codey.cli import main

    fake.responder = echo
    for name, value in environment(fake).items():
        monkeypatch.setenv(name, value)

    def interrupted(self: Any) -> None:
        raise KeyboardInterrupt  # as a Ctrl-C landing at that instant would

    monkeypatch.setattr(run_module._Run, "report", interrupted)
    source = prompts(tmp_path / "p.jsonl", 2)
    code = main(["batch", str(source), "-m", "gpt-4.1", "--provider-batch"])
    err = capsys.readouterr().err
    assert code == 130
    assert "interrupted" in err
    assert "run it again with --resume to collect it" in err
    assert (tmp_path / "p.out.jsonl.provider-batch.json").exists()
    assert len(fake.batches) == 1
