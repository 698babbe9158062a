"""What a unit reads with: refresh lends it a Reader, and it answers with pending reads.

Kept apart from the unit contract so that the I/O side of a unit is visibly small: a unit
starts reads (``Unit.read``) through the Reader and never waits for them; refresh.py waits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from azstate.address import Address
from azstate.state import ProjectState
from azstate.wire.client import AzkabanClient
from azstate.wire.replies import ProjectListing, ScheduleListing

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Pending(Protocol[T_co]):
    """A read under way (a Future), or one that needed no call."""

    def result(self) -> T_co: ...


@dataclass(frozen=True)
class Done(Generic[T]):
    """A value the listings already gave: no call, nothing to wait for."""

    value: T

    def result(self) -> T:
        return self.value


@dataclass(frozen=True)
class AllOf(Generic[T]):
    """Several reads of one field (one per flow, say), waited for in order."""

    parts: Mapping[str, Pending[T]]

    def result(self) -> dict[str, T]:
        return {key: part.result() for key, part in self.parts.items()}


class Reader(Protocol):
    """What refresh lends a unit to read its part of one project: the client, a way to run a
    read concurrently (counted in the progress, its errors noted with the address), and the
    digest cache of uploaded versions."""

    @property
    def client(self) -> AzkabanClient: ...

    def submit(self, address: Address, fn: Callable[..., T], *args: Any) -> Pending[T]: ...

    def cached_digest(self, item: ProjectListing, version: int) -> str | None: ...

    def cached_files(self, item: ProjectListing, version: int) -> dict[str, str] | None: ...

    def remember_digest(
        self, item: ProjectListing, version: int, digest: str, files: Mapping[str, str] | None = ...
    ) -> None: ...


@dataclass(frozen=True)
class Listed:
    """One project as the listings (fetchallprojects, fetchSchedules, /index?all) show it, and
    what the configuration wants of it (None: a prune candidate, read as fully as a declared
    project but for its files, so that its deletion shows what goes). ``description`` is None
    when the index page did not list it (then the project page).

    ``reads``: the resources to read with calls of their own (apply's verification: what it
    changed and what the server changed as a consequence); the others a unit takes as desired,
    unless the listings show them otherwise. None: read everything."""

    item: ProjectListing
    schedules: Mapping[str, ScheduleListing]
    desired: ProjectState | None
    description: str | None = None
    reads: frozenset[Address] | None = None

    def reading(self, *addresses: Address) -> bool:
        """Whether any of ``addresses`` is to be read with calls of its own."""
        return self.reads is None or not self.reads.isdisjoint(addresses)
