"""Azure OpenAI: ``azure:DEPLOYMENT``, endpoint and version from the environment, ``api-key``."""

from __future__ import annotations

import pytest

import codey
from codey.testing import FakeProvider, answer, error
from tests.conftest import FAKE_KEY


@pytest.fixture
def azure(fake: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> FakeProvider:
    """The fake provider as an Azure resource: its endpoint and key in the environment."""
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", fake.url + "/")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", FAKE_KEY)
    return fake


def test_the_deployment_is_in_the_path_and_the_key_in_api_key(azure: FakeProvider) -> None:
    azure.push(answer("Hel", "lo"))
    with codey.stream("hi", model="azure:my-gpt-4o", max_tokens=50) as stream:
        assert "".join(stream) == "Hello"
        assert (stream.provider, stream.model) == ("azure", "my-gpt-4o")
    request = azure.requests[-1]
    assert request.method == "POST"
    assert request.path == "/openai/deployments/my-gpt-4o/chat/completions?api-version=2024-10-21"
    assert request.headers["api-key"] == FAKE_KEY
    assert request.headers["authorization"] is None
    assert request.json["messages"] == [{"role": "user", "content": "hi"}]
    assert request.json["max_completion_tokens"] == 50
    assert "stream_options" not in request.json  # 2024-10-21 has none


def test_the_api_version_comes_from_the_environment(
    azure: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_VERSION", "2025-04-01-preview")
    azure.push(answer("ok"))
    assert codey.complete("hi", model="azure:dep/one x") == "ok"
    path = azure.requests[-1].path
    assert (
        path == "/openai/deployments/dep%2Fone%20x/chat/completions?api-version=2025-04-01-preview"
    )


def test_api_key_and_base_url_arguments_win(fake: FakeProvider) -> None:
    fake.push(answer("ok"))
    assert codey.complete("hi", model="azure:d", api_key="k-arg", base_url=fake.url) == "ok"
    assert fake.requests[-1].headers["api-key"] == "k-arg"


def test_a_schema_goes_in_response_format(azure: FakeProvider) -> None:
    azure.push(answer('{"n": 1}'))
    assert codey.complete_json("?", model="azure:d", schema="n int") == {"n": 1}
    assert azure.requests[-1].json["response_format"]["json_schema"]["strict"] is True


def test_no_endpoint_is_a_configuration_error_naming_the_variable(
    fake: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", FAKE_KEY)
    with pytest.raises(codey.MissingBaseURLError) as caught:
        codey.stream("hi", model="azure:d")
    assert isinstance(caught.value, ValueError)
    assert "AZURE_OPENAI_ENDPOINT" in str(caught.value)
    assert caught.value.env_var == "AZURE_OPENAI_ENDPOINT"
    assert caught.value.provider == "azure"
    assert fake.requests == []


def test_with_neither_endpoint_nor_key_the_endpoint_is_named_first() -> None:
    with pytest.raises(codey.MissingBaseURLError, match="AZURE_OPENAI_ENDPOINT"):
        codey.stream("hi", model="azure:d")


def test_no_key_names_its_variable(fake: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", fake.url)
    with pytest.raises(codey.MissingAPIKeyError, match="AZURE_OPENAI_API_KEY"):
        codey.stream("hi", model="azure:d")


def test_a_401_that_quotes_the_key_never_shows_it(azure: FakeProvider) -> None:
    message = f"Access denied due to invalid subscription key {FAKE_KEY}."
    azure.push(error(401, message))
    with pytest.raises(codey.AuthenticationError) as caught:
        codey.complete("hi", model="azure:d")
    exc = caught.value
    assert exc.status_code == 401
    assert exc.provider == "azure"
    assert "Access denied" in str(exc)
    for text in (str(exc), repr(exc), exc.message, *map(str, exc.args)):
        assert FAKE_KEY not in text
    assert len(azure.requests) == 1  # an auth failure is not retried


def test_azure_is_a_provider_without_listed_models() -> None:
    assert "azure" in codey.providers()
    assert not [model for model in codey.models() if model.startswith("azure")]
    with pytest.raises(codey.UnknownModelError):
        codey.stream("hi", model="my-deployment")
