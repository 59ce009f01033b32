"""The event-stream loop: sseclient-py parses the body, the provider's parser reads the events."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sseclient import SSEClient

from codey._errors import IncompleteStreamError, StreamError
from codey._transport._body import Body

if TYPE_CHECKING:
    import requests

    from codey._channel import Channel
    from codey._transport._plan import Plan


def read_events(channel: Channel, plan: Plan, response: requests.Response) -> bool:
    """Put the answer's events on ``channel.queue``, one list per read, until the end;
    whether the body was read to its end (so that its connection may serve again)."""
    parser = plan.provider.new_parser(plan.request)
    body = Body(channel, plan, response, parser)
    feed = parser.feed
    try:
        try:
            for event in SSEClient(iter(body)).events():
                feed(event.event, event.data, body.out)
                if parser.done:
                    break
        except UnicodeDecodeError:
            # sseclient-py decodes each event as UTF-8; anything else is malformed data.
            raise StreamError(
                f"{plan.provider.name} sent an event that is not UTF-8",
                provider=plan.provider.name,
            ) from None
        except StreamError as exc:
            # A body cut short (even mid-event) is incomplete, not malformed...
            if not isinstance(exc, IncompleteStreamError):
                if exc.error_type or not body.ended_mid_event():
                    raise
                exc = IncompleteStreamError(
                    f"{plan.provider.name} closed the connection in the middle of an event",
                    provider=plan.provider.name,
                )
            # ...unless a finish_reason arrived: then any end of the body completes it.
            if not parser.complete_at_eof:
                raise exc from None
    finally:
        channel.saw_text = channel.saw_text or parser.saw_text
        body.flush()
    if channel.cancelled.is_set():
        return False
    if parser.done:
        return body.finish(response)
    if parser.complete_at_eof:
        return body.wire.complete
    raise IncompleteStreamError(
        f"{plan.provider.name} closed the connection before the end of the answer",
        provider=plan.provider.name,
    )
