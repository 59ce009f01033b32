"""The one way a request is assembled: the model, the messages, the target, the spec.

``stream()``, both batch runners and the command line come here for the
default model (:func:`default_model`), a prompt's messages (:func:`messages`),
a model's provider, key and URL (:func:`targets`, :func:`api_key`,
:func:`base_url`) and the provider-neutral :class:`RequestSpec` of a request's
options (:func:`request_spec`); the provider turns that into its wire body.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

import attrs

from codey import _options, _providers, _secrets
from codey._attachments import Attachment
from codey._errors import MissingAPIKeyError, MissingBaseURLError
from codey._providers._base import AnswerSchema, Provider, RequestSpec, ToolSpec
from codey._types import ROLES, Message, ToolCall

__all__ = [
    "DEFAULT_MODEL",
    "Prompt",
    "Target",
    "api_key",
    "base_url",
    "default_model",
    "first_chunk_timeout_for",
    "messages",
    "request_spec",
    "targets",
]

#: ``first_chunk_timeout``'s default for a model that reasons: the silence a model may
#: think in at its highest effort before its first content (docs/library.rst says why).
THINKING_TIMEOUT = 600.0

#: The original tool's default model.
DEFAULT_MODEL = "grok-3"

Prompt = Union[str, Sequence[Union[Message, Mapping[str, Any]]]]


def default_model(
    configured: Optional[str] = None, environ: Optional[Mapping[str, str]] = None
) -> tuple[str, str]:
    """The model when none is named, and where it came from.

    ``$CODEY_MODEL`` ("environment"), else ``configured`` (a config file's
    model: "config"), else grok-3 ("built-in"). The one home of this order:
    the command line puts its flag and a chat log's front matter before it.
    """
    model = (os.environ if environ is None else environ).get("CODEY_MODEL")
    if model:
        return model, "environment"
    if configured:
        return configured, "config"
    return DEFAULT_MODEL, "built-in"


def messages(
    prompt: Prompt, system: Optional[str], attachments: Sequence[Attachment] = ()
) -> tuple[Message, ...]:
    """The conversation as Message values; ``attachments`` join its last user message."""
    result: list[Message] = []
    if system:
        result.append(Message("system", system))
    if isinstance(prompt, str):
        result.append(Message("user", prompt))
    else:
        for item in prompt:
            if isinstance(item, Message):
                result.append(item)
            elif isinstance(item, Mapping):
                result.append(_from_mapping(item))
            else:
                raise TypeError(f"a message must be a codey.Message or a dict, not {type(item)!r}")
    users = [index for index, message in enumerate(result) if message.role == "user"]
    if not any(message.role != "system" for message in result):
        raise ValueError("the prompt has no user message")
    if attachments:
        if isinstance(attachments, Attachment) or not all(
            isinstance(item, Attachment) for item in attachments
        ):
            raise TypeError("attachments must be a list of codey.Attachment values")
        if not users:
            raise ValueError("attachments go with a user message; the prompt has none")
        last = result[users[-1]]
        result[users[-1]] = attrs.evolve(last, attachments=(*last.attachments, *attachments))
    return tuple(result)


def _from_mapping(item: Mapping[str, Any]) -> Message:
    try:
        role, content = item["role"], item["content"]
    except KeyError as exc:
        raise ValueError(f"a message needs 'role' and 'content' keys: {item!r}") from exc
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if content is None and item.get("tool_calls"):
        content = ""  # an assistant message that only called tools
    if not isinstance(content, str):
        raise TypeError(f"message content must be a str, not {type(content)!r}")
    extra = {key: item[key] for key in _EXTRA_KEYS if key in item}
    if "tool_calls" in extra:
        extra["tool_calls"] = [
            call if isinstance(call, ToolCall) else _call_from_mapping(call)
            for call in extra["tool_calls"]
        ]
    return Message(role, content, **extra)


_EXTRA_KEYS = ("attachments", "tool_calls", "tool_call_id", "is_error")


def _call_from_mapping(call: Mapping[str, Any]) -> ToolCall:
    # The Chat Completions shape, {"id", "function": {"name", "arguments"}}, or a flat one.
    function = call.get("function") or call
    return ToolCall(
        id=call["id"], name=function["name"], arguments=function.get("arguments") or "{}"
    )


@attrs.frozen
class Target:
    """Where one model's requests go: its provider, the model's name there, the key, the URL."""

    provider: Provider
    model: str
    key: str = attrs.field(repr=False)
    url: str


def targets(
    model: Optional[str],
    fallbacks: Sequence[str] = (),
    key: Optional[str] = None,
    url: Optional[str] = None,
    api: Optional[str] = None,
) -> list[Target]:
    """The model (default: :func:`default_model`) and its fallbacks, resolved;
    ``key``, ``url`` and ``api`` apply to the first model only."""
    result = []
    for index, name in enumerate([model or default_model()[0], *fallbacks]):
        provider, api_model = _providers.resolve(name)
        if index == 0:
            provider = _providers.for_api(provider, api)
        given = key if index == 0 else None
        if given:
            given = _secrets.check_key(given, "api_key=", provider.name)
        # The endpoint first: with neither, Azure's missing endpoint is the news.
        where = base_url(provider, url if index == 0 else None)
        result.append(Target(provider, api_model, api_key(provider, given), where))
    return result


def api_key(provider: Provider, given: Optional[str] = None) -> str:
    """``given`` (``api_key=``), else the provider's environment variable, checked."""
    if given:
        given = _secrets.check_key(given, "api_key=", provider.name)
        if given:
            return given
    key = _secrets.check_key(os.environ.get(provider.key_env, ""), provider.key_env, provider.name)
    if not key and provider.key_required:
        raise MissingAPIKeyError(
            f"no API key for {provider.name}: set the {provider.key_env} environment variable "
            "(or pass api_key=)",
            provider=provider.name,
            env_var=provider.key_env,
        )
    return key


