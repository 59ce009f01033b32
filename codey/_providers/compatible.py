"""The services that speak Chat Completions besides OpenAI: xAI (Grok) and the compatible ones."""

from __future__ import annotations

from codey._attachments import KNOWN_TYPES
from codey._providers._base import Service
from codey._providers.openai import ChatCompletions

XAI = ChatCompletions(
    Service(
        "xai",
        "openai",
        key_env="XAI_API_KEY",
        base_url_env="XAI_BASE_URL",
        default_base_url="https://api.x.ai/v1",
        prefixes=("grok-",),
        attachments=("image/png", "image/jpeg"),  # no PDFs in Chat Completions
    )
)

#: Azure OpenAI: ``azure:DEPLOYMENT``, the deployment named in the path, the key
#: in ``api-key``, the API version in the query (``$AZURE_OPENAI_API_VERSION``).
AZURE = ChatCompletions(
    Service(
        "azure",
        "openai",
        key_env="AZURE_OPENAI_API_KEY",
        base_url_env="AZURE_OPENAI_ENDPOINT",
        default_base_url="",  # each resource has its own: https://NAME.openai.azure.com
        chat_path="/openai/deployments/{model}/chat/completions?api-version={api_version}",
        api_version_env="AZURE_OPENAI_API_VERSION",
        api_version="2024-10-21",  # the latest generally available inference API
        api_key_header="api-key",
        max_tokens_field="max_completion_tokens",
        # 2024-10-21 has no stream_options: a newer version may turn usage on in config.toml.
        include_usage=False,
    )
)

#: Services with an OpenAI-compatible endpoint: name them as ``service:model``
#: (those with a distinctive prefix, such as ``gemini-``, also without it).
COMPATIBLE = (
    ChatCompletions(
        Service(
            "ollama",
            "openai",
            key_env="OLLAMA_API_KEY",
            base_url_env="OLLAMA_BASE_URL",
            default_base_url="http://localhost:11434/v1",
            key_required=False,
        ),
    ),
    ChatCompletions(
        Service(
            "openrouter",
            "openai",
            key_env="OPENROUTER_API_KEY",
            base_url_env="OPENROUTER_BASE_URL",
            default_base_url="https://openrouter.ai/api/v1",
            attachments=KNOWN_TYPES,
        ),
    ),
    ChatCompletions(
        Service(
            "groq",
            "openai",
            key_env="GROQ_API_KEY",
            base_url_env="GROQ_BASE_URL",
            default_base_url="https://api.groq.com/openai/v1",
        ),
    ),
    ChatCompletions(
        Service(
            "deepseek",
            "openai",
            key_env="DEEPSEEK_API_KEY",
            base_url_env="DEEPSEEK_BASE_URL",
            default_base_url="https://api.deepseek.com/v1",
            prefixes=("deepseek-",),
            structured_output=False,  # JSON mode only (json_object), no schema
            attachments=(),  # text only
        ),
    ),
    ChatCompletions(
        Service(
            "mistral",
            "openai",
            key_env="MISTRAL_API_KEY",
            base_url_env="MISTRAL_BASE_URL",
            default_base_url="https://api.mistral.ai/v1",
            prefixes=("mistral-", "magistral-", "codestral-"),
            include_usage=False,  # Mistral rejects unknown fields and reports usage anyway
        ),
    ),
    ChatCompletions(
        Service(
            "gemini",
            "openai",
            key_env="GEMINI_API_KEY",
            base_url_env="GEMINI_BASE_URL",
            default_base_url="https://generativelanguage.googleapis.com/v1beta/openai",
            prefixes=("gemini-",),
        ),
    ),
)
