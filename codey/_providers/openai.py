"""The Chat Completions wire format (OpenAI, and the services that copy it)."""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Sequence
from typing import Any, Optional

from codey._attachments import KNOWN_TYPES, Attachment
from codey._errors import UnsupportedOptionError
from codey._providers._base import (
    AnswerSchema,
    HTTPRequest,
    RequestSpec,
    Service,
    ServiceProvider,
    ToolSpec,
    error_details,
    error_event,
    join_url,
    parse_event_data,
    served_model,
)
from codey._providers._citations import openai_citations
from codey._types import Finish, Message, ReasoningDelta, ToolCallDelta, Usage


class ChatCompletions(ServiceProvider):
    """A service that speaks Chat Completions: OpenAI, xAI, and the many that copy them."""

    __slots__ = ()
    wire = "chat"
    wire_name = "Chat Completions"

    def build_request(self, spec: RequestSpec, api_key: str, base_url: str) -> HTTPRequest:
        body = self.request_body(spec, base_url)
        return HTTPRequest(
            url=join_url(base_url, self._path(spec.model)),
            headers=self.headers(api_key),
            body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        )

    def headers(self, api_key: str, stream: bool = True) -> dict[str, str]:
        return request_headers(self.service, api_key, stream)

    def request_body(self, spec: RequestSpec, base_url: str, stream: bool = True) -> dict[str, Any]:
        refuse_thinking_budget(self.name, spec)
        if spec.server_tools:
            # OpenAI and xAI offer them over the Responses API only (api=None goes there).
            names = ", ".join(tool.name for tool in spec.server_tools)
            raise UnsupportedOptionError(
                f"{self.name} has no server tools ({names}) over Chat Completions: "
                "drop api='chat' (they go over the Responses API), or drop them"
            )
        body: dict[str, Any] = {
            "model": spec.model,
            "messages": self._messages(spec.messages),
        }
        if stream:
            body["stream"] = True
        if spec.tools:
            body.setdefault("tools", []).extend(
                {"type": "function", "function": function_tool(tool)} for tool in spec.tools
            )
        if stream and self.service.include_usage:
            body["stream_options"] = {"include_usage": True}
        if spec.max_tokens is not None:
            body[max_tokens_field(self.service, base_url)] = spec.max_tokens
        if spec.temperature is not None:
            body["temperature"] = spec.temperature
        if spec.effort is not None:
            body["reasoning_effort"] = spec.effort
        if spec.schema is not None:
            body["response_format"] = self._response_format(spec.schema)
        # cache=True: these services cache long prompts by themselves; nothing to mark.
        return body

    def _path(self, model: str) -> str:
        service = self.service
        version = service.api_version
        if service.api_version_env:
            version = os.environ.get(service.api_version_env) or version
        return service.chat_path.format(
            model=urllib.parse.quote(model, safe=""), api_version=urllib.parse.quote(version)
        )

    def _response_format(self, schema: AnswerSchema) -> dict[str, Any]:
        return {"type": "json_schema", "json_schema": json_schema(self, schema)}

    def _messages(self, messages: Sequence[Message]) -> list[dict[str, Any]]:
        """The conversation in Chat Completions form.

        A tool message takes text only
        (https://platform.openai.com/docs/api-reference/chat/create: a ``tool``
        message's content is a string or text parts), and the tool messages must
        follow their assistant message together: the images (or PDFs) the tools
        returned go in one user message right after the last of them.
        """
        out: list[dict[str, Any]] = []
        pending: list[dict[str, Any]] = []  # the tool results' attachments, as user parts
        for message in messages:
            if message.role != "tool" and pending:
                out.append({"role": "user", "content": pending})
                pending = []
            if message.role != "tool":
                out.append(self._message(message))
                continue
            text, attachments = self.tool_attachments(message)
            out.append({"role": "tool", "tool_call_id": message.tool_call_id, "content": text})
            if attachments:
                lead = f"[codey: what the tool call {message.tool_call_id} returned besides text]"
                pending.append({"type": "text", "text": lead})
                pending.extend(self._parts(attachments))
        if pending:
            out.append({"role": "user", "content": pending})
        return out

    def _message(self, message: Message) -> dict[str, Any]:
        """One message in Chat Completions form: content parts, tool calls."""
        if message.tool_calls:
            return {
                "role": message.role,
                "content": message.content or None,
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.arguments},
                    }
                    for call in message.tool_calls
                ],
            }
        if not message.attachments:
            return {"role": message.role, "content": message.content}
        parts: list[dict[str, Any]] = []
        if message.content:
            parts.append({"type": "text", "text": message.content})
        parts.extend(self._parts(message.attachments))
        return {"role": message.role, "content": parts}

    def check_attachment(self, attachment: Attachment) -> None:
        """The service's types, and a PDF as data: Chat Completions' ``file`` part takes
        no URL (a tool's PDF by URL then becomes a line of its text, not a failed round)."""
        super().check_attachment(attachment)
        if attachment.data is None and not attachment.is_image:
            raise UnsupportedOptionError(
                f"{self.name} takes a PDF as data, not a URL: download {attachment.url} "
                "and attach the file"
            )

    def _parts(self, attachments: Sequence[Attachment]) -> list[dict[str, Any]]:
        """Attachments as content parts: images, and PDFs as files."""
        parts: list[dict[str, Any]] = []
        for attachment in attachments:
            self.check_attachment(attachment)
            if attachment.is_image:
                parts.append({"type": "image_url", "image_url": {"url": attachment.data_url()}})
            else:
                name = attachment.name or "document.pdf"
                parts.append(
                    {"type": "file", "file": {"filename": name, "file_data": attachment.data_url()}}
                )
        return parts

    def new_parser(self, request: Optional[HTTPRequest] = None) -> ChatParser:
        return ChatParser(self.name)

    @staticmethod
    def error_details(body: Any) -> tuple[Optional[str], Optional[str]]:
        return error_details(body)

    @staticmethod
    def complete_reply(body: Any, request: Optional[HTTPRequest] = None) -> Optional[list[Any]]:
        """The events of a whole reply sent as JSON (``stream`` ignored), else None."""
        choices = body.get("choices") if isinstance(body, dict) else None
        choice = first_choice(choices) if isinstance(choices, list) else None
        if choice is None:
            return None
        message = choice.get("message")
        reason = choice.get("finish_reason")
        if not isinstance(message, dict) or not reason:
            return None
        out: list[Any] = []
        served_model(body, out)
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        if reasoning and isinstance(reasoning, str):
            out.append(ReasoningDelta(reasoning))
        length = 0
        for field in ("content", "refusal"):
            text = message.get(field)
            if text and isinstance(text, str):
                out.append(text)
                length += len(text)
        # Search models' url_citation annotations, offsets into the content:
        # https://platform.openai.com/docs/guides/tools-web-search?api-mode=chat
        out.extend(openai_citations(message.get("annotations"), 0, length))
        for index, call in enumerate(message.get("tool_calls") or ()):
            function = call.get("function") or {}
            out.append(
                ToolCallDelta(
                    index=index,
                    id=call.get("id"),
                    name=function.get("name"),
                    arguments=function.get("arguments") or "",
                )
            )
        out.append(Finish(str(reason)))
        usage = body.get("usage")
        if isinstance(usage, dict):
            out.append(usage_of(usage))
        return out


