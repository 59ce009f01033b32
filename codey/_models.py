"""The model table: what codey knows of each model, as data.

The rows ship in ``codey/models.json``, each with a dated source. ``codey
models --refresh`` caches the providers' own lists (``codey._refresh``) under
``$XDG_CACHE_HOME/codey/``; the table read here is the shipped one with that
cache merged in, the provider's word winning where it speaks.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any, Optional, TypeVar

import attrs

from codey._attachments import IMAGE_TYPES, PDF

__all__ = [
    "ORIGINAL_DEFAULT",
    "SAME_SERVICE",
    "STATUSES",
    "ModelInfo",
    "cache_path",
    "default_name",
    "find",
    "from_provider",
    "listed_names",
    "prefixes_of",
    "read_cache",
    "reasons",
    "retirement",
    "same_model",
    "same_service",
    "shown_name",
    "table",
    "with_table_models",
]

#: A row's ``status``: listed by ``codey models``; still served but listed only
#: with ``--all``; gone (or going) at the provider; not in the table at all.
STATUSES = ("current", "legacy", "retired", "unknown")
_WIRES = ("chat", "responses", "messages")
#: Built-in providers that are one service over its two APIs: ``api=`` moves a
#: model from one to the other, and a row of either is the service's model.
SAME_SERVICE = (("openai", "openai-responses"), ("xai", "xai-responses"))
#: The original tool's default model, at its provider. codey's built-in default
#: is the model the table names in its place (:func:`default_name`).
ORIGINAL_DEFAULT = ("xai", "grok-3")
#: ``-2025-04-14`` or ``-20250805``: a dated snapshot of the name before it.
_DATED = re.compile(r"^(?P<base>.+?)-(?:\d{4}-\d{2}-\d{2}|\d{8})$")


def _names(value: Optional[Iterable[str]]) -> Optional[tuple[str, ...]]:
    return None if value is None else tuple(value)


def _no_names(value: Optional[Iterable[str]]) -> tuple[str, ...]:
    return () if value is None else tuple(value)


@attrs.frozen(kw_only=True)
class ModelInfo:
    """What codey knows of one model: a row of its model table (``codey models --json``).

    ``None`` means not known: a model outside the table (``status ==
    "unknown"``) has its name, its provider and the API codey speaks to it,
    and nothing else. An empty tuple means known to be none (``efforts == ()``:
    the model takes no effort setting).
    """

    #: The model's name as sent to the provider (without a ``provider:`` prefix).
    name: str
    #: The codey provider its name goes to (``codey providers``): ``openai``,
    #: ``openai-responses`` (OpenAI's models only the Responses API serves),
    #: ``xai``, ``anthropic``, ``ollama``...
    provider: str
    #: ``current`` (listed by ``codey models``), ``legacy`` (still served,
    #: listed with ``--all``), ``retired`` or ``unknown`` (not in the table).
    status: str = attrs.field(validator=attrs.validators.in_(STATUSES))
    #: Other names the provider answers to for it (``grok-4`` for the retired ``grok-4-0709``).
    aliases: tuple[str, ...] = attrs.field(default=(), converter=_no_names)
    #: Its dated snapshots (``claude-haiku-4-5-20251001``).
    snapshots: tuple[str, ...] = attrs.field(default=(), converter=_no_names)
    #: The API it is best served over: ``chat`` (Chat Completions),
    #: ``responses`` or ``messages`` (the wire names of ``codey.testing``);
    #: ``stream(api=None)`` sends an OpenAI or xAI model there.
    api: Optional[str] = None
    #: Every API that serves it.
    apis: Optional[tuple[str, ...]] = attrs.field(default=None, converter=_names)
    #: Whether it reasons (thinks) before it answers.
    reasoning: Optional[bool] = None
    #: The effort values it takes (``none|minimal|low|medium|high|xhigh|max``, a subset).
    efforts: Optional[tuple[str, ...]] = attrs.field(default=None, converter=_names)
    #: The sampling settings it takes (``temperature``, ``top_p``, ``top_k``);
    #: ``()``: it refuses them all.
    sampling: Optional[tuple[str, ...]] = attrs.field(default=None, converter=_names)
    #: How its thinking is asked for: ``adaptive`` (Anthropic's ``thinking:
    #: {type: "adaptive"}`` with an effort), ``budget`` (``budget_tokens``) or
    #: ``none`` (no ``thinking`` field; an OpenAI-style model's reasoning is
    #: its effort).
    thinking: Optional[str] = None
    #: Whether it calls function tools.
    tools: Optional[bool] = None
    #: Whether it holds an answer to a JSON Schema natively.
    structured_output: Optional[bool] = None
    #: The attachment types it reads (``image/png``, ``application/pdf``...).
    attachments: Optional[tuple[str, ...]] = attrs.field(default=None, converter=_names)
    #: The context window and the longest answer, in tokens.
    context_window: Optional[int] = None
    max_output: Optional[int] = None
    #: When the provider retired it (ISO date, perhaps a month), if it did.
    retired_on: Optional[str] = None
    #: The model the provider names in its place.
    replacement: Optional[str] = None
    #: Whether the provider answers the retired name with another model (True)
    #: or refuses it (False).
    redirects: Optional[bool] = None
    #: What else matters when asking it, in a sentence.
    notes: Optional[str] = None
    #: Where the row's facts come from, with the date they were read.
    source: Optional[str] = None
    #: When the provider's own list (``codey models --refresh``) last named it (ISO time).
    fetched: Optional[str] = None

    @property
    def known(self) -> bool:
        """Whether the table has a row for it."""
        return self.status != "unknown"

    @property
    def retired(self) -> bool:
        """Whether the provider retired it (see ``replacement`` and ``redirects``)."""
        return self.status == "retired"

    def names(self) -> tuple[str, ...]:
        """Every name it answers to: its name, aliases and snapshots."""
        return (self.name, *self.aliases, *self.snapshots)


def _row(raw: Mapping[str, Any]) -> ModelInfo:
    values = dict(raw)
    retired = values.pop("retired", None) or {}
    values.update(
        retired_on=retired.get("date"),
        replacement=retired.get("replacement"),
        redirects=retired.get("redirects"),
    )
    fields = attrs.fields_dict(ModelInfo)
    return ModelInfo(**{key: value for key, value in values.items() if key in fields})


_SHIPPED: list[ModelInfo] = []
_shipped_lock = threading.Lock()


def shipped() -> list[ModelInfo]:
    """The rows of ``codey/models.json``, read once."""
    with _shipped_lock:
        if not _SHIPPED:
            path = os.path.join(os.path.dirname(__file__), "models.json")
            with open(path, encoding="utf-8") as file:
                _SHIPPED.extend(_row(raw) for raw in json.load(file)["models"])
        return list(_SHIPPED)


def default_name() -> str:
    """The built-in default model: the original tool's default (``grok-3``), followed
    through the shipped table's replacements to the model that serves in its place."""
    provider, name = ORIGINAL_DEFAULT
    family = same_service(provider)
    seen = {name}
    by_name = _Rows(shipped()).by_name
    info = _find(by_name, name, family)
    while info is not None and info.replacement and info.replacement not in seen:
        name = info.replacement
        seen.add(name)
        info = _find(by_name, name, family)
    return name


