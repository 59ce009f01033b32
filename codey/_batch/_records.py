"""The records both runners write, one per line, and what they add up to.

A success: ``id``, ``model``, ``text``, ``finish_reason``, ``usage``, ``timings``
(and ``json`` with a schema); a failure: ``id``, ``model``, ``error`` (``type``,
``message``, ``status_code``, ``kind``). A provider batch adds ``"batch"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional

import attrs

from codey._errors import CodeyError
from codey._retry import error_kind
from codey._secrets import redact
from codey._types import Citation, Usage

__all__ = ["NO_JSON", "BatchSummary", "Tally", "failure", "success"]

#: ``success()``'s answer when the line had no schema (its record has no ``"json"``).
NO_JSON = object()


@attrs.frozen
class BatchSummary:
    """How a batch went (or is going: ``on_progress`` gets one as it runs)."""

    #: Lines that succeeded in this run.
    done: int = 0
    #: Lines whose last attempt failed in this run (their error records say why).
    failed: int = 0
    #: Lines already done in the output file, not run again.
    skipped: int = 0
    #: Lines in the input, when it could be read ahead (a file, a list), else None.
    total: Optional[int] = None
    #: Lines being answered now.
    in_flight: int = 0
    #: Seconds since the batch started.
    elapsed: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    #: Retries before the first text, summed over the lines.
    retries: int = 0
    #: Responses that said "slow down" (429, 503, 529), retried ones included.
    throttled: int = 0
    #: How many requests the limiter lets run at once now.
    concurrency: int = 0
    #: Failed lines by kind (``busy``, ``timeout``, ``configuration``...).
    errors: Mapping[str, int] = attrs.field(factory=dict, hash=False)
    #: The output file.
    output: str = ""
    #: With ``provider_batch=True``: this run's provider batches, id -> status as last
    #: polled (``validating``, ``in_progress``, ``completed``, ``ended``...).
    provider_batches: Mapping[str, str] = attrs.field(factory=dict, hash=False)

    @property
    def ok(self) -> bool:
        """Whether every line run succeeded."""
        return self.failed == 0

    @property
    def prompts_per_second(self) -> float:
        return (self.done + self.failed) / self.elapsed if self.elapsed > 0 else 0.0


def success(
    line_id: str,
    model: str,
    text: str,
    finish_reason: Optional[str],
    usage: Optional[Usage],
    *,
    to_first_text: Optional[float] = None,
    total: Optional[float] = None,
    retries: int = 0,
    answer: Any = NO_JSON,
    citations: Sequence[Citation] = (),
) -> dict[str, Any]:
    """A line's record when it was answered: the one shape of a success (``answer``:
    the JSON of an answer checked against a schema, as ``"json"``; the sources the
    answer cites, if any, as ``"citations"``)."""
    record: dict[str, Any] = {
        "id": line_id,
        "model": model,
        "text": text,
        "finish_reason": finish_reason,
        "usage": {
            "input_tokens": None if usage is None else usage.input_tokens,
            "output_tokens": None if usage is None else usage.output_tokens,
        },
        "timings": {"to_first_text": to_first_text, "total": total, "retries": retries},
    }
    if answer is not NO_JSON:
        record["json"] = answer
    if citations:
        record["citations"] = [citation.to_dict() for citation in citations]
    return record


def failure(line_id: str, model: str, exc: BaseException) -> dict[str, Any]:
    """A line's error record; an invalid option (a ValueError) is the line's configuration."""
    return {
        "id": line_id,
        "model": model,
        "error": {
            "type": type(exc).__name__,
            "message": redact(str(exc)),
            "status_code": getattr(exc, "status_code", None),
            "kind": error_kind(exc) if isinstance(exc, CodeyError) else "configuration",
        },
    }


class Tally:
    """What the records written so far add up to."""

    def __init__(self) -> None:
        self.done = self.failed = 0
        self.input_tokens = self.output_tokens = self.retries = 0
        self.errors: dict[str, int] = {}

    def count(self, record: Mapping[str, Any]) -> None:
        error = record.get("error")
        if error is None:
            self.done += 1
            usage = record["usage"]
            self.input_tokens += usage["input_tokens"] or 0
            self.output_tokens += usage["output_tokens"] or 0
            self.retries += record["timings"]["retries"]
        else:
            self.failed += 1
            self.errors[error["kind"]] = self.errors.get(error["kind"], 0) + 1

    def summary(self, **fields: Any) -> BatchSummary:
        """A :class:`BatchSummary` of these counts and ``fields``."""
        return BatchSummary(
            done=self.done,
            failed=self.failed,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            retries=self.retries,
            errors=dict(self.errors),
            **fields,
        )
