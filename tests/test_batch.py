"""codey.batch(): the input, the records, resuming from the output file, and faults."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import codey
from codey._batch._files import OutputFile
from codey.testing import Close, FakeProvider, RecordedRequest, Reply, Stall, Text, answer, error
from codey.testing import events as script
from tests.conftest import FAKE_KEY
from tests.helpers import kwargs_for


def echo(request: RecordedRequest) -> Reply:
    """Answer each prompt with itself, so a record can be matched to its line."""
    assert request.json is not None
    return answer("echo: ", request.json["messages"][-1]["content"])


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "out.jsonl"


class TestRecords:
    def test_every_line_answered_with_the_exact_record_shape(
        self, fake: FakeProvider, out: Path
    ) -> None:
        fake.responder = echo
        summary = codey.batch(
            ["one", "two", "three"], out, parallel=2, **kwargs_for(fake, "openai")
        )
        assert (summary.done, summary.failed, summary.skipped, summary.total) == (3, 0, 0, 3)
        assert summary.ok
        assert (summary.input_tokens, summary.output_tokens) == (30, 15)
        found = {record["id"]: record for record in records(out)}
        assert set(found) == {"1", "2", "3"}
        record = found["2"]
        assert list(record) == ["id", "model", "text", "finish_reason", "usage", "timings"]
        assert record["model"] == "gpt-4.1"
        assert record["text"] == "echo: two"
        assert record["finish_reason"] == "stop"
        assert record["usage"] == {"input_tokens": 10, "output_tokens": 5}
        assert list(record["timings"]) == ["to_first_text", "total", "retries"]
        assert 0 <= record["timings"]["to_first_text"] <= record["timings"]["total"]
        assert record["timings"]["retries"] == 0

    def test_a_failure_is_a_typed_error_record(self, fake: FakeProvider, out: Path) -> None:
        fake.push(error(400, "bad prompt"))
        summary = codey.batch(["x"], out, **kwargs_for(fake, "openai"))
        assert (summary.done, summary.failed) == (0, 1)
        assert not summary.ok
        assert summary.errors == {"configuration": 1}
        [record] = records(out)
        assert list(record) == ["id", "model", "error"]
        assert record["id"] == "1"
        assert record["error"] == {
            "type": "BadRequestError",
            "message": "openai returned HTTP 400: bad prompt",
            "status_code": 400,
            "kind": "configuration",
        }

    @pytest.mark.parametrize(
        ("reply", "kind", "type_"),
        [
            (error(429, retry_after=0), "busy", "RateLimitError"),
            (error(529), "busy", "ServerError"),
            (script(Text("half"), Close()), "broken", "IncompleteStreamError"),
            (script(Text("half"), Stall()), "timeout", "ChunkTimeoutError"),
        ],
    )
    def test_error_kinds(
        self, fake: FakeProvider, out: Path, reply: Reply, kind: str, type_: str
    ) -> None:
        fake.default = reply
        codey.batch(["x"], out, retries=0, **kwargs_for(fake, "openai", chunk_timeout=0.2))
        [record] = records(out)
        assert (record["error"]["kind"], record["error"]["type"]) == (kind, type_)

    def test_a_lines_own_configuration_error(self, fake: FakeProvider, out: Path) -> None:
        fake.responder = echo
        lines = [
            {"id": "a", "prompt": "fine"},
            {"id": "b", "prompt": "no such model", "model": "nonesuch-9"},
            {"id": "c", "prompt": "bad option", "options": {"max_tokens": -1}},
        ]
        summary = codey.batch(lines, out, **kwargs_for(fake, "openai"))
        assert (summary.done, summary.failed) == (1, 2)
        found = {record["id"]: record for record in records(out)}
        assert found["b"]["error"]["type"] == "UnknownModelError"
        assert found["b"]["error"]["kind"] == "configuration"
        assert found["b"]["error"]["status_code"] is None
        assert found["b"]["model"] == "nonesuch-9"
        assert found["c"]["error"]["type"] == "ValueError"
        assert found["c"]["error"]["kind"] == "configuration"
        assert len(fake.requests) == 1

    def test_a_key_quoted_back_never_reaches_the_file(self, fake: FakeProvider, out: Path) -> None:
        fake.push(error(401, f"Incorrect API key provided: {FAKE_KEY}"))
        codey.batch(["x"], out, **kwargs_for(fake, "openai"))
        text = out.read_text(encoding="utf-8")
        assert FAKE_KEY not in text
        assert "[REDACTED]" in text

    def test_per_line_model_and_options(self, fake: FakeProvider, out: Path) -> None:
        fake.responder = echo
        lines = [
            codey.BatchLine("g", "to openai"),
            codey.BatchLine(
                "c", "to anthropic", model="anthropic:claude-sonnet-4-0", options={"max_tokens": 7}
            ),
        ]
        env = fake.env()
        kwargs = {"chunk_timeout": 2.0, "connect_timeout": 2.0}
        with pytest.MonkeyPatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            codey.batch(lines, out, model="gpt-4.1", max_tokens=100, **kwargs)
        by_provider = {request.provider: request.json for request in fake.requests}
        assert by_provider["openai"]["max_tokens"] == 100
        assert by_provider["anthropic"]["max_tokens"] == 7
        found = {record["id"]: record for record in records(out)}
        assert found["c"]["model"] == "claude-sonnet-4-0"
        assert found["g"]["model"] == "gpt-4.1"

    def test_message_lists_and_the_system_option(self, fake: FakeProvider, out: Path) -> None:
        fake.responder = echo
        conversation = [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
            {"role": "user", "content": "and then?"},
        ]
        codey.batch([conversation], out, system="be brief", **kwargs_for(fake, "openai"))
        sent = fake.requests[0].json["messages"]
        assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
        assert records(out)[0]["text"] == "echo: and then?"


class TestResume:
    def test_a_second_run_skips_what_is_done(self, fake: FakeProvider, out: Path) -> None:
        fake.responder = echo
        options = kwargs_for(fake, "openai")
        codey.batch([f"p{i}" for i in range(5)], out, **options)
        summary = codey.batch([f"p{i}" for i in range(8)], out, **options)
        assert (summary.done, summary.skipped) == (3, 5)
        assert len(fake.requests) == 8
        ids = [record["id"] for record in records(out)]
        assert sorted(ids, key=int) == [str(i) for i in range(1, 9)]

    def test_failed_lines_are_retried_and_the_last_record_wins(
        self, fake: FakeProvider, out: Path
    ) -> None:
        options = kwargs_for(fake, "openai")
        fake.responder = lambda request: (
            error(400, "not today") if "p1" in request.body.decode() else echo(request)
        )
        first = codey.batch(["p0", "p1", "p2"], out, **options)
        assert (first.done, first.failed) == (2, 1)
        fake.responder = echo
        second = codey.batch(["p0", "p1", "p2"], out, **options)
        assert (second.done, second.failed, second.skipped) == (1, 0, 2)
        lines = records(out)
        assert len(lines) == 4  # the failure stays, followed by its success
        state = codey.read_batch_output(out)
        assert state["2"]["text"] == "echo: p1"
        assert all("error" not in record for record in state.values())

    def test_a_torn_last_line_is_cut_off(self, fake: FakeProvider, out: Path) -> None:
        fake.responder = echo
        options = kwargs_for(fake, "openai")
        codey.batch(["a", "b"], out, **options)
        whole = out.read_bytes()
        # A kill in the middle of writing the third record:
        out.write_bytes(whole + b'{"id":"3","model":"gpt-4.1","te')
        assert set(codey.read_batch_output(out)) == {"1", "2"}
        summary = codey.batch(["a", "b", "c"], out, **options)
        assert (summary.done, summary.skipped) == (1, 2)
        assert out.read_bytes().startswith(whole)
        assert [record["id"] for record in records(out)] == ["1", "2", "3"]

    def test_a_file_that_is_not_a_batchs_output(self, fake: FakeProvider, out: Path) -> None:
        out.write_text('{"id":"1","text":"fine"}\nHello, world\n{"id":"2","text":"x"}\n')
        with pytest.raises(codey.BatchOutputError, match="line 2 is not a batch record"):
            codey.batch(["a"], out, **kwargs_for(fake, "openai"))
        assert fake.requests == []

    def test_two_batches_never_write_one_file(self, fake: FakeProvider, out: Path) -> None:
        held = OutputFile(out)
        try:
            with pytest.raises(codey.BatchOutputError, match="another batch"):
                codey.batch(["a"], out, **kwargs_for(fake, "openai"))
        finally:
            held.close()
        assert fake.requests == []


class TestInput:
    def test_duplicate_ids_fail_before_any_request(self, fake: FakeProvider, out: Path) -> None:
        fake.responder = echo
        lines = [{"id": "a", "prompt": "1"}, {"id": "b", "prompt": "2"}, {"id": "a", "prompt": "3"}]
        with pytest.raises(codey.BatchInputError, match="'a' appears twice") as info:
            codey.batch(lines, out, **kwargs_for(fake, "openai"))
        assert info.value.line == 3
        assert fake.requests == []

    def test_an_iterator_read_once_finds_a_duplicate_when_it_gets_there(
        self, fake: FakeProvider, out: Path
    ) -> None:
        fake.responder = echo
        lines = iter([{"id": "a", "prompt": "1"}, {"id": "a", "prompt": "2"}])
        with pytest.raises(codey.BatchInputError, match="appears twice"):
            codey.batch(lines, out, parallel=1, **kwargs_for(fake, "openai"))
        assert len(fake.requests) <= 1

    def test_jsonl_lines_of_every_form(self, fake: FakeProvider, tmp_path: Path, out: Path) -> None:
        fake.responder = echo
        source = tmp_path / "in.jsonl"
        source.write_text(
            '"a bare string"\n'
            "\n"  # blank: skipped, but counted
            '[{"role": "user", "content": "a message list"}]\n'
            '{"id": 42, "prompt": "an object", "label": "kept out of the request"}\n'
            '{"messages": [{"role": "user", "content": "messages"}], "model": "grok-4.3"}\n',
            encoding="utf-8",
        )
        lines = list(codey.read_batch_input(source))
        assert [line.id for line in lines] == ["1", "3", "42", "5"]
        assert lines[3].model == "grok-4.3"
        codey.batch(codey.read_batch_input(source), out, **kwargs_for(fake, "openai"))
        texts = {record["id"]: record.get("text") for record in records(out)}
        assert texts["1"] == "echo: a bare string"
        assert texts["42"] == "echo: an object"

    def test_a_jsonl_key_chosen_as_the_prompt(self, tmp_path: Path) -> None:
        source = tmp_path / "in.jsonl"
        source.write_text('{"question": "why?", "id": "q1"}\n', encoding="utf-8")
        [line] = codey.read_batch_input(source, column="question")
        assert (line.id, line.prompt) == ("q1", "why?")

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("{not json\n", "line 2: not JSON"),
            ('{"id": "a"}\n', 'no "prompt" or "messages"'),
            ('{"prompt": "x", "temperature": 0}\n', 'under "options"'),
            ('{"prompt": "x", "options": {"colour": 1}}\n', "unknown option 'colour'"),
            ('{"prompt": "x", "id": [1]}\n', "id must be a string or an integer"),
            ('{"prompt": ""}\n', "empty"),
            ('[{"role": "robot", "content": "x"}]\n', "role"),
        ],
    )
    def test_a_bad_line_fails_before_any_request(
        self, fake: FakeProvider, tmp_path: Path, out: Path, text: str, message: str
    ) -> None:
        source = tmp_path / "in.jsonl"
        source.write_text('"first"\n' + text, encoding="utf-8")
        with pytest.raises(codey.BatchInputError, match=message) as info:
            codey.batch(codey.read_batch_input(source), out, **kwargs_for(fake, "openai"))
        assert info.value.path == str(source)
        assert fake.requests == []

    def test_csv_with_a_column(self, fake: FakeProvider, tmp_path: Path, out: Path) -> None:
        fake.responder = echo
        source = tmp_path / "reviews.csv"
        source.write_text(
            'id,review,stars\nr1,"Great, really",5\n,"two\nlines",1\n', encoding="utf-8"
        )
        lines = list(codey.read_batch_input(source, column="review"))
        assert [(line.id, line.prompt) for line in lines] == [
            ("r1", "Great, really"),
            ("2", "two\nlines"),
        ]
        codey.batch(lines, out, **kwargs_for(fake, "openai"))
        assert {record["id"] for record in records(out)} == {"r1", "2"}

    def test_csv_column_chosen_for_you_or_asked_for(self, tmp_path: Path) -> None:
        source = tmp_path / "p.csv"
        source.write_text("id,model,text\n1,grok-3,hello\n", encoding="utf-8")
        [line] = codey.read_batch_input(source)
        assert (line.prompt, line.model) == ("hello", "grok-3")
        source.write_text("a,b\n1,2\n", encoding="utf-8")
        with pytest.raises(codey.BatchInputError, match="which column"):
            list(codey.read_batch_input(source))
        with pytest.raises(codey.BatchInputError, match="no column 'c'"):
            list(codey.read_batch_input(source, column="c"))

    def test_the_format_from_the_content(self, tmp_path: Path) -> None:
        source = tmp_path / "prompts.txt"
        source.write_text('{"prompt": "json"}\n', encoding="utf-8")
        assert [line.prompt for line in codey.read_batch_input(source)] == ["json"]
        source.write_text("prompt\ncsv\n", encoding="utf-8")
        assert [line.prompt for line in codey.read_batch_input(source)] == ["csv"]

    def test_unknown_keywords(self, out: Path) -> None:
        with pytest.raises(TypeError, match="colour"):
            codey.batch(["a"], out, colour="red")
        with pytest.raises(ValueError, match="parallel"):
            codey.batch(["a"], out, parallel=0)


class TestRunning:
    def test_the_input_is_read_lazily(self, fake: FakeProvider, out: Path) -> None:
        """Memory stays flat: a generator is never read far ahead of the answers."""
        fake.responder = echo
        read = [0]
        ahead: list[int] = []

        def lines() -> Iterator[str]:
            for i in range(300):
                read[0] += 1
                yield f"p{i}"

        def progress(summary: codey.BatchSummary) -> None:
            ahead.append(read[0] - summary.done - summary.failed)

        summary = codey.batch(
            lines(), out, parallel=4, on_progress=progress, **kwargs_for(fake, "openai")
        )
        assert summary.done == 300
        assert summary.total is None
        assert max(ahead) <= 2 * 4 + 1

    def test_an_error_in_on_progress_stops_the_batch_and_keeps_what_finished(
        self, fake: FakeProvider, out: Path
    ) -> None:
        """Stopping midway (as Ctrl-C does): finished records on disk, the rest not run
        and not recorded, every stream closed (the fixture checks no thread is left)."""
        fake.push(answer("fast 1"), answer("fast 2"))
        fake.default = script(Text("slow"), Stall())
        calls = [0]

        def progress(summary: codey.BatchSummary) -> None:
            calls[0] += 1
            if summary.done >= 2:
                raise RuntimeError("stop here")

        with pytest.raises(RuntimeError, match="stop here"):
            codey.batch(
                [f"p{i}" for i in range(10)],
                out,
                parallel=4,
                on_progress=progress,
                **kwargs_for(fake, "openai", chunk_timeout=30),
            )
        done = records(out)
        assert sorted(record["text"] for record in done) == ["fast 1", "fast 2"], done
        assert fake.wait_for_requests(3)
        assert all(request.disconnected.wait(2) for request in fake.requests)

    def test_batches_in_threads_at_once(self, fake: FakeProvider, tmp_path: Path) -> None:
        fake.responder = echo
        errors: list[BaseException] = []

        def run(n: int) -> None:
            try:
                codey.batch(
                    [f"{n}-{i}" for i in range(20)],
                    tmp_path / f"{n}.jsonl",
                    parallel=3,
                    **kwargs_for(fake, "openai"),
                )
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(n,)) for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        for n in range(3):
            texts = {r["text"] for r in records(tmp_path / f"{n}.jsonl")}
            assert texts == {f"echo: {n}-{i}" for i in range(20)}
