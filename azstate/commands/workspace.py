"""What plan, apply and import share: the configuration, a logged-in client, the consoles.

Credentials come from the environment (AZKABAN_USERNAME, AZKABAN_PASSWORD; AZKABAN_URL overrides
server.url), or a no-echo prompt on a terminal; never from the TOML or a flag.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr
from rich.console import Console
from rich.text import Text

from azstate.address import Address
from azstate.buildcache import BuildCache
from azstate.commands.options import Options
from azstate.commands.progress import progress_for, watch_waits
from azstate.config import Config, ServerConfig
from azstate.diff import DiffOptions, diff
from azstate.errors import AzstateError, BaselineError
from azstate.load import LoadedConfig, load_config
from azstate.plan import Baseline, Plan
from azstate.refresh import DigestCache, RefreshScope, Uploaded, default_cache_dir
from azstate.refresh import read as read_server
from azstate.resources import desired_state, live_state
from azstate.sensitive import Sealer, new_salt, seal_plan, secrets_of, unseal_plan
from azstate.state import ServerState
from azstate.target import ENV_URL, ServerTarget, resolve_target
from azstate.tokencache import TokenCache
from azstate.views.neutral import for_text
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
    full_refresh: bool = False  # --refresh=full: no cached change token is trusted
    # (project id, version) -> content digest of what this run uploaded (apply's hook)
    uploads: dict[tuple[int, int], Uploaded] = field(default_factory=dict)

    def uploaded(self, project_id: int, version: int, zip_sha256: str) -> None:
        """apply's upload hook: the digest of what was uploaded, so as not to download it."""
        for source in self.loaded.sources.values():
            if source.zip_sha256 == zip_sha256:
                self.uploads[(project_id, version)] = (source.content_digest, source.file_digests)
                return

    # Sensitive values (sensitive.py): every plan made here is sealed; the sealers, by salt,
    # give apply back the values behind their markers.
    secrets: frozenset[str] = frozenset()
    salt: str = field(default_factory=new_salt)
    _sealers: dict[str, Sealer] = field(default_factory=dict)
    variables: Mapping[str, str] = field(default_factory=dict)  # --var, for the baseline too

    @property
    def config(self) -> Config:
        return self.loaded.config

    def desired(self, user: str | None = None, only: frozenset[str] | None = None) -> ServerState:
        return desired_state(
            self.config, self.loaded.sources, user or self.client.username, only=only
        )

    def refresh(
        self,
        desired: ServerState,
        *,
        only: frozenset[str] | None = None,
        reads: Mapping[str, frozenset[Address]] | None = None,
    ) -> ServerState:
        prune = self.config.azstate.prune
        scope = RefreshScope(declared=desired.projects, prune=prune, only=only, reads=reads)
        cache = DigestCache(default_cache_dir() / "digests.json")
        tokens = TokenCache(default_cache_dir(), server=self.url, user=self.client.username)
        for warning in tokens.warnings:
            _warn(self.err, warning)
        with progress_for(self.err, "Reading the server", client=self.client) as progress:
            return live_state(
                read_server(
                    self.client,
                    scope,
                    parallelism=self.parallelism,
                    cache=cache,
                    tokens=tokens,
                    trust_tokens=not self.full_refresh,
                    uploads=self.uploads,
                    progress=progress,
                )
            )

    def plan(
        self,
        *,
        targets: tuple[Address, ...] = (),
        refresh_only: bool = False,
        only: frozenset[str] | None = None,
        reads: Mapping[str, frozenset[Address]] | None = None,
        user: str | None = None,
        salt: str | None = None,
        baseline: str | None = None,
    ) -> Plan:
        """The plan for ``user`` (default: the logged-in user), who will apply it: ownership
        (the applying user's own permission entry) is computed for that user, and the plan
        records it. ``baseline``: a git revision of the last applied configuration."""
        if only is None and targets:
            only = frozenset(t.project.lower() for t in targets)
        desired = self.desired(user, only=only)
        base = self.baseline(baseline, user) if baseline is not None else None
        live = self.refresh(desired, only=only, reads=reads)
        if user:
            live = live.model_copy(update={"user": user})
        options = DiffOptions(
            server=self.url,
            timezone=self.config.server.timezone,
            prune=self.config.azstate.prune,
            protect=self.config.azstate.protect,
            targets=targets,
            scope=only,
            declared=tuple(self.config.projects) if only is not None else (),
            refresh_only=refresh_only,
            config_digest=self.loaded.digest,
            baseline=base[0] if base else None,
        )
        plan = diff(desired, live, options, base[1] if base else None)
        update = {"config": self.config_path, "configured_server": self.target.configured_url}
        return self.seal(plan.model_copy(update=update), salt)

    def seal(self, plan: Plan, salt: str | None = None) -> Plan:
        """The plan as it may be shown and saved: sensitive values as salted digests."""
        if not self.secrets:
            return plan
        key = salt or self.salt
        sealer = self._sealers.setdefault(key, Sealer.of(self.secrets, key))
        return seal_plan(plan, sealer)

    def unsealed(self, plan: Plan) -> Plan:
        """What apply sends: the values behind the markers this workspace made."""
        return unseal_plan(plan, self._sealers.values()) if self._sealers else plan

    def baseline(self, revision: str, user: str | None = None) -> tuple[Baseline, ServerState]:
        """The desired state of the configuration at ``revision`` (the last applied one),
        read from git as a checkout would write it and loaded like the work tree's."""
        from azstate.baseline import baseline_tree  # tarfile and git: only for --baseline

        with baseline_tree(Path(self.config_path), revision) as tree:
            try:
                loaded = load_config(
                    tree.config, variables=self.variables, undeclared_ok=True, boundary=tree.root
                )
            except AzstateError as exc:
                # The loader names files inside the temporary tree: name them as git does.
                message = str(exc).replace(f"{tree.root}/", f"{revision}:")
                raise BaselineError(f"the configuration at {revision}: {message}") from None
            state = desired_state(loaded.config, loaded.sources, user or self.client.username)
        return Baseline(revision=revision, commit=tree.commit), state


