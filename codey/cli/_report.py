"""What standard error says once an answer has ended: that another model answered,
that the provider cut it at the token limit, and the ``--usage`` and ``--stats``
lines asked for."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Optional

    from codey._chatlog import ChatSettings
    from codey._stream import Stream
    from codey._types import Citation, Usage
    from codey.cli._answer import Show
    from codey.cli._status import Terminal

__all__ = [
    "CUT_REASONS",
    "api_name",
    "closing_notes",
    "cut_note",
    "extras",
    "other_model",
    "report_extras",
    "source_notes",
    "sources",
    "sources_text",
    "stats_line",
    "usage_line",
]

#: Finish reasons that say the answer was cut at the token limit (Chat Completions,
#: Messages, Responses), or (Messages) where the conversation filled the model's
#: context window.
CUT_REASONS = frozenset(
    {"length", "max_tokens", "max_output_tokens", "model_context_window_exceeded"}
)


def cut_note(reason: Optional[str]) -> Optional[str]:
    """What to say of an answer that ended for ``reason``: None unless it was cut short."""
    if reason not in CUT_REASONS:
        return None
    if reason == "model_context_window_exceeded":
        return f"the answer was cut: the model's context window is full (finish reason: {reason})"
    return f"the answer was cut at the token limit (finish reason: {reason})"


#: How much of a cited passage ``--cite`` and the chat log's notes show.
QUOTE_LENGTH = 100


def sources(citations: Sequence[Citation]) -> list[tuple[str, list[str]]]:
    """Each source the citations name, once, in the order first cited: ``Title — URL``
    (or what there is of them), and the passages quoted from it, shortened."""
    found: dict[str, list[str]] = {}
    for citation in citations:
        name = citation.title or citation.file_id
        if name is None and citation.document_index is not None:
            name = f"document {citation.document_index}"
        if citation.page is not None:
            name = f"{name or 'document'}, page {citation.page}"
        heading = " — ".join(part for part in (name, citation.url) if part) or "an unnamed source"
        quotes = found.setdefault(heading, [])
        if citation.cited_text:
            quote = " ".join(citation.cited_text.split())
            if len(quote) > QUOTE_LENGTH:
                quote = quote[: QUOTE_LENGTH - 1].rstrip() + "…"
            quote = f"“{quote}”"
            if quote not in quotes:
                quotes.append(quote)
    return list(found.items())


def sources_text(citations: Sequence[Citation]) -> str:
    """``--cite``: the numbered sources, each quote indented under its source."""
    if not citations:
        return "codey: the answer cites no sources\n"
    return "".join(
        f"[{number}] {heading}\n" + "".join(f"    {quote}\n" for quote in quotes)
        for number, (heading, quotes) in enumerate(sources(citations), 1)
    )


def source_notes(citations: Sequence[Citation]) -> list[str]:
    """The numbered sources as chat-log notes (dropped by the parser: never sent back)."""
    from codey._chatlog import note

    return [
        note(f"[{number}] {line}")
        for number, (heading, quotes) in enumerate(sources(citations), 1)
        for line in (heading, *quotes)
    ]


def closing_notes(notes: Sequence[str], settings: ChatSettings) -> str:
    """Notes for the reader after an answer (a blank line before them, one a line),
    then the user delimiter."""
    separator = "" if settings.delimiter_prefix.startswith("\n") else "\n"
    return "\n\n" + "\n".join(notes) + separator + settings.delimiter("user")


def other_model(stream: Stream) -> Optional[str]:
    """The model that answered, when the server says it is not the one asked for."""
    from codey._models import same_model

    served = stream.served_model
    if served is None or same_model(stream.model, served, stream.provider):
        return None
    return served


def usage_line(label: str, usage: Optional[Usage]) -> str:
    if usage is None:
        return f"codey: {label}: the provider reported no token usage\n"

    def count(value: Optional[int], noun: str) -> str:
        return f"{'?' if value is None else value} {noun}{'' if value == 1 else 's'}"

    # Reasoning tokens are among the output tokens: said only when some were spent.
    reasoning = f" ({usage.reasoning_tokens} reasoning)" if usage.reasoning_tokens else ""
    cached = ""
    if usage.cache_read_tokens is not None:
        cached += f", {usage.cache_read_tokens} read from the cache"
    if usage.cache_write_tokens is not None:
        cached += f", {usage.cache_write_tokens} written to the cache"
    return (
        f"codey: {label}: {count(usage.input_tokens, 'input token')}, "
        f"{count(usage.output_tokens, 'output token')}{reasoning}{cached}\n"
    )


def api_name(api: str) -> str:
    """``Stream.api`` in words: ``Chat Completions``, ``the Responses API``..."""
    from codey import _providers

    wire = getattr(_providers.WIRE_FORMATS.get(api), "wire_name", "") or api
    return wire if api == "chat" else f"the {wire} API"


def stats_line(label: str, stream: Stream) -> str:
    timings = stream.timings

    def seconds(value: Optional[float]) -> str:
        return "-" if value is None else f"{value:.3f} s"

    retries = "1 retry" if timings.retries == 1 else f"{timings.retries} retries"
    return (
        f"codey: {label}: over {api_name(stream.api)}, "
        f"{seconds(timings.to_headers)} to headers, "
        f"{seconds(timings.to_first_text)} to first text, "
        f"longest gap {seconds(timings.longest_gap)}, {seconds(timings.total)} in all, "
        f"{retries} ({seconds(timings.retry_wait)} waiting)\n"
    )


def extras(show: Show, label: str, stream: Stream) -> str:
    """What stderr says after an answer: that another model answered, that it was
    cut short, and the ``--usage`` (the served model's) and ``--stats`` lines asked for."""
    lines = ""
    served = other_model(stream)
    if served is not None:
        # A swap looks like success: another model's answer, at another price.
        lines += (
            f"codey: {stream.model} was answered by {served} (the server says so: the "
            f"answer and its price are {served}'s)\n"
        )
    note = cut_note(stream.finish_reason)
    if note is not None:
        # An answer the provider ended at the limit is whole to it, so this is no error.
        full = stream.finish_reason == "model_context_window_exceeded"
        advice = "shorten the conversation" if full else "raise --max-tokens"
        lines += f"codey: {label}: {note}; {advice}\n"
    elif stream.finish_reason == "refusal":
        # Anthropic's classifiers stopped the answer: what came is no answer.
        lines += f"codey: {label}: the model refused to answer (finish reason: refusal)\n"
    if show.usage:
        lines += usage_line(served or label, stream.usage)  # who answered, at whose price
    if show.stats:
        lines += stats_line(label, stream)
    if show.cite:
        lines += sources_text(stream.citations)
    return lines


def report_extras(show: Show, terminal: Terminal, label: str, stream: Stream) -> None:
    lines = extras(show, label, stream)
    if lines:
        try:
            terminal.err.write(lines)
            terminal.err.flush()
        except (OSError, ValueError):
            pass
