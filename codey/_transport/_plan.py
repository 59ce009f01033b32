"""``Plan``: everything the worker needs for one stream (the key only inside ``request``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import attrs

if TYPE_CHECKING:
    import requests

    from codey._providers._base import HTTPRequest, Provider


@attrs.frozen(kw_only=True, repr=False, eq=False)
class Plan:
    """One model to ask: the request, its retries and timeouts, the session."""

    provider: Provider
    model: str
    request: HTTPRequest
    retries: int
    connect_timeout: Optional[float]
    chunk_timeout: Optional[float]
    session: Optional[requests.Session]
    #: The longest silence before the first content (text, reasoning, a tool call).
    first_chunk_timeout: Optional[float] = attrs.field(
        default=attrs.Factory(lambda plan: plan.chunk_timeout, takes_self=True)
    )

    def __repr__(self) -> str:
        return f"<Plan {self.provider.name} {self.request.url}>"
