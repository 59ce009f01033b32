"""A fake LLM provider for tests: a real local HTTP server that streams scripted replies.

``FakeProvider`` is an HTTP/1.1 server on ``127.0.0.1`` (an ephemeral port) that
speaks the OpenAI / xAI Chat Completions streaming format, the OpenAI / xAI
Responses streaming format and the Anthropic Messages streaming format. It
serves scripted replies in order, records every request it receives, and can
inject every fault a streaming client must survive: error statuses and error
events, stalls, truncated bodies, resets, tiny writes, gzip, odd line endings,
byte order marks.

Example::

    import codey
    from codey.testing import FakeProvider, Stall, Text, answer, error, events

    with FakeProvider() as fake:
        fake.push(error(429, "slow down", retry_after=0))  # first request
        fake.push(answer("Hel", "lo"))  # second request (the retry)
        stream = codey.stream(
            "hi", model="gpt-4.1", base_url=fake.base_url("openai"), api_key="k"
        )
        assert "".join(stream) == "Hello"
        assert len(fake.requests) == 2
        assert fake.requests[1].json["model"] == "gpt-4.1"
        assert fake.requests[1].headers["authorization"] == "Bearer k"

        fake.push(events(Text("partial"), Stall()))  # then hang up on nothing
        with codey.stream("hi", model="claude-sonnet-4-6", api_key="k",
                          base_url=fake.base_url("anthropic")) as stream:
            next(iter(stream))
        assert fake.requests[-1].disconnected.wait(1.0)  # the client hung up

Routing. ``fake.base_url("openai")`` is ``http://127.0.0.1:PORT/openai/v1``
(the client posts to ``{base}/chat/completions``), ``fake.base_url("xai")`` is
``.../xai/v1``, and ``fake.base_url("anthropic")`` is ``.../anthropic`` (the
client posts to ``{base}/v1/messages``). A path ending in ``/chat/completions``
is Chat Completions (provider ``xai`` when the first path segment is ``xai``,
otherwise ``openai``); a path ending in ``/responses`` is the Responses API
(``openai-responses``, ``api="responses"`` and the models the model table
sends there by default post to ``{base}/responses``; the provider again ``xai``
or ``openai``); a path ending in ``/v1/messages`` is
Anthropic Messages;
``GET .../models`` lists :attr:`FakeProvider.models` in the provider's format
(OpenAI's and xAI's ``{"object": "list", "data": [...]}``; Anthropic's paged
``{"data": [...], "has_more", "first_id", "last_id"}``, each entry with
``max_input_tokens``, ``max_tokens`` and ``capabilities``); anything else is a 404
with a JSON error body. ``fake.env()`` gives the ``*_BASE_URL`` and
``*_API_KEY`` variables (key ``sk-fake-key``) for subprocess tests. No route
checks API keys.

The provider batch routes come first (a batch or file id may be any word):
OpenAI's Batch API under ``{base}`` = ``.../openai/v1`` (``POST {base}/files``,
multipart ``purpose=batch`` and ``file``; ``GET {base}/files/ID`` and
``.../content``; ``POST {base}/batches``, ``GET {base}/batches[?limit&after]``,
``GET {base}/batches/ID``, ``POST {base}/batches/ID/cancel``; endpoint
``/v1/chat/completions`` only) and Anthropic's Message Batches under
``.../anthropic/v1/messages/batches`` (``POST``,
``GET [?limit&after_id&before_id]``, ``GET /ID``, ``POST /ID/cancel``,
``GET /ID/results``), in the APIs' own JSON objects, statuses, result lines and
error bodies (see "Provider batches").

Replies. Each chat/messages request takes the next :class:`Reply` pushed with
:meth:`FakeProvider.push` (first in, first out); when none is queued it gets
:attr:`FakeProvider.default`, and when that is ``None`` a 500 JSON error
"no scripted reply". A reply is a format-neutral script of steps (:class:`Text`,
with the :class:`Source` values it cites,
:class:`Reasoning`, :class:`ToolCall`, :class:`UsageStep`, :class:`Finish`,
:class:`Done`, :class:`ErrorEvent`, :class:`Comment`, :class:`Ping`,
:class:`Raw`, :class:`Pause`, :class:`Think`, :class:`Stall`, :class:`Close`,
:class:`Reset`), rendered at serve time in the wire format of the request (and with the request's
``model``). Build replies with :func:`answer` (the happy path), :func:`error`
(an error status with the provider's own error body) and :func:`events` (any
script); change one with ``reply.evolve(gzip=True, split=1, ...)``.
:func:`expired` is a reply for a batched request that expires unrun (a streamed
request that takes it gets a 500). :func:`sse_bytes` renders a reply's body
without any HTTP framing. A :attr:`FakeProvider.responder` is called (with a
:class:`RecordedRequest`) for each request when the queue is empty, before the
default.

Refusals. As the real APIs do, the fake answers 400, with the provider's own
error body and words, to what they refuse for a model (while
:attr:`FakeProvider.refuse_like_the_api` is true, the default), before taking a
reply: for Claude Opus 4.7 and later, Sonnet 5 and Fable, budget thinking
(``thinking.type: "enabled"``: "Use "thinking.type.adaptive" and
"output_config.effort"..."), a non-default ``temperature``, ``top_p`` or
``top_k`` ("`temperature` is deprecated for this model."), an
``output_config.effort`` outside ``low|medium|high|xhigh|max``, and a forced
tool (``tool_choice`` of type ``tool`` or ``any``) unless thinking is
``disabled`` ("Thinking may not be enabled when tool_choice forces tool
use."; their thinking is on by default); for Claude
Haiku 4.5, Sonnet 4.5 and Opus 4.5, adaptive thinking; for OpenAI's reasoning
models (o1, o3, o4-mini, gpt-5 and later), a non-default ``temperature`` or
``top_p`` and an effort the model does not take; over Chat Completions, function
tools with ``reasoning_effort`` for gpt-5.4 and gpt-5.5 ("...Please use
/v1/responses instead."), and function tools for gpt-5.6 (unless
``reasoning_effort`` is ``none``) and gpt-6 ("To use function tools, use
/v1/responses"). For every model, a tool result that holds a part of a kind
the wire format does not take there (Chat Completions: text only in a ``tool``
message; Responses: ``input_text``, ``input_image`` or ``input_file`` in a
``function_call_output``; Messages: ``text``, ``image``, ``document`` or
``search_result`` in a ``tool_result``), and, over Chat Completions, tool
calls not answered by the ``tool`` messages right after them ("An assistant
message with 'tool_calls' must be followed by tool messages responding to each
'tool_call_id'..."). A provider batch's item gets the same 400 as its result.
Claude's thinking in a tool loop: each streamed thinking block is signed (a
``signature_delta`` whose value is the block's text hashed) and a
:class:`RedactedThinking` step is a ``redacted_thinking`` block; the request
whose last assistant turn holds a tool call the fake streamed with thinking
must send those blocks back first and unchanged, or gets the API's 400
("...Expected `thinking` or `redacted_thinking`, but found `tool_use`...",
"Invalid `signature` in `thinking` block"), unless its thinking is
``disabled``. ``Finish("refusal")``, ``Finish("pause_turn")`` and
``Finish("model_context_window_exceeded")`` are Claude's other stop reasons.

Server tools. A :class:`ServerToolUse` step is a call of the provider's own tool
and its result, in each format's documented blocks (Anthropic's
``server_tool_use`` and ``web_search_tool_result`` / ``web_fetch_tool_result`` /
``code_execution_tool_result`` with ``encrypted_content``; the Responses API's
``web_search_call`` and ``code_interpreter_call`` items with their status
events); Chat Completions has none. A Messages reply that ends with
``Finish("pause_turn")`` must be continued by a request whose last assistant
message sends its server tool blocks back unchanged, or gets a 400. A tool
definition the API does not take (an unknown ``type``, a field the tool lacks,
OpenAI's ``code_interpreter`` without its ``container``, Anthropic's
``web_fetch_20250910`` without its ``anthropic-beta`` header)
gets the API's 400.

Whole replies. A request whose JSON body does not say ``"stream": true`` is
answered, as the APIs answer it, with one JSON object (``application/json``): a
``chat.completion``, a Messages ``message`` or a Responses ``response`` made
from the reply's steps (an :class:`ErrorEvent` makes it a 500 with the
provider's error body), sent once the script has run: its :class:`Pause` and
:class:`Stall` steps delay it, a :class:`Close` or :class:`Reset` ends the
connection without it. A reply with a ``body``, :class:`Raw` steps or an error
status is sent as scripted. A Messages request whose ``tool_choice`` forces a
tool (``{"type": "tool", "name": ...}``) gets that tool called, streamed or
whole: the reply's text is its input, in a ``tool_use`` block (stop reason
``tool_use``), and no text block.

Provider batches. Each batched request takes its reply as a streamed request
would (the queue, the responder, the default, a 500), in input order, when the
batch runs, and is served whole: a ``chat.completion`` object or a Message from
the reply's text, reasoning (Anthropic thinking blocks), tool calls, usage and
finish reason; a 2xx reply whose ``body`` is a JSON object is that object; a
non-2xx reply is an errored item with its JSON error body (status and all); a
``Stall``, ``Close``, ``Reset`` or ``ErrorEvent`` makes the item a 500
(``server_error`` / ``api_error``). A batch stays in progress for
:attr:`FakeProvider.batch_polls` polls (``GET``) of its status (default 1; OpenAI
``validating`` -> ``in_progress``, when an invalid input file ``failed`` with
``errors.data[].line``; a file whose requests name more than one model is
invalid, ``mismatched_model`` for each line unlike the first); the next runs
every item and ends it (OpenAI
``completed``, or ``expired`` when an item expired; Anthropic ``ended``). With
``batch_polls = 0`` the create reply is already the end. Result lines come in
reverse input order (map them by ``custom_id``); OpenAI puts 2xx items in the
output file and the rest (error replies, ``batch_expired``, ``batch_cancelled``)
in the error file, and makes no empty file; ``request_counts.failed`` counts the
error file's lines. Cancelling a batch that has not run makes it ``cancelling``
/ ``canceling``; the next ``GET`` ends it with every item cancelled, none run
(OpenAI: each a ``batch_cancelled`` line in the error file; Anthropic:
``canceled`` results). Cancelling an ended batch is a 409 (OpenAI) or a 400
(Anthropic); Anthropic results before the end are a 400. The results are
``application/binary`` JSONL, a file's content ``application/octet-stream``.
:attr:`FakeProvider.batches` lists a :class:`FakeBatch` per batch (creation
order): its ``status``, ``custom_ids`` and the synthetic ``requests`` the
responder saw for its items (``POST .../chat/completions`` or
``.../v1/messages`` with the item's body); these are not in ``fake.requests``,
which still records every HTTP request.

Requests. :attr:`FakeProvider.requests` lists a :class:`RecordedRequest` per
request received (every path, 404s included), in arrival order.
``RecordedRequest.headers`` is an :class:`http.client.HTTPMessage`, i.e. an
:class:`email.message.Message`: lookups are case-insensitive and a missing
header is ``None`` (``headers["authorization"]``, ``headers.get("x-api-key")``).
``RecordedRequest.disconnected`` is a :class:`threading.Event` set as soon as
the server sees the client's end of file or reset on that connection: while
stalled or pausing, between writes, after the reply while waiting for the next
request on a kept-alive connection, or after the server closed its side (a
``Close()`` step or ``framing="close"``) and the client then closed too. It is
not set when the server itself resets the connection or shuts down.
:attr:`FakeProvider.connections` counts the connections accepted (a client
that keeps its connection alive makes several requests on one).

Trying codey without a key. ``python -m codey.testing serve [--port N]
[--host H] [--delay S]`` runs a ``FakeProvider`` whose responder is
:func:`demo_reply` (every model answers with the last user message, echoed
back word by word), prints the ``export`` lines that point codey at it, and
serves until Ctrl-C or SIGTERM.

Everything runs on daemon threads named ``fake-provider-*``.
:meth:`FakeProvider.close` (or leaving the ``with`` block) releases stalls,
closes every socket and joins every thread.
"""

