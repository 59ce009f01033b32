"""Soak: many streams, many at a time, against a fake provider that misbehaves at random.

``python -m benchmarks.soak --streams 1000 --parallel 20 [--seed N]``

Each stream gets a random script from :class:`codey.testing.FakeProvider`:
a random wire format (openai, xai, anthropic), body framing, line ending,
gzip, byte order mark, write splitting and trickling, and one fault: a reset
or a close mid-answer, a stall (with a small ``chunk_timeout``), an error
event, 429s with ``Retry-After: 0``, an HTML 502, a reset before any text, a
pause shorter than the chunk timeout... Every stream must either deliver
exactly the scripted pieces (one chunk per piece, in order) or raise a
``codey.CodeyError`` whose ``.partial_text`` is what the caller was given, an
exact prefix of the script; where the contract says which (a 429 then an
answer must succeed, a stall must time out), the outcome is checked too.
At the end no ``codey-*`` thread may be left and no file descriptor.

Prints ``N passed, M failed``; exits 1 if anything failed or leaked.
"""

from __future__ import annotations

import argparse
import collections
import gc
import os
import random
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional

if __package__ in (None, ""):  # python benchmarks/soak.py
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.clients import close_idle_pools

MODELS = {"openai": "gpt-4.1", "xai": "grok-4.3", "anthropic": "claude-sonnet-4-6"}
WORDS = (
    "Hello",
    " world",
    ",",
    " wörld",
    " ünïcödé",
    " 日本語",
    " 🎉",
    "\n",
    " line",
    ' "quoted"',
    " back\\slash",
    "\ttab",
    " data: not an event",
    " event: neither",
    "\n\n",
    " ok",
    "!",
)
#: Faults, and how a stream that meets one must end: "full" text, an "error"
#: after exactly the pieces sent, an error after at most those ("error<="),
#: or a chunk "timeout".
FAULTS = {
    "none": "full",
    "split": "full",
    "trickle": "full",
    "pause": "full",
    "429": "full",
    "html-502": "full",
    "error-before-text": "full",
    "reset-before-text": "full",
    "close-mid": "error",
    "reset-mid": "error<=",
    "error-mid": "error",
    "stall-mid": "timeout",
    "stall-before-text": "timeout",
}
STALL_TIMEOUT = 0.3


class Case:
    """One stream's script and what must come of it."""

    def __init__(
        self,
        index: int,
        provider: str,
        fault: str,
        pieces: list[str],
        replies: list[Any],
        sent: int,
        chunk_timeout: float,
    ) -> None:
        self.index = index
        self.provider = provider
        self.fault = fault
        self.pieces = pieces
        self.replies = replies
        #: How many pieces the final reply sends before its fault.
        self.sent = sent
        self.chunk_timeout = chunk_timeout
        self.options: dict[str, Any] = {}

    @property
    def prompt(self) -> str:
        return f"soak stream {self.index}"

    def describe(self) -> str:
        return f"#{self.index} {self.provider} {self.fault} {self.options}"


