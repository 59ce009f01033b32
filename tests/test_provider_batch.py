"""codey.batch(provider_batch=True): OpenAI's Batch API and Anthropic's Message Batches,
against the fake provider's batch endpoints: submit, poll, collect, resume."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Optional

import pytest
import requests

import codey
from codey.testing import FakeProvider, RecordedRequest, Reply, answer, error, expired
from tests.conftest import FAKE_KEY

PROVIDERS = {"openai": "gpt-4.1", "anthropic": "claude-sonnet-4-0"}


def echo(request: RecordedRequest) -> Reply:
    assert request.json is not None
    content = request.json["messages"][-1]["content"]
    return answer("echo: ", content if isinstance(content, str) else content[-1]["text"])


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def by_id(path: Path) -> dict[str, dict[str, Any]]:
    return {record["id"]: record for record in records(path)}


def options(fake: FakeProvider, provider: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": PROVIDERS[provider],
        "api_key": FAKE_KEY,
        "base_url": fake.base_url(provider),
        "poll_interval": 0.01,
        "connect_timeout": 2.0,
        "chunk_timeout": 2.0,
        **extra,
    }


def state_of(out: Path) -> Path:
    return out.with_name(out.name + ".provider-batch.json")


def write_state(
    fake: FakeProvider,
    out: Path,
    lines: dict[str, list[str]],
    *,
    creating: bool,
    provider: str = "openai",
    created_after: Optional[float] = None,
) -> None:
    """The state file of a run that stopped before it heard back from a create."""
    batch = {
        "provider": provider,
        "base_url": fake.base_url(provider),
        "created_after": created_after,
        "token": "0123456789abcdef",
        "lines": lines,
        "id": None,
        "creating": creating,
        "collected": False,
    }
    state = {"format": "codey provider batch", "version": 1, "batches": [batch]}
    state_of(out).write_text(json.dumps(state), encoding="utf-8")


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "out.jsonl"


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
class TestBothProviders:
    def test_every_line_answered_through_one_batch(
        self, fake: FakeProvider, out: Path, provider: str
    ) -> None:
        fake.responder = echo
        lines = [{"id": "a", "prompt": "one"}, {"id": "b", "prompt": "two"}, "three"]
        summary = codey.batch(
            lines, out, provider_batch=True, system="be brief", **options(fake, provider)
        )
        assert (summary.done, summary.failed, summary.total) == (3, 0, 3)
        assert summary.ok
        assert (summary.input_tokens, summary.output_tokens) == (30, 15)
        [batch] = fake.batches
        assert list(summary.provider_batches) == [batch.id]
        assert batch.provider == provider
        assert batch.custom_ids == ("a", "b", "3")
        found = by_id(out)
        assert set(found) == {"a", "b", "3"}
        record = found["b"]
        assert record["text"] == "echo: two"
        assert record["model"] == PROVIDERS[provider]
        assert record["finish_reason"] == ("stop" if provider == "openai" else "end_turn")
        assert record["usage"] == {"input_tokens": 10, "output_tokens": 5}
        assert record["batch"] == batch.id
        assert list(record["timings"]) == ["to_first_text", "total", "retries"]
        # What went into the batch is what stream() sends, less the streaming.
        body = batch.requests[0].json
        assert body["model"] == PROVIDERS[provider]
        assert "stream" not in body
        assert "stream_options" not in body
        if provider == "openai":
            assert body["messages"][0] == {"role": "system", "content": "be brief"}
        else:
            assert body["system"] == "be brief"
            assert body["max_tokens"] > 0
        assert not state_of(out).exists()  # collected: nothing in flight

    def test_failed_lines_get_error_records_and_run_again_alone(
        self, fake: FakeProvider, out: Path, provider: str
    ) -> None:
        fake.push(answer("fine"), error(400, "bad prompt"), expired(), answer("fine too"))
        summary = codey.batch(
            ["p1", "p2", "p3", "p4"], out, provider_batch=True, **options(fake, provider)
        )
        assert (summary.done, summary.failed) == (2, 2)
        assert summary.errors == {"configuration": 1, "busy": 1}
        found = by_id(out)
        assert found["1"]["text"] == "fine"
        assert found["4"]["text"] == "fine too"
        bad = found["2"]["error"]
        assert bad["type"] == "BadRequestError"
        assert bad["status_code"] == 400
        assert bad["kind"] == "configuration"
        assert "bad prompt" in bad["message"]
        late = found["3"]["error"]
        assert late["type"] == "ProviderBatchError"
        assert late["kind"] == "busy"
        assert "expired" in late["message"]
        # Run again: only the two failures are submitted, and then answered.
        fake.responder = echo
        again = codey.batch(
            ["p1", "p2", "p3", "p4"], out, provider_batch=True, **options(fake, provider)
        )
        assert (again.done, again.failed, again.skipped) == (2, 0, 2)
        assert fake.batches[1].custom_ids == ("2", "3")
        assert codey.read_batch_output(out)["3"]["text"] == "echo: p3"

    def test_interrupted_while_polling_then_resumed(
        self, fake: FakeProvider, out: Path, provider: str
    ) -> None:
        fake.responder = echo
        fake.batch_polls = 3

        def stop(summary: codey.BatchSummary) -> None:
            if summary.provider_batches:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            codey.batch(
                ["x", "y"], out, provider_batch=True, on_progress=stop, **options(fake, provider)
            )
        state = state_of(out).read_text(encoding="utf-8")
        [batch] = fake.batches
        assert batch.id in state
        assert FAKE_KEY not in state  # the key is read again when resumed
        assert out.read_text(encoding="utf-8") == ""
        # Without resume, codey refuses to pay twice.
        with pytest.raises(codey.BatchOutputError, match="in flight"):
            codey.batch(["x", "y"], out, provider_batch=True, **options(fake, provider))
        with pytest.raises(codey.BatchOutputError, match="resume"):
            codey.batch(["x", "y"], out, **options(fake, provider))  # nor streams them
        summary = codey.batch([], out, resume=True, **options(fake, provider))
        assert (summary.done, summary.failed, summary.total) == (2, 0, 2)
        assert len(fake.batches) == 1  # the same batch, polled again
        assert {r["id"]: r["text"] for r in records(out)} == {"1": "echo: x", "2": "echo: y"}
        assert not state_of(out).exists()

    def test_resume_with_nothing_in_flight_streams(
        self, fake: FakeProvider, out: Path, provider: str
    ) -> None:
        """resume=True finds no state file: a plain batch, streamed, as if not given."""
        fake.responder = echo
        summary = codey.batch(["x"], out, resume=True, **options(fake, provider))
        assert (summary.done, summary.failed, summary.provider_batches) == (1, 0, {})
        assert len(fake.batches) == 0
        [record] = records(out)
        assert record["text"] == "echo: x"
        assert "batch" not in record
        assert record["timings"]["total"] is not None  # streamed: timed
        assert not state_of(out).exists()

    def test_a_cancelled_batch_fails_its_lines(
        self, fake: FakeProvider, out: Path, provider: str
    ) -> None:
        fake.responder = echo
        fake.batch_polls = 2

        def cancel(summary: codey.BatchSummary) -> None:
            for batch_id, status in summary.provider_batches.items():
                if status not in ("cancelling", "canceling", "cancelled", "ended"):
                    path = "/v1/messages/batches" if provider == "anthropic" else "/batches"
                    url = f"{fake.base_url(provider)}{path}/{batch_id}/cancel"
                    requests.post(url, timeout=5).raise_for_status()

        summary = codey.batch(
            ["x", "y"], out, provider_batch=True, on_progress=cancel, **options(fake, provider)
        )
        assert (summary.done, summary.failed) == (0, 2)
        assert summary.errors == {"other": 2}
        for record in records(out):
            assert record["error"]["type"] == "ProviderBatchError"
            assert "cancelled" in record["error"]["message"]


class TestSubmission:
    def test_lines_done_are_not_submitted(self, fake: FakeProvider, out: Path) -> None:
        fake.responder = echo
        codey.batch(["a", "b"], out, **options(fake, "openai", poll_interval=None))
        summary = codey.batch(["a", "b", "c"], out, provider_batch=True, **options(fake, "openai"))
        assert (summary.done, summary.skipped) == (1, 2)
        assert fake.batches[0].custom_ids == ("3",)
        assert by_id(out)["3"]["text"] == "echo: c"

    def test_one_batch_per_provider_with_the_keys_from_the_environment(
        self, fake_env: FakeProvider, out: Path
    ) -> None:
        fake_env.responder = echo
        lines = [
            {"id": "o", "prompt": "to openai", "model": "gpt-4.1"},
            {"id": "c", "prompt": "to anthropic", "model": "claude-sonnet-4-0"},
        ]
        summary = codey.batch(lines, out, provider_batch=True, poll_interval=0.01)
        assert summary.done == 2
        assert sorted(batch.provider for batch in fake_env.batches) == ["anthropic", "openai"]
        found = by_id(out)
        assert found["o"]["text"] == "echo: to openai"
        assert found["c"]["text"] == "echo: to anthropic"
        creates = [r for r in fake_env.requests if r.method == "POST"]
        keys = {r.headers["authorization"] or r.headers["x-api-key"] for r in creates}
        assert keys <= {"Bearer sk-fake-key", "sk-fake-key"}
        assert len(keys) == 2

    def test_one_openai_batch_per_model_and_resumed_as_such(
        self, fake: FakeProvider, out: Path
    ) -> None:
        """An OpenAI input file holds requests to one model (the fake fails a mixed
        one, as OpenAI does): a batch per model, each resumed on its own."""
        fake.responder = lambda request: answer(f"{request.model}: ok")
        fake.batch_polls = 3
        lines = [
            {"id": "a", "prompt": "x", "model": "gpt-4.1"},
            {"id": "b", "prompt": "y", "model": "gpt-4.1-mini"},
            {"id": "c", "prompt": "z", "model": "gpt-4.1"},
            {"id": "d", "prompt": "w", "model": "anthropic:claude-sonnet-4-0"},
        ]

        def stop(summary: codey.BatchSummary) -> None:
            if summary.provider_batches:
                raise KeyboardInterrupt

        kwargs = options(fake, "openai", base_url=None)
        with pytest.MonkeyPatch.context() as patch:
            for name, value in fake.env().items():
                patch.setenv(name, value)
            with pytest.raises(KeyboardInterrupt):
                codey.batch(lines, out, provider_batch=True, on_progress=stop, **kwargs)
            state = json.loads(state_of(out).read_text(encoding="utf-8"))
            models = sorted(sorted({m for _, m in b["lines"].values()}) for b in state["batches"])
            assert models == [["claude-sonnet-4-0"], ["gpt-4.1"], ["gpt-4.1-mini"]]
            summary = codey.batch([], out, resume=True, **kwargs)
        assert (summary.done, summary.failed) == (4, 0)
        openai = {
            batch.custom_ids: batch.status for batch in fake.batches if batch.provider == "openai"
        }
        assert openai == {("a", "c"): "completed", ("b",): "completed"}
        assert {r["id"]: r["text"] for r in records(out)} == {
            "a": "gpt-4.1: ok",
            "b": "gpt-4.1-mini: ok",
            "c": "gpt-4.1: ok",
            "d": "claude-sonnet-4-0: ok",
        }

    def test_the_openai_input_file_is_uploaded_as_multipart(
        self, fake: FakeProvider, out: Path
    ) -> None:
        fake.responder = echo
        codey.batch(["hello"], out, provider_batch=True, **options(fake, "openai"))
        upload, create = [r for r in fake.requests if r.method == "POST"]
        assert upload.path.endswith("/files")
        assert upload.headers["content-type"].startswith("multipart/form-data; boundary=")
        assert b'name="purpose"' in upload.body
        assert b"batch" in upload.body
        assert create.json["endpoint"] == "/v1/chat/completions"
        assert create.json["completion_window"] == "24h"
        assert set(create.json["metadata"]) == {"codey_token"}
        assert create.headers["authorization"] == f"Bearer {FAKE_KEY}"

    def test_a_provider_without_a_batch_api_fails_its_lines(
        self, fake: FakeProvider, out: Path
    ) -> None:
        lines = [{"id": "g", "prompt": "hi", "model": "grok-4.3"}]
        summary = codey.batch(lines, out, provider_batch=True, **options(fake, "openai"))
        assert (summary.done, summary.failed) == (0, 1)
        [record] = records(out)
        assert record["error"]["kind"] == "configuration"
        assert "no batch API" in record["error"]["message"]
        assert fake.batches == []
        assert fake.requests == []
        assert not state_of(out).exists()

    def test_ids_that_no_provider_takes_are_mapped(self, fake: FakeProvider, out: Path) -> None:
        fake.responder = echo
        lines = [
            {"id": "has space", "prompt": "a"},
            {"id": "x" * 65, "prompt": "b"},
            {"id": "line-1", "prompt": "c"},
        ]
        codey.batch(lines, out, provider_batch=True, **options(fake, "anthropic"))
        assert fake.batches[0].custom_ids == ("line-1", "line-2", "line-3-2")
        found = by_id(out)
        assert found["has space"]["text"] == "echo: a"
        assert found["x" * 65]["text"] == "echo: b"
        assert found["line-1"]["text"] == "echo: c"

    def test_a_create_left_unanswered_at_anthropic_is_not_guessed(
        self, fake: FakeProvider, out: Path
    ) -> None:
        write_state(
            fake, out, {"line-1": ["1", "claude-sonnet-4-0"]}, creating=True, provider="anthropic"
        )
        with pytest.raises(codey.BatchOutputError, match="cannot tell whether it was created"):
            codey.batch(["a"], out, resume=True, **options(fake, "anthropic"))
        assert fake.requests == []
        assert state_of(out).exists()

    def test_a_create_left_unanswered_at_openai_is_found_by_its_token(
        self, fake: FakeProvider, out: Path
    ) -> None:
        # The run stopped after OpenAI created the batch, before it heard the id.
        fake.responder = echo
        fake.batch_polls = 0
        api = f"{fake.base_url('openai')}"
        line = {
            "custom_id": "1",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "gpt-4.1", "messages": [{"role": "user", "content": "a"}]},
        }
        upload = requests.post(
            f"{api}/files",
            data={"purpose": "batch"},
            timeout=5,
            files={"file": ("in.jsonl", json.dumps(line).encode())},
        )
        requests.post(f"{api}/batches", timeout=5, json={
            "input_file_id": upload.json()["id"], "endpoint": "/v1/chat/completions",
            "completion_window": "24h", "metadata": {"codey_token": "0123456789abcdef"},
        }).raise_for_status()  # fmt: skip
        write_state(fake, out, {"1": ["1", "gpt-4.1"]}, creating=True, created_after=time.time())
        summary = codey.batch([], out, resume=True, **options(fake, "openai"))
        assert (summary.done, summary.failed) == (1, 0)
        assert len(fake.batches) == 1  # found, not created again
        assert records(out)[0]["text"] == "echo: a"
        assert records(out)[0]["batch"] == fake.batches[0].id
        assert not state_of(out).exists()

    def test_a_create_openai_never_saw_fails_its_lines_for_the_next_run(
        self, fake: FakeProvider, out: Path
    ) -> None:
        write_state(fake, out, {"1": ["1", "gpt-4.1"]}, creating=True, created_after=time.time())
        summary = codey.batch([], out, resume=True, **options(fake, "openai"))
        assert (summary.done, summary.failed) == (0, 1)
        assert "never created" in records(out)[0]["error"]["message"]
        assert [(r.method, r.path.partition("?")[0]) for r in fake.requests] == [
            ("GET", "/openai/v1/batches")
        ]
        assert fake.batches == []
        assert not state_of(out).exists()

    def test_a_state_file_that_is_not_one(self, fake: FakeProvider, out: Path) -> None:
        state_of(out).write_text("{}", encoding="utf-8")
        with pytest.raises(codey.BatchOutputError, match="not a provider batch state"):
            codey.batch(["a"], out, resume=True, **options(fake, "openai"))

    def test_bad_arguments(self, fake: FakeProvider, out: Path) -> None:
        with pytest.raises(ValueError, match="poll_interval"):
            codey.batch(["a"], out, provider_batch=True, **options(fake, "openai", poll_interval=0))
        lines = [{"id": "f", "prompt": "a", "options": {"fallbacks": ["gpt-4o"]}}]
        summary = codey.batch(lines, out, provider_batch=True, **options(fake, "openai"))
        assert "fall back" in records(out)[0]["error"]["message"]
        assert summary.failed == 1


class TestCollection:
    def test_results_at_another_host_are_not_fetched_with_the_key(
        self, fake: FakeProvider, out: Path
    ) -> None:
        # The fake names its results at 127.0.0.1; the client was pointed at localhost.
        fake.responder = echo
        local = fake.base_url("anthropic").replace("127.0.0.1", "localhost")
        with pytest.raises(codey.ProviderBatchError, match="another host"):
            codey.batch(
                ["a"], out, provider_batch=True, **options(fake, "anthropic", base_url=local)
            )
        assert not any(r.path.endswith("/results") for r in fake.requests)
        assert state_of(out).exists()  # still in flight: resume with the right URL

    def test_a_batch_never_created_fails_its_lines_for_the_next_run(
        self, fake: FakeProvider, out: Path
    ) -> None:
        write_state(fake, out, {"a": ["a", "gpt-4.1"]}, creating=False)
        summary = codey.batch([], out, resume=True, **options(fake, "openai"))
        assert (summary.done, summary.failed) == (0, 1)
        [record] = records(out)
        assert record["error"]["type"] == "ProviderBatchError"
        assert "never created" in record["error"]["message"]
        assert not state_of(out).exists()
        assert fake.requests == []
        fake.responder = echo
        again = codey.batch(
            [{"id": "a", "prompt": "hi"}], out, provider_batch=True, **options(fake, "openai")
        )
        assert again.done == 1
        assert codey.read_batch_output(out)["a"]["text"] == "echo: hi"


# In a process of its own, so that what the fake provider keeps is not counted.
_MEMORY_CHILD = """
import json, sys, tracemalloc
import codey
from codey._batch._provider import _apis