def retirement(info: ModelInfo, name: Optional[str] = None) -> Optional[str]:
    """What to say of a retired model asked for as ``name`` (default: its own):
    when it was retired and what replaced it; None if it is not retired."""
    if not info.retired:
        return None
    name = name or info.name
    when = f" on {info.retired_on}" if info.retired_on else ""
    instead = f"; its replacement is {info.replacement}" if info.replacement else ""
    return f"{name} was retired{when}{instead}"


def prefixes_of(provider: str) -> tuple[str, ...]:
    """Every name of ``provider``'s rows: the prefixes that send a name to it
    (``openai-responses``: the models only the Responses API serves)."""
    return tuple(name for info in shipped() if info.provider == provider for name in info.names())


def shown_name(name: str, provider: str, prefixes: Iterable[str]) -> str:
    """``name`` as ``codey models`` shows it: bare where a prefix of ``provider``'s
    sends it there, else ``provider:name``."""
    return name if any(name.startswith(p) for p in prefixes) else f"{provider}:{name}"


def listed_names(provider: str, prefixes: Iterable[str]) -> tuple[str, ...]:
    """The shipped table's current models of ``provider``, as ``codey models`` shows them:
    a built-in provider's ``Service.models``."""
    prefixes = tuple(prefixes)
    return tuple(
        shown_name(info.name, provider, prefixes)
        for info in shipped()
        if info.provider == provider and info.status == "current"
    )


