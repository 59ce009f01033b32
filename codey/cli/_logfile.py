"""Chat-log files: locked, appended to as the answer streams, valid at every moment.

``codey save`` and ``codey chat --file`` share all of it: :class:`locked`
opens and locks the file and reads it (bounded, strict UTF-8),
:func:`stream_turn` appends a prompt and streams its answer into it through
:class:`SaveWriter`, which escapes delimiter lines and closes an interrupted
answer with a note and the user delimiter.
"""

from __future__ import annotations

import os
import sys

from codey._errors import ChatLogError
from codey.cli._exit import describe
from codey.cli._io import InputError, decode, max_input, too_big
from codey.cli._options import choose_model, has_prompt
from codey.cli._signals import Terminated

TYPE_CHECKING = False
if TYPE_CHECKING:
    import threading
    from collections.abc import Sequence
    from typing import IO, Optional

    from codey._attachments import Attachment
    from codey._chatlog import Chat, ChatSettings
    from codey._types import Citation
    from codey.cli._context import Run
    from codey.cli._status import Terminal

__all__ = ["SaveWriter", "check_log_file", "continue_log", "locked", "stream_turn"]


def stream_turn(
    run: Run,
    log: IO[str],
    existing: str,
    text: str,
    terminal: Terminal,
    cancel: Optional[threading.Event] = None,
    *,
    attachments: Sequence[Attachment] = (),
    base_dir: Optional[str] = None,
) -> bool:
    """Append ``text`` and its streamed answer to a chat log; False if there is no prompt.

    The answer reaches ``log`` as it streams; if the stream fails or is
    interrupted, what arrived stays, with a note, and the user delimiter.
    ``attachments`` are written after the prompt as ``![attachment](...)``
    lines, paths relative to ``base_dir`` (the log's directory), and every
    attachment of the log is sent again with its message.
    """
    from codey._chatlog import mark_interrupted
    from codey.cli import _tools
    from codey.cli._answer import stream_one

    # The log attaches from its folder and --attach-from; the files -a gives are the user's choice.
    allowed = [*run.attach_from, *_paths(attachments)]
    chat, joint, prompt = continue_log(existing, text, attachments, base_dir, allowed)
    if not has_prompt(chat):
        return False
    settings = chat.settings
    options = run.request_options(choose_model(run.model, chat, run.config), chat)
    options.update(_tools.tool_options(run, _tools.on_terminal()))
    writer = SaveWriter(log, joint + prompt + settings.delimiter("assistant"), settings)

    # An answer stopped with Ctrl-C is sent marked as such, so the model knows it was cut.
    messages = mark_interrupted(
        existing + joint + prompt, base_dir=base_dir, attach_from=allowed
    ).messages
    try:
        stream_one(
            messages,
            options,
            run.show(None),
            terminal,
            on_text=writer.write,
            on_done=writer.finish,
            cancel=cancel,
            ask=_tools.asker(run, options),
            allowed=run.allow_tools,
        )
    except BaseException as exc:
        writer.interrupted(exc)
        raise
    return True


def _paths(attachments: Sequence[Attachment]) -> list[str]:
    return [attachment.path for attachment in attachments if attachment.path is not None]


def continue_log(
    existing: str,
    prompt: str,
    attachments: Sequence[Attachment] = (),
    base_dir: Optional[str] = None,
    attach_from: Sequence[str] = (),
) -> tuple[Chat, str, str]:
    """The conversation once ``prompt`` is appended to a chat log, what goes
    between, and the prompt as written (delimiter lines in it escaped, then
    its attachments' lines).

    A log that ends with the user delimiter (as ``save`` leaves it) gets the
    prompt right after it, byte for byte as the original tool wrote it. A log
    that ends otherwise gets what it needs for the prompt to start a new user
    message: a newline, the rest of the delimiter, or the whole user delimiter.
    """
    from functools import partial

    from codey._chatlog import attachment_lines, escape_delimiters, parse_chat, starts_body
    from codey._types import Message

    parse_chat = partial(parse_chat, base_dir=base_dir, attach_from=attach_from)
    lines = attachment_lines(attachments, bool(prompt), base_dir) if attachments else ""
    if not existing.strip():
        written = escape_delimiters(prompt, at_start=starts_body(existing)) + lines
        return parse_chat(existing + written), "", written
    before = parse_chat(existing)  # an invalid front matter fails here, before any write
    settings = before.settings
    probe = "codey-probe"
    wanted = [*before.messages, Message("user", probe)]
    tail = existing[len(existing.rstrip()) :]
    suffix = settings.delimiter_suffix
    candidates = ["", "\n"]
    if suffix.startswith(tail):
        candidates.append(suffix[len(tail) :])
    candidates.append(settings.delimiter("user"))
    joint = candidates[-1]
    for candidate in candidates:
        try:
            if parse_chat(existing + candidate + probe).messages == wanted:
                joint = candidate
                break
        except ChatLogError:
            continue
    written = escape_delimiters(prompt, settings, at_start=starts_body(existing + joint)) + lines
    return parse_chat(existing + joint + written), joint, written


