"""The request options: one table, and everything about an option derives from it.

Each row names an option, its type, its check, its default and where it is
accepted: ``stream()``'s keywords (``KEYWORD``: every row), the command
line's request flags (``FLAG``), a config file's ``[defaults]`` and
``[models."NAME"]`` settings (``CONFIG``), a batch line's ``options``
(``LINE``), ``batch()``'s keywords passed on to every line (``BATCH``) and
the fields of the :class:`~codey._providers._base.RequestSpec` the providers
put on the wire (``SPEC``; a provider batch sends those). Adding an option is a row
here plus the wire code of the providers that send it.

Light on purpose: the command line reads it at start-up; nothing is imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, Optional

__all__ = [
    "APIS",
    "AUTO",
    "BATCH",
    "CONFIG",
    "EFFORTS",
    "FLAG",
    "KEYWORD",
    "LINE",
    "OPTIONS",
    "REASONING_EFFORTS",
    "SERVER_TOOLS",
    "SPEC",
    "Option",
    "check",
    "named",
    "overlay",
]

#: Where an option is accepted (see the module's docstring).
KEYWORD, FLAG, CONFIG, LINE, BATCH, SPEC = "keyword", "flag", "config", "line", "batch", "spec"

#: ``effort``'s values (and ``reasoning_effort``'s, its old name), from none to the most;
#: each model takes its own subset (its row of the model table says which).
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
#: The old name of :data:`EFFORTS` (names are never removed).
REASONING_EFFORTS = EFFORTS
#: ``first_chunk_timeout``'s default: the model table decides (``codey._request``).
AUTO = "auto"
#: ``api``'s values: Chat Completions or the Responses API (``codey._providers.APIS``).
APIS = ("chat", "responses")
#: The providers' own tools by codey's names, in ``tools=`` (``codey.ServerTool``) and
#: ``--server-tool``; each provider offers some (``codey._providers``).
SERVER_TOOLS = ("web_search", "web_fetch", "code_execution", "x_search")

Check = Callable[[str, Any], Any]


def _any(name: str, value: Any) -> Any:
    return value


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, not {value!r}")
    return value


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, not {value!r}")
    return value


def _non_negative_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, not {value!r}")
    return value


def _number(name: str, value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or value != value
        or value in (float("inf"), float("-inf"))
    ):
        raise ValueError(f"{name} must be a number, not {value!r}")
    return float(value)


def _non_negative(name: str, value: Any) -> float:
    if _number(name, value) < 0:
        raise ValueError(f"{name} must not be negative, not {value!r}")
    return float(value)


def _seconds(name: str, value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not 0 < value < float("inf")  # nan fails too
    ):
        raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
    return float(value)


def _seconds_or_auto(name: str, value: Any) -> Any:
    if value is None or value == AUTO:
        return value
    try:
        return _seconds(name, value)
    except ValueError:
        raise ValueError(
            f"{name} must be a positive number of seconds or {AUTO!r}, not {value!r}"
        ) from None


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be true or false, not {value!r}")
    return value


def _names(name: str, value: Any) -> Any:
    if isinstance(value, str):
        raise TypeError(f"{name} must be a list of model names, not a str")
    return value


def _one_of(*allowed: str) -> Check:
    def check(name: str, value: Any) -> str:
        if value not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
        return str(value)

    return check


class Option:
    """One request option: a row of :data:`OPTIONS`."""

    __slots__ = ("check", "choices", "default", "help", "metavar", "name", "type", "where")

    def __init__(
        self,
        name: str,
        type: str,
        check: Check,
        default: Any,
        where: frozenset[str],
        *,
        choices: tuple[str, ...] = (),
        help: str = "",
        metavar: Optional[str] = None,
    ) -> None:
        self.name = name
        #: The type as ``stream()``'s signature spells it (its test compares them).
        self.type = type
        #: ``check(name, value)``: the value (a number as a float), else ValueError/TypeError.
        self.check = check
        self.default = default
        self.where = where
        #: The allowed values of an enumerated option.
        self.choices = choices
        #: The command-line flag's help and metavar.
        self.help = help
        self.metavar = metavar

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def from_text(self, text: str) -> Any:
        """The value of a command-line flag's ``text``, checked (ValueError if wrong)."""
        value: Any = text
        try:
            if self.type.startswith("Optional[int]"):
                value = int(text)
            elif self.type.startswith(("Optional[float]", "Union[float")):
                value = float(text)
        except ValueError:
            pass  # the check words what is wrong with the text
        try:
            return self.check(self.name, value)
        except TypeError as exc:
            raise ValueError(str(exc)) from None

    def __repr__(self) -> str:
        return f"<Option {self.name}>"


def _row(name: str, type: str, check: Check, default: Any, *where: str, **flag: Any) -> Option:
    if "choices" in flag:
        check = _one_of(*flag["choices"])
    return Option(name, type, check, default, frozenset((KEYWORD, *where)), **flag)


_SHAPE = (FLAG, CONFIG, LINE, BATCH)  # the settings that can be written down as data

