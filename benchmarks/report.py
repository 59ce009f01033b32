"""The report: Markdown tables of a run's figures (or reStructuredText grid tables)."""

from __future__ import annotations

from typing import Any, Callable

from benchmarks.clients import ROWS
from benchmarks.common import COMBOS, Config, X, combo_key, combo_title
from benchmarks.tables import fmt_num, fmt_rate, table
from benchmarks.targets import targets, targets_table


def label(row: str) -> str:
    if row == "bytes":
        return "server capacity (byte counter)"
    return ROWS[row].label


# -- one section a measure: its title, a blank line, its table, a blank line ----------

#: The combinations of wire format and body framing, the report's columns.
KEYS = [combo_key(f, fr) for f, fr in COMBOS]
HEADER = ["client", *[combo_title(k) for k in KEYS]]


def _all_rows(results: dict[str, Any], measure: str) -> list[str]:
    """The rows of a measure, in order of first appearance across the columns."""
    seen: list[str] = []
    for key in KEYS:
        for row in results[measure].get(key, {}):
            if row not in seen:
                seen.append(row)
    return seen


def _per_client(
    results: dict[str, Any], measure: str, cell_text: Callable[[str, str, Any], str]
) -> str:
    """A table of one row a client, one column a body kind; "—" where a cell is missing."""
    data = results[measure]
    body = []
    for row in _all_rows(results, measure):
        cells = []
        for key in KEYS:
            cell = data[key].get(row)
            cells.append("—" if cell is None else cell_text(key, row, cell))
        body.append([label(row), *cells])
    return table(HEADER, body)


def _throughput(results: dict[str, Any], config: Config) -> list[str]:
    data = results["throughput"]
    out = [
        f"Throughput: {config.throughput_n:,} chunks of ~4 characters, chunks/s "
        f"({X} floor), median of {config.throughput_runs}",
        "",
        _per_client(
            results,
            "throughput",
            lambda key, row, cell: f"{fmt_rate(cell['chunks_per_s'])} ({cell['ratio']:.2f}{X})",
        ),
    ]
    if any(r in data[k] for r in ("openai-sdk", "anthropic-sdk") for k in KEYS):
        out.append("")
        out.append(f"(SDK rows: {config.throughput_sdk_n:,} chunks per run.)")
    out.append("")
    return out


def _latency(results: dict[str, Any], config: Config) -> list[str]:
    def cell_text(key: str, row: str, cell: Any) -> str:
        held = f" ({cell['held_back']} held)" if cell["held_back"] else ""
        return f"{cell['p50_ms']:.3f} / {cell['p99_ms']:.3f}" + held

    return [
        f"Added latency: {config.latency_n} chunks {config.latency_pace * 1e3:g} ms apart, "
        "server write → consumer, ms, p50 / p99 (held-back events), "
        f"median of {config.latency_runs}",
        "",
        _per_client(results, "latency", cell_text),
        "",
    ]


def _first_chunk(results: dict[str, Any], config: Config) -> list[str]:
    out: list[str] = []
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
        out += [title, "", _per_client(results, measure, _over_floor(results[measure])), ""]
    return out


def _over_floor(data: dict[str, Any]) -> Callable[[str, str, Any], str]:
    """A cell's ms, and how much more than the floor's in its column."""

    def cell_text(key: str, row: str, cell: Any) -> str:
        if row == "floor":
            return f"{cell['ms']:.2f}"
        return f"{cell['ms']:.2f} (+{cell['ms'] - data[key]['floor']['ms']:.2f})"

    return cell_text


def _imports(results: dict[str, Any], config: Config) -> list[str]:
    data = results["import"]
    body = [
        [f"`{name}`", f"{cell['ms']:.1f}", f"+{cell['over_bare_ms']:.1f}"]
        for name, cell in data["commands"].items()
    ]
    out = [
        f"Import: whole-process wall time, ms, median of {config.import_runs}",
        "",
        table(["command", "wall", "over bare python"], body),
    ]
    for name, note in data["notes"].items():
        out.append(f"\n(`{name}`: {note}.)")
    out.append("")
    return out


def _scale(results: dict[str, Any], config: Config) -> list[str]:
    data = results["scale"]
    body = []
    for key in KEYS:
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
                    f"{cell['fds_after_over_base']:+d}"
                    + (
                        f" ({cell['pooled_connections_closed']} idle pooled closed first)"
                        if cell.get("pooled_connections_closed")
                        else ""
                    ),
                    f"{cell['rss_after_over_base_mb']:+.1f}",
                ]
            )
    header = [
        "body",
        "client",
        "peak RSS over base, MB",
        f"CPU µs/chunk ({X} floor)",
        "threads after",
        "fds after",
        "RSS after, MB",
    ]
    return [
        f"Scale: {config.scale_streams} concurrent streams {X} {config.scale_chunks:,} chunks "
        f"{config.scale_pace * 1e3:g} ms apart, from {config.scale_streams} caller threads "
        "(a fresh process per cell)",
        "",
        table(header, body),
        "",
    ]


def _cancel(results: dict[str, Any], config: Config) -> list[str]:
    data = results["cancel"]
    body = []
    for variant in data[KEYS[0]]:
        row, mode = variant.split(":")
        cells = []
        for key in KEYS:
            cell = data[key][variant]
            eof, worker = cell["eof_ms"], cell["worker_ms"]
            text = f"EOF {fmt_num(eof['median'], 3)} ({fmt_num(eof['max'], 3)})"
            if worker["median"] is not None:
                text += f"; worker {fmt_num(worker['median'], 3)} ({fmt_num(worker['max'], 3)})"
            cells.append(text)
        how = "close()" if mode == "close" else "dropped"
        body.append([f"{label(row)}, {how}", *cells])
    return [
        "Cancel: server stalled mid-stream; `close()` or dropping the last reference → "
        f"EOF at the server; worker thread gone; ms, median (max) of {config.cancel_runs}",
        "",
        table(HEADER, body),
        "",
    ]


def _stall(results: dict[str, Any], config: Config) -> list[str]:
    data = results["stall"]
    cells = [f"{data[k]['late_ms']:.1f} / {data[k]['max_late_ms']:.1f}" for k in KEYS]
    return [
        f"Stall: `ChunkTimeoutError` after chunk_timeout={config.stall_timeout} s, "
        f"ms late, median / max of {config.stall_runs}",
        "",
        table(HEADER, [["**codey.stream**", *cells]]),
        "",
    ]


def _chatlog(results: dict[str, Any], config: Config) -> list[str]:
    data = results["chatlog"]
    runs = ", ".join(f"{value:.2f}" for value in data["runs"])
    return [
        f"Chat log: `codey.parse_chat` on a {data['mib']} MiB log of {data['turns']:,} turns, "
        f"median of {len(data['runs'])}: {data['cpu_s']:.2f} s CPU, {data['s']:.2f} s wall "
        f"({runs})",
        "",
    ]


#: Each section, in the report's order, after the result that makes it appear.
_SECTIONS: list[tuple[str, Callable[[dict[str, Any], Config], list[str]]]] = [
    ("throughput", _throughput),
    ("latency", _latency),
    ("first_chunk_warm", _first_chunk),
    ("import", _imports),
    ("scale", _scale),
    ("cancel", _cancel),
    ("stall", _stall),
    ("chatlog", _chatlog),
]


def report(results: dict[str, Any], config: Config, info: dict[str, Any]) -> str:
    out: list[str] = []
    for name, section in _SECTIONS:
        if name in results:
            out += section(results, config)
    return "\n".join(out)


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
