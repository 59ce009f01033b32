"""Run ``python -m codey`` on a real pseudo-terminal, for the chat and status-line tests.

The child becomes a session leader whose controlling terminal is the pty, so
writing Ctrl-C (``\\x03``) to the master makes the terminal driver send
SIGINT, as a person pressing Ctrl-C would.
"""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Mapping, Sequence
from typing import Optional

TIMEOUT = 15.0

#: Make the pty the controlling terminal, then run codey as ``python -m codey`` would.
_CTTY = (
    "import fcntl, runpy, sys, termios\n"
    "fcntl.ioctl(0, termios.TIOCSCTTY, 0)\n"
    "sys.argv[0] = 'codey'\n"
    "runpy.run_module('codey', run_name='__main__', alter_sys=True)\n"
)


class Pty:
    """``codey ARGS`` with standard input and error (and output, unless piped) on a pty."""

    def __init__(
        self,
        args: Sequence[str],
        env: Mapping[str, str],
        *,
        pipe_stdout: bool = False,
        columns: int = 100,
    ) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", _CTTY, *args],
                stdin=slave,
                stdout=subprocess.PIPE if pipe_stdout else slave,
                stderr=slave,
                env=dict(env),
                start_new_session=True,
            )
        finally:
            os.close(slave)
        self.master = master
        #: Everything the terminal has shown so far.
        self.output = b""
        self._mark = 0

    def _read(self, timeout: float) -> bool:
        """Read what is there; False at the end (the child closed the terminal)."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: no process has the terminal open any more
            return False
        if not data:
            return False
        self.output += data
        return True

    def read_until(self, wanted: bytes, timeout: float = TIMEOUT) -> bytes:
        """Wait for ``wanted`` after the last match; return the output up to its end."""
        deadline = time.monotonic() + timeout
        while True:
            at = self.output.find(wanted, self._mark)
            if at != -1:
                end = at + len(wanted)
                seen, self._mark = self.output[self._mark : end], end
                return seen
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"timed out waiting for {wanted!r}; got {self.output!r}"
            if not self._read(min(remaining, 0.1)) and wanted not in self.output[self._mark :]:
                raise AssertionError(f"the terminal closed before {wanted!r}: {self.output!r}")

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def ctrl_c_at_the_prompt(self, until: Optional[bytes] = None, timeout: float = TIMEOUT) -> None:
        """Press Ctrl-C at readline's prompt, until ``until`` shows (None: until the process ends).

        CPython's readline can miss a SIGINT that lands while it handles a
        key: it is seen at the next key, or not at all. No person is that
        fast, but a test is; so while nothing happens, a key that changes
        nothing (Ctrl-E, end of line) follows, then Ctrl-C again, instead of
        a sleep. (Two SIGINTs before Python looks count as one.)
        """
        deadline = time.monotonic() + timeout
        keys = [b"\x05", b"\x03"]
        self.write(b"\x03")
        while not self._shown(until, 1.0):
            assert time.monotonic() < deadline, f"Ctrl-C went unseen: {self.output!r}"
            self.write(keys[0])
            keys.reverse()

    def _shown(self, until: Optional[bytes], seconds: float) -> bool:
        """Whether ``until`` shows (None: the process ends) within ``seconds``."""
        if until is None:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                self._read(0.05)
                if self.proc.poll() is not None:
                    return True
            return False
        try:
            self.read_until(until, timeout=seconds)
        except AssertionError as exc:
            if "closed" in str(exc):
                raise
            return False
        return True

    def wait(self, timeout: float = TIMEOUT) -> int:
        """Wait for the process to exit, reading the terminal until it closes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._read(0.05):
            if self.proc.poll() is not None and not select.select([self.master], [], [], 0)[0]:
                break
        return self.proc.wait(max(0.1, deadline - time.monotonic()))

    def stdout(self) -> bytes:
        """All of standard output, when it is a pipe (after the process has ended)."""
        assert self.proc.stdout is not None
        return self.proc.stdout.read()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        os.close(self.master)

    def __enter__(self) -> Pty:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def pty_env(base: Mapping[str, str], **extra: str) -> dict[str, str]:
    """A terminal environment without styles that would clutter the assertions."""
    env = dict(base)
    env.update(TERM="dumb", COLUMNS="100", LINES="24")
    env.pop("NO_COLOR", None)
    env.update(extra)
    return env


def text(data: bytes, encoding: Optional[str] = "utf-8") -> str:
    return data.decode(encoding or "utf-8", errors="replace")