class SaveWriter:
    """Appends one exchange to the chat-log file as the answer streams.

    Nothing is written until the first piece of the answer arrives (or the
    answer ends empty), so a request that fails outright leaves the file as it
    was and can simply be run again.
    """

    def __init__(self, log: IO[str], head: str, settings: ChatSettings) -> None:
        from codey._chatlog import Escaper

        self.log = log
        self.head: Optional[str] = head
        self.settings = settings
        self.done = False
        # The model's text is escaped too: a line like "# === USER ===" in it stays text.
        self.escaper = Escaper(settings)

    def _put(self, text: str) -> None:
        if self.head is not None:
            text, self.head = self.head + text, None
        self.log.write(text)
        self.log.flush()

    def write(self, piece: str) -> None:
        self._put(self.escaper.feed(piece))

    def finish(self, reason: Optional[str] = None, citations: Sequence[Citation] = ()) -> None:
        """Close the whole answer; one cut at the token limit gets a note first, and
        the sources it cites (notes the parser drops: never sent back) after it."""
        from codey._chatlog import interrupted_note
        from codey.cli._report import cut_note, source_notes

        cut = cut_note(reason)
        notes = [] if cut is None else [interrupted_note(cut)]
        notes += source_notes(citations)
        if notes:
            self._close(notes)
        else:
            self._put(self.escaper.flush() + self.settings.delimiter("user"))
        self.done = True

    def interrupted(self, exc: BaseException) -> None:
        """Close a partial answer: a note for the reader, then the user delimiter."""
        if self.head is not None or self.done:
            return  # nothing arrived (the file is untouched), or the answer is whole
        if isinstance(exc, KeyboardInterrupt):
            reason = "Ctrl-C"
        elif isinstance(exc, Terminated):
            reason = exc.name
        elif isinstance(exc, BrokenPipeError):
            reason = "standard output was closed"
        else:
            reason = f"{type(exc).__name__}: {describe(exc)}"
        try:
            from codey._chatlog import interrupted_note

            self._close([interrupted_note(reason)])
        except OSError:
            pass  # the original error matters more

    def _close(self, notes: Sequence[str]) -> None:
        """The answer so far, notes for the reader (one a line), and the user delimiter."""
        from codey.cli._report import closing_notes

        self._put(self.escaper.flush() + closing_notes(notes, self.settings))


def check_log_file(path: str) -> None:
    """Refuse a chat-log path that is not a regular file (a device, a FIFO, /proc).

    Reading ``/dev/zero`` would never end; a file in ``/proc`` says its size
    is 0 yet has content, so it is caught by reading one byte.
    """
    import stat

    try:
        info = os.stat(path)
    except FileNotFoundError:
        return  # created when opened
    except OSError as exc:
        raise InputError(f"{path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{path}: not a regular file; a chat log must be one")
    if info.st_size == 0:
        try:
            with open(path, "rb") as probe:
                data = probe.read(1)
        except OSError:
            return  # opening it for writing will say why
        if data:
            raise InputError(f"{path}: not a regular file (its size is 0, yet it has content)")


class locked:
    """Open ``path`` for appending (created if needed), holding an exclusive lock.

    Two ``codey save`` runs on one file take turns instead of interleaving. Where
    ``fcntl`` is missing (Windows) or the file system has no locks, codey goes on
    without one. What the file holds is read (at most :func:`max_input` bytes,
    as UTF-8) once the lock is held.
    """

    def __init__(self, path: str) -> None:
        self.path = path

    def __enter__(self) -> tuple[IO[str], str]:
        """The file to append to, and the text it holds."""
        check_log_file(self.path)
        self.log = log = open(self.path, "a+", encoding="utf-8", newline="")
        try:
            self._lock(log)
            return log, self._read(log)
        except BaseException:  # Ctrl-C while waiting for the lock, or a bad file
            log.close()
            raise

    #: Seconds of waiting for the lock before saying so (on a terminal's stderr).
    NOTICE_DELAY = 1.0

    def _lock(self, log: IO[str]) -> None:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            return
        from codey.cli._status import isatty

        fd = log.fileno()
        try:
            if isatty(sys.stderr) and not self._try_lock(fd, self.NOTICE_DELAY):
                sys.stderr.write(f"codey: waiting for {self.path} (locked by another codey)...\n")
                sys.stderr.flush()
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # pragma: no cover - a file system without locks
            pass

    @staticmethod
    def _try_lock(fd: int, seconds: float) -> bool:
        """Try for the lock for ``seconds`` without blocking; True once it is held."""
        import fcntl
        import time

        # flock has no timeout: poll, which costs nothing next to the wait itself.
        deadline = time.monotonic() + seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.05)

    def _read(self, log: IO[str]) -> str:
        import stat

        fd = log.fileno()
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced since it was checked
            raise InputError(f"{self.path}: not a regular file; a chat log must be one")
        limit = max_input()
        os.lseek(fd, 0, os.SEEK_SET)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        os.lseek(fd, 0, os.SEEK_END)
        if size > limit:
            raise too_big(self.path, limit)
        return decode(b"".join(chunks), self.path)

    def __exit__(self, *exc_info: object) -> None:
        self.log.close()  # closing releases the lock
