"""codey.stream against a real local server speaking each provider's wire format."""

from __future__ import annotations

import gc
import json
import logging
import pickle
import threading
import time

import pytest

import codey
from codey._providers._base import RequestSpec
from codey._providers.openai import OPENAI
from codey.testing import (
    Close,
    Comment,
    Done,
    ErrorEvent,
    FakeProvider,
    Finish,
    Pause,
    Ping,
    Raw,
    Reset,
    Stall,
    Text,
    ToolCall,
    UsageStep,
    answer,
    error,
    events,
    sse_bytes,
)
from tests.conftest import FAKE_KEY
from tests.helpers import (
    FAKE_ROUTES,
    MODELS,
    closed_port_url,
    codey_threads,
    kwargs_for,
    open_sockets,
    scripted_server,
    silent_server,
    sse_for,
    wait_until,
    wire_kwargs,
)

PROVIDERS = sorted(MODELS)


def run(fake: FakeProvider, provider: str, **extra: object) -> codey.Stream:
    return codey.stream("hi", **kwargs_for(fake, provider, **extra))


class TestHappyPath:
    @pytest.mark.parametrize("provider", PROVIDERS)
    def test_chunks_in_order_with_usage_and_finish(self, fake, provider):
        """Each text delta is one chunk, in order; usage and finish reason are kept."""
        fake.push(answer("Hel", "lo", " wörld 👋", usage=(12, 7)))
        with run(fake, provider) as stream:
            chunks = list(stream)
        assert chunks == ["Hel", "lo", " wörld 👋"]
        assert stream.text == "Hello wörld 👋"
        assert stream.usage is not None
        assert (stream.usage.input_tokens, stream.usage.output_tokens) == (12, 7)
        expected = "end_turn" if provider == "anthropic" else "stop"
        assert stream.finish_reason == expected
        assert (stream.provider, stream.api) == FAKE_ROUTES[provider]  # "openai", not -responses
        assert stream.model == MODELS[provider]

    @pytest.mark.parametrize("provider", ["openai", "xai"])
    def test_chat_completions_request(self, fake, provider):
        """Chat Completions requests ask for usage and carry the key as a bearer token."""
        fake.push(answer("ok"))
        text = codey.complete(
            "hi", **kwargs_for(fake, provider, system="be brief", max_tokens=50, temperature=0.5)
        )
        assert text == "ok"
        request = fake.requests[-1]
        assert request.provider == provider
        assert request.headers["authorization"] == f"Bearer {FAKE_KEY}"
        body = request.json
        assert body["stream"] is True
        assert body["stream_options"] == {"include_usage": True}
        assert body["messages"] == [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hi"},
        ]
        assert body["temperature"] == 0.5
        assert body["max_tokens"] == 50
        assert "max_completion_tokens" not in body

    def test_openai_at_a_compatible_server_gets_max_tokens(self, fake):
        """A server reached through OPENAI_BASE_URL (llama.cpp's ignores
        max_completion_tokens) gets max_tokens; OpenAI's own host, whose reasoning
        models reject max_tokens, gets max_completion_tokens; Azure keeps its own."""
        fake.push(answer("ok"))
        codey.complete("hi", **kwargs_for(fake, "openai", max_tokens=7))
        sent = fake.requests[-1].json
        assert (sent.get("max_tokens"), sent.get("max_completion_tokens")) == (7, None)
        spec = RequestSpec(model="o3", messages=(codey.Message("user", "hi"),), max_tokens=7)
        for base_url in ("https://api.openai.com/v1", "https://api.openai.com/v1/"):
            body = json.loads(OPENAI.build_request(spec, "k", base_url).body)
            assert (body.get("max_tokens"), body.get("max_completion_tokens")) == (None, 7)

    def test_anthropic_request(self, fake):
        """Anthropic gets system text at the top level, a default max_tokens and its headers."""
        fake.push(answer("ok"))
        conversation = [
            codey.Message("system", "one"),
            {"role": "user", "content": "q1"},
            codey.Message("assistant", "a1"),
            {"role": "user", "content": "q2"},
        ]
        text = codey.complete(conversation, **kwargs_for(fake, "anthropic", system="zero"))
        assert text == "ok"
        request = fake.requests[-1]
        assert request.headers["x-api-key"] == FAKE_KEY
        assert request.headers["anthropic-version"] == "2023-06-01"
        assert "authorization" not in request.headers
        body = request.json
        assert body["system"] == "zero\n\none"
        assert body["max_tokens"] == 4096
        assert body["messages"] == [
            {"role": "user", "content": "q1"},
            {"role": "assistant", "content": "a1"},
            {"role": "user", "content": "q2"},
        ]

    @pytest.mark.parametrize("provider", PROVIDERS)
    def test_reasoning_and_tool_calls_are_not_text(self, fake, provider):
        """Thinking, reasoning_content and tool-call deltas never reach the text."""
        fake.push(
            answer(
                "The answer",
                reasoning=("Let me think", " hard"),
                tool_calls=(ToolCall(0, "call_1", "lookup", ['{"q":', '"x"}']),),
                pings=True,
            )
        )
        with run(fake, provider) as stream:
            assert list(stream) == ["The answer"]

    def test_refusal_is_text(self, fake):
        """An OpenAI refusal delta is what the model said, so it is yielded."""
        role = {"choices": [{"index": 0, "delta": {"role": "assistant", "refusal": None}}]}
        refusal = {"choices": [{"index": 0, "delta": {"refusal": "I can't help with that."}}]}
        finish = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        body = b"".join(
            b"data: " + json.dumps(obj).encode() + b"\n\n" for obj in (role, refusal, finish)
        )
        fake.push(events(Raw(body + b"data: [DONE]\n\n")))
        assert codey.complete("hi", **kwargs_for(fake, "openai")) == "I can't help with that."

    @pytest.mark.parametrize("provider", PROVIDERS)
    def test_unknown_events_and_fields_are_ignored(self, fake, provider):
        """Unknown event types, id: and retry: fields and comments change nothing."""
        fake.push(
            events(
                Raw(b"id: 1\nretry: 1000\n: a comment\n"),
                Raw(b'event: surprise\ndata: {"type": "surprise"}\n\n'),
                Text("a"),
                Comment("keep-alive"),
                Ping(),
                Text("b"),
                Finish(None),
                Raw(b"event: brand_new\ndata: {}\n\n"),
                UsageStep(1, 2),
                Done(),
            )
        )
        assert codey.complete("hi", **kwargs_for(fake, provider)) == "ab"

    def test_iterating_again_yields_nothing(self, fake):
        """A finished stream yields nothing when iterated again."""
        fake.push(answer("a", "b"))
        stream = run(fake, "openai")
        assert list(stream) == ["a", "b"]
        assert list(stream) == []
        assert stream.text == "ab"

    def test_iter_hands_out_the_same_stream(self, fake):
        """iter(stream) continues where the last loop stopped only if it was not closed."""
        fake.push(answer("a", "b", "c"))
        stream = run(fake, "openai")
        iterator = iter(stream)
        assert next(iterator) == "a"
        assert next(iterator) == "b"
        iterator.close()  # leaving the loop closes the stream
        assert list(stream) == []
        assert stream.text == "ab"