from __future__ import annotations

# http, threading, Any and Optional are here for typing.get_type_hints(): the
# public classes say they are codey.testing's (see the end), so their string
# annotations are read in this namespace.
import http.client  # noqa: F401
import threading  # noqa: F401
import types
from typing import Any, Optional  # noqa: F401

# The modules, each importing (at run time) only those before it: _common (what
# every part shares), _steps, _replies, _sse (what every renderer shares), _chat,
# _messages and _responses (one wire format each), _render (the registry of wire
# formats; a reply's body), _requests, _refusals (what the real APIs refuse, per
# model), _whole (a reply as one whole body, for
# batches), _batchwire and _batches (provider batches: their wire side; their
# routes and life), _connection (one client's
# HTTP/1.1), _server (FakeProvider) and _demo (python -m codey.testing serve).
from codey.testing._batchwire import FakeBatch
from codey.testing._common import FAKE_API_KEY
from codey.testing._demo import demo_reply
from codey.testing._demo import main as main
from codey.testing._render import sse_bytes
from codey.testing._replies import Body as Body
from codey.testing._replies import Reply, answer, error, events, expired
from codey.testing._requests import RecordedRequest
from codey.testing._server import FakeProvider
from codey.testing._steps import (
    Close,
    Comment,
    Done,
    ErrorEvent,
    Finish,
    Pause,
    Ping,
    Raw,
    Reasoning,
    RedactedThinking,
    Reset,
    ServerToolUse,
    Source,
    Stall,
    Step,
    Text,
    Think,
    ToolCall,
    UsageStep,
)

__all__ = [
    "FAKE_API_KEY",
    "Close",
    "Comment",
    "Done",
    "ErrorEvent",
    "FakeBatch",
    "FakeProvider",
    "Finish",
    "Pause",
    "Ping",
    "Raw",
    "Reasoning",
    "RecordedRequest",
    "RedactedThinking",
    "Reply",
    "Reset",
    "ServerToolUse",
    "Source",
    "Stall",
    "Step",
    "Text",
    "Think",
    "ToolCall",
    "UsageStep",
    "answer",
    "demo_reply",
    "error",
    "events",
    "expired",
    "sse_bytes",
]

# The classes and functions show, pickle and document as codey.testing's, as when
# this package was one module.
for _name in [*__all__, "main"]:
    if isinstance(globals()[_name], (type, types.FunctionType)):
        globals()[_name].__module__ = __name__
del _name
