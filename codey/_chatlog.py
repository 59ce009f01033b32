"""Chat-log files: Markdown conversations with optional front matter.

A chat log is what ``codey save`` writes and ``codey prompt`` reads::

    +++
    model = "o3"
    +++

    what is the capital of france?

    # === ASSISTANT ===

    The capital of France is Paris.

    # === USER ===

    what about the UK?

The rules, in the order :func:`parse_chat` applies them:

- CRLF (and lone CR) line endings read as LF; a leading byte-order mark is
  ignored.
- Optional front matter at the very start: TOML between ``+++`` lines or YAML
  between ``---`` lines. Its camelCase keys (``model``, ``delimiterPrefix``,
  ``delimiterSuffix``, ``userDelimiter``, ``assistantDelimiter``,
  ``systemDelimiter``) are those of the original tool; unknown keys are
  ignored. Front matter that cannot be read is a :class:`~codey.ChatLogError`
  naming the line, never a silent fallback to the defaults.
- A delimiter is prefix + name + suffix (``"\\n\\n# === USER ===\\n\\n"`` by
  default). Where a section begins (at the very start of the text, or right
  after another delimiter, blank lines between allowed) a delimiter counts
  without its prefix; at the very end of the text it counts without its
  suffix.
- Text before the first delimiter is a user message. Sections that hold only
  whitespace are dropped, adjacent sections of the same role stay separate
  messages, and every message is stripped of surrounding whitespace.
- Lines of the form ``<!-- codey: ... -->`` are notes for the reader (``codey
  save`` leaves one where a stream was interrupted); the parser drops them.

This module does no I/O. The front-matter parsers load only when a file has
front matter.
"""

from __future__ import annotations

import re
from typing import Any, Optional

import attrs

from codey._errors import ChatLogError
from codey._types import Message

__all__ = ["Chat", "ChatSettings", "interrupted_note", "parse_chat"]

#: The roles a section can have, in the order their delimiters are tried.
_ROLES = ("system", "user", "assistant")

#: Front-matter key (camelCase, as in the original tool) -> ChatSettings attribute.
_KEYS = {
    "model": "model",
    "delimiterPrefix": "delimiter_prefix",
    "delimiterSuffix": "delimiter_suffix",
    "userDelimiter": "user_delimiter",
    "assistantDelimiter": "assistant_delimiter",
    "systemDelimiter": "system_delimiter",
}

#: A reader's note that the parser drops: ``<!-- codey: ... -->`` on its own line.
_NOTE_RE = re.compile(r"^[ \t]*<!--[ \t]*codey:.*?-->[ \t]*(?:\n|$)", re.MULTILINE)
_BLANK_LINES_RE = re.compile(r"(?:[ \t]*\n)*")


@attrs.frozen
class ChatSettings:
    """How a chat log is written: the model and the delimiters between messages.

    The attributes are the snake_case forms of the front-matter keys.
    """

    #: The model named in the front matter, or ``None``.
    model: Optional[str] = None
    delimiter_prefix: str = "\n\n"
    delimiter_suffix: str = "\n\n"
    user_delimiter: str = "# === USER ==="
    assistant_delimiter: str = "# === ASSISTANT ==="
    system_delimiter: str = "# === SYSTEM ==="

    def name(self, role: str) -> str:
        """The delimiter's name for ``role``, such as ``"# === USER ==="``."""
        if role == "user":
            return self.user_delimiter
        if role == "assistant":
            return self.assistant_delimiter
        if role == "system":
            return self.system_delimiter
        raise ValueError(f"role must be one of {', '.join(_ROLES)}, not {role!r}")

    def delimiter(self, role: str) -> str:
        """The full delimiter that opens a ``role`` section: prefix + name + suffix."""
        return self.delimiter_prefix + self.name(role) + self.delimiter_suffix


@attrs.frozen
class Chat:
    """A parsed chat log: the conversation and the settings it was written with."""

    messages: list[Message]
    settings: ChatSettings = ChatSettings()


def interrupted_note(reason: str) -> str:
    """A one-line note, dropped by the parser, saying why an answer stopped early."""
    # Keep the note one line long and the comment closed, whatever the reason says.
    reason = " ".join(reason.split()).replace("--", "- -") or "unknown reason"
    return f"<!-- codey: interrupted: {reason} -->"


