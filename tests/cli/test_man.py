"""man/codey.1: current with build_parser(), complete, and rendered without warnings."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from codey.cli import build_parser
from tests.helpers import ROOT

PAGE = ROOT / "man" / "codey.1"


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "codey_man_generate", ROOT / "man" / "generate.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generate() -> ModuleType:
    pytest.importorskip("argparse_manpage")
    return load_generator()


@pytest.fixture(scope="module")
def page() -> str:
    return PAGE.read_text(encoding="utf-8")


def test_page_is_current(generate: ModuleType) -> None:
    """The committed page is what the parser generates now: run python man/generate.py."""
    assert generate.is_current(PAGE), "man/codey.1 is stale: run python man/generate.py"


def test_generation_is_stable(generate: ModuleType, tmp_path: Path) -> None:
    """Writing twice changes nothing the second time; a stale page is rewritten."""
    target = tmp_path / "codey.1"
    assert generate.write(target) is True
    first = target.read_text(encoding="utf-8")
    assert generate.write(target) is False
    assert target.read_text(encoding="utf-8") == first
    target.write_text(first.replace("prompt", "PROMPT"), encoding="utf-8")
    assert not generate.is_current(target)
    assert generate.main(["--check", "-o", str(target)]) == 1
    assert generate.write(target) is True
    assert generate.main(["--check", "-o", str(target)]) == 0


def _unescaped(page: str) -> str:
    return page.replace("\\-", "-").replace("\\fB", "").replace("\\fR", "").replace("\\fI", "")


def test_documents_every_command_and_option(page: str) -> None:
    """Every subcommand and every option of the parser appears in the page."""
    text = _unescaped(page)
    parser = build_parser()
    subparsers = next(
        action for action in parser._actions if action.__class__.__name__ == "_SubParsersAction"
    )
    choices: dict[str, object] = subparsers.choices  # type: ignore[assignment]
    assert set(choices) == {
        "prompt",
        "save",
        "chat",
        "batch",
        "config",
        "completion",
        "models",
        "providers",
        "tools",
        "buffer",
        "format",
        "color",
    }
    for name, sub in choices.items():
        assert f".SS codey {name}\n" in text
        for action in sub._actions:  # type: ignore[attr-defined]
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert option in text, option
    assert "--version" in text


@pytest.mark.parametrize(
    "needle",
    [
        "OPENAI_API_KEY",
        "XAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "OPENAI_BASE_URL",
        "XAI_BASE_URL",
        "ANTHROPIC_BASE_URL",
        "CODEY_MODEL",
        "NO_COLOR",
        "CODEY_DEBUG",
        ".SH ENVIRONMENT",
        ".SH EXIT STATUS",
        ".SH CHAT LOGS",
        "delimiterPrefix",
        "delimiterSuffix",
        "userDelimiter",
        "assistantDelimiter",
        "systemDelimiter",
        "# === ASSISTANT ===",
        "pip install 'codey[markdown]'",
        "CODEY_CONFIG",
        "XDG_CONFIG_HOME",
        "CODEY_STATUS_DELAY",
        ".SH CONFIG FILE",
        ".SH JSON LINES",
        ".SH STATUS LINE",
        ".SH SHELL COMPLETION",
        '{"type":"finish","reason":"stop","api":"responses"}',
        "partial_text_length",
        'eval "$(codey completion bash)"',
        "api_key_env",
        "flag, the chat log's front matter",
    ],
)
def test_documents(page: str, needle: str) -> None:
    assert needle in _unescaped(page)


def _headings(page: str) -> list[str]:
    """The text of every .SH and .SS heading (a bare .SH takes the next line)."""
    lines = page.splitlines()
    headings = []
    for index, line in enumerate(lines):
        if line.split(" ", 1)[0] in (".SH", ".SS"):
            text = line[4:].strip()
            if not text and index + 1 < len(lines) and not lines[index + 1].startswith("."):
                text = "(next line) " + lines[index + 1]
            headings.append(text)
    return headings


def test_headings_are_plain(page: str) -> None:
    """No heading is empty (".SH" alone), none carries quoted command text (such as
    "SHOWN ON STANDARD ERROR 'codey prompt'"), and top-level ones are the page's
    sections; each command is a ".SS codey NAME" subsection of COMMANDS."""
    headings = _headings(page)
    for heading in headings:
        assert heading, "an empty heading"
        assert not heading.startswith("(next line)"), heading
        assert "'" not in heading, heading
        assert '"' not in heading, heading
    sections = [line[4:] for line in page.splitlines() if line.startswith(".SH ")]
    assert sections[:5] == ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS"]
    assert not any("codey" in section.lower() for section in sections), sections
    subsections = [_unescaped(line[4:]) for line in page.splitlines() if line.startswith(".SS ")]
    assert subsections[0] == "codey prompt"
    assert "codey color" in subsections


def test_generated_headings_are_plain(generate: ModuleType) -> None:
    """The generator itself, not only the committed page, makes plain headings."""
    for heading in _headings(generate.render(date="2000-01-01")):
        assert heading
        assert "'" not in heading, heading
        assert not heading.startswith("(next line)"), heading


def test_help_lists_every_configuration_status() -> None:
    """--help's exit status 3 names the statuses DESIGN.md gives it, 413 included;
    4 names 408 and 409 too."""
    text = " ".join((build_parser().epilog or "").split())
    three = text.split("3 configuration or authentication", 1)[1].split("; 4 ", 1)[0]
    for status in ("401", "403", "400", "404", "413", "422"):
        assert status in three, status
    four = text.split("; 4 ", 1)[1].split("; 5 ", 1)[0]
    for status in ("408", "409", "429", "5xx", "529"):
        assert status in four, status


def test_documents_every_exit_status(page: str) -> None:
    section = page.split(".SH EXIT STATUS", 1)[1].split(".SH ", 1)[0]
    for status in ("0", "1", "2", "3", "4", "5", "6", "130", "141"):
        assert f".TP\n.B {status}\n" in section


def test_groff_renders_without_warnings() -> None:
    """groff -man -ww: no warnings."""
    if shutil.which("groff") is None:
        pytest.skip("groff is not installed")
    result = subprocess.run(
        ["groff", "-man", "-Tutf8", "-ww", "-z", str(PAGE)],
        capture_output=True,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, b"")


def test_man_renders_without_warnings() -> None:
    """man -l man/codey.1: no warnings, and the page reads as expected."""
    if shutil.which("man") is None:
        pytest.skip("man is not installed")
    env = dict(os.environ, MANWIDTH="80", MANPAGER="cat", PAGER="cat", LANG="C.UTF-8")
    result = subprocess.run(
        ["man", "--warnings", "-l", str(PAGE)],
        capture_output=True,
        env=env,
        check=False,
    )
    if result.returncode != 0 and b"--warnings" in result.stderr:  # a man without the option
        result = subprocess.run(["man", "-l", str(PAGE)], capture_output=True, env=env, check=False)
    assert result.stderr == b""
    assert result.returncode == 0
    rendered = result.stdout.decode("utf-8")
    assert "codey - LLMs on the command line" in rendered
    assert "EXIT STATUS" in rendered


def test_generator_runs_as_a_script(tmp_path: Path) -> None:
    """python man/generate.py -o FILE works from anywhere."""
    pytest.importorskip("argparse_manpage")
    target = tmp_path / "page.1"
    subprocess.run(
        [sys.executable, str(ROOT / "man" / "generate.py"), "-o", str(target)],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    assert target.read_text(encoding="utf-8").startswith(".TH CODEY")


def _documented_statuses() -> dict[int, str]:
    """docs/cli.rst's "Exit status" table: status → its text, lines joined."""
    page = (ROOT / "docs" / "cli.rst").read_text(encoding="utf-8")
    section = page.split("\nExit status\n", 1)[1]
    table = section.split("=====  ", 2)[1]
    rows: dict[int, str] = {}
    for line in table.splitlines()[1:]:
        status, text = line[:7].strip(), line[7:].strip()
        if status:
            rows[int(status)] = text
        else:
            rows[next(reversed(rows))] += " " + text
    return rows


def test_exit_statuses_agree() -> None:
    """One table of exit statuses: docs/cli.rst's, --help's and codey(1)'s lists are it,
    and every kind of library error has its row."""
    from codey._retry import KINDS
    from codey.cli._exit import STATUSES

    expected = {row.code: row.text for row in STATUSES.values()}
    assert _documented_statuses() == expected
    help_text = " ".join((build_parser().epilog or "").split())
    listed = "; ".join(f"{code} {text}" for code, text in expected.items())
    assert listed.replace("``", "") in help_text
    page = PAGE.read_text(encoding="utf-8")
    section = page.split(".SH EXIT STATUS", 1)[1].split(".SH ", 1)[0]
    shown = re.findall(r"^\.TP\n\.B (\d+)\n(.*)$", section, re.MULTILINE)
    assert [int(code) for code, _ in shown] == list(expected)
    for (_, roff), text in zip(shown, expected.values()):
        plain = re.sub(r"\\f[BRI]", "", roff).replace("\\-", "-").replace("\\e", "\\")
        assert plain == text.replace("``", "") + "."
    assert set(KINDS) <= set(STATUSES)
