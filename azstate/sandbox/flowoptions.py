"""Flow options and SLA settings, read and written the way Azkaban does.

Requests name options one way (``notifyFailureFirst``, ``disabled``, ``flowOverride[k]``,
``settings[i]=id,rule,H:M,email,kill``) and replies name them another (``notifyOnFirstFailure``,
``disabledJobs``, ``flowParameters``, ``SUCCEED``, ``"90m"``). Options are kept in the shape of
the ExecutionOptions bean that fetchSchedule serialises (azkaban-api.md section 6.3), so the
read-back is just a rendering of what was stored.
"""

from __future__ import annotations

import json
from typing import Any

from azstate.sandbox.exchange import Incoming, ServletError
from azstate.sandbox.javalang import (
    NumberFormatError,
    boolean_object,
    hashmap,
    hashmap_order,
    int32,
    is_numeric,
    parse_boolean,
    parse_int,
    split,
)

Options = dict[str, Any]
Sla = dict[str, Any]

_EMAIL_SPLIT = r"\s*,\s*|\s*;\s*|\s+"
_ALERTER_SPLIT = r"\s*,\s*|\s*;\s*"
_FAILURE_ACTIONS = {
    "finishCurrent": "FINISH_CURRENTLY_RUNNING",
    "cancelImmediately": "CANCEL_ALL",
    "finishPossible": "FINISH_ALL_POSSIBLE",
}
_ADMIN_ONLY = (
    "flowPriority",
    "useExecutor",
    "java.enable.debug",
    "enable.dev.pod",
    "disable.pod.cleanup",
    "allow.image.test.version",
)
_STATUSES = (
    "READY", "DISPATCHING", "PREPARING", "RUNNING", "PAUSED", "SUCCEEDED", "KILLING", "KILLED",
    "EXECUTION_STOPPED", "FAILED", "FAILED_FINISHING", "SKIPPED", "DISABLED", "QUEUED",
    "FAILED_SUCCEEDED", "CANCELLED",
)  # fmt: skip


class OptionError(Exception):
    """An exception out of option parsing that is not a ServletException (NPE, cast, ...)."""

    def __init__(self, message: str, java_class: str) -> None:
        super().__init__(message)
        self.message = message
        self.java_class = java_class


def default_options() -> Options:
    """What ``parseFlowOptions`` yields for a request with no option at all."""
    return {
        "notifyOnFirstFailure": True,
        "notifyOnLastFailure": False,
        "failureEmails": [],
        "successEmails": [],
        "pipelineLevel": None,
        "queueLevel": 0,
        "concurrentOption": "skip",
        "mailCreator": "default",
        "memoryCheck": True,
        "flowParameters": {},
        "runtimeProperties": {},
        "failureAction": "FINISH_CURRENTLY_RUNNING",
        "slaOptions": [],
        "failureEmailsOverridden": False,
        "disabledJobs": [],
        "pipelineExecutionId": None,
        "successEmailsOverridden": False,
        "failureActionOverridden": False,
    }


def parse_flow_options(req: Incoming, flow_name: str) -> Options:
    """``HttpRequestUtils.parseFlowOptions``."""
    options = default_options()
    if req.has("failureAction"):
        action = _FAILURE_ACTIONS.get(req.require("failureAction"))
        if action is not None:
            options["failureAction"] = action
    if req.has("failureEmailsOverride"):
        options["failureEmailsOverridden"] = parse_boolean(req.param("failureEmailsOverride"))
    if req.has("successEmailsOverride"):
        options["successEmailsOverridden"] = parse_boolean(req.param("successEmailsOverride"))
    if req.has("failureActionOverride"):
        options["failureActionOverridden"] = parse_boolean(req.param("failureActionOverride"))
    for param, key in (("failureEmails", "failureEmails"), ("successEmails", "successEmails")):
        emails = req.param(param)
        if emails:
            options[key] = split(emails, _EMAIL_SPLIT)
    if req.has("notifyFailureFirst"):
        options["notifyOnFirstFailure"] = parse_boolean(req.param("notifyFailureFirst"))
    if req.has("notifyFailureLast"):
        options["notifyOnLastFailure"] = parse_boolean(req.param("notifyFailureLast"))

    concurrent = req.param("concurrentOption")
    concurrent = "skip" if concurrent is None else concurrent
    options["concurrentOption"] = concurrent
    if concurrent == "pipeline":
        try:
            options["pipelineLevel"] = parse_int(req.require("pipelineLevel"))
        except NumberFormatError as exc:
            raise OptionError(str(exc), exc.java_class) from exc
    elif concurrent == "queue":
        options["pipelineLevel"] = req.int_or("queueLevel", 1)
    if req.has("mailCreator"):
        options["mailCreator"] = req.param("mailCreator")

    slas = parse_sla_options(req, flow_name, "slaSettings")
    if slas:
        options["slaOptions"] = slas

    runtime = req.map_group("runtimeProperty")
    flow_params = req.group("flowOverride")
    if flow_params and runtime:
        raise ServletError(
            "The legacy param group flowOverride is not allowed in combination with the "
            "runtimeProperty param group. Migrate flowOverride to runtimeProperty[ROOT]."
        )
    root = runtime.pop("ROOT", None)
    if root is not None:
        flow_params.update(root)
    options["flowParameters"] = hashmap(flow_params)
    options["runtimeProperties"] = hashmap({k: hashmap(v) for k, v in runtime.items()})

    disabled = req.param("disabled")
    if disabled:
        options["disabledJobs"] = _disabled_jobs(disabled)
    return options