class TestFraming:
    @pytest.mark.parametrize("provider", PROVIDERS)
    @pytest.mark.parametrize("framing", ["chunked", "close", "length"])
    @pytest.mark.parametrize("line_ending", ["\n", "\r\n", "\r"])
    def test_framings_and_line_endings(self, fake, provider, framing, line_ending):
        """Every HTTP framing and every SSE line ending gives the same text."""
        reply = answer("Grüße, ", "世界", "!", usage=(1, 2))
        fake.push(reply.evolve(framing=framing, line_ending=line_ending))
        assert codey.complete("hi", **kwargs_for(fake, provider)) == "Grüße, 世界!"

    @pytest.mark.parametrize("provider", PROVIDERS)
    @pytest.mark.parametrize("line_ending", ["\n", "\r\n", "\r"])
    def test_split_at_every_byte(self, fake, provider, line_ending):
        """Splits anywhere (inside UTF-8, inside CRLF, inside 'data:') lose nothing."""
        reply = answer("é", "😀x", "\r\n", usage=(1, 2)).evolve(line_ending=line_ending, split=1)
        fake.push(reply)
        assert codey.complete("hi", **kwargs_for(fake, provider)) == "é😀x\r\n"

    @pytest.mark.parametrize("split", [2, 3, 5, 7, 11, 64])
    def test_split_sizes(self, fake, split):
        """Every split size reassembles the same events."""
        fake.push(answer(*[f"w{i} " for i in range(30)]).evolve(split=split, line_ending="\r\n"))
        assert codey.complete("hi", **kwargs_for(fake, "anthropic")) == "".join(
            f"w{i} " for i in range(30)
        )

    @pytest.mark.parametrize("provider", PROVIDERS)
    @pytest.mark.parametrize("framing", ["chunked", "close"])
    def test_gzip(self, fake, provider, framing):
        """A gzip-encoded stream is decoded as it arrives."""
        fake.push(answer("zip", "ped").evolve(gzip=True, framing=framing))
        assert codey.complete("hi", **kwargs_for(fake, provider)) == "zipped"

    @pytest.mark.parametrize("provider", PROVIDERS)
    def test_bom(self, fake, provider):
        """A UTF-8 byte-order mark at the start is skipped, even split byte by byte."""
        fake.push(answer("a", "b").evolve(bom=True, split=1))
        assert codey.complete("hi", **kwargs_for(fake, provider)) == "ab"

    def test_one_megabyte_chunk(self, fake):
        """A 1 MB text delta arrives whole, as one chunk."""
        big = "x" * (1024 * 1024)
        fake.push(answer(big, "!"))
        with run(fake, "openai") as stream:
            assert [len(c) for c in stream] == [len(big), 1]

    def test_twenty_thousand_chunks(self, fake):
        """20,000 small chunks all arrive, in order."""
        words = [f"{i % 10}" for i in range(20000)]
        fake.push(answer(*words))
        with run(fake, "anthropic") as stream:
            assert list(stream) == words

    @pytest.mark.parametrize("framing", ["chunked", "close"])
    def test_no_event_is_held_back(self, fake, framing):
        """Each event reaches the caller while the server is still silent after it."""
        fake.push(events(Text("first"), Stall()).evolve(framing=framing))
        with run(fake, "openai", chunk_timeout=5.0) as stream:
            iterator = iter(stream)
            started = time.monotonic()
            assert next(iterator) == "first"
            assert time.monotonic() - started < 1.0


