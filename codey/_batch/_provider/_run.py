"""``codey.batch(..., provider_batch=True)``: the lines through the providers' batch APIs.

Submit: every line not yet done becomes one request of a batch per provider and
base URL, and per model where the API takes one model a batch (OpenAI), split at
the API's limits; the state file is written before each
create, so that a run that stops is resumed (``resume=True``) by polling the
same batches. Poll: every ``poll_interval`` seconds until each batch ended.
Collect: each batch's results, mapped back to the lines by custom id, are
appended to the output as the same records ``codey.batch()`` writes; a line the
batch did not answer (expired, cancelled, left out) gets an error record, so
running the batch again submits just those.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import tempfile
import time
from collections.abc import Iterable, Mapping
from typing import Any, Callable, Optional

import attrs

from codey import _options, _providers, _request
from codey._batch._files import OutputFile, lines_to_run
from codey._batch._provider._apis import BatchAPI, BatchState, Outcome, api_for
from codey._batch._provider._state import StateFile, Submission, state_path
from codey._batch._records import NO_JSON, BatchSummary, Tally, failure, success
from codey._errors import (
    APIStatusError,
    BatchOutputError,
    CodeyError,
    ProviderBatchError,
    StreamError,
    StructuredOutputError,
    UnsupportedOptionError,
)
from codey._providers._base import HTTPRequest, Provider, RequestSpec
from codey._schema import Schema, checked_json
from codey._types import Citation, Finish, Message, Usage

__all__ = ["DEFAULT_POLL_INTERVAL", "provider_batch"]

#: Seconds between two polls of a batch: a batch takes minutes to hours.
DEFAULT_POLL_INTERVAL = 30.0
#: The defaults of ``connect_timeout`` and ``chunk_timeout`` for the batch API's calls
#: (``stream()``'s 30 s and 15 s are for a stream): each is a plain request, an upload,
#: a poll or a download of a whole results file, which may be silent for longer than
#: a stream's chunks before its first byte comes.
CALL_CONNECT_TIMEOUT = 30.0
CALL_READ_TIMEOUT = 60.0
#: Records written to the output at a time (one fsync each).
_WRITE_GROUP = 1000
#: What became of the lines an ended batch left out, by the batch's status.
_LEFT_OUT = {
    "expired": "expired",
    "cancelled": "canceled",
    "canceled": "canceled",
    "failed": "failed",
}
#: What both providers take as a custom id.
_CUSTOM_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class _Run:
    def __init__(
        self,
        output: OutputFile,
        model: Optional[str],
        options: dict[str, Any],
        on_progress: Optional[Callable[[BatchSummary], None]],
    ) -> None:
        self.output = output
        self.model = model
        self.options = options
        self.on_progress = on_progress
        self.started = time.monotonic()
        self.total: Optional[int] = None
        self.skipped = 0
        self.tally = Tally()
        #: The last poll of each batch in flight.
        self.polled: dict[str, BatchState] = {}
        #: The last status of each batch of this run, collected ones too.
        self.statuses: dict[str, str] = {}
        #: The batch API and key of each provider and base URL.
        self.apis: dict[tuple[str, str], tuple[BatchAPI, str]] = {}

    # -- the records

    def write(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        self.output.write(records)
        for record in records:
            self.tally.count(record)
            if "error" not in record:
                self.output.done.add(record["id"])
        records.clear()

    def _skip(self) -> None:
        self.skipped += 1

    def summary(self) -> BatchSummary:
        polled = self.polled.values()
        counted = self.tally.summary(
            skipped=self.skipped,
            total=self.total,
            in_flight=sum(max(0, s.total - s.done - s.failed) for s in polled),
            elapsed=time.monotonic() - self.started,
            output=self.output.path,
            provider_batches=dict(self.statuses),
        )
        # The batches in flight count what the provider says is done so far.
        return attrs.evolve(
            counted,
            done=counted.done + sum(state.done for state in polled),
            failed=counted.failed + sum(state.failed for state in polled),
        )

    def report(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.summary())

    # -- submit

    def submit(self, lines: Iterable[Any], path: str) -> StateFile:
        """Every line not done as a request of a batch; the state of what was created.

        The requests wait in a temporary file per batch API, not in memory:
        only one batch's worth is read back at a time, to be sent.
        """
        groups: dict[tuple[str, str, str], tuple[BatchAPI, _Spool]] = {}
        used: set[str] = set()
        failures: list[dict[str, Any]] = []
        try:
            for number, line in lines_to_run(lines, self.output.done, self._skip):
                name = line.model or self.model or _request.default_model()[0]
                try:
                    if "schema" in line.options:
                        raise UnsupportedOptionError(
                            "a provider batch checks every answer against one schema: "
                            "give it to the batch (schema=, --schema), not to a line"
                        )
                    api, api_model, body = self.request(
                        name, line.prompt, _options.overlay(self.options, line.options)
                    )
                except (CodeyError, ValueError, TypeError) as exc:  # this line's setup
                    failures.append(failure(line.id, name, exc))
                    continue
                custom_id = _custom_id(line.id, number, used)
                key = (api.name, api.base_url, api_model if api.one_model else "")
                group = groups.get(key)
                if group is None:
                    group = groups[key] = (api, _Spool())
                group[1].add(custom_id, line.id, api_model, api.item(custom_id, body))
            self.total = len(used) + len(failures) + self.skipped  # every line, counted once
            self.write(failures)
            state = StateFile(path, [])
            batches: list[tuple[Submission, BatchAPI, _Spool, list[_Spooled]]] = []
            for api, spool in groups.values():
                for chunk in _chunks(api, spool.index):
                    submission = Submission(
                        provider=api.name,
                        base_url=api.base_url,
                        token=secrets.token_hex(8),
                        lines={entry.custom_id: [entry.line_id, entry.model] for entry in chunk},
                    )
                    state.submissions.append(submission)
                    batches.append((submission, api, spool, chunk))
            if batches:
                state.save()
            for submission, api, spool, chunk in batches:
                self.create(state, submission, api, spool.read(chunk))
            return state
        finally:
            for _, spool in groups.values():
                spool.close()

    def request(
        self, name: str, prompt: Any, options: Mapping[str, Any]
    ) -> tuple[BatchAPI, str, dict[str, Any]]:
        """The batch API for model ``name``, the model's API name, and the request's
        body (as ``stream()`` would send it, for a whole reply)."""
        provider, api_model = _providers.resolve(name)
        if options.get("fallbacks"):
            raise UnsupportedOptionError("a provider batch cannot fall back to other models")
        checked = _options.check(options)
        # Over the API a stream would take: OpenAI's Batch API runs /v1/responses too.
        provider = _request.routed(provider, api_model, checked.get("api"))
        api, _ = self.api(provider)
        spec = _request.request_spec(
            api_model,
            _request.messages(prompt, checked.get("system")),
            checked,
            schema=checked.get("schema"),  # made a Schema by batch()
            provider=provider.name,
        )
        return api, api_model, provider.request_body(spec, api.base_url, stream=False)

    def api(self, provider: Provider, base_url: Optional[str] = None) -> tuple[BatchAPI, str]:
        """The batch API of ``provider`` at ``base_url`` (one each), and its key."""
        url = _request.base_url(provider, base_url or self.options.get("base_url"))
        known = self.apis.get((provider.name, url))
        if known is not None:
            return known
        api_class = api_for(provider)
        if api_class is None:
            raise UnsupportedOptionError(
                f"{provider.name} has no batch API that codey speaks: provider batches go "
                "through OpenAI's Batch API and Anthropic's Message Batches"
            )
        key = _request.api_key(provider, self.options.get("api_key"))
        api = api_class(
            provider,
            url,
            provider.headers(key, stream=False),
            retries=self.options["retries"],
            connect_timeout=self.options.get("connect_timeout", CALL_CONNECT_TIMEOUT),
            chunk_timeout=self.options.get("chunk_timeout", CALL_READ_TIMEOUT),
            session=self.options.get("session"),
        )
        self.apis[provider.name, url] = (api, key)
        return api, key

    def create(
        self, state: StateFile, submission: Submission, api: BatchAPI, entries: list[bytes]
    ) -> None:
        """Create one batch; a provider that refuses it fails its lines (their records)."""

        def creating() -> None:
            submission.creating = True
            submission.created_after = time.time()
            state.save()  # before the request: a crash now leaves a batch that may exist

        try:
            submission.id = api.submit(entries, {"codey_token": submission.token}, creating)
        except APIStatusError as exc:  # the provider said no: nothing was created
            records = [failure(line_id, model, exc) for line_id, model in submission.lines.values()]
            self.write(records)
            state.submissions.remove(submission)
        submission.creating = False
        state.save()

    # -- poll and collect

    def collect(self, state: StateFile, poll_interval: float) -> None:
        """Poll every batch until it ended, and write its records."""
        waiting = [submission for submission in state.submissions if not submission.collected]
        for submission in list(waiting):
            if submission.id is None and submission.creating:
                submission.id = self.find(state, submission)
            if submission.id is None:  # the batch was never created: nothing to pay
                exc = ProviderBatchError(
                    f"a {submission.provider} batch for this line was never created (the "
                    "run stopped first): run the batch again to submit it",
                    provider=submission.provider,
                    status="missing",
                )
                self.write(
                    [failure(line_id, model, exc) for line_id, model in submission.lines.values()]
                )
                state.submissions.remove(submission)
                waiting.remove(submission)
                state.save()
        while waiting:
            for submission in list(waiting):
                api = self.resume_api(submission)
                batch_id = str(submission.id)
                polled = api.poll(batch_id)
                self.polled[batch_id] = polled
                self.statuses[batch_id] = polled.status
                if polled.ended:
                    self.write_results(api, submission, polled)
                    del self.polled[batch_id]
                    submission.collected = True
                    state.save()
                    waiting.remove(submission)
            self.report()
            if waiting:
                time.sleep(poll_interval)
        state.remove()

    def find(self, state: StateFile, submission: Submission) -> Optional[str]:
        """The id of a batch whose create request went out unanswered (the run stopped),
        or None when the provider surely has none."""
        api = self.resume_api(submission)
        if not api.can_find or submission.created_after is None:
            raise _lost(state, submission)
        found = api.find(submission.token, submission.created_after)
        submission.creating = False
        submission.id = found
        state.save()
        return found

    def resume_api(self, submission: Submission) -> BatchAPI:
        return self.api(_providers.get(submission.provider), submission.base_url)[0]

    def write_results(self, api: BatchAPI, submission: Submission, polled: BatchState) -> None:
        records: list[dict[str, Any]] = []
        answered: set[str] = set()
        schema = self.options.get("schema")
        sent = _sent_as(api, schema)
        for custom_id, outcome in api.outcomes(polled):
            entry = submission.lines.get(custom_id)
            if entry is None or custom_id in answered:
                continue  # not one of this batch's lines (or said twice): nothing to map it to
            answered.add(custom_id)
            line_id, model = entry
            if line_id not in self.output.done:  # a resumed collection wrote it already
                records.append(
                    _record(api.provider, submission, line_id, model, outcome, schema, sent)
                )
            if len(records) >= _WRITE_GROUP:
                self.write(records)
        status = _LEFT_OUT.get(polled.status, "missing")
        left = ProviderBatchError(
            f"{api.name} batch {submission.id}: {api.failure(polled)}",
            provider=api.name,
            batch_id=submission.id,
            status=status,
        )
        for custom_id, (line_id, model) in submission.lines.items():
            if custom_id not in answered and line_id not in self.output.done:
                records.append(
                    _record(api.provider, submission, line_id, model, left, schema, sent)
                )
        self.write(records)


def _lost(state: StateFile, submission: Submission) -> BatchOutputError:
    when = ""
    if submission.created_after is not None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(submission.created_after))
        when = f", created about {stamp}"
    return BatchOutputError(
        f"{state.path}: the run that wrote this stopped while creating a {submission.provider} "
        f"batch of {len(submission.lines)} requests, and {submission.provider}'s batches carry "
        "no mark codey can find it by, so codey cannot tell whether it was created: look "
        f"for it in the provider's console{when}; then delete {state.path} and run again "
        "to submit what is not done",
        path=state.path,
    )


def _custom_id(line_id: str, number: int, used: set[str]) -> str:
    """The line's id when both providers take it as a custom id, else ``line-N``."""
    candidate = line_id if _CUSTOM_ID.fullmatch(line_id) else f"line-{number}"
    while candidate in used:
        candidate = f"line-{number}-{len(used)}"
    used.add(candidate)
    return candidate


