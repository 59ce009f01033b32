"""``codey batch``: every prompt of a file through ``codey.batch()``, with a progress bar.

The flags and the config file give each line its model and options (a line's
own ``model`` and ``options`` win over both); the bar (tqdm, the ``batch``
extra) is drawn only on a terminal's standard error; a summary line always
ends the run, and the exit status says whether every line succeeded.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import IO, Any, Optional

from codey.cli._exit import status_of
from codey.cli._signals import Terminated, terminate_on_signals

TYPE_CHECKING = False
if TYPE_CHECKING:
    from codey._batch import BatchSummary
    from codey._batch._files import BatchInput, BatchLine
    from codey.cli._context import Run

__all__ = ["Progress", "batch_status", "default_output", "run_batch", "summary_line"]


def default_output(path: str) -> str:
    """``prompts.csv`` -> ``prompts.out.jsonl``."""
    return os.path.splitext(path)[0] + ".out.jsonl"


class _Configured:
    """The input's lines with their model and options from the flags and the config file.

    Iterable as often as the input is (``codey.batch()`` reads it ahead once).
    """

    def __init__(self, lines: BatchInput, run: Run) -> None:
        from codey._request import default_model

        self.lines = lines
        self.run = run
        self.model = run.model or default_model(run.config.model)[0]

    def __iter__(self) -> Iterator[BatchLine]:
        from codey._batch._files import BatchLine

        run = self.run
        for line in self.lines:
            messages = () if isinstance(line.prompt, str) else line.prompt
            options = run.model_options(run.config.resolve(line.model or self.model), messages)
            model = options.pop("model")
            yield BatchLine(line.id, line.prompt, model=model, options={**options, **line.options})


#: What the command line says when it stops with a provider batch in flight.
GOES_ON = "the provider batch goes on at the provider: run it again with --resume to collect it"


def summary_line(
    summary: BatchSummary, interrupted: bool = False, provider_batch: bool = False
) -> str:
    """``codey: batch: 9998 done, 2 failed, 0 skipped in 41.2 s (243 prompts/s)``;
    ``provider_batch``: a provider batch is in flight (its state file is there)."""
    failed = f"{summary.failed} failed"
    if summary.errors:
        failed += (
            " (" + ", ".join(f"{n} {kind}" for kind, n in sorted(summary.errors.items())) + ")"
        )
    line = (
        f"codey: batch: {summary.done} done, {failed}, {summary.skipped} skipped in "
        f"{summary.elapsed:.1f} s ({summary.prompts_per_second:.0f} prompts/s)"
    )
    if interrupted and provider_batch:
        line += f"; interrupted: {GOES_ON}"
    elif interrupted:
        line += "; interrupted: run it again to go on"
    elif summary.failed and set(summary.errors) == {"configuration"}:
        # A missing key or an unknown model fails the same way again: fix it first.
        line += f"; fix what {summary.output} says, then run it again to retry them"
    elif summary.failed:
        line += f"; run it again to retry the failed ones (see {summary.output})"
    return line + "\n"


def batch_status(summary: BatchSummary) -> int:
    """0 if every line succeeded; else the exit status of the failures' kind if they all
    share one, else 1."""
    if not summary.failed:
        return 0
    kinds = list(summary.errors)
    return status_of(kinds[0]).code if len(kinds) == 1 else 1


class Progress:
    """The bar on a terminal's standard error: done, failed, in flight, tokens/s, ETA."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        try:
            self.terminal = stream.isatty()
        except (AttributeError, ValueError):
            self.terminal = False
        self.bar: Any = None
        self.last: Optional[BatchSummary] = None

    def update(self, summary: BatchSummary) -> None:
        before = {} if self.last is None else self.last.provider_batches
        self.last = summary
        for batch_id, status in summary.provider_batches.items():
            if before.get(batch_id) != status:  # a new batch, or a step: said once
                self.note(f"codey: batch: provider batch {batch_id}: {status}")
        if not self.terminal:
            return
        if self.bar is None:
            self.bar = self._start(summary)
            if self.bar is None:
                return
        bar = self.bar
        rate = summary.output_tokens / summary.elapsed if summary.elapsed > 0 else 0.0
        bar.set_postfix_str(
            f"{summary.failed} failed, {summary.in_flight} in flight, {rate:.0f} tokens/s",
            refresh=False,
        )
        bar.update(summary.done + summary.failed + summary.skipped - bar.n)

    def note(self, text: str) -> None:
        """A line on standard error, above the bar if there is one."""
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            self.stream.write(text + "\n")
            self.stream.flush()

    def _start(self, summary: BatchSummary) -> Any:
        try:
            from tqdm import tqdm
        except ImportError:
            self.terminal = False
            self.stream.write(
                "codey: batch: running (pip install 'codey[batch]' for a progress bar)\n"
            )
            self.stream.flush()
            return None
        return tqdm(
            total=summary.total,
            unit="prompt",
            file=self.stream,
            dynamic_ncols=True,
            leave=False,
            desc="codey batch",
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def run_batch(run: Run) -> int:
    """``codey batch INPUT``: the records in the output file, a summary on standard error."""
    assert run.input is not None  # INPUT is required
    output = run.output or default_output(run.input)
    if run.input == "-":
        spooled = _spool(sys.stdin.buffer)
        try:
            return _run(run, spooled, output, "standard input")
        finally:
            os.unlink(spooled)
    if os.path.abspath(output) == os.path.abspath(run.input):
        raise ValueError(f"{output}: the output file would be the input file; choose another")
    return _run(run, run.input, output, None)


def _spool(stream: IO[bytes]) -> str:
    """Standard input copied to a temporary file (a batch reads its input twice); its path."""
    import shutil
    import tempfile

    with tempfile.NamedTemporaryFile("wb", prefix="codey-batch-", delete=False) as copy:
        try:
            shutil.copyfileobj(stream, copy)
        except BaseException:
            copy.close()
            os.unlink(copy.name)
            raise
    return copy.name


def _run(run: Run, source: str, output: str, name: Optional[str]) -> int:
    from codey._batch import DEFAULT_RETRIES, batch, state_path
    from codey._batch._files import BatchInput
    from codey._errors import BatchOutputError

    lines = _Configured(BatchInput(source, run.column, name), run)
    progress = Progress(sys.stderr)
    retries = DEFAULT_RETRIES if run.retries is None else run.retries
    try:
        with terminate_on_signals():
            summary = batch(
                lines,
                output,
                parallel=run.parallel,
                retries=retries,
                on_progress=progress.update,
                provider_batch=run.provider_batch,
                resume=run.resume,
                poll_interval=run.poll_interval,
                schema=run.schema,
            )
    except (KeyboardInterrupt, Terminated):
        progress.close()
        in_flight = os.path.exists(state_path(output))
        if progress.last is not None:
            sys.stderr.write(
                summary_line(progress.last, interrupted=True, provider_batch=in_flight)
            )
        elif in_flight:  # stopped between a batch's creation and the first report
            sys.stderr.write(f"codey: batch: interrupted: {GOES_ON}\n")
        sys.stderr.flush()
        raise
    except Exception as exc:
        progress.close()
        path = state_path(output)
        if isinstance(exc, BatchOutputError) and exc.path == path and not run.resume:
            raise BatchOutputError(  # the library's words name resume=True
                f"a provider batch for {output} is in flight ({path}): run it again with "
                "--resume to collect it rather than pay twice, or delete that file to give it up",
                path=path,
            ) from None
        if not isinstance(exc, BatchOutputError) and os.path.exists(path):
            # A poll or a download failed: the batches go on at the provider.
            sys.stderr.write(f"codey: batch: {GOES_ON}\n")
            sys.stderr.flush()
        raise
    finally:
        progress.close()
    sys.stderr.write(summary_line(summary))
    sys.stderr.flush()
    return batch_status(summary)
