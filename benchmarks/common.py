"""What the measures and the report share: the body kinds, the sizes, the statistics."""

from __future__ import annotations

import gc
import os
import statistics
import sys
from collections.abc import Iterable, Sequence
from time import monotonic
from typing import Any, Callable, Optional

from benchmarks.server import CHAT, CHUNKED, CLOSE, MESSAGES

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMBOS = [(CHAT, CHUNKED), (CHAT, CLOSE), (MESSAGES, CHUNKED), (MESSAGES, CLOSE)]
COMBO_LABEL = {CHAT: "Chat", MESSAGES: "Messages"}
CORE = ["floor", "requests-well", "codey"]
#: The multiplication sign, spelled so that linters do not take it for an x.
X = "\u00d7"


def combo_key(fmt: str, framing: str) -> str:
    return f"{fmt}/{framing}"


def combo_title(key: str) -> str:
    fmt, framing = key.split("/")
    return f"{COMBO_LABEL[fmt]} · {framing}"


class Config:
    """Sizes and repetitions; ``smoke`` shrinks everything."""

    def __init__(self, smoke: bool, runs: Optional[int]) -> None:
        self.smoke = smoke
        self.throughput_n = 2000 if smoke else 50_000
        self.throughput_sdk_n = 500 if smoke else 5_000
        self.throughput_runs = runs or (1 if smoke else 5)
        self.latency_n = 10 if smoke else 200
        self.latency_pace = 0.02
        self.latency_runs = runs or (1 if smoke else 2)
        self.first_samples = 3 if smoke else 10
        self.first_runs = runs or (1 if smoke else 5)
        self.fresh_runs = runs or (1 if smoke else 3)
        self.import_runs = 2 if smoke else 20
        self.import_sdk_runs = 1 if smoke else 5
        self.scale_streams = 5 if smoke else 100
        self.scale_chunks = 50 if smoke else 2000
        self.scale_pace = 0.005
        self.scale_settle = 0.02 if smoke else 0.2
        self.cancel_runs = runs or (1 if smoke else 10)
        self.stall_runs = 1 if smoke else 20
        self.stall_timeout = 0.5
        self.chatlog_mib = 1 if smoke else 64
        self.chatlog_runs = runs or (1 if smoke else 3)

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Config:
        config = cls(bool(values.get("smoke")), None)
        for name, value in values.items():
            if hasattr(config, name):
                setattr(config, name, value)
        return config


def child_env(pycache: str) -> dict[str, str]:
    """The environment of child processes: bytecode cached, as for an installed package.

    Compiled files go to ``pycache`` (``PYTHONPYCACHEPREFIX``), not into the
    source tree, and ``PYTHONDONTWRITEBYTECODE`` is dropped: otherwise every
    child would compile codey from source and the import figures would be
    the compiler's.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = pycache
    return env


_STARTED = monotonic()


def log(message: str) -> None:
    print(f"[{monotonic() - _STARTED:6.1f} s] {message}", file=sys.stderr, flush=True)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def interleave(
    runs: int,
    rows: Sequence[str],
    once: Callable[[str], Any],
    warm: bool = False,
    once_only: Iterable[str] = (),
) -> dict[str, list[Any]]:
    """Run ``once(row)`` for every row, run after run: A B C A B C ...

    ``warm``: one untimed round first (imports, sessions, caches).
    ``once_only``: rows measured in the first run only (slow reference rows).
    """
    if warm:
        for row in rows:
            once(row)
    single = set(once_only)
    out: dict[str, list[Any]] = {row: [] for row in rows}
    for run in range(runs):
        for row in rows:
            if run and row in single:
                continue
            gc.collect()
            out[row].append(once(row))
    return out


# -- measures -------------------------------------------------------------------------------


MEASURES = (
    "throughput",
    "latency",
    "first_chunk",
    "imports",
    "scale",
    "cancel",
    "stall",
    "chatlog",
)
