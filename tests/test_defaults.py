"""Today's models in the library: the default model, retired models, the served model.

The default is the model table's replacement of the original tool's default
(grok-3); a retired model the provider still answers gives a ModelWarning, one
it refuses an error that says what replaced it; ``Stream.served_model`` is the
model the server says answered, in each wire format, from FakeProvider.redirects.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest

import codey
from codey.testing import FakeProvider, Text, answer, error, events
from tests.helpers import FAKE_ROUTES, kwargs_for


class TestDefaultModel:
    def test_only_an_xai_key_streams_from_grok_4_3(
        self, fake: FakeProvider, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """As the original did with grok-3: XAI_API_KEY alone is enough, and no warning."""
        monkeypatch.setenv("XAI_API_KEY", "xai-key")
        monkeypatch.setenv("XAI_BASE_URL", fake.base_url("xai"))
        fake.push(answer("hi"))
        with codey.stream("hi") as stream:  # warnings are errors here
            assert "".join(stream) == "hi"
            assert (stream.provider, stream.model, stream.api) == ("xai", "grok-4.3", "responses")
        request = fake.requests[-1]
        # xAI's Responses API, as the model table says for grok-4.3
        assert (request.path, request.json["model"]) == ("/xai/v1/responses", "grok-4.3")

    def test_the_default_is_the_tables_replacement_of_grok_3(self) -> None:
        from codey import _models, _request

        default = _request.default_model(environ={})
        assert default == (codey.model_info("grok-3").replacement, "built-in")
        assert codey.model_info(default[0]).status == "current"
        assert default[0] == _models.default_name()

    def test_the_default_follows_a_chain_of_replacements(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """When grok-4.3 retires in its turn, the table's next replacement is the default."""
        import attrs

        from codey import _models

        rows = [
            attrs.evolve(row, status="retired", replacement="grok-4.7")
            if row.name == "grok-4.3"
            else row
            for row in _models.shipped()
        ]
        monkeypatch.setattr(_models, "_SHIPPED", rows)
        assert _models.default_name() == "grok-4.7"


class TestRetiredModels:
    def test_model_warning_is_a_public_user_warning(self) -> None:
        assert issubclass(codey.ModelWarning, UserWarning)
        assert "ModelWarning" in codey.__all__

    def test_a_redirected_model_warns_and_is_still_sent(self, fake: FakeProvider) -> None:
        fake.push(answer("ok"))
        options = kwargs_for(fake, "xai", model="grok-3")
        with pytest.warns(codey.ModelWarning) as caught:
            stream = codey.stream("hi", **options)
        with stream:
            assert "".join(stream) == "ok"
        assert [str(w.message) for w in caught] == [
            "grok-3 was retired on 2026-05-15; its replacement is grok-4.3, "
            "which xai answers in its place"
        ]
        assert caught[0].filename == __file__  # at the caller of stream()
        assert fake.requests[-1].json["model"] == "grok-3"  # the provider decides

    def test_an_alias_warns_in_its_own_name(self, fake: FakeProvider) -> None:
        fake.push(answer("ok"))
        with pytest.warns(codey.ModelWarning, match=r"^grok-4 was retired on 2026-05-15") as caught:
            codey.complete("hi", **kwargs_for(fake, "xai", model="grok-4"))
        assert caught[0].filename == __file__  # complete()'s caller, not codey

    def test_warnings_can_be_made_errors(self, fake: FakeProvider) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("error", codey.ModelWarning)
            with pytest.raises(codey.ModelWarning):
                codey.stream("hi", **kwargs_for(fake, "xai", model="grok-3"))
        assert fake.requests == []

    @pytest.mark.parametrize(
        ("model", "body", "note"),
        [
            (
                "claude-sonnet-4-0",
                "model: claude-sonnet-4-0",
                "claude-sonnet-4-0 was retired on 2026-06-15; its replacement is claude-sonnet-4-6",
            ),
            (
                "claude-sonnet-4-20250514",
                "model: claude-sonnet-4-20250514",
                "claude-sonnet-4-20250514 was retired on 2026-06-15; its replacement is "
                "claude-sonnet-4-6",
            ),
        ],
    )
    def test_a_refused_model_says_what_replaced_it(
        self, fake: FakeProvider, model: str, body: str, note: str
    ) -> None:
        """No warning (warnings are errors here): the provider's refusal says it."""
        fake.push(error(404, body))
        with pytest.raises(codey.BadRequestError) as info:
            codey.complete("hi", **kwargs_for(fake, "anthropic", model=model))
        assert info.value.message == f"{body} ({note})"
        assert fake.requests[-1].json["model"] == model

    def test_only_a_retired_model_named_is_noted(self, fake: FakeProvider) -> None:
        """An error that does not name the model, or a current model refused, is as sent."""
        retired = (
            " (claude-sonnet-4-0 was retired on 2026-06-15; its replacement is claude-sonnet-4-6)"
        )
        cases = [
            ("claude-sonnet-4-0", "model: claude-sonnet-4-0", retired),
            ("claude-sonnet-4-0", "max_tokens: too large", ""),
            ("claude-sonnet-4-6", "model: claude-sonnet-4-6", ""),
        ]
        for model, body, note in cases:
            fake.push(error(404, body))
            with pytest.raises(codey.BadRequestError) as info:
                codey.complete("hi", **kwargs_for(fake, "anthropic", model=model))
            assert info.value.message == body + note


