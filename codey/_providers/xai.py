"""xAI (Grok): the Chat Completions wire format under its own names."""

from __future__ import annotations

from codey._providers._base import HTTPRequest, RequestSpec
from codey._providers.openai import ChatParser, build_chat_request, error_details

name = "xai"
key_env = "XAI_API_KEY"
base_url_env = "XAI_BASE_URL"
default_base_url = "https://api.x.ai/v1"
prefixes = ("grok-",)
models = (
    "grok-4",
    "grok-3",
    "grok-3-mini",
    "grok-3-fast",
    "grok-3-mini-fast",
)


def build_request(spec: RequestSpec, api_key: str, base_url: str) -> HTTPRequest:
    return build_chat_request(spec, api_key, base_url, "max_tokens")


def new_parser() -> ChatParser:
    return ChatParser(name)


__all__ = ["build_request", "error_details", "new_parser"]
