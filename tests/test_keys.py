"""API keys: never in a message, a repr, a log line or a traceback; never sent elsewhere."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import pytest

import codey
from codey.testing import ErrorEvent, FakeProvider, Raw, Text, answer, error, events
from tests.conftest import FAKE_KEY
from tests.helpers import (
    MODELS,
    environment,
    fake_base_url,
    kwargs_for,
    one_error_line,
    run_cli,
)

#: Keys codey knows without being given them: in the providers' variables and in any *_API_KEY.
OTHER_KEYS = {
    "ANTHROPIC_API_KEY": "sk-ant-OTHER-SECRET-9876543210",
    "SOME_SERVICE_API_KEY": "svc-UNRELATED-SECRET-4242",
}


def texts_of(exc: BaseException) -> list[str]:
    """Every text an error shows: message, repr, attributes, pickled form, and its
    causes' (their attributes and what pickling them keeps too)."""
    out = [str(exc), repr(exc), repr(vars(exc)), repr(pickle.dumps(exc))]
    cause = exc.__cause__ or exc.__context__
    while cause is not None:
        # What a pickler of the whole chain would keep (tblib, as Dask installs it).
        out += [str(cause), repr(cause), repr(getattr(cause, "__dict__", {}))]
        out.append(repr(cause.__reduce__()))
        cause = cause.__cause__ or cause.__context__
    return out


def assert_no_key(exc: BaseException, *keys: str) -> None:
    for text in texts_of(exc):
        for key in keys or (FAKE_KEY, *OTHER_KEYS.values()):
            assert key not in text, text


@pytest.fixture
def other_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in OTHER_KEYS.items():
        monkeypatch.setenv(name, value)


class TestRedaction:
    @pytest.mark.parametrize("provider", sorted(MODELS))
    def test_error_event_quoting_keys(self, fake, provider, other_keys, caplog):
        caplog.set_level(logging.DEBUG, logger="codey")
        quoted = f"bad key {FAKE_KEY}; also {' '.join(OTHER_KEYS.values())}"
        fake.push(events(ErrorEvent("invalid_request_error", quoted)))
        with pytest.raises(codey.StreamError) as info:
            codey.complete("hi", **kwargs_for(fake, provider))
        assert "[REDACTED]" in str(info.value)
        assert_no_key(info.value)
        assert FAKE_KEY not in caplog.text

    @pytest.mark.parametrize("provider", sorted(MODELS))
    def test_malformed_line_quoting_a_key(self, fake, provider, other_keys):
        fake.push(events(Text("a"), Raw(f"data: {{not json {FAKE_KEY}\n\n".encode())))
        with pytest.raises(codey.StreamError) as info:
            codey.complete("hi", **kwargs_for(fake, provider))
        assert "malformed" in str(info.value)
        assert_no_key(info.value)

    @pytest.mark.parametrize("provider", sorted(MODELS))
    def test_error_body_quoting_another_key(self, fake, provider, other_keys, caplog):
        """Not only the key in use: any key codey knows of is hidden."""
        caplog.set_level(logging.DEBUG, logger="codey")
        echo = f"keys seen: {OTHER_KEYS['ANTHROPIC_API_KEY']} {OTHER_KEYS['SOME_SERVICE_API_KEY']}"
        fake.push(error(503, echo, retry_after=0), error(400, echo))
        with pytest.raises(codey.BadRequestError) as info:
            codey.complete("hi", **kwargs_for(fake, provider, retries=1))
        assert_no_key(info.value)
        assert "keys seen" in caplog.text  # the retry was logged...
        for key in OTHER_KEYS.values():
            assert key not in caplog.text  # ...without the keys

    def test_every_fallback_error_is_redacted(self, fake, monkeypatch, caplog):
        """The errors of the models tried before the last one, kept in ``attempts``, too."""
        caplog.set_level(logging.DEBUG, logger="codey")
        for name, value in fake.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
        fake.responder = lambda request: error(
            500 if request.provider == "anthropic" else 429, f"quota of {FAKE_KEY}", retry_after=0
        )
        with pytest.raises(codey.RateLimitError) as info:
            codey.complete("hi", model="claude-sonnet-4-0", fallbacks=["gpt-4.1"], retries=1)
        assert [model for model, _ in info.value.attempts] == ["claude-sonnet-4-0", "gpt-4.1"]
        for _, exc in info.value.attempts:
            assert "[REDACTED]" in str(exc)
            assert_no_key(exc)
        assert FAKE_KEY not in caplog.text

    def test_a_registered_providers_key_variable_is_watched(self, fake, monkeypatch):
        """A provider's key variable need not end in API_KEY: the registry names it."""
        from codey import _providers

        secret = "corp-TOKEN-SECRET-55555"
        monkeypatch.setenv("CORP_TOKEN", secret)
        service = _providers.Service(
            "corp",
            "openai",
            key_env="CORP_TOKEN",
            base_url_env="CORP_BASE_URL",
            default_base_url=fake.base_url("openai"),
        )
        fake.push(error(400, f"who is {secret}?"))
        undo = _providers.register(_providers.build(service))
        try:
            with pytest.raises(codey.BadRequestError) as info:
                codey.complete("hi", **kwargs_for(fake, "openai"))
        finally:
            undo()
        assert "[REDACTED]" in str(info.value)
        assert_no_key(info.value, secret)

    def test_events_record_and_debug_traceback(self, fake, tmp_path: Path):
        """The CLI's --events error record and CODEY_DEBUG traceback quote server data."""
        key = "xai-CLI-SECRET-0123456789"
        fake.push(events(Text("x"), ErrorEvent("server_error", f"boom {key}")))
        env = environment(fake, XAI_API_KEY=key, CODEY_DEBUG="1")
        result = run_cli("prompt", "hi", "-m", "grok-4.3", "--events", env=env)
        assert result.returncode == 6
        assert key.encode() not in result.stdout + result.stderr
        assert b"[REDACTED]" in result.stdout
        assert b"Traceback" in result.stderr


