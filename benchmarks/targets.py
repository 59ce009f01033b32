"""The targets codey must meet: each with codey's figure and PASS/MISS, and their table."""

from __future__ import annotations

from typing import Any, Callable

from benchmarks.common import COMBOS, X, combo_key, combo_title
from benchmarks.tables import fmt_num, table

Verdict = dict[str, Any]


def _target(name: str, where: str, value: str, goal: str, ok: bool) -> Verdict:
    return {"target": name, "where": where, "value": value, "goal": goal, "pass": ok}


def _throughput(results: dict[str, Any], key: str, where: str) -> list[Verdict]:
    ratio = results["throughput"][key]["codey"]["ratio"]
    return [_target("throughput", where, f"{ratio:.2f}{X} floor", f"≥ 0.60{X} floor", ratio >= 0.6)]


def _latency(results: dict[str, Any], key: str, where: str) -> list[Verdict]:
    cell = results["latency"][key]["codey"]
    floor = results["latency"][key]["floor"]
    return [
        _target(
            "added latency p50",
            where,
            f"{cell['p50_ms']:.3f} ms (floor {floor['p50_ms']:.3f})",
            "≤ floor + 0.1 ms",
            cell["p50_ms"] <= floor["p50_ms"] + 0.1,
        ),
        _target(
            "added latency p99",
            where,
            f"{cell['p99_ms']:.3f} ms",
            "≤ 1 ms",
            cell["p99_ms"] <= 1.0,
        ),
        _target(
            "no held-back event",
            where,
            f"{cell['held_back']} held",
            "0",
            cell["held_back"] == 0,
        ),
    ]


def _first_chunk(results: dict[str, Any], key: str, where: str) -> list[Verdict]:
    cell = results["first_chunk_warm"][key]["codey"]["ms"]
    floor = results["first_chunk_warm"][key]["floor"]["ms"]
    fresh = results["first_chunk_fresh"][key]["codey"]["ms"]
    return [
        _target(
            "first chunk, warm",
            where,
            f"{cell:.2f} ms (floor {floor:.2f})",
            "≤ floor + 1.2 ms",
            cell <= floor + 1.2,
        ),
        _target("first call after import", where, f"{fresh:.1f} ms", "≤ 10 ms", fresh <= 10),
    ]


def _scale(results: dict[str, Any], key: str, where: str) -> list[Verdict]:
    cell = results["scale"][key]["codey"]
    floor = results["scale"][key]["floor"]
    ratio = cell["cpu_us_per_chunk"] / floor["cpu_us_per_chunk"]
    return [
        _target(
            "scale: peak RSS",
            where,
            f"+{cell['peak_rss_over_base_mb']:.1f} MB",
            "≤ 40 MB",
            cell["peak_rss_over_base_mb"] <= 40,
        ),
        _target(
            "scale: CPU/chunk", where, f"{ratio:.2f}{X} floor", f"≤ 1.5{X} floor", ratio <= 1.5
        ),
        _target(
            "scale: threads after",
            where,
            f"{cell['threads_after_over_base']:+d}",
            "back to base",
            cell["threads_after_over_base"] <= 0,
        ),
        _target(
            "scale: fds after",
            where,
            f"{cell['fds_after_over_base']:+d}",
            "back to base",
            cell["fds_after_over_base"] <= 0,
        ),
        _target(
            "scale: RSS after",
            where,
            f"{cell['rss_after_over_base_mb']:+.1f} MB",
            "≤ +10 MB",
            cell["rss_after_over_base_mb"] <= 10,
        ),
    ]


def _cancel(results: dict[str, Any], key: str, where: str) -> list[Verdict]:
    found = []
    for mode, how in (("close", "close()"), ("drop", "dropped reference")):
        cell = results["cancel"][key][f"codey:{mode}"]
        eof, worker = cell["eof_ms"], cell["worker_ms"]
        found.append(
            _target(
                f"cancel, {how}: EOF at server",
                where,
                f"{fmt_num(eof['median'], 3)} ms (max {fmt_num(eof['max'], 3)})",
                "≤ 1 ms",
                eof["max"] is not None and eof["max"] <= 1.0,
            )
        )
        found.append(
            _target(
                f"cancel, {how}: worker gone",
                where,
                f"{fmt_num(worker['median'], 3)} ms (max {fmt_num(worker['max'], 3)})",
                "≤ 5 ms",
                worker["max"] is not None and worker["max"] <= 5.0,
            )
        )
    return found


def _stall(results: dict[str, Any], key: str, where: str) -> list[Verdict]:
    cell = results["stall"][key]
    return [
        _target(
            "stall: ChunkTimeoutError late by",
            where,
            f"{cell['late_ms']:.1f} ms (max {cell['max_late_ms']:.1f})",
            "≤ 50 ms, every time",
            cell["max_late_ms"] <= 50,
        )
    ]


def _imports(results: dict[str, Any]) -> list[Verdict]:
    commands = results["import"]["commands"]
    cell = commands["python -c 'import codey'"]
    found = [
        _target(
            "import codey",
            "",
            f"+{cell['over_bare_ms']:.1f} ms",
            "≤ 40 ms over bare python",
            cell["over_bare_ms"] <= 40,
        )
    ]
    for name in ("codey --help", "python -m codey --help"):
        if name in commands:
            cell = commands[name]
            found.append(
                _target(
                    f"{name}",
                    "",
                    f"+{cell['over_bare_ms']:.1f} ms",
                    "≤ 80 ms over bare python",
                    cell["over_bare_ms"] <= 80,
                )
            )
            break
    return found


def _chatlog(results: dict[str, Any]) -> list[Verdict]:
    cell = results["chatlog"]
    return [
        _target(
            f"parse a {cell['mib']} MiB chat log",
            "",
            f"{cell['cpu_s']:.2f} s CPU ({cell['s']:.2f} s wall)",
            "≤ 2 s CPU (64 MiB)",
            cell["cpu_s"] <= 2.0,
        )
    ]


#: The targets of each body kind, in the table's order, after the result they read.
_PER_BODY: list[tuple[str, Callable[[dict[str, Any], str, str], list[Verdict]]]] = [
    ("throughput", _throughput),
    ("latency", _latency),
    ("first_chunk_warm", _first_chunk),
    ("scale", _scale),
    ("cancel", _cancel),
    ("stall", _stall),
]


def targets(results: dict[str, Any]) -> list[Verdict]:
    """Every target of the issue, with codey's figure and PASS/MISS."""
    found: list[Verdict] = []
    for fmt, framing in COMBOS:
        key = combo_key(fmt, framing)
        for measure, of_body in _PER_BODY:
            if measure in results:
                found += of_body(results, key, combo_title(key))
    if "import" in results:
        found += _imports(results)
    if "chatlog" in results:
        found += _chatlog(results)
    return found


def targets_table(found: list[Verdict]) -> str:
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
