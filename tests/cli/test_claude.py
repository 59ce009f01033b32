"""Claude today on the command line (issue 24, item 4): a tool loop and ``--schema``
with thinking on a current model, a refusal and a full context window told apart
from an answer."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from codey.testing import FakeProvider, ToolCall, answer
from codey.testing._messages import signature
from tests.cli.test_tools import TOOLS
from tests.helpers import environment, run_cli

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX shells")


def test_a_tool_loop_with_thinking_on_a_current_model(fake: FakeProvider, tmp_path: Path) -> None:
    """Before, codey refused tools with --effort on Claude ("without effort=")."""
    (tmp_path / "tools.py").write_text(TOOLS)
    call = ToolCall(0, "toolu_1", "weather", '{"city": "Oslo"}')
    fake.push(answer(reasoning=["Ask the tool."], tool_calls=[call]), answer("Sunny in Oslo."))
    args = ("--functions", "tools.py", "-m", "claude-sonnet-5", "--effort", "high", "--yes")
    result = run_cli("prompt", "Weather in Oslo?", *args, env=environment(fake), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"Sunny in Oslo.\n"
    first = fake.requests[1].json["messages"][1]["content"][0]
    assert first == {
        "type": "thinking",
        "thinking": "Ask the tool.",
        "signature": signature("Ask the tool."),
    }


@pytest.mark.parametrize("effort", [(), ("--effort", "high")])
def test_a_schema_on_a_current_model(fake: FakeProvider, effort: tuple[str, ...]) -> None:
    fake.push(answer('{"name": "Ada", "age": 36}', reasoning=["Ada."]))
    args = ("-m", "claude-sonnet-5", "--schema", "name str, age int", *effort)
    result = run_cli("prompt", "Who?", *args, env=environment(fake))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"name": "Ada", "age": 36}
    assert fake.requests[-1].json["output_config"]["format"]["type"] == "json_schema"


def test_a_refusal_says_so_on_stderr(fake: FakeProvider) -> None:
    fake.push(answer("I can't help with that.", finish_reason="refusal"))
    result = run_cli("prompt", "?", "-m", "claude-sonnet-5", env=environment(fake))
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"I can't help with that.\n"
    assert result.stderr == (
        b"codey: claude-sonnet-5: the model refused to answer (finish reason: refusal)\n"
    )


def test_a_refusal_to_a_schema_is_an_error(fake: FakeProvider) -> None:
    fake.push(answer('{"name": "Ada", "age": 36}', finish_reason="refusal"))
    args = ("-m", "claude-sonnet-5", "--schema", "name str, age int")
    result = run_cli("prompt", "Who?", *args, env=environment(fake))
    assert result.returncode == 6
    assert result.stdout == b""
    assert b"refused to answer (finish reason: refusal)" in result.stderr


def test_a_full_context_window_is_a_cut_answer(fake: FakeProvider) -> None:
    fake.push(answer("The first half", finish_reason="model_context_window_exceeded"))
    result = run_cli("prompt", "?", "-m", "claude-sonnet-5", env=environment(fake))
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        b"codey: claude-sonnet-5: the answer was cut: the model's context window is full "
        b"(finish reason: model_context_window_exceeded); shorten the conversation\n"
    )