base_url, key, out, provider = sys.argv[1:5]
models = {"openai": "gpt-4.1", "anthropic": "claude-sonnet-4-0"}
for api in (_apis.OpenAIBatches, _apis.AnthropicBatches):
    api.max_bytes = 2 * 1024 * 1024  # batches of 2 MB: 20 MB of requests make ten or more
prompt = "x" * 500_000

def lines():
    for i in range(40):
        yield {"id": f"p{i}", "prompt": f"{i} {prompt}"}

tracemalloc.start()
summary = codey.batch(
    lines(), out, provider_batch=True, model=models[provider], api_key=key,
    base_url=base_url, poll_interval=0.01, connect_timeout=5.0, chunk_timeout=5.0,
)
peak = tracemalloc.get_traced_memory()[1]
print(json.dumps({"done": summary.done, "failed": summary.failed, "peak": peak}))
"""


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_the_requests_wait_on_disk(fake: FakeProvider, tmp_path: Path, provider: str) -> None:
    """20 MB of requests in batches of 2 MB: memory holds about one batch, not all."""
    import subprocess
    import sys

    from tests.helpers import ROOT

    fake.responder = lambda request: answer("ok")
    out = tmp_path / "out.jsonl"
    args = [fake.base_url(provider), FAKE_KEY, str(out), provider]
    result = subprocess.run(
        [sys.executable, "-c", _MEMORY_CHILD, *args],
        capture_output=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    report = json.loads(result.stdout.decode().strip().splitlines()[-1])
    assert (report["done"], report["failed"]) == (40, 0)
    assert len(fake.batches) >= 10
    assert sorted(by_id(out)) == sorted(f"p{i}" for i in range(40))
    # One batch of 2 MB read back, joined and sent (multipart for OpenAI) comes to about
    # 14 MB at the peak; every request held at once came to 31 MB.
    assert report["peak"] < 20 * 1024 * 1024, report["peak"]
