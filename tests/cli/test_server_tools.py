"""``--server-tool NAME``: the provider's own tools from the command line, their
``server_tool_call`` records, and the status line while one runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from codey.testing import Done, FakeProvider, Finish, Pause, Raw, ServerToolUse, Text, events
from tests.cli.terminal import Pty, pty_env
from tests.helpers import environment, one_error_line, run_cli


def test_events_have_server_tool_call_records(fake: FakeProvider) -> None:
    fake.push(
        events(
            ServerToolUse("web_search", {"query": "oslo"}, error="max_uses_exceeded"),
            Text("Sunny."),
            Finish(),
            Done(),
        )
    )
    args = ("-m", "claude-sonnet-4-6", "--server-tool", "web_search", "--events")
    result = run_cli("prompt", "Weather?", *args, env=environment(fake))
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    calls = [record for record in records if record["type"] == "server_tool_call"]
    assert calls == [
        {
            "type": "server_tool_call",
            "id": "srvtoolu_fake_1",
            "name": "web_search",
            "status": status,
            "input": {"query": "oslo"},
            "error": error,
        }
        for status, error in (("in_progress", None), ("failed", "max_uses_exceeded"))
    ]
    assert fake.requests[0].json["tools"] == [{"type": "web_search_20250305", "name": "web_search"}]


def test_stdout_is_the_answer_and_no_question_is_asked(fake: FakeProvider) -> None:
    """Off a terminal and without --yes: the provider runs its tools, nothing to ask."""
    fake.push(events(ServerToolUse("code_execution", {"code": "print(4)"}), Text("4"), Done()))
    args = ("-m", "gpt-4.1", "--server-tool", "code_execution")
    result = run_cli("prompt", "2+2?", *args, env=environment(fake))
    assert (result.returncode, result.stdout, result.stderr) == (0, b"4\n", b"")
    assert fake.requests[0].path == "/openai/v1/responses"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("-m", "claude-sonnet-4-6", "--server-tool", "x_search"), "no x_search server tool"),
        (("-m", "gpt-4.1", "--api", "chat", "--server-tool", "web_search"), "no server tools"),
    ],
)
def test_a_tool_the_provider_lacks_is_status_3(
    fake: FakeProvider, args: tuple[str, ...], words: str
) -> None:
    result = run_cli("prompt", "hi", *args, env=environment(fake))
    assert result.returncode == 3
    assert words in one_error_line(result.stderr)
    assert fake.requests == []


def test_an_unknown_name_is_a_usage_error(fake: FakeProvider) -> None:
    result = run_cli("prompt", "hi", "--server-tool", "web_browse", env=environment(fake))
    assert result.returncode == 2
    assert b"invalid choice: 'web_browse'" in result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX pseudo-terminals")
def test_the_status_line_says_which_tool_runs(fake: FakeProvider) -> None:
    use = {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}
    result = {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []}
    started = [
        {"type": "content_block_start", "index": 0, "content_block": use},
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": '{"query": "oslo"}'},
        },
        {"type": "content_block_stop", "index": 0},
    ]
    done = [
        {"type": "content_block_start", "index": 1, "content_block": result},
        {"type": "content_block_stop", "index": 1},
    ]

    def raw(blocks: list[dict[str, object]]) -> Raw:
        return Raw("".join(f"event: {b['type']}\ndata: {json.dumps(b)}\n\n" for b in blocks))

    fake.push(events(Text("Hm. "), raw(started), Pause(0.8), raw(done), Text("Sunny."), Done()))
    env = pty_env(environment(fake), CODEY_STATUS_DELAY="5")
    args = ["prompt", "hi", "-m", "claude-sonnet-4-6", "--server-tool", "web_search"]
    with Pty(args, env, pipe_stdout=True) as term:
        term.read_until(b"codey: claude-sonnet-4-6 is running web_search (in_progress): oslo")
        assert term.wait() == 0
        assert term.stdout() == b"Hm. Sunny.\n"


def test_a_paused_turn_is_one_answer_in_the_log_and_the_events(
    fake: FakeProvider, tmp_path: Path
) -> None:
    """pause_turn: the parts' text is one answer, in the chat log and in --events."""
    paused = events(Text("Let me look. "), ServerToolUse("web_search", {"query": "oslo"}))
    for _ in range(2):
        fake.push(
            events(*paused.steps, Finish("pause_turn"), Done()),
            events(Text("Sunny."), Finish(), Done()),
        )
    log = tmp_path / "chat.md"
    args = ("-m", "claude-sonnet-4-6", "--server-tool", "web_search")
    result = run_cli("save", "Weather?", "--file", str(log), *args, env=environment(fake))
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"Let me look. Sunny.\n"
    assert "Let me look. Sunny." in log.read_text("utf-8")
    result = run_cli("prompt", "Weather?", "--events", *args, env=environment(fake))
    records = [json.loads(line) for line in result.stdout.splitlines()]
    texts = [record["text"] for record in records if record["type"] == "text"]
    assert texts == ["Let me look. ", "Sunny."]
    assert [record["type"] for record in records].count("finish") == 1
    assert records[-1]["reason"] == "end_turn"
    assert len(fake.requests) == 4


def test_not_with_several_models(fake: FakeProvider) -> None:
    args = ("-m", "claude-sonnet-4-6", "-m", "gpt-4.1", "--server-tool", "web_search")
    result = run_cli("prompt", "hi", *args, env=environment(fake))
    assert result.returncode == 2
    assert b"--server-tool: not allowed with several models" in result.stderr
    assert fake.requests == []


def test_a_web_search_with_cite_prints_the_sources(fake: FakeProvider) -> None:
    """Issue 25's done-when: --server-tool web_search with --cite prints the fake's citations."""
    from codey.testing import Source

    fake.push(
        events(
            ServerToolUse("web_search", {"query": "oslo"}, sources=("https://yr.no/",)),
            Text("Sunny.", citations=[Source(url="https://yr.no/", title="Yr")]),
            Finish(),
            Done(),
        )
    )
    args = ("-m", "claude-sonnet-4-6", "--server-tool", "web_search", "--cite")
    result = run_cli("prompt", "Weather?", *args, env=environment(fake))
    assert (result.returncode, result.stdout) == (0, b"Sunny.\n")
    assert result.stderr == "[1] Yr \u2014 https://yr.no/\n".encode()
