"""The OpenAI Responses wire format (``POST {base}/responses``), for models only it serves.

Named SSE events, each with ``type`` and ``sequence_number`` in its JSON:
``response.created``, ``response.output_item.added`` (a message, a reasoning
item or a function call), ``response.output_text.delta`` (text),
``response.reasoning_summary_text.delta`` (reasoning),
``response.function_call_arguments.delta`` (a call's arguments),
``response.output_item.done`` (a reasoning item whole, with its encrypted
content: replayed with the next round), and one terminal event:
``response.completed`` (usage), ``response.incomplete`` (why it stopped
short) or ``response.failed`` (an error). An ``error`` event may come at any
point. Only a terminal event ends the answer: any other end of the body is
incomplete.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Optional

import attrs

from codey import _models
from codey._attachments import Attachment
from codey._errors import StreamError
from codey._providers._base import (
    HTTPRequest,
    RequestSpec,
    ServiceProvider,
    error_details,
    error_event,
    join_url,
    parse_event_data,
    served_model,
)
from codey._providers._citations import openai_citation, openai_citations
from codey._providers._server_tools import SERVER_EVENTS, responses_call, responses_tool
from codey._providers.compatible import XAI
from codey._providers.openai import (
    OPENAI,
    function_tool,
    json_schema,
    refuse_thinking_budget,
    request_headers,
)
from codey._types import (
    Finish,
    Message,
    ReasoningDelta,
    Replay,
    ServerToolCall,
    ToolCallDelta,
    Usage,
)

#: ``Finish.reason`` of a ``response.completed``: the Responses API gives no stop
#: reason, only ``status``, so codey says what Chat Completions would (``tool_calls``
#: after function calls).
COMPLETED = "stop"
CALLED = "tool_calls"

_TEXT_EVENTS = frozenset({"response.output_text.delta", "response.refusal.delta"})
_REASONING_EVENTS = frozenset(
    {"response.reasoning_summary_text.delta", "response.reasoning_text.delta"}
)


#: What a request asks to get back with each reasoning item, so that the next
#: round can send the item back with nothing stored on the server.
#: https://platform.openai.com/docs/guides/reasoning#encrypted-reasoning-items
ENCRYPTED_REASONING = "reasoning.encrypted_content"
#: What a request with a web search asks to get back with each search: the sources
#: it found, which the ``web_search_call`` item's ``action`` lists only when asked.
#: https://platform.openai.com/docs/guides/tools-web-search#sources
SEARCH_SOURCES = "web_search_call.action.sources"


class Responses(ServiceProvider):
    """A service that speaks the OpenAI Responses API."""

    __slots__ = ()
    wire = "responses"
    wire_name = "Responses"

    def build_request(self, spec: RequestSpec, api_key: str, base_url: str) -> HTTPRequest:
        body = self.request_body(spec, base_url)
        return HTTPRequest(
            url=join_url(base_url, "/responses"),
            headers=self.headers(api_key),
            body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        )

    def headers(self, api_key: str, stream: bool = True) -> dict[str, str]:
        return request_headers(self.service, api_key, stream)

    def request_body(self, spec: RequestSpec, base_url: str, stream: bool = True) -> dict[str, Any]:
        refuse_thinking_budget(self.name, spec)
        body: dict[str, Any] = {
            "model": spec.model,
            "input": [item for message in spec.messages for item in self._items(message)],
        }
        if stream:
            body["stream"] = True
        if spec.tools:
            # https://platform.openai.com/docs/guides/function-calling: flat function
            # tools; parallel calls are the default.
            body["tools"] = [{"type": "function", **function_tool(tool)} for tool in spec.tools]
        if spec.server_tools:
            xai = _models.same_service(self.name)[0] == "xai"
            body.setdefault("tools", []).extend(
                responses_tool(tool, xai) for tool in spec.server_tools
            )
        # codey sends the whole conversation every time: nothing to keep.
        body["store"] = False
        if spec.max_tokens is not None:
            body["max_output_tokens"] = spec.max_tokens
        if spec.temperature is not None:
            body["temperature"] = spec.temperature
        if spec.effort is not None or _models.reasons(spec.model, self.name):
            # The summary streams while the model thinks (the API sends none unasked).
            reasoning = {"summary": "auto"}
            body["reasoning"] = (
                reasoning if spec.effort is None else {"effort": spec.effort, **reasoning}
            )
            if spec.effort != "none":
                # Each reasoning item comes back with its content encrypted, for the next
                # round to send back (see _items()): nothing is kept on the server.
                body["include"] = [ENCRYPTED_REASONING]
        if any(tool.name == "web_search" for tool in spec.server_tools):
            body["include"] = [*body.get("include", ()), SEARCH_SOURCES]
        if spec.schema is not None:
            # https://platform.openai.com/docs/guides/structured-outputs: text.format.
            body["text"] = {"format": {"type": "json_schema", **json_schema(self, spec.schema)}}
        # cache=True: OpenAI and xAI cache long prompts by themselves; nothing to mark.
        return body

    def _items(self, message: Message) -> list[dict[str, Any]]:
        """A message as input items: system ones in place (xAI rejects ``instructions``);
        an assistant's reasoning items (replayed as they came), its text, its function
        calls; a tool result as a ``function_call_output``."""
        if message.role == "tool":
            text, attachments = self.tool_attachments(message)
            # An output may be a list of input_text, input_image and input_file items:
            # https://platform.openai.com/docs/api-reference/responses/create
            # (input, function_call_output, output).
            output: Any = self._parts(text, attachments) if attachments else text
            return [
                {"type": "function_call_output", "call_id": message.tool_call_id, "output": output}
            ]
        # The reasoning items go back before the calls they led to, as the API requires.
        items = [item for wire, item in message.replay if wire == self.wire]
        if message.attachments:
            content: Any = self._parts(message.content, message.attachments)
        elif message.content or not message.tool_calls:
            content = message.content
        else:
            content = None
        if content is not None:
            items.append({"type": "message", "role": message.role, "content": content})
        items.extend(
            {
                "type": "function_call",
                "call_id": call.id,
                "name": call.name,
                "arguments": call.arguments,
            }
            for call in message.tool_calls
        )
        return items

    def _parts(self, text: str, attachments: Sequence[Attachment]) -> list[dict[str, Any]]:
        """A message's text and attachments as content parts.

        https://platform.openai.com/docs/guides/images-vision (``input_image``) and
        https://platform.openai.com/docs/guides/pdf-files (``input_file``: ``file_data``
        with a ``filename``, or ``file_url``).
        """
        parts: list[dict[str, Any]] = []
        if text:
            parts.append({"type": "input_text", "text": text})
        for attachment in attachments:
            self.check_attachment(attachment)
            if attachment.is_image:
                parts.append({"type": "input_image", "image_url": attachment.data_url()})
            elif attachment.data is None:
                parts.append({"type": "input_file", "file_url": attachment.url})
            else:
                name = attachment.name or "document.pdf"
                parts.append(
                    {"type": "input_file", "filename": name, "file_data": attachment.data_url()}
                )
        return parts

    def new_parser(self, request: Optional[HTTPRequest] = None) -> ResponsesParser:
        return ResponsesParser(self.name)

    @staticmethod
    def error_details(body: Any) -> tuple[Optional[str], Optional[str]]:
        return error_details(body)

    @staticmethod
    def complete_reply(body: Any, request: Optional[HTTPRequest] = None) -> Optional[list[Any]]:
        """The events of a whole ``response`` object (``stream`` ignored), else None."""
        if not isinstance(body, dict) or body.get("object") != "response":
            return None
        status = body.get("status")
        if status not in ("completed", "incomplete") or not isinstance(body.get("output"), list):
            return None  # a failed response is an error body: the transport says so
        out: list[Any] = []
        served_model(body, out)
        calls = 0
        length = 0  # of the answer so far: where a part's annotations count from
        for item in body["output"]:
            if not isinstance(item, dict):
                continue
            kind = item.get("type")
            if kind == "message":
                for part in item.get("content") or ():
                    if not isinstance(part, dict):
                        continue
                    text = part.get("text") or part.get("refusal")  # a refusal is text
                    if text and isinstance(text, str):
                        out.append(text)
                        length += len(text)
                        annotations = part.get("annotations")
                        out.extend(openai_citations(annotations, length - len(text), length))
            elif kind == "reasoning":
                for part in item.get("summary") or ():
                    text = part.get("text") if isinstance(part, dict) else None
                    if text and isinstance(text, str):
                        out.append(ReasoningDelta(text))
                _replay(item, out)
            elif kind == "function_call":
                out.append(_call_start(calls, item))
                calls += 1
            else:
                _server_done(item, out)
        usage = _usage(body)
        if usage is not None:
            out.append(usage)
        completed = CALLED if calls else COMPLETED
        out.append(Finish(completed if status == "completed" else _incomplete_reason(body)))
        return out


def _dict(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one: odd data is no crash."""
    return value if isinstance(value, dict) else {}


