"""The model table: its rows, ``codey.model_info``, ``codey.models`` and the cache
``codey models --refresh`` fills from the providers' own lists (the fake's)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

import codey
from codey import _models, _providers, _refresh
from codey.testing import FAKE_API_KEY, FakeProvider
from tests.helpers import ROOT, scripted_server

DATED_SOURCE = re.compile(r"\b20\d\d-\d\d(-\d\d)?\b")
WIRES = {"chat", "responses", "messages"}
EFFORTS = {"none", "minimal", "low", "medium", "high", "xhigh", "max"}


def claude(name: str, **fields: object) -> dict[str, object]:
    """An entry of Anthropic's model list, as the Models API gives it."""
    return {"id": name, "display_name": name, **fields}


class TestRows:
    """codey/models.json: every row complete enough to act on, with a dated source."""

    def test_every_row_has_a_dated_source_and_valid_values(self) -> None:
        rows = _models.shipped()
        assert len(rows) > 50
        for info in rows:
            assert DATED_SOURCE.search(info.source or ""), info.name
            assert info.api in WIRES, info.name
            assert set(info.apis or ()) <= WIRES, info.name
            assert info.api in (info.apis or ()), info.name
            assert set(info.efforts or ()) <= EFFORTS, info.name
            assert info.thinking in (None, "adaptive", "budget", "none"), info.name
            assert info.provider in codey.providers(), info.name

    def test_each_name_belongs_to_one_row(self) -> None:
        seen: dict[tuple[str, str], str] = {}
        for info in _models.shipped():
            service = _models.same_service(info.provider)[0]
            for name in info.names():
                assert (service, name) not in seen, (name, seen.get((service, name)))
                seen[service, name] = info.name

    def test_retired_rows_name_a_served_replacement(self) -> None:
        rows = {info.name: info for info in _models.shipped()}
        retired = [info for info in rows.values() if info.retired]
        assert {"grok-3", "grok-4-0709", "claude-sonnet-4-0", "claude-opus-4-0"} <= {
            info.name for info in retired
        }
        assert {"claude-opus-4-1", "claude-3-7-sonnet-latest", "claude-3-5-haiku-latest"} <= {
            info.name for info in retired
        }
        for info in retired:
            if info.replacement is not None:
                assert not rows[info.replacement].retired, info.name
        assert rows["grok-3"].replacement == "grok-4.3"
        assert rows["grok-3"].retired_on == "2026-05-15"
        assert rows["grok-3"].redirects is True
        assert rows["claude-sonnet-4-0"].redirects is False

    def test_what_breaks_codey_today_is_in_the_rows(self) -> None:
        """The issue's facts: adaptive thinking and no sampling for Sonnet 5; the
        effort values of gpt-5.6 and grok-4.3."""
        sonnet = codey.model_info("claude-sonnet-5")
        assert (sonnet.thinking, sonnet.sampling) == ("adaptive", ())
        assert sonnet.efforts == ("low", "medium", "high", "xhigh", "max")
        assert "minimal" not in (codey.model_info("gpt-5.6-sol").efforts or ())
        assert codey.model_info("grok-4.3").efforts == ("none", "low", "medium", "high")
        assert codey.model_info("grok-4.3").context_window == 1_000_000

    def test_the_table_ships_with_the_package(self) -> None:
        assert "models.json" in (ROOT / "setup.cfg").read_text(encoding="utf-8")
        assert "codey/models.json" in (ROOT / "MANIFEST.in").read_text(encoding="utf-8")
        shipped = json.loads((ROOT / "codey" / "models.json").read_text(encoding="utf-8"))
        assert len(shipped["models"]) == len(_models.shipped())