_Service = TypeVar("_Service")


def with_table_models(service: _Service) -> _Service:
    """A built-in ``Service`` with its ``models`` from the table (:func:`listed_names`)."""
    name, prefixes = getattr(service, "name"), getattr(service, "prefixes")  # noqa: B009
    return attrs.evolve(service, models=listed_names(name, prefixes))  # type: ignore[misc]


def same_service(provider: str) -> tuple[str, ...]:
    """``provider`` and the built-in provider that is its service over the other API."""
    for names in SAME_SERVICE:
        if provider in names:
            return names
    return (provider,)


# --- the providers' own lists, cached by ``codey models --refresh``


def cache_path(environ: Optional[Mapping[str, str]] = None) -> str:
    """``$XDG_CACHE_HOME/codey/models.json``, else ``~/.cache/codey/models.json``."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "codey", "models.json")


def read_cache(path: Optional[str] = None) -> dict[str, Any]:
    """The cache's providers (``{name: {"fetched_at", "url", "wire", "models"}}``); a
    missing cache is empty, an unreadable one an error that says which file."""
    path = cache_path() if path is None else path
    try:
        with open(path, encoding="utf-8") as file:
            data = json.load(file)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"{path}: not a model cache ({exc}); delete it or run `codey models --refresh`"
        ) from None
    providers = data.get("providers") if isinstance(data, dict) else None
    return providers if isinstance(providers, dict) else {}


def _supported(capabilities: Mapping[str, Any], name: str) -> Optional[bool]:
    value = capabilities.get(name)
    if isinstance(value, Mapping) and isinstance(value.get("supported"), bool):
        return bool(value["supported"])
    return None


def from_provider(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The ModelInfo fields an entry of a provider's model list speaks for.

    OpenAI-style lists give a name only; Anthropic's give token limits and
    ``capabilities`` (``{"image_input": {"supported": true}, "thinking":
    {"supported": true, "types": {"adaptive": {...}, "enabled": {...}}},
    "effort": {"supported": true, "low": {...}, ...}, ...}``).
    """
    fields: dict[str, Any] = {}
    if isinstance(raw.get("max_input_tokens"), int):
        fields["context_window"] = raw["max_input_tokens"]
    limit = raw.get("max_tokens")
    if isinstance(limit, Mapping):  # some versions nest it
        limit = limit.get("max") or limit.get("value")
    if isinstance(limit, int):
        fields["max_output"] = limit
    capabilities = raw.get("capabilities")
    if not isinstance(capabilities, Mapping):
        return fields
    images, pdfs = _supported(capabilities, "image_input"), _supported(capabilities, "pdf_input")
    if images is not None or pdfs is not None:
        fields["attachments"] = (*(IMAGE_TYPES if images else ()), *((PDF,) if pdfs else ()))
    structured = _supported(capabilities, "structured_outputs")
    if structured is not None:
        fields["structured_output"] = structured
    thinking = capabilities.get("thinking")
    if isinstance(thinking, Mapping) and isinstance(thinking.get("supported"), bool):
        fields["reasoning"] = thinking["supported"]
        types = thinking.get("types")
        types = types if isinstance(types, Mapping) else {}
        if _supported(types, "adaptive"):
            fields["thinking"] = "adaptive"
        elif _supported(types, "enabled") or thinking["supported"]:
            fields["thinking"] = "budget"
        else:
            fields["thinking"] = "none"
    effort = capabilities.get("effort")
    if isinstance(effort, Mapping) and isinstance(effort.get("supported"), bool):
        levels = [level for level in effort if level != "supported" and _supported(effort, level)]
        fields["efforts"] = tuple(levels) if effort["supported"] else ()
    return fields


