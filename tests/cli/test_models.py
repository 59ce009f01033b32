"""``codey models``: current models, ``--all``, ``--json``, ``--refresh`` and ``--check``
against the fake provider's ``GET /models``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import attrs
import pytest

import codey
from codey import _models
from codey.cli import main
from codey.testing import FAKE_API_KEY, FakeProvider
from tests.helpers import environment, run_cli


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write_config(tmp_path: Path, text: str) -> Path:
    """The config file where the clean environment's ``$XDG_CONFIG_HOME`` points."""
    path = Path(os.environ["XDG_CONFIG_HOME"]) / "codey" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


class TestListing:
    def test_current_models_one_a_line(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, err = run(capsys, "models")
        assert (code, err) == (0, "")
        names = out.splitlines()
        assert names == codey.models()
        assert {"grok-4.3", "claude-sonnet-5", "gpt-5.6-sol"} <= set(names)
        assert not {"grok-3", "claude-sonnet-4-0", "claude-opus-4-1"} & set(names)

    def test_all_marks_legacy_and_retired(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, err = run(capsys, "models", "--all")
        assert (code, err) == (0, "")
        lines = out.splitlines()
        assert "grok-3  (retired 2026-05-15; replaced by grok-4.3, which answers for it)" in lines
        assert (
            "claude-sonnet-4-0  (retired 2026-06-15; replaced by claude-sonnet-4-6; "
            "the provider refuses it)"
        ) in lines
        assert "gpt-4o  (legacy)" in lines
        assert "grok-4.3" in lines  # a current one, unmarked
        assert [line.split()[0] for line in lines] == codey.models(all=True)

    def test_json_prints_the_rows(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, err = run(capsys, "models", "--json")
        assert (code, err) == (0, "")
        rows = [json.loads(line) for line in out.splitlines()]
        fields = [field.name for field in attrs.fields(codey.ModelInfo)]
        assert all(list(row) == fields for row in rows)
        assert {row["status"] for row in rows} == {"current"}
        grok = next(row for row in rows if row["name"] == "grok-4.3")
        assert grok == json.loads(json.dumps(attrs.asdict(codey.model_info("grok-4.3"))))
        code, out, err = run(capsys, "models", "--json", "--all")
        rows = [json.loads(line) for line in out.splitlines()]
        old = next(row for row in rows if row["name"] == "grok-3")
        assert (old["status"], old["replacement"]) == ("retired", "grok-4.3")


class TestRefresh:
    def test_refresh_asks_the_fake_and_lists_its_models(
        self, fake_env: FakeProvider, capsys: pytest.CaptureFixture[str]
    ) -> None:
        fake_env.models = ["grok-9", {"id": "claude-next-7", "max_input_tokens": 2_000_000}]
        code, out, err = run(capsys, "models", "--refresh")
        assert code == 0, err
        assert "codey: anthropic: 2 models\n" in err
        assert "codey: openai: 2 models\n" in err
        assert "codey: xai: 2 models\n" in err
        assert "fetched just now" in err
        assert FAKE_API_KEY not in out + err
        names = out.splitlines()
        assert "grok-9" in names  # the xai list: its prefix claims it
        assert "claude-next-7" in names
        assert codey.model_info("claude-next-7").context_window == 2_000_000
        assert sorted(r.path for r in fake_env.requests) == [
            "/anthropic/v1/models?limit=1000",
            "/openai/v1/models",
            "/xai/v1/models",
        ]
        # Later listings read the cache, and say how old it is.
        code, out, err = run(capsys, "models")
        assert code == 0
        assert "grok-9" in out.splitlines()
        assert err.startswith("codey: the model lists of anthropic, openai, xai were fetched ")
        assert _models.cache_path() in err

    def test_a_config_file_providers_list_too(
        self,
        fake: FakeProvider,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        write_config(
            tmp_path,
            "[providers.local]\n"
            'kind = "openai"\n'
            f'base_url = "{fake.base_url("openai")}"\n'
            'models = ["llama"]\n',
        )
        fake.models = ["llama", "qwen-big"]
        code, out, err = run(capsys, "models", "--refresh")
        assert code == 0, err
        assert "codey: local: 2 models\n" in err
        assert {"local:llama", "local:qwen-big"} <= set(out.splitlines())

    def test_no_key_no_refresh(self, capsys: pytest.CaptureFixture[str]) -> None:
        code, out, err = run(capsys, "models", "--refresh")
        assert (code, out) == (3, "")
        assert err.startswith("codey: error: no provider's key is set")
        assert not os.path.exists(_models.cache_path())

    def test_a_failing_provider_sets_the_exit_status(
        self,
        fake_env: FakeProvider,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("XAI_BASE_URL", "ftp://nowhere")
        code, out, err = run(capsys, "models", "--refresh")
        assert code == 1  # a ValueError for the base URL; the others still cached
        assert "codey: error: xai: base URL must start with http:// or https://" in err
        assert "codey: openai: 1 model\n" in err
        assert "grok-4.3" in out.splitlines()


class TestCheck:
    def test_a_retired_default_is_reported_with_its_replacement(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("CODEY_MODEL", "grok-3")
        code, out, err = run(capsys, "models", "--check")
        assert (code, err) == (1, "")
        assert out == (
            "$CODEY_MODEL: grok-3 is retired 2026-05-15; replaced by grok-4.3, "
            "which answers for it\n"
        )

    def test_config_file_and_chat_log(
        self,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        config = write_config(
            tmp_path,
            'model = "sonnet"\n'
            "[aliases]\n"
            'sonnet = "claude-sonnet-4-0"\n'
            'fast = "grok-4.3"\n'
            '[models."gpt-9"]\n'
            "temperature = 0.2\n"
            '[models."llama3.2"]\n'
            "temperature = 0.2\n",
        )
        log = tmp_path / "chat.md"
        log.write_text("---\nmodel: grok-4-0709\n---\nhello\n", encoding="utf-8")
        code, out, err = run(capsys, "models", "--check", str(log))
        assert (code, err) == (1, "")
        assert out.splitlines() == [
            f"{config}: model: sonnet is retired 2026-06-15; replaced by claude-sonnet-4-6; "
            "the provider refuses it",
            f"{config}: [aliases] sonnet: claude-sonnet-4-0 is retired 2026-06-15; "
            "replaced by claude-sonnet-4-6; the provider refuses it",
            f"{config}: [models.gpt-9]: gpt-9 is not in codey's model table (openai may "
            "still serve it; codey models --refresh asks the providers)",
            f"{config}: [models.llama3.2]: llama3.2 is unknown: no provider takes it "
            "(see codey models, codey providers)",
            f"{log}: front matter: grok-4-0709 is retired 2026-05-15; replaced by grok-4.3, "
            "which answers for it",
        ]

    def test_all_current_is_status_0(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        write_config(tmp_path, 'model = "claude-sonnet-5"\n[aliases]\nfast = "gpt-5.5"\n')
        monkeypatch.setenv("CODEY_MODEL", "grok-4.3")
        code, out, err = run(capsys, "models", "--check")
        assert (code, out, err) == (0, "every model named is current (3 names)\n", "")

    def test_a_refreshed_list_makes_a_name_known(
        self,
        fake_env: FakeProvider,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("CODEY_MODEL", "gpt-9")
        code, out, _ = run(capsys, "models", "--check")
        assert code == 1
        assert "gpt-9 is not in codey's model table" in out
        fake_env.models = ["gpt-9"]
        code, out, err = run(capsys, "models", "--refresh", "--check")
        assert (code, out) == (0, "every model named is current (1 name)\n"), err

    def test_as_a_process(self, fake: FakeProvider, tmp_path: Path) -> None:
        env = environment(CODEY_MODEL="claude-opus-4-1")
        result = run_cli("models", "--check", env=env)
        assert result.returncode == 1
        assert b"claude-opus-4-1 is retired 2026-08-05; replaced by claude-opus-4-8" in (
            result.stdout
        )
