"""Reply, events, answer and error: the value class, and each provider's own error body."""

from __future__ import annotations

import pytest

from codey.testing import Done, FakeProvider, Reply, Text, answer, error, events
from tests.testing.wire import post

# -------------------------------------------------------------------- replies


def test_reply_value_class() -> None:
    reply = answer("a")
    assert reply.evolve(gzip=True).gzip
    assert not reply.gzip
    assert events(Text("a"), Done(), framing="length") == Reply(
        steps=[Text("a"), Done()], framing="length"
    )
    with pytest.raises(ValueError):
        Reply(framing="bogus")
    with pytest.raises(ValueError):
        Reply(line_ending="\n\n")
    with pytest.raises(ValueError):
        Reply(split=0)
    with pytest.raises(TypeError):
        FakeProvider.push(FakeProvider.__new__(FakeProvider), "nope")  # type: ignore[arg-type]


# --------------------------------------------------------------------- errors


def test_openai_error_with_retry_after(fake: FakeProvider) -> None:
    fake.push(error(429, "slow down", retry_after=0, retry_after_ms=250))
    response = post(fake)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "0"
    assert response.headers["retry-after-ms"] == "250"
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "error": {
            "message": "slow down",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (429, "rate_limit_error"),
        (500, "api_error"),
        (529, "overloaded_error"),
    ],
)
def test_anthropic_error_types(fake: FakeProvider, status: int, kind: str) -> None:
    fake.push(error(status, "nope", retry_after=1.5))
    response = post(fake, "anthropic")
    assert response.status_code == status
    assert response.headers["retry-after"] == "1.5"
    assert response.json() == {"type": "error", "error": {"type": kind, "message": "nope"}}


def test_error_formats_per_provider(fake: FakeProvider) -> None:
    reply = error(503, error_type="overloaded", headers={"X-Extra": "1"})
    fake.push(reply, reply, reply)
    openai = post(fake, "openai")
    assert openai.status_code == 503
    assert openai.headers["x-extra"] == "1"
    assert openai.json()["error"] == {
        "message": "Service Unavailable",
        "type": "overloaded",
        "param": None,
        "code": None,
    }
    xai = post(fake, "xai")
    assert xai.json() == {"code": "overloaded", "error": "Service Unavailable"}
    anthropic = post(fake, "anthropic")
    assert anthropic.json()["error"]["type"] == "overloaded"
    assert post(fake, "xai").status_code == 500  # queue exhausted
    fake.push(error(400, "bad key"))
    assert post(fake, "xai").json() == {
        "code": "Client specified an invalid argument",
        "error": "bad key",
    }


def test_html_502(fake: FakeProvider) -> None:
    fake.push(error(502, html=True))
    response = post(fake, "anthropic")
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.startswith("<html>")
    assert "<title>502 Bad Gateway</title>" in response.text