@attrs.frozen
class _Spooled:
    """Where one request waits in a :class:`_Spool`, and whose it is."""

    custom_id: str
    line_id: str
    model: str
    offset: int
    size: int


class _Spool:
    """A batch API's requests, in a temporary file (removed when closed)."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile(prefix="codey-batch-")  # noqa: SIM115 (close())
        self.index: list[_Spooled] = []
        self.size = 0

    def add(self, custom_id: str, line_id: str, model: str, item: bytes) -> None:
        self.file.write(item)
        self.index.append(_Spooled(custom_id, line_id, model, self.size, len(item)))
        self.size += len(item)

    def read(self, chunk: list[_Spooled]) -> list[bytes]:
        """The requests of ``chunk`` (consecutive in the file), as they were added."""
        self.file.flush()
        self.file.seek(chunk[0].offset)
        data = self.file.read(chunk[-1].offset + chunk[-1].size - chunk[0].offset)
        view = memoryview(data)
        start = chunk[0].offset
        return [bytes(view[e.offset - start : e.offset - start + e.size]) for e in chunk]

    def close(self) -> None:
        self.file.close()


def _chunks(api: BatchAPI, index: list[_Spooled]) -> Iterable[list[_Spooled]]:
    """The requests in batches within the API's limits on requests and bytes."""
    chunk: list[_Spooled] = []
    size = 0
    for entry in index:
        if chunk and (len(chunk) >= api.max_requests or size + entry.size > api.max_bytes):
            yield chunk
            chunk, size = [], 0
        chunk.append(entry)
        size += entry.size + 1
    if chunk:
        yield chunk


