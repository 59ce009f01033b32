"""The machine a run took place on, and how busy other work kept it meanwhile."""

from __future__ import annotations

import os
import platform
import subprocess
from time import monotonic
from typing import Any

from benchmarks.common import REPO


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
