"""Which server a command talks to: AZKABAN_URL against server.url, credentials, plain HTTP."""

from __future__ import annotations

import pytest

from azstate.errors import AzstateError
from azstate.target import is_loopback, resolve_target

SECRET = "hunter2-secret"


def test_configured_url_alone() -> None:
    target = resolve_target("https://az.example.com:8443/", None)
    assert target.url == "https://az.example.com:8443"
    assert target.warnings == () and target.configured_url is None


def test_environment_overrides_and_another_host_is_named() -> None:
    target = resolve_target("https://prod.example.com", "https://staging.example.com:8443")
    assert target.url == "https://staging.example.com:8443"
    assert target.configured_url == "https://prod.example.com"
    (warning,) = target.warnings
    assert "staging.example.com:8443" in warning and "prod.example.com" in warning


def test_same_host_in_both_is_quiet() -> None:
    target = resolve_target("https://az.example.com", "https://AZ.example.com:443/")
    assert target.warnings == () and target.configured_url is None


def test_downgrade_to_http_is_refused_unless_meant() -> None:
    with pytest.raises(AzstateError, match="downgrades"):
        resolve_target("https://az.example.com", "http://az.example.com")
    target = resolve_target(
        "https://az.example.com", "http://az.example.com", allow_http_downgrade=True
    )
    assert target.url == "http://az.example.com"
    assert any("plain HTTP" in w for w in target.warnings)


@pytest.mark.parametrize(
    "url",
    [
        f"http://user:{SECRET}@az.example.com",
        f"https://{SECRET}@az.example.com",
        f"https://user:{SECRET}@[::1]:8443",
    ],
)
@pytest.mark.parametrize("where", ["config", "env"])
def test_credentials_in_a_url_are_refused_and_never_echoed(url: str, where: str) -> None:
    with pytest.raises(AzstateError) as err:
        if where == "config":
            resolve_target(url, None)
        else:
            resolve_target("https://az.example.com", url)
    assert "credentials" in str(err.value)
    assert SECRET not in str(err.value)


@pytest.mark.parametrize(
    "url",
    ["http://[::1", "http://host:99999", "ftp://host", "host:8443", "https://", "http://h/?a=1"],
)
def test_malformed_urls_are_one_line(url: str) -> None:
    with pytest.raises(AzstateError) as err:
        resolve_target(None, url)
    assert "AZKABAN_URL" in str(err.value) and "\n" not in str(err.value)


def test_plain_http_warns_off_loopback_only() -> None:
    assert resolve_target("http://127.0.0.1:8081", None).warnings == ()
    assert resolve_target("http://localhost:8081", None).warnings == ()
    assert resolve_target("http://[::1]:8081", None).warnings == ()
    (warning,) = resolve_target("http://10.0.0.5:8081", None).warnings
    assert "plain HTTP" in warning and "10.0.0.5" in warning


def test_no_server_at_all() -> None:
    with pytest.raises(AzstateError, match="no server"):
        resolve_target(None, None, where="azstate.toml")


@pytest.mark.parametrize(
    ("host", "loop"),
    [
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("example.com", False),
        ("10.1.1.1", False),
        ("127.example.com", False),
    ],
)
def test_loopback(host: str, loop: bool) -> None:
    assert is_loopback(host) is loop
