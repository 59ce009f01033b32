"""``Plan``: everything the worker needs for one stream (the key only inside ``request``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    import requests

    from codey._providers._base import HTTPRequest, Provider


class Plan:
    """One model to ask: the request, its retries and timeouts, the session."""

    __slots__ = (
        "chunk_timeout",
        "connect_timeout",
        "model",
        "provider",
        "request",
        "retries",
        "session",
    )

    def __init__(
        self,
        *,
        provider: Provider,
        model: str,
        request: HTTPRequest,
        retries: int,
        connect_timeout: Optional[float],
        chunk_timeout: Optional[float],
        session: Optional[requests.Session],
    ) -> None:
        self.provider = provider
        self.model = model
        self.request = request
        self.retries = retries
        self.connect_timeout = connect_timeout
        self.chunk_timeout = chunk_timeout
        self.session = session

    def __repr__(self) -> str:
        return f"<Plan {self.provider.name} {self.request.url}>"
