"""``codey models``: the model table listed (``--all``, ``--json``), refreshed from the
providers (``--refresh``), and the names in use checked against it (``--check``)."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Optional

import codey
from codey.cli._io import stdout

if TYPE_CHECKING:
    from collections.abc import Mapping

    from codey._models import ModelInfo
    from codey.cli._config import Config
    from codey.cli._context import Run

__all__ = ["age", "check", "run_models"]

#: The exit status when ``--refresh`` finds no key to ask with (configuration).
_NOTHING_TO_REFRESH = 3


def run_models(run: Run) -> int:
    status = _refresh() if run.refresh else 0
    if status == _NOTHING_TO_REFRESH:
        return status
    if run.check_names is not None:
        return status or check(run.config, run.check_names or None)
    out = stdout()
    if run.as_json:
        _print_json(run.show_all)
    else:
        # codey.models() lists them grouped by provider, in codey.providers() order.
        names = codey.models(all=run.show_all)
        out.write("".join(f"{name}{_mark(name) if run.show_all else ''}\n" for name in names))
    out.flush()
    _cache_note()
    return status


def _print_json(everything: bool) -> None:
    import json

    import attrs

    from codey import _models

    out = stdout()
    for info in _models.table():
        if everything or info.status == "current":
            out.write(json.dumps(attrs.asdict(info), ensure_ascii=False) + "\n")


def _info(name: str) -> Optional[ModelInfo]:
    try:
        return codey.model_info(name)
    except codey.UnknownModelError:  # a config file's provider's name, say
        return None


def _mark(name: str) -> str:
    """What ``--all`` says after a name that is not current."""
    info = _info(name)
    if info is None or info.status in ("current", "unknown"):
        return ""
    if info.status == "legacy":
        return "  (legacy)"
    return f"  ({_retirement(info)})"


def _retirement(info: ModelInfo) -> str:
    """``retired 2026-05-15; replaced by grok-4.3, which answers for it``."""
    text = "retired" + (f" {info.retired_on}" if info.retired_on else "")
    if info.replacement:
        text += f"; replaced by {info.replacement}"
        if info.redirects:
            text += ", which answers for it"
    if info.redirects is False:
        text += "; the provider refuses it"
    return text


def age(fetched_at: str, now: Optional[float] = None) -> str:
    """How long ago an ISO time was, in the largest whole unit: ``3 hours ago``."""
    import datetime
    import time

    try:
        then = datetime.datetime.strptime(fetched_at, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return "at an unknown time"
    then = then.replace(tzinfo=datetime.timezone.utc)
    seconds = max(0, int((time.time() if now is None else now) - then.timestamp()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"


def _cache_note() -> None:
    """One line on standard error saying how old the cached provider lists are."""
    from codey import _models

    cached = _models.read_cache()
    if not cached:
        return
    times = {name: str(entry.get("fetched_at", "")) for name, entry in cached.items()}
    oldest = min(times.values())
    sys.stderr.write(
        f"codey: the model lists of {', '.join(times)} were fetched {age(oldest)} "
        f"({_models.cache_path()}); codey models --refresh fetches them again\n"
    )
    sys.stderr.flush()


def _refresh() -> int:
    """Ask each provider whose key is set; its result (or error) a line on standard error."""
    from codey import _refresh
    from codey.cli._exit import describe, exit_code

    providers = _refresh.targets()
    if not providers:
        sys.stderr.write(
            "codey: error: no provider's key is set, so no provider was asked "
            "(set OPENAI_API_KEY, XAI_API_KEY, ANTHROPIC_API_KEY...)\n"
        )
        return _NOTHING_TO_REFRESH
    status = 0
    for name, result in _refresh.refresh(providers):
        if isinstance(result, Exception):
            sys.stderr.write(f"codey: error: {name}: {describe(result)}\n")
            status = status or exit_code(result)
        else:
            sys.stderr.write(f"codey: {name}: {result} model{'s' if result != 1 else ''}\n")
    sys.stderr.flush()
    return status


def _named(config: Config, log: Optional[str], environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """(where, name) of every model name in use: $CODEY_MODEL, the config file's
    model, alias targets and ``[models.NAME]`` tables, and ``log``'s front matter."""
    named: list[tuple[str, str]] = []
    if environ.get("CODEY_MODEL"):
        named.append(("$CODEY_MODEL", environ["CODEY_MODEL"]))
    if config.model:
        named.append((f"{config.path}: model", config.model))
    named += [
        (f"{config.path}: [aliases] {alias}", target) for alias, target in config.aliases.items()
    ]
    named += [(f"{config.path}: [models.{name}]", name) for name in config.models]
    if log is not None:
        from codey._frontmatter import split_front_matter

        with open(log, encoding="utf-8") as file:
            settings, _ = split_front_matter(file.read())
        if settings.get("model"):
            named.append((f"{log}: front matter", settings["model"]))
    return named


def _problem(config: Config, name: str) -> Optional[str]:
    """What is wrong with a model name, or None when it is current (or legacy)."""
    try:
        info = codey.model_info(config.resolve(name))
    except codey.UnknownModelError:
        return f"{name} is unknown: no provider takes it (see codey models, codey providers)"
    if info.retired:
        return f"{name} is {_retirement(info)}"
    if not info.known and info.provider not in {p.name for p in config.providers}:
        return (
            f"{name} is not in codey's model table ({info.provider} may still serve it; "
            "codey models --refresh asks the providers)"
        )
    return None


def check(config: Config, log: Optional[str], environ: Optional[Mapping[str, str]] = None) -> int:
    """``codey models --check``: one line per retired or unknown name; 1 if any, else 0."""
    env = os.environ if environ is None else environ
    named = _named(config, log, env)
    out = stdout()
    problems = 0
    for where, name in named:
        problem = _problem(config, name)
        if problem:
            out.write(f"{where}: {problem}\n")
            problems += 1
    if not problems:
        count = len(named)
        out.write(f"every model named is current ({count} name{'s' if count != 1 else ''})\n")
    out.flush()
    return 1 if problems else 0
