"""The streamed runner of ``codey.batch()``: many prompts through a bounded pool of streams.

The caller's thread reads the input lazily and keeps at most ``2 * parallel``
lines handed out; up to ``parallel`` worker threads (``codey-batch-N``) each
run one ``codey.stream()`` at a time, as the adaptive
:class:`~codey._batch._limiter.Limiter` allows; one writer thread appends the
finished records, a group per fsync (group commit: a slow disk never holds
up the requests, and a fast batch syncs at most every ``SYNC_INTERVAL``). The
engine still does the retries before the first text. Memory stays flat in
the number of lines: only the ids are kept (to skip and to refuse duplicates).
"""

from __future__ import annotations

import itertools
import json
import queue
import threading
import time
from collections.abc import Iterable, Mapping
from time import monotonic
from typing import Any, Callable, Optional

import attrs

from codey import _options
from codey._batch._files import BatchLine, OutputFile, lines_to_run
from codey._batch._limiter import Limiter, Ticket
from codey._batch._records import NO_JSON, BatchSummary, Tally, failure, success
from codey._errors import CodeyError
from codey._stream import Stream, worker_thread

__all__ = ["streamed_batch"]

#: How often ``on_progress`` hears from a run whose lines are slow to finish, in seconds.
PROGRESS_INTERVAL = 0.25
#: The shortest time between two fsyncs of the output, in seconds: a record
#: waits at most this long in memory, and a fast batch pays for ~100 fsyncs a
#: second rather than one per answer (each costs the CPU that an answer does).
SYNC_INTERVAL = 0.01

_STOP = object()
_ids = itertools.count(1)


