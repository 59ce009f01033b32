"""Provider batches on the fake: OpenAI's Files and Batches, Anthropic's Message
Batches, spoken over real HTTP with plain requests."""

from __future__ import annotations

import json
import re
import threading
from typing import Any

import pytest
import requests

from codey.testing import (
    ErrorEvent,
    FakeBatch,
    FakeProvider,
    Reasoning,
    RecordedRequest,
    Reply,
    Stall,
    Text,
    ToolCall,
    UsageStep,
    answer,
    error,
    events,
    expired,
)
from codey.testing._requests import _route
from tests.testing.wire import post

TIMEOUT = 5
NULL_TIMES = (
    "finalizing_at",
    "completed_at",
    "failed_at",
    "expired_at",
    "cancelling_at",
    "cancelled_at",
)

# -------------------------------------------------------------------- helpers


def chat_line(custom_id: str, content: str = "hi", model: str = "gpt-test") -> dict[str, Any]:
    body = {"model": model, "messages": [{"role": "user", "content": content}]}
    return {"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body}


def jsonl(lines: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode("utf-8")


def parse_jsonl(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line]


def upload(fake: FakeProvider, data: bytes, purpose: str = "batch") -> requests.Response:
    return requests.post(
        fake.base_url("openai") + "/files",
        data={"purpose": purpose},
        files={"file": ("input.jsonl", data, "application/jsonl")},
        timeout=TIMEOUT,
    )


def create_openai(fake: FakeProvider, file_id: str, **extra: Any) -> requests.Response:
    body = {"input_file_id": file_id, "endpoint": "/v1/chat/completions"}
    body.update(completion_window="24h", **extra)
    return requests.post(fake.base_url("openai") + "/batches", json=body, timeout=TIMEOUT)


def openai_batch(fake: FakeProvider, lines: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """Upload ``lines`` and create a batch of them: the create reply."""
    file_id = upload(fake, jsonl(lines)).json()["id"]
    response = create_openai(fake, file_id, **extra)
    assert response.status_code == 200, response.text
    return dict(response.json())


def get_openai(fake: FakeProvider, batch_id: str) -> dict[str, Any]:
    response = requests.get(f"{fake.base_url('openai')}/batches/{batch_id}", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return dict(response.json())


def file_lines(fake: FakeProvider, file_id: str) -> list[dict[str, Any]]:
    url = f"{fake.base_url('openai')}/files/{file_id}/content"
    response = requests.get(url, timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    return parse_jsonl(response.content)


def anthropic_url(fake: FakeProvider, tail: str = "") -> str:
    return fake.base_url("anthropic") + "/v1/messages/batches" + tail


def message_request(custom_id: str, content: str = "hi") -> dict[str, Any]:
    params = {"model": "claude-test", "max_tokens": 10}
    params["messages"] = [{"role": "user", "content": content}]
    return {"custom_id": custom_id, "params": params}


def create_anthropic(fake: FakeProvider, custom_ids: list[str]) -> requests.Response:
    body = {"requests": [message_request(custom_id) for custom_id in custom_ids]}
    return requests.post(anthropic_url(fake), json=body, timeout=TIMEOUT)


def get_anthropic(fake: FakeProvider, batch_id: str) -> dict[str, Any]:
    response = requests.get(anthropic_url(fake, f"/{batch_id}"), timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return dict(response.json())


# --------------------------------------------------------------------- OpenAI


def test_openai_upload_and_file_routes(fake: FakeProvider) -> None:
    data = jsonl([chat_line("a")])
    response = upload(fake, data)
    assert response.status_code == 200
    stored = response.json()
    assert re.fullmatch(r"file-[0-9a-f]+", stored["id"])
    assert isinstance(stored.pop("created_at"), int)
    assert stored == {
        "id": stored["id"],
        "object": "file",
        "bytes": len(data),
        "filename": "input.jsonl",
        "purpose": "batch",
        "status": "processed",
        "expires_at": None,
        "status_details": None,
    }
    base = fake.base_url("openai")
    assert requests.get(f"{base}/files/{stored['id']}", timeout=TIMEOUT).json()["bytes"] == len(
        data
    )
    content = requests.get(f"{base}/files/{stored['id']}/content", timeout=TIMEOUT)
    assert content.content == data  # byte for byte
    missing = requests.get(f"{base}/files/file-nope/content", timeout=TIMEOUT)
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {
            "message": "No such File object: file-nope",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }
    wrong = upload(fake, data, purpose="fine-tune")
    assert wrong.status_code == 400
    assert wrong.json()["error"]["type"] == "invalid_request_error"
    not_multipart = requests.post(f"{base}/files", json={"purpose": "batch"}, timeout=TIMEOUT)
    assert not_multipart.status_code == 400


def test_openai_whole_flow(fake: FakeProvider) -> None:
    lines = [chat_line(f"req-{n}", content=f"q{n}") for n in range(5)]
    fake.push(
        answer("Hel", "lo", usage=(7, 3)),
        error(429, "slow down"),
        expired(),
        answer(tool_calls=[ToolCall(0, name="get", arguments=['{"city"', ': "Oslo"}'])]),
        events(Text("a"), Text("b"), Text("c")),  # no usage, no finish
    )
    created = openai_batch(fake, lines, metadata={"job": "nightly"})
    assert re.fullmatch(r"batch_[0-9a-f]+", created["id"])
    assert created["object"] == "batch"
    assert created["status"] == "validating"
    assert created["endpoint"] == "/v1/chat/completions"
    assert created["completion_window"] == "24h"
    assert created["expires_at"] == created["created_at"] + 24 * 3600
    assert created["request_counts"] == {"total": 5, "completed": 0, "failed": 0}
    assert created["metadata"] == {"job": "nightly"}
    for name in ("errors", "output_file_id", "error_file_id", "in_progress_at", *NULL_TIMES):
        assert created[name] is None, name
    assert fake.pending == 5  # nothing ran yet

    polled = get_openai(fake, created["id"])
    assert polled["status"] == "in_progress"
    assert isinstance(polled["in_progress_at"], int)
    assert fake.pending == 5

    done = get_openai(fake, created["id"])
    assert fake.pending == 0
    assert done["status"] == "expired"  # one item expired
    assert isinstance(done["expired_at"], int)
    assert isinstance(done["finalizing_at"], int)
    assert done["completed_at"] is None
    assert done["request_counts"] == {"total": 5, "completed": 3, "failed": 2}
    assert get_openai(fake, created["id"]) == done  # ended: polling changes nothing

    output = file_lines(fake, done["output_file_id"])
    failed = file_lines(fake, done["error_file_id"])
    ids = [line["custom_id"] for line in output + failed]
    assert sorted(ids) == [f"req-{n}" for n in range(5)]  # each exactly once
    assert [line["custom_id"] for line in output] != ["req-0", "req-3", "req-4"]  # not input order
    by_id = {line["custom_id"]: line for line in output + failed}
    for line in by_id.values():
        assert re.fullmatch(r"batch_req_[0-9a-f]+", line["id"])
        assert list(line) == ["id", "custom_id", "response", "error"]

    first = by_id["req-0"]
    assert first["error"] is None
    assert first["response"]["status_code"] == 200
    assert re.fullmatch(r"req_[0-9a-f]+", first["response"]["request_id"])
    completion = first["response"]["body"]
    assert re.fullmatch(r"chatcmpl-[0-9a-f]+", completion["id"])
    assert isinstance(completion.pop("created"), int)
    assert completion == {
        "id": completion["id"],
        "object": "chat.completion",
        "model": "gpt-test",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello", "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10},
        "system_fingerprint": None,
    }

    limited = by_id["req-1"]
    assert limited["error"] is None
    assert limited["response"]["status_code"] == 429
    assert limited["response"]["body"]["error"]["message"] == "slow down"
    assert limited["response"]["body"]["error"]["code"] == "rate_limit_exceeded"

    assert by_id["req-2"]["response"] is None
    assert by_id["req-2"]["error"] == {
        "code": "batch_expired",
        "message": "This request could not be executed before the completion window expired.",
    }

    tool = by_id["req-3"]["response"]["body"]["choices"][0]
    assert tool["finish_reason"] == "tool_calls"
    assert tool["message"]["content"] is None
    assert tool["message"]["tool_calls"] == [
        {
            "id": "call_fake_0",
            "type": "function",
            "function": {"name": "get", "arguments": '{"city": "Oslo"}'},
        }
    ]
    plain = by_id["req-4"]["response"]["body"]
    assert plain["choices"][0]["message"]["content"] == "abc"
    assert plain["usage"] == {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}

    output_file = requests.get(
        f"{fake.base_url('openai')}/files/{done['output_file_id']}", timeout=TIMEOUT
    )
    assert output_file.json()["purpose"] == "batch_output"


def test_openai_completed_has_no_empty_error_file(fake: FakeProvider) -> None:
    fake.default = answer("ok")
    created = openai_batch(fake, [chat_line("x"), chat_line("y")])
    get_openai(fake, created["id"])
    done = get_openai(fake, created["id"])
    assert done["status"] == "completed"
    assert isinstance(done["completed_at"], int)
    assert done["expired_at"] is None
    assert done["error_file_id"] is None
    assert done["request_counts"] == {"total": 2, "completed": 2, "failed": 0}
    assert [line["custom_id"] for line in file_lines(fake, done["output_file_id"])] == ["y", "x"]


def test_openai_all_failed_has_no_output_file(fake: FakeProvider) -> None:
    fake.batch_polls = 0
    fake.default = error(500, "boom")
    done = openai_batch(fake, [chat_line("x")])
    assert done["status"] == "completed"
    assert done["output_file_id"] is None
    [line] = file_lines(fake, done["error_file_id"])
    assert line["response"]["status_code"] == 500
    assert line["response"]["body"]["error"]["type"] == "server_error"


def test_openai_input_file_of_several_models_fails_the_batch(fake: FakeProvider) -> None:
    """ "Each input file can only include requests to a single model" (OpenAI's guide)."""
    lines = [chat_line("a"), chat_line("b", model="gpt-other"), chat_line("c")]
    created = openai_batch(fake, lines)
    failed = get_openai(fake, created["id"])
    assert failed["status"] == "failed"
    errors = failed["errors"]["data"]
    assert [(e["line"], e["code"]) for e in errors] == [(2, "mismatched_model")]
    assert "gpt-other" in errors[0]["message"]
    assert fake.batches[0].custom_ids == ()


def test_openai_invalid_input_file_fails_the_batch(fake: FakeProvider) -> None:
    data = b"\n".join(
        [
            json.dumps(chat_line("ok")).encode(),
            b"{not json",
            json.dumps({**chat_line("x"), "custom_id": 7}).encode(),
            json.dumps(chat_line("ok")).encode(),  # a duplicate
            json.dumps({**chat_line("y"), "url": "/v1/embeddings"}).encode(),
            b"",
            json.dumps({**chat_line("z"), "method": "GET"}).encode(),
        ]
    )
    file_id = upload(fake, data).json()["id"]
    created = create_openai(fake, file_id).json()
    assert created["status"] == "validating"
    assert created["request_counts"]["total"] == 6  # the blank line is no request
    failed = get_openai(fake, created["id"])
    assert failed["status"] == "failed"
    assert isinstance(failed["failed_at"], int)
    assert failed["in_progress_at"] is None
    errors = failed["errors"]
    assert errors["object"] == "list"
    assert [(e["line"], e["code"]) for e in errors["data"]] == [
        (2, "invalid_json_line"),
        (3, "missing_required_parameter"),
        (4, "duplicate_custom_id"),
        (5, "invalid_url"),
        (7, "invalid_method"),
    ]
    assert all(e["param"] is None and e["message"] for e in errors["data"])
    assert get_openai(fake, created["id"])["status"] == "failed"
    assert fake.batches[0].custom_ids == ()
    assert fake.batches[0].requests == ()


def test_openai_create_errors(fake: FakeProvider) -> None:
    file_id = upload(fake, jsonl([chat_line("a")])).json()["id"]
    unknown = create_openai(fake, "file-missing")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"] == "No such File object: file-missing"
    other = requests.post(
        fake.base_url("openai") + "/batches",
        json={"input_file_id": file_id, "endpoint": "/v1/embeddings", "completion_window": "24h"},
        timeout=TIMEOUT,
    )
    assert other.status_code == 400
    assert other.json()["error"]["type"] == "invalid_request_error"
    assert create_openai(fake, file_id, metadata={"n": 1}).status_code == 400
    missing = requests.get(fake.base_url("openai") + "/batches/batch_nope", timeout=TIMEOUT)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] is None
    assert fake.batches == []
    assert len(fake.requests) == 5  # each one recorded, 404s and 400s included


def test_openai_cancel(fake: FakeProvider) -> None:
    fake.push(answer("never"))
    created = openai_batch(fake, [chat_line("a"), chat_line("b")])
    base = fake.base_url("openai")
    cancelling = requests.post(f"{base}/batches/{created['id']}/cancel", timeout=TIMEOUT).json()
    assert cancelling["status"] == "cancelling"
    assert isinstance(cancelling["cancelling_at"], int)
    assert cancelling["cancelled_at"] is None
    assert fake.batches[0].status == "cancelling"
    cancelled = get_openai(fake, created["id"])
    assert cancelled["status"] == "cancelled"
    assert isinstance(cancelled["cancelled_at"], int)
    assert fake.pending == 1  # no item ran
    assert cancelled["output_file_id"] is None
    lines = file_lines(fake, cancelled["error_file_id"])
    assert sorted(line["custom_id"] for line in lines) == ["a", "b"]
    assert {line["error"]["code"] for line in lines} == {"batch_cancelled"}
    assert cancelled["request_counts"] == {"total": 2, "completed": 0, "failed": 2}
    again = requests.post(f"{base}/batches/{created['id']}/cancel", timeout=TIMEOUT)
    assert again.status_code == 200
    assert again.json()["status"] == "cancelled"

    fake.batch_polls = 0
    done = openai_batch(fake, [chat_line("c")])
    assert done["status"] == "completed"
    late = requests.post(f"{base}/batches/{done['id']}/cancel", timeout=TIMEOUT)
    assert late.status_code == 409
    assert late.json()["error"]["type"] == "invalid_request_error"


def test_openai_list(fake: FakeProvider) -> None:
    ids = [openai_batch(fake, [chat_line("a")])["id"] for _ in range(3)]
    create_anthropic(fake, ["other"])  # not an OpenAI batch: not listed
    base = fake.base_url("openai")
    page = requests.get(f"{base}/batches?limit=2", timeout=TIMEOUT).json()
    assert page["object"] == "list"
    assert [batch["id"] for batch in page["data"]] == [ids[2], ids[1]]  # newest first
    assert (page["first_id"], page["last_id"], page["has_more"]) == (ids[2], ids[1], True)
    rest = requests.get(f"{base}/batches?limit=2&after={ids[1]}", timeout=TIMEOUT).json()
    assert [batch["id"] for batch in rest["data"]] == [ids[0]]
    assert rest["has_more"] is False
    everything = requests.get(f"{base}/batches", timeout=TIMEOUT).json()
    assert [batch["id"] for batch in everything["data"]] == ids[::-1]
    assert all(batch["status"] == "validating" for batch in everything["data"])  # no poll
    assert requests.get(f"{base}/batches?limit=0", timeout=TIMEOUT).status_code == 400


# ------------------------------------------------------------------ Anthropic


def test_anthropic_whole_flow(fake: FakeProvider) -> None:
    fake.push(
        events(
            Reasoning("hm"),
            Text("It is "),
            Text("sunny."),
            ToolCall(1, id="toolu_1", name="weather", arguments=['{"city": ', '"Oslo"}']),
            UsageStep(12, 4, cache_read_tokens=2, cache_write_tokens=1),
        ),
        error(529, "busy"),
        expired(),
        answer("fine", finish_reason="max_tokens"),
    )
    response = create_anthropic(fake, ["w", "busy", "late", "ok"])
    assert response.status_code == 200
    created = response.json()
    assert re.fullmatch(r"msgbatch_[0-9a-f]+", created["id"])
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"
    assert re.fullmatch(stamp, created.pop("created_at"))
    assert re.fullmatch(stamp, created.pop("expires_at"))
    assert created == {
        "id": created["id"],
        "type": "message_batch",
        "processing_status": "in_progress",
        "request_counts": {
            "processing": 4,
            "succeeded": 0,
            "errored": 0,
            "canceled": 0,
            "expired": 0,
        },
        "ended_at": None,
        "archived_at": None,
        "cancel_initiated_at": None,
        "results_url": None,
    }
    early = requests.get(anthropic_url(fake, f"/{created['id']}/results"), timeout=TIMEOUT)
    assert early.status_code == 400
    assert early.json()["type"] == "error"
    assert get_anthropic(fake, created["id"])["processing_status"] == "in_progress"
    assert fake.pending == 4

    ended = get_anthropic(fake, created["id"])
    assert ended["processing_status"] == "ended"
    assert re.fullmatch(stamp, ended["ended_at"])
    assert ended["request_counts"] == {
        "processing": 0,
        "succeeded": 2,
        "errored": 1,
        "canceled": 0,
        "expired": 1,
    }
    url = f"{fake.url}/anthropic/v1/messages/batches/{created['id']}/results"
    assert ended["results_url"] == url
    results = requests.get(ended["results_url"], timeout=TIMEOUT)
    assert results.headers["content-type"] == "application/binary"
    lines = parse_jsonl(results.content)
    assert [line["custom_id"] for line in lines] == ["ok", "late", "busy", "w"]  # not input order
    by_id = {line["custom_id"]: line["result"] for line in lines}
    assert by_id["late"] == {"type": "expired"}
    assert by_id["busy"] == {
        "type": "errored",
        "error": {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}},
    }
    assert by_id["ok"]["message"]["stop_reason"] == "max_tokens"
    assert by_id["ok"]["message"]["content"] == [{"type": "text", "text": "fine"}]
    message = by_id["w"]["message"]
    assert by_id["w"]["type"] == "succeeded"
    assert re.fullmatch(r"msg_[0-9a-f]+", message["id"])
    assert message == {
        "id": message["id"],
        "type": "message",
        "role": "assistant",
        "model": "claude-test",
        "content": [
            {"type": "thinking", "thinking": "hm", "signature": "ZmFrZS1zaWduYXR1cmU="},
            {"type": "text", "text": "It is sunny."},
            {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Oslo"}},
        ],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 12,
            "output_tokens": 4,
            "cache_creation_input_tokens": 1,
            "cache_read_input_tokens": 2,
        },
    }


def test_anthropic_cancel(fake: FakeProvider) -> None:
    fake.default = answer("never")
    batch_id = create_anthropic(fake, ["a", "b", "c"]).json()["id"]
    canceling = requests.post(anthropic_url(fake, f"/{batch_id}/cancel"), timeout=TIMEOUT).json()
    assert canceling["processing_status"] == "canceling"
    assert canceling["cancel_initiated_at"] is not None
    assert canceling["ended_at"] is None
    ended = get_anthropic(fake, batch_id)
    assert ended["processing_status"] == "ended"
    assert ended["request_counts"]["canceled"] == 3
    assert ended["request_counts"]["processing"] == 0
    lines = parse_jsonl(requests.get(ended["results_url"], timeout=TIMEOUT).content)
    assert sorted(line["custom_id"] for line in lines) == ["a", "b", "c"]
    assert all(line["result"] == {"type": "canceled"} for line in lines)
    late = requests.post(anthropic_url(fake, f"/{batch_id}/cancel"), timeout=TIMEOUT)
    assert late.status_code == 400
    assert late.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    "requests_body",
    [
        [message_request("has space")],
        [message_request("x" * 65)],
        [message_request("")],
        [message_request("same"), message_request("same")],
        [{"custom_id": "no-model", "params": {"max_tokens": 1}}],
        [],
    ],
)
def test_anthropic_bad_batch_is_a_400(fake: FakeProvider, requests_body: list[Any]) -> None:
    response = requests.post(anthropic_url(fake), json={"requests": requests_body}, timeout=5)
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"]
    assert fake.batches == []


def test_anthropic_list_and_not_found(fake: FakeProvider) -> None:
    ids = [create_anthropic(fake, [f"r{n}"]).json()["id"] for n in range(3)]
    page = requests.get(anthropic_url(fake, "?limit=2"), timeout=TIMEOUT).json()
    assert set(page) == {"data", "has_more", "first_id", "last_id"}
    assert [batch["id"] for batch in page["data"]] == [ids[2], ids[1]]
    assert (page["first_id"], page["last_id"], page["has_more"]) == (ids[2], ids[1], True)
    older = requests.get(anthropic_url(fake, f"?after_id={ids[1]}"), timeout=TIMEOUT).json()
    assert [batch["id"] for batch in older["data"]] == [ids[0]]
    newer = requests.get(anthropic_url(fake, f"?before_id={ids[0]}"), timeout=TIMEOUT).json()
    assert [batch["id"] for batch in newer["data"]] == [ids[2], ids[1]]
    missing = requests.get(anthropic_url(fake, "/msgbatch_nope"), timeout=TIMEOUT)
    assert missing.status_code == 404
    assert missing.json()["error"]["type"] == "not_found_error"


# ------------------------------------------------------------------ both


def test_batch_polls_zero_ends_in_the_create_reply(fake: FakeProvider) -> None:
    fake.batch_polls = 0
    fake.default = answer("now")
    created = openai_batch(fake, [chat_line("a")])
    assert created["status"] == "completed"
    assert created["request_counts"] == {"total": 1, "completed": 1, "failed": 0}
    assert isinstance(created["in_progress_at"], int)
    [line] = file_lines(fake, created["output_file_id"])
    assert line["response"]["body"]["choices"][0]["message"]["content"] == "now"
    message_batch = create_anthropic(fake, ["a"]).json()
    assert message_batch["processing_status"] == "ended"
    assert message_batch["results_url"].endswith(f"/{message_batch['id']}/results")
    assert [batch.status for batch in fake.batches] == ["completed", "ended"]


def test_batch_polls_two_stays_in_progress_twice(fake: FakeProvider) -> None:
    fake.batch_polls = 2
    fake.default = answer("later")
    batch_id = create_anthropic(fake, ["a"]).json()["id"]
    statuses = [get_anthropic(fake, batch_id)["processing_status"] for _ in range(3)]
    assert statuses == ["in_progress", "in_progress", "ended"]
    created = openai_batch(fake, [chat_line("a")])
    statuses = [get_openai(fake, created["id"])["status"] for _ in range(3)]
    assert statuses == ["in_progress", "in_progress", "completed"]


def test_responder_sees_each_item_and_requests_stay_synthetic(fake: FakeProvider) -> None:
    seen: list[RecordedRequest] = []

    def respond(request: RecordedRequest) -> Reply:
        seen.append(request)
        return answer("echo: " + request.json["messages"][0]["content"])

    fake.responder = respond
    fake.push(answer("queued first"))
    created = openai_batch(fake, [chat_line("a", "one"), chat_line("b", "two"), chat_line("c")])
    get_openai(fake, created["id"])
    done = get_openai(fake, created["id"])
    contents = {
        line["custom_id"]: line["response"]["body"]["choices"][0]["message"]["content"]
        for line in file_lines(fake, done["output_file_id"])
    }
    assert contents == {"a": "queued first", "b": "echo: two", "c": "echo: hi"}
    assert [request.json["messages"][0]["content"] for request in seen] == ["two", "hi"]

    [batch] = fake.batches
    assert isinstance(batch, FakeBatch)
    assert batch.provider == "openai"
    assert batch.status == "completed"
    assert batch.custom_ids == ("a", "b", "c")
    assert batch.metadata is None
    assert [request.path for request in batch.requests] == ["/openai/v1/chat/completions"] * 3
    assert all(request.method == "POST" for request in batch.requests)
    assert batch.requests[1:] == tuple(seen)
    assert batch.requests[0].json == chat_line("a", "one")["body"]
    assert batch.requests[0].model == "gpt-test"
    paths = [request.path for request in fake.requests]
    assert "/openai/v1/chat/completions" not in paths
    assert len(paths) == 5  # upload, create, two polls, the output file

    seen.clear()
    create_anthropic(fake, ["m"])
    anthropic = fake.batches[1]
    get_anthropic(fake, anthropic.id)
    get_anthropic(fake, anthropic.id)
    assert [request.path for request in seen] == ["/anthropic/v1/messages"]
    assert seen[0].json["model"] == "claude-test"
    assert seen[0].provider == "anthropic"
    assert fake.batches[1].requests == tuple(seen)
    assert fake.batches[1].status == "ended"


def test_faults_in_a_batched_reply_make_a_500_item(fake: FakeProvider) -> None:
    fake.batch_polls = 0
    fake.push(events(Text("a"), Stall()), events(ErrorEvent("overloaded_error", "gone")))
    done = openai_batch(fake, [chat_line("stall"), chat_line("event")])
    by_id = {line["custom_id"]: line for line in file_lines(fake, done["error_file_id"])}
    assert by_id["stall"]["response"]["status_code"] == 500
    assert by_id["stall"]["response"]["body"]["error"]["type"] == "server_error"
    assert by_id["event"]["response"]["body"]["error"]["message"] == "gone"
    fake.push(events(Text("a"), Stall()))
    create_anthropic(fake, ["x"])
    results = requests.get(get_anthropic(fake, fake.batches[1].id)["results_url"], timeout=5)
    [line] = parse_jsonl(results.content)
    assert line["result"]["error"]["error"]["type"] == "api_error"


def test_a_streamed_request_taking_expired_gets_a_500(fake: FakeProvider) -> None:
    assert expired() == Reply(expired=True)
    fake.push(expired())
    response = post(fake)
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "server_error"


def test_batch_routes_come_before_the_generic_ones(fake: FakeProvider) -> None:
    assert _route("/openai/v1/batches/models") == ("openai", "batches")
    assert _route("/openai/v1/files/responses/content") == ("openai", "batches")
    assert _route("/anthropic/v1/messages/batches/x/results") == ("anthropic", "batches")
    assert _route("/v1/batches") == ("openai", "batches")
    assert _route("/xai/v1/batches") == ("xai", "")
    assert _route("/openai/v1/models") == ("openai", "models")
    response = requests.get(fake.base_url("openai") + "/batches/models", timeout=TIMEOUT)
    assert response.status_code == 404
    assert "No batch found" in response.json()["error"]["message"]
    wrong_method = requests.delete(anthropic_url(fake), timeout=TIMEOUT)
    assert wrong_method.status_code == 405


def test_concurrent_polls_run_each_item_once(fake: FakeProvider) -> None:
    fake.default = answer("once")
    created = openai_batch(fake, [chat_line(f"c{n}") for n in range(20)])
    get_openai(fake, created["id"])
    calls: list[str] = []
    lock = threading.Lock()

    def respond(request: RecordedRequest) -> Reply:
        with lock:
            calls.append(request.path)
        return answer("x")

    fake.responder = respond
    results: list[dict[str, Any]] = []
    threads = [
        threading.Thread(target=lambda: results.append(get_openai(fake, created["id"])))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert len(calls) == 20
    assert [result["status"] for result in results] == ["completed"] * 4
    assert len({result["output_file_id"] for result in results}) == 1
