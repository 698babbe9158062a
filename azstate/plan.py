"""Plans as data: what would change, and the exact calls that would change it.

A Plan is built by diff.py, rendered by views/, saved by planfile.py and executed by apply.py.
Apply acts on ``Change.calls`` alone; ``reason`` and the before/after values are for people.
The JSON form (format_version "2") is the contract of design.md section 3; it is the models'
own serialisation (``Plan.to_json`` is ``model_dump(mode="json")``), so the JSON Schema that
``azstate schema plan`` prints comes from these models alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    computed_field,
    field_serializer,
    field_validator,
    model_validator,
)

from azstate.address import Address
from azstate.origins import Origin
from azstate.state import Value, plan_json

# "2": every change has an origin, the plan its converged addresses, and no "drift" list (a
# plain plan cannot know who changed a value; design.md section 3).
FORMAT_VERSION: Literal["2"] = "2"


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    NO_OP = "no-op"


class ApplyStatus(StrEnum):
    """One change's outcome in apply's report; the values are the report's (JSON and text).

    Apply produces APPLIED, REFUSED and NOT_ATTEMPTED today; REFUSED keeps the report's
    historical word "failed" and also covers failures not yet told apart. TRANSIENT ("transient
    failure": never reached the server, safe to retry), UNKNOWN ("outcome unknown": a lost reply
    that could not be checked) and INTERRUPTED ("interrupted": apply was stopped) are reserved
    for the apply-hardening work and are new values in the report when they appear.
    """

    APPLIED = "applied"
    REFUSED = "failed"
    TRANSIENT = "transient failure"
    UNKNOWN = "outcome unknown"
    NOT_ATTEMPTED = "not attempted"
    INTERRUPTED = "interrupted"

    @property
    def failed(self) -> bool:
        """Stops what depends on the change (and every deletion in its project)."""
        return self not in (ApplyStatus.APPLIED, ApplyStatus.NOT_ATTEMPTED)


class Format(StrEnum):
    """The output formats of plan, show and apply (``--format``)."""

    TEXT = "text"
    JSON = "json"
    MARKDOWN = "markdown"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class UploadFile(_Frozen):
    """An upload's file, by identity: apply finds the bytes by sha256 among the built sources."""

    name: str
    size: int
    sha256: str


def _call_schema(schema: dict[str, Any]) -> None:
    """The schema of the written form: the flags plan JSON does not hold are left out, params
    may be pairs, and the upload parts are present on uploads only."""
    properties = schema["properties"]
    for flag in ("mutating", "idempotent"):
        properties.pop(flag, None)
    properties["params"] = {
        "description": (
            "Request parameters by name; a list of [name, value] pairs when a name repeats."
        ),
        "anyOf": [
            {"type": "object", "additionalProperties": {"type": "string"}},
            {
                "type": "array",
                "items": {
                    "type": "array",
                    "prefixItems": [{"type": "string"}, {"type": "string"}],
                    "minItems": 2,
                    "maxItems": 2,
                },
            },
        ],
    }
    properties["multipart"] = {"const": True, "description": "Present on uploads only."}
    upload = properties["upload"]
    ref = next(x for x in upload.get("anyOf", [upload]) if x.get("type") != "null")
    properties["upload"] = {**ref, "description": "Present on uploads only."}
    schema["required"] = ["method", "path", "params"]