class TestKeysInHeaders:
    def test_trailing_newline_is_stripped(self, fake, monkeypatch):
        """A key from a Windows .env ends in CR LF: it is sent without them."""
        monkeypatch.setenv("XAI_API_KEY", FAKE_KEY + "\r\n")
        fake.push(answer("ok"))
        assert codey.complete("hi", model="grok-4.3", base_url=fake.base_url("xai")) == "ok"
        assert fake.requests[0].headers["Authorization"] == f"Bearer {FAKE_KEY}"

    def test_anthropic_key_is_stripped(self, fake, monkeypatch):
        monkeypatch.setenv("ANTHROPIC_API_KEY", f"  {FAKE_KEY}\n")
        fake.push(answer("ok"))
        options = {"model": "claude-sonnet-4-0", "base_url": fake.base_url("anthropic")}
        assert codey.complete("hi", **options) == "ok"
        assert fake.requests[0].headers["x-api-key"] == FAKE_KEY

    @pytest.mark.parametrize(
        ("value", "what"),
        [
            ("sk-€uro-SECRET", "a non-ASCII character"),
            ("sk-SEC\nRET-inside", "whitespace"),
            ("sk-\x01SECRET", "a control character"),
        ],
    )
    def test_a_key_that_cannot_be_a_header_is_a_configuration_error(self, monkeypatch, value, what):
        monkeypatch.setenv("OPENAI_API_KEY", value)
        with pytest.raises(codey.InvalidAPIKeyError) as info:
            codey.stream("hi", model="gpt-4.1")
        assert "OPENAI_API_KEY" in str(info.value)
        assert what in str(info.value)
        assert isinstance(info.value, ValueError)
        assert_no_key(info.value, value, value.strip())

    def test_api_key_argument_is_checked_too(self):
        with pytest.raises(codey.InvalidAPIKeyError) as info:
            codey.stream("hi", model="claude-sonnet-4-0", api_key="sk-ant-\x7fSECRET")
        assert "api_key=" in str(info.value)
        assert "SECRET" not in str(info.value)

    def test_cli_exit_3_names_the_variable_never_the_value(self, fake):
        env = environment(fake, XAI_API_KEY="xai-SEC€RET")
        result = run_cli("prompt", "hi", "-m", "grok-4.3", env=env)
        assert result.returncode == 3
        line = one_error_line(result.stderr)
        assert "XAI_API_KEY" in line
        assert "SEC" not in line
        assert not fake.requests

    def test_cli_key_with_crlf_works(self, fake):
        fake.push(answer("fine"))
        env = environment(fake, XAI_API_KEY=FAKE_KEY + "\r\n")
        result = run_cli("prompt", "hi", "-m", "grok-4.3", env=env)
        assert (result.returncode, result.stdout) == (0, b"fine\n")


class TestRedirects:
    """A redirect is never followed: it would carry x-api-key (or api-key) elsewhere."""

    @pytest.mark.parametrize("provider", sorted(MODELS))
    @pytest.mark.parametrize("status", [301, 302, 307, 308])
    def test_not_followed(self, fake, provider, status):
        with FakeProvider() as elsewhere:
            target = fake_base_url(elsewhere, provider).replace("127.0.0.1", "localhost")
            fake.push(error(status, "moved", headers={"Location": target + "/steal"}))
            with pytest.raises(codey.RedirectError) as info:
                codey.complete("hi", **kwargs_for(fake, provider))
            assert not elsewhere.requests
        exc = info.value
        assert exc.status_code == status
        assert f"localhost:{elsewhere.port}" in str(exc)
        assert exc.location == target + "/steal"
        assert len(fake.requests) == 1  # a configuration error: not retried
        assert_no_key(exc)

    def test_config_file_provider(self, fake, tmp_path: Path):
        """A config-file provider with an Azure-style key: exit 3, the host named, no request."""
        with FakeProvider() as elsewhere:
            config = tmp_path / "codey.toml"
            config.write_text(
                "[providers.corp]\n"
                'kind = "anthropic"\n'
                f'base_url = "{fake.base_url("anthropic")}"\n'
                'api_key_env = "CORP_API_KEY"\n'
                'prefix = ["corp-"]\n',
                encoding="utf-8",
            )
            target = f"http://localhost:{elsewhere.port}/v1/messages"
            fake.push(error(307, "moved", headers={"Location": target}))
            env = environment(fake, CODEY_CONFIG=str(config), CORP_API_KEY=FAKE_KEY)
            result = run_cli("prompt", "hi", "-m", "corp-large", env=env)
            assert not elsewhere.requests
        assert result.returncode == 3
        line = one_error_line(result.stderr)
        assert "307" in line
        assert f"localhost:{elsewhere.port}" in line
        assert FAKE_KEY.encode() not in result.stderr
