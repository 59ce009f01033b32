"""Reading and checking ``config.toml``: where it is, and an error naming the line for each fault.

The file's layout is documented in :mod:`codey.cli._config`; :func:`load`
returns its :class:`~codey.cli._config.Config`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, Optional

from codey._errors import UnknownModelError
from codey.cli._config import MODEL_SETTINGS, Config, ConfigError, ProviderConfig, read_text

TYPE_CHECKING = False
if TYPE_CHECKING:
    from codey._providers._base import Service
    from codey.cli._mcp import ServerSpec

__all__ = ["config_path", "load"]

_TOP_KEYS = (
    "model",
    "status_delay",
    "aliases",
    "defaults",
    "models",
    "providers",
    "mcp_servers",
)
_PROVIDER_KEYS = (
    "wire",
    "kind",  # wire's old name, with its old values ("openai"...): still read
    "base_url",
    "api_key_env",
    "base_url_env",
    "key_required",
    "models",
    "prefix",
    "max_tokens_field",
    "include_usage",
    "api_key_header",
    "attachments",
)
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def config_path(environ: Optional[Mapping[str, str]] = None) -> tuple[str, str]:
    """The configuration file's path and where it came from (see the module docs)."""
    env = os.environ if environ is None else environ
    explicit = env.get("CODEY_CONFIG")
    if explicit:
        return os.path.abspath(os.path.expanduser(explicit)), "$CODEY_CONFIG"
    xdg = env.get("XDG_CONFIG_HOME")
    if xdg and os.path.isabs(xdg):
        return os.path.join(xdg, "codey", "config.toml"), "$XDG_CONFIG_HOME"
    return os.path.join(os.path.expanduser("~"), ".config", "codey", "config.toml"), "~/.config"


def load(environ: Optional[Mapping[str, str]] = None) -> Config:
    """Read and check the configuration file.

    Raises:
        ConfigError: ``$CODEY_CONFIG`` names a missing file, or the file cannot
            be read, is not TOML, or holds a wrong key or value.
    """
    path, source = config_path(environ)
    if path == os.devnull:  # CODEY_CONFIG=/dev/null: no config file at all
        return Config(path, source, exists=False)
    try:
        text = read_text(path)
    except FileNotFoundError:
        if source == "$CODEY_CONFIG":
            raise ConfigError(
                f"{path}: no such configuration file (named by CODEY_CONFIG)", path=path
            ) from None
        return Config(path, source, exists=False)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(
            f"{path}: cannot read the configuration file: {reason}", path=path
        ) from exc
    return _Checker(path, text).check(source)


