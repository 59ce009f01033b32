"""The provider registry: an explicit list, so adding one is one object and one line here."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Callable, Optional

from codey import _options, _secrets
from codey._errors import UnknownModelError, UnsupportedOptionError
from codey._models import same_service, with_table_models
from codey._providers._base import Provider, Service
from codey._providers.anthropic import ANTHROPIC, Messages
from codey._providers.compatible import AZURE, COMPATIBLE, XAI
from codey._providers.openai import OPENAI, ChatCompletions
from codey._providers.responses import OPENAI_RESPONSES, XAI_RESPONSES, Responses

__all__ = [
    "APIS",
    "BUILT_IN",
    "PROVIDERS",
    "WIRE_FORMATS",
    "ChatCompletions",
    "Messages",
    "Responses",
    "Service",
    "build",
    "for_api",
    "get",
    "register",
    "register_all",
    "resolve",
    "snapshot",
]

#: The providers codey ships (a config file may add others or replace them).
BUILT_IN: tuple[Provider, ...] = (
    ANTHROPIC,
    OPENAI,
    XAI,
    AZURE,
    OPENAI_RESPONSES,
    XAI_RESPONSES,
    *COMPATIBLE,
)
for _provider in BUILT_IN:  # what they list: the model table's current rows, one place
    _provider.service = with_table_models(_provider.service)
#: Every provider, in the order ``codey.providers()`` lists them. Read it
#: through :func:`snapshot`; change it only through :func:`register_all`.
PROVIDERS: list[Provider] = list(BUILT_IN)
_layers: list[list[Provider]] = []  # register_all's, oldest first
_lock = threading.Lock()
_secrets.watch_variables(provider.key_env for provider in PROVIDERS)  # its key variables

#: The provider class for each wire format (a :class:`Service`'s ``wire``).
WIRE_FORMATS: dict[str, Callable[[Service], Provider]] = {
    "chat": ChatCompletions,
    "messages": Messages,
    "responses": Responses,
}

#: The ``api=`` values (the options table's): each is the wire format it asks for
#: (a key of ``WIRE_FORMATS``).
APIS = _options.APIS


def build(service: Service) -> Provider:
    """The provider that speaks ``service.wire`` for ``service``."""
    try:
        return WIRE_FORMATS[service.wire](service)
    except KeyError:
        raise ValueError(
            f"unknown wire format {service.wire!r}; known: {', '.join(WIRE_FORMATS)}"
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
    result = list(BUILT_IN)
    for layer in _layers:
        names = {provider.name for provider in layer}
        result = [p for p in result if p.name not in names] + layer
    PROVIDERS[:] = result
    _secrets.watch_variables(provider.key_env for provider in result)


def resolve(model: str) -> tuple[Provider, str]:
    """The provider of ``model`` and the name to send: ``provider:model`` or a known prefix.

    The longest prefix that matches wins (``o3-pro`` is ``openai-responses``'s,
    though ``o3`` is ``openai``'s); of two as long, the provider listed first.
    """
    providers = snapshot()
    head, sep, rest = model.partition(":")
    if sep:
        for provider in providers:
            if provider.name == head:
                if not rest:
                    raise UnknownModelError(f"no model named after {head!r}", model=model)
                return provider, rest
    best: Optional[Provider] = None
    longest = 0
    for provider in providers:
        for prefix in provider.prefixes:
            if len(prefix) > longest and model.startswith(prefix):
                best, longest = provider, len(prefix)
    if best is not None:
        return best, model
    raise UnknownModelError(
        f"unknown model {model!r}: name a known model (see `codey models`) or use "
        f"PROVIDER:MODEL with a provider from: {', '.join(p.name for p in providers)}",
        model=model,
    )


def for_api(provider: Provider, api: Optional[str]) -> Provider:
    """The provider that serves ``provider``'s models over ``api`` (``"chat"`` or
    ``"responses"``); ``None`` keeps ``provider``.

    Raises UnsupportedOptionError for a provider that has no such API.
    """
    if api is None:
        return provider
    if not isinstance(api, str) or api not in APIS:
        raise ValueError(f"api must be one of {', '.join(map(repr, APIS))} or None, not {api!r}")
    if provider.wire == api:
        return provider
    family = same_service(provider.name)
    for other in snapshot():
        if other.name in family and other.wire == api:
            return other
    wanted = getattr(WIRE_FORMATS[api], "wire_name", api)
    speaks = getattr(provider, "wire_name", "") or provider.wire
    raise UnsupportedOptionError(
        f"{provider.name} has no {wanted} API (api={api!r}); it speaks {speaks} only"
    )