def _chunked(body: bytes, size: int) -> bytes:
    """``body`` in HTTP chunks of ``size`` bytes, with an extension and a trailer."""
    out = b""
    for i in range(0, len(body), size):
        piece = body[i : i + size]
        out += b"%x;ext=1\r\n%s\r\n" % (len(piece), piece)
    return out + b"0\r\nX-Trailer: yes\r\n\r\n"


_CHUNKED_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
)


class TestChunkedDecoding:
    """codey decodes chunked bodies itself: every framing byte may arrive alone."""

    @pytest.mark.parametrize("provider", PROVIDERS)
    @pytest.mark.parametrize("chunk_size", [1, 7, 4096])
    def test_framing_split_at_every_byte(self, provider, chunk_size):
        body = sse_for(answer("Grüße ", "世界", usage=(1, 2)), provider)
        wire = _CHUNKED_HEAD + _chunked(body, chunk_size)
        pieces = [wire[i : i + 1] for i in range(len(wire))] if chunk_size == 7 else [wire]
        with scripted_server(pieces, pause=0.0002) as url:
            stream = codey.stream(
                "hi",
                model=MODELS[provider],
                api_key=FAKE_KEY,
                base_url=url,
                chunk_timeout=5,
                **wire_kwargs(provider),
            )
            assert "".join(stream) == "Grüße 世界"
            assert stream.usage is not None
            assert (stream.usage.input_tokens, stream.usage.output_tokens) == (1, 2)

    @pytest.mark.parametrize("size_line", [b"zz\r\n", b"-5\r\n", b"5\r\nabcdeXY"])
    def test_broken_framing_is_incomplete_after_the_text(self, size_line):
        first = sse_bytes(answer("kept"), "anthropic").split(b"event: content_block_stop")[0]
        wire = _CHUNKED_HEAD + b"%x\r\n%s\r\n" % (len(first), first) + size_line
        with scripted_server([wire, b"junk" * 10]) as url:
            stream = codey.stream(
                "hi", model=MODELS["anthropic"], api_key=FAKE_KEY, base_url=url, chunk_timeout=5
            )
            with pytest.raises(codey.IncompleteStreamError) as info:
                list(stream)
        assert info.value.partial_text == "kept"

    @pytest.mark.parametrize("chunked", [True, False])
    def test_event_that_came_with_the_headers_is_not_held_back(self, chunked):
        """An event in the headers' packet reaches the caller while the server is silent."""
        event = sse_bytes(answer("first"), "openai").split(b"\n\n")[1] + b"\n\n"
        if chunked:
            wire = _CHUNKED_HEAD + b"%x\r\n%s\r\n" % (len(event), event)
        else:
            wire = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n" + event
        with scripted_server([wire, b""], pause=1.5) as url:
            stream = codey.stream(
                "hi", model=MODELS["openai"], api_key=FAKE_KEY, base_url=url, chunk_timeout=5
            )
            started = time.monotonic()
            assert next(iter(stream)) == "first"
            assert time.monotonic() - started < 1.0
            stream.close()

    def test_close_before_the_last_chunk_is_incomplete(self):
        body = sse_bytes(answer("cut"), "anthropic")
        wire = _CHUNKED_HEAD + _chunked(body, 5000)
        wire = wire[: wire.index(b"0\r\nX-Trailer")]  # no terminating chunk...
        body_without_stop = wire[: wire.index(b"event: message_stop")]  # ...nor message_stop
        with scripted_server([body_without_stop]) as url:
            stream = codey.stream(
                "hi", model=MODELS["anthropic"], api_key=FAKE_KEY, base_url=url, chunk_timeout=5
            )
            with pytest.raises(codey.IncompleteStreamError) as info:
                list(stream)
        assert info.value.partial_text == "cut"


