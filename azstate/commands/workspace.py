"""What plan, apply and import share: the configuration, a logged-in client, the consoles.

Credentials come from the environment (AZKABAN_USERNAME, AZKABAN_PASSWORD; AZKABAN_URL overrides
server.url), or a no-echo prompt on a terminal; never from the TOML or a flag.
"""

from __future__ import annotations

import getpass
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr
from rich.console import Console
from rich.text import Text

from azstate.address import Address
from azstate.commands.options import Options
from azstate.commands.progress import progress_for, watch_waits
from azstate.config import Config, ServerConfig
from azstate.diff import DiffOptions, diff
from azstate.errors import AzstateError
from azstate.load import LoadedConfig, load_config
from azstate.plan import Plan
from azstate.refresh import DigestCache, RefreshScope, default_cache_dir
from azstate.refresh import refresh as refresh_server
from azstate.resources import desired_state
from azstate.state import ServerState
from azstate.target import ENV_URL, ServerTarget, resolve_target
from azstate.views.theme import THEME
from azstate.wire.client import AzkabanClient

SANDBOX_DIR = Path(".azstate/sandbox")
SANDBOX_USER = ("azkaban", "azkaban")


def consoles(options: Options) -> tuple[Console, Console]:
    out = Console(no_color=options.no_color, highlight=False, soft_wrap=False)
    err = Console(stderr=True, no_color=options.no_color, highlight=False)
    return out, err


@dataclass
class Workspace:
    loaded: LoadedConfig
    client: AzkabanClient
    url: str
    target: ServerTarget
    parallelism: int
    err: Console
    config_path: str

    @property
    def config(self) -> Config:
        return self.loaded.config

    def desired(self) -> ServerState:
        return desired_state(self.config, self.loaded.sources, self.client.username)

    def refresh(self, desired: ServerState, *, only: frozenset[str] | None = None) -> ServerState:
        scope = RefreshScope(declared=desired.projects, prune=self.config.azstate.prune, only=only)
        cache = DigestCache(default_cache_dir() / "digests.json")
        with progress_for(self.err, "Reading the server", client=self.client) as progress:
            return refresh_server(
                self.client, scope, parallelism=self.parallelism, cache=cache, progress=progress
            )

    def plan(
        self,
        *,
        targets: tuple[Address, ...] = (),
        refresh_only: bool = False,
        only: frozenset[str] | None = None,
    ) -> Plan:
        desired = self.desired()
        if only is None and targets:
            only = frozenset(t.project.lower() for t in targets)
        live = self.refresh(desired, only=only)
        options = DiffOptions(
            server=self.url,
            timezone=self.config.server.timezone,
            prune=self.config.azstate.prune,
            protect=self.config.azstate.protect,
            targets=targets,
            refresh_only=refresh_only,
            config_digest=self.loaded.digest,
        )
        plan = diff(desired, live, options)
        return plan.model_copy(
            update={"config": self.config_path, "configured_server": self.target.configured_url}
        )


def parse_targets(values: list[str] | tuple[str, ...]) -> tuple[Address, ...]:
    return tuple(Address.parse(v) for v in values)


def server_target(
    options: Options, server: ServerConfig, *, where: str = "the configuration"
) -> ServerTarget:
    """Which server to talk to (AZKABAN_URL over server.url, or the local sandbox), and the
    warnings every run prints about that choice."""
    if options.sandbox:
        from azstate.sandbox.server import ensure_local_sandbox

        return ServerTarget(url=ensure_local_sandbox(SANDBOX_DIR))
    return resolve_target(
        server.url,
        os.environ.get(ENV_URL),
        allow_http_downgrade=options.allow_http_downgrade,
        where=where,
    )


def connect(
    options: Options,
    server: ServerConfig,
    err: Console,
    *,
    where: str = "the configuration",
    target: ServerTarget | None = None,
) -> AzkabanClient:
    """A logged-in client for ``target`` (by default server_target's); its warnings printed."""
    sandbox = options.sandbox
    target = target or server_target(options, server, where=where)
    for warning in target.warnings:
        _warn(err, warning)
    username, password = _credentials(sandbox)
    if not server.verify_tls and not sandbox and server.ca_bundle:
        _warn(
            err,
            "server.verify_tls = false is ignored: server.ca_bundle is set, and certificates "
            "are verified against it.",
        )
    elif not server.verify_tls and not sandbox:
        _warn(
            err,
            "TLS verification is off (server.verify_tls = false): anyone on the network path "
            "can read the session and change the plan.",
        )
    client = AzkabanClient(
        target.url,
        username,
        password,
        timeout=server.timeout,
        verify_tls=server.verify_tls,
        ca_bundle=server.ca_bundle,
        pool_size=max(parallelism_of(options, server), 4),
    )
    with watch_waits(err, client):
        client.login()
    return client


def parallelism_of(options: Options, server: ServerConfig) -> int:
    parallelism: int = (
        options.parallelism if options.parallelism is not None else server.parallelism
    )
    if parallelism < 1:
        raise AzstateError("--parallelism must be at least 1")
    return parallelism


def open_workspace(options: Options, err: Console, *, config_path: str | None = None) -> Workspace:
    path = config_path or options.config
    loaded = load_config(
        Path(path), variables=options.variables, allow_outside=options.allow_outside_sources
    )
    for warning in loaded.warnings:  # validate's warnings (untracked files): plan and apply too
        _warn(err, warning)
    server = loaded.config.server
    where = str(loaded.files[0]) if loaded.files else path
    target = server_target(options, server, where=where)
    client = connect(options, server, err, where=where, target=target)
    return Workspace(
        loaded=loaded,
        client=client,
        url=client.url,
        target=target,
        parallelism=parallelism_of(options, server),
        err=err,
        config_path=path,
    )


def _warn(err: Console, message: str) -> None:
    with err.use_theme(THEME):
        err.print(Text.assemble(("Warning:", "warning"), " ", message), soft_wrap=True)


def _credentials(sandbox: bool) -> tuple[str, SecretStr]:
    user = os.environ.get("AZKABAN_USERNAME") or (SANDBOX_USER[0] if sandbox else "")
    password = os.environ.get("AZKABAN_PASSWORD")
    if password is None and sandbox and user == SANDBOX_USER[0]:
        password = SANDBOX_USER[1]
    if not user:
        raise AzstateError("set AZKABAN_USERNAME (and AZKABAN_PASSWORD) to log in")
    if password is None:
        if sys.stdin.isatty() and sys.stderr.isatty():
            password = getpass.getpass(f"Azkaban password for {user}: ")
        else:
            raise AzstateError("set AZKABAN_PASSWORD: no terminal to prompt for the password")
    return user, SecretStr(password)
