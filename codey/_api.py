"""The front door: ``stream()``, ``complete()``, ``models()``, ``providers()``."""

from __future__ import annotations

import sys
import threading
import warnings
from collections.abc import Mapping, Sequence
from time import monotonic
from typing import TYPE_CHECKING, Any, Callable, Literal, Optional, Union

from codey import _options, _providers
from codey._attachments import Attachment
from codey._channel import Channel
from codey._errors import (
    CancelledError,
    DeadlineExceededError,
    ModelWarning,
    UnsupportedOptionError,
)
from codey._request import (
    Prompt,
    Target,
    first_chunk_timeout_for,
    messages,
    request_spec,
    targets,
)
from codey._stream import Stream
from codey._tools import ServerTool, Tool, server_tools, to_tools
from codey._types import Message, ToolCall

if TYPE_CHECKING:
    import requests

    from codey._mcp import MCP
    from codey._models import ModelInfo


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
    reasoning_effort: Optional[str] = None,
    thinking_budget: Optional[int] = None,
    fallbacks: Sequence[str] = (),
    cancel: Optional[threading.Event] = None,
    schema: Any = None,
    cache: bool = False,
    attachments: Sequence[Attachment] = (),
    tools: Sequence[Union[Tool, ServerTool, str, Callable[..., Any], MCP]] = (),
    run_tools: bool = False,
    max_tool_rounds: int = 5,
    on_response: Optional[Callable[[int, Mapping[str, str]], None]] = None,
    api: Optional[str] = None,
    effort: Optional[str] = None,
    first_chunk_timeout: Union[float, Literal["auto"], None] = "auto",
) -> Stream:
    """Start streaming an answer; returns at once with a :class:`Stream`.

    :param prompt: one user message, or a whole conversation (``Message`` objects
        or dicts with ``role`` and ``content``).
    :param model: a model name or ``provider:model``; default ``CODEY_MODEL``, else
        xAI's current general model (grok-4.3: the replacement of the original
        tool's default, grok-3). A retired model the provider still answers
        issues a :class:`ModelWarning`.
    :param system: a system message, put first.
    :param chunk_timeout: the longest silence from the server once the response began.
    :param connect_timeout: the longest wait for the response to begin.
    :param api_key: the key, instead of the provider's environment variable.
    :param base_url: the API's base URL, instead of the environment or the default.
    :param retries: how many times a failure before any text is retried.
    :param session: a ``requests.Session`` of your own (proxies, CA bundle, adapters).
    :param deadline: one bound, in seconds, over the whole call, retries included.
    :param reasoning_effort: the old name of ``effort``, the same setting (both at once
        with different values: ValueError).
    :param thinking_budget: tokens of extended thinking, for the Anthropic models that
        think on a budget (UnsupportedOptionError for those that think adaptively:
        they take ``effort``).
    :param fallbacks: models to try in turn when the model fails before any text.
        ``api_key`` and ``base_url`` apply to the first model only.
    :param cancel: a ``threading.Event``; setting it, from any thread, closes the stream.
    :param schema: the answer must be JSON matching this: a JSON Schema dict, a dataclass,
        an attrs class, a TypedDict or ``"name str, age int"``. The provider is held to it
        where it can be; the answer is checked at the end of the stream
        (:class:`StructuredOutputError`), and ``Stream.json()`` loads it.
    :param cache: mark the prompt for the provider's prompt cache (Anthropic; OpenAI-style
        services cache by themselves). ``Stream.usage`` counts what was read and written.
    :param attachments: ``codey.Attachment`` images and PDFs for the last user message.
    :param tools: functions (or ``codey.Tool`` values, or ``codey.MCP`` servers: their
        tools) the model may call; their calls stream as ``ToolCallDelta`` events and
        end up in ``stream.tool_calls``.
        The provider's own tools mix in by name (``"web_search"``, ``"web_fetch"``,
        ``"code_execution"``, ``"x_search"``) or as :class:`ServerTool` values with
        options: the provider runs them, and each call streams as
        :class:`ServerToolCall` events (``stream.server_tool_calls``). A tool (or an
        option) the provider does not offer is an UnsupportedOptionError; OpenAI
        and xAI offer them over the Responses API only, where ``api=None`` sends them.
    :param run_tools: run the calls and send the results back until the model answers;
        the stream yields the text of every round.
    :param max_tool_rounds: with ``run_tools``, how many rounds of calls may run;
        one more is a ``TooManyToolRoundsError``.
    :param on_response: ``on_response(status, headers)`` is called in the stream's worker
        thread as each attempt's response begins, whatever its status (a 429 that is
        retried too), with read-only headers: to watch rate-limit headers, say. What it
        raises ends the stream with that error.
    :param api: ``"chat"`` (Chat Completions) or ``"responses"`` (the Responses API)
        for the model's service; default: the API the model table names for the model
        (Responses for OpenAI's reasoning models and xAI's Grok models; a compatible
        service's or a config file's provider keeps its own). Like ``api_key``, it
        applies to the first model only: each fallback goes over its own default.
        :attr:`Stream.api` says which API answered.
    :param effort: how hard a reasoning model thinks: ``none``, ``minimal``, ``low``,
        ``medium``, ``high``, ``xhigh`` or ``max`` (else ValueError), sent in each
        provider's form. A value the model does not take (its row of the model table,
        :func:`model_info`) is an UnsupportedOptionError listing those it does; a model
        the table does not know gets it unchecked. So is a sampling setting
        (``temperature``) the model refuses.
    :param first_chunk_timeout: the longest silence from the server once the response
        began and before the first content (text, reasoning or a tool call): a reasoning
        model thinks in silence. ``"auto"``: ``chunk_timeout``, or 600 s for a model the
        table says reasons (:func:`codey.model_info`); None: no limit.
    :raises MissingAPIKeyError, UnknownModelError, UnsupportedOptionError, ValueError:
        at once; everything that depends on the server is raised while iterating.
    """
    checked = _options.check({name: value for name, value in locals().items() if name != "prompt"})
    chunk_timeout, deadline = checked["chunk_timeout"], checked["deadline"]
    conversation = messages(prompt, system, attachments)
    tool_specs = to_tools(tools)
    servers = server_tools(tools)
    if run_tools and not tool_specs:
        raise ValueError("run_tools=True needs tools= (functions: the server runs its own tools)")
    answer_schema = None
    if schema is not None:
        if run_tools:
            # Anthropic's schema is a forced tool, which would never let the model call yours.
            raise UnsupportedOptionError("schema= cannot be combined with run_tools=True")
        from codey._schema import to_schema

        answer_schema = to_schema(schema)
    from codey import _transport  # requests and sseclient load with the first stream

    resolved = targets(model, fallbacks, api_key, base_url, api, server_tools=bool(servers))
    _warn_retired(resolved)
    given = checked["first_chunk_timeout"]
    silences = [first_chunk_timeout_for(target, given, chunk_timeout) for target in resolved]

    def plans_for(conversation: tuple[Message, ...]) -> list[_transport.Plan]:
        return [
            _transport.Plan(
                provider=target.provider,
                model=target.model,
                request=target.provider.build_request(
                    request_spec(
                        target.model,
                        conversation,
                        checked,
                        tool_specs,
                        answer_schema,
                        provider=target.provider.name,
                        server_tools=servers,
                    ),
                    target.key,
                    target.url,
                ),
                retries=retries,
                connect_timeout=checked["connect_timeout"],
                chunk_timeout=chunk_timeout,
                first_chunk_timeout=silence,
                session=session,
            )
            for target, silence in zip(resolved, silences)
        ]

    ends = None if deadline is None else monotonic() + deadline

    def start(conversation: tuple[Message, ...], seconds: Optional[float]) -> Stream:
        plans = plans_for(conversation)

        def producer(channel: Channel) -> None:
            _transport.produce(channel, plans)

        return Stream(
            producer,
            targets=[(target.service, target.model, target.api) for target in resolved],
            chunk_timeout=chunk_timeout,
            deadline=seconds,
            cancel=cancel,
            schema=answer_schema,
            on_response=on_response,
            conversation=conversation,
            resume=next_request,
        )

    def next_request(conversation: tuple[Message, ...]) -> Stream:
        """The next request of the run (a tool round, a paused answer's next part),
        within what is left of the deadline."""
        if ends is None:
            return start(conversation, None)
        left = ends - monotonic()
        if left <= 0:
            raise DeadlineExceededError(
                f"{resolved[0].service} did not finish within the {deadline} s deadline"
            )
        return start(conversation, left)

    if not run_tools:
        return start(conversation, deadline)
    from codey._toolloop import ToolStream

    # A provider that cannot take a round of tool results says so now, not after round one.
    call = ToolCall(id="call_check", name=tool_specs[0].name)
    plans_for(
        (
            *conversation,
            Message("assistant", "", tool_calls=(call,)),
            Message("tool", "", tool_call_id=call.id),
        )
    )
    return ToolStream(next_request, conversation, tool_specs, max_tool_rounds)


