"""Which server a command talks to, and what a reviewer must be told about that choice.

``server.url`` in the configuration is reviewed in pull requests; ``AZKABAN_URL`` is a CI secret
nobody reviews. So the environment may point a file at another host (that is how CI aims one
file at its server), but never silently: the plan names it. It may not quietly downgrade an
https server to plain http, and no URL may carry credentials (they would end up in plans,
logs and cache keys). Pure: the command reads the environment and passes it in.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from azstate.errors import AzstateError

ENV_URL = "AZKABAN_URL"


@dataclass(frozen=True)
class ServerTarget:
    url: str
    warnings: tuple[str, ...] = ()
    # Set when AZKABAN_URL named another host than server.url: every plan shows it.
    configured_url: str | None = None


def _shown(parts: SplitResult) -> str:
    """The URL without any user information, for messages."""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _parse(url: str, origin: str) -> SplitResult:
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise AzstateError(f"{origin} is not a valid URL: {exc}") from None
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise AzstateError(
            f"{origin} holds credentials: remove them from the URL and set "
            "AZKABAN_USERNAME and AZKABAN_PASSWORD instead"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AzstateError(
            f"{origin} must be an http:// or https:// URL with a host, "
            f"for example https://azkaban.example.com:8443"
        )
    if parts.query or parts.fragment:
        raise AzstateError(f"{origin} must not have a query or fragment: {_shown(parts)}")
    return parts


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(
        ".localhost"
    ):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _normal(parts: SplitResult) -> str:
    return _shown(parts).rstrip("/")


def _endpoint(parts: SplitResult) -> tuple[str, int]:
    default = 443 if parts.scheme == "https" else 80
    return (parts.hostname or "").lower(), parts.port or default


def resolve_target(
    configured: str | None,
    environment: str | None,
    *,
    allow_http_downgrade: bool = False,
    where: str = "the configuration",
) -> ServerTarget:
    """The URL to use and the warnings every run must print.

    ``configured`` is server.url (from ``where``), ``environment`` the value of AZKABAN_URL.
    """
    config_parts = _parse(configured, f"server.url in {where}") if configured else None
    env_parts = _parse(environment, ENV_URL) if environment else None
    chosen = env_parts or config_parts
    if chosen is None:
        raise AzstateError(f"no server: set server.url in {where} or {ENV_URL}, or use --sandbox")
    warnings: list[str] = []
    configured_url: str | None = None
    if env_parts is not None and config_parts is not None:
        if (
            config_parts.scheme == "https"
            and env_parts.scheme == "http"
            and not allow_http_downgrade
        ):
            raise AzstateError(
                f"{ENV_URL} ({_shown(env_parts)}) downgrades server.url "
                f"({_shown(config_parts)}) from https to plain http: refused "
                "(pass --allow-http-downgrade if that is meant)"
            )
        if _endpoint(env_parts) != _endpoint(config_parts):
            configured_url = _normal(config_parts)
            warnings.append(
                f"{ENV_URL} points at {_normal(env_parts)}, not at server.url "
                f"{configured_url} in {where}"
            )
    if chosen.scheme == "http" and not is_loopback(chosen.hostname or ""):
        warnings.append(
            f"plain HTTP to {chosen.hostname}: the password and the session id cross the "
            "network unencrypted (use https)"
        )
    return ServerTarget(
        url=_normal(chosen), warnings=tuple(warnings), configured_url=configured_url
    )
