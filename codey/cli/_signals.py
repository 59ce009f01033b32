"""SIGTERM and SIGHUP as an exception, so ``save`` and ``chat`` can close a partial answer."""

from __future__ import annotations

from typing import Any

__all__ = ["Terminated", "terminate_on_signals"]


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: stop as Ctrl-C does, and exit with 128 + the signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        import signal

        return signal.Signals(self.signum).name


class terminate_on_signals:
    """While inside, SIGTERM and SIGHUP raise :class:`Terminated` in the main thread.

    So ``save`` and ``chat --file`` close a partial answer in the file (a note
    and the user delimiter) as they do on Ctrl-C, instead of dying mid-write.
    """

    def __enter__(self) -> None:
        import signal
        import threading

        self.previous: dict[int, Any] = {}
        if threading.current_thread() is not threading.main_thread():
            return

        def handler(signum: int, frame: object) -> None:
            raise Terminated(signum)

        for name in ("SIGTERM", "SIGHUP"):
            number = getattr(signal, name, None)
            if number is not None:
                self.previous[number] = signal.signal(number, handler)

    def __exit__(self, *exc_info: object) -> None:
        import signal

        for number, previous in self.previous.items():
            signal.signal(number, previous)
