"""The benchmark: codey.stream against the floor and the usual ways, side by side.

``python -m benchmarks`` (or ``python benchmarks/run.py``) starts the local
SSE server (:mod:`benchmarks.server`) in a child process, runs every measure
for both wire formats and both body framings, interleaving the clients run
by run (A B C A B C ...) so that machine drift hits all alike, and prints
Markdown tables (medians of the runs), the targets with PASS/MISS, and,
with ``--json PATH``, everything as JSON. ``--smoke`` runs tiny sizes in a
few seconds and asserts nothing about time (CI runs it so it never rots),
then ``python -m benchmarks.batch --smoke``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from time import monotonic
from typing import Any, Callable, Optional

if __package__ in (None, ""):  # python benchmarks/run.py
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.clients import ROWS, Target, count_bytes, sdk_rows
from benchmarks.server import CHAT, CHUNKED, CLOSE, MESSAGES, ServerProcess, answer_text

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


class Bench:
    def __init__(self, config: Config, sdk: bool) -> None:
        self.config = config
        self.server = ServerProcess()
        self.sdk = sdk_rows() if sdk else []
        self.results: dict[str, Any] = {}
        self.tags = 0
        self.pycache = tempfile.mkdtemp(prefix="codey-bench-pyc-")
        self.env = child_env(self.pycache)

    def close(self) -> None:
        self.server.close()
        shutil.rmtree(self.pycache, ignore_errors=True)

    def rows_for(self, fmt: str, rows: Sequence[str]) -> list[str]:
        return [r for r in rows if fmt in ROWS[r].formats]

    def target(self, fmt: str, spec: str) -> Target:
        return Target(self.server.port, fmt, spec)

    def per_combo(self, name: str, measure: Callable[[str, str], Any]) -> None:
        self.results[name] = {combo_key(f, fr): measure(f, fr) for f, fr in COMBOS}

    # throughput ------------------------------------------------------------------------

    def throughput(self) -> None:
        self.per_combo("throughput", self._throughput)

    def _throughput(self, fmt: str, framing: str) -> dict[str, Any]:
        cfg = self.config
        rows = ["bytes", *self.rows_for(fmt, [*CORE, "requests-documented", *self.sdk])]
        log(f"throughput {fmt}/{framing}: {', '.join(rows)}")
        expected = {n: answer_text(n) for n in {cfg.throughput_n, cfg.throughput_sdk_n}}

        def once(row: str) -> float:
            n = cfg.throughput_sdk_n if row in self.sdk else cfg.throughput_n
            target = self.target(fmt, f"n={n},framing={framing}")
            if row == "bytes":
                start = time.perf_counter()
                count_bytes(target)
                return n / (time.perf_counter() - start)
            parts: list[str] = []
            append = parts.append
            start = time.perf_counter()
            for piece in ROWS[row].open(target):
                append(piece)
            elapsed = time.perf_counter() - start
            if len(parts) != n or "".join(parts) != expected[n]:
                raise AssertionError(f"{row} delivered the wrong text")
            return n / elapsed

        runs = interleave(cfg.throughput_runs, rows, once, warm=True)
        floor = median(runs["floor"])
        return {
            row: {"runs": values, "chunks_per_s": median(values), "ratio": median(values) / floor}
            for row, values in runs.items()
        }

    # added latency -------------------------------------------------------------------

    def latency(self) -> None:
        self.per_combo("latency", self._latency)

    def _latency(self, fmt: str, framing: str) -> dict[str, Any]:
        cfg = self.config
        rows = self.rows_for(fmt, [*CORE, "requests-documented", *self.sdk])
        log(f"latency {fmt}/{framing}: {', '.join(rows)}")
        spec = f"n={cfg.latency_n},pace={cfg.latency_pace},ts=1,framing={framing}"
        target = self.target(fmt, spec)
        held = cfg.latency_pace * 1e3 / 2
        warm = self.target(fmt, f"n=5,framing={framing}")
        for row in rows:  # imports, sessions, pooled connections
            for _ in ROWS[row].open(warm):
                pass

        def once(row: str) -> dict[str, float]:
            delays = []
            for piece in ROWS[row].open(target):
                delays.append(monotonic() - float(piece))
            if len(delays) != cfg.latency_n:
                raise AssertionError(f"{row} delivered {len(delays)} chunks")
            ms = [d * 1e3 for d in delays]
            return {
                "p50": percentile(ms, 50),
                "p99": percentile(ms, 99),
                "max": max(ms),
                "held_back": sum(1 for d in ms if d > held),
            }

        # The reference rows once: they only show the held-back events and the SDKs' cost.
        runs = interleave(
            cfg.latency_runs, rows, once, once_only=("requests-documented", *self.sdk)
        )
        return {
            row: {
                "runs": values,
                "p50_ms": median([v["p50"] for v in values]),
                "p99_ms": median([v["p99"] for v in values]),
                "max_ms": max(v["max"] for v in values),
                "held_back": sum(v["held_back"] for v in values),
            }
            for row, values in runs.items()
        }

    # first chunk ---------------------------------------------------------------------

    def first_chunk(self) -> None:
        self.per_combo("first_chunk_warm", self._first_warm)
        self.per_combo("first_chunk_fresh", self._first_fresh)

    def _first_warm(self, fmt: str, framing: str) -> dict[str, Any]:
        cfg = self.config
        rows = self.rows_for(fmt, [*CORE, "requests-documented", *self.sdk])
        log(f"first chunk (warm) {fmt}/{framing}: {', '.join(rows)}")
        target = self.target(fmt, f"n=5,framing={framing}")
        for row in rows:  # warm up: imports, sessions, pooled connections
            for _ in ROWS[row].open(target):
                pass

        def once(row: str) -> float:
            samples = []
            for _ in range(cfg.first_samples):
                start = time.perf_counter()
                iterator = iter(ROWS[row].open(target))
                next(iterator)
                samples.append((time.perf_counter() - start) * 1e3)
                for _ in iterator:
                    pass
            return median(samples)

        runs = interleave(cfg.first_runs, rows, once)
        return {row: {"runs": values, "ms": median(values)} for row, values in runs.items()}

    def _first_fresh(self, fmt: str, framing: str) -> dict[str, Any]:
        cfg = self.config
        rows = self.rows_for(fmt, [*CORE, "codey-preloaded", *self.sdk])
        log(f"first chunk (fresh process) {fmt}/{framing}: {', '.join(rows)}")

        def once(row: str) -> dict[str, float]:
            command = [sys.executable, "-m", "benchmarks.clients", "first", "--row", row]
            command += ["--port", str(self.server.port), "--fmt", fmt]
            command += ["--spec", f"n=5,framing={framing}"]
            done = subprocess.run(
                command, cwd=REPO, env=self.env, capture_output=True, text=True, check=True
            )
            return json.loads(done.stdout)  # type: ignore[no-any-return]

        runs = interleave(cfg.fresh_runs, rows, once, warm=True, once_only=self.sdk)
        return {
            row: {
                "runs": values,
                "ms": median([v["first_ms"] for v in values]),
                "import_ms": median([v["import_ms"] for v in values]),
            }
            for row, values in runs.items()
        }

    # import ------------------------------------------------------------------------------

    def imports(self) -> None:
        cfg = self.config
        python = sys.executable
        commands: dict[str, list[str]] = {
            "python -c pass": [python, "-c", "pass"],
            "python -c 'import codey'": [python, "-c", "import codey"],
        }
        notes: dict[str, str] = {}
        if os.path.exists(os.path.join(REPO, "codey", "cli.py")):
            commands["python -m codey --help"] = [python, "-m", "codey", "--help"]
            script = shutil.which("codey")
            if script:
                commands["codey --help"] = [script, "--help"]
            else:
                notes["codey --help"] = (
                    "the codey script is not installed here; python -m codey --help stands in"
                )
        else:
            notes["codey --help"] = "skipped: codey/cli.py does not exist yet"
        commands["python -c 'import requests, sseclient' (reference)"] = [
            python,
            "-c",
            "import requests, sseclient",
        ]
        sdk_commands = {}
        for row in self.sdk:
            module = ROWS[row].imports[0]
            sdk_commands[f"python -c 'import {module}' (reference)"] = [
                python,
                "-c",
                f"import {module}",
            ]
        log(f"import: {len(commands) + len(sdk_commands)} commands")
        # Check that each works once, and warm the disk cache.
        for name, command in {**commands, **sdk_commands}.items():
            done = subprocess.run(command, cwd=REPO, env=self.env, capture_output=True)
            if done.returncode != 0:
                raise RuntimeError(f"{name} failed: {done.stderr.decode()[-500:]}")

        def timer(table: dict[str, list[str]]) -> Callable[[str], float]:
            def once(name: str) -> float:
                start = time.perf_counter()
                subprocess.run(
                    table[name], cwd=REPO, env=self.env, stdout=subprocess.DEVNULL, check=True
                )
                return (time.perf_counter() - start) * 1e3

            return once

        runs = interleave(cfg.import_runs, list(commands), timer(commands))
        bare = median(runs["python -c pass"])
        bases = dict.fromkeys(runs, bare)
        if sdk_commands:
            sdk_table = {"python -c pass": commands["python -c pass"], **sdk_commands}
            sdk_runs = interleave(cfg.import_sdk_runs, list(sdk_table), timer(sdk_table))
            for name in sdk_commands:
                runs[name] = sdk_runs[name]
                bases[name] = median(sdk_runs["python -c pass"])
        out: dict[str, Any] = {}
        for name, values in runs.items():
            out[name] = {
                "runs": values,
                "ms": median(values),
                "over_bare_ms": median(values) - bases[name],
            }
        self.results["import"] = {"commands": out, "notes": notes}

    # scale -------------------------------------------------------------------------------

    def scale(self) -> None:
        self.per_combo("scale", self._scale)

    def _scale(self, fmt: str, framing: str) -> dict[str, Any]:
        cfg = self.config
        log(
            f"scale {fmt}/{framing}: {cfg.scale_streams} streams x {cfg.scale_chunks} chunks "
            f"every {cfg.scale_pace * 1e3:g} ms: {', '.join(CORE)}"
        )

        def once(row: str) -> dict[str, Any]:
            command = [sys.executable, "-m", "benchmarks.clients", "scale", "--row", row]
            command += ["--port", str(self.server.port), "--fmt", fmt, "--framing", framing]
            command += ["--streams", str(cfg.scale_streams), "--chunks", str(cfg.scale_chunks)]
            command += ["--pace", str(cfg.scale_pace), "--settle", str(cfg.scale_settle)]
            done = subprocess.run(command, cwd=REPO, env=self.env, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"scale {row} failed: {done.stderr[-2000:]}")
            result: dict[str, Any] = json.loads(done.stdout)
            if result["chunks"] != result["expected"]:
                log(f"  {row}: {result['chunks']} of {result['expected']} chunks")
                log(f"  {result['errors']}")
            return result

        runs = interleave(1, CORE, once)
        return {row: values[0] for row, values in runs.items()}

    # cancel -----------------------------------------------------------------------------

    def cancel(self) -> None:
        self.per_combo("cancel", self._cancel)

    def _cancel(self, fmt: str, framing: str) -> dict[str, Any]:
        cfg = self.config
        log(f"cancel {fmt}/{framing}: {', '.join(CORE)}, close() and dropped")
        variants = [f"{row}:{mode}" for row in CORE for mode in ("close", "drop")]

        def once(variant: str) -> dict[str, Optional[float]]:
            row, mode = variant.split(":")
            self.tags += 1
            tag = f"c{os.getpid()}x{self.tags}"
            target = self.target(fmt, f"n=100,stall=5,framing={framing},tag={tag}")
            return _cancel_once(self.server, ROWS[row].open, target, tag, mode)

        def summary(values: list[dict[str, Optional[float]]], name: str) -> dict[str, Any]:
            found = [x for x in (v[name] for v in values) if x is not None]
            return {"median": median(found) if found else None, "max": max(found, default=None)}

        runs = interleave(cfg.cancel_runs, variants, once)
        return {
            variant: {
                "runs": values,
                "eof_ms": summary(values, "eof_ms"),
                "worker_ms": summary(values, "worker_ms"),
            }
            for variant, values in runs.items()
        }

    # stall ------------------------------------------------------------------------------

    def stall(self) -> None:
        self.per_combo("stall", self._stall)

    def _stall(self, fmt: str, framing: str) -> dict[str, Any]:
        import codey
        from benchmarks.clients import codey_stream

        cfg = self.config
        timeout = cfg.stall_timeout
        log(f"stall {fmt}/{framing}: codey, {cfg.stall_runs} x chunk_timeout={timeout}")
        target = self.target(fmt, f"n=100,stall=3,ts=1,framing={framing}")
        late = []
        for _ in range(cfg.stall_runs):
            last = None
            stream = codey_stream(target, chunk_timeout=timeout, retries=0)
            try:
                for piece in stream:
                    last = float(piece)
            except codey.ChunkTimeoutError:
                now = monotonic()
            else:
                raise AssertionError("no ChunkTimeoutError")
            assert last is not None
            late.append((now - last - timeout) * 1e3)
        return {
            "runs": late,
            "late_ms": median(late),
            "max_late_ms": max(late),
            "min_late_ms": min(late),
        }


def _cancel_once(
    server: ServerProcess,
    open_row: Callable[[Target], Iterable[str]],
    target: Target,
    tag: str,
    mode: str,
) -> dict[str, Optional[float]]:
    """Read 5 chunks of a stalled answer, then close or drop; EOF and worker-exit times."""
    before = set(threading.enumerate())
    stream = open_row(target)
    iterator = iter(stream)
    for _ in range(5):
        next(iterator)
    workers = [t for t in threading.enumerate() if t not in before and t.name.startswith("codey-")]
    start = monotonic()
    if mode == "close":
        stream.close()  # type: ignore[attr-defined]
    else:
        del iterator, stream
    worker_ms = None
    for worker in workers:
        worker.join(5)
        worker_ms = None if worker.is_alive() else (monotonic() - start) * 1e3
    eof = server.record(tag).get("eof")
    return {"eof_ms": None if eof is None else (eof - start) * 1e3, "worker_ms": worker_ms}


# -- report ----------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    commit = ""
    changed: list[str] = []
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--", "codey"],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout
        changed = [line[3:] for line in status.splitlines() if line.strip()]
    except OSError:
        pass
    versions = {}
    for name in ("requests", "sseclient-py", "urllib3", "openai", "anthropic"):
        try:
            from importlib.metadata import version

            versions[name] = version(name)
        except Exception:
            pass
    return {
        "nproc": os.cpu_count(),
        "cpu": model or platform.processor(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "commit": commit,
        "uncommitted": changed,
        "versions": versions,
    }


class Noise:
    """How much CPU other processes (and the hypervisor: steal) took while we ran."""

    def __init__(self) -> None:
        self.start = self._snapshot()

    @staticmethod
    def _snapshot() -> tuple[float, float, float, float]:
        busy = steal = 0.0
        try:
            with open("/proc/stat") as f:
                fields = [int(x) for x in f.readline().split()[1:]]
            tick = os.sysconf("SC_CLK_TCK")
            user, nice, system, _idle, _iowait, irq, softirq = fields[:7]
            busy = (user + nice + system + irq + softirq) / tick
            steal = (fields[7] if len(fields) > 7 else 0) / tick
        except (OSError, ValueError):
            pass
        t = os.times()
        own = t.user + t.system + t.children_user + t.children_system
        return busy, steal, own, monotonic()

    def result(self) -> dict[str, float]:
        busy0, steal0, own0, wall0 = self.start
        busy1, steal1, own1, wall1 = self._snapshot()
        wall = max(wall1 - wall0, 1e-9)
        others = max(0.0, (busy1 - busy0) - (own1 - own0))
        return {
            "other_cpu_s": others,
            "other_cpu_share": others / wall / (os.cpu_count() or 1),
            "steal_s": steal1 - steal0,
            "loadavg_end": os.getloadavg()[0],
        }


def fmt_num(value: Optional[float], digits: int = 2) -> str:
    if value is None or value != value:
        return "—"
    return f"{value:,.{digits}f}"


def fmt_rate(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.2f} M"
    return f"{value / 1e3:,.0f} k"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def rst_tables(markdown: str) -> str:
    """``markdown`` with each pipe table turned into a reStructuredText grid table."""

    def grid(block: list[str]) -> list[str]:
        rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in block]
        rows = [rows[0], *rows[2:]]  # drop the |---| line
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
        lines = [rule]
        for n, row in enumerate(rows):
            lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
            lines.append(rule.replace("-", "=") if n == 0 else rule)
        return lines

    # Markdown's `code` is ``code`` in reStructuredText.
    markdown = re.sub(r"(?<!`)`([^`]+)`(?!`)", r"``\1``", markdown)
    out: list[str] = []
    block: list[str] = []
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            block.append(line)
            continue
        if block:
            out += grid(block)
            block = []
        out.append(line)
    return "\n".join(out[:-1])


def label(row: str) -> str:
    if row == "bytes":
        return "server capacity (byte counter)"
    return ROWS[row].label


def report(results: dict[str, Any], config: Config, info: dict[str, Any]) -> str:
    keys = [combo_key(f, fr) for f, fr in COMBOS]
    header = ["client", *[combo_title(k) for k in keys]]
    out: list[str] = []

    def all_rows(measure: str) -> list[str]:
        seen: list[str] = []
        for key in keys:
            for row in results[measure].get(key, {}):
                if row not in seen:
                    seen.append(row)
        return seen

    if "throughput" in results:
        data = results["throughput"]
        out.append(
            f"Throughput: {config.throughput_n:,} chunks of ~4 characters, chunks/s "
            f"({X} floor), median of {config.throughput_runs}"
        )
        out.append("")
        body = []
        for row in all_rows("throughput"):
            cells = []
            for key in keys:
                cell = data[key].get(row)
                cells.append(
                    "—"
                    if cell is None
                    else f"{fmt_rate(cell['chunks_per_s'])} ({cell['ratio']:.2f}{X})"
                )
            body.append([label(row), *cells])
        out.append(table(header, body))
        if any(r in data[k] for r in ("openai-sdk", "anthropic-sdk") for k in keys):
            out.append("")
            out.append(f"(SDK rows: {config.throughput_sdk_n:,} chunks per run.)")
        out.append("")
    if "latency" in results:
        data = results["latency"]
        out.append(
            f"Added latency: {config.latency_n} chunks {config.latency_pace * 1e3:g} ms apart, "
            "server write → consumer, ms, p50 / p99 (held-back events), "
            f"median of {config.latency_runs}"
        )
        out.append("")
        body = []
        for row in all_rows("latency"):
            cells = []
            for key in keys:
                cell = data[key].get(row)
                cells.append(
                    "—"
                    if cell is None
                    else f"{cell['p50_ms']:.3f} / {cell['p99_ms']:.3f}"
                    + (f" ({cell['held_back']} held)" if cell["held_back"] else "")
                )
            body.append([label(row), *cells])
        out.append(table(header, body))
        out.append("")
    if "first_chunk_warm" in results:
        for measure, title in (
            (
                "first_chunk_warm",
                "First chunk, warm: request → first text, ms, "
                f"median of {config.first_runs} {X} {config.first_samples}",
            ),
            (
                "first_chunk_fresh",
                "First chunk, first call after import: a fresh process each time, ms, "
                f"median of {config.fresh_runs}",
            ),
        ):
            data = results[measure]
            out.append(title)
            out.append("")
            body = []
            for row in all_rows(measure):
                cells = []
                for key in keys:
                    cell = data[key].get(row)
                    floor = data[key]["floor"]["ms"]
                    if cell is None:
                        cells.append("—")
                    elif row == "floor":
                        cells.append(f"{cell['ms']:.2f}")
                    else:
                        cells.append(f"{cell['ms']:.2f} (+{cell['ms'] - floor:.2f})")
                body.append([label(row), *cells])
            out.append(table(header, body))
            out.append("")
    if "import" in results:
        data = results["import"]
        out.append(f"Import: whole-process wall time, ms, median of {config.import_runs}")
        out.append("")
        body = [
            [f"`{name}`", f"{cell['ms']:.1f}", f"+{cell['over_bare_ms']:.1f}"]
            for name, cell in data["commands"].items()
        ]
        out.append(table(["command", "wall", "over bare python"], body))
        for name, note in data["notes"].items():
            out.append(f"\n(`{name}`: {note}.)")
        out.append("")
    if "scale" in results:
        data = results["scale"]
        out.append(
            f"Scale: {config.scale_streams} concurrent streams {X} {config.scale_chunks:,} chunks "
            f"{config.scale_pace * 1e3:g} ms apart, from {config.scale_streams} caller threads "
            "(a fresh process per cell)"
        )
        out.append("")
        body = []
        for key in keys:
            floor_cpu = data[key]["floor"]["cpu_us_per_chunk"]
            for row, cell in data[key].items():
                ok = "" if cell["chunks"] == cell["expected"] else f" (got {cell['chunks']:,})"
                body.append(
                    [
                        combo_title(key),
                        label(row) + ok,
                        f"{cell['peak_rss_over_base_mb']:.1f}",
                        f"{cell['cpu_us_per_chunk']:.1f} "
                        f"({cell['cpu_us_per_chunk'] / floor_cpu:.2f}{X})",
                        f"{cell['threads_after_over_base']:+d}",
                        f"{cell['fds_after_over_base']:+d}",
                        f"{cell['rss_after_over_base_mb']:+.1f}",
                    ]
                )
        out.append(
            table(
                [
                    "body",
                    "client",
                    "peak RSS over base, MB",
                    f"CPU µs/chunk ({X} floor)",
                    "threads after",
                    "fds after",
                    "RSS after, MB",
                ],
                body,
            )
        )
        out.append("")
    if "cancel" in results:
        data = results["cancel"]
        out.append(
            "Cancel: server stalled mid-stream; `close()` or dropping the last reference → "
            f"EOF at the server; worker thread gone; ms, median (max) of {config.cancel_runs}"
        )
        out.append("")
        body = []
        for variant in data[keys[0]]:
            row, mode = variant.split(":")
            cells = []
            for key in keys:
                cell = data[key][variant]
                eof, worker = cell["eof_ms"], cell["worker_ms"]
                text = f"EOF {fmt_num(eof['median'], 3)} ({fmt_num(eof['max'], 3)})"
                if worker["median"] is not None:
                    text += f"; worker {fmt_num(worker['median'], 3)} ({fmt_num(worker['max'], 3)})"
                cells.append(text)
            how = "close()" if mode == "close" else "dropped"
            body.append([f"{label(row)}, {how}", *cells])
        out.append(table(header, body))
        out.append("")
    if "stall" in results:
        data = results["stall"]
        out.append(
            f"Stall: `ChunkTimeoutError` after chunk_timeout={config.stall_timeout} s, "
            f"ms late, median / max of {config.stall_runs}"
        )
        out.append("")
        cells = [f"{data[k]['late_ms']:.1f} / {data[k]['max_late_ms']:.1f}" for k in keys]
        out.append(table(header, [["**codey.stream**", *cells]]))
        out.append("")
    return "\n".join(out)


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target of the issue, with codey's figure and PASS/MISS."""
    found: list[dict[str, Any]] = []
    keys = [combo_key(f, fr) for f, fr in COMBOS]

    def add(name: str, where: str, value: str, goal: str, ok: bool) -> None:
        found.append({"target": name, "where": where, "value": value, "goal": goal, "pass": ok})

    for key in keys:
        where = combo_title(key)
        if "throughput" in results:
            ratio = results["throughput"][key]["codey"]["ratio"]
            add("throughput", where, f"{ratio:.2f}{X} floor", f"≥ 0.60{X} floor", ratio >= 0.6)
        if "latency" in results:
            cell = results["latency"][key]["codey"]
            floor = results["latency"][key]["floor"]
            add(
                "added latency p50",
                where,
                f"{cell['p50_ms']:.3f} ms (floor {floor['p50_ms']:.3f})",
                "≤ floor + 0.1 ms",
                cell["p50_ms"] <= floor["p50_ms"] + 0.1,
            )
            add(
                "added latency p99",
                where,
                f"{cell['p99_ms']:.3f} ms",
                "≤ 1 ms",
                cell["p99_ms"] <= 1.0,
            )
            add(
                "no held-back event",
                where,
                f"{cell['held_back']} held",
                "0",
                cell["held_back"] == 0,
            )
        if "first_chunk_warm" in results:
            cell = results["first_chunk_warm"][key]["codey"]["ms"]
            floor = results["first_chunk_warm"][key]["floor"]["ms"]
            add(
                "first chunk, warm",
                where,
                f"{cell:.2f} ms (floor {floor:.2f})",
                "≤ floor + 1.2 ms",
                cell <= floor + 1.2,
            )
            fresh = results["first_chunk_fresh"][key]["codey"]["ms"]
            add("first call after import", where, f"{fresh:.1f} ms", "≤ 10 ms", fresh <= 10)
        if "scale" in results:
            cell = results["scale"][key]["codey"]
            floor = results["scale"][key]["floor"]
            ratio = cell["cpu_us_per_chunk"] / floor["cpu_us_per_chunk"]
            add(
                "scale: peak RSS",
                where,
                f"+{cell['peak_rss_over_base_mb']:.1f} MB",
                "≤ 40 MB",
                cell["peak_rss_over_base_mb"] <= 40,
            )
            add(
                "scale: CPU/chunk",
                where,
                f"{ratio:.2f}{X} floor",
                f"≤ 1.5{X} floor",
                ratio <= 1.5,
            )
            add(
                "scale: threads after",
                where,
                f"{cell['threads_after_over_base']:+d}",
                "back to base",
                cell["threads_after_over_base"] <= 0,
            )
            add(
                "scale: fds after",
                where,
                f"{cell['fds_after_over_base']:+d}",
                "back to base",
                cell["fds_after_over_base"] <= 0,
            )
            add(
                "scale: RSS after",
                where,
                f"{cell['rss_after_over_base_mb']:+.1f} MB",
                "≤ +10 MB",
                cell["rss_after_over_base_mb"] <= 10,
            )
        if "cancel" in results:
            for mode, how in (("close", "close()"), ("drop", "dropped reference")):
                cell = results["cancel"][key][f"codey:{mode}"]
                eof, worker = cell["eof_ms"], cell["worker_ms"]
                add(
                    f"cancel, {how}: EOF at server",
                    where,
                    f"{fmt_num(eof['median'], 3)} ms (max {fmt_num(eof['max'], 3)})",
                    "≤ 1 ms",
                    eof["max"] is not None and eof["max"] <= 1.0,
                )
                add(
                    f"cancel, {how}: worker gone",
                    where,
                    f"{fmt_num(worker['median'], 3)} ms (max {fmt_num(worker['max'], 3)})",
                    "≤ 5 ms",
                    worker["max"] is not None and worker["max"] <= 5.0,
                )
        if "stall" in results:
            cell = results["stall"][key]
            add(
                "stall: ChunkTimeoutError late by",
                where,
                f"{cell['late_ms']:.1f} ms (max {cell['max_late_ms']:.1f})",
                "≤ 50 ms, every time",
                cell["max_late_ms"] <= 50,
            )
    if "import" in results:
        commands = results["import"]["commands"]
        cell = commands["python -c 'import codey'"]
        add(
            "import codey",
            "",
            f"+{cell['over_bare_ms']:.1f} ms",
            "≤ 40 ms over bare python",
            cell["over_bare_ms"] <= 40,
        )
        for name in ("codey --help", "python -m codey --help"):
            if name in commands:
                cell = commands[name]
                add(
                    f"{name}",
                    "",
                    f"+{cell['over_bare_ms']:.1f} ms",
                    "≤ 80 ms over bare python",
                    cell["over_bare_ms"] <= 80,
                )
                break
    return found


