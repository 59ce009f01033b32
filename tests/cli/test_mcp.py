"""``--mcp``, ``--allow-tool``, ``--mcp-timeout``, ``[mcp_servers.NAME]`` and ``codey tools``,
through ``python -m codey``."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from codey.testing import FakeProvider, ToolCall, answer
from tests.cli.terminal import Pty, pty_env
from tests.helpers import ROOT, environment, one_error_line, run_cli, wait_until

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX shells and terminals")

TOOLS = '''\
from typing import Literal


def weather(city: str, days: int = 1) -> str:
    """The weather in a city.

    :param city: the city's name
    """
    return f"sunny in {city} for {days} days"


def shout(text: str, unit: Literal["c", "f"] = "c") -> str:
    """Loud."""
    return text.upper()
'''

#: Values that must never be shown: an env value and a header value of a server.
ENV_SECRET = "env-secret-3f9a1c77"
HEADER_SECRET = "header-secret-81be02d4"


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "tools.py").write_text(TOOLS)
    return tmp_path


def run_in(work: Path, fake: FakeProvider, *args: str, **kwargs: Any) -> Any:
    """``python -m codey ARGS`` in ``work``, pointed at the fake provider, no config file."""
    env = kwargs.pop("env", None) or environment(fake, CODEY_CONFIG="/dev/null")
    return run_cli(*args, env=env, cwd=work, **kwargs)


def tool_round(name: str, arguments: str) -> Any:
    return answer(tool_calls=[ToolCall(0, "c1", name, arguments)])


def write_json(work: Path, data: object, name: str = "servers.json") -> str:
    (work / name).write_text(json.dumps(data))
    return name


class TestAllowTool:
    """--allow-tool: the same rule as --functions, for the tools it names."""

    def test_every_tool_allowed_runs_off_a_terminal(self, fake: FakeProvider, work: Path) -> None:
        fake.push(tool_round("weather", '{"city": "Oslo"}'), answer("Sunny."))
        result = run_in(
            work,
            fake,
            "prompt",
            "weather?",
            "--functions",
            "tools.py",
            "--allow-tool",
            "weather",
            "--allow-tool",
            "shout",
            "-m",
            "gpt-4.1",
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == b"Sunny.\n"
        assert fake.requests[-1].json["messages"][-1]["content"] == "sunny in Oslo for 1 days"

    def test_a_tool_not_allowed_off_a_terminal_refuses_naming_it(
        self, fake: FakeProvider, work: Path
    ) -> None:
        result = run_in(
            work,
            fake,
            "prompt",
            "?",
            "--functions",
            "tools.py",
            "--allow-tool",
            "weather",
            "-m",
            "gpt-4.1",
        )
        assert result.returncode == 3
        line = one_error_line(result.stderr)
        assert "pass --yes" in line
        assert "--allow-tool NAME for each of shout\n" in line
        assert fake.requests == []

    def test_yes_runs_what_is_not_allowed(self, fake: FakeProvider, work: Path) -> None:
        fake.push(tool_round("shout", '{"text": "hi"}'), answer("Done."))
        result = run_in(
            work,
            fake,
            "prompt",
            "?",
            "--functions",
            "tools.py",
            "--allow-tool",
            "weather",
            "--yes",
            "-m",
            "gpt-4.1",
        )
        assert result.returncode == 0, result.stderr
        assert fake.requests[-1].json["messages"][-1]["content"] == "HI"

    @pytest.mark.parametrize("command", ["prompt", "chat"])
    def test_a_name_no_tool_has_is_a_usage_error(
        self, fake: FakeProvider, work: Path, command: str
    ) -> None:
        result = run_in(
            work,
            fake,
            command,
            *(["?"] if command == "prompt" else []),
            "--functions",
            "tools.py",
            "--allow-tool",
            "wether",
            "--yes",
            "-m",
            "gpt-4.1",
        )
        assert result.returncode == 2
        line = one_error_line(result.stderr)
        assert "--allow-tool: no tool offered is named 'wether' (the tools: weather, shout)" in line
        assert fake.requests == []

    def test_without_any_tool_too(self, fake: FakeProvider, work: Path) -> None:
        result = run_in(work, fake, "prompt", "?", "--allow-tool", "weather", "-m", "gpt-4.1")
        assert result.returncode == 2
        assert "(the tools: none)" in one_error_line(result.stderr)
        assert fake.requests == []

    def test_events_say_the_kind(self, fake: FakeProvider, work: Path) -> None:
        result = run_in(work, fake, "prompt", "?", "--allow-tool", "x", "--events", "-m", "gpt-4.1")
        assert result.returncode == 2
        record = json.loads(result.stdout)
        assert (record["type"], record["kind"], record["exit_code"]) == ("error", "usage", 2)

    def test_on_a_terminal_an_allowed_tool_runs_unasked(
        self, fake: FakeProvider, work: Path
    ) -> None:
        fake.push(
            answer(
                tool_calls=[
                    ToolCall(0, "c1", "weather", '{"city": "Oslo"}'),
                    ToolCall(1, "c2", "shout", '{"text": "hi"}'),
                ]
            ),
            answer("Both."),
        )
        args = ["prompt", "?", "--functions", str(work / "tools.py"), "-m", "gpt-4.1"]
        env = pty_env(environment(fake, CODEY_CONFIG="/dev/null"))
        with Pty([*args, "--allow-tool", "weather"], env, pipe_stdout=True) as term:
            term.read_until(b"Run tool shout(text='hi')? [y/N] ")
            term.write(b"y\r")
            assert term.wait() == 0
            assert term.stdout() == b"Both.\n"
            assert b"Run tool weather" not in term.output
        messages = fake.requests[-1].json["messages"]
        assert [m["content"] for m in messages[-2:]] == ["sunny in Oslo for 1 days", "HI"]


class TestServersFile:
    """A bad --mcp file is an error naming the file and the entry, before anything starts."""

    @pytest.mark.parametrize(
        ("data", "words"),
        [
            ("{not json", "servers.json: not JSON"),
            ([1, 2], "servers.json: not an MCP servers file"),
            ({"servers": {}}, "servers.json: not an MCP servers file"),
            ({"mcpServers": {"git": "uvx"}}, "servers.json: mcpServers.git: must be an object"),
            ({"mcpServers": {"git": {}}}, "servers.json: mcpServers.git: command is missing"),
            (
                {"mcpServers": {"git": {"command": 3}}},
                "servers.json: mcpServers.git: command is a number",
            ),
            (
                {"mcpServers": {"git": {"command": "uvx", "args": "mcp-server-git"}}},
                "servers.json: mcpServers.git: args must be a list of strings, not a string",
            ),
            (
                {"mcpServers": {"git": {"command": "x", "env": {"TOKEN": 12}}}},
                "servers.json: mcpServers.git: env.TOKEN must be a string, not a number",
            ),
            (
                {"mcpServers": {"web": {"type": "sse", "url": "https://x/sse"}}},
                "servers.json: mcpServers.web: type 'sse' is not supported",
            ),
            (
                {"mcpServers": {"web": {"type": "http", "url": "ftp://x"}}},
                "servers.json: mcpServers.web: url must start with http:// or https://",
            ),
            (
                {"mcpServers": {"web": {"url": "https://x/mcp", "command": "x"}}},
                "servers.json: mcpServers.web: a local (stdio) server takes command, not url",
            ),
            (
                {"mcpServers": {"web": {"url": "https://x/mcp", "headers": ["a"]}}},
                "servers.json: mcpServers.web: headers must be an object of names to strings",
            ),
            (
                {"mcpServers": {"web": {"url": "https://x/mcp", "disabled": "no"}}},
                "servers.json: mcpServers.web: disabled must be true or false",
            ),
            (
                {"mcpServers": {"git": {"command": "x", "env": {"T": "${CODEY_TEST_UNSET}"}}}},
                "servers.json: mcpServers.git: env.T names ${CODEY_TEST_UNSET}, which is not set",
            ),
        ],
    )
    def test_faults(self, fake: FakeProvider, work: Path, data: object, words: str) -> None:
        if isinstance(data, str):
            (work / "servers.json").write_text(data)
        else:
            write_json(work, data)
        result = run_in(work, fake, "prompt", "?", "--mcp", "servers.json", "--yes")
        assert result.returncode == 3
        assert f"codey: error: --mcp {words}" in one_error_line(result.stderr)
        assert fake.requests == []

    def test_a_missing_file(self, fake: FakeProvider, work: Path) -> None:
        result = run_in(work, fake, "prompt", "?", "--mcp", "gone.json", "--yes")
        assert result.returncode == 3
        assert one_error_line(result.stderr) == "codey: error: --mcp gone.json: no such file\n"
        missing = run_in(work, fake, "prompt", "?", "--mcp", "gone", "--yes")
        assert missing.returncode == 3
        assert "config file names no MCP server gone" in one_error_line(missing.stderr)

    def test_two_servers_of_one_name(self, fake: FakeProvider, work: Path) -> None:
        write_json(work, {"mcpServers": {"git": {"command": "x"}}}, "a.json")
        write_json(work, {"mcpServers": {"git": {"command": "y"}}}, "b.json")
        result = run_in(work, fake, "prompt", "?", "--mcp", "a.json", "--mcp", "b.json", "--yes")
        assert result.returncode == 3
        assert "two servers are named 'git'" in one_error_line(result.stderr)

    def test_no_secret_in_an_error(self, fake: FakeProvider, work: Path) -> None:
        """A wrong value names its key, never an env or header value."""
        write_json(
            work,
            {
                "mcpServers": {
                    "web": {
                        "url": "https://x/mcp",
                        "headers": {"Authorization": HEADER_SECRET, "X-Bad": ["list"]},
                    }
                }
            },
        )
        result = run_in(work, fake, "prompt", "?", "--mcp", "servers.json", "--yes")
        assert result.returncode == 3
        assert HEADER_SECRET.encode() not in result.stderr

    def test_several_models_are_refused(self, fake: FakeProvider, work: Path) -> None:
        write_json(work, {"mcpServers": {}})
        result = run_in(
            work, fake, "prompt", "?", "--mcp", "servers.json", "-m", "gpt-4.1", "-m", "grok-4.3"
        )
        assert result.returncode == 2
        assert b"not allowed with several models" in result.stderr

    def test_a_disabled_server_is_left_out(self, fake: FakeProvider, work: Path) -> None:
        write_json(work, {"mcpServers": {"off": {"command": "no-such-program", "disabled": True}}})
        fake.push(answer("Plain."))
        result = run_in(work, fake, "prompt", "?", "--mcp", "servers.json", "-m", "gpt-4.1")
        assert result.returncode == 0, result.stderr
        assert "tools" not in fake.requests[0].json


class TestConfigFile:
    """[mcp_servers.NAME]: the same keys, checked with the file's line numbers."""

    def config(self, work: Path, text: str) -> dict[str, str]:
        (work / "config.toml").write_text(text)
        return {"CODEY_CONFIG": str(work / "config.toml")}

    def test_codey_config_lists_them_without_secrets(self, fake: FakeProvider, work: Path) -> None:
        extra = self.config(
            work,
            '[mcp_servers.git]\ncommand = "uvx"\nargs = ["mcp-server-git", "--repository", "."]\n'
            f'env = {{TOKEN = "{ENV_SECRET}"}}\n\n'
            '[mcp_servers.docs]\ntype = "http"\nurl = "https://docs.example/mcp"\n'
            f'headers = {{Authorization = "Bearer {HEADER_SECRET}"}}\n',
        )
        result = run_cli("config", env=environment(fake, **extra))
        assert result.returncode == 0, result.stderr
        shown = result.stdout.decode()
        assert (
            '[mcp_servers.git]\ncommand = "uvx"\nargs = ["mcp-server-git", "--repository", "."]\n'
            "# env: TOKEN (values not shown)\n"
        ) in shown
        assert (
            '[mcp_servers.docs]\nurl = "https://docs.example/mcp"\n'
            "# headers: Authorization (values not shown)\n"
        ) in shown
        assert ENV_SECRET not in shown
        assert HEADER_SECRET not in shown

    @pytest.mark.parametrize(
        ("text", "words"),
        [
            ('[mcp_servers.git]\ncomand = "uvx"\n', "line 2: unknown setting 'comand' in"),
            ('[mcp_servers.git]\ncommand = "uvx"\nargs = "x"\n', "line 3: [mcp_servers.git]: args"),
            ('[mcp_servers.web]\ntype = "sse"\nurl = "https://x"\n', "line 2: [mcp_servers.web]"),
            ("mcp_servers = 3\n", "line 1: mcp_servers must be a table"),
        ],
    )
    def test_faults_name_the_line(
        self, fake: FakeProvider, work: Path, text: str, words: str
    ) -> None:
        extra = self.config(work, text)
        result = run_cli("config", env=environment(fake, **extra))
        assert result.returncode == 3
        assert words in one_error_line(result.stderr)

    def test_variables_are_expanded_only_when_used(self, fake: FakeProvider, work: Path) -> None:
        """codey config shows ${VAR} as written; an unset one fails only the run that uses it."""
        extra = self.config(
            work,
            '[mcp_servers.git]\ncommand = "uvx"\nargs = ["--token", "${GIT_TOKEN}"]\n'
            '[mcp_servers.off]\ncommand = "x"\nenv = {T = "${CODEY_TEST_UNSET}"}\n',
        )
        env = environment(fake, GIT_TOKEN=ENV_SECRET, **extra)
        shown = run_cli("config", env=env)
        assert shown.returncode == 0, shown.stderr
        assert 'args = ["--token", "${GIT_TOKEN}"]' in shown.stdout.decode()
        assert ENV_SECRET.encode() not in shown.stdout
        fake.push(answer("Fine."))
        plain = run_cli("prompt", "?", "-m", "gpt-4.1", env=env, cwd=work)
        assert plain.returncode == 0, plain.stderr
        used = run_cli("prompt", "?", "--mcp", "off", "--yes", "-m", "gpt-4.1", env=env, cwd=work)
        assert used.returncode == 3
        assert one_error_line(used.stderr).endswith(
            "config.toml: [mcp_servers.off]: env.T names ${CODEY_TEST_UNSET}, which is not set\n"
        )
        assert len(fake.requests) == 1

    def test_an_unknown_name(self, fake: FakeProvider, work: Path) -> None:
        extra = self.config(work, '[mcp_servers.git]\ncommand = "uvx"\n')
        env = environment(fake, **extra)
        result = run_cli("prompt", "?", "--mcp", "gti", "--yes", env=env, cwd=work)
        assert result.returncode == 3
        assert "names no MCP server gti (its servers: git)" in one_error_line(result.stderr)


