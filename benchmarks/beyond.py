"""Two figures for the library's promises, against codey.testing.FakeProvider::

    python -m benchmarks.beyond

- how far past ``deadline`` the DeadlineExceededError arrives while the
  server trickles keep-alives (so ``chunk_timeout`` never fires);
- how long ``close()`` from another thread takes to end an iteration that
  is blocked on a silent server.
"""

from __future__ import annotations

import statistics
import threading
import time

import codey
from codey.testing import Comment, FakeProvider, Pause, Stall, Text, events

RUNS = 20


def _options(fake: FakeProvider) -> dict[str, object]:
    return {"model": "gpt-4.1", "api_key": "k", "base_url": fake.base_url("openai")}


def deadline_lateness_ms(fake: FakeProvider, deadline: float = 0.5) -> float:
    trickle = [step for _ in range(200) for step in (Pause(0.02), Comment())]
    fake.push(events(Text("a"), *trickle))
    started = time.monotonic()  # just before the deadline starts: an upper bound
    stream = codey.stream("hi", deadline=deadline, chunk_timeout=0.2, **_options(fake))
    try:
        for _ in stream:
            pass
    except codey.DeadlineExceededError:
        return (time.monotonic() - started - deadline) * 1e3
    raise RuntimeError("the deadline did not fire")


def close_from_another_thread_ms(fake: FakeProvider) -> float:
    fake.push(events(Text("a"), Stall()))
    stream = codey.stream("hi", chunk_timeout=30, **_options(fake))
    iterator = iter(stream)
    next(iterator)
    ended: list[float] = []

    def drain() -> None:
        for _ in iterator:
            pass
        ended.append(time.monotonic())

    thread = threading.Thread(target=drain)
    thread.start()
    time.sleep(0.05)  # let it block on the silent server
    closed = time.monotonic()
    stream.close()
    thread.join(5)
    if not (stream.cancelled and ended):
        raise RuntimeError("close() did not end the blocked iteration")
    return (ended[0] - closed) * 1e3


def main() -> None:
    codey.preload()
    with FakeProvider() as fake:
        late = [deadline_lateness_ms(fake) for _ in range(RUNS)]
        stops = [close_from_another_thread_ms(fake) for _ in range(RUNS)]
    print(
        f"deadline=0.5 s against keep-alives every 20 ms: DeadlineExceededError late by "
        f"median {statistics.median(late):.2f} ms, max {max(late):.2f} ms (n={RUNS})"
    )
    print(
        f"close() from another thread, iteration blocked on a silent server: it ends after "
        f"median {statistics.median(stops):.2f} ms, max {max(stops):.2f} ms (n={RUNS})"
    )


if __name__ == "__main__":
    main()