def _warn_retired(resolved: Sequence[Target]) -> None:
    """A ModelWarning for each retired model the provider may still answer in its
    place (one it refuses says so in its error: ``_transport.status_error``)."""
    from codey import _models

    for target in resolved:
        info = _models.find(target.model, target.provider.name)
        note = None if info is None else _models.retirement(info, target.model)
        if info is None or note is None or info.redirects is False:
            continue
        if info.redirects and info.replacement:
            note += f", which {target.service} answers in its place"
        warnings.warn(note, ModelWarning, stacklevel=_outside_codey())


def _outside_codey() -> int:
    """The ``stacklevel`` of the first caller outside codey (complete(), a batch, the
    CLI...), so that a warning points at the code that asked for the model."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and _in_codey(frame.f_globals.get("__name__", "")):
        frame, level = frame.f_back, level + 1
    return level


def _in_codey(module: str) -> bool:
    return module == "codey" or module.startswith("codey.")


def complete(prompt: Prompt, **kwargs: Any) -> str:
    """The whole answer as one string: ``stream()`` with the same keywords, joined.

    :raises CancelledError: if the stream was closed (``cancel``) before its end.
    """
    with stream(prompt, **kwargs) as answer:
        text = "".join(answer)
        if answer.cancelled:
            raise CancelledError(
                "the stream was cancelled before the end of the answer", partial_text=text
            )
        return text


def complete_json(prompt: Prompt, *, schema: Any, **kwargs: Any) -> Any:
    """The answer as JSON matching ``schema``: a dict, or an instance of the schema's class.

    ``stream(prompt, schema=schema, **kwargs).json()``, the stream closed after.

    :raises StructuredOutputError: the answer is not JSON matching the schema
        (``.partial_text`` is the answer as the model sent it).
    :raises CancelledError: if the stream was closed (``cancel``) before its end.
    """
    if schema is None:
        raise TypeError("complete_json() needs a schema")
    with stream(prompt, schema=schema, **kwargs) as answer:
        return answer.json()


def models(*, all: bool = False) -> list[str]:
    """The current models' names, grouped by provider (``service:model`` where a
    prefix is needed): each provider's list, and what ``codey models --refresh``
    cached of it. ``all=True`` adds the legacy and retired names of the model
    table (:func:`codey.model_info` says which is which).
    """
    from codey import _models

    rows = _models.table()
    names: dict[str, None] = {}
    for provider in _providers.snapshot():
        names.update(dict.fromkeys(provider.models))
        built_in = provider in _providers.BUILT_IN
        for info in rows:
            if info.provider != provider.name or not (all or info.status == "current"):
                continue
            if built_in or info.fetched is not None:  # a config file's provider: its own word
                names[_models.shown_name(info.name, provider.name, provider.prefixes)] = None
    return list(names)


def model_info(name: str) -> ModelInfo:
    """What codey knows of the model ``name`` (any of its names, a dated
    snapshot, or ``provider:name``): its row of the model table.

    A name codey can send (a known name, a known provider's prefix such as
    ``gpt-``, or ``provider:name``) but not in the table gives a ModelInfo of
    status ``unknown`` (its provider's defaults apply). A name no provider takes
    raises UnknownModelError, as :func:`stream` would.
    """
    from codey import _models

    if not isinstance(name, str) or not name:
        raise TypeError(f"model must be a non-empty string, not {name!r}")
    provider, model = _providers.resolve(name)
    info = _models.find(model, provider.name)
    if info is not None:
        return info
    return _models.ModelInfo(
        name=model, provider=provider.name, status="unknown", api=provider.wire
    )


def providers() -> list[str]:
    """The providers' names."""
    return [provider.name for provider in _providers.snapshot()]


def preload() -> None:
    """Import now what the first stream would import: requests, sseclient-py, attrs.

    ``import codey`` stays light, so the first ``stream()`` pays about 100 ms
    of imports. A server can pay them at start-up instead (before it forks
    its workers, say), so that no user waits for them.
    """
    from codey import _transport  # noqa: F401