#: Every ``stream()`` keyword but the prompt. The first ten, in this order, and
#: ``effort`` are a config file's model settings and the command line's request flags.
OPTIONS: tuple[Option, ...] = (
    _row("system", "Optional[str]", _text, None, *_SHAPE, help="a system message", metavar="TEXT"),
    _row(
        "max_tokens",
        "Optional[int]",
        _positive_int,
        None,
        *_SHAPE,
        SPEC,
        help="the most tokens the answer may use (Anthropic's default: 4096)",
        metavar="N",
    ),
    _row(
        "temperature",
        "Optional[float]",
        _non_negative,
        None,
        *_SHAPE,
        SPEC,
        help="the sampling temperature",
        metavar="T",
    ),
    _row(
        "chunk_timeout",
        "Optional[float]",
        _seconds,
        15.0,
        *_SHAPE,
        help="give up when the server sends nothing for this long once the answer "
        "has begun (default: 15)",
        metavar="SECONDS",
    ),
    _row(
        "connect_timeout",
        "Optional[float]",
        _seconds,
        30.0,
        *_SHAPE,
        help="give up when the answer has not begun after this long (default: 30)",
        metavar="SECONDS",
    ),
    _row(
        "deadline",
        "Optional[float]",
        _seconds,
        None,
        *_SHAPE,
        help="give up when the whole answer, retries included, takes longer than this "
        "(exit status 5)",
        metavar="SECONDS",
    ),
    _row(
        "reasoning_effort",
        "Optional[str]",
        _any,
        None,
        *_SHAPE,
        SPEC,
        choices=EFFORTS,
        help="the old name of --effort, the same setting",
        metavar="EFFORT",
    ),
    _row(
        "thinking_budget",
        "Optional[int]",
        _positive_int,
        None,
        *_SHAPE,
        SPEC,
        help="turn on Anthropic extended thinking with this many tokens (at least 1024), "
        "for the models that take a budget (the others take --effort)",
        metavar="TOKENS",
    ),
    _row(
        "cache",
        "bool",
        _flag,
        False,
        *_SHAPE,
        SPEC,
        help="mark the prompt for Anthropic's prompt cache (the system prompt and the "
        "conversation so far), so that a later request with the same start costs less; "
        "OpenAI-style services cache long prompts by themselves. --usage shows the "
        "tokens read from and written to the cache",
    ),
    _row(
        "api",
        "Optional[str]",
        _any,
        None,
        FLAG,
        CONFIG,
        LINE,
        BATCH,
        choices=APIS,
        help="the API for an OpenAI or xAI model: chat (Chat Completions) or responses; "
        "default: the one the model table names for the model (responses for OpenAI's "
        "reasoning models and xAI's Grok models)",
    ),
    _row("model", "Optional[str]", _text, None),
    _row("api_key", "Optional[str]", _text, None, BATCH),
    _row("base_url", "Optional[str]", _text, None, BATCH),
    _row("retries", "int", _non_negative_int, 2, LINE, BATCH),
    _row("session", "Optional[requests.Session]", _any, None, BATCH),
    _row("fallbacks", "Sequence[str]", _names, (), LINE, BATCH),
    _row("cancel", "Optional[threading.Event]", _any, None),
    _row("schema", "Any", _any, None, LINE, BATCH),
    _row("attachments", "Sequence[Attachment]", _any, ()),
    _row("tools", "Sequence[Union[Tool, ServerTool, str, Callable[..., Any], MCP]]", _any, ()),
    _row("run_tools", "bool", _flag, False),
    _row("max_tool_rounds", "int", _positive_int, 5),
    _row("on_response", "Optional[Callable[[int, Mapping[str, str]], None]]", _any, None),
    _row(
        "effort",
        "Optional[str]",
        _any,
        None,
        *_SHAPE,
        SPEC,
        choices=EFFORTS,
        help="how hard a reasoning model thinks: " + ", ".join(EFFORTS) + "; each model "
        "takes its own values (codey models --json lists them) and codey sends it in "
        "the provider's form",
        metavar="EFFORT",
    ),
    _row(
        "first_chunk_timeout",
        "Union[float, Literal['auto'], None]",
        _seconds_or_auto,
        AUTO,
        *_SHAPE,
        help="give up when the model sends no content (text, reasoning or a tool call) for "
        "this long once the response began; chunk_timeout applies after it (default: "
        "chunk_timeout, or 600 for a model that reasons)",
        metavar="SECONDS",
    ),
)

_BY_NAME = {option.name: option for option in OPTIONS}


def named(where: str) -> tuple[str, ...]:
    """The names of the options accepted ``where`` (``FLAG``, ``CONFIG``...), in table order."""
    return tuple(option.name for option in OPTIONS if where in option.where)


#: Settings that are one by two names: a new name and its old one.
_SAME = ("effort", "reasoning_effort")


def overlay(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over``'s options over ``base``'s (a batch line's over ``batch()``'s keywords);
    ``effort`` given by either name in ``over`` replaces it by both in ``base``."""
    if any(over.get(name) is not None for name in _SAME):
        base = {name: value for name, value in base.items() if name not in _SAME}
    return {**base, **over}


def check(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` checked, each by its row (a number as a float); ``None`` passes for an
    optional one (not given, or no limit for a timeout)."""
    checked = dict(options)
    for name, value in options.items():
        option = _BY_NAME[name]
        if value is None and (option.default is None or option.type.startswith("Optional[")):
            continue
        checked[name] = option.check(name, value)
    effort, old = checked.get("effort"), checked.get("reasoning_effort")
    if effort is not None and old is not None and effort != old:
        raise ValueError(
            f"effort={effort!r} and reasoning_effort={old!r} differ: they are one setting "
            "(reasoning_effort is its old name); give one"
        )
    return checked
