"""``codey models --refresh``: each provider's own model list, cached for the model table.

``GET {base}/models`` (Chat Completions and Responses services, bearer key) or
``GET {base}/v1/models`` (Messages: ``x-api-key`` and ``anthropic-version``,
paged, each entry with its token limits and ``capabilities``). The answers go to
``codey._models.cache_path()`` with the time they were fetched; the table
(``codey._models.table``) merges them.
"""

from __future__ import annotations

import datetime
import json
import os
import tempfile
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

from codey import _models, _providers
from codey._errors import StreamError
from codey._providers._base import HTTPRequest, Provider, join_url

__all__ = ["fetch", "refresh", "targets"]

#: Pages of an Anthropic list: its documented maximum per page, and a bound on pages.
_PAGE = 1000
_MAX_PAGES = 20


def targets(environ: Optional[Mapping[str, str]] = None) -> list[Provider]:
    """The providers to ask: those whose key is set, and those that need none at
    a base URL someone set (a config file's local server, ``$OLLAMA_BASE_URL``);
    each service once (not ``openai-responses`` beside ``openai``), none whose
    path names a deployment (Azure)."""
    env = os.environ if environ is None else environ
    chosen: list[Provider] = []
    for provider in _providers.snapshot():
        keyless = not provider.key_required and (
            bool(env.get(provider.base_url_env)) or provider not in _providers.BUILT_IN
        )
        if not (env.get(provider.key_env) or keyless) or "{model}" in provider.service.chat_path:
            continue
        family = _models.same_service(provider.name)
        if any(other.name in family for other in chosen):
            continue
        chosen.append(provider)
    return chosen


def _headers(provider: Provider, key: str) -> dict[str, str]:
    # The headers a whole-reply request of the provider's carries (its key, its version).
    headers = provider.headers(key, stream=False)
    headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    return {**headers, "Accept": "application/json"}


def fetch(provider: Provider, *, session: Any = None) -> tuple[str, list[dict[str, Any]]]:
    """The URL asked and the entries of ``provider``'s model list (its key and base
    URL from the environment, as a stream's)."""
    from codey import _transport
    from codey._request import api_key
    from codey._request import base_url as resolve_base_url

    base_url = resolve_base_url(provider)
    messages = provider.wire == "messages"
    url = join_url(base_url, "/v1/models" if messages else "/models")
    headers = _headers(provider, api_key(provider))
    entries: list[dict[str, Any]] = []
    after: Optional[str] = None
    for _ in range(_MAX_PAGES if messages else 1):
        query = {"limit": str(_PAGE), **({"after_id": after} if after else {})}
        page_url = f"{url}?{urllib.parse.urlencode(query)}" if messages else url
        plan = _transport.Plan(
            provider=provider,
            model="",
            request=HTTPRequest(url=page_url, headers=headers, body=b""),
            retries=2,
            connect_timeout=10.0,
            chunk_timeout=30.0,
            session=session,
        )
        answer = _transport.call(plan, "GET")
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, list):
            raise StreamError(
                f"{provider.name} answered GET {url} without a list of models",
                provider=provider.name,
            )
        entries += [entry for entry in data if isinstance(entry, dict) and "id" in entry]
        after = answer.get("last_id") if answer.get("has_more") else None
        if not after:
            break
    return url, entries


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def refresh(
    providers: Sequence[Provider], path: Optional[str] = None, *, session: Any = None
) -> list[tuple[str, Union[int, Exception]]]:
    """Ask each of ``providers`` for its list and cache the answers at ``path``
    (default ``codey._models.cache_path()``), keeping the cached lists of the
    others. Returns, per provider, how many models it listed or the error it
    met (one provider's failure does not stop the others)."""
    path = _models.cache_path() if path is None else path
    try:
        cached = dict(_models.read_cache(path))
    except ValueError:  # a broken cache is what a refresh replaces
        cached = {}
    results: list[tuple[str, Union[int, Exception]]] = []
    for provider in providers:
        try:
            url, entries = fetch(provider, session=session)
        except Exception as exc:  # reported to the caller, with the others' results
            results.append((provider.name, exc))
            continue
        cached[provider.name] = {
            "fetched_at": _now(),
            "url": url,
            "wire": provider.wire,
            "models": entries,
        }
        results.append((provider.name, len(entries)))
    if any(isinstance(result, int) for _, result in results):
        _write(path, {"version": 1, "providers": cached})
    return results


def _write(path: str, data: dict[str, Any]) -> None:
    """``data`` as JSON at ``path``, whole or not at all."""
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".models.", suffix=".json")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(data, file, ensure_ascii=False, indent=1)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
