"""A one-line status on a terminal's standard error, for ``codey prompt``, ``save`` and ``chat``.

``StatusLine`` redraws a line from a daemon thread (``codey-status``) while
the caller waits, and erases it before any other output reaches the
terminal: every write to the terminal goes through :meth:`StatusLine.write`,
which takes the same lock as the drawing thread. When the answer has left the
cursor in the middle of a line, the status is drawn on the line below and
the cursor is put back afterwards, so the answer is never overwritten.

Nothing is drawn unless standard error is a terminal.
"""

from __future__ import annotations

import os
import re
import threading
import unicodedata
from contextlib import contextmanager
from time import monotonic

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from typing import Callable, Optional, TextIO

    from codey._stream import Stream
    from codey._types import ServerToolCall

__all__ = [
    "DEFAULT_DELAY",
    "StatusLine",
    "Terminal",
    "Ticker",
    "env_status_delay",
    "escape_controls",
    "isatty",
    "status_delay",
    "waiting_message",
]

#: Seconds without text before the status line appears (``CODEY_STATUS_DELAY`` changes it).
DEFAULT_DELAY = 3.0
#: How often the status line is redrawn, in seconds.
INTERVAL = 0.1


def env_status_delay(environ: Optional[Mapping[str, str]] = None) -> Optional[float]:
    """``$CODEY_STATUS_DELAY`` when it is a number of seconds (0 or more), else None."""
    text = (os.environ if environ is None else environ).get("CODEY_STATUS_DELAY", "")
    try:
        value = float(text)
    except ValueError:
        return None
    return value if 0 <= value < float("inf") else None


def status_delay(configured: Optional[float] = None) -> float:
    """``$CODEY_STATUS_DELAY``, else the config file's ``status_delay``, else 3 s."""
    value = env_status_delay()
    if value is not None:
        return value
    return DEFAULT_DELAY if configured is None else configured


def isatty(stream: object) -> bool:
    """Whether ``stream`` is a terminal (False for anything that cannot say)."""
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):
        return False


#: Control characters a terminal acts on (C0 but tab and newline, DEL, C1): an
#: answer could otherwise set the window title or colours, or erase lines.
_CONTROLS_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def escape_controls(text: str) -> str:
    """``text`` with its control characters shown as Python escapes (``\\x1b``),
    as the tool-call question shows arguments; newline and tab stay as they are."""
    return _CONTROLS_RE.sub(lambda match: repr(match.group())[1:-1], text)


def _width(text: str) -> int:
    """Terminal cells taken by ``text`` (wide East Asian characters take two)."""
    cells = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        cells += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return cells


