"""Today's models on the command line: the default model, a retired model's line on
standard error, and the model the server says answered (stderr, --events, --usage)."""

from __future__ import annotations

import json

from codey.testing import Close, FakeProvider, Text, answer, error, events
from tests.helpers import environment, one_error_line, run_cli

RETIRED = (
    "codey: grok-3 was retired on 2026-05-15; its replacement is grok-4.3, "
    "which xai answers in its place\n"
)
SWAPPED = (
    "codey: grok-3 was answered by grok-4.3 "
    "(the server says so: the answer and its price are grok-4.3's)\n"
)


def only_xai(fake: FakeProvider) -> dict[str, str]:
    """The environment with nothing but xAI's key (and the fake's URL for it)."""
    env = environment()
    env.update(XAI_API_KEY="xai-key", XAI_BASE_URL=fake.base_url("xai"))
    return env


class TestDefault:
    def test_prompt_with_only_an_xai_key(self, fake: FakeProvider) -> None:
        """``codey prompt hi`` does what the original did, on xAI's current model."""
        fake.push(answer("Hello"))
        result = run_cli("prompt", "hi", env=only_xai(fake))
        assert (result.returncode, result.stdout, result.stderr) == (0, b"Hello\n", b"")
        assert fake.requests[-1].path == "/xai/v1/responses"  # the table's API for grok-4.3
        assert fake.requests[-1].json["model"] == "grok-4.3"

    def test_config_names_it(self, fake: FakeProvider) -> None:
        result = run_cli("config", env=only_xai(fake))
        assert result.returncode == 0
        assert "grok-4.3" in result.stdout.decode()
        assert "grok-3" not in result.stdout.decode()


class TestRetired:
    def test_one_line_and_the_answer(self, fake: FakeProvider) -> None:
        fake.push(answer("ok"))
        result = run_cli("prompt", "hi", "-m", "grok-3", env=environment(fake))
        assert (result.returncode, result.stdout) == (0, b"ok\n")
        assert result.stderr.decode() == RETIRED
        assert fake.requests[-1].json["model"] == "grok-3"

    def test_refused(self, fake: FakeProvider) -> None:
        fake.push(error(404, "model: claude-sonnet-4-0"))
        result = run_cli("prompt", "hi", "-m", "claude-sonnet-4-0", env=environment(fake))
        assert result.returncode == 3
        assert one_error_line(result.stderr) == (
            "codey: error: anthropic returned HTTP 404: model: claude-sonnet-4-0 "
            "(claude-sonnet-4-0 was retired on 2026-06-15; its replacement is claude-sonnet-4-6)\n"
        )


class TestServed:
    def test_a_swap_is_one_line(self, fake: FakeProvider) -> None:
        fake.redirects = {"grok-3": "grok-4.3"}
        fake.push(answer("ok"))
        result = run_cli("prompt", "hi", "-m", "grok-3", env=environment(fake))
        assert (result.returncode, result.stdout) == (0, b"ok\n")
        assert result.stderr.decode() == RETIRED + SWAPPED

    def test_a_current_model_swapped(self, fake: FakeProvider) -> None:
        fake.redirects = {"gpt-4.1": "gpt-5.5"}
        fake.push(answer("ok"))
        result = run_cli("prompt", "hi", "-m", "gpt-4.1", env=environment(fake))
        assert result.stderr.decode() == (
            "codey: gpt-4.1 was answered by gpt-5.5 "
            "(the server says so: the answer and its price are gpt-5.5's)\n"
        )

    def test_events_record_both(self, fake: FakeProvider) -> None:
        fake.redirects = {"gpt-4.1": "gpt-5.5"}
        fake.push(answer("ok"))
        result = run_cli("prompt", "hi", "-m", "gpt-4.1", "--events", env=environment(fake))
        records = [json.loads(line) for line in result.stdout.decode().splitlines()]
        assert [record["type"] for record in records] == ["text", "usage", "model", "finish"]
        assert records[2] == {"type": "model", "asked": "gpt-4.1", "served": "gpt-5.5"}
        # A dated snapshot of the model asked for is that model: nothing to say.
        fake.redirects = {"gpt-4.1": "gpt-4.1-2025-04-14"}
        fake.push(answer("ok"))
        result = run_cli("prompt", "hi", "-m", "gpt-4.1", "--events", env=environment(fake))
        assert result.stderr == b""
        assert '"type":"model"' not in result.stdout.decode()

    def test_events_record_before_an_error(self, fake: FakeProvider) -> None:
        fake.redirects = {"gpt-4.1": "gpt-5.5"}
        fake.push(events(Text("par"), Close()))
        result = run_cli("prompt", "hi", "-m", "gpt-4.1", "--events", env=environment(fake))
        records = [json.loads(line) for line in result.stdout.decode().splitlines()]
        assert [record["type"] for record in records] == ["text", "model", "error"]

    def test_several_models(self, fake: FakeProvider) -> None:
        fake.redirects = {"gpt-4.1": "gpt-5.5"}
        fake.push(answer("a"), answer("b"))
        args = ["prompt", "hi", "-m", "gpt-4.1", "-m", "o3", "--events"]
        result = run_cli(*args, env=environment(fake))
        records = [json.loads(line) for line in result.stdout.decode().splitlines()]
        swapped = [record for record in records if record["type"] == "model"]
        assert swapped == [
            {"model": "gpt-4.1", "type": "model", "asked": "gpt-4.1", "served": "gpt-5.5"}
        ]
        assert "codey: gpt-4.1 was answered by gpt-5.5" in result.stderr.decode()

    def test_usage_names_the_served_model(self, fake: FakeProvider) -> None:
        fake.redirects = {"gpt-4.1": "gpt-5.5"}
        fake.push(answer("ok"))
        result = run_cli("prompt", "hi", "-m", "gpt-4.1", "--usage", env=environment(fake))
        assert result.stderr.decode().splitlines()[-1] == (
            "codey: gpt-5.5: 10 input tokens, 5 output tokens"
        )
        fake.redirects = {}
        fake.push(answer("ok"))
        result = run_cli("prompt", "hi", "-m", "gpt-4.1", "--usage", env=environment(fake))
        assert result.stderr.decode() == "codey: gpt-4.1: 10 input tokens, 5 output tokens\n"
