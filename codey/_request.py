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
from typing import TYPE_CHECKING, Any, Optional, Union

import attrs

from codey import _models, _options, _providers, _secrets
from codey._attachments import Attachment
from codey._errors import MissingAPIKeyError, MissingBaseURLError, UnsupportedOptionError
from codey._providers._base import AnswerSchema, Provider, RequestSpec, ToolSpec
from codey._providers.anthropic import ADAPTIVE_EFFORTS, EFFORT_BUDGETS, budget_for
from codey._types import ROLES, Message, ToolCall

if TYPE_CHECKING:
    from codey._tools import ServerTool

__all__ = [
    "Prompt",
    "Target",
    "api_key",
    "base_url",
    "default_model",
    "first_chunk_timeout_for",
    "messages",
    "request_spec",
    "routed",
    "service_name",
    "shaped",
    "targets",
]

#: ``first_chunk_timeout``'s default for a model that reasons: the silence a model may
#: think in at its highest effort before its first content (docs/library.rst says why).
THINKING_TIMEOUT = 600.0

Prompt = Union[str, Sequence[Union[Message, Mapping[str, Any]]]]


def default_model(
    configured: Optional[str] = None, environ: Optional[Mapping[str, str]] = None
) -> tuple[str, str]:
    """The model when none is named, and where it came from.

    ``$CODEY_MODEL`` ("environment"), else ``configured`` (a config file's
    model: "config"), else the model table's replacement of the original
    tool's default, grok-3 ("built-in": :func:`codey._models.default_name`).
    The one home of this order: the command line puts its flag and a chat
    log's front matter before it.
    """
    model = (os.environ if environ is None else environ).get("CODEY_MODEL")
    if model:
        return model, "environment"
    if configured:
        return configured, "config"
    return _models.default_name(), "built-in"


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

    @property
    def service(self) -> str:
        """The provider's name as the user knows it (:func:`service_name`)."""
        return service_name(self.provider)

    @property
    def api(self) -> str:
        """The API that serves it: ``chat``, ``responses`` or ``messages``."""
        return self.provider.wire


def targets(
    model: Optional[str],
    fallbacks: Sequence[str] = (),
    key: Optional[str] = None,
    url: Optional[str] = None,
    api: Optional[str] = None,
    server_tools: bool = False,
) -> list[Target]:
    """The model (default: :func:`default_model`) and its fallbacks, resolved;
    ``key``, ``url`` and ``api`` apply to the first model only (each fallback goes
    over its own default API: :func:`routed`, which ``server_tools`` may move)."""
    result = []
    for index, name in enumerate([model or default_model()[0], *fallbacks]):
        provider, api_model = _providers.resolve(name)
        provider = routed(provider, api_model, api if index == 0 else None, server_tools)
        given = key if index == 0 else None
        if given:
            given = _secrets.check_key(given, "api_key=", provider.name)
        # The endpoint first: with neither, Azure's missing endpoint is the news.
        where = base_url(provider, url if index == 0 else None)
        result.append(Target(provider, api_model, api_key(provider, given), where))
    return result


def service_name(provider: Provider) -> str:
    """``provider``'s name as the user knows it, whichever API it speaks: ``openai``,
    not ``openai-responses`` (``Stream.provider``, a missing key's error)."""
    return _models.same_service(provider.name)[0]


def routed(
    provider: Provider, model: str, api: Optional[str] = None, server_tools: bool = False
) -> Provider:
    """The provider that sends ``model`` over ``api``; None: the API the model table
    names for it (its row's ``api``), or, with ``server_tools``, the Responses API
    for OpenAI and xAI (Chat Completions has no server tools; the providers offer
    them over Responses only).

    The table moves a model only from a built-in service to the same service over
    its other API (OpenAI's and xAI's reasoning models to the Responses API, as
    both providers advise): a compatible service, a config file's provider, and a
    name given as ``openai-responses:MODEL`` keep the wire format they speak.
    """
    if api is not None:
        return _providers.for_api(provider, api)
    family = _models.same_service(provider.name)
    if provider.name != family[0] or provider not in _providers.BUILT_IN:
        return provider
    if server_tools and provider.wire == "chat":
        try:
            return _providers.for_api(provider, "responses")
        except UnsupportedOptionError:  # no Responses API: its request says it has no server tools
            return provider
    info = _models.find(model, provider.name)
    if info is None or info.api is None or info.api == provider.wire:
        return provider
    return _providers.for_api(provider, info.api)


