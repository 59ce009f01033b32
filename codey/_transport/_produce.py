"""The producer: fallbacks, retries, and one attempt, run in a stream's worker thread."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from time import monotonic
from typing import TYPE_CHECKING, Optional

from codey._errors import CodeyError
from codey._secrets import Redacted
from codey._transport._connection import (
    bind,
    closer,
    default_session,
    keep_connection,
    socket_of,
)
from codey._transport._events import read_events
from codey._transport._failures import REQUEST, connect_timeout, foreign_errors, status_error
from codey._transport._reply import read_whole_reply
from codey._transport._retries import with_retries

if TYPE_CHECKING:
    from codey._channel import Channel
    from codey._transport._plan import Plan

log = logging.getLogger("codey")
log.addHandler(logging.NullHandler())


def produce(channel: Channel, plans: Sequence[Plan]) -> None:
    """Run the request, with retries then fallbacks, putting the answer on ``channel.queue``.

    The next plan (a fallback model) is tried only when one failed, after its
    retries, before any text arrived. If all fail, the last error is raised
    with ``.attempts``: the (model, error) of every plan tried.
    """
    bind(channel)
    attempts: list[tuple[str, CodeyError]] = []
    try:
        for index, plan in enumerate(plans):
            channel.current = index
            try:
                _with_retries(channel, plan)
                return
            except CodeyError as exc:
                if channel.cancelled.is_set():
                    return
                attempts.append((plan.model, exc))
                if channel.saw_text or index == len(plans) - 1:
                    if len(plans) > 1:
                        exc.attempts = attempts  # type: ignore[attr-defined]
                    raise
                log.debug(
                    "%s failed, falling back to %s: %s",
                    plan.model,
                    plans[index + 1].model,
                    Redacted(exc),
                )
                channel.restart(exc)
                channel.retries += 1
    finally:
        bind(None)


def _with_retries(channel: Channel, plan: Plan) -> None:
    # connect_timeout bounds the whole wait for the response, retries included.
    timeout = plan.connect_timeout
    connect_by = None if timeout is None else monotonic() + timeout

    def pause(delay: float, error: CodeyError) -> bool:
        channel.restart(error)  # the caller drops the failed attempt's pieces
        channel.begin_backoff(delay)
        return not channel.cancelled.wait(delay)

    with_retries(
        plan,
        lambda number: _attempt(channel, plan, connect_by, number),
        # Once text arrived, asking again would repeat it; once cancelled, produce() stops.
        may_retry=lambda _: not channel.saw_text and not channel.cancelled.is_set(),
        pause=pause,
        connect_by=connect_by,
    )


def _attempt(channel: Channel, plan: Plan, connect_by: Optional[float], number: int) -> None:
    attempt = channel.begin_attempt(connect_by)
    request = plan.request
    session = plan.session or default_session()
    timeout = None if connect_by is None else max(0.001, connect_by - monotonic())

    def aborted() -> bool:
        return channel.was_aborted(attempt)

    whole = False
    with foreign_errors(plan, REQUEST, attempts=number, aborted=aborted):
        response = session.post(
            request.url,
            data=request.body,
            headers=request.headers,
            stream=True,
            timeout=(timeout, timeout),
            # A redirect would carry x-api-key (or api-key) to wherever it points.
            allow_redirects=False,
        )
    try:
        channel.note_response(response.status_code, response.headers)
        sock = socket_of(response)
        if not channel.begin_streaming(attempt, closer(sock), plan.first_chunk_timeout):
            if channel.cancelled.is_set():
                return
            raise connect_timeout(plan, number)
        if response.status_code >= 300:
            raise status_error(response, plan)
        if sock is not None and plan.first_chunk_timeout != timeout:
            sock.settimeout(plan.first_chunk_timeout)  # until the first content (Body)
        mime = response.headers.get("content-type", "").partition(";")[0].strip().lower()
        if mime and mime != "text/event-stream":
            read_whole_reply(channel, plan, response, mime)  # urllib3 pools its connection
        else:
            whole = read_events(channel, plan, response)
    finally:
        channel.forget_closer()  # from now on, no close() from the caller can cut the socket
        if whole and not channel.cancelled.is_set():
            keep_connection(response)
        response.close()
