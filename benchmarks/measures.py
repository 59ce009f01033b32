"""The measures: each runs the clients against the local server, interleaved run by run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from time import monotonic
from typing import Any, Callable, Optional

from benchmarks.clients import ROWS, Target, count_bytes, sdk_rows
from benchmarks.common import (
    COMBOS,
    CORE,
    REPO,
    Config,
    child_env,
    combo_key,
    interleave,
    log,
    median,
    percentile,
)
from benchmarks.server import ServerProcess, answer_text


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
        commands, sdk_commands, notes = self._import_commands()
        log(f"import: {len(commands) + len(sdk_commands)} commands")
        # Check that each works once, and warm the disk cache.
        for name, command in {**commands, **sdk_commands}.items():
            done = subprocess.run(command, cwd=REPO, env=self.env, capture_output=True)
            if done.returncode != 0:
                raise RuntimeError(f"{name} failed: {done.stderr.decode()[-500:]}")
        runs = interleave(cfg.import_runs, list(commands), self._timer(commands))
        bare = median(runs["python -c pass"])
        bases = dict.fromkeys(runs, bare)
        if sdk_commands:
            sdk_table = {"python -c pass": commands["python -c pass"], **sdk_commands}
            sdk_runs = interleave(cfg.import_sdk_runs, list(sdk_table), self._timer(sdk_table))
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

    def _import_commands(
        self,
    ) -> tuple[dict[str, list[str]], dict[str, list[str]], dict[str, str]]:
        """The commands timed (codey's, then the SDKs' apart), and notes on those left out."""
        python = sys.executable
        commands: dict[str, list[str]] = {
            "python -c pass": [python, "-c", "pass"],
            "python -c 'import codey'": [python, "-c", "import codey"],
        }
        notes: dict[str, str] = {}
        if os.path.exists(os.path.join(REPO, "codey", "cli", "__init__.py")):
            commands["python -m codey --help"] = [python, "-m", "codey", "--help"]
            script = shutil.which("codey")
            if script:
                commands["codey --help"] = [script, "--help"]
            else:
                notes["codey --help"] = (
                    "the codey script is not installed here; python -m codey --help stands in"
                )
        else:
            notes["codey --help"] = "skipped: codey/cli/ does not exist yet"
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
        return commands, sdk_commands, notes

    def _timer(self, table: dict[str, list[str]]) -> Callable[[str], float]:
        """Runs one command of ``table`` by name; its wall time in ms."""

        def once(name: str) -> float:
            start = time.perf_counter()
            subprocess.run(
                table[name], cwd=REPO, env=self.env, stdout=subprocess.DEVNULL, check=True
            )
            return (time.perf_counter() - start) * 1e3

        return once

    # chat log ----------------------------------------------------------------------------

    def chatlog(self) -> None:
        """codey.parse_chat on a chat log of ``chatlog_mib`` MiB, in this process."""
        import codey

        cfg = self.config
        text, turns = chatlog_text(cfg.chatlog_mib * 1024 * 1024)
        log(f"chatlog: parse {len(text) / 2**20:.0f} MiB, {turns:,} turns")
        runs, cpu = [], []
        for _ in range(cfg.chatlog_runs):
            start, start_cpu = time.perf_counter(), time.process_time()
            chat = codey.parse_chat(text)
            runs.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            if len(chat.messages) != 2 * turns:
                raise RuntimeError(f"parse_chat found {len(chat.messages)} messages")
        # CPU time is the target's figure: the wall time also counts other processes' load.
        self.results["chatlog"] = {
            "mib": cfg.chatlog_mib,
            "turns": turns,
            "runs": runs,
            "s": median(runs),
            "cpu_s": median(cpu),
        }

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


def chatlog_text(size: int) -> tuple[str, int]:
    """A chat log of about ``size`` characters and its number of turns: prose, code
    blocks (one holding a delimiter line) and a note, as ``codey save`` writes them."""
    prose = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod. " * 6
    turn = (
        f"{prose}\n\n```markdown\nq\n\n# === ASSISTANT ===\n\na\n```"
        f"\n\n# === ASSISTANT ===\n\n{prose}\n\n{prose}\n\n```python\nprint('hi')\n```"
        "\n\n<!-- codey: interrupted: Ctrl-C -->\n\n# === USER ===\n\n"
    )
    turns = max(1, size // len(turn))
    return turn * turns, turns
