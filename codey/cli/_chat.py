"""``codey chat``: an interactive conversation on the terminal.

Each prompt is appended to the conversation, the whole conversation is sent,
and the answer streams to standard output. The conversation is kept as a
chat log, in memory or, with ``--file``, in the file itself: every turn
locks the file, reads it (so a ``codey save`` in between is seen), and
appends the prompt and the answer as it streams, exactly as ``codey save``
does, so the file is a valid chat log at every moment.

Ctrl-C while an answer streams stops that answer only: the handler sets the
stream's ``cancel`` event instead of raising in the middle of a write, the
partial answer is kept (with a note, in a file), and the prompt returns.
Ctrl-C twice at an empty prompt, or Ctrl-D, leaves.
"""

from __future__ import annotations

import io
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any, Optional

from codey._errors import CodeyError
from codey.cli._exit import describe, exit_code
from codey.cli._io import terminal as open_terminal
from codey.cli._options import choose_model
from codey.cli._signals import terminate_on_signals
from codey.cli._status import isatty

TYPE_CHECKING = False
if TYPE_CHECKING:
    from codey.cli._context import Run
    from codey.cli._status import Terminal

__all__ = ["run_chat"]

PROMPT = "> "
CONTINUATION = "... "


class _Log:
    """The conversation as chat-log text: in memory, or in a file (``--file``)."""

    def __init__(self, path: Optional[str]) -> None:
        self.path = path
        self._memory = io.StringIO()
        #: Where the paths of its attachments are read from (None: the current directory).
        self.base_dir = os.path.dirname(os.path.abspath(path)) if path else None

    @contextmanager
    def open(self) -> Iterator[tuple[IO[str], str]]:
        """The log to append to, and its text so far (the file is locked meanwhile)."""
        if self.path is None:
            self._memory.seek(0, io.SEEK_END)
            yield self._memory, self._memory.getvalue()
            return
        from codey.cli._logfile import locked

        with locked(self.path) as (log, existing):
            yield log, existing


#: The most prompts kept in the history file.
HISTORY_LENGTH = 1000


def history_path(environ: Optional[dict[str, str]] = None) -> str:
    """Where prompts are kept between sessions: $XDG_STATE_HOME/codey/history
    (default ``~/.local/state/codey/history``)."""
    env = os.environ if environ is None else environ
    state = env.get("XDG_STATE_HOME", "")
    if not os.path.isabs(state):  # the XDG rule: a relative path is ignored
        state = os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(state, "codey", "history")


class _History:
    """readline's history, loaded from and saved to :func:`history_path` (mode 0600).

    A prompt of several lines is one entry; in the file, which has one entry
    a line, its lines are joined as they were typed, each but the last ending
    with a backslash.

    History is a convenience: a file that cannot be read or written is skipped
    in silence rather than ending the conversation.
    """

    def __init__(self, readline: Any) -> None:
        self.readline = readline
        self.path = history_path()
        readline.set_history_length(HISTORY_LENGTH)
        try:
            readline.read_history_file(self.path)
        except (OSError, UnicodeDecodeError):
            return
        lines = _entries(readline)
        if any(line.endswith("\\") for line in lines):
            readline.clear_history()
            for entry in _join_continued(lines):
                readline.add_history(entry)

    def save(self) -> None:
        readline = self.readline
        for index, entry in enumerate(_entries(readline)):
            if "\n" in entry:
                readline.replace_history_item(index, entry.replace("\n", "\\\n"))
        try:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            # Created private before anything is written: prompts can be secret.
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
            os.chmod(self.path, 0o600)
            readline.write_history_file(self.path)
        except OSError:
            pass


def _join_continued(lines: list[str]) -> list[str]:
    """History lines as prompts: a line ending with a backslash goes on in the next."""
    entries: list[str] = []
    pending: Optional[str] = None
    for line in lines:
        text = line if pending is None else pending + "\n" + line
        if line.endswith("\\"):
            pending = text[:-1]
        else:
            entries.append(text)
            pending = None
    if pending is not None:
        entries.append(pending)
    return entries


def _entries(readline: Any) -> list[str]:
    """readline's history, oldest first."""
    count = readline.get_current_history_length()
    return [readline.get_history_item(index) or "" for index in range(1, count + 1)]


def _readline() -> Any:
    try:
        import readline
    except ImportError:  # pragma: no cover - Windows, or Python built without it
        return None
    return readline