class Call(_Frozen):
    """One AJAX request, without the session id (added at send time, never stored)."""

    # ``idempotent``: sending it twice leaves the server as sending it once, so a lost reply is
    # simply sent again; otherwise apply asks the change's resource unit whether it took effect.
    # wire/calls.py sets it (and restores it for a loaded plan: the plan JSON does not hold it).

    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_extra=_call_schema)

    method: Literal["GET", "POST", "HEAD"]
    path: str
    params: tuple[tuple[str, str], ...] = ()
    multipart: bool = Field(default=False, exclude_if=lambda v: not v)
    upload: UploadFile | None = Field(default=None, exclude_if=lambda v: v is None)
    mutating: bool = Field(default=True, exclude=True)
    idempotent: bool = Field(default=False, exclude=True)

    @field_validator("params", mode="before")
    @classmethod
    def _params(cls, v: Any) -> Any:
        """Plan JSON writes params as an object, or as pairs when a name repeats."""
        if isinstance(v, Mapping):
            v = v.items()
        return tuple(tuple(p) for p in v)

    @property
    def action(self) -> str:
        """The ajax or action name, or the page parameter (``delete``) for display and logs."""
        for key, value in self.params:
            if key in ("ajax", "action"):
                return value
        for key, _ in self.params:
            if key in ("delete", "download"):
                return key
        return ""

    def param(self, name: str) -> str | None:
        return next((v for k, v in self.params if k == name), None)

    @field_serializer("params")
    def _params_json(
        self, params: tuple[tuple[str, str], ...]
    ) -> dict[str, str] | list[list[str]]:
        """By name; as pairs when a name repeats (SLA settings never do, but nothing forbids)."""
        by_name = dict(params)
        return by_name if len(by_name) == len(params) else [list(p) for p in params]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = self.model_dump(mode="json")
        return data


# The typed value on the Python side, its plan JSON (state.jsonable's form) on the JSON side.
PlanValue = Annotated[
    Value | None,
    PlainSerializer(plan_json, return_type=dict[str, Any] | None),
]


class Change(_Frozen):
    """One resource's difference and the calls that settle it.

    ``before``/``after`` hold the value type of the address's kind (its unit in resources/
    declares it). ``origin`` and ``field_origins`` say who moved each differing field (the
    three-way rule of origins.py; ``unknown`` without a baseline; field ``""`` is the resource
    as a whole, created or deleted). ``base`` is the value at the baseline revision, kept only
    where it is shown (a conflict's third value).
    """

    address: Address
    action: Action
    before: PlanValue = None
    after: PlanValue = None
    reason: str | None = None  # display only: why, or what the server does by itself
    fingerprint: str | None = None  # digest of the live value this change was planned against
    calls: tuple[Call, ...] = ()
    origin: Origin = Origin.UNKNOWN
    field_origins: Mapping[str, Origin] = {}
    base: PlanValue = Field(default=None, exclude_if=lambda v: v is None)

    @model_validator(mode="before")
    @classmethod
    def _typed_values(cls, data: Any) -> Any:
        """Plan JSON holds values as objects: the address's unit says which type they are."""
        if not isinstance(data, Mapping):
            return data
        if not any(isinstance(data.get(k), Mapping) for k in ("before", "after", "base")):
            return data
        from azstate.resources import unit_for  # resources build Changes: imported late

        address = data.get("address")
        address = address if isinstance(address, Address) else Address.parse(str(address))
        unit = unit_for(address.kind)
        out = dict(data)
        for key in ("before", "after", "base"):
            if isinstance(out.get(key), Mapping):
                out[key] = unit.value_from_json(out[key])
        return out

    @model_validator(mode="after")
    def _values_of_its_kind(self) -> Change:
        """A value of another kind's type is a programming error, caught where it is made."""
        from azstate.resources import unit_for  # resources build Changes: imported late

        value_type = unit_for(self.address.kind).value_type
        for value in (self.before, self.after, self.base):
            if value is not None and not isinstance(value, value_type):
                raise ValueError(
                    f"{self.address}: a {type(value).__name__} where a {value_type.__name__} "
                    "belongs"
                )
        return self

    @property
    def addr(self) -> Address:
        """Kept for callers written when the address was a string."""
        return self.address

    @property
    def before_json(self) -> dict[str, Any] | None:
        return plan_json(self.before)

    @property
    def after_json(self) -> dict[str, Any] | None:
        return plan_json(self.after)

    @property
    def base_json(self) -> dict[str, Any] | None:
        return plan_json(self.base)

    def fields_of(self, origin: Origin) -> list[str]:
        """The fields (``""``: the whole resource) whose difference has this origin."""
        return sorted(f for f, o in self.field_origins.items() if o is origin)

    def changed_fields(self) -> list[str]:
        """The fields (as plan JSON names them) whose values differ; a field on one side only
        counts. Plain comparison suffices: sets are sets (emails, jobs, SLA rules are unordered
        on the server) and their JSON lists are sorted."""
        before, after = self.before_json or {}, self.after_json or {}
        if not before or not after:
            return sorted(set(before) | set(after))
        return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


