"""The Anthropic Messages wire format."""

from __future__ import annotations

import json
from typing import Any, Optional

from codey._attachments import KNOWN_TYPES, Attachment
from codey._errors import StreamError, UnsupportedOptionError
from codey._providers._base import (
    HTTPRequest,
    RequestSpec,
    Service,
    ServiceProvider,
    parse_event_data,
)
from codey._types import Finish, ReasoningDelta, ToolCallDelta, Usage

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
#: The smallest thinking budget the API accepts.
MIN_THINKING_BUDGET = 1024


def _max_tokens(spec: RequestSpec) -> int:
    budget = spec.thinking_budget
    if budget is None:
        return spec.max_tokens if spec.max_tokens is not None else DEFAULT_MAX_TOKENS
    if budget < MIN_THINKING_BUDGET:
        raise UnsupportedOptionError(
            f"thinking_budget must be at least {MIN_THINKING_BUDGET} tokens, not {budget}"
        )
    if spec.temperature is not None:
        raise UnsupportedOptionError("anthropic does not accept a temperature with thinking")
    if spec.max_tokens is None:
        return budget + DEFAULT_MAX_TOKENS
    if spec.max_tokens <= budget:
        raise UnsupportedOptionError(
            f"max_tokens ({spec.max_tokens}) must be larger than thinking_budget ({budget})"
        )
    return spec.max_tokens


