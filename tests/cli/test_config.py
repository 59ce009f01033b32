"""The config file: where it is, what it sets, precedence, extra providers, errors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import pytest

import codey
from codey import _providers
from codey.cli import _configfile, _listings
from codey.testing import FAKE_API_KEY, FakeProvider, answer
from tests.conftest import FAKE_KEY
from tests.helpers import environment, one_error_line, run_cli


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """$XDG_CONFIG_HOME (the autouse fixture points it at tmp_path)."""
    return tmp_path


def write_config(home: Path, text: str) -> Path:
    path = home / "codey" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def run(fake: Optional[FakeProvider], *args: str, **env: str) -> tuple[int, str, str]:
    result = run_cli(*args, env=environment(fake, **env))
    return result.returncode, result.stdout.decode(), result.stderr.decode()


class TestWhere:
    def test_xdg_config_home(self, home: Path) -> None:
        assert _configfile.config_path({"XDG_CONFIG_HOME": str(home)}) == (
            str(home / "codey" / "config.toml"),
            "$XDG_CONFIG_HOME",
        )

    def test_default(self) -> None:
        path, source = _configfile.config_path({"HOME": "/home/u"})
        assert path.endswith(os.path.join(".config", "codey", "config.toml"))
        assert source == "~/.config"

    def test_relative_xdg_is_ignored(self) -> None:
        """The XDG spec says a relative $XDG_CONFIG_HOME is invalid."""
        assert _configfile.config_path({"XDG_CONFIG_HOME": "relative"})[1] == "~/.config"

    def test_codey_config_wins(self, home: Path, tmp_path: Path) -> None:
        other = tmp_path / "other.toml"
        assert _configfile.config_path(
            {"XDG_CONFIG_HOME": str(home), "CODEY_CONFIG": str(other)}
        ) == (
            str(other),
            "$CODEY_CONFIG",
        )

    def test_missing_default_file_is_no_config(self, home: Path) -> None:
        config = _configfile.load()
        assert (config.exists, config.model, config.providers) == (False, None, ())

    def test_missing_codey_config_file_is_an_error(self, tmp_path: Path) -> None:
        code, _, err = run(None, "models", CODEY_CONFIG=str(tmp_path / "nope.toml"))
        assert code == 3
        assert "nope.toml" in one_error_line(err.encode())

    def test_path(self, home: Path) -> None:
        code, out, _ = run(None, "config", "--path")
        assert (code, out) == (0, str(home / "codey" / "config.toml") + "\n")


class TestSettings:
    def test_default_model_and_alias(self, fake: FakeProvider, home: Path) -> None:
        write_config(home, 'model = "fast"\n[aliases]\nfast = "claude-sonnet-4-0"\n')
        fake.push(answer("ok"))
        assert run(fake, "prompt", "hi")[0] == 0
        assert fake.requests[-1].provider == "anthropic"
        assert fake.requests[-1].json["model"] == "claude-sonnet-4-0"

    def test_alias_on_the_command_line(self, fake: FakeProvider, home: Path) -> None:
        write_config(home, '[aliases]\nmini = "gpt-4.1-mini"\n')
        fake.push(answer("ok"))
        assert run(fake, "prompt", "hi", "-m", "mini")[0] == 0
        assert fake.requests[-1].json["model"] == "gpt-4.1-mini"

    def test_per_model_settings(self, fake: FakeProvider, home: Path) -> None:
        """[defaults] for every model, [models."NAME"] on top, flags on top of both."""
        write_config(
            home,
            "[defaults]\ntemperature = 0.5\nmax_tokens = 100\n"
            '[models."gpt-4.1"]\nmax_tokens = 200\nsystem = "Be brief."\n',
        )
        fake.push(answer("ok"), answer("ok"), answer("ok"))
        run(fake, "prompt", "hi", "-m", "gpt-4.1")
        body = fake.requests[-1].json
        assert (body["max_tokens"], body["temperature"]) == (200, 0.5)
        assert body["messages"][0] == {"role": "system", "content": "Be brief."}
        run(fake, "prompt", "hi", "-m", "gpt-4.1", "--max-tokens", "7", "--system", "Flag.")
        body = fake.requests[-1].json
        assert body["max_tokens"] == 7
        assert body["messages"][0] == {"role": "system", "content": "Flag."}
        run(fake, "prompt", "hi", "-m", "grok-3", "--api", "chat")
        body = fake.requests[-1].json
        assert (body["max_tokens"], body["temperature"]) == (100, 0.5)
        assert body["messages"][0]["role"] == "user"

    def test_max_tokens_field_named_goes_to_every_host(
        self, fake: FakeProvider, home: Path
    ) -> None:
        """openai at another host gets max_tokens, unless the file names the field (a
        proxy in front of OpenAI's reasoning models)."""
        fake.push(answer("ok"), answer("ok"))
        run(fake, "prompt", "hi", "-m", "gpt-4.1", "--max-tokens", "9")
        assert fake.requests[-1].json["max_tokens"] == 9
        write_config(home, '[providers.openai]\nmax_tokens_field = "max_completion_tokens"\n')
        run(fake, "prompt", "hi", "-m", "gpt-4.1", "--max-tokens", "9")
        sent = fake.requests[-1].json
        assert (sent["max_completion_tokens"], "max_tokens" in sent) == (9, False)

    def test_a_models_table_applies_however_the_model_is_named(
        self, fake: FakeProvider, home: Path
    ) -> None:
        """[models."NAME"] for a model a [providers.X] table lists: -m NAME, -m X:NAME and
        an alias all get it; so does [models."X:NAME"], and built-in models alike."""
        write_config(
            home,
            '[aliases]\nloc = "llama"\n'
            "[providers.local]\n"
            'kind = "openai"\n'
            f'base_url = "{fake.base_url("openai")}"\n'
            'models = ["llama"]\n'
            '[models."llama"]\nmax_tokens = 123\n'
            '[models."local:llama"]\ntemperature = 0.25\n'
            '[models."openai:gpt-4.1"]\nmax_tokens = 45\n',
        )
        for name in ("llama", "local:llama", "loc"):
            fake.push(answer("ok"))
            code, _, err = run(fake, "prompt", "hi", "-m", name)
            assert code == 0, err
            sent = fake.requests[-1].json
            assert (sent["model"], sent["max_tokens"], sent["temperature"]) == (
                "llama",
                123,
                0.25,
            )
        fake.push(answer("ok"))
        run(fake, "prompt", "hi", "-m", "gpt-4.1")
        assert fake.requests[-1].json["max_tokens"] == 45

    def test_chat_log_system_message_wins(self, fake: FakeProvider, home: Path) -> None:
        write_config(home, '[defaults]\nsystem = "From the config."\n')
        fake.push(answer("ok"))
        log = "# === SYSTEM ===\n\nFrom the log.\n\n# === USER ===\n\nhi"
        run(fake, "prompt", log, "-m", "gpt-4.1")
        messages = fake.requests[-1].json["messages"]
        assert [m["content"] for m in messages] == ["From the log.", "hi"]

    def test_timeouts_from_the_config(self, fake: FakeProvider, home: Path) -> None:
        """chunk_timeout from the file is used: a stall ends quickly, exit 5."""
        from codey.testing import Stall, Text, events

        write_config(home, "[defaults]\nchunk_timeout = 0.3\n")
        fake.push(events(Text("part"), Stall()))
        code, out, err = run(fake, "prompt", "hi", "-m", "gpt-4.1")
        assert (code, out) == (5, "part")
        assert "0.3 s" in err

    def test_first_chunk_timeout_from_the_config(self, fake: FakeProvider, home: Path) -> None:
        """A model's first_chunk_timeout bounds its silence before the first content."""
        from codey.testing import Stall, answer, events

        write_config(
            home, '[defaults]\nchunk_timeout = 0.2\n[models."gpt-4.1"]\nfirst_chunk_timeout = 3\n'
        )
        fake.push(answer("thought", think=0.6))
        assert run(fake, "prompt", "hi", "-m", "gpt-4.1")[:2] == (0, "thought\n")
        write_config(home, "[defaults]\nchunk_timeout = 5\nfirst_chunk_timeout = 0.3\n")
        fake.push(events(Stall()))
        code, out, err = run(fake, "prompt", "hi", "-m", "gpt-4.1")
        assert (code, out) == (5, "")
        assert "sent no content for 0.3 s" in err
        assert "--first-chunk-timeout" in err


class TestPrecedence:
    """flag > chat-log front matter > environment > config file > built-in default."""

    @pytest.fixture(autouse=True)
    def config(self, home: Path) -> None:
        write_config(home, 'model = "claude-sonnet-4-0"\n')

    def sent_model(self, fake: FakeProvider, *args: str, **env: str) -> str:
        fake.push(answer("ok"))
        code, _, err = run(fake, "prompt", *args, **env)
        assert code == 0, err
        return str(fake.requests[-1].json["model"])

    def test_config_beats_built_in(self, fake: FakeProvider) -> None:
        assert self.sent_model(fake, "hi") == "claude-sonnet-4-0"

    def test_environment_beats_config(self, fake: FakeProvider) -> None:
        assert self.sent_model(fake, "hi", CODEY_MODEL="gpt-4.1") == "gpt-4.1"

    def test_front_matter_beats_environment(self, fake: FakeProvider) -> None:
        log = '+++\nmodel = "grok-3"\n+++\nhi'
        assert self.sent_model(fake, log, CODEY_MODEL="gpt-4.1") == "grok-3"

    def test_flag_beats_everything(self, fake: FakeProvider) -> None:
        log = '+++\nmodel = "grok-3"\n+++\nhi'
        assert self.sent_model(fake, log, "-m", "o3", CODEY_MODEL="gpt-4.1") == "o3"

    def test_environment_base_url_beats_config(self, fake: FakeProvider, home: Path) -> None:
        write_config(home, '[providers.openai]\nbase_url = "http://127.0.0.1:9/v1"\n')
        assert self.sent_model(fake, "hi", "-m", "gpt-4.1") == "gpt-4.1"  # $OPENAI_BASE_URL

    def test_config_base_url_beats_built_in(self, fake: FakeProvider, home: Path) -> None:
        write_config(home, f'[providers.openai]\nbase_url = "{fake.base_url("openai")}"\n')
        env = environment(fake)
        del env["OPENAI_BASE_URL"]
        fake.push(answer("ok"))
        result = run_cli("prompt", "hi", "-m", "gpt-4.1", env=env)
        assert (result.returncode, result.stdout) == (0, b"ok\n")


class TestProviders:
    def test_openai_kind_with_models(self, fake: FakeProvider, home: Path) -> None:
        """A Chat Completions service: its key variable, its listed models, bare or prefixed."""
        write_config(
            home,
            "[providers.together]\n"
            'kind = "openai"\n'
            f'base_url = "{fake.base_url("openai")}"\n'
            'api_key_env = "TOGETHER_KEY"\n'
            'models = ["meta-llama/Llama-3.3-70B"]\n',
        )
        fake.push(answer("bare"), answer("prefixed"))
        env = {"TOGETHER_KEY": "tk-123"}
        assert run(fake, "prompt", "hi", "-m", "meta-llama/Llama-3.3-70B", **env)[1] == "bare\n"
        assert run(fake, "prompt", "hi", "-m", "together:meta-llama/Llama-3.3-70B", **env)[0] == 0
        request = fake.requests[-1]
        assert request.json["model"] == "meta-llama/Llama-3.3-70B"
        assert request.headers["authorization"] == "Bearer tk-123"
        code, out, _ = run(fake, "models")
        assert code == 0
        assert "together:meta-llama/Llama-3.3-70B\n" in out
        assert run(fake, "providers")[1].endswith("together\n")

    def test_responses_kind(self, fake: FakeProvider, home: Path) -> None:
        """A service over the Responses API: kind = "openai-responses"."""
        write_config(
            home,
            "[providers.corp]\n"
            'kind = "openai-responses"\n'
            f'base_url = "{fake.base_url("openai")}"\n'
            'api_key_env = "CORP_KEY"\n'
            'prefix = "corp-"\n',
        )
        fake.push(answer("from the Responses API"))
        code, out, err = run(fake, "prompt", "hi", "-m", "corp-large", CORP_KEY="ck-1")
        assert (code, out, err) == (0, "from the Responses API\n", "")
        request = fake.requests[-1]
        assert request.path == "/openai/v1/responses"
        assert request.json["input"] == [{"type": "message", "role": "user", "content": "hi"}]
        assert request.headers["authorization"] == "Bearer ck-1"
        code, out, _ = run(fake, "config")
        assert '[providers.corp]  # from the config file\nwire = "responses"' in out
        with open(home / "codey" / "config.toml", "a", encoding="utf-8") as file:
            file.write('api_key_header = "x-corp-key"\n')
        fake.push(answer("again"))
        assert run(fake, "prompt", "hi", "-m", "corp-large", CORP_KEY="ck-1")[0] == 0
        assert fake.requests[-1].headers["x-corp-key"] == "ck-1"
        assert fake.requests[-1].headers["authorization"] is None

    @pytest.mark.parametrize(
        ("setting", "provider", "path"),
        [
            ('wire = "chat"', "openai", "/openai/v1/chat/completions"),
            ('kind = "openai"', "openai", "/openai/v1/chat/completions"),
            ('wire = "responses"', "openai", "/openai/v1/responses"),
            ('kind = "openai-responses"', "openai", "/openai/v1/responses"),
            ('wire = "messages"', "anthropic", "/anthropic/v1/messages"),
            ('kind = "anthropic"', "anthropic", "/anthropic/v1/messages"),
        ],
    )
    def test_wire_and_its_old_name_kind(
        self, fake: FakeProvider, home: Path, setting: str, provider: str, path: str
    ) -> None:
        """wire = names the wire format; kind = with its old values still says the same."""
        write_config(
            home,
            f'[providers.corp]\n{setting}\nbase_url = "{fake.base_url(provider)}"\n'
            'prefix = "corp-"\n',
        )
        fake.push(answer("ok"))
        assert run(fake, "prompt", "hi", "-m", "corp-large") == (0, "ok\n", "")
        assert fake.requests[-1].path == path

    def test_api_per_model(self, fake: FakeProvider, home: Path) -> None:
        """api = in a model's table picks its API; the --api flag beats it."""
        write_config(home, '[models."gpt-4.1"]\napi = "responses"\n')
        fake.push(answer("a"), answer("b"))
        assert run(fake, "prompt", "hi", "-m", "gpt-4.1")[:2] == (0, "a\n")
        assert fake.requests[-1].path == "/openai/v1/responses"
        assert run(fake, "prompt", "hi", "-m", "gpt-4.1", "--api", "chat")[:2] == (0, "b\n")
        assert fake.requests[-1].path == "/openai/v1/chat/completions"

    def test_missing_key_names_the_variable(self, fake: FakeProvider, home: Path) -> None:
        write_config(
            home,
            '[providers.acme]\nkind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\n'
            'api_key_env = "ACME_KEY"\nprefix = "acme-"\n',
        )
        code, _, err = run(fake, "prompt", "hi", "-m", "acme-1")
        assert code == 3
        assert "ACME_KEY" in one_error_line(err.encode())

    def test_anthropic_kind_with_prefix(self, fake: FakeProvider, home: Path) -> None:
        """A Messages service claimed by a prefix; no api_key_env means no key needed."""
        write_config(
            home,
            "[providers.local]\n"
            'kind = "anthropic"\n'
            f'base_url = "{fake.base_url("anthropic")}"\n'
            'prefix = ["loc-", "mine-"]\n',
        )
        fake.push(answer("from the local one"))
        code, out, err = run(fake, "prompt", "hi", "-m", "mine-large")
        assert (code, out, err) == (0, "from the local one\n", "")
        request = fake.requests[-1]
        assert request.provider == "anthropic"
        assert request.json["model"] == "mine-large"
        assert request.headers.get("x-api-key") is None

    def test_registration_is_undone_in_process(self, home: Path) -> None:
        """main() restores the registry, so one in-process run does not leak into the next."""
        from codey.cli import main

        write_config(home, '[providers.temp]\nkind = "openai"\nbase_url = "http://x/v1"\n')
        before = list(_providers.PROVIDERS)
        assert main(["providers"]) == 0
        assert before == _providers.PROVIDERS

    def test_undo_keeps_what_another_thread_registered(self, home: Path) -> None:
        """The config's undo removes its own providers only (it used to restore a stale copy)."""
        write_config(
            home,
            '[providers.temp]\nkind = "openai"\nbase_url = "http://x/v1"\n'
            '[providers.openai]\nkind = "openai"\nbase_url = "http://y/v1"\n',
        )
        builtin_openai = _providers.get("openai")
        undo = _configfile.load().apply()
        assert _providers.get("temp").default_base_url == "http://x/v1"
        assert _providers.get("openai") is not builtin_openai
        other = _providers.build(
            _providers.Service(
                "meanwhile",
                "openai",
                key_env="M_API_KEY",
                base_url_env="M_BASE_URL",
                default_base_url="http://m",
            )
        )
        forget = _providers.register(other)  # as another thread might, between apply and undo
        try:
            undo()
            names = [p.name for p in _providers.PROVIDERS]
            assert "temp" not in names
            assert _providers.get("openai") is builtin_openai
            assert _providers.get("meanwhile") is other
        finally:
            forget()
        assert "meanwhile" not in codey.providers()

    def test_registering_while_others_resolve(self, home: Path) -> None:
        """Config providers come and go under the lock while other threads resolve models."""
        import threading

        write_config(home, '[providers.temp]\nkind = "openai"\nbase_url = "http://x/v1"\n')
        config = _configfile.load()
        before = list(_providers.PROVIDERS)
        failures: list[BaseException] = []
        stop = threading.Event()

        def churn() -> None:
            for _ in range(300):
                config.apply()()

        def look() -> None:
            while not stop.is_set():
                try:
                    assert _providers.resolve("gpt-4.1")[0].name == "openai"
                    assert _providers.resolve("claude-sonnet-4-0")[0].name == "anthropic"
                    assert "openai" in codey.providers()
                except BaseException as exc:
                    failures.append(exc)
                    return

        lookers = [threading.Thread(target=look) for _ in range(3)]
        churners = [threading.Thread(target=churn) for _ in range(3)]
        for thread in lookers + churners:
            thread.start()
        for thread in churners:
            thread.join()
        stop.set()
        for thread in lookers:
            thread.join()
        assert failures == []
        assert before == _providers.PROVIDERS


class TestShow:
    def test_config_command(self, fake: FakeProvider, home: Path) -> None:
        """codey config: path, settings and sources; keys masked."""
        path = write_config(
            home,
            'model = "fast"\nstatus_delay = 1\n[aliases]\nfast = "gpt-4.1-mini"\n'
            '[models."gpt-4.1-mini"]\nmax_tokens = 50\n'
            '[providers.acme]\nkind = "openai"\nbase_url = "https://acme.test/v1"\n'
            'api_key_env = "ACME_KEY"\nmodels = ["a1"]\n',
        )
        code, out, err = run(fake, "config", OPENAI_API_KEY=FAKE_KEY, ACME_KEY=FAKE_KEY)
        assert (code, err) == (0, "")
        assert f"# file: {path} (from $XDG_CONFIG_HOME; found)" in out
        assert "precedence: flag > chat-log front matter > environment > config file" in out
        assert 'model = "fast"  # from the config file, an alias of gpt-4.1-mini' in out
        assert "status_delay = 1.0  # from the config file" in out
        assert '[models."gpt-4.1-mini"]\nmax_tokens = 50' in out
        assert '[providers.acme]  # from the config file\nwire = "chat"' in out
        assert 'base_url = "https://acme.test/v1"  # from the config file' in out
        assert 'api_key_env = "ACME_KEY"  # set: sk-...cdef' in out
        assert f'base_url = "{fake.base_url("openai")}"  # from $OPENAI_BASE_URL' in out
        assert 'api_key_env = "GROQ_API_KEY"  # not set' in out
        assert 'api_key_env = "OLLAMA_API_KEY"  # not set (not needed)' in out
        assert FAKE_KEY not in out
        assert FAKE_API_KEY not in out

    def test_a_models_table_that_matches_no_model_is_reported(
        self, fake: FakeProvider, home: Path
    ) -> None:
        path = write_config(
            home,
            '[models."gpt-4.1"]\nmax_tokens = 5\n[models."lama-typo"]\nmax_tokens = 50\n',
        )
        code, out, err = run(fake, "config")
        assert code == 0
        assert '[models."gpt-4.1"]\nmax_tokens = 5' in out
        assert "[models.lama-typo]  # names no model codey knows, so it applies to nothing" in out
        assert err == (
            f"codey: warning: {path}: [models.lama-typo] names no model codey knows, "
            "so it applies to nothing\n"
        )

    def test_environment_model_shown(self, home: Path) -> None:
        code, out, _ = run(None, "config", CODEY_MODEL="o3")
        assert code == 0
        assert 'model = "o3"  # from $CODEY_MODEL' in out
        assert "not found: built-in defaults apply" in out

    def test_short_keys_are_fully_masked(self) -> None:
        assert _listings.mask("sk-short") == "********"


class TestErrors:
    """A bad file: one line naming the file and the line, exit status 3."""

    @pytest.mark.parametrize(
        ("text", "line", "words"),
        [
            ('model = "x"\nmodel = \n', 2, "invalid TOML"),
            (
                'model = "x"\n\n[defaults]\nmax_tokens = "lots"\n',
                4,
                "max_tokens must be a positive",
            ),
            ('[models."gpt-4.1"]\ntemperature = -1\n', 2, "temperature must not be negative"),
            ("[defaults]\nchunk_timeout = 0\n", 2, "chunk_timeout must be a positive number"),
            (
                '[defaults]\nfirst_chunk_timeout = "soon"\n',
                2,
                "first_chunk_timeout must be a positive number of seconds or 'auto'",
            ),
            ('[defaults]\nreasoning_effort = "most"\n', 2, "reasoning_effort must be one of"),
            ('[models.o3]\napi = "completions"\n', 2, "api must be one of chat, responses"),
            ("model = 3\n", 1, "model must be a string"),
            ('# a comment\nmdoel = "x"\n', 2, "unknown setting 'mdoel'"),
            ("[defaults]\nmax_token = 3\n", 2, "unknown setting 'max_token' in [defaults]"),
            ('aliases = "x"\n', 1, "aliases must be a table"),
            ('[providers.x]\nbase_url = "http://h/v1"\n', 1, 'needs wire = "chat"'),
            (
                '[providers.x]\nwire = "grpc"\nbase_url = "http://h"\n',
                2,
                'wire must be "chat", "messages" or "responses", not',
            ),
            (
                '[providers.x]\nwire = "chat"\nkind = "openai"\nbase_url = "http://h"\n',
                3,
                "has both wire and kind",
            ),
            (
                '[providers.x]\nkind = "grpc"\nbase_url = "http://h"\n',
                2,
                'kind must be "openai", "anthropic" or "openai-responses", not',
            ),
            ('[providers.x]\nkind = "openai"\n', 1, "needs a base_url"),
            ('[providers.x]\nkind = "openai"\nbase_url = "h/v1"\n', 3, "must start with http"),
            ('[providers.x]\nkind = "openai"\nbase_url = "http://h"\nmodels = "a"\n', 4, "list"),
            ('[providers.x]\nkind = "openai"\nbase_url = "http://h"\nkey = "s"\n', 4, "'key'"),
        ],
    )
    def test_error_names_file_and_line(self, home: Path, text: str, line: int, words: str) -> None:
        path = write_config(home, text)
        code, out, err = run(None, "prompt", "hi")
        assert (code, out) == (3, "")
        message = one_error_line(err.encode())
        assert f"{path}, line {line}: " in message
        assert words in message

    def test_format_and_color_do_not_read_it(self, home: Path) -> None:
        """Commands that send nothing to a model work whatever the file says."""
        write_config(home, "this is not toml\n")
        code, out, _ = run(None, "buffer", "text")
        assert (code, out) == (0, "text\n")


def test_a_new_provider_takes_the_service_defaults() -> None:
    """What a [providers.X] table does not say is Service's own default, not a copy of it."""
    import attrs

    from codey._providers._base import Service
    from codey.cli._configfile import _Checker

    table = {"wire": "chat", "base_url": "http://127.0.0.1:9/v1"}
    service = _Checker("test.toml", "").provider("acme", table).service
    plain = Service("acme", "chat", "ACME_API_KEY", "ACME_BASE_URL", "http://127.0.0.1:9/v1")
    for field in attrs.fields(Service):
        if field.name in {"models", "key_required"}:
            continue  # the table's own (none listed; no key variable named)
        assert getattr(service, field.name) == getattr(plain, field.name), field.name
