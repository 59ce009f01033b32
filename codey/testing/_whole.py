"""Replies served whole, as a provider batch runs them and as the APIs answer a
request that asks for no stream: a reply's steps as one ``chat.completion``
object (OpenAI), one Message (Anthropic) or one ``response`` (the Responses
API), or the error (status and JSON body) it stands for.

A batched reply is read, not streamed: :class:`Text`, :class:`Reasoning`,
:class:`ToolCall` (pieces merged by ``index``), :class:`UsageStep` and
:class:`Finish` make the body; :class:`Ping`, :class:`Comment`, :class:`Pause`,
:class:`Done` and :class:`Raw` mean nothing here; a :class:`Stall`,
:class:`Close`, :class:`Reset` or :class:`ErrorEvent` makes the item a 500
(``server_error`` / ``api_error``), since a batch has no stream to break.
"""

from __future__ import annotations

import json as _json
import os
import time
from collections.abc import Sequence
from typing import Any, Optional

import attrs

from codey.testing._chat import chat_usage
from codey.testing._cites import anthropic_citation, chat_annotations
from codey.testing._common import _dumps, _phrase
from codey.testing._messages import as_forced_tool
from codey.testing._render import _CONTROLS, _wire_format
from codey.testing._replies import Reply, _error_body
from codey.testing._responses import _ResponsesRenderer
from codey.testing._steps import (
    Close,
    ErrorEvent,
    Finish,
    Raw,
    Reasoning,
    RedactedThinking,
    Reset,
    Stall,
    Step,
    Text,
    ToolCall,
    UsageStep,
)

#: The signature of every thinking block (as the streamed format's signature_delta).
_SIGNATURE = "ZmFrZS1zaWduYXR1cmU="


def _hex(nbytes: int = 12) -> str:
    """A random lowercase hex string, for object ids."""
    return os.urandom(nbytes).hex()


@attrs.frozen
class _Outcome:
    """What one batched request came to.

    ``kind`` is ``"succeeded"`` (a 2xx: ``body`` is the whole response object),
    ``"errored"`` (``status`` and the provider's JSON error ``body``) or
    ``"expired"`` (never run).
    """

    kind: str
    status: int = 200
    body: Any = None


def _outcome(
    reply: Reply, provider: str, model: str, wire_format: str = "", request: Any = None
) -> _Outcome:
    """The outcome of ``reply`` served whole to a ``provider`` request for ``model``,
    in ``wire_format`` (by default the provider's own; see ``_render._plan``, as
    for ``request``, the request's JSON body)."""
    if reply.expired:
        return _Outcome("expired", 0)
    for step in reply.steps:
        if isinstance(step, (Stall, Close, Reset, ErrorEvent)):
            if isinstance(step, ErrorEvent):
                message = step.message
            else:
                message = f"the reply broke off ({type(step).__name__})"
            return _Outcome("errored", 500, _error_json(500, message, provider))
    raw = _body_bytes(reply, provider)
    parsed = _json_object(raw)
    if not 200 <= reply.status < 300:
        if parsed is None or "error" not in parsed:
            # Not the provider's own error body (an HTML page, say): say so in one.
            parsed = _error_json(reply.status, _phrase(reply.status), provider)
        return _Outcome("errored", reply.status, parsed)
    if parsed is not None:
        return _Outcome("succeeded", reply.status, parsed)  # a scripted whole body, as is
    wire_format = _wire_format(provider, wire_format)
    if wire_format == "messages":
        return _Outcome(
            "succeeded", reply.status, _message(as_forced_tool(reply.steps, request), model)
        )
    if wire_format == "responses":
        return _Outcome("succeeded", reply.status, _response(reply.steps, model))
    return _Outcome("succeeded", reply.status, _chat_completion(reply.steps, model))


def _whole_reply(reply: Reply, provider: str, model: str, wire_format: str, request: Any) -> Reply:
    """``reply`` to a request that asks for no stream, as the APIs answer one: the
    whole object (see ``_outcome``) as one JSON body, sent once the script has run
    (its pauses and stalls delay it; a ``Close`` or ``Reset`` ends the connection
    without it). A reply with a ``body`` or :class:`Raw` steps, or an error status,
    is served as scripted."""
    scripted = any(isinstance(step, Raw) for step in reply.steps)
    if reply.body is not None or scripted or not 200 <= reply.status < 300:
        return reply
    controls = [step for step in reply.steps if isinstance(step, _CONTROLS)]
    content = [step for step in reply.steps if not isinstance(step, _CONTROLS)]
    outcome = _outcome(reply.evolve(steps=content), provider, model, wire_format, request)
    return reply.evolve(
        status=outcome.status,
        steps=[*controls, Raw(_dumps(outcome.body))],
        content_type=reply.content_type or "application/json",
    )


def _body_bytes(reply: Reply, provider: str) -> bytes:
    if reply.body is None:
        return b""
    return reply.body if isinstance(reply.body, bytes) else reply.body(provider)


