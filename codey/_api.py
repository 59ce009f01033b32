"""The front door: ``stream()``, ``complete()``, ``models()``, ``providers()``."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Optional, Union

from codey import _providers
from codey._errors import MissingAPIKeyError
from codey._providers._base import RequestSpec
from codey._stream import Channel, Stream
from codey._types import ROLES, Message

if TYPE_CHECKING:
    import requests

#: The original tool's default model.
DEFAULT_MODEL = "grok-3"

Prompt = Union[str, Sequence[Union[Message, Mapping[str, Any]]]]


def default_model() -> str:
    """``CODEY_MODEL``, else ``grok-3``."""
    return os.environ.get("CODEY_MODEL") or DEFAULT_MODEL


def _messages(prompt: Prompt, system: Optional[str]) -> tuple[tuple[str, str], ...]:
    result: list[tuple[str, str]] = []
    if system:
        result.append(("system", system))
    if isinstance(prompt, str):
        result.append(("user", prompt))
        return tuple(result)
    for item in prompt:
        if isinstance(item, Message):
            role, content = item.role, item.content
        elif isinstance(item, Mapping):
            try:
                role, content = item["role"], item["content"]
            except KeyError as exc:
                raise ValueError(f"a message needs 'role' and 'content' keys: {item!r}") from exc
        else:
            raise TypeError(f"a message must be a codey.Message or a dict, not {type(item)!r}")
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        if not isinstance(content, str):
            raise TypeError(f"message content must be a str, not {type(content)!r}")
        result.append((role, content))
    if not any(role != "system" for role, _ in result):
        raise ValueError("the prompt has no user message")
    return tuple(result)


def _check_timeout(name: str, value: Optional[float]) -> Optional[float]:
    if value is None:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds or None, not {value!r}")
    return float(value)


def stream(
    prompt: Prompt,
    *,
    model: Optional[str] = None,
    system: Optional[str] = None,
    max_tokens: Optional[int] = None,
    temperature: Optional[float] = None,
    chunk_timeout: Optional[float] = 15.0,
    connect_timeout: Optional[float] = 30.0,
    api_key: Optional[str] = None,
    base_url: Optional[str] = None,
    retries: int = 2,
    session: Optional[requests.Session] = None,
    deadline: Optional[float] = None,
) -> Stream:
    """Start streaming an answer; returns at once with a :class:`Stream`.

    :param prompt: one user message, or a whole conversation (``Message``\\ s or
        dicts with ``role`` and ``content``).
    :param model: a model name or ``provider:model``; default ``CODEY_MODEL``, else grok-3.
    :param chunk_timeout: the longest silence from the server once the response began.
    :param connect_timeout: the longest wait for the response to begin.
    :param retries: how many times a failure before any text is retried.
    :param deadline: one bound, in seconds, over the whole call.
    :raises MissingAPIKeyError, UnknownModelError: at once; everything else while iterating.
    """
    provider, api_model = _providers.resolve(model or default_model())
    key = api_key if api_key is not None else os.environ.get(provider.key_env, "")
    if not key:
        raise MissingAPIKeyError(
            f"no API key for {provider.name}: set the {provider.key_env} environment variable "
            "(or pass api_key=)",
            provider=provider.name,
            env_var=provider.key_env,
        )
    url = base_url or os.environ.get(provider.base_url_env) or provider.default_base_url
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"base URL must start with http:// or https://, not {url!r}")
    if not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be a non-negative int, not {retries!r}")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens <= 0):
        raise ValueError(f"max_tokens must be a positive int, not {max_tokens!r}")
    chunk_timeout = _check_timeout("chunk_timeout", chunk_timeout)
    connect_timeout = _check_timeout("connect_timeout", connect_timeout)
    deadline = _check_timeout("deadline", deadline)
    spec = RequestSpec(
        model=api_model,
        messages=_messages(prompt, system),
        max_tokens=max_tokens,
        temperature=temperature,
    )
    from codey import _transport  # requests and sseclient load with the first stream

    plan = _transport.Plan(
        provider=provider,
        request=provider.build_request(spec, key, url),
        api_key=key,
        retries=retries,
        connect_timeout=connect_timeout,
        chunk_timeout=chunk_timeout,
        session=session,
    )

    def producer(channel: Channel) -> None:
        _transport.produce(channel, plan)

    return Stream(
        producer,
        model=api_model,
        provider=provider.name,
        connect_timeout=connect_timeout,
        chunk_timeout=chunk_timeout,
        deadline=deadline,
    )


def complete(prompt: Prompt, **kwargs: Any) -> str:
    """The whole answer as one string (``stream()`` joined)."""
    with stream(prompt, **kwargs) as answer:
        return "".join(answer)


def models() -> list[str]:
    """Every known model name, grouped by provider."""
    return [model for provider in _providers.PROVIDERS for model in provider.models]


def providers() -> list[str]:
    """The providers' names."""
    return [provider.name for provider in _providers.PROVIDERS]
