"""Faults a person meets on the command line: keys and URLs in error lines, internal
errors, the config file, ``--functions`` files, and the small print of messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from codey.testing import FakeProvider, ToolCall, answer, error
from tests.helpers import TIMEOUT, closed_port_url, environment, one_error_line, run_cli

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX shells")

OTHER = "sk-ant-SECRETanth1234567890"

TOOLS = f'''\
def boom(x: int) -> str:
    """Fails quoting a key."""
    raise RuntimeError("kaboom with {OTHER} inside")
'''


class TestKeysInLines:
    def test_a_tools_exception_is_redacted_everywhere(
        self, fake: FakeProvider, tmp_path: Path
    ) -> None:
        (tmp_path / "tools.py").write_text(TOOLS)
        call = answer(tool_calls=[ToolCall(0, "c1", "boom", '{"x": 1}')])
        fake.push(call, answer("ok"), call, answer("ok"))
        env = environment(fake, ANTHROPIC_API_KEY=OTHER)
        args = ("prompt", "go", "--functions", "tools.py", "--yes", "-m", "gpt-4.1")
        result = run_cli(*args, env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stderr.decode() == (
            "codey: tool boom(x=1) failed: RuntimeError: kaboom with [REDACTED] inside\n"
        )
        result = run_cli(*args, "--events", env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert b"SECRET" not in result.stdout + result.stderr
        records = [json.loads(line) for line in result.stdout.decode().splitlines()]
        [record] = [record for record in records if record["type"] == "tool_result"]
        assert record["output"] == "error: RuntimeError: kaboom with [REDACTED] inside"
        assert record["error"] == "RuntimeError: kaboom with [REDACTED] inside"
        sent = fake.requests[-1].json["messages"][-1]["content"]
        assert sent == "error: RuntimeError: kaboom with [REDACTED] inside"

    def test_a_key_in_a_calls_arguments_is_not_printed(
        self, fake: FakeProvider, tmp_path: Path
    ) -> None:
        (tmp_path / "tools.py").write_text(TOOLS)
        arguments = json.dumps({"x": f"use {OTHER}"})
        fake.push(answer(tool_calls=[ToolCall(0, "c1", "boom", arguments)]), answer("ok"))
        env = environment(fake, ANTHROPIC_API_KEY=OTHER)
        args = ("prompt", "go", "--functions", "tools.py", "--yes", "-m", "gpt-4.1")
        result = run_cli(*args, env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stderr.decode().startswith("codey: tool boom(x='use [REDACTED]') failed: ")

    def test_a_password_in_the_base_url_is_not_printed(self, fake: FakeProvider) -> None:
        url = closed_port_url().replace("://", "://user:BASEPASS@") + "/v1"
        result = run_cli(
            "prompt", "hi", "-m", "gpt-4.1", env=environment(fake, OPENAI_BASE_URL=url)
        )
        assert result.returncode == 6
        line = one_error_line(result.stderr)
        assert "could not reach openai at http://user:[REDACTED]@127.0.0.1:" in line
        assert "BASEPASS" not in line

    def test_a_query_in_the_base_url_stays_a_query(self, fake: FakeProvider) -> None:
        base = fake.base_url("openai") + "?key=QUERYSECRET"
        fake.push(error(400, "no"))
        result = run_cli(
            "prompt", "hi", "-m", "gpt-4.1", env=environment(fake, OPENAI_BASE_URL=base)
        )
        assert fake.requests[0].path.endswith("/chat/completions?key=QUERYSECRET")
        assert result.returncode == 3
        assert "QUERYSECRET" not in one_error_line(result.stderr)

    def test_the_query_is_hidden_when_unreachable(self, fake: FakeProvider) -> None:
        base = closed_port_url() + "/v1?api_key=QUERYSECRET"
        result = run_cli(
            "prompt", "hi", "-m", "gpt-4.1", env=environment(fake, OPENAI_BASE_URL=base)
        )
        line = one_error_line(result.stderr)
        assert "/v1/chat/completions?api_key=[REDACTED]:" in line


class TestConfigFile:
    def test_a_device_is_refused_before_it_is_read(self, fake: FakeProvider) -> None:
        result = run_cli("prompt", "hi", env=environment(fake, CODEY_CONFIG="/dev/zero"))
        assert result.returncode == 3
        assert "/dev/zero: not a regular file" in one_error_line(result.stderr)
        assert fake.requests == []

    def test_dev_null_is_no_config_file(self, fake: FakeProvider) -> None:
        fake.push(answer("ok"))
        env = environment(fake, CODEY_CONFIG="/dev/null")
        result = run_cli("prompt", "hi", "-m", "gpt-4.1", env=env)
        assert (result.returncode, result.stdout) == (0, b"ok\n"), result.stderr

    def test_the_input_limit_applies(self, fake: FakeProvider, tmp_path: Path) -> None:
        config = tmp_path / "config.toml"
        config.write_text("# padding\n" * 200)
        env = environment(fake, CODEY_CONFIG=str(config), CODEY_MAX_INPUT="1k")
        result = run_cli("prompt", "hi", env=env)
        assert result.returncode == 3
        assert "is bigger than the 1 KiB input limit" in one_error_line(result.stderr)


class TestInternalErrors:
    def test_closed_standard_output(self, fake: FakeProvider) -> None:
        fake.push(answer("ok"))
        command = [sys.executable, "-m", "codey", "prompt", "hi", "-m", "gpt-4.1"]
        result = subprocess.run(
            ["sh", "-c", '"$@" >&-', "sh", *command],
            env=environment(fake),
            stdin=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=TIMEOUT,
            check=False,
        )
        assert result.returncode == 1
        assert "standard output is closed" in one_error_line(result.stderr)
        assert fake.requests == []  # nothing paid for

    def test_batch_output_that_is_not_a_file(self, fake: FakeProvider, tmp_path: Path) -> None:
        (tmp_path / "five.jsonl").write_text('{"id": 1, "prompt": "a"}\n')
        args = ("batch", "five.jsonl", "-o", "/dev/null", "-m", "gpt-4.1")
        result = run_cli(*args, env=environment(fake), cwd=tmp_path)
        assert result.returncode == 1
        line = one_error_line(result.stderr)
        assert "/dev/null: not a regular file; a batch's output must be one" in line
        assert fake.requests == []


class TestFunctionsFiles:
    """Every fault of a --functions file or -T target: exit status 3, naming it."""

    @pytest.mark.parametrize(
        ("name", "text", "message"),
        [
            ("none.py", "x = 1\n", "--functions none.py: the file defines no public function"),
            ("args.py", "def f(*a: int) -> int:\n    return 1\n",
             "--functions args.py: a tool takes named parameters: f has *a"),
            ("boom.py", f"raise RuntimeError('import-time failure {OTHER}')\n",
             "--functions boom.py: importing it raised RuntimeError: import-time failure "
             "[REDACTED]"),
            ("exits.py", "import sys\nsys.exit(7)\n",
             "--functions exits.py: it called sys.exit(7) when imported"),
            ("syntax.py", "def (:\n", "--functions syntax.py: importing it raised SyntaxError: "),
            ("data.txt", "not python\n", "--functions data.txt: not a Python file"),
        ],
    )  # fmt: skip
    def test_a_bad_file(
        self, fake: FakeProvider, tmp_path: Path, name: str, text: str, message: str
    ) -> None:
        (tmp_path / name).write_text(text)
        env = environment(fake, ANTHROPIC_API_KEY=OTHER)
        result = run_cli(
            "prompt", "?", "--functions", name, "--yes", "-m", "gpt-4.1", env=env, cwd=tmp_path
        )
        assert result.returncode == 3
        assert message in one_error_line(result.stderr)
        assert fake.requests == []

    @pytest.mark.parametrize(
        ("target", "message"),
        [
            ("nosuchmodule:f", "-T nosuchmodule:f: importing it raised ModuleNotFoundError: "),
            ("json:nosuch", "-T json:nosuch: json has no function nosuch"),
            ("missing.py", "--functions missing.py: no such file"),
        ],
    )
    def test_a_bad_target(
        self, fake: FakeProvider, tmp_path: Path, target: str, message: str
    ) -> None:
        flag = "--functions" if target.endswith(".py") else "-T"
        result = run_cli("prompt", "?", flag, target, "--yes", env=environment(fake), cwd=tmp_path)
        assert result.returncode == 3
        assert message in one_error_line(result.stderr)


@pytest.mark.parametrize(("debug", "hinted"), [("", True), ("0", True), ("1", False)])
def test_the_debug_hint_only_when_not_debugging(
    monkeypatch: pytest.MonkeyPatch, debug: str, hinted: bool
) -> None:
    from codey.cli._exit import describe

    monkeypatch.setenv("CODEY_DEBUG", debug)
    line = describe(RuntimeError("unexpected"))
    assert line.startswith("RuntimeError: unexpected")
    assert line.endswith("(set CODEY_DEBUG=1 for a traceback)") is hinted


class TestMessages:
    """The small print: each message says what is true, in the command line's words."""

    def test_an_attachment_read_up_to_the_limit_is_not_the_limit(self) -> None:
        import codey

        with pytest.raises(codey.AttachmentError) as info:
            codey.Attachment.from_path("/dev/zero")
        message = str(info.value)
        assert message.endswith(
            "is too big to attach: the most is 20.0 MiB, and it is more than that"
        )

    def test_nan_in_the_config_file(self, fake: FakeProvider, tmp_path: Path) -> None:
        (tmp_path / "c.toml").write_text("[defaults]\ntemperature = nan\n")
        result = run_cli(
            "prompt", "hi", env=environment(fake, CODEY_CONFIG=str(tmp_path / "c.toml"))
        )
        assert result.returncode == 3
        assert one_error_line(result.stderr).endswith(
            "line 2: temperature must be a number, not nan\n"
        )

    def test_an_alias_with_a_dot_needs_quotes(self, fake: FakeProvider, tmp_path: Path) -> None:
        (tmp_path / "c.toml").write_text('[aliases]\ngpt-4.1 = "openai:gpt-4.1"\n')
        result = run_cli(
            "prompt", "hi", env=environment(fake, CODEY_CONFIG=str(tmp_path / "c.toml"))
        )
        assert result.returncode == 3
        assert 'a name with a dot must be quoted ("gpt-4.1" = ...)' in one_error_line(result.stderr)

    def test_one_token_is_singular(self, fake: FakeProvider) -> None:
        fake.push(answer("ok", usage=(1, 2)))
        result = run_cli("prompt", "hi", "-m", "gpt-4.1", "--usage", env=environment(fake))
        assert result.stderr.decode() == "codey: gpt-4.1: 1 input token, 2 output tokens\n"

    def test_batch_help_has_no_chat_log(self) -> None:
        result = run_cli("batch", "--help", env=environment())
        text = " ".join(result.stdout.decode().split())
        assert "the model of the lines that name none" in text
        assert "front matter" not in text

    def test_a_batch_that_can_only_fail_again_says_what_to_do(
        self, fake: FakeProvider, tmp_path: Path
    ) -> None:
        fake.default = error(401, "bad key")
        (tmp_path / "in.jsonl").write_text('{"id": 1, "prompt": "a"}\n{"id": 2, "prompt": "b"}\n')
        result = run_cli("batch", "in.jsonl", "-m", "gpt-4.1", env=environment(fake), cwd=tmp_path)
        assert result.returncode == 3
        assert result.stderr.decode().endswith(
            "; fix what in.out.jsonl says, then run it again to retry them\n"
        )

    def test_the_fake_server_is_suggested_for_its_providers_only(
        self, fake: FakeProvider, tmp_path: Path
    ) -> None:
        (tmp_path / "c.toml").write_text(
            '[providers.together]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'
            'api_key_env = "TOGETHER_KEY"\nmodels = ["llama"]\n'
        )
        env = environment(CODEY_CONFIG=str(tmp_path / "c.toml"))
        own = one_error_line(run_cli("prompt", "hi", "-m", "together:llama", env=env).stderr)
        assert own == "codey: error: no API key for together: set TOGETHER_KEY\n"
        builtin = one_error_line(run_cli("prompt", "hi", "-m", "gpt-4.1", env=env).stderr)
        assert builtin.endswith(
            "set OPENAI_API_KEY (or try codey with no key: python -m codey.testing serve)\n"
        )


def test_codey_config_hides_a_base_urls_password(fake: FakeProvider) -> None:
    env = environment(fake, OPENAI_BASE_URL="http://user:BASEPASS@127.0.0.1:9/v1?api_key=QS")
    result = run_cli("config", env=env)
    assert result.returncode == 0, result.stderr
    text = result.stdout.decode()
    assert 'base_url = "http://user:[REDACTED]@127.0.0.1:9/v1?api_key=[REDACTED]"' in text
    assert "BASEPASS" not in text
    assert "QS" not in text