class _Checker:
    """Parses the file and checks every key, naming the line of anything wrong."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        self.lines = text.replace("\r\n", "\n").split("\n")

    def error(self, line: Optional[int], message: str) -> ConfigError:
        where = f"{self.path}, line {line}" if line else self.path
        return ConfigError(f"{where}: {message}", path=self.path, line=line)

    def check(self, source: str) -> Config:
        from codey._compat import load_toml, toml_decode_error, toml_error_details

        try:
            data = load_toml(self.text)
        except toml_decode_error() as exc:
            lineno, reason = toml_error_details(exc, self.text)
            raise self.error(lineno, f"invalid TOML: {reason}") from exc
        for key in data:
            if key not in _TOP_KEYS:
                raise self.error(
                    self.line_of((), key),
                    f"unknown setting {key!r} (known: {', '.join(_TOP_KEYS)})",
                )
        if "model" in data:
            self.string(data["model"], (), "model")
        if "status_delay" in data:
            data["status_delay"] = self.seconds(data["status_delay"], (), "status_delay", zero=True)
        aliases = self.table(data, "aliases")
        for name, target in aliases.items():
            if isinstance(target, dict):  # gpt-4.1 = ... is TOML's dotted key gpt-4 . 1
                dotted = next(iter(target), "")
                raise self.error(
                    self.line_of(("aliases",), name),
                    f"{name} must be a string, not a table: a name with a dot must be "
                    f'quoted ("{name}.{dotted}" = ...)',
                )
            self.string(target, ("aliases",), name)
        data["defaults"] = self.model_settings(self.table(data, "defaults"), ("defaults",))
        models = self.table(data, "models")
        for name in models:
            where = ("models", name)
            if not isinstance(models[name], dict):
                raise self.error(self.line_of(("models",), name), f"models.{name} must be a table")
            models[name] = self.model_settings(models[name], where)
        providers = tuple(
            self.provider(name, value) for name, value in self.table(data, "providers").items()
        )
        servers = {}
        for name, value in self.table(data, "mcp_servers").items():
            spec = self.mcp_server(name, value)
            if spec is not None:  # not disabled
                servers[name] = spec
        data["mcp_servers"] = servers
        return Config(self.path, source, exists=True, data=data, providers=providers)

    # -- the parts

    def table(self, data: dict[str, Any], key: str) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise self.error(self.line_of((), key), f"{key} must be a table ([{key}])")
        return value

    def model_settings(self, values: dict[str, Any], where: tuple[str, ...]) -> dict[str, Any]:
        from codey import _options

        checked: dict[str, Any] = {}
        for key, value in values.items():
            if key not in MODEL_SETTINGS:
                raise self.error(
                    self.line_of(where, key),
                    f"unknown setting {key!r} in [{_dotted(where)}] "
                    f"(known: {', '.join(MODEL_SETTINGS)})",
                )
            try:  # the table's check, the library's and the flag's
                checked.update(_options.check({key: value}))
                _options.check(checked)  # effort and its old name, reasoning_effort, agree
            except (ValueError, TypeError) as exc:
                raise self.error(self.line_of(where, key), str(exc)) from None
        if "reasoning_effort" in checked:  # one setting: a later table's effort overrides it
            checked["effort"] = checked.pop("reasoning_effort")
        return checked

    def provider(self, name: str, value: object) -> ProviderConfig:
        where = ("providers", name)
        if not isinstance(value, dict):
            raise self.error(
                self.line_of(("providers",), name), f"providers.{name} must be a table"
            )
        if not _NAME_RE.match(name) or ":" in name:
            raise self.error(
                self.line_of(("providers",), name),
                f"a provider name is letters, digits, '.', '_' and '-', not {name!r}",
            )
        for key in value:
            if key not in _PROVIDER_KEYS:
                raise self.error(
                    self.line_of(where, key),
                    f"unknown setting {key!r} in [providers.{name}] "
                    f"(known: {', '.join(_PROVIDER_KEYS)})",
                )
        builtin = _builtin(name)  # its Service, or None

        def inherited(field: str) -> Any:
            # What the table does not say: the built-in service's, else Service's default.
            return getattr(builtin, field) if builtin is not None else _service_default(field)

        from codey._providers._base import OLD_KINDS, WIRES, wire_of

        if "wire" in value and "kind" in value:
            raise self.error(
                self.line_of(where, "kind"),
                f"providers.{name} has both wire and kind (its old name): keep wire",
            )
        key = "kind" if "kind" in value else "wire"
        wire = value.get(key, getattr(builtin, "wire", None))
        if wire is None:
            raise self.error(
                self.line_of(("providers",), name),
                f"providers.{name} needs wire = {_named(WIRES)} (its wire format)",
            )
        if not isinstance(wire, str) or wire_of(wire) not in WIRES:
            named = _named(tuple(OLD_KINDS) if key == "kind" else WIRES)
            raise self.error(self.line_of(where, key), f"{key} must be {named}, not {wire!r}")
        base_url = value.get("base_url", getattr(builtin, "default_base_url", None))
        if base_url is None:
            raise self.error(
                self.line_of(("providers",), name), f"providers.{name} needs a base_url"
            )
        base_url = self.string(base_url, where, "base_url", empty=builtin is not None)
        if base_url and not base_url.startswith(("http://", "https://")):
            raise self.error(
                self.line_of(where, "base_url"),
                f"base_url must start with http:// or https://, not {base_url!r}",
            )
        env_name = re.sub(r"[^A-Z0-9]", "_", name.upper())
        key_env = self.string(
            value.get("api_key_env", getattr(builtin, "key_env", f"{env_name}_API_KEY")),
            where,
            "api_key_env",
        )
        key_required = value.get(
            "key_required", getattr(builtin, "key_required", "api_key_env" in value)
        )
        if not isinstance(key_required, bool):
            raise self.error(
                self.line_of(where, "key_required"), "key_required must be true or false"
            )
        models = value.get("models", ())
        if isinstance(models, str) or not isinstance(models, (list, tuple)):
            raise self.error(self.line_of(where, "models"), "models must be a list of names")
        for model in models:
            self.string(model, where, "models")
        prefixes = value.get("prefix", ())
        if isinstance(prefixes, str):
            prefixes = (prefixes,)
        if not isinstance(prefixes, (list, tuple)):
            raise self.error(
                self.line_of(where, "prefix"), "prefix must be a string or a list of strings"
            )
        for prefix in prefixes:
            self.string(prefix, where, "prefix")
        registered = tuple(f"{name}:{model}" for model in models)
        if builtin is not None and "models" not in value:
            registered = tuple(builtin.models)
        if builtin is not None and "prefix" not in value:
            prefixes = tuple(builtin.prefixes)
        include_usage = value.get("include_usage", inherited("include_usage"))
        if not isinstance(include_usage, bool):
            raise self.error(
                self.line_of(where, "include_usage"), "include_usage must be true or false"
            )
        from codey._attachments import KNOWN_TYPES
        from codey._providers._base import Service

        attachments = value.get("attachments", inherited("attachments"))
        if isinstance(attachments, str) or not isinstance(attachments, (list, tuple)):
            raise self.error(
                self.line_of(where, "attachments"), "attachments must be a list of types"
            )
        for mime in attachments:
            if mime not in KNOWN_TYPES:
                raise self.error(
                    self.line_of(where, "attachments"),
                    f"attachments: {mime!r} is not one of {', '.join(KNOWN_TYPES)}",
                )
        service = Service(
            name,
            wire,
            key_env=key_env,
            base_url_env=self.string(
                value.get("base_url_env", getattr(builtin, "base_url_env", f"{env_name}_BASE_URL")),
                where,
                "base_url_env",
            ),
            default_base_url=base_url,
            prefixes=tuple(prefixes),
            models=registered,
            key_required=key_required,
            max_tokens_field=self.string(
                value.get("max_tokens_field", inherited("max_tokens_field")),
                where,
                "max_tokens_field",
            ),
            # A field named here is sent to every host.
            max_tokens_field_host=None
            if "max_tokens_field" in value
            else inherited("max_tokens_field_host"),
            include_usage=include_usage,
            # What a table cannot say yet is the built-in service's (Azure's path and version).
            chat_path=inherited("chat_path"),
            api_version_env=inherited("api_version_env"),
            api_version=inherited("api_version"),
            api_key_header=self.header(value, where, inherited("api_key_header")),
            structured_output=inherited("structured_output"),
            attachments=tuple(attachments),
        )
        return ProviderConfig(service, tuple(models))

    def mcp_server(self, name: str, value: object) -> Optional[ServerSpec]:
        """A ``[mcp_servers.NAME]`` table: the keys of an ``mcpServers`` entry (``_mcp``)."""
        from codey.cli._mcp import KEYS, EntryError, server

        where = ("mcp_servers", name)
        if not isinstance(value, dict):
            raise self.error(
                self.line_of(("mcp_servers",), name), f"mcp_servers.{name} must be a table"
            )
        for key in value:
            if key not in KEYS:
                raise self.error(
                    self.line_of(where, key),
                    f"unknown setting {key!r} in [mcp_servers.{_dotted((name,))}] "
                    f"(known: {', '.join(KEYS)})",
                )
        try:
            label = f"{self.path}: [mcp_servers.{_dotted((name,))}]"
            return server(name, value, self.path, label)
        except EntryError as exc:
            line = self.line_of(where, exc.key) if exc.key else self.line_of(("mcp_servers",), name)
            raise self.error(line, f"[mcp_servers.{_dotted((name,))}]: {exc}") from None

    # -- values

    def string(self, value: object, where: tuple[str, ...], key: str, empty: bool = False) -> str:
        if not isinstance(value, str):
            raise self.error(
                self.line_of(where, key), f"{key} must be a string, not {_toml_type(value)}"
            )
        if not value and not empty:
            raise self.error(self.line_of(where, key), f"{key} must not be empty")
        return value

    def header(
        self, table: dict[str, Any], where: tuple[str, ...], default: Optional[str]
    ) -> Optional[str]:
        """``api_key_header``: the header that carries the key as it is, instead of Bearer."""
        if "api_key_header" not in table:
            return default
        name = self.string(table["api_key_header"], where, "api_key_header")
        if not re.fullmatch(r"[A-Za-z0-9-]+", name):
            raise self.error(
                self.line_of(where, "api_key_header"),
                f"api_key_header must be a header name (letters, digits, '-'), not {name!r}",
            )
        return name

    def number(self, value: object, where: tuple[str, ...], key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise self.error(
                self.line_of(where, key), f"{key} must be a number, not {_toml_type(value)}"
            )
        return float(value)

    def seconds(self, value: object, where: tuple[str, ...], key: str, zero: bool = False) -> float:
        number = self.number(value, where, key)
        if number < 0 or (number == 0 and not zero) or number == float("inf"):
            raise self.error(
                self.line_of(where, key),
                f"{key} must be a positive number of seconds, not {value!r}",
            )
        return number

    def line_of(self, table: tuple[str, ...], key: str) -> Optional[int]:
        """The line that sets ``key`` in ``table`` (best effort: tomllib keeps no positions)."""
        path = [*table, key]
        headers = [
            (index, _header_names(line.strip()))
            for index, line in enumerate(self.lines)
            if line.strip().startswith("[")
        ]
        # A table's own header: [aliases], [providers.together], [models."gpt-4.1"].
        for index, names in headers:
            if names[: len(path)] == path:
                return index + 1
        # A key under its table's header (top-level keys come before any header).
        key_re = re.compile(
            rf"^\s*(?:\"{re.escape(key)}\"|'{re.escape(key)}'|{re.escape(key)})\s*[=.]"
        )
        starts = [index for index, names in headers if names == list(table)] if table else [-1]
        for start in starts:
            for index in range(start + 1, len(self.lines)):
                if self.lines[index].strip().startswith("["):
                    break
                if key_re.match(self.lines[index]):
                    return index + 1
        # A dotted key or an inline table: a line that names the key (and its table).
        anywhere = re.compile(rf"(?:^|[\s.{{,\"']){re.escape(key)}[\"']?\s*[=.]")
        found = [index + 1 for index, line in enumerate(self.lines) if anywhere.search(line)]
        if table:
            for number in found:
                if table[-1] in self.lines[number - 1]:
                    return number
        return found[0] if found else None


def _header_names(header: str) -> list[str]:
    """``[models."gpt-4.1"]`` -> ``["models", "gpt-4.1"]``."""
    inner = header.strip("[] \t")
    names = re.findall(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([^.\s"\']+)', inner)
    return [a or b or c for a, b, c in names]


def _dotted(where: tuple[str, ...]) -> str:
    return ".".join(
        part if _NAME_RE.match(part) and "." not in part else f'"{part}"' for part in where
    )


def _toml_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, float) and value != value:
        return "nan"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _service_default(field: str) -> Any:
    """A ``Service`` field's own default (one home: the class, not restated here)."""
    import attrs

    from codey._providers._base import Service

    default: Any = attrs.fields_dict(Service)[field].default
    factory = getattr(default, "factory", None)  # an attrs.Factory
    return factory() if callable(factory) else default


def _builtin(name: str) -> Optional[Service]:
    """The description of the built-in provider of that name, or None."""
    from codey import _providers

    try:
        return _providers.get(name).service
    except UnknownModelError:
        return None


def _named(values: tuple[str, ...]) -> str:
    """``"chat", "messages" or "responses"``."""
    names = [f'"{value}"' for value in values]
    return ", ".join(names[:-1]) + " or " + names[-1]
