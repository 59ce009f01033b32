"""``codey.batch()``: many prompts answered into one output file, which is the state.

One door, two runners: the streamed one (``_streamed``: a pool of streams) and, with
``provider_batch=True``, the provider's batch API (``_provider``). Both read the
input through ``_files`` and write the records of ``_records``; the streamed one
paces itself with ``_limiter``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Callable, Optional, Union

from codey._batch._files import BatchLine, OutputFile, lines_to_run
from codey._batch._limiter import Limiter
from codey._batch._provider._state import StateFile, state_path
from codey._batch._records import BatchSummary
from codey._batch._streamed import streamed_batch
from codey._errors import BatchOutputError
from codey._options import BATCH, named

__all__ = ["DEFAULT_RETRIES", "BatchSummary", "batch", "state_path"]

#: Retries before the first text, per line: more than a lone stream's 2, for a long run.
DEFAULT_RETRIES = 4
#: The ``stream()`` keywords ``batch()`` passes on (the model and retries are its own).
BATCH_OPTIONS = frozenset(named(BATCH))


def _check_options(options: Mapping[str, Any]) -> None:
    unknown = sorted(set(options) - BATCH_OPTIONS)
    if unknown:
        raise TypeError(
            f"batch() got unexpected keyword argument(s) {', '.join(map(repr, unknown))}"
        )


def _read_ahead(lines: Iterable[Any]) -> int:
    """Check every line and id of an input that can be read twice; the number of lines."""
    return sum(1 for _ in lines_to_run(lines, set(), _nothing))


def _nothing() -> None:
    pass


def batch(
    lines: Iterable[Union[BatchLine, str, Mapping[str, Any], Any]],
    output: Union[str, Any],
    *,
    parallel: int = 8,
    model: Optional[str] = None,
    retries: int = DEFAULT_RETRIES,
    on_progress: Optional[Callable[[BatchSummary], None]] = None,
    provider_batch: bool = False,
    resume: bool = False,
    poll_interval: Optional[float] = None,
    **options: Any,
) -> BatchSummary:
    """Answer every line, ``parallel`` at most at once, appending a record per line to
    ``output`` (JSONL); lines already done there are skipped, so running the same
    batch again goes on where it stopped and retries what failed.

    :param lines: ``BatchLine`` values, prompts (str or message lists) or dicts
        (``id``, ``prompt`` or ``messages``, ``model``, ``options``), such as
        :func:`read_batch_input` yields; a line without an id is given its 1-based position.
    :param output: the output file's path; created if needed.
    :param parallel: the most requests at once; fewer while the provider says to slow down.
    :param model: the model of the lines that name none (default: as ``stream()``'s).
    :param retries: retries before the first text, per line.
    :param on_progress: called with a :class:`BatchSummary` in the calling thread as
        records are written (at least every quarter second), and once at the end.
    :param provider_batch: send the lines through the provider's batch API (OpenAI's
        Batch API, Anthropic's Message Batches: half the price, answers within 24 hours)
        and wait for the results, polling every ``poll_interval`` seconds (default 30);
        a state file beside the output (``OUTPUT.provider-batch.json``) names the
        batches until their results are in the output. ``parallel`` does not apply;
        ``retries`` and the timeouts do, to each call to the batch API.
    :param resume: collect the provider batch in flight for this output (after a crash
        or Ctrl-C) instead of submitting anything, ``provider_batch`` or not; with no
        batch in flight, as if not given (a plain batch always goes on where it stopped).
    :param options: ``stream()`` keywords for every line (``max_tokens``, ``system``,
        ``schema``...); a line's own ``options`` win. With a ``schema``, a record holds the
        answer's JSON too (``"json"``), and an answer that does not match is a failed line
        (``StructuredOutputError``), asked again on the next run.
    :raises BatchInputError: a malformed line or a repeated id; before any request when
        ``lines`` can be iterated twice (a list, a file), else when it is reached.
    :raises BatchOutputError: ``output`` holds something else, or another batch writes it,
        or a provider batch is in flight for it and ``resume`` is false.
    :raises KeyboardInterrupt: after stopping: what finished is on disk, the rest is not.
    """
    _check_options(options)
    if options.get("schema") is not None:
        from codey._schema import to_schema

        options["schema"] = to_schema(options["schema"])  # a bad one fails now, not per line
    limiter = Limiter(parallel)
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        raise ValueError(f"retries must be a non-negative int, not {retries!r}")
    if poll_interval is not None and (
        not isinstance(poll_interval, (int, float))
        or isinstance(poll_interval, bool)
        or poll_interval <= 0
    ):
        raise ValueError(
            f"poll_interval must be a positive number of seconds, not {poll_interval!r}"
        )
    total: Optional[int] = None
    if iter(lines) is not lines:  # it can be read twice: check it all first
        total = _read_ahead(lines)
    out = OutputFile(output)  # its lock keeps two runs from sharing the output and its state
    try:
        # The one look at the state file: a provider batch in flight for this output is
        # collected with resume=True (provider_batch=True need not be said again) and
        # never run over; without one, resume=True changes nothing.
        path = state_path(out.path)
        state = StateFile.load(path)
        if state is not None and not resume:
            raise BatchOutputError(
                f"a provider batch for {out.path} is in flight ({path}): run again with "
                "resume=True (codey batch --resume) to collect it rather than pay twice, "
                "or delete the state file to give it up",
                path=path,
            )
        options = {"retries": retries, **options}
        if provider_batch or state is not None:
            from codey._batch._provider._run import DEFAULT_POLL_INTERVAL
            from codey._batch._provider._run import provider_batch as by_provider

            return by_provider(
                lines,
                out,
                state,
                model=model,
                poll_interval=poll_interval or DEFAULT_POLL_INTERVAL,
                on_progress=on_progress,
                options=options,
            )
        return streamed_batch(
            lines,
            out,
            limiter,
            parallel=parallel,
            model=model,
            options=options,
            on_progress=on_progress,
            total=total,
        )
    finally:
        out.close()