class TestToolsCommand:
    def test_functions_as_text(self, fake: FakeProvider, work: Path) -> None:
        result = run_in(work, fake, "tools", "--functions", "tools.py")
        assert result.returncode == 0, result.stderr
        assert result.stdout.decode() == (
            "weather  (tools.py)\n"
            "    The weather in a city.\n"
            "    city: string, required: the city's name\n"
            "    days: integer: default: 1\n"
            "\n"
            "shout  (tools.py)\n"
            "    Loud.\n"
            "    text: string, required\n"
            '    unit: "c" or "f": default: "c"\n'
        )

    def test_functions_as_json(self, fake: FakeProvider, work: Path) -> None:
        result = run_in(work, fake, "tools", "--functions", "tools.py", "--json")
        assert result.returncode == 0, result.stderr
        first, second = (json.loads(line) for line in result.stdout.decode().splitlines())
        assert first["name"] == "weather"
        assert (first["server"], first["file"]) == (None, "tools.py")
        assert first["parameters"]["required"] == ["city"]
        assert second["parameters"]["properties"]["unit"]["enum"] == ["c", "f"]

    def test_nothing_to_list(self, fake: FakeProvider, work: Path) -> None:
        result = run_in(work, fake, "tools")
        assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")

    def test_a_bad_file(self, fake: FakeProvider, work: Path) -> None:
        result = run_in(work, fake, "tools", "--mcp", "gone.json")
        assert result.returncode == 3
        assert "gone.json: no such file" in one_error_line(result.stderr)


