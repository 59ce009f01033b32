"""The provider registry: an explicit list, so adding one is one object and one line here."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Callable

from codey._errors import UnknownModelError
from codey._providers._base import Provider, Service
from codey._providers.anthropic import ANTHROPIC, Messages
from codey._providers.compatible import AZURE, COMPATIBLE, XAI
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
    "snapshot",
]

_BUILT_IN: tuple[Provider, ...] = (ANTHROPIC, OPENAI, XAI, AZURE, *COMPATIBLE)
#: Every provider, in the order ``codey.providers()`` lists them. Read it
#: through :func:`snapshot`; change it only through :func:`register_all`.
PROVIDERS: list[Provider] = list(_BUILT_IN)
_layers: list[list[Provider]] = []  # register_all's, oldest first
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


def snapshot() -> tuple[Provider, ...]:
    """The providers as they are now, safe to iterate while another thread registers."""
    with _lock:
        return tuple(PROVIDERS)


def get(name: str) -> Provider:
    for provider in snapshot():
        if provider.name == name:
            return provider
    raise UnknownModelError(
        f"unknown provider {name!r}; known providers: {', '.join(p.name for p in snapshot())}",
        model=name,
    )


def register(provider: Provider) -> Callable[[], None]:
    """Add a provider (or replace the one of the same name); return its undo."""
    return register_all([provider])


def register_all(providers: Sequence[Provider]) -> Callable[[], None]:
    """Add providers (replacing those of the same names); return what undoes exactly that.

    Each call is a layer over the built-ins, and ``PROVIDERS`` is rebuilt
    from the layers still in place: an undo takes away its own layer only,
    so what other threads registered meanwhile, before or after, stays as
    they left it, whatever order the undos come in.
    """
    layer = list(providers)
    with _lock:
        _layers.append(layer)
        _rebuild()

    def undo() -> None:
        with _lock:
            if any(mine is layer for mine in _layers):
                _layers[:] = [other for other in _layers if other is not layer]
                _rebuild()

    return undo


def _rebuild() -> None:
    # Called with _lock held.
    result = list(_BUILT_IN)
    for layer in _layers:
        names = {provider.name for provider in layer}
        result = [p for p in result if p.name not in names] + layer
    PROVIDERS[:] = result


def resolve(model: str) -> tuple[Provider, str]:
    """The provider of ``model`` and the name to send: ``provider:model`` or a known prefix."""
    providers = snapshot()
    head, sep, rest = model.partition(":")
    if sep:
        for provider in providers:
            if provider.name == head:
                if not rest:
                    raise UnknownModelError(f"no model named after {head!r}", model=model)
                return provider, rest
    for provider in providers:
        if provider.prefixes and model.startswith(provider.prefixes):
            return provider, model
    raise UnknownModelError(
        f"unknown model {model!r}: name a known model (see `codey models`) or use "
        f"PROVIDER:MODEL with a provider from: {', '.join(p.name for p in providers)}",
        model=model,
    )
