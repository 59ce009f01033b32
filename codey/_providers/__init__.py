"""The provider registry: an explicit list, so adding one is one file and one line here."""

from __future__ import annotations

from typing import cast

from codey._errors import UnknownModelError
from codey._providers import anthropic, openai, xai
from codey._providers._base import Provider

#: Every provider, in the order ``codey.providers()`` lists them.
PROVIDERS: tuple[Provider, ...] = cast("tuple[Provider, ...]", (anthropic, openai, xai))
_BY_NAME = {p.name: p for p in PROVIDERS}


def get(name: str) -> Provider:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnknownModelError(
            f"unknown provider {name!r}; known providers: {', '.join(_BY_NAME)}", model=name
        ) from None


def resolve(model: str) -> tuple[Provider, str]:
    """The provider of ``model`` and the name to send: ``provider:model`` or a known prefix."""
    head, sep, rest = model.partition(":")
    if sep and head in _BY_NAME:
        if not rest:
            raise UnknownModelError(f"no model named after {head!r}", model=model)
        return _BY_NAME[head], rest
    for provider in PROVIDERS:
        if model.startswith(provider.prefixes):
            return provider, model
    raise UnknownModelError(
        f"unknown model {model!r}: name a known model (see `codey models`) or use "
        f"PROVIDER:MODEL with a provider from: {', '.join(_BY_NAME)}",
        model=model,
    )
