"""The one table of request options (``codey._options``): what derives from it, and its checks."""

from __future__ import annotations

import inspect
from pathlib import Path

import attrs
import pytest

import codey
from codey import _options
from codey._providers._base import RequestSpec
from codey.testing import FakeProvider, answer
from tests.helpers import environment, kwargs_for, one_error_line, run_cli


def test_stream_signature_matches_the_table() -> None:
    """``stream()`` spells its keywords for type hints and docs: the same names,
    types and defaults as the table's rows, every row a keyword."""
    parameters = dict(inspect.signature(codey.stream).parameters)
    del parameters["prompt"]
    assert {name: (p.annotation, p.default) for name, p in parameters.items()} == {
        option.name: (option.type, option.default) for option in _options.OPTIONS
    }
    assert all(_options.KEYWORD in option.where for option in _options.OPTIONS)


def test_the_request_spec_carries_what_the_table_sends() -> None:
    """The options a provider puts on the wire are the RequestSpec's fields (the
    model, the messages, the tools (server tools too) and the schema are built, not
    given as is)."""
    fields = {field.name for field in attrs.fields(RequestSpec)}
    built = {"model", "messages", "tools", "server_tools", "schema"}
    assert fields - built == set(_options.named(_options.SPEC))


def test_the_library_checks_the_reasoning_effort(fake: FakeProvider) -> None:
    """The allowed values are the table's: a ValueError naming them, no request sent."""
    with pytest.raises(
        ValueError,
        match="reasoning_effort must be one of none, minimal, low, medium, high, xhigh, max",
    ):
        codey.stream("hi", **kwargs_for(fake, "openai", reasoning_effort="extreme"))
    assert fake.requests == []
    fake.push(answer("ok"))
    options = kwargs_for(fake, "openai", model="gpt-unlisted", reasoning_effort="minimal")
    assert codey.complete("hi", **options) == "ok"  # a model the table does not know
    assert fake.requests[-1].json["reasoning_effort"] == "minimal"


def test_a_batch_line_with_a_bad_reasoning_effort_fails_alone(
    fake: FakeProvider, tmp_path: Path
) -> None:
    fake.push(answer("ok"))
    output = tmp_path / "out.jsonl"
    lines = [
        {"id": "bad", "prompt": "hi", "options": {"reasoning_effort": "extreme"}},
        {"id": "good", "prompt": "hi"},
    ]
    summary = codey.batch(lines, str(output), parallel=1, **kwargs_for(fake, "openai"))
    assert (summary.done, summary.failed) == (1, 1)
    assert "reasoning_effort must be one of" in output.read_text(encoding="utf-8")
    assert len(fake.requests) == 1


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_one_check_at_every_door(fake: FakeProvider, tmp_path: Path, provider: str) -> None:
    """``thinking_budget=0``: the library, the command line's flag and the config file
    say the same words, from the table's one check, and nothing is sent."""
    words = "thinking_budget must be a positive integer, not 0"
    with pytest.raises(ValueError, match=words):
        codey.stream("hi", **kwargs_for(fake, provider, thinking_budget=0))
    model = "claude-sonnet-4-0" if provider == "anthropic" else "gpt-4.1"
    flag = run_cli("prompt", "hi", "-m", model, "--thinking-budget", "0", env=environment(fake))
    assert flag.returncode == 2
    assert f"argument --thinking-budget: {words}" in flag.stderr.decode()
    config = tmp_path / "codey" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("[defaults]\nthinking_budget = 0\n", encoding="utf-8")
    result = run_cli(
        "prompt", "hi", "-m", model, env=environment(fake, XDG_CONFIG_HOME=str(tmp_path))
    )
    assert result.returncode == 3
    assert f"line 2: {words}" in one_error_line(result.stderr)
    assert fake.requests == []


def test_derived_lists_follow_the_table() -> None:
    """Where each option is accepted comes from its row alone."""
    from codey._batch import BATCH_OPTIONS
    from codey._batch._files import LINE_OPTIONS
    from codey.cli._config import MODEL_SETTINGS
    from codey.cli._parser import build_parser

    assert set(_options.named(_options.LINE)) == LINE_OPTIONS
    assert set(_options.named(_options.BATCH)) == BATCH_OPTIONS
    assert _options.named(_options.CONFIG) == MODEL_SETTINGS
    parsed = vars(build_parser().parse_args(["prompt", "hi"]))
    assert set(_options.named(_options.FLAG)) <= set(parsed)
