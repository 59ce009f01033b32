"""A chat log's body split into sections: where its delimiters are.

The rules are :mod:`codey._chatlog`'s (its docstring has them all); this
module finds the delimiters in one pass, and the fenced code blocks
(CommonMark fences) inside which a delimiter line is text.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from typing import Optional

__all__ = ["LINE_BLANKS_RE", "closes", "fence_line", "split_sections"]

#: Blank lines where a section begins.
_BLANK_LINES_RE = re.compile(r"(?:[ \t]*\n)*")
#: Spaces and tabs.
LINE_BLANKS_RE = re.compile(r"[ \t]*")
_BLANK_TO_END_RE = re.compile(r"\s*\Z")


def split_sections(
    body: str, prefix: str, suffix: str, names: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    """Split a chat log's body into (role, raw text) sections, in order.

    ``names`` are the delimiters' (role, name) pairs. One pass: each search
    starts where the last one stopped, so the time is linear in the text's
    length.
    """
    # The longest name first: at one place, the longest wins (one name may start another).
    names = sorted(names, key=lambda n: -len(n[1]))
    needle = re.compile(
        re.escape(prefix) + "(?:" + "|".join(re.escape(name) for _, name in names) + ")"
    )
    # Fences matter where delimiters are lines of their own.
    fences = _Fences(body) if prefix.endswith("\n") else None
    sections: list[tuple[str, str]] = []
    role = "user"
    start = 0
    while True:
        # Where a section begins, a delimiter needs no prefix.
        opening = _BLANK_LINES_RE.match(body, start)
        at = opening.end() if opening else start
        found = _delimiter_at(body, at, names, suffix)
        if found is not None:
            role, start = found
            continue
        match = _next_delimiter(body, start, needle, prefix, names, suffix, fences)
        if match is None:
            sections.append((role, body[start:]))
            return sections
        position, next_role, end = match
        sections.append((role, body[start:position]))
        role, start = next_role, end


def _delimiter_at(
    body: str, at: int, names: list[tuple[str, str]], suffix: str
) -> Optional[tuple[str, int]]:
    """A delimiter's name (and suffix) at ``at``: (role, end), or ``None``."""
    if at >= len(body):
        return None
    for role, name in names:
        if body.startswith(name, at):
            end = _after_name(body, at + len(name), suffix)
            if end >= 0:
                return role, end
    return None


def _next_delimiter(
    body: str,
    start: int,
    needle: re.Pattern[str],
    prefix: str,
    names: list[tuple[str, str]],
    suffix: str,
    fences: Optional[_Fences],
) -> Optional[tuple[int, str, int]]:
    """The first full delimiter at or after ``start``: (position, role, end), or ``None``."""
    while True:
        match = needle.search(body, start)
        if match is None:
            return None
        position = match.start()
        at = position + len(prefix)
        # With no prefix, a backslash before the name escapes it.
        escaped = not prefix and position > 0 and body[position - 1] == "\\"
        if not escaped and not (fences is not None and fences.hides(at)):
            found = _delimiter_at(body, at, names, suffix)
            if found is not None:
                return position, found[0], found[1]
        start = position + 1


def _after_name(body: str, at: int, suffix: str) -> int:
    """Where a delimiter whose name ends at ``at`` ends, or -1 if it is not one."""
    if body.startswith(suffix, at):
        return at + len(suffix)
    if suffix.startswith("\n"):
        # Spaces or tabs after the name do not stop a delimiter line from being one.
        blanks = LINE_BLANKS_RE.match(body, at)
        if blanks and body.startswith(suffix, blanks.end()):
            return blanks.end() + len(suffix)
    # At the very end of the text, the suffix may be missing or cut short.
    if _BLANK_TO_END_RE.match(body, at) or (
        len(body) - at < len(suffix) and suffix.startswith(body[at:])
    ):
        return len(body)
    return -1


# -- fenced code blocks -------------------------------------------------------

#: A code fence (CommonMark): up to 3 spaces, 3 or more backticks or tildes, then an info string.
_FENCE_RE = re.compile(r" {0,3}(`{3,}|~{3,})([^\n]*)")
#: A fence on a line after the first (searching for the newline first is fast).
_NEXT_FENCE_RE = re.compile(r"\n {0,3}(`{3,}|~{3,})([^\n]*)")


def fence_line(line: str) -> Optional[tuple[str, int, bool]]:
    """A code fence line's character, length, and whether it can close a block; else None."""
    match = _FENCE_RE.fullmatch(line)
    return None if match is None else _fence(*match.groups())


def _fence(run: str, info: str) -> Optional[tuple[str, int, bool]]:
    if run[0] == "`" and "`" in info:
        return None  # CommonMark: a backtick fence's info string has no backtick
    return run[0], len(run), not info.strip(" \t")


def closes(opening: tuple[str, int], line: tuple[str, int, bool]) -> bool:
    """Whether fence ``line`` closes the block ``opening`` (its character and length) opened."""
    return line[2] and line[0] == opening[0] and line[1] >= opening[1]


class _Fences:
    """The fenced code blocks of a text, where a delimiter line is text.

    A block runs from its opening fence to the first closing one (the same
    character, at least as long, nothing after it); an opening fence that is
    never closed opens nothing, so the delimiters after it still count.
    """

    def __init__(self, text: str) -> None:
        lines: list[tuple[int, int, tuple[str, int, bool]]] = []
        first = _FENCE_RE.match(text)
        found = _fence(*first.groups()) if first is not None else None
        if first is not None and found is not None:
            lines.append((0, first.end(), found))
        for match in _NEXT_FENCE_RE.finditer(text):
            found = _fence(*match.groups())
            if found is not None:
                lines.append((match.start() + 1, match.end(), found))
        self.starts: list[int] = []
        self.ends: list[int] = []
        #: Per character, the shortest opening fence known to have no closing one after it.
        unclosed = {"`": 1 << 62, "~": 1 << 62}
        index = 0
        while index < len(lines):
            _, end, fence = lines[index]
            close = None
            if fence[1] < unclosed[fence[0]]:
                close = next(
                    (j for j in range(index + 1, len(lines)) if closes(fence[:2], lines[j][2])),
                    None,
                )
            if close is None:
                unclosed[fence[0]] = min(unclosed[fence[0]], fence[1])
                index += 1
                continue
            self.starts.append(end)
            self.ends.append(lines[close][0])
            index = close + 1

    def hides(self, at: int) -> bool:
        """Whether ``at`` is inside a block (after its opening fence, before its closing one)."""
        block = bisect_right(self.starts, at) - 1
        return block >= 0 and at < self.ends[block]
