"""Prompt caching: ``cache=True`` marks Anthropic's prompt; cached-token counts in ``usage``."""

from __future__ import annotations

import json
from typing import Any

import pytest

import codey
from codey.testing import Done, FakeProvider, Finish, Raw, Text, UsageStep, answer, events
from tests.helpers import kwargs_for

EPHEMERAL = {"type": "ephemeral"}
CONVERSATION: list[Any] = [
    {"role": "user", "content": "Here is a long document."},
    {"role": "assistant", "content": "Read it."},
    {"role": "user", "content": "Summarise it."},
]


def test_anthropic_marks_the_system_prompt_and_the_conversation_prefix(fake: FakeProvider) -> None:
    fake.push(answer("ok"))
    codey.complete(CONVERSATION, system="Be brief.", cache=True, **kwargs_for(fake, "anthropic"))
    body = fake.requests[-1].json
    assert body["system"] == [{"type": "text", "text": "Be brief.", "cache_control": EPHEMERAL}]
    assert body["messages"] == [
        {"role": "user", "content": "Here is a long document."},
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "Read it.", "cache_control": EPHEMERAL}],
        },
        {
            "role": "user",
            "content": [{"type": "text", "text": "Summarise it.", "cache_control": EPHEMERAL}],
        },
    ]


def test_one_prompt_marks_just_that_prompt(fake: FakeProvider) -> None:
    fake.push(answer("ok"))
    codey.complete("hello", cache=True, **kwargs_for(fake, "anthropic"))
    body = fake.requests[-1].json
    assert "system" not in body
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "hello", "cache_control": EPHEMERAL}]}
    ]


def test_without_cache_nothing_is_marked(fake: FakeProvider) -> None:
    fake.push(answer("ok"))
    codey.complete(CONVERSATION, system="Be brief.", **kwargs_for(fake, "anthropic"))
    body = fake.requests[-1].json
    assert body["system"] == "Be brief."
    assert body["messages"] == CONVERSATION
    assert "cache_control" not in fake.requests[-1].body.decode()


def test_anthropic_reports_cache_reads_and_writes(fake: FakeProvider) -> None:
    usage = UsageStep(
        input_tokens=12, output_tokens=7, cache_read_tokens=2048, cache_write_tokens=300
    )
    fake.push(events(Text("ok"), Finish(), usage, Done()))
    with codey.stream("hi", cache=True, **kwargs_for(fake, "anthropic")) as stream:
        events_seen = list(stream.events())
    assert stream.usage == codey.Usage(
        input_tokens=12, output_tokens=7, cache_read_tokens=2048, cache_write_tokens=300
    )
    first = next(event for event in events_seen if isinstance(event, codey.Usage))
    assert (first.cache_read_tokens, first.cache_write_tokens) == (2048, 300)


def test_no_cache_counts_reported_means_none_not_zero(fake: FakeProvider) -> None:
    fake.push(answer("ok"), answer("ok"))
    for provider in ("anthropic", "openai"):
        with codey.stream("hi", cache=True, **kwargs_for(fake, provider)) as stream:
            "".join(stream)
        assert stream.usage is not None
        assert (stream.usage.cache_read_tokens, stream.usage.cache_write_tokens) == (None, None)


@pytest.mark.parametrize("provider", ["openai", "xai"])
def test_chat_completions_caches_by_itself_and_reports_cached_tokens(
    fake: FakeProvider, provider: str
) -> None:
    usage = UsageStep(input_tokens=2000, output_tokens=5, cache_read_tokens=1920)
    fake.push(answer("ok", usage=None), answer("ok", usage=None))
    fake.push(events(Text("ok"), Finish(), usage, Done()))
    codey.complete("hi", **kwargs_for(fake, provider))
    codey.complete("hi", cache=True, **kwargs_for(fake, provider))
    plain, cached = fake.requests[-2:]
    assert cached.json == plain.json  # nothing to mark: the service caches long prompts itself
    with codey.stream("hi", cache=True, **kwargs_for(fake, provider)) as stream:
        "".join(stream)
    assert stream.usage == codey.Usage(2000, 5, cache_read_tokens=1920)


def test_deepseek_cache_hits_count_as_cache_reads(fake: FakeProvider) -> None:
    chunk = {
        "choices": [],
        "usage": {"prompt_tokens": 90, "completion_tokens": 3, "prompt_cache_hit_tokens": 64},
    }
    fake.push(events(Text("ok"), Finish(), Raw(f"data: {json.dumps(chunk)}\n\n"), Done()))
    with codey.stream(
        "hi", model="deepseek-chat", api_key="k", base_url=fake.base_url("openai")
    ) as s:
        "".join(s)
    assert s.usage == codey.Usage(90, 3, cache_read_tokens=64)


def test_cache_must_be_a_bool(fake: FakeProvider) -> None:
    with pytest.raises(TypeError, match=r"(?i)cache must be true or false"):
        codey.stream("hi", cache="yes", **kwargs_for(fake, "anthropic"))  # type: ignore[arg-type]
    assert fake.requests == []