# -- a real MCP server ------------------------------------------------------------

#: The tests' MCP server (the official SDK's), started over stdio.
SERVER = ROOT / "tests" / "mcp_servers" / "server.py"

needs_mcp = pytest.mark.skipif(
    sys.version_info < (3, 10) or importlib.util.find_spec("mcp") is None,
    reason="the mcp SDK (Python 3.10+, codey[mcp])",
)


@pytest.fixture(scope="module")
def server_tools() -> list[str]:
    """The test server's tools as the library offers them, in its order."""
    import codey

    with codey.MCP([sys.executable, str(SERVER)]) as server:
        return [tool.name for tool in server.tools]


def servers_file(work: Path, marker: str, **env: str) -> str:
    """A servers.json naming the test server; ``marker`` (an argument it ignores) finds
    its process."""
    entry: dict[str, Any] = {"command": sys.executable, "args": [str(SERVER), marker]}
    if env:
        entry["env"] = env
    return write_json(work, {"mcpServers": {"test": entry}})


def processes(marker: str) -> list[int]:
    """The processes whose command line has ``marker``: the server, while it runs."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as file:
                if marker.encode() in file.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


@pytest.fixture
def marker() -> Iterator[str]:
    """A word on the server's command line; no process may still have it after the test."""
    word = f"codey-test-{uuid.uuid4().hex}"
    yield word
    left = processes(word)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == [], "an MCP server outlived codey"