def function_tool(tool: ToolSpec) -> dict[str, Any]:
    """A function tool's name, description and parameters, as OpenAI's APIs take them
    (Chat Completions under ``function``, the Responses API beside ``type``)."""
    return {"name": tool.name, "description": tool.description, "parameters": tool.parameters}


def json_schema(provider: ServiceProvider, schema: AnswerSchema) -> dict[str, Any]:
    """``schema=`` as OpenAI's APIs take it: name, schema, strict (Chat Completions'
    ``response_format.json_schema``, the Responses API's ``text.format``)."""
    if not provider.service.structured_output:
        raise UnsupportedOptionError(
            f"{provider.name} cannot hold an answer to a JSON schema (no json_schema "
            "format): drop schema= (--schema), or use another provider"
        )
    # strict only when the schema meets strict mode's rules (every object
    # closed, every property required); else the model is guided, not held.
    return {"name": schema.name, "schema": schema.json_schema, "strict": schema.strict}


def first_choice(choices: list[Any]) -> Optional[dict[str, Any]]:
    """Choice 0, the answer: a proxy may send several choices (``n``), in any order;
    the others are not interleaved with it."""
    choice = choices[0]
    if isinstance(choice, dict) and not choice.get("index"):
        return choice  # the usual case: one choice, index 0 (or none given)
    for choice in choices:
        if isinstance(choice, dict) and not choice.get("index"):
            return choice
    return None