def _disabled_jobs(text: str) -> list[Any] | None:
    """``DisabledJob.fromDeprecatedObjectList`` over the quietly parsed JSON."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    if not isinstance(parsed, list):
        raise OptionError(
            f"class {_java_class(parsed)} cannot be cast to class java.util.List",
            "java.lang.ClassCastException",
        )
    return [_disabled_job(item) for item in parsed]


def _disabled_job(item: Any) -> dict[str, Any] | None:
    if item is None:
        return None
    if isinstance(item, str):
        return {"name": item, "children": None, "embeddedFlow": False}
    if isinstance(item, dict):
        name = item.get("id")
        children = item.get("children")
        if name is not None and not isinstance(name, str):
            raise OptionError(
                f"class {_java_class(name)} cannot be cast to class java.lang.String",
                "java.lang.ClassCastException",
            )
        if children is not None and not isinstance(children, list):
            raise OptionError(
                f"class {_java_class(children)} cannot be cast to class java.util.List",
                "java.lang.ClassCastException",
            )
        child_jobs = None if children is None else [_disabled_job(c) for c in children]
        if name is not None and child_jobs is not None:
            return {"name": name, "children": child_jobs, "embeddedFlow": True}
    return None


def _java_class(value: Any) -> str:
    if isinstance(value, bool):
        return "java.lang.Boolean"
    if isinstance(value, int):
        return "java.lang.Integer"
    if isinstance(value, float):
        return "java.lang.Double"
    if isinstance(value, str):
        return "java.lang.String"
    if isinstance(value, dict):
        return "java.util.LinkedHashMap"
    return "java.util.ArrayList"


def filter_admin_only(options: Options, *, is_admin: bool) -> None:
    """``filterAdminOnlyFlowParams``: drop them for non-admins, check their types for admins."""
    params: dict[str, str] = options["flowParameters"]
    if not is_admin:
        for key in list(params):
            if key in _ADMIN_ONLY or key.startswith(("azkaban.flow", "azkaban.job")):
                del params[key]
        return
    for key in ("flowPriority", "useExecutor"):
        if key in params and not is_numeric(params[key]):
            raise OptionError(
                f"{key} should be an integer", "azkaban.executor.ExecutorManagerException"
            )
    for key in _ADMIN_ONLY[2:]:
        if key in params and boolean_object(params[key]) is None:
            raise OptionError(
                f"{key} should be boolean", "azkaban.executor.ExecutorManagerException"
            )


def validate_flow_parameters(options: Options, restart_limit: int = 2) -> None:
    """``validatePreprocessFlowParameters``: retry statuses, retry count and strategy."""
    params: dict[str, str] = options["flowParameters"]
    if not params:
        return
    errors: list[str] = []
    if parse_boolean(params.get("allow.restart.on.execution.stopped", "false")):
        params["flow.retry.statuses"] = "EXECUTION_STOPPED," + params.get("flow.retry.statuses", "")
        del params["allow.restart.on.execution.stopped"]
    if "flow.retry.statuses" in params:
        statuses = hashmap_order(
            s.strip() for s in split(params.get("flow.retry.statuses", ""), r"\s*,\s*") if s.strip()
        )
        for status in statuses:
            if status not in _STATUSES:
                errors.append(
                    f"`{status}` is not a valid Status defined in Azkaban, please correct\n"
                )
            elif status not in ("EXECUTION_STOPPED", "FAILED"):
                errors.append(
                    f"`{status}` is not a valid restartable status, permitted status are "
                    "[EXECUTION_STOPPED, FAILED]\n"
                )
        params["flow.retry.statuses"] = ",".join(statuses)
    if "flow.max.retries" in params:
        value = params["flow.max.retries"]
        if not is_numeric(value):
            errors.append("flow.max.retries should be an integer")
        else:
            count = int(value) if value else 0
            if count > restart_limit or count < 0:
                errors.append(
                    f"Invalid `flow.max.retries = {count}`, value should be within "
                    f"[0, {restart_limit}]\n"
                )
    if "flow.retry.strategy" in params:
        strategy = params["flow.retry.strategy"]
        if strategy not in (
            "retryAsNew",
            "disableSucceededNodes",
            "DEFAULT",
            "DISABLE_SUCCEEDED_NODES",
        ):
            errors.append(
                f"Invalid flow.retry.strategy = {strategy}. Valid values are: "
                "[retryAsNew, disableSucceededNodes]"
            )
    options["flowParameters"] = hashmap(params)
    if errors:
        raise ServletError(
            "ExecutionOptions is invalid, error reasons: [" + ", ".join(errors) + "]"
        )


def parse_sla_options(req: Incoming, flow_name: str, settings_name: str) -> list[Sla]:
    """``SlaRequestUtils.parseSlaOptions``."""
    settings = hashmap(req.group(settings_name))
    alerters = req.map_group("slaAlerters")
    emails_text = req.param("slaEmails")
    if emails_text is not None and alerters:
        raise ServletError(
            "The legacy slaEmails param is not allowed in combination with the slaAlerters "
            "param group. Please, set 'slaAlerters[email][recipients]' instead of 'slaEmails'."
        )
    if emails_text is not None:
        alerters["email"] = {"recipients": emails_text}
    configs: dict[str, dict[str, list[str]]] = {}
    for alerter, values in alerters.items():
        delimiter = _EMAIL_SPLIT if alerter == "email" else _ALERTER_SPLIT
        configs[alerter] = hashmap(
            {key: _list_from(text, delimiter) for key, text in values.items()}
        )
    email_config = configs.pop("email", None)
    recipients = email_config.get("recipients", []) if email_config is not None else []
    configs = hashmap(configs)
    slas: list[Sla] = []
    for raw in settings.values():
        try:
            slas.append(_parse_sla(raw, flow_name, recipients, configs))
        except _SlaProblem as exc:
            raise ServletError(f"Error parsing SLA setting '{raw}': {exc}") from exc
    return slas


def _list_from(text: str, delimiter: str) -> list[str]:
    if not text.strip():
        return []
    return split(text.strip(), delimiter)


class _SlaProblem(Exception):
    """Rendered with the Java exception's ``toString()``: class name, colon, message."""


