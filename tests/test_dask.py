"""examples/dask_batch.py on a real distributed.LocalCluster: two worker processes, the fake
provider in this process, some answers broken on their first try."""

from __future__ import annotations

import os
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

import codey
from codey.testing import Close, FakeProvider, RecordedRequest, Reply, Text, answer, events
from tests.conftest import FAKE_KEY
from tests.helpers import ROOT

distributed = pytest.importorskip(
    "distributed", reason="the Dask test needs the test extra: pip install -e '.[test]'"
)

sys.path.insert(0, str(ROOT / "examples"))
import dask_batch  # noqa: E402

#: Every seventh prompt breaks midway the first time it is asked (after text: the
#: engine does not retry it, so the line fails and the next codey.batch() retries it).
FLAKY = {f"prompt {i}" for i in range(0, 60, 7)}


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    # The workers import examples/dask_batch.py by name, as on a real cluster.
    monkeypatch.setenv("PYTHONPATH", f"{ROOT / 'examples'}:{ROOT}")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=2, processes=True, dashboard_address=None
        ) as local,
        distributed.Client(local) as client,
    ):
        yield client


def test_a_batch_on_two_worker_processes(
    fake: FakeProvider, cluster: object, tmp_path: Path
) -> None:
    asked: Counter[str] = Counter()
    lock = threading.Lock()

    def responder(request: RecordedRequest) -> Reply:
        assert request.json is not None
        prompt = request.json["messages"][-1]["content"]
        with lock:
            asked[prompt] += 1
            first = asked[prompt] == 1
        if prompt in FLAKY and first:
            return events(Text("half an ans"), Close())
        return answer("echo: ", prompt)

    fake.responder = responder
    workers = cluster.run(os.getpid)  # type: ignore[attr-defined]
    assert len(set(workers.values()) - {os.getpid()}) == 2  # two other processes
    lines = [codey.BatchLine(f"id-{i}", f"prompt {i}") for i in range(60)]
    state = dask_batch.run(
        cluster,
        lines,
        str(tmp_path / "results"),
        count=4,
        parallel=4,
        model="gpt-4.1",
        api_key=FAKE_KEY,
        base_url=fake.base_url("openai"),
        chunk_timeout=5.0,
    )
    assert sorted(state) == sorted(line.id for line in lines)
    assert all(record["text"] == f"echo: prompt {record['id'][3:]}" for record in state.values())
    # The flaky ones failed once, then were asked again; no done line was asked twice.
    assert {prompt: n for prompt, n in asked.items() if n > 1} == dict.fromkeys(FLAKY, 2)
    assert sum(asked.values()) == 60 + len(FLAKY)
    # Across the partitions' files, each id has exactly one success.
    successes: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    for output in sorted((tmp_path / "results").glob("part-*.jsonl")):
        for record in codey.read_batch_output(output).values():
            successes[record["id"]] += "text" in record
        for line in output.read_text().splitlines():
            failures[line.split('"id":"')[1].split('"')[0]] += '"error"' in line
    assert set(successes.values()) == {1}
    assert sum(failures.values()) == len(FLAKY)