class TestEndOfStream:
    @pytest.mark.parametrize("provider", PROVIDERS)
    def test_close_after_text_is_incomplete(self, fake, provider):
        """A close before the end marker raises IncompleteStreamError after the text."""
        fake.push(events(Text("par"), Text("tial"), Close()))
        got = []
        with pytest.raises(codey.IncompleteStreamError) as info:
            for chunk in run(fake, provider):
                got.append(chunk)
        assert got == ["par", "tial"]
        assert info.value.partial_text == "partial"
        assert len(fake.requests) == 1  # never retried after text

    @pytest.mark.parametrize("provider", PROVIDERS)
    def test_reset_after_text_is_incomplete(self, fake, provider):
        fake.push(events(Text("par"), Reset()))
        with pytest.raises(codey.IncompleteStreamError) as info:
            list(run(fake, provider))
        assert info.value.partial_text == "par"

    @pytest.mark.parametrize("framing", ["chunked", "close", "length"])
    def test_close_after_finish_reason_completes_chat(self, fake, framing):
        """Chat Completions: a clean end after a finish_reason is complete without [DONE]."""
        fake.push(events(Text("done"), Finish("stop")).evolve(framing=framing))
        with run(fake, "xai") as stream:
            assert list(stream) == ["done"]
        assert stream.finish_reason == "stop"

    @pytest.mark.parametrize("ending", [Close(), Reset(), Raw(b'data: {"choices": [], "us')])
    def test_any_end_after_finish_reason_completes_chat(self, fake, ending):
        """After a finish_reason, even a reset or a cut usage chunk completes the answer."""
        fake.push(events(Text("done"), Finish("length"), ending, Close()))
        with run(fake, "openai") as stream:
            assert list(stream) == ["done"]
        assert stream.finish_reason == "length"

    def test_messages_needs_message_stop(self, fake):
        """Messages: message_delta without message_stop is incomplete."""
        fake.push(events(Text("done"), Finish("end_turn"), Close()))
        with pytest.raises(codey.IncompleteStreamError):
            list(run(fake, "anthropic", retries=0))

    def test_cut_event_is_incomplete_not_malformed(self, fake):
        """A body cut in the middle of an event is incomplete, not malformed."""
        fake.push(events(Text("a"), Raw(b'data: {"choices": [{"delta": {"con'), Close()))
        with pytest.raises(codey.IncompleteStreamError) as info:
            list(run(fake, "openai"))
        assert info.value.partial_text == "a"

    @pytest.mark.parametrize("provider", PROVIDERS)
    def test_malformed_json_is_stream_error(self, fake, provider):
        """Malformed JSON is a StreamError, never a bare JSONDecodeError, after earlier text."""
        fake.push(events(Text("ok"), Raw(b"data: {not json}\n\n"), Text("never")))
        got = []
        with pytest.raises(codey.StreamError) as info:
            for chunk in run(fake, provider):
                got.append(chunk)
        assert type(info.value) is codey.StreamError
        assert not isinstance(info.value, json.JSONDecodeError)
        assert got == ["ok"]
        assert info.value.partial_text == "ok"

    @pytest.mark.parametrize("provider", PROVIDERS)
    def test_bytes_that_are_not_utf8_are_a_stream_error(self, fake, provider):
        """An event that is not UTF-8 is a StreamError, never a bare UnicodeDecodeError."""
        fake.push(events(Text("ok"), Raw(b'data: {"x": "\xff\xfe"}\n\n'), Text("never")))
        got = []
        with pytest.raises(codey.StreamError) as info:
            for chunk in run(fake, provider):
                got.append(chunk)
        assert "not UTF-8" in str(info.value)
        assert not isinstance(info.value, UnicodeDecodeError)
        assert (got, info.value.partial_text) == (["ok"], "ok")

    def test_error_raised_stream_is_finished(self, fake):
        """A stream that raised yields nothing afterwards."""
        fake.push(events(Text("ok"), Raw(b"data: {bad\n\n")))
        stream = run(fake, "openai")
        with pytest.raises(codey.StreamError):
            list(stream)
        assert list(stream) == []


