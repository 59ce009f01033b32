"""The tests' environment cleaner knows every built-in provider's variables."""

from __future__ import annotations

import os

import pytest

from codey import _providers
from tests.conftest import _CLEARED_PREFIXES

VARIABLES = sorted(
    {
        variable
        for provider in _providers.snapshot()
        for variable in (
            provider.service.key_env,
            provider.service.base_url_env,
            provider.service.api_version_env,
        )
        if variable
    }
)


@pytest.mark.parametrize("variable", VARIABLES)
def test_every_provider_variable_is_cleared(variable: str) -> None:
    """A developer's own GROQ_API_KEY (or any provider's) never reaches a test."""
    assert variable.startswith(_CLEARED_PREFIXES)
    assert variable not in os.environ