def make_case(index: int, rng: random.Random) -> Case:
    from codey.testing import (
        Close,
        Done,
        ErrorEvent,
        Finish,
        Pause,
        Reset,
        Stall,
        Text,
        UsageStep,
        answer,
        error,
        events,
    )

    provider = rng.choice(sorted(MODELS))
    fault = rng.choice(sorted(FAULTS))
    count = rng.randint(1, 8) if fault == "trickle" else rng.randint(1, 40)
    pieces = [rng.choice(WORDS) for _ in range(count)]
    # With Content-Length, a stall after the counted bytes is a complete body, not a stall.
    framings = ("chunked", "close") if fault.startswith("stall") else ("chunked", "close", "length")
    options: dict[str, Any] = {
        "framing": rng.choice(framings),
        "line_ending": rng.choice(("\n", "\n", "\r\n", "\r")),
    }
    if rng.random() < 0.2:
        options["gzip"] = True
    if rng.random() < 0.1:
        options["bom"] = True
    if fault == "split" or rng.random() < 0.2:
        options["split"] = rng.randint(1, 64)
    if fault == "trickle":
        options["split"] = rng.randint(1, 3)
        options["write_delay"] = rng.uniform(0.0005, 0.002)
    texts = [Text(piece) for piece in pieces]
    sent = len(pieces)
    chunk_timeout = 5.0
    replies: list[Any] = []
    if fault == "429":
        replies += [error(429, "slow down", retry_after=0)] * rng.randint(1, 2)
    elif fault == "html-502":
        replies.append(error(502, html=True))
    elif fault == "error-before-text":
        replies.append(events(ErrorEvent("overloaded_error", "Overloaded"), **options))
    elif fault == "reset-before-text":
        replies.append(events(Reset(), **options))
    if FAULTS[fault] == "full":
        if fault == "pause":
            steps: list[Any] = []
            for text in texts:
                steps.append(text)
                if rng.random() < 0.3:
                    steps.append(Pause(rng.uniform(0.01, 0.1)))
            chunk_timeout = STALL_TIMEOUT
            final = events(*steps, Finish(), UsageStep(), Done(), **options)
        else:
            final = answer(*pieces, **options)
    else:
        sent = 0 if fault == "stall-before-text" else rng.randint(1, len(pieces))
        ending: Any = {
            "close-mid": Close(),
            "reset-mid": Reset(),
            "error-mid": ErrorEvent("overloaded_error", "Overloaded"),
            "stall-mid": Stall(),
            "stall-before-text": Stall(),
        }[fault]
        if fault.startswith("stall"):
            chunk_timeout = STALL_TIMEOUT
        final = events(*texts[:sent], ending, **options)
    replies.append(final)
    case = Case(index, provider, fault, pieces, replies, sent, chunk_timeout)
    case.options = options
    return case


class Responder:
    """Serves each stream its own replies, by the prompt that names it."""

    def __init__(self, cases: Sequence[Case]) -> None:
        self.lock = threading.Lock()
        self.queues = {case.prompt: collections.deque(case.replies) for case in cases}

    def __call__(self, request: Any) -> Any:
        from codey.testing import error

        try:
            prompt = request.json["messages"][-1]["content"]
        except (TypeError, KeyError, IndexError):
            return error(400, "soak: no prompt")
        with self.lock:
            queue = self.queues.get(prompt)
            if queue:
                return queue.popleft()
        return error(500, f"soak: no more replies for {prompt!r}")


def run_case(case: Case, fake: Any) -> Optional[str]:
    """Run one stream; None if it kept the contract, else what went wrong."""
    import codey

    got: list[str] = []
    expected = "".join(case.pieces)
    stream = codey.stream(
        case.prompt,
        model=MODELS[case.provider],
        api_key="sk-soak",
        base_url=fake.base_url(case.provider),
        # Each provider's own Chat Completions or Messages stream, as soaked before
        # grok-4.3's default became the Responses API.
        api=None if case.provider == "anthropic" else "chat",
        chunk_timeout=case.chunk_timeout,
        # A stall before any text must be seen as soon as one after it: the models
        # here reason, whose default first_chunk_timeout is minutes.
        first_chunk_timeout=case.chunk_timeout,
        connect_timeout=5.0,
        retries=2,
    )
    outcome = FAULTS[case.fault]
    try:
        with stream:
            for piece in stream:
                got.append(piece)
    except codey.CodeyError as exc:
        partial = exc.partial_text
        if partial != "".join(got):
            return f"partial_text {partial!r} is not what was yielded {''.join(got)!r}"
        if not expected.startswith(partial):
            return f"partial_text {partial!r} is not a prefix of {expected!r}"
        if got != case.pieces[: len(got)]:
            return f"chunks {got!r} are not the scripted pieces {case.pieces!r}"
        if outcome == "full":
            return f"{type(exc).__name__}: {exc} (the script ends with the full answer)"
        if outcome == "error" and len(got) != case.sent:
            return f"{type(exc).__name__} after {len(got)} pieces, not {case.sent}"
        if outcome == "error<=" and len(got) > case.sent:
            return f"{len(got)} pieces yielded, only {case.sent} sent"
        if outcome == "timeout" and not isinstance(exc, codey.ChunkTimeoutError):
            return f"{type(exc).__name__}: {exc}, not a ChunkTimeoutError"
        if outcome == "timeout" and len(got) != case.sent:
            return f"ChunkTimeoutError after {len(got)} pieces, not {case.sent}"
        return None
    except Exception as exc:
        return f"not a codey error: {type(exc).__name__}: {exc}"
    if got != case.pieces:
        return f"delivered {''.join(got)!r} in {len(got)} chunks, expected {expected!r}"
    if stream.text != expected:
        return f".text is {stream.text!r}"
    if outcome != "full":
        return f"the stream ended cleanly, but the script ends with {case.fault}"
    return None


