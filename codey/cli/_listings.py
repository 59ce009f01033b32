"""What codey knows, listed: ``codey models``, ``providers``, ``config`` and ``completion``."""

from __future__ import annotations

import os
import re

import codey
from codey.cli._config import PRECEDENCE
from codey.cli._io import stdout

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Optional

    from codey.cli._config import Config
    from codey.cli._context import Run

__all__ = [
    "mask",
    "report",
    "run_completion",
    "run_config",
    "run_models",
    "run_providers",
    "run_tools",
]

#: How ``codey config`` words where the default model came from (``codey._request.default_model``).
_SOURCES = {
    "environment": "from $CODEY_MODEL",
    "config": "from the config file",
    "built-in": "built-in default",
}


#: What ``codey config`` says of a ``[models."NAME"]`` table that matches no model.
_UNMATCHED = "names no model codey knows, so it applies to nothing"


def run_models(run: Run) -> int:
    from codey.cli._models import run_models as list_models

    return list_models(run)


def run_providers(run: Run) -> int:
    out = stdout()
    out.write("".join(f"{name}\n" for name in codey.providers()))
    out.flush()
    return 0


def run_config(run: Run) -> int:
    import sys

    config = run.config
    out = stdout()
    out.write(config.path + "\n" if run.path else report(config))
    out.flush()
    if not run.path:
        for name in config.unmatched_models():
            sys.stderr.write(f"codey: warning: {config.path}: [models.{_key(name)}] {_UNMATCHED}\n")
    return 0


def run_tools(run: Run) -> int:
    """``codey tools``: what the functions and MCP servers given offer the model."""
    from codey.cli._tools import list_tools

    out = stdout()
    out.write(list_tools(run.offered(), run.as_json))
    out.flush()
    return 0


def run_completion(run: Run) -> int:
    from codey.cli._completion import completion_script
    from codey.cli._parser import build_parser

    config = run.config
    names = [*config.aliases, *codey.models(), *config.names()]
    out = stdout()
    assert run.shell is not None  # SHELL is required
    out.write(completion_script(run.shell, build_parser(), names))
    out.flush()
    return 0


def mask(secret: str) -> str:
    """A key as ``codey config`` shows it: its kind and last four characters at most."""
    if len(secret) < 16:
        return "*" * 8
    return f"{secret[:3]}...{secret[-4:]}"


def _toml(value: object) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return repr(value)


def _key(name: str) -> str:
    return name if re.match(r"^[A-Za-z0-9_-]+$", name) else _toml(name)


def report(config: Config, environ: Optional[Mapping[str, str]] = None) -> str:
    """What ``codey config`` prints: the file, and every setting in force with its source."""
    from codey import _providers
    from codey._request import default_model
    from codey._secrets import redact
    from codey.cli._status import DEFAULT_DELAY, env_status_delay

    env = os.environ if environ is None else environ
    state = "found" if config.exists else "not found: built-in defaults apply"
    lines = [
        "# codey configuration",
        f"# file: {config.path} (from {config.source}; {state})",
        f"# precedence: {PRECEDENCE}",
        "",
    ]
    model, origin = default_model(config.model, env)
    source = _SOURCES[origin]
    resolved = config.resolve(model)
    if resolved != model:
        source += f", an alias of {resolved}"
    lines.append(f"model = {_toml(model)}  # {source}")
    delay = env_status_delay(env)
    if delay is not None:
        source = "from $CODEY_STATUS_DELAY"
    elif config.status_delay is not None:
        delay, source = config.status_delay, "from the config file"
    else:
        delay, source = DEFAULT_DELAY, "built-in default"
    lines.append(f"status_delay = {_toml(delay)}  # {source}")
    if config.aliases:
        lines += ["", "[aliases]"]
        lines += [f"{_key(name)} = {_toml(target)}" for name, target in config.aliases.items()]
    if config.defaults:
        lines += ["", "[defaults]"]
        lines += [f"{key} = {_toml(value)}" for key, value in config.defaults.items()]
    unmatched = config.unmatched_models()
    for name, values in config.models.items():
        lines += ["", f"[models.{_key(name)}]"]
        if name in unmatched:
            lines[-1] += f"  # {_UNMATCHED}"
        lines += [f"{key} = {_toml(value)}" for key, value in values.items()]
    configured = {provider.name: provider for provider in config.providers}
    for provider in _providers.snapshot():
        lines += [
            "",
            f"[providers.{_key(provider.name)}]  # "
            + ("from the config file" if provider.name in configured else "built in"),
        ]
        lines.append(f"wire = {_toml(provider.wire)}")
        if env.get(provider.base_url_env):
            url, source = env[provider.base_url_env], f"from ${provider.base_url_env}"
        else:
            url = provider.default_base_url
            source = "from the config file" if provider.name in configured else "built-in default"
        if url:  # its password or ?key= shown no more than a key is
            lines.append(f"base_url = {_toml(redact(url))}  # {source}")
        else:  # no default (Azure): each resource has its own
            lines.append(f"# base_url: not set (set ${provider.base_url_env})")
        key = env.get(provider.key_env, "")
        if key:
            state = f"set: {mask(key)}"
        else:
            state = "not set" + ("" if provider.key_required else " (not needed)")
        lines.append(f"api_key_env = {_toml(provider.key_env)}  # {state}")
        if provider.name in configured:
            if provider.models:
                lines.append(f"models = {_toml(list(provider.models))}")
            if provider.prefixes:
                lines.append(f"prefix = {_toml(list(provider.prefixes))}")
    for name, spec in config.mcp_servers.items():
        lines += ["", f"[mcp_servers.{_key(name)}]"]
        if spec.url is not None:  # its password or ?key= shown no more than a key is
            lines.append(f"url = {_toml(redact(spec.url))}")
        else:
            lines.append(f"command = {_toml(redact(spec.command[0]))}")
            if spec.command[1:]:
                lines.append(f"args = {_toml([redact(arg) for arg in spec.command[1:]])}")
            if spec.cwd is not None:
                lines.append(f"cwd = {_toml(spec.cwd)}")
        for key, secrets in (("env", spec.env), ("headers", spec.headers)):
            if secrets:  # their names only
                lines.append(f"# {key}: {', '.join(secrets)} (values not shown)")
    return "\n".join(lines) + "\n"
