"""A batch beyond one machine: Dask runs one ``codey.batch()`` per partition.

Each partition of the input goes to a worker, which answers it into its own
output file (``part-00003.jsonl``), running ``codey.batch()`` again while
lines fail (each run retries only the failed ids: the file is the state). The
union of the files is the result, every id exactly once. Run the same script
again after a crash, with the same output folder, and each partition goes on
where it stopped::

    python examples/dask_batch.py prompts.jsonl results/ --model gpt-4.1 \\
        --scheduler tcp://scheduler:8786 --partitions 16 --parallel 8

Without ``--scheduler`` it starts a ``distributed.LocalCluster``. The workers
take their API keys from their own environment (set them where the workers
start, never in the task: its arguments travel over the network), and the
output folder must be one they all see (a shared filesystem), so that a
partition retried on another worker finds its file.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable, Sequence
from typing import Any, Optional

import codey


def run_partition(
    lines: Sequence[codey.BatchLine], output: str, attempts: int = 3, **options: Any
) -> dict[str, Any]:
    """One partition, on a worker: ``codey.batch()`` until no line fails (or ``attempts``)."""
    summary = None
    for _ in range(attempts):
        summary = codey.batch(lines, output, **options)
        if summary.ok:
            break
    assert summary is not None
    return {"output": output, "done": summary.done, "failed": summary.failed}


def partitions(lines: Iterable[codey.BatchLine], count: int) -> list[list[codey.BatchLine]]:
    """The lines dealt round-robin into ``count`` partitions.

    Each goes whole (a ``BatchLine`` pickles): a message's attachments,
    tool calls and tool results travel with it.
    """
    parts: list[list[codey.BatchLine]] = [[] for _ in range(count)]
    for index, line in enumerate(lines):
        parts[index % count].append(line)
    return [part for part in parts if part]


def run(
    client: Any,
    lines: Iterable[codey.BatchLine],
    folder: str,
    *,
    count: int = 4,
    attempts: int = 3,
    **options: Any,
) -> dict[str, dict[str, Any]]:
    """Every line answered on the cluster; the union of the partitions' files, by id."""
    os.makedirs(folder, exist_ok=True)
    parts = partitions(lines, count)
    outputs = [os.path.join(folder, f"part-{n:05d}.jsonl") for n in range(len(parts))]
    futures = [
        client.submit(run_partition, part, output, attempts, pure=False, **options)
        for part, output in zip(parts, outputs)
    ]
    client.gather(futures)
    return union(outputs)


def union(outputs: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Each id's last record across the files (an id lives in one partition only)."""
    state: dict[str, dict[str, Any]] = {}
    for output in outputs:
        state.update(codey.read_batch_output(output))
    return state


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", help="a JSONL or CSV file of prompts")
    parser.add_argument("folder", help="where the partitions' output files go")
    parser.add_argument("--scheduler", help="a Dask scheduler's address (default: local)")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--parallel", type=int, default=8, help="requests at once per partition")
    parser.add_argument("--model")
    parser.add_argument("--column")
    args = parser.parse_args(argv)
    from distributed import Client, LocalCluster

    cluster = None if args.scheduler else LocalCluster(n_workers=2, processes=True)
    with Client(args.scheduler or cluster) as client:
        state = run(
            client,
            codey.read_batch_input(args.input, args.column),
            args.folder,
            count=args.partitions,
            parallel=args.parallel,
            model=args.model,
        )
    if cluster is not None:
        cluster.close()
    failed = sum("error" in record for record in state.values())
    print(f"{len(state) - failed} done, {failed} failed, in {args.folder}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
