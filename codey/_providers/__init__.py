"""The provider registry: an explicit list, so adding one is one object and one line here."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Callable

from codey._errors import UnknownModelError
from codey._providers._base import Provider, Service
from codey._providers.anthropic import ANTHROPIC, Messages
from codey._providers.compatible import COMPATIBLE, XAI
from codey._providers.openai import OPENAI, ChatCompletions

__all__ = [
    "PROVIDERS",
    "WIRE_FORMATS",
    "ChatCompletions",
    "Messages",
    "Service",
    "build",
    "get",
    "register",
    "register_all",
    "resolve",
]

#: Every provider, in the order ``codey.providers()`` lists them.
PROVIDERS: list[Provider] = [ANTHROPIC, OPENAI, XAI, *COMPATIBLE]
_lock = threading.Lock()

#: The provider class for each wire format (a :class:`Service`'s ``kind``).
WIRE_FORMATS: dict[str, Callable[[Service], Provider]] = {
    "openai": ChatCompletions,
    "anthropic": Messages,
}


def build(service: Service) -> Provider:
    """The provider that speaks ``service.kind`` for ``service``."""
    try:
        return WIRE_FORMATS[service.kind](service)
    except KeyError:
        raise ValueError(
            f"unknown wire format {service.kind!r}; known: {', '.join(WIRE_FORMATS)}"
        ) from None


def get(name: str) -> Provider:
    for provider in PROVIDERS:
        if provider.name == name:
            return provider
    raise UnknownModelError(
        f"unknown provider {name!r}; known providers: {', '.join(p.name for p in PROVIDERS)}",
        model=name,
    )


def register(provider: Provider) -> None:
    """Add a provider (or replace the one of the same name)."""
    with _lock:
        PROVIDERS[:] = [p for p in PROVIDERS if p.name != provider.name] + [provider]


def register_all(providers: Sequence[Provider]) -> Callable[[], None]:
    """Add providers (replacing those of the same names); return what undoes exactly that.

    The undo removes only what was added here and puts back what it replaced,
    so a provider another thread registered meanwhile stays.
    """
    with _lock:
        added = list(providers)
        names = {provider.name for provider in added}
        replaced = [(i, p) for i, p in enumerate(PROVIDERS) if p.name in names]
        PROVIDERS[:] = [p for p in PROVIDERS if p.name not in names] + added

    def undo() -> None:
        with _lock:
            kept = [p for p in PROVIDERS if not any(p is mine for mine in added)]
            for index, provider in replaced:
                if all(p.name != provider.name for p in kept):
                    kept.insert(min(index, len(kept)), provider)
            PROVIDERS[:] = kept

    return undo


def resolve(model: str) -> tuple[Provider, str]:
    """The provider of ``model`` and the name to send: ``provider:model`` or a known prefix."""
    head, sep, rest = model.partition(":")
    if sep:
        for provider in PROVIDERS:
            if provider.name == head:
                if not rest:
                    raise UnknownModelError(f"no model named after {head!r}", model=model)
                return provider, rest
    for provider in PROVIDERS:
        if provider.prefixes and model.startswith(provider.prefixes):
            return provider, model
    raise UnknownModelError(
        f"unknown model {model!r}: name a known model (see `codey models`) or use "
        f"PROVIDER:MODEL with a provider from: {', '.join(p.name for p in PROVIDERS)}",
        model=model,
    )