class TestErrorEvents:
    @pytest.mark.parametrize("provider", PROVIDERS)
    def test_error_event_after_text(self, fake, provider):
        """An error event mid-stream is a StreamError with the type and the partial text."""
        fake.push(events(Text("half"), ErrorEvent("overloaded_error", "Overloaded")))
        with pytest.raises(codey.StreamError) as info:
            list(run(fake, provider))
        assert info.value.error_type == "overloaded_error"
        assert "Overloaded" in str(info.value)
        assert info.value.partial_text == "half"
        assert len(fake.requests) == 1

    @pytest.mark.parametrize("provider", PROVIDERS)
    def test_busy_error_event_before_text_is_retried(self, fake, provider):
        """overloaded_error before any text is retried like a 529."""
        fake.push(events(ErrorEvent("overloaded_error", "Overloaded")))
        fake.push(answer("second try"))
        assert codey.complete("hi", **kwargs_for(fake, provider)) == "second try"
        assert len(fake.requests) == 2

    def test_invalid_request_event_is_not_retried(self, fake):
        fake.push(events(ErrorEvent("invalid_request_error", "bad")))
        fake.push(answer("never"))
        with pytest.raises(codey.StreamError) as info:
            list(run(fake, "anthropic"))
        assert info.value.error_type == "invalid_request_error"
        assert len(fake.requests) == 1


class TestStatusErrors:
    @pytest.mark.parametrize("provider", PROVIDERS)
    @pytest.mark.parametrize(
        ("status", "cls"),
        [
            (400, codey.BadRequestError),
            (401, codey.AuthenticationError),
            (403, codey.AuthenticationError),
            (404, codey.BadRequestError),
            (413, codey.BadRequestError),
            (422, codey.BadRequestError),
        ],
    )
    def test_client_errors_are_not_retried(self, fake, provider, status, cls):
        """4xx errors raise their class with the provider's message, at once."""
        fake.push(error(status, "the provider's own words"))
        stream = run(fake, provider)  # configuration is fine: the error comes while iterating
        with pytest.raises(cls) as info:
            list(stream)
        assert info.value.status_code == status
        assert info.value.provider == provider
        assert "the provider's own words" in str(info.value)
        assert info.value.message == "the provider's own words"
        assert len(fake.requests) == 1

    @pytest.mark.parametrize("provider", PROVIDERS)
    @pytest.mark.parametrize(
        ("status", "cls"),
        [
            (408, codey.ServerError),
            (409, codey.ServerError),
            (429, codey.RateLimitError),
            (500, codey.ServerError),
            (503, codey.ServerError),
            (529, codey.ServerError),
        ],
    )
    def test_busy_errors_are_retried_then_raised(self, fake, provider, status, cls):
        """408/409/429/5xx/529 are retried `retries` times, honouring Retry-After."""
        for _ in range(3):
            fake.push(error(status, "busy", retry_after=0))
        with pytest.raises(cls) as info:
            list(run(fake, provider, retries=2))
        assert info.value.status_code == status
        assert len(fake.requests) == 3

    def test_retry_then_success(self, fake):
        fake.push(error(429, "slow down", retry_after_ms=10))
        fake.push(error(500, "oops", retry_after=0))
        fake.push(answer("fine"))
        assert codey.complete("hi", **kwargs_for(fake, "openai")) == "fine"
        assert len(fake.requests) == 3

    def test_retries_zero_disables(self, fake):
        fake.push(error(503, "down", retry_after=0))
        fake.push(answer("never"))
        with pytest.raises(codey.ServerError):
            codey.complete("hi", **kwargs_for(fake, "openai", retries=0))
        assert len(fake.requests) == 1

    def test_retry_after_is_honoured(self, fake):
        """Retry-After: 1 makes codey wait about a second before trying again."""
        fake.push(error(429, "wait", retry_after=1))
        fake.push(answer("ok"))
        started = time.monotonic()
        assert codey.complete("hi", **kwargs_for(fake, "anthropic")) == "ok"
        assert 0.9 <= time.monotonic() - started < 5.0

    def test_html_502_from_a_proxy(self, fake):
        """A proxy's HTML page becomes a short message, not a page of markup."""
        for _ in range(2):
            fake.push(error(502, html=True, retry_after=0))
        with pytest.raises(codey.ServerError) as info:
            codey.complete("hi", **kwargs_for(fake, "openai", retries=1))
        assert info.value.status_code == 502
        assert "502 Bad Gateway" in str(info.value)
        assert "<" not in str(info.value)

    def test_close_before_text_is_retried(self, fake):
        """A connection closed after the headers but before any text is retried."""
        fake.push(events(Close()))
        fake.push(answer("ok"))
        assert codey.complete("hi", **kwargs_for(fake, "anthropic")) == "ok"
        assert len(fake.requests) == 2


