"""codey prompt over the Responses API: --api, the models only it serves, and the
same reasoning, usage, retries and exit statuses as every other wire format."""

from __future__ import annotations

import json

import pytest

from codey.testing import (
    ErrorEvent,
    FakeProvider,
    Stall,
    Text,
    UsageStep,
    answer,
    error,
    events,
)
from tests.helpers import environment, one_error_line, run_cli


def prompt(fake: FakeProvider, *args: str) -> tuple[int, bytes, bytes]:
    result = run_cli("prompt", "hi", *args, env=environment(fake))
    return result.returncode, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("args", "path"),
    [
        (("-m", "o3-pro"), "/openai/v1/responses"),
        (("-m", "gpt-4.1", "--api", "responses"), "/openai/v1/responses"),
        (("-m", "grok-4.3", "--api", "responses"), "/xai/v1/responses"),
        (("-m", "o3-pro", "--api", "chat"), "/openai/v1/chat/completions"),
    ],
)
def test_api_flag_and_models(fake: FakeProvider, args: tuple[str, ...], path: str) -> None:
    fake.push(answer("Hel", "lo"))
    assert prompt(fake, *args) == (0, b"Hello\n", b"")
    assert fake.requests[-1].path == path


def test_reasoning_summary_and_usage(fake: FakeProvider) -> None:
    """--reasoning shows the summary on stderr; --usage the counts from response.completed."""
    steps = answer("The answer.", reasoning=["Let me ", "think."], usage=None).steps
    fake.push(
        events(*steps[:-1], UsageStep(21, 8, cache_read_tokens=16, reasoning_tokens=5), steps[-1])
    )
    code, out, err = prompt(
        fake, "-m", "o3-pro", "--reasoning-effort", "high", "--reasoning", "--usage"
    )
    assert (code, out) == (0, b"The answer.\n")
    assert err.decode().splitlines() == [
        "Let me think.",
        "codey: o3-pro: 21 input tokens, 8 output tokens (5 reasoning), 16 read from the cache",
    ]
    assert fake.requests[-1].json["reasoning"] == {"effort": "high", "summary": "auto"}


def test_incomplete_is_the_finish_reason(fake: FakeProvider) -> None:
    fake.push(answer("cut", finish_reason="max_output_tokens", usage=(1, 2)))
    code, out, err = prompt(fake, "-m", "o3-pro", "--events")
    assert code == 0  # whole to the provider; stderr says it was cut
    assert err.startswith(b"codey: o3-pro: the answer was cut at the token limit")
    records = [json.loads(line) for line in out.decode().splitlines()]
    assert records == [
        {"type": "text", "text": "cut"},
        # The Responses API always says how many input tokens came from the cache,
        # and how many output tokens went to reasoning.
        {
            "type": "usage",
            "input_tokens": 1,
            "output_tokens": 2,
            "cache_read_tokens": 0,
            "reasoning_tokens": 0,
        },
        {"type": "finish", "reason": "max_output_tokens", "api": "responses"},
    ]


@pytest.mark.parametrize(
    "step",
    [
        ErrorEvent("server_error", "The model broke"),
        ErrorEvent("server_error", "The model broke", failed=True),
    ],
)
def test_an_error_after_text_is_a_broken_stream(fake: FakeProvider, step: ErrorEvent) -> None:
    """Exit 6, what arrived is kept, one error line with the provider's message."""
    fake.push(events(Text("Half an "), Text("answer"), step))
    code, out, err = prompt(fake, "-m", "o3-pro")
    assert code == 6
    assert out == b"Half an answer"
    line = one_error_line(err)
    assert "The model broke" in line
    assert len(fake.requests) == 1


def test_busy_before_text_is_retried(fake: FakeProvider) -> None:
    fake.push(error(503, "busy", retry_after=0), error(429, "slow", retry_after=0), answer("ok"))
    assert prompt(fake, "-m", "o3-pro") == (0, b"ok\n", b"")
    assert len(fake.requests) == 3


def test_busy_after_retries_is_status_4(fake: FakeProvider) -> None:
    fake.default = error(429, "slow down", retry_after=0)
    code, out, err = prompt(fake, "-m", "o3-pro")
    assert (code, out) == (4, b"")
    assert "429" in one_error_line(err)
    assert len(fake.requests) == 3  # the first try and two retries


def test_a_stall_is_a_timeout(fake: FakeProvider) -> None:
    fake.push(events(Text("ab"), Stall()))
    code, out, err = prompt(fake, "-m", "o3-pro", "--chunk-timeout", "0.3")
    assert (code, out) == (5, b"ab")
    assert "chunk_timeout" in one_error_line(err)


@pytest.mark.parametrize("model", ["claude-sonnet-4-0", "ollama:llama3.2"])
def test_a_provider_without_the_api_is_a_configuration_error(
    fake: FakeProvider, model: str
) -> None:
    code, out, err = prompt(fake, "-m", model, "--api", "responses")
    assert (code, out) == (3, b"")
    assert "has no Responses API" in one_error_line(err)
    assert fake.requests == []


def test_an_unknown_api_is_a_usage_error(fake: FakeProvider) -> None:
    code, _, err = prompt(fake, "-m", "gpt-4.1", "--api", "completions")
    assert code == 2
    assert b"invalid choice" in err


def test_the_api_values_agree() -> None:
    """The command line's --api choices are the library's api= values."""
    from codey import _providers
    from codey.cli import _config

    assert tuple(_providers.APIS) == _config.APIS


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_offers_the_apis(shell: str) -> None:
    result = run_cli("completion", shell, env=environment())
    assert result.returncode == 0
    script = result.stdout.decode()
    assert ("-l api " if shell == "fish" else "--api") in script
    assert "chat responses" in script
    assert "gpt-5.5-pro" in script  # a model only the Responses API serves