class TestModelInfo:
    def test_by_name_alias_and_snapshot(self) -> None:
        assert codey.model_info("grok-4").name == "grok-4-0709"  # an alias
        assert codey.model_info("claude-haiku-4-5-20251001").name == "claude-haiku-4-5"
        assert codey.model_info("gpt-4.1-2025-04-14").name == "gpt-4.1"  # a dated snapshot
        info = codey.model_info("claude-opus-4-0")
        assert (info.status, info.replacement) == ("retired", "claude-opus-4-8")

    def test_a_provider_prefix_names_the_same_row(self) -> None:
        assert codey.model_info("openai-responses:gpt-5.5") == codey.model_info("gpt-5.5")
        assert codey.model_info("ollama:llama3.2").provider == "ollama"

    def test_a_name_not_in_the_table_has_its_provider_and_nothing_else(self) -> None:
        info = codey.model_info("openai:my-finetune")
        assert (info.name, info.provider, info.status, info.api) == (
            "my-finetune",
            "openai",
            "unknown",
            "chat",
        )
        assert not info.known
        assert info.efforts is None
        assert info.context_window is None
        assert info.sampling is None
        assert codey.model_info("gpt-7").status == "unknown"  # a known prefix routes it

    def test_a_name_no_provider_takes_is_an_error(self) -> None:
        with pytest.raises(codey.UnknownModelError, match=r"llama3\.2"):
            codey.model_info("llama3.2")

    def test_it_is_a_frozen_attrs_value(self) -> None:
        info = codey.model_info("grok-4.3")
        assert isinstance(info, codey.ModelInfo)
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            info.name = "x"  # type: ignore[misc]
        assert {"model_info", "ModelInfo"} <= set(codey.__all__)

    def test_import_codey_does_not_load_the_table(self) -> None:
        code = "import codey, sys; print('codey._models' in sys.modules)"
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
        )
        assert out.stdout.strip() == "False"


class TestListing:
    def test_current_models_by_default_all_with_all(self) -> None:
        names = codey.models()
        assert {"grok-4.3", "claude-sonnet-5", "gpt-5.6-sol", "gpt-5.5-pro"} <= set(names)
        assert not {"grok-3", "claude-sonnet-4-0", "gpt-4o"} & set(names)
        everything = codey.models(all=True)
        assert {"grok-3", "claude-sonnet-4-0", "gpt-4o", "codex-mini-latest"} <= set(everything)
        assert len(everything) == len(set(everything))
        assert names == [name for name in everything if name in names]  # same order

    def test_built_in_lists_come_from_the_table(self) -> None:
        for provider in _providers.BUILT_IN:
            current = [
                info.name
                for info in _models.shipped()
                if info.provider == provider.name and info.status == "current"
            ]
            assert [name.split(":", 1)[-1] for name in provider.models] == current

    def test_responses_only_models_go_to_the_responses_api(self) -> None:
        assert _providers.resolve("gpt-5.5-pro")[0].name == "openai-responses"
        assert _providers.resolve("o3-pro-2025-06-10")[0].name == "openai-responses"
        assert _providers.resolve("gpt-5.5")[0].name == "openai"


@pytest.fixture
def cache(tmp_path: Path) -> str:
    return _models.cache_path()