def _ask(interactive: bool, readline: Any = None) -> Optional[str]:
    """One prompt (continued over lines ending with a backslash); None at end of input.

    readline keeps each line it reads; a continued prompt replaces its lines
    there, so that it comes back whole.
    """
    lines: list[str] = []
    prompt = PROMPT
    start = readline.get_current_history_length() if readline is not None else 0
    while True:
        if interactive:
            try:
                line = input(prompt)
            except EOFError:
                if not lines:
                    return None
                line = ""
        else:
            line = sys.stdin.readline()
            if not line:
                return "\n".join(lines) if lines else None
            line = line.rstrip("\n")
        if line.endswith("\\"):
            lines.append(line[:-1])
            prompt = CONTINUATION
            continue
        lines.append(line)
        text = "\n".join(lines)
        if readline is not None and len(lines) > 1:
            for index in range(readline.get_current_history_length() - 1, start - 1, -1):
                readline.remove_history_item(index)
            readline.add_history(text)
        return text


def run_chat(run: Run) -> int:
    """Run the conversation; return the exit status.

    SIGTERM and SIGHUP (the terminal closed) end it as ``codey save`` ends: a
    partial answer is closed in the file, and the status is 128 + the signal.
    """
    with terminate_on_signals():
        return _run_chat(run)


def _run_chat(run: Run) -> int:
    terminal = open_terminal()
    interactive = isatty(sys.stdin)
    readline = _readline() if interactive else None
    history = _History(readline) if readline is not None else None
    try:
        return _converse(run, terminal, interactive, readline)
    finally:
        if history is not None:
            history.save()


def _converse(run: Run, terminal: Terminal, interactive: bool, readline: Any) -> int:
    from codey._chatlog import parse_chat
    from codey.cli._tools import on_terminal, tool_options

    log = _Log(run.file)
    with log.open() as (_, existing):
        # An invalid file (or an attachment from outside its folder) fails here.
        chat = parse_chat(existing, base_dir=log.base_dir, attach_from=run.attach_from)
    tool_options(run, on_terminal())  # and tools that cannot run, before any prompt
    if interactive:
        model = choose_model(run.model, chat, run.config)
        loaded = ""
        if run.file:
            count = len(chat.messages)
            loaded = f"{run.file}, {count} message{'' if count == 1 else 's'}, "
        _note(
            terminal,
            f"codey chat: {loaded}{model}. Ctrl-C stops an answer; Ctrl-D leaves.",
        )
    interrupts = 0
    while True:
        try:
            text = _ask(interactive, readline)
        except KeyboardInterrupt:
            typed = readline.get_line_buffer() if readline is not None else ""
            terminal.out.write("\n")
            terminal.out.flush()
            if typed.strip():
                interrupts = 0
                continue
            interrupts += 1
            if interrupts >= 2:
                return 0
            _note(terminal, "(Ctrl-C again or Ctrl-D to leave)")
            continue
        if text is None:
            if interactive:
                terminal.out.write("\n")
                terminal.out.flush()
            return 0
        interrupts = 0
        if not text.strip():
            continue
        try:
            _turn(run, log, text.strip(), terminal)
        except KeyboardInterrupt:
            _note(terminal, "codey: answer stopped")
        except BrokenPipeError:
            raise
        except (CodeyError, OSError, ValueError) as exc:
            terminal.err.write(f"codey: error: {describe(exc)}\n")
            terminal.err.flush()
            if not interactive:
                return exit_code(exc)
        if interactive:
            terminal.out.write("\n")
            terminal.out.flush()


def _turn(run: Run, log: _Log, text: str, terminal: Terminal) -> None:
    """One prompt and its answer, appended to the log as the answer streams."""
    from codey.cli._logfile import stream_turn

    with log.open() as (file, existing):
        cancel = threading.Event()
        previous = _on_interrupt(cancel)
        try:
            stream_turn(run, file, existing, text, terminal, cancel, base_dir=log.base_dir)
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)


def _on_interrupt(cancel: threading.Event) -> Any:
    """Make Ctrl-C set ``cancel`` instead of raising; return the handler to restore."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum: int, frame: object) -> None:
        cancel.set()

    return signal.signal(signal.SIGINT, handler)


def _note(terminal: Terminal, line: str) -> None:
    """A line for the person at the terminal, on standard error, dimmed."""
    terminal.err.write(terminal.dim(line) + "\n")
    terminal.err.flush()
