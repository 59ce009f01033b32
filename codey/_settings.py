"""The request settings that can be given away from the call: one list.

A batch line's ``options`` and a config file's ``[defaults]`` and
``[models]`` tables (so the command line's options too) carry some of
``stream()``'s keywords; each adds its own to these. Nothing is imported:
the command line reads it at start-up.
"""

from __future__ import annotations

__all__ = ["REQUEST_SETTINGS"]

#: ``stream()`` keywords that shape one request and can be written down as data.
REQUEST_SETTINGS = (
    "system",
    "max_tokens",
    "temperature",
    "chunk_timeout",
    "connect_timeout",
    "deadline",
    "reasoning_effort",
    "thinking_budget",
    "cache",
)
