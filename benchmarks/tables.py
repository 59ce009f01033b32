"""Markdown pipe tables, their reStructuredText grid form, and the number formats in them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Optional


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
