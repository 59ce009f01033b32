"""``stream_many``: one stream per model, merged in arrival order."""

from __future__ import annotations

import itertools
import queue
import threading
import weakref
from collections.abc import Iterator, Sequence
from typing import Any, Union

from codey._errors import CodeyError
from codey._stream import Stream

_DONE = object()
_ids = itertools.count(1)

#: What ``StreamMany`` yields for a model: a text chunk, or the error that ended its stream.
Item = Union[str, BaseException]


def _drain(model: str, stream: Stream, out: queue.SimpleQueue[tuple[str, Any]]) -> None:
    try:
        for chunk in stream:
            out.put((model, chunk))
    except BaseException as exc:  # delivered as that model's item, never lost
        out.put((model, exc))
    finally:
        out.put((model, _DONE))


def _close_all(streams: list[Stream]) -> None:
    for stream in streams:
        stream.close()


class StreamMany:
    """``(model, item)`` pairs from several streams at once, in arrival order.

    ``item`` is a text chunk (``str``) or the exception that ended that model's
    stream: one model's failure never stops the others. ``streams`` maps each
    model to its :class:`Stream` (for ``.usage``, ``.timings``...); a model whose
    configuration failed (a missing key, say) has no stream, only its error.
    Leaving the loop early, ``close()``, or leaving a ``with`` block closes all.
    """

    def __init__(self, prompt: Any, models: Sequence[str], **kwargs: Any) -> None:
        from codey._api import stream

        if isinstance(models, str) or not models:
            raise ValueError("models must be a non-empty list of model names")
        if len(set(models)) != len(models):
            raise ValueError("each model may appear only once in models")
        self.streams: dict[str, Stream] = {}
        self._queue: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._pending = len(models)
        for model in models:
            try:
                self.streams[model] = stream(prompt, model=model, **kwargs)
            except CodeyError as exc:
                self._queue.put((model, exc))
                self._queue.put((model, _DONE))
        self._finalizer = weakref.finalize(self, _close_all, list(self.streams.values()))
        for model, answer in self.streams.items():
            threading.Thread(
                target=_drain,
                args=(model, answer, self._queue),
                name=f"codey-many-{next(_ids)}",
                daemon=True,
            ).start()

    def __iter__(self) -> Iterator[tuple[str, Item]]:
        get = self._queue.get
        try:
            while self._pending:
                model, item = get()
                if item is _DONE:
                    self._pending -= 1
                else:
                    yield model, item
        finally:
            if self._pending:
                self.close()

    def close(self) -> None:
        """Close every stream. Idempotent, and safe from any thread."""
        self._finalizer()

    def __enter__(self) -> StreamMany:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def stream_many(prompt: Any, models: Sequence[str], **kwargs: Any) -> StreamMany:
    """Stream the same prompt from several models in parallel.

    Takes ``stream()``'s keywords (except ``model``). Yields ``(model, chunk)``
    in arrival order, and ``(model, error)`` when a model's stream fails.
    """
    return StreamMany(prompt, models, **kwargs)