def _call_start(index: int, item: dict[str, Any]) -> ToolCallDelta:
    """A ``function_call`` output item as the first piece of tool call ``index``."""
    return ToolCallDelta(
        index=index,
        id=item.get("call_id"),
        name=item.get("name"),
        arguments=item.get("arguments") or "",
    )


def _replay(item: dict[str, Any], out: list[Any]) -> None:
    """A whole reasoning item, to go back with the next round: only one that carries
    its encrypted content (with ``store: false`` an id alone refers to nothing)."""
    if item.get("encrypted_content"):
        out.append(Replay(Responses.wire, item))


def _server_done(item: dict[str, Any], out: list[Any]) -> None:
    """A server tool's output item done: its last state, and the item itself to go
    back with a next round (a reasoning item before it needs it there)."""
    call = responses_call(item)
    if call is not None:
        out.append(call)
        out.append(Replay(Responses.wire, item))


def _usage(response: Any) -> Optional[Usage]:
    usage = _dict(response).get("usage")
    if not isinstance(usage, dict):
        return None
    return Usage(
        input_tokens=usage.get("input_tokens"),
        output_tokens=usage.get("output_tokens"),
        cache_read_tokens=_dict(usage.get("input_tokens_details")).get("cached_tokens"),
        reasoning_tokens=_dict(usage.get("output_tokens_details")).get("reasoning_tokens"),
    )