def open_fds() -> dict[int, str]:
    found = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            found[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            pass
    return found


def codey_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("codey-") and t.is_alive()]


def find_leaks(threads_before: set[threading.Thread], fds_before: dict[int, str]) -> list[str]:
    """Codey threads still running, then descriptors left open (idle pooled ones aside)."""
    leaks: list[str] = []
    deadline = time.monotonic() + 2.0
    while codey_threads() and time.monotonic() < deadline:
        time.sleep(0.01)
    left = [t.name for t in codey_threads() if t not in threads_before]
    if left:
        leaks.append(f"{len(left)} codey threads still running: {left[:5]}")
    gc.collect()
    extra = {fd: what for fd, what in open_fds().items() if fds_before.get(fd) != what}
    if extra:
        pooled = close_idle_pools()  # idle pooled connections are not leaks
        if pooled:
            extra = {fd: what for fd, what in open_fds().items() if fds_before.get(fd) != what}
            print(f"({pooled} idle pooled connections closed before the count)")
    if extra:
        leaks.append(f"{len(extra)} file descriptors left open: {sorted(extra.values())[:5]}")
    return leaks


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.soak",
        description="Many streams against a fake provider with random faults.",
    )
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=20)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--verbose", action="store_true", help="print every failure")
    args = parser.parse_args(argv)

    import codey
    import codey._api
    from codey.testing import FakeProvider

    rng = random.Random(args.seed)
    cases = [make_case(i, rng) for i in range(args.streams)]
    print(
        f"soak: {args.streams} streams, {args.parallel} at a time, seed {args.seed} "
        f"(codey {codey.__version__})",
        flush=True,
    )
    gc.collect()
    fds_before = open_fds()
    threads_before = set(threading.enumerate())
    failures: list[tuple[Case, str]] = []
    tally: collections.Counter[tuple[str, str]] = collections.Counter()
    start = time.monotonic()
    fake = FakeProvider()
    fake.responder = Responder(cases)
    try:

        def one(case: Case) -> None:
            try:
                problem = run_case(case, fake)
            except Exception as exc:  # the harness itself must not hide anything
                problem = f"harness: {type(exc).__name__}: {exc}"
            tally[(case.fault, "ok" if problem is None else "FAILED")] += 1
            if problem is not None:
                failures.append((case, problem))

        with ThreadPoolExecutor(args.parallel, thread_name_prefix="soak") as pool:
            list(pool.map(one, cases))
    finally:
        fake.close()
    elapsed = time.monotonic() - start

    leaks = find_leaks(threads_before, fds_before)

    faults = sorted({fault for fault, _ in tally})
    print("\n| fault | streams | failed |\n|---|---|---|")
    for fault in faults:
        total = tally[(fault, "ok")] + tally[(fault, "FAILED")]
        print(f"| {fault} | {total} | {tally[(fault, 'FAILED')]} |")
    print()
    for case, problem in failures[: None if args.verbose else 20]:
        print(f"FAILED {case.describe()}: {problem}")
    if len(failures) > 20 and not args.verbose:
        print(f"... and {len(failures) - 20} more (--verbose)")
    for leak in leaks:
        print(f"LEAK: {leak}")
    passed = len(cases) - len(failures)
    print(
        f"{passed} passed, {len(failures)} failed in {elapsed:.1f} s" + (", LEAKS" if leaks else "")
    )
    return 1 if failures or leaks else 0


if __name__ == "__main__":
    sys.exit(main())
