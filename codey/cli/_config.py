"""The command line's configuration file, ``config.toml``.

Where it is: ``$CODEY_CONFIG`` when set (the file must then exist), else
``$XDG_CONFIG_HOME/codey/config.toml``, else ``~/.config/codey/config.toml``
(a missing default file means no configuration). What it holds::

    model = "sonnet"            # the default model (an alias is fine)
    status_delay = 3            # seconds without text before the status line

    [aliases]
    sonnet = "claude-sonnet-4-6"

    [defaults]                  # request settings for every model
    chunk_timeout = 30

    [models."claude-sonnet-4-6"]  # request settings for one model
    max_tokens = 8000
    system = "Answer briefly."

    [providers.together]        # another service (or a change to a built-in one)
    wire = "chat"               # the wire format: "chat", "messages" or "responses"
    base_url = "https://api.together.xyz/v1"
    api_key_env = "TOGETHER_API_KEY"
    models = ["meta-llama/Llama-3.3-70B-Instruct-Turbo"]   # and/or prefix = "..."

    [mcp_servers.git]           # an MCP server for --mcp git (an mcpServers entry's keys)
    command = "uvx"
    args = ["mcp-server-git"]

Precedence, highest first: a command-line flag, the chat log's front matter,
the environment (``CODEY_MODEL``, ``*_API_KEY``, ``*_BASE_URL``), this file,
the built-in default. Anything wrong in the file is a :class:`ConfigError`
naming the file and the line (``_configfile`` reads and checks it). Only the
command line reads this file; the library never does.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Callable, Optional

from codey._errors import CodeyError
from codey._options import APIS, CONFIG, REASONING_EFFORTS, named

TYPE_CHECKING = False
if TYPE_CHECKING:
    from codey._providers._base import Provider, Service
    from codey.cli._mcp import ServerSpec

__all__ = [
    "APIS",
    "MODEL_SETTINGS",
    "PRECEDENCE",
    "REASONING_EFFORTS",
    "Config",
    "ConfigError",
    "ProviderConfig",
    "read_text",
]

PRECEDENCE = "flag > chat-log front matter > environment > config file > built-in default"

#: The request settings ``[defaults]`` and ``[models."NAME"]`` may hold (checks: the table's).
MODEL_SETTINGS = named(CONFIG)


class ConfigError(CodeyError, ValueError):
    """The configuration file cannot be used; the message names the file and the line."""

    path: Optional[str] = None
    line: Optional[int] = None


class ProviderConfig:
    """A ``[providers.NAME]`` table: the service to register, and its models as written."""

    __slots__ = ("models", "service")

    def __init__(self, service: Service, models: tuple[str, ...]) -> None:
        #: The provider as the library registers it (its ``models`` are ``NAME:model``).
        self.service = service
        #: The model names as written in the file (without ``NAME:``).
        self.models = models

    @property
    def name(self) -> str:
        return self.service.name

    def build(self) -> Provider:
        """The provider object for ``codey._providers.register_all()``."""
        from codey import _providers

        return _providers.build(self.service)


class Config:
    """What the configuration file says (empty when there is no file)."""

    def __init__(
        self,
        path: str,
        source: str,
        exists: bool,
        data: Optional[Mapping[str, Any]] = None,
        providers: tuple[ProviderConfig, ...] = (),
    ) -> None:
        data = data or {}
        #: The file's path, whether or not it exists.
        self.path = path
        #: Where the path came from: ``$CODEY_CONFIG``, ``$XDG_CONFIG_HOME`` or ``~/.config``.
        self.source = source
        self.exists = exists
        self.model: Optional[str] = data.get("model")
        self.status_delay: Optional[float] = data.get("status_delay")
        self.aliases: dict[str, str] = dict(data.get("aliases", {}))
        self.defaults: dict[str, Any] = dict(data.get("defaults", {}))
        self.models: dict[str, dict[str, Any]] = {
            name: dict(values) for name, values in data.get("models", {}).items()
        }
        self.providers = providers
        #: The ``[mcp_servers.NAME]`` tables, checked (``--mcp NAME`` names one).
        self.mcp_servers: dict[str, ServerSpec] = dict(data.get("mcp_servers", {}))

    def resolve(self, name: str) -> str:
        """The model an alias (or a bare model name of a configured provider) stands for."""
        name = self.aliases.get(name, name)
        if ":" not in name:
            for provider in self.providers:
                if name in provider.models:
                    return f"{provider.name}:{name}"
        return name

    def settings_for(self, model: str) -> dict[str, Any]:
        """``[defaults]`` overlaid with the model's own tables.

        A ``[models."NAME"]`` table is the model's however it names it: an alias,
        a provider's bare model name or ``provider:model``. Where two tables of
        one model set a key, the later in the file wins.
        """
        settings = dict(self.defaults)
        wanted = self.identity(model)
        for name, values in self.models.items():
            if self.identity(name) == wanted:
                settings.update(values)
        return settings

    def identity(self, name: str) -> str:
        """The model ``name`` stands for, the same for each of its names:
        ``provider:model`` when a provider has it, else ``name`` resolved."""
        return self._known(name) or self.resolve(name)

    def _known(self, name: str) -> Optional[str]:
        from codey import _providers
        from codey._errors import UnknownModelError

        try:
            provider, api_model = _providers.resolve(self.resolve(name))
        except UnknownModelError:
            return None
        return f"{provider.name}:{api_model}"

    def unmatched_models(self) -> list[str]:
        """The ``[models."NAME"]`` tables that name no model a provider has: they
        apply to nothing (with the file's providers registered, see :meth:`apply`)."""
        return [name for name in self.models if self._known(name) is None]

    def names(self) -> list[str]:
        """The names this file adds for ``--model``: aliases, and its providers' bare models."""
        names = list(self.aliases)
        for provider in self.providers:
            names += [model for model in provider.models if model not in names]
        return names

    def apply(self) -> Callable[[], None]:
        """Register the file's providers; return a function that undoes it."""
        if not self.providers:
            return _nothing
        from codey import _providers

        return _providers.register_all([provider.build() for provider in self.providers])


def read_text(path: str) -> str:
    """The file's text: a regular file, at most the input limit (as a chat log):
    the config file, or an ``--mcp`` file."""
    import stat

    from codey.cli._io import max_input

    with open(path, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):  # /dev/zero would never end
            raise ConfigError(
                f"{path}: not a regular file; a configuration file must be one", path=path
            )
        limit = max_input()
        data = file.read(limit + 1)
    if len(data) > limit:
        from codey.cli._io import too_big

        raise ConfigError(str(too_big(path, limit)), path=path)
    return data.decode("utf-8-sig")


def _nothing() -> None:
    return None