def _parse_sla(
    raw: str, flow_name: str, emails: list[str], configs: dict[str, dict[str, list[str]]]
) -> Sla:
    parts = split(raw, ",", -1)
    if len(parts) < 5:
        raise _SlaProblem(
            "java.lang.ArrayIndexOutOfBoundsException: "
            f"Index {len(parts)} out of bounds for length {len(parts)}"
        )
    job, rule, duration, email_action, kill_action = parts[:5]
    component = "FLOW" if job == "" else "JOB"
    kind = "SUCCEED" if rule == "SUCCESS" else "FINISH"
    actions = []
    if email_action == "true":
        actions.append("ALERT")
    if kill_action == "true":
        actions.append("KILL")
    try:
        pieces = split(duration, ":")
        minutes = int32(parse_int(pieces[1]) + parse_int(pieces[0]) * 60)
    except (NumberFormatError, IndexError) as exc:
        raise _SlaProblem(
            "javax.servlet.ServletException: Unable to parse duration for a SLA that needs to "
            "take actions!"
        ) from exc
    if not actions:
        raise _SlaProblem(
            "javax.servlet.ServletException: Unable to create SLA as there is no action set"
        )
    return {
        "type": f"{component}_{kind}",
        "flowName": flow_name,
        "jobName": job,
        "seconds": minutes * 60,
        "actions": actions,
        "emails": list(emails),
        "alertersConfigs": configs,
    }


def sla_bean(sla: Sla) -> dict[str, Any]:
    """The SlaOption bean inside fetchSchedule's executionOptions."""
    seconds = sla["seconds"]
    return {
        "type": sla["type"],
        "flowName": sla["flowName"],
        "jobName": sla["jobName"],
        "duration": {
            "seconds": seconds,
            "zero": seconds == 0,
            "nano": 0,
            "negative": seconds < 0,
            "units": ["SECONDS", "NANOS"],
        },
        "emails": sla["emails"],
        "alertersConfigs": sla["alertersConfigs"],
    }


def sla_web(sla: Sla) -> dict[str, Any]:
    """``SlaOption.toWebObject`` as slaInfo lists it."""
    minutes = int(sla["seconds"] / 60)
    actions = []
    if "ALERT" in sla["actions"]:
        actions.append("EMAIL")
    if "KILL" in sla["actions"]:
        actions.append("KILL")
    return hashmap(
        {
            "id": "" if sla["type"].startswith("FLOW") else sla["jobName"],
            "duration": f"{minutes}m",
            "rule": sla["type"].split("_", 1)[1],
            "actions": actions,
        }
    )


def options_bean(options: Options) -> dict[str, Any]:
    """ExecutionOptions as Jackson serialises it (getter order)."""
    bean = dict(options)
    bean["slaOptions"] = [sla_bean(s) for s in options["slaOptions"]]
    return bean
