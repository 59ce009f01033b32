"""``python -m codey.testing serve``: a fake provider to try codey without a key,
every model answering with :func:`demo_reply`."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Optional

from codey.testing._common import _PROVIDERS
from codey.testing._replies import Reply, answer
from codey.testing._requests import RecordedRequest
from codey.testing._server import FakeProvider

if TYPE_CHECKING:
    import argparse

#: Seconds between two chunks of the demo answer, so that streaming shows.
_DEMO_DELAY = 0.05


def _user_text(request: RecordedRequest) -> str:
    """The text of the last user message of a Chat Completions, Messages or Responses
    request."""
    body = request.json if isinstance(request.json, dict) else {}
    messages = body.get("messages", body.get("input"))  # Responses: input items
    if isinstance(messages, str):  # Responses: the input as one user message
        return messages
    for message in reversed(messages if isinstance(messages, list) else []):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):  # content parts / blocks
            texts = [part.get("text") for part in content if isinstance(part, dict)]
            return " ".join(text for text in texts if isinstance(text, str))
        return ""
    return ""


def demo_reply(request: RecordedRequest, delay: float = _DEMO_DELAY) -> Reply:
    """The answer ``python -m codey.testing serve`` streams: the last user
    message echoed back a word at a time, ``delay`` seconds apart.

    Use it as a responder: ``fake.responder = demo_reply``.
    """
    said = " ".join(_user_text(request).split())
    text = f"You said: {said}" if said else "Hello from codey.testing."
    words = re.findall(r"\s*\S+", text)
    return answer(*words, usage=(len(said.split()), len(words)), write_delay=delay)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m codey.testing serve``: a fake provider to try codey without a key.

    It prints the ``export`` lines that point codey at it, then serves every
    model of every provider with :func:`demo_reply` until Ctrl-C or SIGTERM
    (exit status 0). ``python -m codey.testing run COMMAND [ARG...]`` runs one
    command with codey pointed at a fake provider that lives as long as the
    command, and exits with the command's status.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.delay < 0:
        parser.error("--delay must not be negative")
    if args.command == "run":
        if not args.argv:
            parser.error("run needs a command: python -m codey.testing run COMMAND [ARG...]")
        return _run(args.argv, args.delay)
    with _sigterm_as_ctrl_c():
        return _serve(args.host, args.port, args.delay)


def _parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m codey.testing",
        description="A fake LLM provider on this machine: try codey with no API key.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve = commands.add_parser(
        "serve",
        help="serve a demo answer to every request, until Ctrl-C",
        description="Serve OpenAI and xAI (Chat Completions and Responses) and Anthropic "
        "requests with a streamed demo answer "
        "(your last message, echoed back word by word) until Ctrl-C or SIGTERM.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="the address (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="the port (default: any free one)")
    run = commands.add_parser(
        "run",
        help="run one command with codey pointed at a fake provider",
        description="Run COMMAND with every provider's base URL and key pointing at a fake "
        "provider that answers with your own words, for as long as the command runs; "
        "exit with its status. A pipeline: python -m codey.testing run sh -c '...'.",
    )
    run.add_argument("argv", nargs=argparse.REMAINDER, metavar="COMMAND [ARG...]")
    for command in (serve, run):
        command.add_argument(
            "--delay",
            type=float,
            default=_DEMO_DELAY,
            help=f"seconds between chunks of the answer (default: {_DEMO_DELAY})",
        )
    return parser


def _run(argv: Sequence[str], delay: float) -> int:
    """Run ``argv`` with codey pointed at a fake provider; its exit status
    (128 + the signal's number when a signal ended it, as a shell says)."""
    import os
    import subprocess
    import sys

    with FakeProvider() as fake:
        fake.responder = lambda request: demo_reply(request, delay)
        try:
            status = subprocess.call(list(argv), env={**os.environ, **fake.env()})
        except OSError as exc:
            print(f"codey.testing: error: cannot run {argv[0]}: {exc}", file=sys.stderr)
            return 127
        except KeyboardInterrupt:
            return 130
    return 128 - status if status < 0 else status


@contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    """SIGTERM ends it as quietly as Ctrl-C (signals can be set only in the main thread)."""
    import signal

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, interrupt) if main_thread else None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _serve(host: str, port: int, delay: float) -> int:
    """Serve :func:`demo_reply` on ``host:port`` until Ctrl-C: exit status 0, or 1
    when it cannot listen there."""
    import sys

    try:
        fake = FakeProvider(host, port)
    except OSError as exc:
        where = f"{host}:{port}"
        print(f"codey.testing: error: cannot listen on {where}: {exc}", file=sys.stderr)
        return 1
    try:
        fake.responder = lambda request: demo_reply(request, delay)
        _announce(fake)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        try:
            fake.close()
        except KeyboardInterrupt:  # a second Ctrl-C: the daemon threads die with us
            pass


def _announce(fake: FakeProvider) -> None:
    """Print where the fake provider is and the lines that point codey at it."""
    import shlex

    env = fake.env()
    lines = [
        f"codey.testing: a fake provider at {fake.url}; every model answers with your own "
        "words, no API key needed.",
        "Paste these lines into another shell:",
        "",
    ]
    for provider in _PROVIDERS:
        names = (f"{provider.upper()}_BASE_URL", f"{provider.upper()}_API_KEY")
        lines.append("export " + " ".join(f"{name}={shlex.quote(env[name])}" for name in names))
    lines += ['codey prompt "hello" --model gpt-4.1', "", "Ctrl-C stops it."]
    print("\n".join(lines), flush=True)
