"""From flags, a chat log and the config file to one request: the model, its options, the output.

The precedence of every setting is ``flag > chat-log front matter >
environment > config file > built-in default`` (``_config.PRECEDENCE``); the
model's last three steps are the library's :func:`codey._request.default_model`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from codey._chatlog import Chat, ChatSettings
    from codey._types import Message
    from codey.cli._answer import Show
    from codey.cli._config import Config

__all__ = ["choose_model", "has_prompt", "model_options", "request_options", "show_for"]


def has_prompt(chat: Chat) -> bool:
    return any(message.role != "system" for message in chat.messages)


def choose_model(flag: Optional[str], chat: Chat, config: Config) -> str:
    """flag > the chat log's front matter > $CODEY_MODEL > config file > default; alias resolved."""
    from codey._request import default_model

    return config.resolve(flag or chat.settings.model or default_model(config.model)[0])


def request_options(
    args: argparse.Namespace, config: Config, model: str, chat: Chat
) -> dict[str, Any]:
    """The keywords for codey.stream(): the model, and only the options given."""
    options = model_options(args, config, model, chat.messages)
    schema = getattr(args, "schema", None)  # codey prompt --schema: already made a Schema
    if schema is not None:
        options["schema"] = schema
    return options


def model_options(
    args: argparse.Namespace, config: Config, model: str, messages: Sequence[Message]
) -> dict[str, Any]:
    """The model and the options given for it, for a conversation of ``messages``.

    Each setting is the flag, else the config file's (the model's own table,
    then [defaults]). A conversation with its own system message keeps it: the
    config file's system message is for conversations without one.
    """
    from codey.cli._config import MODEL_SETTINGS

    settings = config.settings_for(model)
    if any(message.role == "system" for message in messages):
        settings.pop("system", None)
    options: dict[str, Any] = {"model": model}
    for name in MODEL_SETTINGS:
        value = getattr(args, name, None)
        if name == "effort" and value is None:  # --reasoning-effort is its old name
            value = getattr(args, "reasoning_effort", None)
        elif name == "reasoning_effort":
            continue
        if value is None:
            value = settings.get(name)
        if value is not None:
            options[name] = value
    return options


def show_for(args: argparse.Namespace, config: Config, settings: Optional[ChatSettings]) -> Show:
    """What to print, and how, from the flags (``--chunk``, ``--events``, ``--usage``...)."""
    from codey.cli._answer import Show
    from codey.cli._status import status_delay

    mode = "chunk" if getattr(args, "chunk", False) else "text"
    if getattr(args, "events", False):
        mode = "events"
    return Show(
        mode=mode,
        add_delimiters=getattr(args, "add_delimiters", False),
        settings=settings,
        no_stream=getattr(args, "no_stream", False),
        reasoning=args.reasoning,
        usage=args.usage,
        stats=args.stats,
        cite=getattr(args, "cite", False),
        delay=status_delay(config.status_delay),
        schema=getattr(args, "schema", None) is not None,
    )
