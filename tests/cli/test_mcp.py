"""``--mcp``, ``--allow-tool``, ``--mcp-timeout``, ``[mcp_servers.NAME]`` and ``codey tools``,
through ``python -m codey``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from codey.testing import FakeProvider, ToolCall, answer
from tests.cli.terminal import Pty, pty_env
from tests.helpers import environment, one_error_line, run_cli

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