class Baseline(_Frozen):
    """The git revision a three-way plan compared with: as written, and the commit it named."""

    revision: str
    commit: str


_COUNTED_AS: dict[Action, tuple[str, ...]] = {
    Action.CREATE: ("create",),
    Action.UPDATE: ("update",),
    Action.DELETE: ("delete",),
    Action.REPLACE: ("create", "delete"),
}


class Summary(_Frozen):
    """The actions azstate takes; a replacement (which azstate never plans today) would count
    as one create and one delete, as Terraform counts it."""

    create: int = 0
    update: int = 0
    delete: int = 0


def _plan_schema(schema: dict[str, Any]) -> None:
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "azstate plan"
    schema["description"] = (
        "The output of `azstate plan --format json` and the content of a saved plan file."
    )


class Plan(_Frozen):
    model_config = ConfigDict(frozen=True, extra="forbid", json_schema_extra=_plan_schema)

    format_version: Literal["2"] = FORMAT_VERSION
    server: str
    timezone: str = "UTC"
    user: str = ""
    refresh_only: bool = False
    targets: tuple[Address, ...] = ()
    # A refresh-only plan holds the differences it reports, without calls: it changes nothing.
    changes: tuple[Change, ...] = ()
    baseline: Baseline | None = None  # None: a plain plan, every origin "unknown"
    # Configuration moved since the baseline, and the server already holds it: no change.
    converged: tuple[Address, ...] = ()
    config: str | None = None  # the -c path the plan was made from, for `apply PLANFILE`
    config_digest: str | None = None
    azstate_version: str = ""
    # The salt of the digests that stand for sensitive values (azstate/sensitive.py); only
    # in a plan that has one.
    sensitive_salt: str | None = Field(default=None, exclude_if=lambda v: v is None)
    # server.url from the configuration, set when AZKABAN_URL pointed the run at another server:
    # every rendering shows it beside ``server``, so a mis-set CI secret cannot pass review.
    configured_server: str | None = Field(default=None, exclude_if=lambda v: v is None)

    @property
    def server_warning(self) -> str | None:
        """The sentence views print beside the server when it is not the configured one."""
        if self.configured_server is None:
            return None
        return (
            f"AZKABAN_URL points at {self.server}, not at server.url {self.configured_server}"
        )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def summary(self) -> Summary:
        """What apply would do: nothing for a refresh-only plan, whatever it found."""
        counts = {a: 0 for a in ("create", "update", "delete")}
        for change in () if self.refresh_only else self.changes:
            for counted in _COUNTED_AS.get(change.action, ()):
                counts[counted] += 1
        return Summary(**counts)

    @property
    def has_changes(self) -> bool:
        """Whether applying it would change the server (a refresh-only plan never does)."""
        return not self.refresh_only and any(c.action is not Action.NO_OP for c in self.changes)

    @property
    def has_differences(self) -> bool:
        """Whether it reports anything: the changes of a plan, the findings of a refresh-only
        plan (what ``--detailed-exitcode`` exits 2 for)."""
        return any(c.action is not Action.NO_OP for c in self.changes)

    @property
    def calls(self) -> list[Call]:
        return [call for change in self.changes for call in change.calls]

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = self.model_dump(mode="json")
        return data

    def dumps(self) -> str:
        # ASCII, and no "##" a CI log could read as a command ("##[", "##vso["): still exact,
        # since '#' occurs only in strings, where \u0023 is the same character. The rule of
        # views/neutral.for_json, repeated because the core imports no view.
        text = json.dumps(self.to_json(), indent=2, sort_keys=False, ensure_ascii=True)
        return text.replace("##", "#\\u0023") + "\n"

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        """A plan from its JSON; calls get back the flags their JSON does not hold."""
        from azstate.wire.calls import restore  # the wire builds calls: imported late

        data = dict(data)
        data.pop("summary", None)
        changes = []
        for c in data.get("changes", []):
            c = dict(c)
            c["calls"] = tuple(restore(Call.model_validate(call)) for call in c.get("calls", []))
            changes.append(Change.model_validate(c))
        data["changes"] = tuple(changes)
        return cls.model_validate(data)
