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
  suffix. Spaces or tabs between the name and a suffix that starts a new
  line are allowed.
- A delimiter line inside a fenced code block (CommonMark: up to 3 spaces,
  then 3 or more backticks or tildes; the block ends at a fence of the same
  character, at least as long, with nothing after it) is text, so a pasted
  chat log or Markdown example stays one message. A fence that is never
  closed opens nothing. (Where the prefix does not end with a newline,
  delimiters are not lines and fences do not matter.)
- Text before the first delimiter is a user message. Sections that hold only
  whitespace are dropped, adjacent sections of the same role stay separate
  messages, and every message is stripped of surrounding whitespace.
- Lines of the form ``<!-- codey: ... -->`` are notes for the reader (``codey
  save`` leaves one where a stream was interrupted); the parser drops them.
- A line ``![attachment](TARGET)`` in a user message attaches a file (a path
  relative to the log's directory, ``<...>`` around one with spaces or
  parentheses) or an ``http(s)`` or ``data:`` URL; the parser takes it out of
  the text and into ``Message.attachments`` (see ``codey._attachments``).
- Escapes: inside a message, a line that starts with a delimiter's name (or
  a note or an attachment line, or, on the body's first line, ``+++`` or ``---``) is written
  with one more leading backslash (``\\# === USER ===``), and the parser
  removes one, so text that looks like a delimiter stays text and every log
  round-trips: ``parse_chat(format_chat(messages))`` gives ``messages`` back.
  When the delimiter prefix does not end with a newline, a delimiter can
  start anywhere, so every occurrence of a name gets the backslash.
  :func:`escape_delimiters` and :class:`Escaper` (its streaming form) are the
  one place this is done. They escape lines inside code blocks too (the
  parser removes the backslash there as well), and close a block that a
  message leaves open, so no fence can hide the delimiters written after it.

This module does no I/O but reading the files user messages attach. The
front-matter parsers load only when a file has front matter.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Optional

import attrs

from codey._attachments import REFERENCE_LEAD, Attachment, read_references, reference
from codey._errors import ChatLogError
from codey._frontmatter import front_matter_error, split_front_matter
from codey._sections import LINE_BLANKS_RE, closes, fence_line, split_sections
from codey._types import Message

__all__ = [
    "Chat",
    "ChatSettings",
    "Escaper",
    "attachment_lines",
    "escape_delimiters",
    "format_chat",
    "INTERRUPTED_BY_USER",
    "interrupted_note",
    "last_role",
    "mark_interrupted",
    "note",
    "parse_chat",
    "starts_body",
]

#: The roles a section can have, in the order their delimiters are tried.
_ROLES = ("system", "user", "assistant")

#: A reader's note that the parser drops: ``<!-- codey: ... -->`` on its own line
#: (:func:`_drop_notes` checks that only blanks come before it).
_NOTE_RE = re.compile(r"<!--[ \t]*codey:[^\n]*?-->[ \t]*(?:\n|\Z)")
#: The start of a note line (escaped, when a message holds one, so it is not dropped).
_NOTE_LEAD_RE = re.compile(r"[ \t]*<!--[ \t]*codey:")
#: A body's first line that starts so is escaped (a superset of the fences, kept simple).
_FENCES = ("+++", "---")
_ESCAPED_FENCE_RE = re.compile(r"\\+(?:\+\+\+|---)")


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


def note(text: str) -> str:
    """A one-line note for the reader, which the parser drops: never sent to a model."""
    # Keep the note one line long and the comment closed, whatever the text says.
    text = " ".join(text.split()).replace("--", "- -")
    return f"<!-- codey: {text} -->"


def interrupted_note(reason: str) -> str:
    """A note saying why an answer stopped early."""
    return note("interrupted: " + (reason.strip() or "unknown reason"))  # note() folds spaces


def _note_lead(text: str, at: int = 0) -> Optional[bool]:
    """Whether ``text`` starts (at ``at``) with a note's (or an attachment reference's)
    lead: True, False, or None (too short to tell)."""
    if _NOTE_LEAD_RE.match(text, at) or text.startswith(REFERENCE_LEAD, at):
        return True
    if _prefix_of(REFERENCE_LEAD, text, at):
        return None
    i = LINE_BLANKS_RE.match(text, at).end()  # type: ignore[union-attr]
    if not text.startswith("<!--", i):
        return None if _prefix_of("<!--", text, i) else False
    rest = LINE_BLANKS_RE.match(text, i + 4).end()  # type: ignore[union-attr]
    return None if _prefix_of("codey:", text, rest) else False


def _prefix_of(word: str, text: str, at: int) -> bool:
    """Whether the rest of ``text`` from ``at`` is a (possibly empty) prefix of ``word``."""
    return len(text) - at < len(word) and word.startswith(text[at:])


class Escaper:
    """Escapes delimiter lines in one message's text as it streams in pieces.

    :meth:`feed` returns what can be written now; it holds back only the start
    of a line (or, when delimiters may start anywhere, the tail that may begin
    a name) until it is clear whether it needs the backslash. :meth:`flush`
    returns the rest, at the end of the message. Feeding a whole text at once
    and flushing is :func:`escape_delimiters`.

    Args:
        settings: the chat log's settings (its delimiter names and prefix).
        at_start: the message opens the file, so a front-matter fence on its
            first line is escaped too.
    """

    def __init__(self, settings: ChatSettings, *, at_start: bool = False) -> None:
        self._names = [settings.name(role) for role in _ROLES]
        #: With a prefix that does not end a line, a delimiter can begin anywhere.
        self._anywhere = not settings.delimiter_prefix.endswith("\n")
        self._fence = at_start
        self._line_start = True
        self._held = ""
        self._last = ""
        #: The current line so far, and the code block open (its fence's character and length).
        self._line: list[str] = []
        self._code: Optional[tuple[str, int]] = None

    def feed(self, text: str) -> str:
        """The escaped text that can be written now."""
        return self._run(self._held + text, final=False)

    def flush(self) -> str:
        """The escaped rest of the message (call once, at its end)."""
        out = self._run(self._held, final=True)
        if self._line:
            self._end_line("".join(self._line))
            self._line = []
        if self._code is not None:
            # A code block left open would hide the delimiters after the message: close it.
            newline = "" if (out[-1:] or self._last) == "\n" else "\n"
            out += newline + self._code[0] * self._code[1]
            self._code = None
        last = out[-1:] or self._last
        if self._anywhere and last == "\\":
            # A trailing backslash would escape the next delimiter; the parser strips the space.
            out += " "
        return out

    def _decide(self, text: str, at: int, final: bool) -> Optional[bool]:
        """At a line start: does this line need the backslash? None: not known yet."""
        while text.startswith("\\", at):
            at += 1
        if self._fence:
            if text.startswith(_FENCES, at):
                return True
            if not final and any(_prefix_of(fence, text, at) for fence in _FENCES):
                return None
        note = _note_lead(text, at)
        if note:
            return True
        if not self._anywhere:
            if any(text.startswith(name, at) for name in self._names):
                return True
            if not final and (
                at == len(text) or any(_prefix_of(name, text, at) for name in self._names)
            ):
                return None
        if note is None and not final:
            return None
        return False

    def _end_line(self, line: str) -> None:
        """Follow the code blocks, a line at a time (see :meth:`flush`)."""
        fence = fence_line(line)
        if fence is None:
            return
        if self._code is None:
            self._code = fence[:2]
        elif closes(self._code, fence):
            self._code = None

    def _run(self, text: str, final: bool) -> str:
        out: list[str] = []
        i = 0
        size = len(text)
        while i < size:
            if self._line_start:
                decision = self._decide(text, i, final)
                if decision is None:
                    break
                if decision:
                    out.append("\\")
                self._line_start = self._fence = False
            if not self._anywhere:
                end = text.find("\n", i)
                stop = size if end == -1 else end + 1
                out.append(text[i:stop])
                self._line_start = end != -1
                self._line.append(text[i : end if end != -1 else size])
                if end != -1:
                    self._end_line("".join(self._line))
                    self._line = []
                i = stop
                continue
            name = next((n for n in self._names if text.startswith(n, i)), None)
            if name is not None:
                out.append("\\" + name)
                i += len(name)
                continue
            if not final and any(size - i < len(n) and n.startswith(text[i:]) for n in self._names):
                break
            out.append(text[i])
            self._line_start = text[i] == "\n"
            i += 1
        self._held = text[i:]
        written = "".join(out)
        if written:
            self._last = written[-1]
        return written


def escape_delimiters(
    text: str, settings: Optional[ChatSettings] = None, *, at_start: bool = False
) -> str:
    """A message's text, escaped so that no line of it reads as a delimiter or a note.

    A line that starts with a delimiter's name, after any backslashes, gets one
    more backslash (``\\# === USER ===``); :func:`parse_chat` removes it
    again. See the module's docstring for the whole rule.

    Args:
        text: one message's content.
        settings: the chat log's settings (default: the default delimiters).
        at_start: the message opens the file (escape a front-matter fence).
    """
    escaper = Escaper(settings or ChatSettings(), at_start=at_start)
    return escaper.feed(text) + escaper.flush()


def format_chat(
    messages: Sequence[Message],
    settings: Optional[ChatSettings] = None,
    *,
    base_dir: Optional[str] = None,
) -> str:
    """Messages as chat-log text (no front matter), escaped so that it parses back.

    ``parse_chat(format_chat(messages)).messages == messages`` for messages
    whose content is non-empty and has no surrounding whitespace (the parser
    strips it). With custom ``settings``, put the matching front matter first.
    A message's attachments follow its text, one ``![attachment](...)`` line
    each, paths relative to ``base_dir`` (the log's directory).
    """
    settings = settings or ChatSettings()
    parts: list[str] = []
    for index, message in enumerate(messages):
        if index or message.role != "user":
            parts.append(settings.delimiter(message.role))
        parts.append(escape_delimiters(message.content, settings, at_start=not parts))
        if message.attachments:
            parts.append(attachment_lines(message.attachments, bool(message.content), base_dir))
    return "".join(parts)


def attachment_lines(
    attachments: Sequence[Attachment], after_text: bool, base_dir: Optional[str] = None
) -> str:
    """The reference lines that follow a user message's text (a blank line between)."""
    lines = "\n".join(reference(attachment, base_dir) for attachment in attachments)
    return f"\n\n{lines}" if after_text else lines


def last_role(text: str) -> Optional[str]:
    """The role of a chat log's last section, even an empty one; None if it has none.

    A log that ``codey save`` wrote ends with an empty user section (the user
    delimiter, waiting for the next prompt): its last role is ``"user"``
    although its last message is the assistant's.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    settings, body = _split_front_matter(text)
    sections = _split(body, settings)
    return sections[-1][0] if sections else None


def starts_body(log: str) -> bool:
    """Whether text appended to ``log`` is the first line of its body (after any
    front matter), where a fence must be escaped (``at_start`` of :class:`Escaper`)."""
    try:
        return _split_front_matter(log.replace("\r\n", "\n"))[1] == ""
    except ChatLogError:
        return False


def _unescape(text: str, settings: ChatSettings) -> str:
    """Undo :func:`escape_delimiters` on one parsed message."""
    if "\\" not in text:
        return text
    names = "|".join(re.escape(settings.name(role)) for role in _ROLES)
    note = f"(?:{_NOTE_LEAD_RE.pattern}|{re.escape(REFERENCE_LEAD)})"
    if settings.delimiter_prefix.endswith("\n"):
        pattern = rf"^\\(?=\\*(?:{names}|{note}))"
    else:
        pattern = rf"\\(?={names})|^\\(?=\\*{note})"
    return re.sub(pattern, "", text, flags=re.MULTILINE)


def parse_chat(
    text: str, *, base_dir: Optional[str] = None, attach_from: Sequence[str] = ()
) -> Chat:
    """Parse a chat log into its messages and settings.

    Args:
        text: the whole chat log, front matter included.
        base_dir: where the paths of ``![attachment](PATH)`` lines are read
            from (the log's directory; default: the current directory).
        attach_from: folders (or files) outside ``base_dir`` that the log may
            attach too. Any other path (absolute, ``../``, or a symlink that
            leads out) is an :class:`~codey.AttachmentError`.

    Raises:
        ChatLogError: the front matter is invalid (unterminated, not TOML or
            YAML, not a table, or a setting of the wrong type). The message
            names the line, also kept in ``.line``.
        OSError, AttachmentError: a file a user message attaches cannot be
            read or sent, or is outside the folders allowed.
    """
    settings, sections = _parse(text, base_dir, attach_from)
    messages = [Message(role, content, attachments) for role, content, attachments, _ in sections]
    return Chat(messages=messages, settings=settings)


#: What the model is told at the end of an answer the user stopped with Ctrl-C.
INTERRUPTED_BY_USER = "[interrupted by the user]"


def mark_interrupted(
    text: str,
    marker: str = INTERRUPTED_BY_USER,
    *,
    base_dir: Optional[str] = None,
    attach_from: Sequence[str] = (),
) -> Chat:
    """:func:`parse_chat`, but an answer the user stopped ends with ``marker``.

    ``codey save`` and ``codey chat`` leave ``<!-- codey: interrupted: Ctrl-C -->``
    after such an answer; the note itself is never sent, so without the marker
    the model would take the cut answer for a whole one.
    """
    settings, sections = _parse(text, base_dir, attach_from)
    stopped = interrupted_note("Ctrl-C")
    messages = [
        Message(
            role,
            f"{content}\n\n{marker}" if role == "assistant" and stopped in raw else content,
            attachments,
        )
        for role, content, attachments, raw in sections
    ]
    return Chat(messages=messages, settings=settings)


def _parse(
    text: str, base_dir: Optional[str] = None, attach_from: Sequence[str] = ()
) -> tuple[ChatSettings, list[tuple[str, str, tuple[Attachment, ...], str]]]:
    """The settings and the non-empty sections: (role, content, attachments, raw text)."""
    if not isinstance(text, str):
        raise TypeError(f"parse_chat() takes a str, not {type(text).__name__}")
    # Universal newlines, as Python's text files read them: CRLF and CR are LF.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.startswith("\ufeff"):
        text = text[1:]
    settings, body = _split_front_matter(text)
    if _ESCAPED_FENCE_RE.match(body):
        body = body[1:]  # an escaped fence on the body's first line: text, not front matter
    sections = []
    for role, section in _split(body, settings):
        content = _drop_notes(section).strip()
        attachments: tuple[Attachment, ...] = ()
        if role == "user":
            content, attachments = read_references(content, base_dir, attach_from)
        if content or attachments:
            sections.append((role, _unescape(content, settings), attachments, section))
    return settings, sections


def _drop_notes(text: str) -> str:
    """``text`` without its note lines."""
    if "<!--" not in text:
        return text
    kept = []
    done = 0
    for match in _NOTE_RE.finditer(text):
        line = text.rfind("\n", 0, match.start()) + 1
        if line >= done and not text[line : match.start()].strip(" \t"):
            kept.append(text[done:line])
            done = match.end()
    kept.append(text[done:])
    return "".join(kept)


# -- front matter -------------------------------------------------------------


def _split_front_matter(text: str) -> tuple[ChatSettings, str]:
    """Split off and read the front matter; return the settings and the rest."""
    values, body = split_front_matter(text)
    settings = ChatSettings(**values)
    names = [settings.name(role) for role in _ROLES]
    if len(set(names)) != len(names):
        raise front_matter_error(1, "the user, assistant and system delimiters must differ")
    return settings, body


def _split(body: str, settings: ChatSettings) -> list[tuple[str, str]]:
    names = [(role, settings.name(role)) for role in _ROLES]
    return split_sections(body, settings.delimiter_prefix, settings.delimiter_suffix, names)
