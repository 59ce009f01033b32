"""``stream_many``: one stream per model, merged in arrival order."""

from __future__ import annotations

import itertools
import queue
import threading
import weakref
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Optional, Union

from codey._errors import CodeyError
from codey._stream import Stream

_DONE = object()
_ids = itertools.count(1)

#: What ``StreamMany`` yields for a model: a text chunk, or the error that ended its stream.
Item = Union[str, BaseException]


def _drain(model: str, items: Iterable[Any], out: queue.SimpleQueue[tuple[str, Any]]) -> None:
    try:
        for item in items:
            out.put((model, item))
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

    With ``events=True`` the items are typed events (as :meth:`Stream.events`
    yields them, a successful model's last being its ``Finish``) instead of
    text. ``options`` maps a model to keywords of its own, merged over the
    shared ones (they may name the model to call, say for an alias).
    """

    def __init__(
        self,
        prompt: Any,
        models: Sequence[str],
        *,
        events: bool = False,
        options: Optional[Mapping[str, Mapping[str, Any]]] = None,
        **kwargs: Any,
    ) -> None:
        from codey._api import stream

        if isinstance(models, str) or not models:
            raise ValueError("models must be a non-empty list of model names")
        if len(set(models)) != len(models):
            raise ValueError("each model may appear only once in models")
        self.streams: dict[str, Stream] = {}
        self._queue: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._pending = len(models)
        own = options or {}
        for model in models:
            try:
                self.streams[model] = stream(
                    prompt, **{**kwargs, "model": model, **own.get(model, {})}
                )
            except CodeyError as exc:
                self._queue.put((model, exc))
                self._queue.put((model, _DONE))
        self._finalizer = weakref.finalize(self, _close_all, list(self.streams.values()))
        for model, answer in self.streams.items():
            threading.Thread(
                target=_drain,
                args=(model, answer.events() if events else answer, self._queue),
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


def stream_many(
    prompt: Any,
    models: Sequence[str],
    *,
    events: bool = False,
    options: Optional[Mapping[str, Mapping[str, Any]]] = None,
    **kwargs: Any,
) -> StreamMany:
    """Stream the same prompt from several models in parallel.

    Takes ``stream()``'s keywords (except ``model``). Yields ``(model, chunk)``
    in arrival order, and ``(model, error)`` when a model's stream fails;
    ``(model, event)`` with ``events=True``. ``options``: per-model keywords.
    """
    return StreamMany(prompt, models, events=events, options=options, **kwargs)
