"""A proxy's failures are the proxy's: named (without credentials), not blamed on the provider."""

from __future__ import annotations

import importlib.util

import pytest

import codey
from tests.helpers import closed_port_url, environment, one_error_line, run_cli, scripted_server

BAD_GATEWAY = (
    b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: 44\r\n"
    b"Connection: close\r\n\r\n<html><title>502 Bad Gateway</title></html>"
)
#: Where no provider listens: every failure below is the proxy's.
NOWHERE = "127.0.0.1:9"


def test_a_dead_proxy_is_named_without_its_credentials() -> None:
    proxy = closed_port_url()
    env = environment(
        HTTP_PROXY=proxy.replace("://", "://user:PROXYPASS@"),
        OPENAI_BASE_URL=f"http://{NOWHERE}/v1",
        OPENAI_API_KEY="sk-test",
    )
    result = run_cli("prompt", "hi", "-m", "gpt-4.1", env=env)
    assert result.returncode == 6
    line = one_error_line(result.stderr)
    assert f"the proxy {proxy} failed (on the way to openai at http://{NOWHERE}/" in line
    assert "PROXYPASS" not in line


def test_a_proxys_own_bad_gateway_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    with scripted_server([BAD_GATEWAY]) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy)
        with pytest.raises(codey.APIStatusError) as info:
            codey.complete(
                "hi", model="gpt-4.1", base_url=f"http://{NOWHERE}/v1", api_key="k", retries=0
            )
    assert info.value.status_code == 502
    assert str(info.value).endswith(f"(through the proxy {proxy})")


def test_a_failed_tunnel_names_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    with scripted_server([BAD_GATEWAY]) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy)
        with pytest.raises(codey.NetworkError) as info:
            codey.complete(
                "hi", model="gpt-4.1", base_url=f"https://{NOWHERE}/v1", api_key="k", retries=0
            )
    assert str(info.value) == (
        f"the proxy {proxy} failed (on the way to openai at "
        f"https://{NOWHERE}/v1/chat/completions): Tunnel connection failed: 502 Bad Gateway"
    )


@pytest.mark.skipif(importlib.util.find_spec("socks") is not None, reason="PySocks is installed")
def test_a_socks_proxy_without_pysocks_says_what_to_install() -> None:
    env = environment(
        ALL_PROXY="socks5://user:PROXYPASS@127.0.0.1:1080",
        OPENAI_BASE_URL=f"http://{NOWHERE}/v1",
        OPENAI_API_KEY="sk-test",
    )
    result = run_cli("prompt", "hi", "-m", "gpt-4.1", env=env)
    line = one_error_line(result.stderr)
    assert "the proxy socks5://127.0.0.1:1080 is a SOCKS proxy" in line
    assert "pip install 'requests[socks]'" in line
    assert "PROXYPASS" not in line
