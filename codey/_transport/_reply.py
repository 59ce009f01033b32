"""A 200 that is not an event stream: a whole JSON reply is the answer; else say what came."""

from __future__ import annotations

import json
from time import monotonic
from typing import TYPE_CHECKING, Any

from codey._errors import StreamError
from codey._transport._failures import BODY, foreign_errors, page_title

if TYPE_CHECKING:
    import requests

    from codey._channel import Channel
    from codey._transport._plan import Plan

#: The most of a non-streamed (JSON) reply read: an answer, a batch API's object.
WHOLE_REPLY_LIMIT = 16 * 1024 * 1024


def read_whole_reply(channel: Channel, plan: Plan, response: requests.Response, mime: str) -> None:
    """Put the events of a whole reply on ``channel.queue``, or raise what it says instead."""
    with foreign_errors(plan, BODY, channel=channel):
        raw = response.raw.read(WHOLE_REPLY_LIMIT + 1, decode_content=True) or b""
    channel.last_read = monotonic()
    text = raw[:WHOLE_REPLY_LIMIT].decode("utf-8", "replace")
    body: Any = None
    if mime == "application/json" or mime.endswith("+json"):
        try:
            body = json.loads(text)
        except ValueError:
            body = None
    events = plan.provider.complete_reply(body, plan.request) if body is not None else None
    if events is None or len(raw) > WHOLE_REPLY_LIMIT:
        raise _not_an_answer(plan, body, text, mime)
    saw_text = any(piece.__class__ is str for piece in events)
    channel.saw_text = channel.saw_text or saw_text
    if saw_text:
        channel.t_first_text = channel.last_read
    channel.queue.put(events)


def _not_an_answer(plan: Plan, body: Any, text: str, mime: str) -> StreamError:
    name = plan.provider.name
    if isinstance(body, dict) and body.get("error"):
        message, error_type = plan.provider.error_details(body)
        return StreamError(
            message or f"{name} sent an error: {text[:200]}", provider=name, error_type=error_type
        )
    title = page_title(text)
    if title:
        shown = title
        hint = " (a captive portal or a proxy's page?)"
    else:
        shown = repr(" ".join(text.split())[:200]) if text.strip() else "an empty body"
        hint = ""
    return StreamError(
        f"{name} answered with {mime}, not an event stream{hint}: {shown}", provider=name
    )