def parse_targets(values: list[str] | tuple[str, ...]) -> tuple[Address, ...]:
    return tuple(Address.parse(v) for v in values)


def sandbox_home(near: Path) -> Path:
    """Where ``--sandbox`` keeps its state for a configuration at ``near`` (a file or a
    directory, existing or not): the nearest ``.azstate/sandbox`` in that directory or one
    above it, as git finds ``.git``, else beside the configuration. So the state stays with
    the configuration it serves (never in whatever directory the command ran from), and a
    configuration written into a folder below another (``import --out``) shares its server."""
    start = near.resolve()
    if start.suffix.lower() == ".toml" or start.is_file():
        start = start.parent
    for directory in (start, *start.parents):
        if (directory / SANDBOX_DIR).is_dir():
            return directory / SANDBOX_DIR
    return start / SANDBOX_DIR


def server_target(
    options: Options,
    server: ServerConfig,
    *,
    where: str = "the configuration",
    near: Path | None = None,
) -> ServerTarget:
    """Which server to talk to (AZKABAN_URL over server.url, or the local sandbox kept near
    the configuration), and the warnings every run prints about that choice."""
    if options.sandbox:
        from azstate.sandbox.server import ensure_local_sandbox

        home = sandbox_home(near if near is not None else Path(options.config))
        return ServerTarget(url=ensure_local_sandbox(home))
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
    near: Path | None = None,
) -> AzkabanClient:
    """A logged-in client for ``target`` (by default server_target's); its warnings printed."""
    sandbox = options.sandbox
    target = target or server_target(options, server, where=where, near=near)
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


def open_workspace(
    options: Options,
    err: Console,
    *,
    config_path: str | None = None,
    targets: tuple[Address, ...] | None = None,
) -> Workspace:
    """With targets (``options.targets`` unless given), only the targeted projects' sources are
    zipped and hashed (every source is still checked); built zips of unchanged trees are
    reused (buildcache.py)."""
    path = config_path or options.config
    chosen = options.targets if targets is None else targets
    only = frozenset(t.project.lower() for t in chosen) if chosen else None
    builds = BuildCache(default_cache_dir() / "builds.json")
    loaded = load_config(
        Path(path),
        variables=options.variables,
        only=only,
        builds=builds,
        allow_outside=options.allow_outside_sources,
    )
    for warning in loaded.warnings:  # validate's warnings (untracked files): plan and apply too
        _warn(err, warning)
    server = loaded.config.server
    where = str(loaded.files[0]) if loaded.files else path
    target = server_target(options, server, where=where, near=Path(path))
    client = connect(options, server, err, where=where, target=target)
    secrets = secrets_of(loaded)
    client.also_redact(secrets)
    return Workspace(
        loaded=loaded,
        client=client,
        url=client.url,
        target=target,
        parallelism=parallelism_of(options, server),
        err=err,
        config_path=path,
        full_refresh=options.full_refresh,
        secrets=secrets,
        variables=options.variables,
    )


def _warn(err: Console, message: str) -> None:
    """A warning may quote a file name or a URL from the environment: shown neutralised."""
    with err.use_theme(THEME):
        err.print(Text.assemble(("Warning:", "warning"), " ", for_text(message)), soft_wrap=True)


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