def parse_chat(text: str) -> Chat:
    """Parse a chat log into its messages and settings.

    Args:
        text: the whole chat log, front matter included.

    Raises:
        ChatLogError: the front matter is invalid (unterminated, not TOML or
            YAML, not a table, or a setting of the wrong type). The message
            names the line, also kept in ``.line``.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_chat() takes a str, not {type(text).__name__}")
    # Universal newlines, as Python's text files read them: CRLF and CR are LF.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.startswith("\ufeff"):
        text = text[1:]
    settings, body = _split_front_matter(text)
    messages = [
        Message(role, content)
        for role, content in (
            (role, _NOTE_RE.sub("", section).strip()) for role, section in _sections(body, settings)
        )
        if content
    ]
    return Chat(messages=messages, settings=settings)


# -- front matter -------------------------------------------------------------


def _split_front_matter(text: str) -> tuple[ChatSettings, str]:
    """Split off and read the front matter; return the settings and the rest."""
    lines = text.split("\n")
    fence = lines[0].rstrip()
    if fence not in ("+++", "---"):
        return ChatSettings(), text
    kind = "TOML" if fence == "+++" else "YAML"
    for index in range(1, len(lines)):
        if lines[index].rstrip() == fence:
            close = index
            break
    else:
        raise _error(1, f"the {kind} front matter opened on line 1 is never closed by {fence!r}")
    source = "\n".join(lines[1:close])
    data = _load_toml(source) if kind == "TOML" else _load_yaml(source)
    settings = _settings(data, kind, lines[1:close])
    return settings, "\n".join(lines[close + 1 :])


def _error(line: int, message: str) -> ChatLogError:
    return ChatLogError(f"invalid chat log: line {line}: {message}", line=line)


def _load_toml(source: str) -> object:
    from codey._compat import load_toml, toml_decode_error, toml_error_details

    try:
        return load_toml(source)
    except toml_decode_error() as exc:
        # The front matter starts on line 2 of the file.
        lineno, reason = toml_error_details(exc, source)
        raise _error(lineno + 1, f"invalid TOML front matter: {reason}") from exc


def _load_yaml(source: str) -> object:
    try:
        import yaml
    except ImportError:
        raise _error(1, "YAML front matter needs PyYAML: pip install 'codey[yaml]'") from None
    try:
        return yaml.safe_load(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        lineno = mark.line + 1 if mark is not None else 1
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise _error(lineno + 1, f"invalid YAML front matter: {reason}") from exc


def _settings(data: object, kind: str, lines: list[str]) -> ChatSettings:
    """Check the front matter's values and turn them into settings."""
    if data is None:
        return ChatSettings()
    if not isinstance(data, dict):
        raise _error(
            2, f"the {kind} front matter must be a table of settings, not {type(data).__name__}"
        )
    values: dict[str, Any] = {}
    for key, attribute in _KEYS.items():
        if key not in data or (data[key] is None and key == "model"):
            continue
        value = data[key]
        if not isinstance(value, str):
            raise _error(
                _key_line(key, lines), f"{key} must be a string, not {type(value).__name__}"
            )
        if not value and key != "delimiterPrefix" and key != "delimiterSuffix":
            raise _error(_key_line(key, lines), f"{key} must not be empty")
        values[attribute] = value
    settings = ChatSettings(**values)
    names = [settings.name(role) for role in _ROLES]
    if len(set(names)) != len(names):
        raise _error(1, "the user, assistant and system delimiters must differ")
    return settings


def _key_line(key: str, lines: list[str]) -> int:
    """The file line (the front matter starts on line 2) that sets ``key``."""
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*[:=]")
    for index, line in enumerate(lines):
        if pattern.match(line):
            return index + 2
    return 1


# -- sections -----------------------------------------------------------------


def _sections(body: str, settings: ChatSettings) -> list[tuple[str, str]]:
    """Split the body into (role, raw text) sections, in order."""
    prefix = settings.delimiter_prefix
    names = [(role, settings.name(role)) for role in _ROLES]
    sections: list[tuple[str, str]] = []
    role = "user"
    start = 0
    while True:
        # Where a section begins, a delimiter needs no prefix.
        opening = _BLANK_LINES_RE.match(body, start)
        at = opening.end() if opening else start
        found = _bare_delimiter(body, at, names, settings)
        if found is not None:
            role, start = found
            continue
        match = _next_delimiter(body, start, prefix, names, settings)
        if match is None:
            sections.append((role, body[start:]))
            return sections
        position, next_role, end = match
        sections.append((role, body[start:position]))
        role, start = next_role, end


def _bare_delimiter(
    body: str, at: int, names: list[tuple[str, str]], settings: ChatSettings
) -> Optional[tuple[str, int]]:
    """A delimiter without its prefix at ``at``: (role, end), or ``None``."""
    if at >= len(body):
        return None
    for role, name in names:
        if body.startswith(name, at):
            end = _after_name(body, at + len(name), settings.delimiter_suffix)
            if end >= 0:
                return role, end
    return None


def _next_delimiter(
    body: str, start: int, prefix: str, names: list[tuple[str, str]], settings: ChatSettings
) -> Optional[tuple[int, str, int]]:
    """The first full delimiter at or after ``start``: (position, role, end), or ``None``."""
    best: Optional[tuple[int, str, int]] = None
    for role, name in names:
        needle = prefix + name
        position = body.find(needle, start)
        while position != -1:
            end = _after_name(body, position + len(needle), settings.delimiter_suffix)
            if end >= 0:
                break
            position = body.find(needle, position + 1)
        if position == -1:
            continue
        # The earliest wins; at the same place, the longest (one name may start another).
        if best is None or position < best[0] or (position == best[0] and end > best[2]):
            best = (position, role, end)
    return best


def _after_name(body: str, at: int, suffix: str) -> int:
    """Where a delimiter whose name ends at ``at`` ends, or -1 if it is not one."""
    if body.startswith(suffix, at):
        return at + len(suffix)
    # At the very end of the text, the suffix may be missing or cut short.
    rest = body[at:]
    if not rest.strip() or suffix.startswith(rest):
        return len(body)
    return -1
