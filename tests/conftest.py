"""Shared fixtures: a clean environment and a check that no codey thread leaks."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import pytest

from codey.testing import FakeProvider

#: A distinctive fake key: no error message, repr or log line may ever contain it.
FAKE_KEY = "sk-test-SECRET-0123456789abcdef"


def _provider_prefixes() -> tuple[str, ...]:
    """The first word of every variable a built-in provider reads (``GROQ_``...)."""
    from codey import _providers

    names = set()
    for provider in _providers.snapshot():
        service = provider.service
        for variable in (service.key_env, service.base_url_env, service.api_version_env):
            if variable:
                names.add(variable.split("_")[0] + "_")
    return tuple(sorted(names))


_CLEARED_PREFIXES = (*_provider_prefixes(), "CODEY_")
_CLEARED = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "NO_COLOR")


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    """Every test starts with no provider keys, base URLs, proxies or codey settings."""
    for name in list(os.environ):
        if name.startswith(_CLEARED_PREFIXES) or name.upper() in _CLEARED:
            monkeypatch.delenv(name, raising=False)
    # Never read the developer's own config file.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    # Nor write to their chat history.
    monkeypatch.setenv("XDG_STATE_HOME", os.path.join(str(tmp_path), "state"))
    # Nor read the model lists they cached (codey models --refresh).
    monkeypatch.setenv("XDG_CACHE_HOME", os.path.join(str(tmp_path), "cache"))


def _codey_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("codey-")]


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves a codey worker thread running."""
    before = set(_codey_threads())
    yield
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        leaked = [t for t in _codey_threads() if t not in before and t.is_alive()]
        if not leaked:
            return
        time.sleep(0.01)
    pytest.fail(f"codey threads still running after the test: {leaked}")


@pytest.fixture
def fake() -> Iterator[FakeProvider]:
    """A fake provider on 127.0.0.1, closed after the test."""
    with FakeProvider() as server:
        yield server


@pytest.fixture
def fake_env(fake: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> FakeProvider:
    """The fake provider, with its base URLs and keys in the environment."""
    for name, value in fake.env().items():
        monkeypatch.setenv(name, value)
    return fake
