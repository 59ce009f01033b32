"""The benchmark: codey.stream against the floor and the usual ways, side by side.

``python -m benchmarks`` (or ``python benchmarks/run.py``) starts the local
SSE server (:mod:`benchmarks.server`) in a child process, runs every measure
for both wire formats and both body framings, interleaving the clients run
by run (A B C A B C ...) so that machine drift hits all alike, and prints
Markdown tables (medians of the runs), the targets with PASS/MISS, and,
with ``--json PATH``, everything as JSON. ``--smoke`` runs tiny sizes in a
few seconds and asserts nothing about time (CI runs it so it never rots),
then ``python -m benchmarks.batch --smoke``.

This module is the command line; the measures are in :mod:`benchmarks.measures`,
the report in :mod:`benchmarks.report` and :mod:`benchmarks.targets`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from time import monotonic
from typing import Any, Optional

if __package__ in (None, ""):  # python benchmarks/run.py
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import MEASURES, Config, log
from benchmarks.machine import Noise, machine
from benchmarks.measures import Bench
from benchmarks.report import render
from benchmarks.tables import rst_tables
from benchmarks.targets import targets


def _parser() -> argparse.ArgumentParser:
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
        "--rst",
        action="store_true",
        help="tables as reStructuredText grid tables (docs/performance.rst's)",
    )
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.render:
        with open(args.render) as f:
            text = render(json.load(f))
        print(rst_tables(text) if args.rst else text)
        return 0
    only = args.only.split(",") if args.only else list(MEASURES)
    unknown = set(only) - set(MEASURES)
    if unknown:
        parser.error(f"unknown measures: {', '.join(sorted(unknown))}")
    data = _run(Config(args.smoke, args.runs), only, sdk=not args.no_sdk and not args.smoke)
    text = render(data)
    print(rst_tables(text) if args.rst else text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(data, f, indent=2)
    if args.smoke:  # the batch benchmark has its own command; CI keeps it from rotting
        from benchmarks import batch

        batch.main(["--smoke", "--no-sdk"])
    return 0


def _run(config: Config, only: list[str], sdk: bool) -> dict[str, Any]:
    """Run the measures named in ``only``: the data that ``--json`` writes."""
    info = machine()
    log(
        f"{info['nproc']} CPUs ({info['cpu']}), Python {info['python']}"
        + (" [smoke]" if config.smoke else "")
    )
    load = os.getloadavg()[0]
    if load > 0.5 * (os.cpu_count() or 1):
        log(f"warning: load average {load:.1f}: other work will disturb the figures")
    noise = Noise()
    started = monotonic()
    bench = Bench(config, sdk=sdk)
    try:
        for name in MEASURES:
            if name in only:
                getattr(bench, name)()
    finally:
        bench.close()
    info["noise"] = noise.result()
    return {
        "machine": info,
        "config": config.as_dict(),
        "elapsed_s": monotonic() - started,
        "results": bench.results,
        "targets": targets(bench.results),
    }


if __name__ == "__main__":
    sys.exit(main())