@needs_mcp
class TestServers:
    @pytest.mark.parametrize("model", ["gpt-5.6-terra", "claude-sonnet-4-6"])
    def test_done_when(
        self, fake: FakeProvider, work: Path, marker: str, model: str, server_tools: list[str]
    ) -> None:
        """Issue 25: ``codey prompt "What changed in this repo today?" --mcp servers.json
        -m MODEL --yes`` runs the server's tool and answers."""
        servers = servers_file(work, marker)
        fake.push(tool_round("echo", '{"text": "git log --since=midnight"}'), answer("Two fixes."))
        result = run_in(
            work,
            fake,
            "prompt",
            "What changed in this repo today?",
            "--mcp",
            servers,
            "-m",
            model,
            "--yes",
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == b"Two fixes.\n"
        assert result.stderr == b""
        assert processes(marker) == []  # stopped before codey exited
        first, second = fake.requests
        if model.startswith("gpt"):
            assert first.path == "/openai/v1/responses"
            assert [tool["name"] for tool in first.json["tools"]] == server_tools
            assert first.json["tools"][0]["parameters"]["required"] == ["text"]
            assert second.json["input"][-1]["output"] == "echo: git log --since=midnight"
        else:
            assert first.path == "/anthropic/v1/messages"
            assert [tool["name"] for tool in first.json["tools"]] == server_tools
            block = second.json["messages"][-1]["content"][0]
            assert block["type"] == "tool_result"
            assert block["content"] == "echo: git log --since=midnight"

    def test_a_status_line_while_a_server_starts(
        self, fake: FakeProvider, work: Path, marker: str
    ) -> None:
        """A server slow to start (npx downloading it) gets a status line on a terminal,
        erased once it is up; stdout is only the listing."""
        slow = f"sleep 1.5; exec {sys.executable} {ROOT / 'tests' / 'mcp_servers' / 'tiny.py'}"
        write_json(
            work, {"mcpServers": {"slow": {"command": "/bin/sh", "args": ["-c", slow, marker]}}}
        )
        env = pty_env(environment(fake, CODEY_CONFIG="/dev/null"), CODEY_STATUS_DELAY="0.2")
        args = ["tools", "--mcp", str(work / "servers.json")]
        with Pty(args, env, pipe_stdout=True) as term:
            term.read_until(b"codey: starting the MCP server 'slow': ")
            assert term.wait() == 0
            assert b"ping" in term.stdout()
        assert term.output.endswith(b"\r\x1b[K")  # erased: nothing left on the terminal

    def test_events_say_what_went_back_besides_text(
        self, fake: FakeProvider, work: Path, marker: str
    ) -> None:
        """A tool_result record names the image a tool returned (type, size), not its bytes."""
        servers = servers_file(work, marker)
        fake.push(tool_round("picture", "{}"), answer("A red dot."))
        result = run_in(
            work, fake, "prompt", "?", "--mcp", servers, "--yes", "--events", "-m", "gpt-4.1"
        )
        assert result.returncode == 0, result.stderr
        records = [json.loads(line) for line in result.stdout.splitlines()]
        [shown] = [record for record in records if record["type"] == "tool_result"]
        assert shown["output"] == "a red dot"
        assert shown["attachments"] == [{"mime": "image/png", "bytes": 70}]

    def test_off_a_terminal_without_yes_nothing_starts_to_be_sent(
        self, fake: FakeProvider, work: Path, marker: str, server_tools: list[str]
    ) -> None:
        servers = servers_file(work, marker)
        result = run_in(work, fake, "prompt", "?", "--mcp", servers, "-m", "gpt-4.1")
        assert result.returncode == 3
        line = one_error_line(result.stderr)
        assert f"--allow-tool NAME for each of {', '.join(server_tools)}\n" in line
        assert fake.requests == []

    def test_allowed_tools_run_off_a_terminal(
        self, fake: FakeProvider, work: Path, marker: str, server_tools: list[str]
    ) -> None:
        servers = servers_file(work, marker)
        fake.push(tool_round("weather", '{"city": "Oslo"}'), tool_round("echo", '{"text": "x"}'))
        fake.push(answer("Done."))
        allowed = [
            flag for name in [*server_tools, "weather", "shout"] for flag in ("--allow-tool", name)
        ]
        args = ["prompt", "?", "--mcp", servers, "--functions", "tools.py", "-m", "gpt-4.1"]
        result = run_in(work, fake, *args, *allowed)
        assert result.returncode == 0, result.stderr
        assert result.stdout == b"Done.\n"
        assert fake.requests[1].json["messages"][-1]["content"] == "sunny in Oslo for 1 days"
        assert fake.requests[2].json["messages"][-1]["content"] == "echo: x"
        # Some allowed, not all: refused, naming the rest.
        partly = run_in(work, fake, *args, "--allow-tool", "echo", "--allow-tool", "weather")
        assert partly.returncode == 3
        rest = ", ".join(name for name in ["shout", *server_tools] if name != "echo")
        assert f"for each of {rest}" in one_error_line(partly.stderr)
        assert len(fake.requests) == 3

    def test_a_typo_in_allow_tool(self, fake: FakeProvider, work: Path, marker: str) -> None:
        servers = servers_file(work, marker)
        result = run_in(
            work, fake, "prompt", "?", "--mcp", servers, "--allow-tool", "ehco", "-m", "gpt-4.1"
        )
        assert result.returncode == 2
        assert "no tool offered is named 'ehco' (the tools: echo, " in one_error_line(result.stderr)
        assert fake.requests == []

    def test_on_a_terminal_it_asks_and_an_allowed_tool_does_not(
        self, fake: FakeProvider, work: Path, marker: str
    ) -> None:
        servers_file(work, marker)
        fake.push(
            answer(
                tool_calls=[
                    ToolCall(0, "c1", "echo", '{"text": "a"}'),
                    ToolCall(1, "c2", "environment", '{"name": "HOME"}'),
                ]
            ),
            answer("Asked once."),
        )
        env = pty_env(environment(fake, CODEY_CONFIG="/dev/null"))
        args = ["prompt", "?", "--mcp", str(work / "servers.json"), "-m", "gpt-4.1"]
        with Pty([*args, "--allow-tool", "echo"], env, pipe_stdout=True) as term:
            term.read_until(b"Run tool environment(name='HOME')? [y/N] ")
            term.write(b"n\r")
            assert term.wait() == 0
            assert term.stdout() == b"Asked once.\n"
            assert b"Run tool echo" not in term.output
        results = [m["content"] for m in fake.requests[-1].json["messages"][-2:]]
        assert results == ["echo: a", "error: ToolDeclined: the user did not allow this call"]

    def test_ctrl_c_in_a_call_stops_the_server(
        self, fake: FakeProvider, work: Path, marker: str
    ) -> None:
        servers_file(work, marker)
        fake.push(tool_round("hang", "{}"))
        env = pty_env(environment(fake, CODEY_CONFIG="/dev/null"))
        args = ["prompt", "?", "--mcp", str(work / "servers.json"), "--yes", "-m", "gpt-4.1"]
        with Pty(args, env, pipe_stdout=True) as term:
            assert wait_until(lambda: len(fake.requests) == 1, timeout=10)
            time.sleep(0.5)  # the call is with the server now
            term.write(b"\x03")
            assert term.wait() == 130
        assert processes(marker) == []

    def test_sigterm_in_a_call_stops_the_server(
        self, fake: FakeProvider, work: Path, marker: str
    ) -> None:
        servers = servers_file(work, marker)
        fake.push(tool_round("hang", "{}"))
        args = ["prompt", "?", "--mcp", servers, "--yes", "-m", "gpt-4.1"]
        env = environment(fake, CODEY_CONFIG="/dev/null")
        with subprocess.Popen(
            [sys.executable, "-m", "codey", *args], env=env, cwd=work, stderr=subprocess.PIPE
        ) as proc:
            assert wait_until(lambda: len(fake.requests) == 1, timeout=10)
            time.sleep(0.5)  # the call is with the server now
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(10) == 143
        assert processes(marker) == []

    def test_mcp_timeout_bounds_a_call(self, fake: FakeProvider, work: Path, marker: str) -> None:
        servers = servers_file(work, marker)
        fake.push(tool_round("hang", "{}"), answer("It hung."))
        args = ["prompt", "?", "--mcp", servers, "--yes", "--mcp-timeout", "2", "-m", "gpt-4.1"]
        result = run_in(work, fake, *args)
        assert result.returncode == 0, result.stderr
        assert result.stdout == b"It hung.\n"
        assert b"codey: tool hang() failed: ToolCallError:" in result.stderr
        assert b"did not answer within 2 seconds" in result.stderr
        assert (
            "did not answer within 2 seconds" in fake.requests[-1].json["messages"][-1]["content"]
        )

    def test_secrets_are_not_shown(self, fake: FakeProvider, work: Path, marker: str) -> None:
        """An env value (from ${VAR}) reaches the server, and no --events record shows it."""
        servers = servers_file(work, marker, CODEY_TEST_TOKEN="${MY_TOKEN}")
        fake.push(tool_round("environment", '{"name": "CODEY_TEST_TOKEN"}'), answer("Got it."))
        env = environment(fake, CODEY_CONFIG="/dev/null", MY_TOKEN=ENV_SECRET)
        result = run_in(
            work,
            fake,
            "prompt",
            "?",
            "--mcp",
            servers,
            "--yes",
            "--events",
            "-m",
            "gpt-4.1",
            env=env,
        )
        assert result.returncode == 0, result.stderr
        assert fake.requests[-1].json["messages"][-1]["content"] == ENV_SECRET  # it got there
        assert ENV_SECRET.encode() not in result.stdout + result.stderr
        records = [json.loads(line) for line in result.stdout.splitlines()]
        [shown] = [record for record in records if record["type"] == "tool_result"]
        assert shown["output"] == "[REDACTED]"

    def test_a_server_that_does_not_start(
        self, fake: FakeProvider, work: Path, marker: str
    ) -> None:
        """Exit status 1, the end of its stderr quoted, its env value hidden."""
        crash = "import os, sys; sys.stderr.write('token ' + os.environ['TOK']); sys.exit(4)"
        write_json(
            work,
            {
                "mcpServers": {
                    "bad": {
                        "command": sys.executable,
                        "args": ["-c", crash, marker],
                        "env": {"TOK": ENV_SECRET},
                    }
                }
            },
        )
        result = run_in(
            work, fake, "prompt", "?", "--mcp", "servers.json", "--yes", "-m", "gpt-4.1"
        )
        assert result.returncode == 1
        line = one_error_line(result.stderr)
        assert "'bad'" in line
        assert "token [REDACTED]" in line
        assert fake.requests == []

    def test_config_file_servers(self, fake: FakeProvider, work: Path, marker: str) -> None:
        (work / "config.toml").write_text(
            f"[mcp_servers.test]\ncommand = {json.dumps(sys.executable)}\n"
            f"args = [{json.dumps(str(SERVER))}, {json.dumps(marker)}]\n"
        )
        env = environment(fake, CODEY_CONFIG=str(work / "config.toml"))
        listed = run_in(work, fake, "tools", env=env)
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.decode().startswith(
            f"echo  (server test, {work / 'config.toml'})\n    Says the text back.\n"
            "    text: string, required\n\n"
        )
        fake.push(tool_round("echo", '{"text": "hi"}'), answer("Said."))
        result = run_in(
            work, fake, "prompt", "?", "--mcp", "test", "--yes", "-m", "gpt-4.1", env=env
        )
        assert result.returncode == 0, result.stderr
        assert fake.requests[-1].json["messages"][-1]["content"] == "echo: hi"
        fake.push(answer("Plain."))
        plain = run_in(work, fake, "prompt", "?", "-m", "gpt-4.1", env=env)  # none unless named
        assert plain.returncode == 0, plain.stderr
        assert "tools" not in fake.requests[-1].json

    def test_two_tools_of_one_name(self, fake: FakeProvider, work: Path, marker: str) -> None:
        """A configuration error naming both, and both servers stopped."""
        entry = {"command": sys.executable, "args": [str(SERVER), marker]}
        write_json(work, {"mcpServers": {"a": entry, "b": entry}})
        result = run_in(work, fake, "tools", "--mcp", "servers.json")
        assert result.returncode == 3
        assert one_error_line(result.stderr) == (
            "codey: error: two tools are named 'echo': one from server a, servers.json, "
            "one from server b, servers.json\n"
        )

    def test_codey_tools(
        self, fake: FakeProvider, work: Path, marker: str, server_tools: list[str]
    ) -> None:
        servers = servers_file(work, marker)
        text = run_in(work, fake, "tools", "--mcp", servers, "--functions", "tools.py")
        assert text.returncode == 0, text.stderr
        shown = text.stdout.decode()
        assert shown.startswith("weather  (tools.py)\n")
        assert (
            "environment  (server test, servers.json)\n"
            "    The value of an environment variable of the server (for the env= test).\n"
            "    name: string, required\n"
        ) in shown
        as_json = run_in(work, fake, "tools", "--mcp", servers, "--json")
        assert as_json.returncode == 0, as_json.stderr
        rows = [json.loads(line) for line in as_json.stdout.splitlines()]
        assert [row["name"] for row in rows] == server_tools
        assert {(row["server"], row["file"]) for row in rows} == {("test", servers)}
        assert rows[0]["parameters"]["properties"]["text"]["type"] == "string"
        assert fake.requests == []

    def test_chat_starts_the_server_once(self, fake: FakeProvider, work: Path, marker: str) -> None:
        servers = servers_file(work, marker)
        (work / "in.txt").write_text("first?\nsecond?\n")
        fake.push(tool_round("echo", '{"text": "1"}'), answer("One."))
        fake.push(tool_round("echo", '{"text": "2"}'), answer("Two."))
        with open(work / "in.txt", "rb") as stdin:
            result = run_in(
                work, fake, "chat", "--mcp", servers, "--yes", "-m", "gpt-4.1", stdin=stdin
            )
        assert result.returncode == 0, result.stderr
        assert result.stdout == b"One.\nTwo.\n"
        assert [request.json["messages"][-1]["content"] for request in fake.requests[1::2]] == [
            "echo: 1",
            "echo: 2",
        ]


def test_completion_knows_the_new_flags_and_command(fake: FakeProvider) -> None:
    result = run_cli("completion", "bash", env=environment(fake, CODEY_CONFIG="/dev/null"))
    assert result.returncode == 0
    script = result.stdout.decode()
    assert "candidates='prompt save chat batch tools models" in script
    assert "--mcp) files=1 ;;" in script  # a file's name
    for flag in (" --mcp ", " --mcp-timeout ", " --allow-tool "):
        assert flag in script