class TestTimeouts:
    @pytest.mark.parametrize("provider", PROVIDERS)
    def test_stall_raises_chunk_timeout(self, fake, provider):
        """A silent server is detected within chunk_timeout + 0.5 s, with the partial text."""
        fake.push(events(Text("so far"), Stall()))
        stream = run(fake, provider, chunk_timeout=0.3)
        iterator = iter(stream)
        assert next(iterator) == "so far"
        started = time.monotonic()
        with pytest.raises(codey.ChunkTimeoutError) as info:
            next(iterator)
        waited = time.monotonic() - started
        assert 0.25 <= waited < 0.8
        assert isinstance(info.value, TimeoutError)
        assert info.value.partial_text == "so far"
        assert fake.requests[-1].disconnected.wait(1.0)
        assert len(fake.requests) == 1

    def test_chunk_timeout_is_never_retried(self, fake):
        fake.push(events(Stall()))
        fake.push(answer("never"))
        with pytest.raises(codey.ChunkTimeoutError) as info:
            list(run(fake, "openai", chunk_timeout=0.2))
        assert info.value.partial_text == ""
        assert len(fake.requests) == 1

    @pytest.mark.parametrize("provider", PROVIDERS)
    def test_keepalives_keep_a_slow_stream_alive(self, fake, provider):
        """Pings and comments reset the timer: a slowly thinking stream never times out."""
        steps = [Text("a")]
        for _ in range(8):
            steps += [Pause(0.1), Comment("keep-alive"), Pause(0.1), Ping()]
        steps += [Text("b"), Finish(None), UsageStep(1, 1), Done()]
        fake.push(events(*steps))
        assert codey.complete("hi", **kwargs_for(fake, provider, chunk_timeout=0.3)) == "ab"

    def test_partial_event_resets_the_timer(self, fake):
        """A byte-by-byte trickle slower than one event per chunk_timeout does not time out."""
        fake.push(answer("trickle", "d").evolve(split=1, write_delay=0.003))
        assert codey.complete("hi", **kwargs_for(fake, "openai", chunk_timeout=0.3)) == "trickled"

    def test_connect_timeout_when_no_headers(self):
        """No response headers within connect_timeout: ConnectTimeoutError, retries included.

        connect_timeout bounds the whole wait for the response: three attempts of
        0.3 s each and their backoff (at least 1.15 s) would break the bound.
        """
        with silent_server() as url:
            started = time.monotonic()
            with pytest.raises(codey.ConnectTimeoutError) as info:
                codey.complete(
                    "hi",
                    model="gpt-4.1",
                    api_key=FAKE_KEY,
                    base_url=url,
                    connect_timeout=0.3,
                    retries=2,
                )
            waited = time.monotonic() - started
        assert isinstance(info.value, TimeoutError)
        assert "within 0.3 s" in str(info.value)
        assert 0.25 <= waited < 0.9

    def test_quick_failures_are_retried_within_connect_timeout(self, fake):
        """A 503 at once leaves time in the budget: it is retried, and the retry answers."""
        fake.push(error(503, retry_after=0), answer("second time"))
        options = kwargs_for(fake, "openai", connect_timeout=2.0, retries=2)
        assert codey.complete("hi", **options) == "second time"
        assert len(fake.requests) == 2

    def test_no_retry_wait_beyond_connect_timeout(self, fake):
        """A Retry-After longer than what is left of connect_timeout: the 429 at once."""
        fake.push(error(429, "slow down", retry_after=5))
        started = time.monotonic()
        with pytest.raises(codey.RateLimitError) as info:
            codey.complete("hi", **kwargs_for(fake, "openai", connect_timeout=1.0, retries=2))
        assert time.monotonic() - started < 1.0
        assert "Retry-After: 5 s" in str(info.value)
        assert len(fake.requests) == 1

    def test_connection_refused_is_network_error(self):
        with pytest.raises(codey.NetworkError) as info:
            codey.complete(
                "hi",
                model="claude-sonnet-4-0",
                api_key=FAKE_KEY,
                base_url=closed_port_url(),
                retries=0,
            )
        assert "anthropic" in str(info.value)

    def test_none_disables_timeouts(self, fake):
        fake.push(answer("ok"))
        assert (
            codey.complete(
                "hi", **kwargs_for(fake, "openai", chunk_timeout=None, connect_timeout=None)
            )
            == "ok"
        )