def _json_object(raw: bytes) -> Optional[dict[str, Any]]:
    """``raw`` parsed, if it is a JSON object."""
    try:
        value = _json.loads(raw) if raw.strip() else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _error_json(status: int, message: str, provider: str) -> dict[str, Any]:
    value = _json.loads(_error_body(status, message, None, provider))
    assert isinstance(value, dict)
    return value


# -- the pieces of a reply's script


def _usage(steps: Sequence[Step]) -> UsageStep:
    """The script's first :class:`UsageStep`, else 10 in and one token per :class:`Text`."""
    for step in steps:
        if isinstance(step, UsageStep):
            return step
    return UsageStep(10, sum(isinstance(step, Text) for step in steps))


def _finish_reason(steps: Sequence[Step]) -> Optional[str]:
    """The reason of the script's last :class:`Finish` that names one."""
    reasons = [step.reason for step in steps if isinstance(step, Finish) and step.reason]
    return reasons[-1] if reasons else None


def _tool_calls(steps: Sequence[Step]) -> list[tuple[ToolCall, str]]:
    """Each tool call (its first step) and its whole arguments, in order of ``index``
    first seen: the pieces of one ``index`` are merged."""
    calls: dict[int, tuple[ToolCall, list[str]]] = {}
    for step in steps:
        if isinstance(step, ToolCall):
            calls.setdefault(step.index, (step, []))[1].extend(step.arguments)
    return [(first, "".join(pieces)) for first, pieces in calls.values()]


# -- OpenAI


def _chat_completion(steps: Sequence[Step], model: str) -> dict[str, Any]:
    """A whole ``chat.completion`` object: joined text, merged tool calls, usage."""
    texts = [step.text for step in steps if isinstance(step, Text)]
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) if texts else None,
        "refusal": None,
    }
    annotations, length = [], 0
    for step in steps:
        if isinstance(step, Text):
            annotations += chat_annotations(step.citations, length, length + len(step.text))
            length += len(step.text)
    if annotations:
        message["annotations"] = annotations
    calls = _tool_calls(steps)
    if calls:
        message["tool_calls"] = [
            {
                "id": first.id or f"call_fake_{first.index}",
                "type": "function",
                "function": {"name": first.name, "arguments": arguments},
            }
            for first, arguments in calls
        ]
    usage = chat_usage(_usage(steps))
    choice = {
        "index": 0,
        "message": message,
        "logprobs": None,
        "finish_reason": _finish_reason(steps) or ("tool_calls" if calls else "stop"),
    }
    return {
        "id": f"chatcmpl-{_hex()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
        "usage": usage,
        "system_fingerprint": None,
    }


# -- Anthropic


def _message(steps: Sequence[Step], model: str) -> dict[str, Any]:
    """A whole Message: text, thinking and ``tool_use`` blocks in script order
    (consecutive text or reasoning merged, tool call pieces merged by ``index``)."""
    blocks: list[dict[str, Any]] = []
    tools: dict[int, tuple[dict[str, Any], list[str]]] = {}
    for step in steps:
        last = blocks[-1] if blocks else None
        if isinstance(step, Text):
            if step.citations:  # a block of its own, as in a stream
                citations = [anthropic_citation(source) for source in step.citations]
                blocks.append({"type": "text", "text": step.text, "citations": citations})
            elif last is not None and last["type"] == "text" and "citations" not in last:
                last["text"] += step.text
            else:
                blocks.append({"type": "text", "text": step.text})
        elif isinstance(step, Reasoning):
            if last is not None and last["type"] == "thinking":
                last["thinking"] += step.text
            else:
                blocks.append({"type": "thinking", "thinking": step.text, "signature": _SIGNATURE})
        elif isinstance(step, RedactedThinking):
            blocks.append({"type": "redacted_thinking", "data": step.data})
        elif isinstance(step, ToolCall):
            if step.index not in tools:
                block = {
                    "type": "tool_use",
                    "id": step.id or f"toolu_fake_{step.index}",
                    "name": step.name,
                    "input": {},
                }
                tools[step.index] = (block, [])
                blocks.append(block)
            tools[step.index][1].extend(step.arguments)
    for block, pieces in tools.values():
        block["input"] = _tool_input("".join(pieces))
    usage = _usage(steps)
    return {
        "id": f"msg_{_hex()}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": blocks,
        "stop_reason": _finish_reason(steps) or ("tool_use" if tools else "end_turn"),
        "stop_sequence": None,
        "usage": {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cache_creation_input_tokens": usage.cache_write_tokens,
            "cache_read_input_tokens": usage.cache_read_tokens,
        },
    }


# -- the Responses API


def _response(steps: Sequence[Step], model: str) -> dict[str, Any]:
    """A whole ``response`` object, as the streamed format's terminal event gives it."""
    renderer = _ResponsesRenderer(model, "\n", steps)
    for step in steps:
        if isinstance(step, (Text, Reasoning, ToolCall, Finish)):
            renderer.render(step)
    renderer.close_item()
    return renderer.final()


def _tool_input(arguments: str) -> Any:
    """The parsed arguments (``{}`` for none); arguments that are not JSON stay a
    string, so that a test can script a malformed ``input``."""
    if not arguments.strip():
        return {}
    try:
        return _json.loads(arguments)
    except ValueError:
        return arguments