def request_headers(service: Service, api_key: str, stream: bool = True) -> dict[str, str]:
    """An OpenAI-style request's headers: the key as a bearer token, or in the
    service's own header (Azure's ``api-key``)."""
    accept = "text/event-stream" if stream else "application/json"
    headers = {"Content-Type": "application/json", "Accept": accept}
    if api_key:
        if service.api_key_header:
            headers[service.api_key_header] = api_key
        else:
            headers["Authorization"] = f"Bearer {api_key}"
    return headers


def max_tokens_field(service: Service, base_url: str) -> str:
    """The field that caps the answer's length at ``base_url``.

    OpenAI's reasoning models reject ``max_tokens`` and want
    ``max_completion_tokens``, which compatible servers reached through
    ``OPENAI_BASE_URL`` (llama.cpp's, among others) ignore; both at once is an
    error at OpenAI. So the service's field goes to its own host only.
    """
    host = service.max_tokens_field_host
    if host is None or urllib.parse.urlsplit(base_url).hostname == host:
        return service.max_tokens_field
    return "max_tokens"


def refuse_thinking_budget(name: str, spec: RequestSpec) -> None:
    """OpenAI-style services take ``reasoning_effort``; ``thinking_budget`` is Anthropic's."""
    if spec.thinking_budget is not None:
        raise UnsupportedOptionError(
            f"thinking_budget is for Anthropic models that think on a budget; {name} "
            "models take effort= (none, minimal, low, medium, high, xhigh, max: each "
            "model its own)"
        )


def usage_of(usage: dict[str, Any]) -> Usage:
    """A Chat Completions ``usage`` object; cached prompt tokens as OpenAI or DeepSeek say them."""
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    output = usage.get("completion_tokens_details")
    return Usage(
        input_tokens=usage.get("prompt_tokens"),
        output_tokens=usage.get("completion_tokens"),
        cache_read_tokens=usage.get("prompt_cache_hit_tokens") if cached is None else cached,
        reasoning_tokens=output.get("reasoning_tokens") if isinstance(output, dict) else None,
    )


class ChatParser:
    """Parses Chat Completions ``data:`` events."""

    __slots__ = ("_length", "complete_at_eof", "done", "provider", "saw_text", "served")

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.done = False
        self.complete_at_eof = False
        self.saw_text = False
        self.served = False  # every chunk names the model: the first one says it
        self._length = 0  # of the text so far: annotations count from its start

    def feed(self, event: str, data: str, out: list[Any]) -> None:
        if data == "[DONE]":
            self.done = True
            return
        obj = parse_event_data(data, self.provider)
        error = obj.get("error")
        if error:
            message, error_type = error_details(obj)
            code = error.get("code") if isinstance(error, dict) else None
            raise error_event(
                self.provider,
                message,
                error_type,
                data,
                code=str(code) if code is not None else None,
            )
        if not self.served:
            self.served = served_model(obj, out)
        choices = obj.get("choices")
        choice = first_choice(choices) if choices else None
        if choice is not None:
            delta = choice.get("delta")
            if delta:
                content = delta.get("content")
                if content:
                    out.append(content)
                    self.saw_text = True
                    self._length += len(content)
                if len(delta) > 1 or content is None:
                    self._extra(delta, out)
            reason = choice.get("finish_reason")
            if reason:
                out.append(Finish(reason))
                self.complete_at_eof = True
        usage = obj.get("usage")
        if usage:
            out.append(usage_of(usage))

    def _extra(self, delta: dict[str, Any], out: list[Any]) -> None:
        # A refusal is what the model said, so it is text.
        refusal = delta.get("refusal")
        if refusal:
            out.append(refusal)
            self.saw_text = True
            self._length += len(refusal)
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if reasoning and isinstance(reasoning, str):
            out.append(ReasoningDelta(reasoning))
        if "annotations" in delta:  # offsets into the whole message's content
            out.extend(openai_citations(delta["annotations"], 0, self._length))
        for call in delta.get("tool_calls") or ():
            function = call.get("function") or {}
            out.append(
                ToolCallDelta(
                    index=call.get("index", 0),
                    id=call.get("id"),
                    name=function.get("name"),
                    arguments=function.get("arguments") or "",
                )
            )


OPENAI = ChatCompletions(
    Service(
        "openai",
        "openai",
        key_env="OPENAI_API_KEY",
        base_url_env="OPENAI_BASE_URL",
        default_base_url="https://api.openai.com/v1",
        prefixes=("gpt-", "o1", "o3", "o4", "chatgpt-"),
        # o-series models reject max_tokens; other hosts get it (see max_tokens_field()).
        max_tokens_field="max_completion_tokens",
        max_tokens_field_host="api.openai.com",
        attachments=KNOWN_TYPES,
    )
)