class TestLifecycle:
    def test_break_closes_the_connection(self, fake):
        """Leaving the loop early closes the socket and ends the worker, even mid-stall."""
        fake.push(events(Text("a"), Stall()))
        for chunk in run(fake, "openai", chunk_timeout=5.0):
            assert chunk == "a"
            break
        assert fake.requests[-1].disconnected.wait(1.0)
        assert wait_until(lambda: not codey_threads(), 1.0)

    def test_close_and_with_block(self, fake):
        fake.push(events(Text("a"), Stall()))
        with run(fake, "anthropic", chunk_timeout=5.0) as stream:
            assert next(iter(stream)) == "a"
        assert fake.requests[-1].disconnected.wait(1.0)
        stream.close()  # twice is fine
        assert list(stream) == []

    def test_exception_in_loop_body_closes(self, fake):
        fake.push(events(Text("a"), Stall()))
        with pytest.raises(ZeroDivisionError):
            for _ in run(fake, "xai", chunk_timeout=5.0):
                1 / 0  # noqa: B018
        assert fake.requests[-1].disconnected.wait(1.0)

    def test_close_before_iterating(self, fake):
        fake.push(events(Stall()))
        stream = run(fake, "openai", chunk_timeout=5.0)
        assert fake.wait_for_requests(1)
        stream.close()
        assert fake.requests[-1].disconnected.wait(1.0)
        assert list(stream) == []

    def test_close_while_waiting_for_headers(self):
        """close() unblocks a worker still waiting for the response headers."""
        asked = threading.Event()
        with silent_server(received=asked) as url:
            stream = codey.stream(
                "hi", model="gpt-4.1", api_key=FAKE_KEY, base_url=url, connect_timeout=30
            )
            assert asked.wait(5.0)
            stream.close()
            assert wait_until(lambda: not codey_threads(), 1.0)

    def test_garbage_collection_closes(self, fake):
        """An abandoned stream is closed when collected."""
        fake.push(events(Text("a"), Stall()))
        stream = run(fake, "openai", chunk_timeout=5.0)
        assert next(iter(stream)) == "a"
        del stream
        gc.collect()
        assert fake.requests[-1].disconnected.wait(1.0)
        assert wait_until(lambda: not codey_threads(), 1.0)

    def test_hundred_abandoned_streams_leave_nothing(self, fake):
        """After 100 abandoned streams, no codey thread and no socket is left."""
        base_sockets = open_sockets()
        fake.default = events(Text("a"), Stall())
        for _ in range(100):
            stream = run(fake, "openai", chunk_timeout=5.0)
            next(iter(stream))
            stream = None
        gc.collect()
        assert all(r.disconnected.wait(2.0) for r in fake.requests)
        assert wait_until(lambda: not codey_threads(), 2.0)
        assert wait_until(lambda: open_sockets() <= base_sockets + 2, 2.0), open_sockets()

    def test_fifty_threads_each_get_their_own_text(self, fake):
        """50 streams consumed from 50 threads at once each get exactly their own text."""
        results: dict[int, str] = {}
        errors: list[BaseException] = []

        def consume(n: int) -> None:
            try:
                results[n] = codey.complete(
                    [{"role": "user", "content": str(n)}], **kwargs_for(fake, "openai")
                )
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        fake.default = None

        def respond(request):
            n = request.json["messages"][0]["content"]
            return answer(*[f"{n}:{i};" for i in range(50)])

        fake.responder = respond
        threads = [threading.Thread(target=consume, args=(n,)) for n in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        for n in range(50):
            assert results[n] == "".join(f"{n}:{i};" for i in range(50))


class TestConfiguration:
    def test_missing_key_is_raised_at_once(self, monkeypatch):
        with pytest.raises(codey.MissingAPIKeyError) as info:
            codey.stream("hi", model="claude-sonnet-4-0")
        assert "ANTHROPIC_API_KEY" in str(info.value)
        monkeypatch.setenv("OPENAI_API_KEY", "")
        with pytest.raises(codey.MissingAPIKeyError, match="OPENAI_API_KEY"):
            codey.stream("hi", model="gpt-4.1")

    def test_unknown_model_lists_providers(self):
        with pytest.raises(codey.UnknownModelError) as info:
            codey.stream("hi", model="llama-3", api_key="k")
        assert isinstance(info.value, ValueError)
        for name in ("anthropic", "openai", "xai"):
            assert name in str(info.value)

    def test_default_model_and_environment(self, fake, monkeypatch):
        """model=None means CODEY_MODEL, else grok-4.3 (grok-3's replacement); keys and URLs
        come from the environment."""
        for name, value in fake.env().items():
            monkeypatch.setenv(name, value)
        fake.push(answer("x"))
        stream = codey.stream("hi")
        assert (stream.provider, stream.model) == ("xai", "grok-4.3")
        assert "".join(stream) == "x"
        assert fake.requests[-1].provider == "xai"
        monkeypatch.setenv("CODEY_MODEL", "claude-sonnet-4-0")
        fake.push(answer("y"))
        stream = codey.stream("hi")
        assert stream.provider == "anthropic"
        assert "".join(stream) == "y"

    def test_provider_prefix(self, fake):
        fake.push(answer("tuned"))
        stream = codey.stream(
            "hi", model="openai:my-finetune", api_key=FAKE_KEY, base_url=fake.base_url("openai")
        )
        assert (stream.provider, stream.model) == ("openai", "my-finetune")
        assert "".join(stream) == "tuned"
        assert fake.requests[-1].json["model"] == "my-finetune"

    def test_models_and_providers(self):
        assert codey.providers()[:3] == ["anthropic", "openai", "xai"]
        assert {"ollama", "openrouter", "groq", "deepseek", "mistral", "gemini"} <= set(
            codey.providers()
        )
        names = codey.models()
        assert "gpt-4.1" in names
        assert "grok-4.3" in names
        assert "claude-sonnet-5" in names
        assert "grok-3" not in names  # retired: listed with all=True only
        assert "grok-3" in codey.models(all=True)
        assert len(names) == len(set(names))

    def test_message_is_frozen_and_checked(self):
        message = codey.Message("user", "hi")
        with pytest.raises(AttributeError):
            message.role = "system"  # type: ignore[misc]
        with pytest.raises(ValueError):
            codey.Message("robot", "hi")


class TestSecrets:
    def test_key_echoed_in_error_body_is_redacted(self, fake, caplog):
        """No API key in any message, repr or log line, even when the server echoes it."""
        caplog.set_level(logging.DEBUG)
        fake.push(error(401, f"Incorrect API key provided: {FAKE_KEY}"))
        with pytest.raises(codey.AuthenticationError) as info:
            codey.complete("hi", **kwargs_for(fake, "openai"))
        for text in (str(info.value), repr(info.value), info.value.message):
            assert FAKE_KEY not in text
        assert "[REDACTED]" in str(info.value)
        fake.push(error(429, f"key {FAKE_KEY} is rate limited", retry_after=0))
        fake.push(error(429, f"key {FAKE_KEY} is rate limited", retry_after=0))
        with pytest.raises(codey.RateLimitError):
            codey.complete("hi", **kwargs_for(fake, "anthropic", retries=1))
        assert FAKE_KEY not in caplog.text
        assert caplog.text  # the retry was logged

    def test_stream_repr_has_no_key(self, fake):
        fake.push(answer("x"))
        stream = run(fake, "openai")
        assert FAKE_KEY not in repr(stream)
        assert FAKE_KEY not in repr(vars(stream))
        stream.close()

    @pytest.mark.parametrize(
        "exc",
        [
            codey.RateLimitError("slow", status_code=429, provider="openai", retry_after=1.0),
            codey.StreamError("x", provider="anthropic", error_type="overloaded_error"),
            codey.IncompleteStreamError("cut", provider="xai"),
            codey.ChunkTimeoutError("silent"),
            codey.ConnectTimeoutError("slow"),
            codey.NetworkError("down"),
            codey.MissingAPIKeyError("no key", env_var="OPENAI_API_KEY"),
            codey.UnknownModelError("what", model="m"),
        ],
    )
    def test_errors_pickle(self, exc):
        """Errors survive pickling with their attributes (Celery, multiprocessing)."""
        exc.partial_text = "so far"
        copy = pickle.loads(pickle.dumps(exc))
        assert type(copy) is type(exc)
        assert str(copy) == str(exc)
        assert copy.partial_text == "so far"
        assert vars(copy) == vars(exc)


class TestEnvironment:
    """The default session honours the environment as requests does, on every call."""

    def test_proxy_variables_are_read_on_every_call(self, fake, monkeypatch):
        unreachable = closed_port_url() + "/v1"
        options = {"model": "gpt-4.1", "api_key": FAKE_KEY, "base_url": unreachable}
        fake.push(answer("via proxy"), answer("again"))
        monkeypatch.setenv("HTTP_PROXY", fake.url)
        assert codey.complete("hi", **options) == "via proxy"
        assert fake.requests[-1].path == unreachable + "/chat/completions"

        monkeypatch.delenv("HTTP_PROXY")
        with pytest.raises(codey.NetworkError):
            codey.complete("hi", retries=0, **options)

        monkeypatch.setenv("http_proxy", fake.url)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        with pytest.raises(codey.NetworkError):
            codey.complete("hi", retries=0, **options)
        monkeypatch.delenv("NO_PROXY")
        assert codey.complete("hi", **options) == "again"
        assert len(fake.requests) == 2

    def test_netrc_never_replaces_the_key(self, fake, monkeypatch, tmp_path):
        netrc = tmp_path / "netrc"
        netrc.write_text("machine 127.0.0.1 login someone password hunter2\n")
        netrc.chmod(0o600)
        monkeypatch.setenv("NETRC", str(netrc))
        fake.push(answer("ok"))
        assert codey.complete("hi", **kwargs_for(fake, "openai")) == "ok"
        assert fake.requests[-1].headers["Authorization"] == f"Bearer {FAKE_KEY}"