def _input(arguments: str) -> Any:
    """A call's arguments as the object ``tool_use`` carries (``{}`` if they were not one)."""
    try:
        value = json.loads(arguments or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def error_details(body: Any) -> tuple[Optional[str], Optional[str]]:
    """(message, type) from ``{"type": "error", "error": {"type": ..., "message": ...}}``."""
    if not isinstance(body, dict):
        return None, None
    error = body.get("error")
    if isinstance(error, str):
        return error, None
    if not isinstance(error, dict):
        return None, None
    message = error.get("message")
    error_type = error.get("type")
    return (
        str(message) if message is not None else None,
        str(error_type) if error_type is not None else None,
    )


class MessagesParser:
    """Parses Messages events (``event:`` names, JSON ``data:``)."""

    __slots__ = ("_input_tokens", "complete_at_eof", "done", "name", "saw_text")

    def __init__(self, name: str = "anthropic") -> None:
        self.name = name
        self.done = False
        self.complete_at_eof = False
        self.saw_text = False
        self._input_tokens: Optional[int] = None

    def feed(self, event: str, data: str, out: list[Any]) -> None:
        if event == "ping":
            return
        obj = parse_event_data(data, self.name)
        kind = obj.get("type") or event
        if kind == "content_block_delta":
            delta = obj.get("delta") or {}
            delta_type = delta.get("type")
            if delta_type == "text_delta":
                text = delta.get("text")
                if text:
                    out.append(text)
                    self.saw_text = True
            elif delta_type == "thinking_delta":
                thinking = delta.get("thinking")
                if thinking:
                    out.append(ReasoningDelta(thinking))
            elif delta_type == "input_json_delta":
                out.append(
                    ToolCallDelta(
                        index=obj.get("index", 0), arguments=delta.get("partial_json", "")
                    )
                )
        elif kind == "content_block_start":
            block = obj.get("content_block") or {}
            if block.get("type") == "tool_use":
                out.append(
                    ToolCallDelta(
                        index=obj.get("index", 0), id=block.get("id"), name=block.get("name")
                    )
                )
            elif block.get("type") == "text" and block.get("text"):
                out.append(block["text"])
                self.saw_text = True
        elif kind == "message_start":
            usage = (obj.get("message") or {}).get("usage") or {}
            self._input_tokens = usage.get("input_tokens")
            out.append(Usage(self._input_tokens, usage.get("output_tokens")))
        elif kind == "message_delta":
            usage = obj.get("usage") or {}
            if usage:
                out.append(
                    Usage(usage.get("input_tokens", self._input_tokens), usage.get("output_tokens"))
                )
            reason = (obj.get("delta") or {}).get("stop_reason")
            if reason:
                out.append(Finish(reason))
        elif kind == "message_stop":
            self.done = True
        elif kind == "error":
            error = obj.get("error") or {}
            message, error_type = error_details(obj)
            raise StreamError(
                message or f"{self.name} sent an error: {data[:200]}",
                provider=self.name,
                error_type=error_type or (error.get("type") if isinstance(error, dict) else None),
            )


class Messages(ServiceProvider):
    """A service that speaks the Anthropic Messages API."""

    __slots__ = ()
    kind = "anthropic"
    wire_name = "Messages"

    def build_request(self, spec: RequestSpec, api_key: str, base_url: str) -> HTTPRequest:
        if spec.reasoning_effort is not None:
            raise UnsupportedOptionError(
                "reasoning_effort is for OpenAI-style models; anthropic models take "
                "thinking_budget= (tokens)"
            )
        system = [message.content for message in spec.messages if message.role == "system"]
        body: dict[str, Any] = {
            "model": spec.model,
            "max_tokens": _max_tokens(spec),
            "messages": self._messages(spec),
            "stream": True,
        }
        if spec.tools:
            body.setdefault("tools", []).extend(
                {
                    "name": tool.name,
                    "description": tool.description,
                    "input_schema": tool.parameters,
                }
                for tool in spec.tools
            )
        if system:
            body["system"] = "\n\n".join(system)
        if spec.temperature is not None:
            body["temperature"] = spec.temperature
        if spec.thinking_budget is not None:
            body["thinking"] = {"type": "enabled", "budget_tokens": spec.thinking_budget}
        headers = {
            "anthropic-version": API_VERSION,
            "Content-Type": "application/json",
            "Accept": "text/event-stream",
        }
        if api_key:
            headers["x-api-key"] = api_key
        return HTTPRequest(
            url=base_url.rstrip("/") + "/v1/messages",
            headers=headers,
            body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        )

    def _messages(self, spec: RequestSpec) -> list[dict[str, Any]]:
        """The conversation in Messages form; tool results go in one user message."""
        out: list[dict[str, Any]] = []
        results: Optional[list[dict[str, Any]]] = None  # the user message of tool results
        for message in spec.messages:
            role = message.role
            if role == "system":
                continue
            if role == "tool":
                result: dict[str, Any] = {
                    "type": "tool_result",
                    "tool_use_id": message.tool_call_id,
                }
                if message.content:
                    result["content"] = message.content
                if message.is_error:
                    result["is_error"] = True
                if results is None:
                    results = []
                    out.append({"role": "user", "content": results})
                results.append(result)
                continue
            results = None
            if message.tool_calls:
                if spec.thinking_budget is not None:
                    raise UnsupportedOptionError(
                        "codey cannot send Anthropic's thinking blocks back, which a tool "
                        "round with thinking needs: run tools without thinking_budget"
                    )
                blocks: list[dict[str, Any]] = []
                if message.content:
                    blocks.append({"type": "text", "text": message.content})
                blocks.extend(
                    {
                        "type": "tool_use",
                        "id": call.id,
                        "name": call.name,
                        "input": _input(call.arguments),
                    }
                    for call in message.tool_calls
                )
                out.append({"role": role, "content": blocks})
            elif message.attachments:
                # Images and documents first, then the text, as Anthropic advises.
                blocks = [self._attachment(attachment) for attachment in message.attachments]
                if message.content:
                    blocks.append({"type": "text", "text": message.content})
                out.append({"role": role, "content": blocks})
            else:
                out.append({"role": role, "content": message.content})
        return out

    def _attachment(self, attachment: Attachment) -> dict[str, Any]:
        self.check_attachment(attachment)
        kind = "image" if attachment.is_image else "document"
        if attachment.url is not None:
            return {"type": kind, "source": {"type": "url", "url": attachment.url}}
        source = {"type": "base64", "media_type": attachment.mime, "data": attachment.base64()}
        return {"type": kind, "source": source}

    def new_parser(self) -> MessagesParser:
        return MessagesParser(self.name)

    @staticmethod
    def error_details(body: Any) -> tuple[Optional[str], Optional[str]]:
        return error_details(body)

    @staticmethod
    def complete_reply(body: Any) -> Optional[list[Any]]:
        """The events of a whole reply sent as JSON (``stream`` ignored), else None."""
        if not isinstance(body, dict) or body.get("type") != "message":
            return None
        content = body.get("content")
        reason = body.get("stop_reason")
        if not isinstance(content, list) or not reason:
            return None
        out: list[Any] = []
        for index, block in enumerate(content):
            if not isinstance(block, dict):
                continue
            kind = block.get("type")
            if kind == "text" and block.get("text"):
                out.append(str(block["text"]))
            elif kind == "thinking" and block.get("thinking"):
                out.append(ReasoningDelta(str(block["thinking"])))
            elif kind == "tool_use":
                arguments = json.dumps(block.get("input") or {}, ensure_ascii=False)
                out.append(
                    ToolCallDelta(
                        index=index, id=block.get("id"), name=block.get("name"), arguments=arguments
                    )
                )
        usage = body.get("usage")
        if isinstance(usage, dict):
            out.append(Usage(usage.get("input_tokens"), usage.get("output_tokens")))
        out.append(Finish(str(reason)))
        return out


ANTHROPIC = Messages(
    Service(
        "anthropic",
        "anthropic",
        key_env="ANTHROPIC_API_KEY",
        base_url_env="ANTHROPIC_BASE_URL",
        default_base_url="https://api.anthropic.com",
        prefixes=("claude-",),
        models=(
            "claude-opus-4-1",
            "claude-opus-4-0",
            "claude-sonnet-4-5",
            "claude-sonnet-4-0",
            "claude-3-7-sonnet-latest",
            "claude-haiku-4-5",
            "claude-3-5-haiku-latest",
        ),
        attachments=KNOWN_TYPES,
    )
)
