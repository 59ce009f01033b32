"""connect_timeout bounds the whole wait for the response, retries included."""

from __future__ import annotations

import time

from tests.conftest import FAKE_KEY
from tests.helpers import environment, one_error_line, run_cli, silent_server


def test_cli_connect_timeout_is_the_whole_wait():
    """Three attempts of 0.5 s and their backoff would take at least 2.25 s."""
    with silent_server() as url:
        env = environment(OPENAI_API_KEY=FAKE_KEY, OPENAI_BASE_URL=url + "/v1")
        started = time.monotonic()
        result = run_cli("prompt", "hi", "-m", "gpt-4.1", "--connect-timeout", "0.5", env=env)
        waited = time.monotonic() - started
    assert result.returncode == 5
    assert "within 0.5 s" in one_error_line(result.stderr)
    assert waited < 2.0  # the interpreter's own start-up included
