"""What parsing alone allows: the ceiling for any client built on sseclient-py.

Feeds 50,000 events already in memory (8 KB pieces: no socket, no thread)
to sseclient-py, then to sseclient-py plus codey's JSON decoding, and
times a SimpleQueue hand-off between two threads, the cost codey's worker
thread adds to every read. Compare with the floor's chunks/s in the
throughput table::

    python -m benchmarks.ceiling
"""

from __future__ import annotations

import queue
import statistics
import threading
import time

from sseclient import SSEClient

from benchmarks.server import text_event, text_of
from codey._providers._base import parse_event_data

EVENTS = 50_000
RUNS = 5


def parse_rates(fmt: str) -> tuple[float, float]:
    body = b"".join(text_event(fmt, text_of(i)) for i in range(EVENTS))
    pieces = [body[i : i + 8192] for i in range(0, len(body), 8192)]
    alone, with_json = [], []
    for _ in range(RUNS):
        start = time.perf_counter()
        count = sum(1 for _ in SSEClient(iter(pieces)).events())
        alone.append(count / (time.perf_counter() - start))
        start = time.perf_counter()
        for event in SSEClient(iter(pieces)).events():
            parse_event_data(event.data, "bench")
        with_json.append(count / (time.perf_counter() - start))
    return statistics.median(alone), statistics.median(with_json)


def hand_off_cpu_us(round_trips: int = 20_000) -> float:
    """CPU time of one put/get hand-off between two threads, in µs."""
    there: queue.SimpleQueue[int] = queue.SimpleQueue()
    back: queue.SimpleQueue[int] = queue.SimpleQueue()

    def echo() -> None:
        for _ in range(round_trips):
            back.put(there.get(timeout=5))

    thread = threading.Thread(target=echo)
    thread.start()
    start = time.process_time()
    for i in range(round_trips):
        there.put(i)
        back.get(timeout=5)
    cpu = time.process_time() - start
    thread.join()
    return cpu / round_trips / 2 * 1e6


def main() -> None:
    for fmt, title in (("chat", "Chat Completions"), ("messages", "Messages")):
        alone, with_json = parse_rates(fmt)
        print(
            f"{title}: sseclient-py alone {alone / 1e3:.0f} k events/s; "
            f"with JSON decoding {with_json / 1e3:.0f} k events/s"
        )
    cpu = statistics.median(hand_off_cpu_us() for _ in range(RUNS))
    print(f"one thread hand-off through a SimpleQueue: {cpu:.1f} µs of CPU")


if __name__ == "__main__":
    main()