def _merge(rows: list[ModelInfo], cached: Mapping[str, Any]) -> list[ModelInfo]:
    """``rows`` with each provider's cached list merged in (its word wins where it speaks)."""
    rows = list(rows)
    for provider, answer in cached.items():
        if not isinstance(answer, Mapping) or not isinstance(answer.get("models"), list):
            continue
        fetched = str(answer.get("fetched_at", ""))
        family = same_service(provider)
        for raw in answer["models"]:
            if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), str):
                continue
            name = raw["id"]
            fields = from_provider(raw)
            for index, info in enumerate(rows):
                if info.provider in family and name in info.names():
                    status = "legacy" if info.status == "retired" else info.status
                    rows[index] = attrs.evolve(info, status=status, fetched=fetched, **fields)
                    break
            else:
                rows.append(
                    ModelInfo(
                        name=name,
                        provider=provider,
                        status="current",
                        api=answer.get("wire") if answer.get("wire") in _WIRES else None,
                        source=f"GET {answer.get('url', '')} ({fetched})",
                        fetched=fetched,
                        **fields,
                    )
                )
    return rows


class _Rows:
    """One version of the table: its rows, and the rows by each of their names (a
    lookup is one dict access, not a scan: several are made for every stream)."""

    __slots__ = ("by_name", "rows")

    def __init__(self, rows: list[ModelInfo]) -> None:
        self.rows = rows
        self.by_name: dict[str, list[ModelInfo]] = {}
        for info in rows:
            for name in info.names():
                self.by_name.setdefault(name, []).append(info)


_merged: dict[tuple[str, int], _Rows] = {}
_shipped_rows: list[_Rows] = []


def _current(path: Optional[str] = None) -> _Rows:
    """The table in force: the shipped rows with the cache at ``path`` (default
    :func:`cache_path`) merged in; merged again only when the cache changes."""
    path = cache_path() if path is None else path
    try:
        stamp = os.stat(path).st_mtime_ns
    except OSError:
        if not _shipped_rows:
            _shipped_rows.append(_Rows(shipped()))
        return _shipped_rows[0]
    key = (path, stamp)
    current = _merged.get(key)
    if current is None:
        current = _Rows(_merge(shipped(), read_cache(path)))
        _merged.clear()
        _merged[key] = current
    return current


def table(path: Optional[str] = None) -> list[ModelInfo]:
    """Every row: the shipped table with the cache at ``path`` (default
    :func:`cache_path`) merged in; read again only when the cache changes."""
    return list(_current(path).rows)


def find(name: str, provider: str) -> Optional[ModelInfo]:
    """The row of model ``name`` (any of its names, or a dated snapshot of one) at
    ``provider`` or the same service over its other API; None when there is none."""
    return _find(_current().by_name, name, same_service(provider))


def reasons(name: str, provider: str) -> bool:
    """Whether the table says model ``name`` reasons (and may think in silence before
    it answers); False for a model it does not know."""
    info = find(name, provider)
    return info is not None and info.reasoning is True


def same_model(asked: str, served: str, provider: str) -> bool:
    """Whether ``served`` (the model a reply names) is the model ``asked`` for: the
    same name, a dated snapshot of it (``gpt-4.1-2025-04-14`` for ``gpt-4.1``), or
    another name of its row (an alias, a snapshot)."""
    if served == asked:
        return True
    dated = _DATED.match(served)
    if dated and dated.group("base") == asked:
        return True
    info = find(asked, provider)
    return info is not None and info is find(served, provider)


def _find(
    by_name: Mapping[str, list[ModelInfo]], name: str, family: tuple[str, ...]
) -> Optional[ModelInfo]:
    for info in by_name.get(name, ()):
        if info.provider in family:
            return info
    dated = _DATED.match(name)
    if dated:
        return _find(by_name, dated.group("base"), family)
    return None
