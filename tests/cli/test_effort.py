"""--effort and --reasoning-effort, a config file's effort, and what a model refuses
(exit status 3, nothing sent), against a fake that refuses what the real APIs refuse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from codey.testing import FakeProvider, answer
from tests.helpers import environment, one_error_line, run_cli


def write_config(home: Path, text: str) -> None:
    """The config file in $XDG_CONFIG_HOME (tmp_path, by the autouse fixture)."""
    path = home / "codey" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def prompt(fake: FakeProvider, *args: str) -> tuple[int, str, str]:
    fake.push(answer("ok"))
    result = run_cli("prompt", "hi", *args, env=environment(fake))
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def last_body(fake: FakeProvider) -> Any:
    return fake.requests[-1].json


class TestFlags:
    def test_effort_goes_in_each_providers_form(self, fake: FakeProvider) -> None:
        assert prompt(fake, "-m", "claude-sonnet-5", "--effort", "xhigh")[0] == 0
        assert last_body(fake)["thinking"] == {"type": "adaptive"}
        assert last_body(fake)["output_config"] == {"effort": "xhigh"}
        assert prompt(fake, "-m", "claude-haiku-4-5", "--effort", "medium")[0] == 0
        assert last_body(fake)["thinking"] == {"type": "enabled", "budget_tokens": 4096}
        assert prompt(fake, "-m", "o3", "--effort", "high", "--api", "chat")[0] == 0
        assert last_body(fake)["reasoning_effort"] == "high"
        assert prompt(fake, "-m", "o3", "--effort", "high", "--api", "responses")[0] == 0
        assert last_body(fake)["reasoning"]["effort"] == "high"

    def test_reasoning_effort_is_its_old_name(self, fake: FakeProvider) -> None:
        assert prompt(fake, "-m", "claude-sonnet-5", "--reasoning-effort", "low")[0] == 0
        assert last_body(fake)["output_config"] == {"effort": "low"}

    def test_both_flags_with_different_values_are_a_usage_error(self, fake: FakeProvider) -> None:
        status, _, stderr = prompt(
            fake, "-m", "o3", "--effort", "high", "--reasoning-effort", "low"
        )
        assert status == 2
        assert "--effort: not allowed with a different --reasoning-effort" in stderr
        assert fake.requests == []
        assert prompt(fake, "-m", "o3", "--effort", "low", "--reasoning-effort", "low")[0] == 0

    def test_a_value_outside_the_set_is_a_usage_error(self, fake: FakeProvider) -> None:
        status, _, stderr = prompt(fake, "-m", "o3", "--effort", "extreme")
        assert status == 2
        assert "invalid choice: 'extreme'" in stderr

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (
                ["-m", "claude-sonnet-5", "--effort", "none"],
                "claude-sonnet-5 takes effort low, medium, high, xhigh, max, not 'none'",
            ),
            (
                ["-m", "claude-sonnet-5", "--thinking-budget", "2048"],
                "claude-sonnet-5 thinks adaptively: set effort= (low, medium, high, xhigh, max) "
                "instead of thinking_budget=",
            ),
            (
                ["-m", "claude-opus-4-7", "--temperature", "0.5"],
                "claude-opus-4-7 takes no temperature",
            ),
            (["-m", "gpt-5.6-sol", "--effort", "minimal"], "gpt-5.6-sol takes effort none, low"),
        ],
    )
    def test_what_the_model_refuses_is_exit_status_3(
        self, fake: FakeProvider, args: list[str], message: str
    ) -> None:
        """Before, the thinking budget and the temperature went out and came back a 400."""
        status, stdout, stderr = prompt(fake, *args)
        assert (status, stdout) == (3, "")
        assert message in one_error_line(stderr.encode())
        assert fake.requests == []


class TestConfigFile:
    def test_effort_setting(self, fake: FakeProvider, tmp_path: Path) -> None:
        write_config(tmp_path, '[defaults]\neffort = "low"\n\n[models.o3]\neffort = "high"\n')
        assert prompt(fake, "-m", "o3", "--api", "chat")[0] == 0
        assert last_body(fake)["reasoning_effort"] == "high"
        assert prompt(fake, "-m", "claude-sonnet-5")[0] == 0
        assert last_body(fake)["output_config"] == {"effort": "low"}

    def test_the_old_name_and_the_new_are_one_setting(
        self, fake: FakeProvider, tmp_path: Path
    ) -> None:
        """A model's table overrides [defaults] whichever name each uses; a flag both."""
        write_config(
            tmp_path, '[defaults]\nreasoning_effort = "low"\n\n[models.o3]\neffort = "high"\n'
        )
        assert prompt(fake, "-m", "o3", "--api", "chat")[0] == 0
        assert last_body(fake)["reasoning_effort"] == "high"
        assert prompt(fake, "-m", "o3", "--api", "chat", "--reasoning-effort", "medium")[0] == 0
        assert last_body(fake)["reasoning_effort"] == "medium"

    def test_both_names_differing_in_one_table_is_a_config_error(
        self, fake: FakeProvider, tmp_path: Path
    ) -> None:
        write_config(tmp_path, '[defaults]\neffort = "low"\nreasoning_effort = "high"\n')
        status, _, stderr = prompt(fake, "-m", "o3")
        assert status == 3
        line = one_error_line(stderr.encode())
        assert "config.toml, line 3: effort='low' and reasoning_effort='high' differ" in line
        assert fake.requests == []

    def test_a_models_temperature_is_refused_when_that_model_is_used(
        self, fake: FakeProvider, tmp_path: Path
    ) -> None:
        """At use, not at load: the file stays good for the other models, and what a
        model takes can change without the file (``codey models --refresh``)."""
        write_config(tmp_path, '[models."claude-sonnet-5"]\ntemperature = 0.3\n')
        status, _, stderr = prompt(fake, "-m", "claude-sonnet-5")
        assert status == 3
        assert "claude-sonnet-5 takes no temperature" in one_error_line(stderr.encode())
        assert fake.requests == []
        assert prompt(fake, "-m", "gpt-4.1")[0] == 0
        assert "temperature" not in last_body(fake)

    def test_a_defaults_temperature_too(self, fake: FakeProvider, tmp_path: Path) -> None:
        write_config(tmp_path, "[defaults]\ntemperature = 0.3\n")
        assert prompt(fake, "-m", "o3")[0] == 3
        assert fake.requests == []  # refused by codey, not by the provider
        assert prompt(fake, "-m", "gpt-4.1")[0] == 0
        assert last_body(fake)["temperature"] == 0.3