class Terminal:
    """Standard output and error, and what a terminal can show on them."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out = out
        self.err = err
        self.out_tty = isatty(out)
        self.err_tty = isatty(err)
        no_color = bool(os.environ.get("NO_COLOR")) or os.environ.get("TERM") == "dumb"
        #: Whether standard error may carry ANSI styles (dim reasoning, the status line).
        self.err_styled = self.err_tty and not no_color
        #: Whether standard output may (bold section labels).
        self.out_styled = self.out_tty and not no_color

    def dim(self, text: str) -> str:
        return f"\x1b[2m{text}\x1b[0m" if self.err_styled and text else text

    def bold(self, text: str) -> str:
        return f"\x1b[1m{text}\x1b[0m" if self.out_styled else text

    def columns(self) -> int:
        try:
            columns = os.get_terminal_size(self.err.fileno()).columns
        except (AttributeError, OSError, ValueError):
            columns = 0
        return columns if columns > 0 else 80


class Ticker:
    """A line redrawn from a daemon thread: started by :meth:`_start`, ended by :meth:`stop`
    (the status line and ``codey buffer``'s spinner)."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def _start(self, name: str) -> None:
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        raise NotImplementedError

    def _clear(self, drew: bool) -> None:
        """Erase the line once the thread has ended (``drew``: it ran)."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop drawing and erase the line; stopping twice does nothing."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
        self._clear(thread is not None)


class StatusLine(Ticker):
    """A status line on standard error, drawn when ``render()`` returns text.

    ``render`` is called every 0.1 s from the drawing thread; it returns the
    line to show, or ``None`` to show nothing. Use it as a context manager.
    When standard error is not a terminal (or ``enabled`` is false) it never
    draws and starts no thread; :meth:`write` then just writes.
    """

    def __init__(
        self, terminal: Terminal, render: Callable[[], Optional[str]], enabled: bool = True
    ) -> None:
        super().__init__()
        self.terminal = terminal
        self._render = render
        self._lock = threading.RLock()
        self._shown = ""  # what is drawn now ("" for nothing)
        self._below = False  # drawn on the line below a partial line of output
        self._tail = 0  # cells written to the terminal's current line
        self.enabled = enabled and terminal.err_tty

    def __enter__(self) -> StatusLine:
        if self.enabled:
            self._start("codey-status")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _clear(self, drew: bool) -> None:
        with self._lock:
            self._erase()
            self._flush_err()

    def write(self, text: str, err: bool = False) -> None:
        """Write ``text`` to standard output (or error), erasing the status line first."""
        stream = self.terminal.err if err else self.terminal.out
        with self._lock:
            self._erase()
            stream.write(text)
            stream.flush()
            if err or self.terminal.out_tty:
                self._advance(text)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No drawing meanwhile (a question on the terminal); the status is erased
        and, after a partial line of output, the cursor starts a new line."""
        with self._lock:
            self._erase()
            if self._tail:
                self.terminal.err.write("\n")
            self._flush_err()
            try:
                yield
            finally:
                self._tail = 0  # the answer to the question ended its line

    def _advance(self, text: str) -> None:
        """Follow the terminal's column, to know whether a line is partly written."""
        line = text.rpartition("\n")[2] if "\n" in text else None
        if line is None:
            self._tail += _width(text)
        else:
            self._tail = _width(line.rpartition("\r")[2])

    def _run(self) -> None:
        while not self._stop.wait(INTERVAL):
            try:
                text = self._render()
            except Exception:  # a status is never worth a crash
                text = None
            with self._lock:
                if self._stop.is_set():
                    return
                if text:
                    self._draw(text)
                else:
                    self._erase()
                self._flush_err()

    def _draw(self, text: str) -> None:
        width = self.terminal.columns() - 1
        text = " ".join(text.split())
        while _width(text) > width and text:
            text = text[:-1]
        if text == self._shown:
            return
        err = self.terminal.err
        if not self._shown and self._tail:
            err.write("\n")  # the answer's partial line stays above
            self._below = True
        err.write("\r" + self.terminal.dim(text) + "\x1b[K")
        self._shown = text

    def _erase(self) -> None:
        if not self._shown:
            return
        err = self.terminal.err
        err.write("\r\x1b[K")
        if self._below:
            columns = self.terminal.columns()
            column = self._tail % columns
            # Back to the end of the partial line (unless it filled its row
            # exactly: the next character then starts this line anyway).
            if column:
                err.write(f"\x1b[A\x1b[{column}C")
            self._below = False
        self._shown = ""

    def _flush_err(self) -> None:
        try:
            self.terminal.err.flush()
        except (OSError, ValueError):
            self._stop.set()


def waiting_message(
    stream: Stream,
    label: str,
    last_text: float,
    delay: float,
    now: Optional[float] = None,
    began: bool = True,
    running: Optional[ServerToolCall] = None,
) -> Optional[str]:
    """The status for one stream that has sent no text for ``delay`` seconds, else None.

    Before the response: how long codey has waited. While a model that reasons
    has sent no content yet (``began`` false: no text, reasoning or tool call),
    it is thinking, which takes its time. Otherwise how long codey has waited
    for text, and how long ago the server last sent anything at all (text,
    reasoning, a ping, a keep-alive): a small number means slow, a growing one
    means stalled, which only an answer that has begun can be said to be. While
    the provider runs one of its own tools (``running``): which, and on what.
    """
    if running is not None:
        given = running.input.get("query") or running.input.get("url")
        given = given or running.input.get("command")
        shown = f": {escape_controls(str(given))}" if given else ""
        return f"codey: {label} is running {running.name} ({running.status}){shown}"
    now = monotonic() if now is None else now
    waited = now - last_text
    if waited < delay:
        return None
    timings = stream.timings
    retry = f", retry {timings.retries}" if timings.retries else ""
    if timings.to_headers is None:
        return f"codey: no response from {label} after {waited:.0f} s{retry}"
    if not began:
        from codey._models import reasons

        if reasons(stream.model, stream.provider):
            return f"codey: {label} is thinking ({waited:.0f} s){retry}"
    stalled = " (slow or stalled?)" if began else ""  # early: a narrow terminal cuts the end
    return (
        f"codey: no text from {label} for {waited:.0f} s{stalled}; "
        f"the server last sent something {timings.idle:.1f} s ago{retry}"
    )
