"""Where codey's time to first text goes, warm, against the benchmark server::

    python -m benchmarks.first_chunk [chat|messages] [chunked|close]

Interleaves the floor, requests + sseclient-py done well and codey.stream
(5 times 40 calls each, medians), then times 300 codey calls with marks at the
worker's start, requests' post() and its return (the response headers).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Iterable
from typing import Any, Callable

import requests

import codey._stream
from benchmarks.clients import Target, codey_stream, floor, requests_well
from benchmarks.server import ServerProcess


def _first_ms(open_: Callable[[Target], Iterable[Any]], target: Target) -> float:
    start = time.perf_counter()
    iterator = iter(open_(target))
    next(iterator)
    elapsed = time.perf_counter() - start
    for _ in iterator:
        pass
    return elapsed * 1e3


def main(argv: list[str]) -> None:
    fmt = argv[0] if argv else "chat"
    framing = argv[1] if len(argv) > 1 else "chunked"
    server = ServerProcess()
    try:
        target = Target(server.port, fmt, f"n=5,framing={framing}")
        clients = (floor, requests_well, codey_stream)
        samples: dict[str, list[float]] = {client.__name__: [] for client in clients}
        for client in clients:  # warm up
            for _ in range(20):
                _first_ms(client, target)
        for _ in range(5):
            for client in clients:
                samples[client.__name__] += [_first_ms(client, target) for _ in range(40)]
        for name, values in samples.items():
            print(f"{name:15} {statistics.median(values):.3f} ms to first text")

        marks: dict[str, float] = {}
        post, work = requests.Session.post, codey._stream._work

        def timed_post(self: requests.Session, *args: Any, **kwargs: Any) -> Any:
            marks["post"] = time.perf_counter()
            response = post(self, *args, **kwargs)
            marks["headers"] = time.perf_counter()
            return response

        def timed_work(*args: Any) -> None:
            marks["worker"] = time.perf_counter()
            work(*args)

        requests.Session.post = timed_post  # type: ignore[method-assign]
        codey._stream._work = timed_work
        rows = []
        for _ in range(300):
            start = time.perf_counter()
            stream = codey_stream(target)
            returned = time.perf_counter()
            iterator = iter(stream)
            next(iterator)
            first = time.perf_counter()
            for _ in iterator:
                pass
            rows.append(
                [
                    marks["worker"] - start,
                    returned - start,
                    marks["post"] - start,
                    marks["headers"] - start,
                    first - start,
                ]
            )
        names = ("worker thread runs", "stream() returns", "post() called", "headers", "first text")
        for name, column in zip(names, zip(*rows)):
            print(f"codey: {name:18} at {statistics.median(column) * 1e3:.3f} ms")
    finally:
        server.close()


if __name__ == "__main__":
    main(sys.argv[1:])