class TestRefresh:
    """``GET /models`` of each provider whose key is set, cached and merged."""

    def test_each_provider_is_asked_in_its_own_format(
        self, fake_env: FakeProvider, cache: str
    ) -> None:
        fake_env.models = ["gpt-9", claude("claude-sonnet-5", max_input_tokens=1_000_000)]
        providers = _refresh.targets()
        assert [p.name for p in providers] == ["anthropic", "openai", "xai"]
        results = _refresh.refresh(providers)
        assert results == [("anthropic", 2), ("openai", 2), ("xai", 2)]
        asked = {request.path: request for request in fake_env.requests}
        anthropic = asked["/anthropic/v1/models?limit=1000"]
        assert anthropic.headers["x-api-key"] == FAKE_API_KEY
        assert anthropic.headers["anthropic-version"]
        assert asked["/openai/v1/models"].headers["Authorization"] == f"Bearer {FAKE_API_KEY}"
        assert "/xai/v1/models" in asked
        with open(cache, encoding="utf-8") as file:
            stored = json.load(file)["providers"]
        assert set(stored) == {"anthropic", "openai", "xai"}
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", stored["openai"]["fetched_at"])
        assert FAKE_API_KEY not in Path(cache).read_text(encoding="utf-8")

    def test_the_providers_word_wins_where_it_speaks(
        self, fake_env: FakeProvider, cache: str
    ) -> None:
        capabilities = {
            "image_input": {"supported": True},
            "pdf_input": {"supported": False},
            "structured_outputs": {"supported": False},
            "thinking": {"supported": True, "types": {"adaptive": {"supported": True}}},
            "effort": {"supported": True, "low": {"supported": True}, "max": {"supported": False}},
        }
        fake_env.models = [
            claude(
                "claude-sonnet-5",
                max_input_tokens=1_000_000,
                max_tokens=128_000,
                capabilities=capabilities,
            ),
            claude("claude-new-6"),
        ]
        before = codey.model_info("claude-sonnet-5")
        assert before.context_window is None
        assert before.fetched is None
        _refresh.refresh([_providers.get("anthropic")])
        after = codey.model_info("claude-sonnet-5")
        assert (after.context_window, after.max_output) == (1_000_000, 128_000)
        assert after.attachments == ("image/png", "image/jpeg", "image/gif", "image/webp")
        assert (after.structured_output, after.efforts) == (False, ("low",))
        assert after.sampling == ()
        assert after.source == before.source
        assert after.fetched is not None
        new = codey.model_info("claude-new-6")  # the fake's defaults: a model that does all
        assert (new.status, new.provider, new.api, new.thinking) == (
            "current",
            "anthropic",
            "messages",
            "adaptive",
        )
        assert new.source is not None
        assert new.source.startswith("GET http://127.0.0.1:")
        assert "claude-new-6" in codey.models()

    def test_a_retired_model_the_provider_still_lists_is_legacy(
        self, fake_env: FakeProvider, cache: str
    ) -> None:
        fake_env.models = ["claude-opus-4-1-20250805"]  # by its snapshot
        _refresh.refresh([_providers.get("anthropic")])
        info = codey.model_info("claude-opus-4-1")
        assert (info.status, info.replacement) == ("legacy", "claude-opus-4-8")

    def test_anthropic_lists_are_read_page_by_page(
        self, fake_env: FakeProvider, cache: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(_refresh, "_PAGE", 2)
        fake_env.models = [f"claude-page-{n}" for n in range(5)]
        _url, entries = _refresh.fetch(_providers.get("anthropic"))
        assert [entry["id"] for entry in entries] == [f"claude-page-{n}" for n in range(5)]
        assert [r.path for r in fake_env.requests] == [
            "/anthropic/v1/models?limit=2",
            "/anthropic/v1/models?limit=2&after_id=claude-page-1",
            "/anthropic/v1/models?limit=2&after_id=claude-page-3",
        ]

    def test_one_providers_failure_keeps_the_others(
        self, fake_env: FakeProvider, cache: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        body = b'{"error":{"type":"authentication_error","message":"invalid x-api-key"}}'
        refused = (
            b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
        )
        fake_env.models = ["gpt-9"]
        with scripted_server([refused]) as url:
            monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
            results = dict(_refresh.refresh(_refresh.targets()))
        assert isinstance(results["anthropic"], codey.AuthenticationError)
        assert FAKE_API_KEY not in str(results["anthropic"])
        assert results["openai"] == 1
        assert results["xai"] == 1
        assert set(_models.read_cache()) == {"openai", "xai"}

    def test_only_providers_with_a_key_are_asked(self, monkeypatch: pytest.MonkeyPatch) -> None:
        assert _refresh.targets() == []
        monkeypatch.setenv("XAI_API_KEY", "xai-" + "k" * 20)
        assert [p.name for p in _refresh.targets()] == ["xai"]  # not xai-responses too
        monkeypatch.setenv("OLLAMA_BASE_URL", "http://127.0.0.1:9/v1")  # keyless, set up
        assert [p.name for p in _refresh.targets()] == ["xai", "ollama"]

    def test_a_broken_cache_names_its_file(self, cache: str) -> None:
        os.makedirs(os.path.dirname(cache))
        Path(cache).write_text("{not json", encoding="utf-8")
        with pytest.raises(ValueError, match=re.escape(cache)):
            codey.model_info("grok-4.3")

    def test_a_refresh_replaces_a_broken_cache(self, fake_env: FakeProvider, cache: str) -> None:
        os.makedirs(os.path.dirname(cache))
        Path(cache).write_text("{not json", encoding="utf-8")
        fake_env.models = ["grok-9"]
        assert _refresh.refresh([_providers.get("xai")]) == [("xai", 1)]
        assert codey.model_info("grok-9").fetched is not None

    def test_the_cache_lives_under_xdg_cache_home(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere")
        assert _models.cache_path() == os.path.join("/somewhere", "codey", "models.json")
        monkeypatch.delenv("XDG_CACHE_HOME")
        assert _models.cache_path() == os.path.expanduser("~/.cache/codey/models.json")