def base_url(provider: Provider, given: Optional[str] = None) -> str:
    """``given`` (``base_url=``), else the environment's, else the provider's default."""
    url = given or os.environ.get(provider.base_url_env) or provider.default_base_url
    if not url:  # a service with no one endpoint: Azure's is the resource's own
        raise MissingBaseURLError(
            f"no endpoint for {provider.name}: set the {provider.base_url_env} environment "
            "variable (or pass base_url=)",
            provider=provider.name,
            env_var=provider.base_url_env,
        )
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"base URL must start with http:// or https://, not {url!r}")
    return url


#: The options a provider puts on the wire: the :class:`RequestSpec`'s fields.
_SENT = _options.named(_options.SPEC)


def request_spec(
    model: str,
    conversation: tuple[Message, ...],
    options: Mapping[str, Any],
    tools: tuple[ToolSpec, ...] = (),
    schema: Optional[AnswerSchema] = None,
) -> RequestSpec:
    """The request for ``model``: the options the providers send, taken from ``options``
    (checked already, by :func:`codey._options.check`)."""
    sent = {name: options[name] for name in _SENT if options.get(name) is not None}
    return RequestSpec(model=model, messages=conversation, tools=tools, schema=schema, **sent)


def first_chunk_timeout_for(
    target: Target, given: Optional[Union[float, str]], chunk_timeout: Optional[float]
) -> Optional[float]:
    """The longest silence before the first content: ``given`` (checked already), else
    (``"auto"``) ``chunk_timeout``, or :data:`THINKING_TIMEOUT` for a model the table
    says reasons. None is no limit."""
    if given != _options.AUTO:
        return None if given is None else float(given)
    if chunk_timeout is None:
        return None
    from codey import _models  # the table loads with the first stream that needs it

    if _models.reasons(target.model, target.provider.name):
        return max(chunk_timeout, THINKING_TIMEOUT)
    return chunk_timeout
