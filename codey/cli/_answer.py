"""Streaming answers for the command line: one model, or several at once.

:func:`stream_one` runs one request and writes its answer as text, as
``--chunk`` JSON lines or as ``--events`` records; it draws the status line
while text is slow to come, shows reasoning (``--reasoning``), usage and
timings on standard error. :func:`stream_several` runs one request per model
in parallel (``codey prompt -m A -m B``) and prints a labelled section per
model as each completes.

Loaded only by the commands that stream (never by ``codey --help``).
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Collection, Sequence
from time import monotonic
from typing import Any, Callable, Optional, Union

import attrs

import codey
from codey._many import StreamMany
from codey._stream import Stream
from codey._types import (
    Citation,
    Finish,
    ReasoningDelta,
    ServerToolCall,
    TextDelta,
    ToolCallDelta,
    ToolResult,
)
from codey.cli._exit import describe, exit_code
from codey.cli._records import error_record, event_record, json_line, tool_error
from codey.cli._report import extras, other_model, report_extras
from codey.cli._status import StatusLine, Terminal, escape_controls, waiting_message

TYPE_CHECKING = False
if TYPE_CHECKING:
    from codey._chatlog import ChatSettings, Escaper
    from codey._types import Message

__all__ = ["Show", "stream_one", "stream_several"]


@attrs.frozen(kw_only=True, eq=False)
class Show:
    """What the user asked to see, and how (from the command-line flags)."""

    #: ``text``, ``chunk`` (``--chunk``) or ``events`` (``--events``).
    mode: str = "text"
    add_delimiters: bool = False
    settings: Optional[ChatSettings] = None
    no_stream: bool = False
    reasoning: bool = False
    usage: bool = False
    stats: bool = False
    #: ``--cite``: the numbered sources on standard error after the answer.
    cite: bool = False
    #: Seconds without text before the status line appears; None for never.
    delay: Optional[float] = None
    #: ``--schema``: plain text is written only once it is checked JSON.
    schema: bool = False
    #: ``--add-delimiters``: what goes before the assistant delimiter (the prompt INPUT
    #: adds to a piped chat log), so the output appended to the log continues it.
    lead: str = ""


# -- one model ----------------------------------------------------------------


class _Answer:
    """Writes one model's answer to standard output in the chosen mode.

    The one place that knows what each mode writes. Plain text and
    ``--chunk`` are byte for byte what codey always wrote: text as it comes
    and a final newline, or ``{"chunk":"..."}`` lines. With ``model`` set
    (several models at once), every JSON line starts with ``"model"``.
    """

    def __init__(
        self,
        show: Show,
        write: Callable[[str], None],
        model: Optional[str] = None,
        escape: bool = False,
    ) -> None:
        self.show = show
        self.model = model
        self._write = write
        #: Whether plain text goes to a terminal, its control characters shown escaped.
        self.escape = escape
        self.last = ""  # the last character written, in text mode
        self.reason: Optional[str] = None
        #: The answer's citations: with --add-delimiters, notes before the user delimiter.
        self.citations: Sequence[Citation] = ()
        #: The API that answered (``Stream.api``), for the ``finish`` record.
        self.api: Optional[str] = None
        # --add-delimiters writes chat-log text: the answer is escaped as codey save does.
        self.escaper: Optional[Escaper] = None
        if show.add_delimiters and show.settings is not None:
            from codey._chatlog import Escaper

            self.escaper = Escaper(show.settings)

    def _line(self, record: dict[str, Any]) -> None:
        if self.model is not None:
            record = {"model": self.model, **record}
        self._write(json_line(record))

    def put(self, text: str) -> None:
        mode = self.show.mode
        if mode == "chunk":
            self._line({"chunk": text})
        elif mode == "text":
            self._write(escape_controls(text) if self.escape else text)
            if text:
                self.last = text[-1]

    def begin(self) -> None:
        settings = self.show.settings
        if self.show.add_delimiters and settings is not None:
            self.put(self.show.lead + settings.delimiter("assistant"))

    def text(self, piece: str) -> None:
        if self.show.mode == "events":
            self._line({"type": "text", "text": piece})
        elif self.escaper is not None:
            self.put(self.escaper.feed(piece))
        else:
            self.put(piece)

    def event(self, record: dict[str, Any]) -> None:
        if self.show.mode == "events":
            self._line(record)

    def end(self) -> None:
        settings = self.show.settings
        if self.show.mode == "events":
            record = {"type": "finish", "reason": self.reason}
            if self.api is not None:
                record["api"] = self.api
            self._line(record)
            return
        if self.show.add_delimiters and settings is not None:
            rest = self.escaper.flush() if self.escaper else ""
            if self.citations:
                from codey.cli._report import closing_notes, source_notes

                self.put(rest + closing_notes(source_notes(self.citations), settings))
            else:
                self.put(rest + settings.delimiter("user"))
        if self.show.mode == "text":
            self._write("\n")

    def served(self, stream: Optional[Stream]) -> None:
        """``--events``: a ``model`` record when another model answered than the one asked for."""
        served = None if stream is None else other_model(stream)
        if served is not None and stream is not None:
            self.event({"type": "model", "asked": stream.model, "served": served})

    def fail(self, exc: BaseException, partial_length: int, out_tty: bool) -> None:
        if self.show.mode == "events":
            self._write(json_line(error_record(exc, partial_length, model=self.model)))
        elif self.show.mode == "text" and self.last not in ("", "\n") and out_tty:
            # Finish a partial line on a terminal, so the shell prompt starts clean.
            self._write("\n")


def stream_one(
    messages: Sequence[Message],
    options: dict[str, Any],
    show: Show,
    terminal: Terminal,
    on_text: Optional[Callable[[str], None]] = None,
    on_done: Optional[Callable[[Optional[str], Sequence[Citation]], None]] = None,
    cancel: Optional[threading.Event] = None,
    ask: Optional[Callable[[str], bool]] = None,
    allowed: Collection[str] = (),
) -> Stream:
    """Stream one answer to standard output; return the finished stream.

    ``on_text`` gets each piece of text before it is written, and ``on_done``
    the finish reason and the citations once the whole answer has arrived (``save`` and ``chat``
    append to the chat log with them). Errors are raised after the partial answer is
    written (and, with ``--events``, the error record). With ``cancel`` set
    (``chat``'s Ctrl-C), the answer stops and ``KeyboardInterrupt`` is raised.
    With ``ask``, each tool call waits for a yes to its question (the status
    line held meanwhile), except the calls of the tools ``allowed``. Between
    the rounds of a tool loop, text gets a blank line, except in ``--events``
    records.
    """
    checked = show.schema and show.mode == "text"  # nothing but checked JSON on stdout
    buffer: Optional[io.StringIO] = io.StringIO() if show.no_stream or checked else None
    stream: Optional[Stream] = None
    last_text = monotonic()
    began = False  # the round going on has sent content (text, reasoning, a tool call)
    label = str(options.get("model") or "the model")
    running: Optional[ServerToolCall] = None  # a server tool the provider is running

    def render() -> Optional[str]:
        if stream is None or show.delay is None:
            return None
        return waiting_message(stream, label, last_text, show.delay, began=began, running=running)

    status = StatusLine(terminal, render, enabled=show.delay is not None)

    def write(text: str) -> None:
        if buffer is not None:
            buffer.write(text)
        else:
            status.write(text)

    answer = _Answer(show, write, escape=terminal.out_tty)
    reasoning_open = False
    failed: Optional[BaseException] = None
    if ask is not None and options.get("tools"):
        from codey.cli._tools import guarded

        def held(question: str) -> bool:
            with status.paused():
                return ask(question)

        options = {**options, "tools": guarded(options["tools"], held, allowed)}
    wrote_text = after_tools = False
    try:
        with status:
            try:
                stream = codey.stream(messages, cancel=cancel, **options)
                label = stream.model
                with stream:
                    answer.begin()
                    for event in stream.events():
                        if not began and isinstance(event, _CONTENT):
                            began = True
                        if isinstance(event, ServerToolCall):
                            running = None if event.status in ("completed", "failed") else event
                            last_text = monotonic()  # the server is at work, not silent
                        if isinstance(event, TextDelta):
                            last_text = monotonic()
                            if reasoning_open:
                                reasoning_open = False
                                status.write("\n", err=True)
                            text = event.text
                            if after_tools and wrote_text and show.mode != "events":
                                text = "\n\n" + text.lstrip("\n")
                            wrote_text, after_tools = True, False
                            if on_text is not None:
                                on_text(text)
                            answer.text(text)
                            continue
                        if isinstance(event, ToolResult):
                            after_tools = True
                            began = False  # the next round thinks anew
                            last_text = monotonic()
                            if show.mode != "events":
                                _tool_note(status, terminal, event)
                        if isinstance(event, Finish):
                            answer.reason = event.reason
                            continue
                        if isinstance(event, ReasoningDelta) and show.reasoning:
                            last_text = monotonic()
                            reasoning_open = not event.text.endswith("\n")
                            status.write(terminal.dim(_shown(event.text, terminal)), err=True)
                        record = event_record(event)
                        if record is not None:
                            answer.event(record)
                    if reasoning_open:
                        reasoning_open = False
                        status.write("\n", err=True)
                    if stream.cancelled and cancel is not None and cancel.is_set():
                        raise KeyboardInterrupt
                    if on_done is not None:
                        on_done(answer.reason, stream.citations)
                    answer.served(stream)
                    answer.api = stream.api
                    answer.citations = stream.citations
                    answer.end()
            except BrokenPipeError as exc:
                failed = exc
                raise
            except BaseException as exc:
                failed = exc
                if reasoning_open:
                    status.write("\n", err=True)
                partial = len(stream.text) if stream is not None else 0
                answer.served(stream)
                answer.fail(exc, partial, terminal.out_tty)
                raise
            finally:
                kept = failed is None or not (checked or isinstance(failed, BrokenPipeError))
                if buffer is not None and kept:
                    status.write(buffer.getvalue())
    finally:
        if stream is not None and not isinstance(failed, BrokenPipeError):
            report_extras(show, terminal, stream.model, stream)
    return stream


#: The events that are a piece of the answer (the status line stops calling it thinking).
_CONTENT = (TextDelta, ReasoningDelta, ToolCallDelta)


def _shown(reasoning: str, terminal: Terminal) -> str:
    """Reasoning for standard error: control characters escaped on a terminal."""
    return escape_controls(reasoning) if terminal.err_tty else reasoning


def _tool_note(status: StatusLine, terminal: Terminal, result: ToolResult) -> None:
    """A failed call on standard error, always; one that ran, on a terminal only."""
    from codey.cli._tools import describe_call

    try:
        arguments = json.loads(result.call.arguments or "{}")
    except ValueError:
        arguments = None
    call = (
        describe_call(result.call.name, arguments)
        if isinstance(arguments, dict)
        else f"{result.call.name}({result.call.arguments[:200]})"
    )
    if result.error is not None:
        status.write(f"codey: tool {call} failed: {tool_error(result.error)}\n", err=True)
    elif terminal.err_tty:
        status.write(terminal.dim(f"codey: ran {call}") + "\n", err=True)


# -- several models -------------------------------------------------------------


class _ModelState:
    __slots__ = ("error", "finished", "reason", "reasoning", "text")

    def __init__(self) -> None:
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.error: Optional[BaseException] = None
        self.reason: Optional[str] = None
        self.finished = False


def stream_several(
    messages: Sequence[Message],
    requests: Sequence[tuple[str, dict[str, Any]]],
    show: Show,
    terminal: Terminal,
) -> int:
    """Stream from several models at once; return the exit status.

    ``requests`` pairs each label (the model as given on the command line)
    with its ``codey.stream()`` keywords. Plain text: one labelled section
    per model, printed as soon as that model finishes, with a progress line on
    a terminal's standard error meanwhile. ``--chunk`` and ``--events``: every
    line carries ``"model"``, in arrival order. Each failed model gets one
    line on standard error; the status is that of the first failed model, in
    the order given, or 0.
    """
    labels = [label for label, _ in requests]
    states = {label: _ModelState() for label in labels}
    started = monotonic()
    buffer: Optional[io.StringIO] = (
        io.StringIO() if show.no_stream and show.mode != "text" else None
    )
    sections = 0

    def render() -> Optional[str]:
        parts = []
        for label in labels:
            state = states[label]
            if state.error is not None:
                parts.append(f"{label} failed")
            elif state.finished:
                parts.append(f"{label} done")
            else:
                size = sum(len(piece) for piece in state.text)
                parts.append(f"{label} {size} chars" if size else f"{label} waiting")
        return f"codey: {monotonic() - started:.0f} s: " + ", ".join(parts)

    status = StatusLine(terminal, render)

    def write(text: str, err: bool = False) -> None:
        if buffer is not None and not err:
            buffer.write(text)
        else:
            status.write(text, err=err)

    def finish(label: str, merged: StreamMany) -> None:
        nonlocal sections
        state = states[label]
        state.finished = True
        stream = merged.streams.get(label)
        text = "".join(state.text)
        if show.mode == "events":
            answer = answers[label]
            answer.served(stream)
            if state.error is not None:
                answer.fail(state.error, len(text), out_tty=False)
            else:
                answer.reason = state.reason
                answer.api = None if stream is None else stream.api
                answer.end()
        elif show.mode == "text":
            if show.reasoning and state.reasoning:
                reasoning = _shown("".join(state.reasoning).rstrip("\n"), terminal)
                write(terminal.dim(f"{label} reasoning:\n{reasoning}") + "\n", err=True)
            if (text and not show.schema) or state.error is None:
                heading = terminal.bold(f"=== {label} ===")
                if terminal.out_tty:
                    text = escape_controls(text)
                if state.error is not None and not isinstance(state.error, KeyboardInterrupt):
                    # A partial answer must not look whole (Ctrl-C: the user knows).
                    text += f"\n[codey: the answer broke off here: {describe(state.error)}]"
                write(("\n" if sections else "") + heading + "\n" + text + "\n")
                sections += 1
        if state.error is not None and not isinstance(state.error, KeyboardInterrupt):
            # One line per failed model (Ctrl-C is no failure to report: exit 130).
            write(f"codey: error: {label}: {describe(state.error)}\n", err=True)
        if stream is not None:
            lines = extras(show, label, stream)
            if lines:
                write(lines, err=True)

    answers = {label: _Answer(show, write, model=label) for label in labels}
    merged = StreamMany(messages, labels, events=True, options=dict(requests))
    try:
        with status:
            try:
                for label, item in merged:
                    state = states[label]
                    if isinstance(item, BaseException):  # that model's end
                        state.error = item
                        finish(label, merged)
                        continue
                    if isinstance(item, Finish):  # that model's end
                        state.reason = item.reason
                        finish(label, merged)
                        continue
                    if isinstance(item, TextDelta):
                        state.text.append(item.text)
                        if show.mode != "text":  # text waits for its section
                            answers[label].text(item.text)
                        continue
                    if isinstance(item, ReasoningDelta):
                        state.reasoning.append(item.text)
                    record = event_record(item)
                    if record is not None:
                        answers[label].event(record)
            except KeyboardInterrupt as exc:
                # Stop them all; what is unfinished is interrupted.
                merged.close()
                for label in labels:
                    state = states[label]
                    if not state.finished:
                        state.error = exc
                        finish(label, merged)
                raise
            finally:
                if buffer is not None:
                    status.write(buffer.getvalue())
    finally:
        merged.close()
    for label in labels:
        error: Union[BaseException, None] = states[label].error
        if error is not None:
            return exit_code(error)
    return 0