class _Run:
    """One run of a batch: the workers, the limiter and the counters."""

    def __init__(
        self,
        output: OutputFile,
        limiter: Limiter,
        model: Optional[str],
        options: dict[str, Any],
        on_progress: Optional[Callable[[BatchSummary], None]],
        total: Optional[int],
    ) -> None:
        self.output = output
        self.limiter = limiter
        self.model = model
        self.options = options
        self.on_progress = on_progress
        self.total = total
        self.todo: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.results: queue.SimpleQueue[Any] = queue.SimpleQueue()
        #: From the writer: how many results it handled, or the error that stopped it.
        self.written: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._streams: set[Stream] = set()
        self.started = monotonic()
        self.skipped = 0
        self.tally = Tally()

    # -- the caller's thread ---------------------------------------------------

    def run(self, lines: Iterable[Any], parallel: int) -> BatchSummary:
        workers = [
            threading.Thread(target=self._work, name=f"codey-batch-{next(_ids)}", daemon=True)
            for _ in range(parallel)
        ]
        writer = threading.Thread(
            target=self._write_all, name=f"codey-batch-writer-{next(_ids)}", daemon=True
        )
        writer.start()
        for worker in workers:
            worker.start()
        interrupted = False
        try:
            if self.on_progress is not None:
                self.on_progress(self.summary())
            self._feed(lines, 2 * parallel)
        except BaseException as exc:
            self._stop()
            interrupted = not isinstance(exc, Exception)  # Ctrl-C, a signal's exception
            raise
        finally:
            for _ in workers:
                self.todo.put(_STOP)
            for worker in workers:
                worker.join()
            # The writer writes what finished before a stop (an interrupted line is not).
            self.results.put(_STOP)
            writer.join()
            if interrupted and self.on_progress is not None:
                self.on_progress(self.summary())  # the last word: what is on disk
        summary = self.summary()
        if self.on_progress is not None:
            self.on_progress(summary)
        return summary

    def _feed(self, lines: Iterable[Any], capacity: int) -> None:
        source = lines_to_run(lines, self.output.done, self._skip)
        exhausted = False
        outstanding = 0
        while True:
            while not exhausted and outstanding < capacity:
                item = next(source, None)
                if item is None:
                    exhausted = True
                    break
                self.todo.put(item[1])
                outstanding += 1
            if not outstanding:
                return
            try:
                finished = self.written.get(timeout=PROGRESS_INTERVAL)
                while True:
                    if isinstance(finished, BaseException):
                        raise finished  # a bug or a failed write, not a failed line
                    outstanding -= finished
                    finished = self.written.get_nowait()
            except queue.Empty:
                pass
            if self.on_progress is not None:
                self.on_progress(self.summary())

    def _skip(self) -> None:
        self.skipped += 1

    # -- the writer ------------------------------------------------------------

    def _write_all(self) -> None:
        """Write the records as they come, a group per fsync, at most one fsync per
        ``SYNC_INTERVAL``; tell the feeder how many."""
        get = self.results.get
        synced = 0.0
        while True:
            results = [get()]
            wait = synced + SYNC_INTERVAL - monotonic()
            if wait > 0 and results[0] is not _STOP:
                time.sleep(wait)  # answers come faster than fsyncs are worth: gather them
            try:
                while True:
                    results.append(self.results.get_nowait())
            except queue.Empty:
                pass
            last = results[-1] is _STOP
            if last:
                results.pop()
            try:
                self._write(results)
            except BaseException as exc:  # handed to the caller's thread, never lost
                self.written.put(exc)
            else:
                self.written.put(len(results))
            synced = monotonic()
            if last:
                return

    def _write(self, results: list[Any]) -> None:
        records = []
        for result in results:
            if isinstance(result, BaseException):
                raise result  # a bug, not a failed line: stop the batch
            if result is not None:
                records.append(result)
        if records:
            self.output.write(records)
        with self._lock:
            for record in records:
                self.tally.count(record)

    def _stop(self) -> None:
        self.stopping.set()
        self.limiter.close()
        with self._lock:
            streams = list(self._streams)
        for stream in streams:
            stream.close()

    def summary(self) -> BatchSummary:
        with self._lock:
            counted = self.tally.summary(
                skipped=self.skipped,
                total=self.total,
                elapsed=monotonic() - self.started,
                output=self.output.path,
            )
        return attrs.evolve(
            counted,
            in_flight=self.limiter.active,
            throttled=self.limiter.throttled,
            concurrency=self.limiter.concurrency,
        )

    # -- the workers -----------------------------------------------------------

    def _work(self) -> None:
        with worker_thread():  # each line's stream runs here, not in a thread of its own
            while True:
                line = self.todo.get()
                if line is _STOP:
                    return
                result: Any = None
                try:
                    if not self.stopping.is_set():
                        result = self._answer(line)
                except BaseException as exc:  # handed to the caller's thread, never lost
                    result = exc
                self.results.put(result)

    def _answer(self, line: BatchLine) -> Optional[dict[str, Any]]:
        """The line's record, or None when the batch stopped before it was answered."""
        ticket = self.limiter.acquire()
        if ticket is None:
            return None
        tokens: Optional[int] = None
        try:
            record = self._request(line, ticket)
            if record is not None and "usage" in record:
                usage = record["usage"]
                tokens = (usage["input_tokens"] or 0) + (usage["output_tokens"] or 0)
            return record
        finally:
            self.limiter.release(ticket, tokens)

    def _request(self, line: BatchLine, ticket: Ticket) -> Optional[dict[str, Any]]:
        from codey._api import stream
        from codey._request import default_model

        model = line.model or self.model or default_model()[0]
        limiter = self.limiter

        def observe(status: int, headers: Mapping[str, str]) -> None:
            limiter.observe(ticket, status, headers)

        options = _options.overlay(self.options, line.options)
        try:
            answer = stream(line.prompt, model=model, on_response=observe, **options)
        except (CodeyError, ValueError, TypeError) as exc:  # this line's setup: its record
            return failure(line.id, model, exc)
        with self._lock:
            if self.stopping.is_set():
                answer.close()
                return None
            self._streams.add(answer)
        try:
            with answer:
                text = "".join(answer)
        except CodeyError as exc:
            return None if self.stopping.is_set() else failure(line.id, answer.model, exc)
        finally:
            with self._lock:
                self._streams.discard(answer)
        if answer.cancelled:
            return None
        timings = answer.timings
        return success(
            line.id,
            answer.model,
            text,
            answer.finish_reason,
            answer.usage,
            to_first_text=_seconds(timings.to_first_text),
            total=_seconds(timings.total),
            retries=timings.retries,
            answer=json.loads(text) if options.get("schema") is not None else NO_JSON,
            citations=answer.citations,
        )


def _seconds(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 4)


def streamed_batch(
    lines: Iterable[Any],
    output: OutputFile,
    limiter: Limiter,
    *,
    parallel: int,
    model: Optional[str],
    options: dict[str, Any],
    on_progress: Optional[Callable[[BatchSummary], None]],
    total: Optional[int],
) -> BatchSummary:
    """Answer the lines not done in ``output``, ``parallel`` at most at once (as
    ``limiter`` allows), appending their records; ``total``: the lines, if known."""
    return _Run(output, limiter, model, options, on_progress, total).run(lines, parallel)
