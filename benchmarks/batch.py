"""``python -m benchmarks.batch``: codey.batch() against the ideal and a hand-written loop.

The local SSE server (:mod:`benchmarks.server`, its own process) answers every
prompt after 20 ms to first token (then 20 text chunks at once). Each run is a
fresh child process, so its peak RSS is its own:

- **codey.batch**: a JSONL file of N prompts in, the output file out
  (records fsync'd), ``parallel`` at once. prompts/s as a ratio of the ideal,
  ``parallel / 20 ms`` (what a client with no overhead at all would do);
  peak RSS at 1,000 and at 10,000 prompts (flat: the input is read lazily).
- **codey.stream in a pool** (diagnostic): ``ThreadPoolExecutor(parallel)``
  mapping ``codey.complete`` over the prompts, nothing written: what the
  batch itself costs over the engine.
- **hand-written**: ``ThreadPoolExecutor(parallel)`` mapping the openai SDK's
  streaming call over the same prompts, each answer appended to a file
  (flushed, not fsync'd), as one would write it by hand. Left out, with a
  note, when the openai package is not installed (``pip install openai``).

Targets: codey at least 0.9 of the ideal, and at least the hand-written loop.
``--smoke`` runs tiny sizes in a few seconds and asserts nothing (CI).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from time import perf_counter
from typing import Any, Optional

if __package__ in (None, ""):  # python benchmarks/batch.py
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.clients import API_KEY, HOST, peak_rss_bytes
from benchmarks.server import ServerProcess, _repo_root

TTFT = 0.02
CHUNKS = 20
SPEC = f"n={CHUNKS},ttft={TTFT}"


def _prompts(path: str, n: int) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"p{i}", "prompt": f"Write a short story, number {i}."}))
            f.write("\n")


def _child_codey(port: int, n: int, parallel: int, folder: str) -> dict[str, Any]:
    import codey

    codey.preload()
    source = os.path.join(folder, "in.jsonl")
    _prompts(source, n)
    output = os.path.join(folder, "out.jsonl")
    started = perf_counter()
    summary = codey.batch(
        codey.read_batch_input(source),
        output,
        parallel=parallel,
        model="gpt-4.1",
        api_key=API_KEY,
        base_url=f"http://{HOST}:{port}/b/{SPEC}",
    )
    elapsed = perf_counter() - started
    with open(output, "rb") as f:
        done = sum(1 for _ in f)
    return {"elapsed": elapsed, "done": summary.done, "failed": summary.failed, "records": done}


def _child_pool(port: int, n: int, parallel: int, folder: str) -> dict[str, Any]:
    """The diagnostic row: codey.stream in a hand-written pool, nothing written."""
    from concurrent.futures import ThreadPoolExecutor

    import codey

    codey.preload()
    url = f"http://{HOST}:{port}/b/{SPEC}"

    def one(index: int) -> bool:
        text = codey.complete(
            f"Write a short story, number {index}.", model="gpt-4.1", api_key=API_KEY, base_url=url
        )
        return bool(text)

    started = perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        done = sum(pool.map(one, range(n)))
    elapsed = perf_counter() - started
    return {"elapsed": elapsed, "done": done, "failed": n - done, "records": done}


def _child_sdk(port: int, n: int, parallel: int, folder: str) -> dict[str, Any]:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import openai

    client = openai.OpenAI(api_key=API_KEY, base_url=f"http://{HOST}:{port}/b/h", max_retries=2)
    prompts = [f"Write a short story, number {i}." for i in range(n)]
    lock = threading.Lock()
    out = open(os.path.join(folder, "out.jsonl"), "a", encoding="utf-8")  # noqa: SIM115

    def one(index: int) -> bool:
        stream = client.chat.completions.create(
            model="gpt-4.1",
            messages=[{"role": "user", "content": prompts[index]}],
            stream=True,
            extra_headers={"X-Bench": SPEC},
        )
        parts = []
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
        line = json.dumps({"id": f"p{index}", "text": "".join(parts)}) + "\n"
        with lock:
            out.write(line)
            out.flush()
        return True

    started = perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        done = sum(pool.map(one, range(n)))
    elapsed = perf_counter() - started
    out.close()
    return {"elapsed": elapsed, "done": done, "failed": n - done, "records": done}


def child(argv: list[str]) -> None:
    kind, port, n, parallel = argv[0], int(argv[1]), int(argv[2]), int(argv[3])
    with tempfile.TemporaryDirectory(prefix="codey-bench-batch-") as folder:
        run = {"codey": _child_codey, "pool": _child_pool, "sdk": _child_sdk}[kind]
        result = run(port, n, parallel, folder)
    result["peak_rss"] = peak_rss_bytes()
    print(json.dumps(result))


def measure(kind: str, port: int, n: int, parallel: int) -> dict[str, Any]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.batch",
            "--child",
            kind,
            str(port),
            str(n),
            str(parallel),
        ],
        capture_output=True,
        text=True,
        cwd=_repo_root(),
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} run failed: {proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["prompts_per_s"] = n / result["elapsed"]
    result["ratio"] = result["prompts_per_s"] / (parallel / TTFT)
    return result


def _sdk_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("openai") is not None


def main(argv: Optional[list[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        child(argv[1:])
        return 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks.batch", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds (CI)")
    parser.add_argument("-n", type=int, help="prompts (default 10000; smoke 300)")
    parser.add_argument("--parallel", type=int, default=16, help="requests at once (default 16)")
    parser.add_argument("--runs", type=int, help="runs of each (default 3; smoke 1); medians")
    parser.add_argument("--no-sdk", action="store_true", help="leave out the hand-written loop")
    args = parser.parse_args(argv)
    n = args.n or (300 if args.smoke else 10_000)
    small = max(1, n // 10)
    runs = args.runs or (1 if args.smoke else 3)
    parallel = args.parallel
    sdk = not args.no_sdk and _sdk_installed()
    server = ServerProcess()
    try:
        load = os.getloadavg()[0]
        rows: dict[str, list[dict[str, Any]]] = {"codey": [], "pool": [], "sdk": []}
        for _ in range(runs):  # interleaved, so that drift hits all alike
            for kind in ("codey", "pool", "sdk") if sdk else ("codey", "pool"):
                rows[kind].append(measure(kind, server.port, n, parallel))
        rss_small = measure("codey", server.port, small, parallel)["peak_rss"]
    finally:
        server.close()
    ideal = parallel / TTFT

    def med(kind: str, key: str) -> float:
        values = sorted(row[key] for row in rows[kind])
        return values[len(values) // 2]

    mib = 1024 * 1024
    codey_rate = med("codey", "prompts_per_s")
    lines = [
        f"batch: {n} prompts, parallel {parallel}, {TTFT * 1000:.0f} ms to first token, "
        f"{CHUNKS} chunks each; ideal {ideal:.0f} prompts/s; median of {runs}; "
        f"load average {load:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        + (" (smoke sizes: not a measurement)" if args.smoke else ""),
        f"  codey.batch:  {codey_rate:.0f} prompts/s = {codey_rate / ideal:.3f} x ideal, "
        f"peak RSS {med('codey', 'peak_rss') / mib:.1f} MiB at {n} prompts, "
        f"{rss_small / mib:.1f} MiB at {small}",
    ]
    pool_rate = med("pool", "prompts_per_s")
    lines.append(
        f"  codey.stream in a ThreadPoolExecutor (diagnostic): {pool_rate:.0f} prompts/s = "
        f"{pool_rate / ideal:.3f} x ideal; codey.batch / this = {codey_rate / pool_rate:.2f}"
    )
    for row in rows["codey"]:
        if row["failed"] or row["records"] != n:
            raise AssertionError(f"codey.batch lost or failed lines: {row}")
    if sdk:
        sdk_rate = med("sdk", "prompts_per_s")
        lines.append(
            f"  hand-written ThreadPoolExecutor + openai SDK: {sdk_rate:.0f} prompts/s = "
            f"{sdk_rate / ideal:.3f} x ideal, peak RSS {med('sdk', 'peak_rss') / mib:.1f} MiB; "
            f"codey.batch / hand-written = {codey_rate / sdk_rate:.2f}"
        )
    else:
        lines.append("  hand-written loop: left out (--no-sdk, or pip install openai)")
    if not args.smoke:
        verdict = "PASS" if codey_rate >= 0.9 * ideal else "MISS"
        lines.append(f"  target >= 0.9 x ideal: {verdict}")
        if sdk:
            verdict = "PASS" if codey_rate >= med("sdk", "prompts_per_s") else "MISS"
            lines.append(f"  target >= the hand-written loop: {verdict}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