def _sent_as(api: BatchAPI, schema: Optional[Schema]) -> HTTPRequest:
    """A request like a batch's lines, for reading their replies: with a schema,
    Anthropic answers in the tool it was made to call, which the request names (as
    on the streamed path)."""
    spec = RequestSpec(model="probe", messages=(Message("user", "probe"),), schema=schema)
    return api.provider.build_request(spec, "", api.base_url)


def _record(
    provider: Provider,
    batch: Submission,
    line_id: str,
    model: str,
    outcome: Outcome,
    schema: Optional[Schema],
    sent: HTTPRequest,
) -> dict[str, Any]:
    """The output record of one line from its outcome in the batch (its answer checked
    against ``schema``, if any; ``sent``: see ``_sent_as``)."""
    if isinstance(outcome, Exception):
        return {**failure(line_id, model, outcome), "batch": batch.id}
    events = provider.complete_reply(outcome, sent)
    if events is None:
        exc = StreamError(
            f"{provider.name}'s batch result for this line is not a whole reply: "
            f"{json.dumps(outcome)[:200]}",
            provider=provider.name,
        )
        return {**failure(line_id, model, exc), "batch": batch.id}
    usage = next((event for event in events if isinstance(event, Usage)), None)
    finish = next((event for event in events if isinstance(event, Finish)), None)
    pieces: list[str] = []
    citations = []
    for event in events:
        if event.__class__ is str:
            pieces.append(event)
        elif isinstance(event, Citation):  # counted back from the text before it
            citations.append(event.moved(sum(map(len, pieces))))
    text = "".join(pieces)
    reason = None if finish is None else finish.reason
    answer: Any = NO_JSON
    if schema is not None:
        try:
            answer = checked_json(schema, text, provider.name, reason)
        except StructuredOutputError as exc:
            exc.partial_text = text
            return {**failure(line_id, model, exc), "batch": batch.id}
    record = success(line_id, model, text, reason, usage, answer=answer, citations=citations)
    return {**record, "batch": batch.id}


def provider_batch(
    lines: Iterable[Any],
    output: OutputFile,
    state: Optional[StateFile],
    *,
    model: Optional[str],
    poll_interval: float,
    on_progress: Optional[Callable[[BatchSummary], None]],
    options: dict[str, Any],
) -> BatchSummary:
    """Submit ``lines`` (no ``state``) or collect the batches ``state`` names (a resumed
    run), writing the records to ``output``; ``options`` hold ``retries``."""
    path = state_path(output.path)
    run = _Run(output, model, options, on_progress)
    if state is None:
        state = run.submit(lines, path)
    else:
        run.total = sum(len(submission.lines) for submission in state.submissions)
    run.report()
    if state.submissions:
        run.collect(state, poll_interval)
    elif os.path.exists(path):  # every batch refused: their lines' records say why
        state.remove()
    summary = run.summary()
    if on_progress is not None:
        on_progress(summary)
    return summary
