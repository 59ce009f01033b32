"""What every part of the fake provider shares: the providers it speaks for, the
model it names when a request names none, compact JSON and status phrases."""

from __future__ import annotations

import http
import json as _json

#: The API key :meth:`FakeProvider.env` sets for every provider.
FAKE_API_KEY = "sk-fake-key"

_PROVIDERS = ("openai", "xai", "anthropic")
_DEFAULT_MODEL = "fake-model"


def _unknown_provider(provider: str) -> ValueError:
    return ValueError(f"provider must be one of {', '.join(_PROVIDERS)}, not {provider!r}")


def _phrase(status: int) -> str:
    if status == 529:
        return "Overloaded"
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _dumps(obj: object) -> str:
    return _json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