class TestServedModel:
    @pytest.mark.parametrize("provider", sorted(FAKE_ROUTES))
    def test_the_asked_model_by_default(self, fake: FakeProvider, provider: str) -> None:
        fake.push(answer("ok"))
        with codey.stream("hi", **kwargs_for(fake, provider)) as stream:
            assert stream.served_model is None  # nothing read yet
            assert "".join(stream) == "ok"
            assert stream.served_model == stream.model

    @pytest.mark.parametrize(
        ("provider", "asked", "served"),
        [
            ("xai", "grok-4.20-reasoning", "grok-4.3"),
            ("openai", "gpt-4.1", "gpt-5.5"),
            ("anthropic", "claude-sonnet-4-6", "claude-opus-5"),
            ("openai-responses", "o3-pro", "gpt-5.5-pro"),
        ],
    )
    def test_another_model_answered(
        self, fake: FakeProvider, provider: str, asked: str, served: str
    ) -> None:
        """Chat Completions' chunk ``model``, the Responses object's, Messages' message_start."""
        fake.redirects = {asked: served}
        fake.push(answer("ok"))
        with codey.stream("hi", **kwargs_for(fake, provider, model=asked)) as stream:
            kinds = {type(event) for event in stream.events()}
            assert (stream.model, stream.served_model) == (asked, served)
        assert kinds <= {codey.TextDelta, codey.Usage, codey.Finish}  # nothing new in events()

    def test_known_before_the_first_text(self, fake: FakeProvider) -> None:
        fake.redirects = {"gpt-4.1": "gpt-4.1-2025-04-14"}
        fake.push(events(Text("a"), Text("b")))
        with codey.stream("hi", **kwargs_for(fake, "openai")) as stream:
            assert next(stream) == "a"
            assert stream.served_model == "gpt-4.1-2025-04-14"

    def test_a_fallback_answers_for_itself(self, fake_env: FakeProvider) -> None:
        fake_env.redirects = {"gpt-4.1": "gpt-5.5"}
        fake_env.push(error(500), answer("ok"))
        with codey.stream("hi", model="gpt-4.1", fallbacks=["o3"], retries=0) as stream:
            assert "".join(stream) == "ok"
            assert (stream.model, stream.served_model) == ("o3", "o3")

    def test_a_tool_loop_has_it(self, fake: FakeProvider) -> None:
        from codey.testing import ToolCall

        def ping() -> str:
            """Ping."""
            return "pong"

        fake.redirects = {"gpt-4.1": "gpt-5.5"}
        fake.push(events(ToolCall("ping", {})), answer("done"))
        options = kwargs_for(fake, "openai", tools=[ping], run_tools=True)
        with codey.stream("hi", **options) as stream:
            assert "".join(stream) == "done"
            assert stream.served_model == "gpt-5.5"


class TestSameModel:
    @pytest.mark.parametrize(
        ("asked", "served", "provider", "same"),
        [
            ("gpt-4.1", "gpt-4.1", "openai", True),
            ("gpt-4.1", "gpt-4.1-2025-04-14", "openai", True),
            ("claude-haiku-4-5", "claude-haiku-4-5-20251001", "anthropic", True),
            ("grok-4", "grok-4-0709", "xai", True),  # an alias of the row
            ("my-model", "my-model-20260101", "ollama", True),  # outside the table
            ("grok-3", "grok-4.3", "xai", False),
            ("gpt-4.1", "gpt-4.1-mini", "openai", False),
            ("gpt-4.1", "gpt-4.1-mini-2025-04-14", "openai", False),
        ],
    )
    def test_dated_snapshots_and_aliases_are_the_same(
        self, asked: str, served: str, provider: str, same: bool
    ) -> None:
        from codey._models import same_model

        assert same_model(asked, served, provider) is same


class TestDocumentationNamesCurrentModels:
    """README.rst, docs/*.rst and the man page name a retired model only to say it is."""

    ROOT = Path(__file__).resolve().parent.parent

    @staticmethod
    def retired_names() -> re.Pattern[str]:
        from codey import _models

        names = {name for row in _models.shipped() if row.retired for name in row.names()}
        alternatives = "|".join(map(re.escape, sorted(names, key=len, reverse=True)))
        # Whole names only: grok-3 but not grok-3.5, claude-opus-4-1 but not ...-4-10.
        return re.compile(rf"(?<![\w.-])(?:{alternatives})(?![\w-]|\.\d)")

    def test_readme_and_docs(self) -> None:
        """A paragraph (or the example after one) that names a retired model says "retired"."""
        pattern = self.retired_names()
        assert pattern.search('codey prompt -m grok-3 "hi"')
        assert not pattern.search("codey prompt -m grok-4.3 -m claude-sonnet-4-6")
        directive = re.compile(r"\.\. [\w-]+::.*(\n\s+:[\w-]+:.*)*")
        found = []
        for path in [self.ROOT / "README.rst", *sorted((self.ROOT / "docs").glob("*.rst"))]:
            blocks = [
                block
                for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8"))
                if not directive.fullmatch(block.strip())
            ]
            for index, block in enumerate(blocks):
                before = blocks[index - 1] if index else ""
                if pattern.search(block) and "retired" not in block + before:
                    found.append(f"{path.name}: {block.strip()[:100]}")
        assert found == []

    def test_man_page(self) -> None:
        text = (self.ROOT / "man" / "codey.1").read_text(encoding="utf-8").replace("\\-", "-")
        assert "grok-4.3" in text  # roff's escaped hyphens undone
        pattern = self.retired_names()
        lines = text.splitlines()
        assert [line for line in lines if pattern.search(line) and "retired" not in line] == []