def api_key(provider: Provider, given: Optional[str] = None) -> str:
    """``given`` (``api_key=``), else the provider's environment variable, checked."""
    if given:
        given = _secrets.check_key(given, "api_key=", provider.name)
        if given:
            return given
    key = _secrets.check_key(os.environ.get(provider.key_env, ""), provider.key_env, provider.name)
    if not key and provider.key_required:
        name = service_name(provider)
        raise MissingAPIKeyError(
            f"no API key for {name}: set the {provider.key_env} environment variable "
            "(or pass api_key=)",
            provider=name,
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
    provider: Optional[str] = None,
    server_tools: tuple[ServerTool, ...] = (),
) -> RequestSpec:
    """The request for ``model``: the options the providers send, taken from ``options``
    (checked already, by :func:`codey._options.check`), shaped to what the model takes
    by its row of the model table at ``provider`` (see :func:`shaped`).
    ``reasoning_effort`` is ``effort``'s old name: both carry the one value."""
    sent = {name: options[name] for name in _SENT if options.get(name) is not None}
    effort = sent.get("effort", sent.get("reasoning_effort"))
    if effort is not None:  # one setting by two names: the providers read ``effort``
        sent["effort"] = sent["reasoning_effort"] = effort
    if provider is not None:
        sent = shaped(model, provider, sent)
    return RequestSpec(
        model=model,
        messages=conversation,
        tools=tools,
        schema=schema,
        server_tools=server_tools,
        **sent,
    )


def shaped(model: str, provider: str, sent: Mapping[str, Any]) -> dict[str, Any]:
    """The options ``sent`` to ``model`` at ``provider``, held to its row of the model table.

    A setting the row says the model refuses (an effort it does not take, a sampling
    setting, a thinking budget for a model that thinks adaptively) is an
    UnsupportedOptionError naming the model, raised before anything is sent; a
    model the table does not know gets what was given, unchecked (its provider
    decides). A model that thinks on a budget gets its effort as a budget.
    """
    sent = dict(sent)
    effort = sent.get("effort")
    info = _models.find(model, provider)
    if info is None:
        return sent
    for name in _SAMPLING:
        if name in sent and info.sampling is not None and name not in info.sampling:
            raise UnsupportedOptionError(
                f"{model} takes no {name} (the model table says it takes "
                f"{', '.join(info.sampling) or 'no sampling setting'}): drop {name}="
            )
    # The efforts it takes: a budget model's are codey's budgets; an adaptive model
    # whose row lists none takes Anthropic's; None: not known, not checked.
    taken = info.efforts
    if info.thinking == "budget":
        taken = ("none", *EFFORT_BUDGETS)
    elif taken is None and info.thinking == "adaptive":
        taken = ADAPTIVE_EFFORTS
    if "thinking_budget" in sent and info.thinking in ("adaptive", "none"):
        values = f" ({', '.join(taken)})" if taken else ""
        if info.thinking == "adaptive" or info.reasoning:
            how = "thinks adaptively" if info.thinking == "adaptive" else "takes no thinking budget"
            raise UnsupportedOptionError(
                f"{model} {how}: set effort={values} instead of thinking_budget="
            )
        raise UnsupportedOptionError(f"{model} takes no thinking budget: drop thinking_budget=")
    if effort is None:
        return sent
    if taken is not None and effort not in taken:
        raise UnsupportedOptionError(
            f"{model} takes effort {', '.join(taken)}, not {effort!r}"
            if taken
            else f"{model} takes no effort setting: drop effort={effort!r}"
        )
    if info.thinking == "budget":  # its thinking is asked for as tokens
        del sent["effort"], sent["reasoning_effort"]
        if "thinking_budget" in sent:
            raise UnsupportedOptionError(
                f"effort= and thinking_budget= both set {model}'s thinking budget: give one"
            )
        if effort != "none":
            sent["thinking_budget"] = budget_for(effort, sent.get("max_tokens"))
    return sent


#: The sampling settings codey sends, as a model table row's ``sampling`` names them.
_SAMPLING = ("temperature",)


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
    if _models.reasons(target.model, target.provider.name):
        return max(chunk_timeout, THINKING_TIMEOUT)
    return chunk_timeout
