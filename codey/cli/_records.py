"""The ``--chunk`` and ``--events`` records: one JSON object a line, one shape per event
(documented in docs/cli.rst)."""

from __future__ import annotations

import json
from typing import Any, Optional

import attrs

from codey._types import (
    Citation,
    ReasoningDelta,
    ServerToolCall,
    TextDelta,
    ToolCallDelta,
    ToolResult,
    Usage,
)
from codey.cli._exit import describe, failure, status_of

__all__ = ["error_record", "event_record", "json_line", "tool_error"]

_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def json_line(record: dict[str, Any]) -> str:
    """A ``--chunk`` or ``--events`` line: compact JSON, non-ASCII kept as is."""
    return _encoder.encode(record) + "\n"


def error_record(
    exc: BaseException, partial_length: int, model: Optional[str] = None
) -> dict[str, Any]:
    """The final ``--events`` record of an answer that failed."""
    status = status_of(failure(exc))
    record: dict[str, Any] = {} if model is None else {"model": model}
    record.update(
        type="error",
        kind=status.kind,
        error=type(exc).__name__,
        message=describe(exc),
        exit_code=status.code,
        partial_text_length=partial_length,
    )
    return record


def event_record(event: object) -> Optional[dict[str, Any]]:
    """An event as an ``--events`` record (None for the final ``Finish``)."""
    record: dict[str, Any]
    if isinstance(event, TextDelta):
        return {"type": "text", "text": event.text}
    if isinstance(event, ReasoningDelta):
        return {"type": "reasoning", "text": event.text}
    if isinstance(event, ToolCallDelta):
        return {
            "type": "tool_call",
            "index": event.index,
            "id": event.id,
            "name": event.name,
            "arguments": event.arguments,
        }
    if isinstance(event, ServerToolCall):  # name, input, status, id, error
        return {"type": "server_tool_call", **attrs.asdict(event)}
    if isinstance(event, ToolResult):
        from codey._secrets import redact

        error = event.error
        record = {
            "type": "tool_result",
            "id": event.call.id,
            "name": event.call.name,
            "output": redact(event.output),  # a key, or an MCP server's env or header value
            "error": None if error is None else tool_error(error),
        }
        if event.attachments:  # what went back besides text: its type and size, not its bytes
            record["attachments"] = [
                {"mime": item.mime, "bytes": None if item.data is None else len(item.data)}
                if item.url is None
                else {"mime": item.mime, "url": redact(item.url)}
                for item in event.attachments
            ]
        return record
    if isinstance(event, Citation):
        return {"type": "citation", **event.to_dict()}
    if isinstance(event, Usage):
        record = {
            "type": "usage",
            "input_tokens": event.input_tokens,
            "output_tokens": event.output_tokens,
        }
        # only when reported
        for name in ("cache_read_tokens", "cache_write_tokens", "reasoning_tokens"):
            if getattr(event, name) is not None:
                record[name] = getattr(event, name)
        return record
    return None


def tool_error(error: BaseException) -> str:
    """``Type: message``, on one line, as the model was told (keys redacted)."""
    from codey._secrets import redact

    return redact(" ".join(f"{type(error).__name__}: {error}".split()))