def _incomplete_reason(response: Any) -> Optional[str]:
    """The provider's own word: ``max_output_tokens`` or ``content_filter``."""
    reason = _dict(_dict(response).get("incomplete_details")).get("reason")
    return str(reason) if reason else None


class ResponsesParser:
    """Parses Responses events (``event:`` names, JSON ``data:`` with the same ``type``)."""

    __slots__ = (
        "_calls",
        "_length",
        "_parts",
        "_server",
        "complete_at_eof",
        "done",
        "name",
        "saw_text",
    )

    def __init__(self, name: str = "openai-responses") -> None:
        self.name = name
        self.done = False
        self.complete_at_eof = False  # only a terminal event completes an answer
        self.saw_text = False
        #: The index of each function call, by its output_index, in order of arrival.
        self._calls: dict[Any, int] = {}
        #: The server tools' calls so far, by item id, in their latest state.
        self._server: dict[Any, ServerToolCall] = {}
        #: How much text the answer has so far, and where each text part began in it,
        #: by (output_index, content_index): annotations count from there.
        self._length = 0
        self._parts: dict[tuple[Any, Any], int] = {}

    def feed(self, event: str, data: str, out: list[Any]) -> None:
        obj = parse_event_data(data, self.name)
        kind = obj.get("type") or event
        if kind in _TEXT_EVENTS:
            delta = obj.get("delta")
            if delta:
                out.append(delta)
                self.saw_text = True
                self._parts.setdefault(
                    (obj.get("output_index"), obj.get("content_index")), self._length
                )
                self._length += len(delta)
        elif kind in _REASONING_EVENTS:
            delta = obj.get("delta")
            if delta:
                out.append(ReasoningDelta(delta))
        elif kind == "response.function_call_arguments.delta":
            index = self._calls.get(obj.get("output_index"))
            if index is not None and obj.get("delta"):
                out.append(ToolCallDelta(index=index, arguments=obj["delta"]))
        elif kind == "response.output_item.added":
            item = _dict(obj.get("item"))
            if item.get("type") == "function_call":
                index = self._calls[obj.get("output_index")] = len(self._calls)
                out.append(_call_start(index, item))
            else:
                self._server_call(responses_call(item), out)
        elif kind == "response.output_text.annotation.added":
            # https://platform.openai.com/docs/api-reference/responses-streaming/response/output_text/annotation/added
            # start_index and end_index count in the output_text part's own text.
            part = (obj.get("output_index"), obj.get("content_index"))
            base = self._parts.get(part, self._length)
            citation = openai_citation(obj.get("annotation"), base, self._length)
            if citation is not None:
                out.append(citation)
        elif kind == "response.output_item.done":
            item = _dict(obj.get("item"))
            if item.get("type") == "reasoning":  # whole now, its encrypted content with it
                _replay(item, out)
            else:
                call = responses_call(item)
                if call is not None:  # and the item, to go back with a next round
                    self._server_call(call, out)
                    out.append(Replay(Responses.wire, item))
        elif kind == "response.created":
            served_model(obj.get("response"), out)
        elif kind == "response.completed":
            self._end(obj, out, CALLED if self._calls else COMPLETED)
        elif kind == "response.incomplete":
            self._end(obj, out, _incomplete_reason(obj.get("response")))
        elif kind == "response.failed":
            error = _dict(_dict(obj.get("response")).get("error"))
            code, message = error.get("code"), error.get("message")
            raise error_event(
                self.name,
                str(message) if message else "the response failed",
                str(code) if code else None,
                data,
                event="response.failed",
                code=str(code) if code else None,
            )
        elif kind == "error":
            raise self._error(obj, data)
        elif kind.startswith(SERVER_EVENTS):  # ...in_progress, searching, completed
            call = self._server.get(obj.get("item_id"))
            if call is not None:
                status = kind.rpartition(".")[2]
                self._server_call(attrs.evolve(call, status=status), out)
        elif kind == "response.code_interpreter_call_code.done":  # the code, whole
            call = self._server.get(obj.get("item_id"))
            if call is not None:
                self._server_call(attrs.evolve(call, input={"code": obj.get("code") or ""}), out)

    def _server_call(self, call: Optional[ServerToolCall], out: list[Any]) -> None:
        """Hand ``call`` on when its state changed."""
        if call is not None and self._server.get(call.id) != call:
            self._server[call.id] = call
            out.append(call)

    def _end(self, obj: dict[str, Any], out: list[Any], reason: Optional[str]) -> None:
        usage = _usage(obj.get("response"))
        if usage is not None:
            out.append(usage)
        out.append(Finish(reason))
        self.done = True

    def _error(self, obj: dict[str, Any], data: str) -> StreamError:
        # As documented, code and message sit on the event itself; OpenAI has also
        # been seen to send them nested, {"error": {"type", "code", "message"}}.
        error = obj.get("error")
        if isinstance(error, dict):
            error_type = error.get("type") or error.get("code")
        else:
            error, error_type = obj, obj.get("code")  # obj's own type is "error"
        code = error.get("code")
        message = error.get("message")
        return error_event(
            self.name,
            str(message) if message else None,
            str(error_type) if error_type else None,
            data,
            code=str(code) if code else None,
        )


#: OpenAI over the Responses API: same key, same base URL. A model name starting
#: with one of its prefixes comes here rather than to ``openai`` (the longer
#: prefix wins), and ``openai-responses:MODEL`` (or ``api="responses"``) sends
#: any OpenAI model this way.
OPENAI_RESPONSES = Responses(
    attrs.evolve(
        OPENAI.service,
        name="openai-responses",
        wire=Responses.wire,
        # The models only the Responses API serves, by the model table (their
        # dated snapshots come too, the names being prefixes).
        prefixes=_models.prefixes_of("openai-responses"),
    )
)

#: xAI over its Responses API (``xai-responses:MODEL``, or ``api="responses"``).
XAI_RESPONSES = Responses(
    attrs.evolve(XAI.service, name="xai-responses", wire=Responses.wire, prefixes=(), models=())
)