def targets_table(found: list[dict[str, Any]]) -> str:
    """The targets, one row each, codey's figure and PASS/MISS per body kind."""
    wheres = [combo_title(combo_key(f, fr)) for f, fr in COMBOS]
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for t in found:
        verdict = "PASS" if t["pass"] else "**MISS**"
        cells = rows.setdefault((t["target"], t["goal"]), {})
        cells[t["where"] or "all"] = f"{verdict} {t['value']}"
    body = []
    for (name, goal), cells in rows.items():
        if "all" in cells:
            body.append([name, goal, cells["all"], "", "", ""])
        else:
            body.append([name, goal, *[cells.get(w, "—") for w in wheres]])
    return table(["target", "goal", *wheres], body)


MEASURES = ("throughput", "latency", "first_chunk", "imports", "scale", "cancel", "stall")


def render(data: dict[str, Any]) -> str:
    """The whole Markdown report from a run's data (as written by ``--json``)."""
    info, config, results = data["machine"], Config.from_dict(data["config"]), data["results"]
    noise = info.get("noise") or {}
    found = targets(results)
    passed = sum(1 for t in found if t["pass"])
    head = (
        f"Machine: {info['nproc']} CPUs ({info['cpu']}), Python {info['python']} "
        f"({info['platform']}), commit {info['commit'] or '?'}"
        + (
            f" with uncommitted changes to {', '.join(info['uncommitted'])}"
            if info.get("uncommitted")
            else ""
        )
        + f"; run took {data['elapsed_s']:.0f} s"
        f"{' (smoke sizes: not a measurement)' if config.smoke else ''}"
    )
    if noise:
        head += (
            f"; other processes used {noise['other_cpu_share']:.0%} of the machine meanwhile "
            f"(steal {noise['steal_s']:.1f} s)"
        )
    return "\n".join(
        [
            head + ".",
            "",
            report(results, config, info),
            "Targets",
            "",
            targets_table(found),
            "",
            f"{passed} PASS, {len(found) - passed} MISS",
        ]
    )


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark codey.stream against a raw-socket floor and the usual clients.",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds (CI)")
    parser.add_argument("--json", metavar="PATH", help="also write every figure as JSON")
    parser.add_argument("--runs", type=int, help="runs per measure (default: per measure)")
    parser.add_argument("--no-sdk", action="store_true", help="leave out the openai/anthropic rows")
    parser.add_argument("--only", metavar="M,M", help=f"only these measures: {','.join(MEASURES)}")
    parser.add_argument(
        "--render", metavar="PATH", help="print the report of a run saved with --json; run nothing"
    )
    parser.add_argument(
        "--rst", action="store_true", help="tables as reStructuredText grid tables (the README's)"
    )
    args = parser.parse_args(argv)
    if args.render:
        with open(args.render) as f:
            text = render(json.load(f))
        print(rst_tables(text) if args.rst else text)
        return 0
    config = Config(args.smoke, args.runs)
    only = args.only.split(",") if args.only else list(MEASURES)
    unknown = set(only) - set(MEASURES)
    if unknown:
        parser.error(f"unknown measures: {', '.join(sorted(unknown))}")
    info = machine()
    log(
        f"{info['nproc']} CPUs ({info['cpu']}), Python {info['python']}"
        + (" [smoke]" if args.smoke else "")
    )
    load = os.getloadavg()[0]
    if load > 0.5 * (os.cpu_count() or 1):
        log(f"warning: load average {load:.1f}: other work will disturb the figures")
    noise = Noise()
    started = monotonic()
    bench = Bench(config, sdk=not args.no_sdk and not args.smoke)
    try:
        for name in MEASURES:
            if name in only:
                getattr(bench, name)()
    finally:
        bench.close()
    info["noise"] = noise.result()
    data = {
        "machine": info,
        "config": config.as_dict(),
        "elapsed_s": monotonic() - started,
        "results": bench.results,
        "targets": targets(bench.results),
    }
    text = render(data)
    print(rst_tables(text) if args.rst else text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(data, f, indent=2)
    if args.smoke:  # the batch benchmark has its own command; CI keeps it from rotting
        from benchmarks import batch

        batch.main(["--smoke", "--no-sdk"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
