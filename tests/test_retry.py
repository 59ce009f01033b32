"""The retry policy, without I/O."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

import codey
from codey._retry import backoff_delay, is_retryable, parse_retry_after


class TestIsRetryable:
    @pytest.mark.parametrize(
        "exc",
        [
            codey.RateLimitError("x", status_code=429),
            codey.ServerError("x", status_code=529),
            codey.ServerError("x", status_code=408),
            codey.NetworkError("x"),
            codey.ConnectTimeoutError("x"),
            codey.IncompleteStreamError("x"),
            codey.StreamError("x", error_type="overloaded_error"),
            codey.StreamError("x", error_type="api_error"),
            codey.StreamError("x", error_type="rate_limit_error"),
            codey.StreamError("x", error_type="server_error"),
            codey.StreamError("x", error_type="invalid_request_error", code="rate_limit_exceeded"),
        ],
    )
    def test_retryable(self, exc):
        assert is_retryable(exc)

    @pytest.mark.parametrize(
        "exc",
        [
            codey.ChunkTimeoutError("x"),
            codey.AuthenticationError("x", status_code=401),
            codey.BadRequestError("x", status_code=400),
            codey.StreamError("malformed"),
            codey.StreamError("x", error_type="invalid_request_error"),
            codey.MissingAPIKeyError("x"),
            ValueError("x"),
        ],
    )
    def test_not_retryable(self, exc):
        assert not is_retryable(exc)


class TestRetryAfter:
    def test_seconds(self):
        assert parse_retry_after({"retry-after": "3"}) == 3.0

    def test_milliseconds_win(self):
        assert parse_retry_after({"retry-after-ms": "250", "retry-after": "3"}) == 0.25

    def test_http_date(self):
        value = parse_retry_after({"retry-after": formatdate(time.time() + 10, usegmt=True)})
        assert value is not None
        assert 8 <= value <= 11

    def test_garbage_and_absent(self):
        assert parse_retry_after({"retry-after": "soon"}) is None
        assert parse_retry_after({}) is None


class TestBackoff:
    def test_retry_after_up_to_sixty_seconds_wins(self):
        assert backoff_delay(0, 42.0) == 42.0

    def test_longer_retry_after_is_ignored(self):
        assert backoff_delay(0, 3600.0, rand=1.0) == 0.5

    def test_exponential_with_jitter_and_cap(self):
        assert backoff_delay(0, rand=1.0) == 0.5
        assert backoff_delay(1, rand=1.0) == 1.0
        assert backoff_delay(2, rand=0.0) == 1.0
        assert backoff_delay(10, rand=1.0) == 8.0
