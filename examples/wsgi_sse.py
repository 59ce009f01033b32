"""Stream a codey answer to the browser as server-sent events, from plain WSGI.

No asyncio, no framework: any WSGI server works (wsgiref, gunicorn with sync or
gevent workers, uWSGI, mod_wsgi). Run it with::

    export OPENAI_API_KEY=...   # or XAI_API_KEY / ANTHROPIC_API_KEY
    python examples/wsgi_sse.py --model gpt-4.1
    # then open http://127.0.0.1:8000/ and ask something

or, from the repository's top folder, under gunicorn (``app`` asks
``$CODEY_MODEL``, else codey's default model)::

    CODEY_MODEL=gpt-4.1 gunicorn --bind 127.0.0.1:8000 --workers 4 examples.wsgi_sse:app

When the browser goes away, the WSGI server closes the response iterable;
that closes the codey stream, which closes its connection to the provider at
once. (A server only notices a gone client when it next writes, so the upstream
is closed at the next chunk, or after at most ``chunk_timeout`` of silence.)
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Iterator
from typing import Any, Callable
from urllib.parse import parse_qs

import codey

PAGE = b"""<!doctype html>
<meta charset="utf-8">
<title>codey over server-sent events</title>
<form id="f">
  <input id="q" size="60" autofocus placeholder="Ask something"> <button>Ask</button>
</form>
<pre id="out" style="white-space: pre-wrap"></pre>
<script>
document.getElementById("f").onsubmit = (e) => {
  e.preventDefault();
  const out = document.getElementById("out");
  out.textContent = "";
  const q = encodeURIComponent(document.getElementById("q").value);
  const source = new EventSource("/stream?q=" + q);
  source.onmessage = (m) => { out.textContent += JSON.parse(m.data); };
  source.addEventListener("done", () => source.close());
  source.addEventListener("failed", (m) => {
    out.textContent += "\\n[" + m.data + "]";
    source.close();
  });
};
</script>
"""

StartResponse = Callable[..., Any]


def sse_events(stream: codey.Stream) -> Iterator[bytes]:
    """The stream as SSE frames; closing this generator closes the stream."""
    with stream:
        try:
            for chunk in stream:
                yield b"data: " + json.dumps(chunk).encode() + b"\n\n"
        except codey.CodeyError as exc:
            yield b"event: failed\ndata: " + json.dumps(str(exc)).encode() + b"\n\n"
            return
        yield b"event: done\ndata: {}\n\n"


def make_app(**stream_options: Any) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """A WSGI app; ``stream_options`` go to ``codey.stream`` (model, base_url, ...)."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path == "/":
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            return [PAGE]
        if path != "/stream":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        question = parse_qs(environ.get("QUERY_STRING", "")).get("q", [""])[0]
        if not question.strip():
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [b"ask something: /stream?q=...\n"]
        try:
            stream = codey.stream(question, **stream_options)
        except codey.CodeyError as exc:  # a missing key or an unknown model
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
            return [f"{exc}\n".encode()]
        start_response(
            "200 OK",
            [
                ("Content-Type", "text/event-stream"),
                ("Cache-Control", "no-cache"),
                ("X-Accel-Buffering", "no"),  # tell nginx not to buffer the stream
            ],
        )
        return sse_events(stream)

    return app


#: The app for a WSGI server (``gunicorn examples.wsgi_sse:app``). With no model
#: given, each request resolves it as codey.stream() does: ``CODEY_MODEL``, else
#: the config file's ``model``, else codey's default.
app = make_app()


def main() -> None:
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIServer, make_server

    class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    server = make_server(
        "127.0.0.1", args.port, make_app(model=args.model), server_class=ThreadingWSGIServer
    )
    print(f"Serving on http://127.0.0.1:{args.port}/")
    server.serve_forever()


if __name__ == "__main__":
    main()
