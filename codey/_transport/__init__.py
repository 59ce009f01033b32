"""HTTP for codey: the only package that imports requests, urllib3 and sseclient-py.

``produce`` runs in a stream's worker thread. It posts the request with
``stream=True``, retries what may be retried, and feeds sseclient-py a byte
iterator that yields whatever one read returned, so no event waits for the
next. Each read's events travel to the caller as one list on the queue.

One idea a module:

- ``_plan``: what the worker needs for one stream;
- ``_connection``: the shared session, and a way for each stream to cut its socket;
- ``_produce``: fallbacks, retries, and one attempt;
- ``_retries``: the one retry loop, a stream's and a plain call's;
- ``_failures``: foreign exceptions and HTTP statuses become codey errors, there only;
- ``_chunked``: chunked transfer decoding;
- ``_body``: the body as bytes, read by read, for sseclient-py;
- ``_events``: the event-stream loop;
- ``_reply``: a 200 that is not an event stream;
- ``_calls``: plain calls with a whole answer (a provider batch's uploads and polls).
"""

from codey._transport._calls import call
from codey._transport._connection import default_session
from codey._transport._plan import Plan
from codey._transport._produce import produce

__all__ = ["Plan", "call", "default_session", "produce"]
