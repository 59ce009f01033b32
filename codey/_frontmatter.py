"""A chat log's front matter: TOML between ``+++`` lines or YAML between ``---`` lines.

:func:`split_front_matter` reads and checks it and returns the settings'
values by their ``ChatSettings`` names; ``codey._chatlog`` makes the
settings. An error names the line. The parsers load only when a file has
front matter.
"""

from __future__ import annotations

import re
from typing import Any

from codey._errors import ChatLogError

__all__ = ["KEYS", "front_matter_error", "split_front_matter"]

#: Front-matter key (camelCase, as in the original tool) -> ChatSettings attribute.
KEYS = {
    "model": "model",
    "delimiterPrefix": "delimiter_prefix",
    "delimiterSuffix": "delimiter_suffix",
    "userDelimiter": "user_delimiter",
    "assistantDelimiter": "assistant_delimiter",
    "systemDelimiter": "system_delimiter",
}


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """The front matter's settings (``{"delimiter_prefix": ...}``) and the rest of ``text``."""
    fence = text[: text.find("\n")].rstrip() if "\n" in text else text.rstrip()
    if fence not in ("+++", "---"):
        return {}, text
    lines = text.split("\n")
    kind = "TOML" if fence == "+++" else "YAML"
    for index in range(1, len(lines)):
        if lines[index].rstrip() == fence:
            close = index
            break
    else:
        raise front_matter_error(
            1, f"the {kind} front matter opened on line 1 is never closed by {fence!r}"
        )
    source = "\n".join(lines[1:close])
    data = _load_toml(source) if kind == "TOML" else _load_yaml(source)
    return _values(data, kind, lines[1:close]), "\n".join(lines[close + 1 :])


def front_matter_error(line: int, message: str) -> ChatLogError:
    return ChatLogError(f"invalid chat log: line {line}: {message}", line=line)


def _load_toml(source: str) -> object:
    from codey._compat import load_toml, toml_decode_error, toml_error_details

    try:
        return load_toml(source)
    except toml_decode_error() as exc:
        # The front matter starts on line 2 of the file.
        lineno, reason = toml_error_details(exc, source)
        raise front_matter_error(lineno + 1, f"invalid TOML front matter: {reason}") from exc


def _load_yaml(source: str) -> object:
    try:
        import yaml
    except ImportError:
        raise front_matter_error(
            1, "YAML front matter needs PyYAML: pip install 'codey[yaml]'"
        ) from None
    try:
        return yaml.safe_load(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        lineno = mark.line + 1 if mark is not None else 1
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise front_matter_error(lineno + 1, f"invalid YAML front matter: {reason}") from exc


def _values(data: object, kind: str, lines: list[str]) -> dict[str, str]:
    """Check the front matter's values; return them by their attribute names."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise front_matter_error(
            2, f"the {kind} front matter must be a table of settings, not {type(data).__name__}"
        )
    values: dict[str, Any] = {}
    for key, attribute in KEYS.items():
        if key not in data or (data[key] is None and key == "model"):
            continue
        value = data[key]
        if not isinstance(value, str):
            raise front_matter_error(
                _key_line(key, lines), f"{key} must be a string, not {type(value).__name__}"
            )
        if not value and key != "delimiterPrefix" and key != "delimiterSuffix":
            raise front_matter_error(_key_line(key, lines), f"{key} must not be empty")
        values[attribute] = value
    return values


def _key_line(key: str, lines: list[str]) -> int:
    """The file line (the front matter starts on line 2) that sets ``key``."""
    pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*[:=]")
    for index, line in enumerate(lines):
        if pattern.match(line):
            return index + 2
    return 1
