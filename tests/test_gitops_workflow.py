"""The GitOps workflow's jobs, run as GitHub would run them, in a copy of examples/gitops.

The copy is a git repository with a bare "origin" beside it, so the tags that record the last
applied revision are made and pushed for real. Each job's shell steps run in order under
`bash -eo pipefail` with GITHUB_OUTPUT and GITHUB_STEP_SUMMARY, their `if:` conditions evaluated,
against one sandbox per environment over HTTP. GitHub's own actions are stood in for: the
checkout is the repository itself, an artifact is carried from the plan job to the apply job
after the work tree is cleaned, and the github-script steps run under node against an in-memory
stand-in for GitHub's issues API. The pin (one spec, one tag for CI and pre-commit) and the
vendored schema are checked as files.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from azstate.cli import main
from azstate.sandbox.server import SandboxServer
from tests.test_gitops import azstate_commands, parses

ROOT = Path(__file__).resolve().parent.parent
GITOPS = ROOT / "examples" / "gitops"
WORKFLOW = GITOPS / ".github" / "workflows" / "azstate.yml"
SCRIPTS = GITOPS / ".github" / "scripts"
ENVIRONMENTS = ("staging", "production")
BIN = str(Path(sys.executable).parent)

pytestmark = pytest.mark.quick_azstate  # BIN: conftest puts the quick-starting azstate first
NODE = shutil.which("node")
SPEC = re.compile(
    r"azstate @ git\+(?P<url>https://github\.com/[\w.-]+/[\w.-]+)@(?P<tag>v\d+\.\d+\.\d+)"
)
INSTALL = 'pip install "$AZSTATE_SPEC"'


def workflow() -> dict[str, Any]:
    data: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    data["on"] = data.pop(True)  # YAML 1.1 reads the bare key `on` as a boolean
    return data


def all_steps() -> Iterator[tuple[str, dict[str, Any]]]:
    for name, job in workflow()["jobs"].items():
        for step in job["steps"]:
            yield name, step


# --- the files -----------------------------------------------------------------------------


def test_azstate_is_pinned_once_and_pre_commit_uses_the_same_tag() -> None:
    flow = workflow()
    spec = SPEC.fullmatch(flow["env"]["AZSTATE_SPEC"])
    assert spec, flow["env"]["AZSTATE_SPEC"]
    installs = [step["run"].strip() for _, step in all_steps() if "pip" in step.get("run", "")]
    assert installs and set(installs) == {INSTALL}
    assert WORKFLOW.read_text().count("git+https://") == 1

    config = yaml.safe_load((GITOPS / ".pre-commit-config.yaml").read_text())
    (repo,) = config["repos"]
    assert (repo["repo"], repo["rev"]) == (spec["url"], spec["tag"])
    published = {h["id"] for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert {h["id"] for h in repo["hooks"]} <= published


def test_the_pre_commit_hooks_validate_each_environment_as_pre_commit_runs_them(
    tmp_path: Path,
) -> None:
    """pre-commit runs the published entry with the example's args appended."""
    root = tmp_path / "copy"
    shutil.copytree(GITOPS, root, ignore=shutil.ignore_patterns(".azstate"))
    subprocess.run(["git", "init", "-q", str(root)], check=True)  # as in the repository it is in
    (published,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert published["language"] == "python"  # pre-commit installs azstate itself
    config = yaml.safe_load((root / ".pre-commit-config.yaml").read_text())
    hooks = config["repos"][0]["hooks"]
    env = {"PATH": BIN + os.pathsep + os.environ.get("PATH", "")}
    for environment in ENVIRONMENTS:
        (hook,) = [h for h in hooks if h["args"] == ["-c", environment]]
        for path in (f"{environment}/azstate.toml", "flows/etl/nightly.flow", "base.toml"):
            assert re.search(hook["files"], path), path
        other = next(e for e in ENVIRONMENTS if e != environment)
        assert not re.search(hook["files"], f"{other}/azstate.toml")
        argv = [*shlex.split(published["entry"]), *hook["args"]]
        done = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert "The configuration is valid." in done.stdout


def test_the_schema_reference_survives_the_copy() -> None:
    vendored = GITOPS / "azstate.schema.json"
    assert vendored.read_text() == (ROOT / "schema" / "azstate.schema.json").read_text(), (
        "examples/gitops/azstate.schema.json is a copy of schema/azstate.schema.json: copy it again"
    )
    tomls = sorted(GITOPS.glob("*.toml")) + sorted(GITOPS.glob("*/azstate.toml"))
    assert tomls
    for toml in tomls:
        first = toml.read_text().splitlines()[0]
        assert first.startswith("#:schema "), toml
        target = (toml.parent / first.removeprefix("#:schema ")).resolve()
        assert target == vendored.resolve(), toml


def leaves(table: dict[str, Any], prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """Every value of a TOML document by key path; arrays are values (an overlay replaces them)."""
    out: dict[tuple[str, ...], Any] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update(leaves(value, (*prefix, key)))
        else:
            out[(*prefix, key)] = value
    return out


def test_the_environments_extend_one_base_and_repeat_no_value() -> None:
    base = leaves(tomllib.loads((GITOPS / "base.toml").read_text()))
    envs = {
        e: leaves(tomllib.loads((GITOPS / e / "azstate.toml").read_text())) for e in ENVIRONMENTS
    }
    for env, values in envs.items():
        assert values.pop(("extends",)) == ["../base.toml"], env
        restated = [k for k, v in values.items() if k in base and base[k] == v]
        assert not restated, f"{env} restates the base: {restated}"
    staging, production = envs.values()
    same = [k for k in set(staging) & set(production) if staging[k] == production[k]]
    assert not same, f"both environments say the same (it belongs in base.toml): {same}"


def test_no_expression_reaches_a_shell_and_only_github_actions_are_used() -> None:
    """`${{ }}` in a run script is pasted into bash unquoted: values go through env instead."""
    for job, step in all_steps():
        if "run" in step:
            assert "${{" not in step["run"], (job, step.get("name"))
        else:
            assert re.fullmatch(r"actions/[a-z-]+@v\d+", step["uses"]), (job, step)
    for script in SCRIPTS.iterdir():
        assert "${{" not in script.read_text(), script


def test_every_azstate_command_in_the_workflow_is_a_valid_invocation() -> None:
    commands = [argv for _, s in all_steps() if "run" in s for argv in azstate_commands(s["run"])]
    seen = {" ".join(argv) for argv in commands}
    assert {
        "validate -c $AZSTATE_ENV",
        "plan -c $AZSTATE_ENV --plan-for $AZSTATE_DEPLOY_USER --format markdown --out plan "
        "--detailed-exitcode",
        "plan -c $AZSTATE_ENV --plan-for $AZSTATE_DEPLOY_USER --out plan --detailed-exitcode",
        "show plan --format markdown",
        "apply plan",
        "plan -c $AZSTATE_ENV --refresh-only --baseline $tag --refresh=full --detailed-exitcode "
        "--format markdown",
    } <= seen
    for argv in commands:
        assert parses(argv), argv
    # the pull request's plan with its baseline, as the array expands once the tag exists
    assert parses(["plan", "-c", "staging", "--baseline", "azstate-applied/staging"])


def test_merges_plan_before_the_protected_environment_and_apply_only_that_plan() -> None:
    flow = workflow()
    assert flow["on"]["push"]["branches"] == ["main"]
    assert "pull_request" in flow["on"] and "workflow_dispatch" in flow["on"]
    assert [s["cron"] for s in flow["on"]["schedule"]]
    jobs = flow["jobs"]
    assert jobs["plan"]["if"] == "github.event_name == 'pull_request'"
    assert jobs["plan-production"]["needs"] == ["plan-staging", "apply-staging"]
    for env in ENVIRONMENTS:
        plan, apply = jobs[f"plan-{env}"], jobs[f"apply-{env}"]
        assert plan["environment"] == f"{env}-plan"  # no reviewers: the plan exists first
        assert apply["environment"] == env and apply["needs"] == f"plan-{env}"
        assert "needs.plan-" + env + ".outputs.exitcode == '2'" in apply["if"]
        assert apply["concurrency"] == {
            "group": f"azstate-apply-{env}",
            "cancel-in-progress": False,
        }
        saved = next(s for s in plan["steps"] if s.get("id") == "plan")
        assert "--out plan" in saved["run"] and "GITHUB_STEP_SUMMARY" in saved["run"]
        upload = next(s for s in plan["steps"] if s.get("uses", "").startswith("actions/upload"))
        download = next(s for s in apply["steps"] if s.get("uses", "").startswith("actions/down"))
        assert upload["with"]["name"] == download["with"]["name"]
        runs = [s["run"] for s in apply["steps"] if "run" in s]
        assert not any(argv[0] == "plan" for r in runs for argv in azstate_commands(r))
        assert [a for r in runs for a in azstate_commands(r)] == [["apply", "plan"]]
        record = apply["steps"][-1]
        assert "record-applied.sh" in record["run"] and "if" not in record
        for job in (plan, apply):
            checkout = job["steps"][0]
            assert checkout["uses"].startswith("actions/checkout") and checkout["with"] == {
                "fetch-depth": 0
            }
    drift = jobs["drift"]
    assert "schedule" in drift["if"] and "workflow_dispatch" in drift["if"]
    assert drift["permissions"]["issues"] == "write"
    assert drift["environment"] == "${{ matrix.env }}-plan"


# --- running the jobs ----------------------------------------------------------------------


@dataclass
class Ran:
    """What one job did: the outputs of its steps and where it stopped."""

    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    failed: str | None = None
    stderr: str = ""
    ran: list[str] = field(default_factory=list)

    def output(self, step: str, key: str) -> str:
        return self.outputs.get(step, {}).get(key, "")


def condition(expression: str, ran: Ran) -> bool:
    """The `if:` of a step, for the small grammar this workflow's steps use."""

    def value(match: re.Match[str]) -> str:
        return repr(ran.output(match[1], match[2]))

    text = re.sub(r"steps\.([\w-]+)\.outputs\.([\w-]+)", value, expression)
    text = text.replace("always()", "True").replace("&&", " and ").replace("||", " or ")
    assert re.fullmatch(r"[\s\w'!=()]*", text.replace("''", "")), expression
    failed = ran.failed is not None
    if not expression.startswith("always()") and "failure()" not in expression and failed:
        return False
    return bool(eval(text, {"__builtins__": {}}, {"True": True}))


def run_job(job: str, root: Path, env: dict[str, str]) -> Ran:
    """Run the job's shell steps in order as GitHub does; stop at the first that fails."""
    ran = Ran()
    for step in workflow()["jobs"][job]["steps"]:
        if "if" in step and not condition(step["if"], ran):
            continue
        if ran.failed is not None and "if" not in step:
            continue
        if "run" not in step:
            continue
        if step["run"].strip() == INSTALL:
            continue
        output = Path(env["GITHUB_OUTPUT"])
        output.write_text("")
        step_env = env | {str(k): str(v) for k, v in step.get("env", {}).items()}
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=root,
            env=step_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        name = step.get("id") or step.get("name", "?")
        ran.ran.append(name)
        ran.outputs[name] = dict(
            line.partition("=")[::2] for line in output.read_text().splitlines() if line
        )
        ran.stderr += done.stderr
        if done.returncode != 0:
            ran.failed = name
    return ran


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True, env=GIT_ENV
    )
    return done.stdout.strip()


GIT_ENV = {
    "PATH": os.environ.get("PATH", ""),
    "HOME": "/nonexistent",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "ci",
    "GIT_AUTHOR_EMAIL": "ci@example.com",
    "GIT_COMMITTER_NAME": "ci",
    "GIT_COMMITTER_EMAIL": "ci@example.com",
}


@dataclass
class Repo:
    root: Path
    github: Path  # GITHUB_OUTPUT and GITHUB_STEP_SUMMARY live outside the work tree

    def commit(self, message: str) -> str:
        git(self.root, "add", "-A")
        git(self.root, "commit", "-q", "-m", message)
        git(self.root, "push", "-q", "origin", "main")
        return git(self.root, "rev-parse", "HEAD")

    def applied(self, env: str) -> str | None:
        """Where origin's tag for the environment points, or None."""
        refs = git(self.root, "ls-remote", "--tags", "origin", f"azstate-applied/{env}")
        return refs.split()[0] if refs else None

    def summary(self) -> str:
        return (self.github / "step-summary.md").read_text()

    def carry_artifact(self, job: str) -> None:
        """Upload in the plan job, a fresh work tree, download in the apply job."""
        (upload,) = [
            s
            for s in workflow()["jobs"][job]["steps"]
            if s.get("uses", "").startswith("actions/upload-artifact")
        ]
        kept = {p: (self.root / p).read_bytes() for p in upload["with"]["path"].split()}
        git(self.root, "clean", "-q", "-fdx")
        git(self.root, "checkout", "-q", ".")
        for path, data in kept.items():
            (self.root / path).write_bytes(data)


def new_repo(where: Path) -> Repo:
    """The example copied to the root of a new repository, pushed to a bare origin."""
    where.mkdir(parents=True, exist_ok=True)
    origin = where / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    root = where / "repo"
    shutil.copytree(GITOPS, root, ignore=shutil.ignore_patterns(".azstate", "plan*"))
    # The sandbox speaks plain HTTP: an AZKABAN_URL downgrading the example's https server.url
    # would be refused, so the copy's server.url is http (AZKABAN_URL still names another host).
    for toml in root.glob("*/azstate.toml"):
        toml.write_text(toml.read_text().replace('url = "https://', 'url = "http://'))
    git(root, "init", "-q", "-b", "main")
    git(root, "remote", "add", "origin", str(origin))
    github = where / "github"
    github.mkdir()
    made = Repo(root, github)
    made.commit("the example, copied")
    return made


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return new_repo(tmp_path)


@pytest.fixture
def second_sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    """Production gets its own server: both environments declare the same project names."""
    server = SandboxServer(data_dir=tmp_path / "production-data", port=0).start()
    try:
        yield server
    finally:
        server.stop()


def ci_env(repo: Repo, env: str, server: SandboxServer, *, user: str = "azkaban") -> dict[str, str]:
    """What a runner gives the steps: the workflow's env, the job's, and GitHub's files. The
    deploy user is azkaban; ``user`` is who the job logs in as."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AZKABAN_", "GIT_"))}
    base.update({str(k): str(v) for k, v in workflow()["env"].items()})
    base.update(GIT_ENV)
    base.update(
        PATH=BIN + os.pathsep + os.environ.get("PATH", ""),
        AZSTATE_ENV=env,
        AZKABAN_URL=server.url,
        AZSTATE_DEPLOY_USER="azkaban",
        AZKABAN_USERNAME=user,
        AZKABAN_PASSWORD=user,
        GITHUB_OUTPUT=str(repo.github / "github-output"),
        GITHUB_STEP_SUMMARY=str(repo.github / "step-summary.md"),
        GITHUB_SHA=git(repo.root, "rev-parse", "HEAD"),
        AZSTATE_CACHE_DIR=str(repo.github.parent / "cache"),  # a runner's own
    )
    (repo.github / "step-summary.md").write_text("")
    return base


def pull_request_then_merge(repo: Repo, env: str, server: SandboxServer) -> None:
    """One environment: its pull-request plan, the merge's plan and apply jobs, the next merge."""
    ci = ci_env(repo, env, server)
    pr = run_job("plan", repo.root, ci)
    assert pr.failed is None, pr.stderr
    assert pr.output("plan", "exitcode") == "2" and pr.output("plan", "baseline") == ""
    assert (repo.root / "plan.md").read_text().startswith("## azstate plan\n")
    git(repo.root, "clean", "-q", "-fdx")

    planned = run_job(f"plan-{env}", repo.root, ci)
    assert planned.failed is None, planned.stderr
    assert planned.output("plan", "exitcode") == "2"
    summary = repo.summary()
    assert "## azstate plan" in summary and "project.etl.schedule.nightly" in summary
    assert "Review this plan" in summary
    assert repo.applied(env) is None, "nothing is recorded before the apply"

    repo.carry_artifact(f"plan-{env}")
    applied = run_job(f"apply-{env}", repo.root, ci)
    assert applied.failed is None, applied.stderr
    assert applied.ran == ["Apply exactly the saved plan", "Record the applied revision"]
    assert repo.applied(env) == ci["GITHUB_SHA"]

    # the next merge's plan finds nothing to do: no apply job, the revision is recorded
    git(repo.root, "clean", "-q", "-fdx")
    again = run_job(f"plan-{env}", repo.root, ci)
    assert again.failed is None, again.stderr
    assert again.output("plan", "exitcode") == "0"
    assert "No changes." in (repo.root / "plan.txt").read_text()


def test_a_merge_plans_shows_the_plan_applies_exactly_it_and_records_the_revision(
    tmp_path: Path, sandbox: SandboxServer, second_sandbox: SandboxServer
) -> None:
    """Each environment on a runner (a repository) and a server of its own, at once, as the
    workflow's jobs would run if both environments' files changed."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = [
            pool.submit(pull_request_then_merge, new_repo(tmp_path / env), env, server)
            for env, server in zip(ENVIRONMENTS, (sandbox, second_sandbox), strict=True)
        ]
        for run in runs:
            run.result()



def staging_applied(repo: Repo, sandbox: SandboxServer) -> dict[str, str]:
    """A merge's staging jobs, planned and applied; the environment they ran in."""
    ci = ci_env(repo, "staging", sandbox)
    run_job("plan-staging", repo.root, ci)
    repo.carry_artifact("plan-staging")
    assert run_job("apply-staging", repo.root, ci).failed is None
    return ci

def test_a_merge_that_changes_nothing_on_the_server_still_records_its_revision(
    repo: Repo, sandbox: SandboxServer
) -> None:
    ci = staging_applied(repo, sandbox)
    first = repo.applied("staging")

    staging = repo.root / "staging" / "azstate.toml"
    staging.write_text(staging.read_text() + "\n# a comment changes nothing on the server\n")
    second = repo.commit("a comment")
    ci = ci_env(repo, "staging", sandbox)
    planned = run_job("plan-staging", repo.root, ci)
    assert planned.failed is None, planned.stderr
    assert planned.output("plan", "exitcode") == "0"
    assert "Record the applied revision (nothing to apply)" in planned.ran
    assert first != second and repo.applied("staging") == second


def test_a_stale_saved_plan_is_refused_asks_for_a_new_plan_and_records_nothing(
    repo: Repo, sandbox: SandboxServer
) -> None:
    ci = ci_env(repo, "staging", sandbox)
    planned = run_job("plan-staging", repo.root, ci)
    assert planned.output("plan", "exitcode") == "2"
    repo.carry_artifact("plan-staging")
    # someone applies by hand between the plan and the approval
    with pytest.MonkeyPatch.context() as mp:  # in-process: the workflow is not what is tested
        for name in list(os.environ):
            mp.delenv(name)
        for name, value in ci.items():
            mp.setenv(name, value)
        mp.chdir(repo.root)
        err = io.StringIO()
        mp.setattr(sys, "stdout", io.StringIO())
        mp.setattr(sys, "stderr", err)
        code = main(["apply", "-c", "staging", "--auto-approve"])
    assert code == 0, err.getvalue()

    applied = run_job("apply-staging", repo.root, ci)
    assert applied.failed == "Apply exactly the saved plan"
    assert "Record the applied revision" not in applied.ran
    assert "stale" in applied.stderr and "Traceback" not in applied.stderr
    assert "::error title=Stale plan::" in applied.stderr or "Re-run all jobs" in repo.summary()
    assert "make and review a new plan" in repo.summary()
    assert repo.applied("staging") is None


def test_a_read_only_plan_job_plans_for_the_deploy_user_who_applies_it(
    repo: Repo, sandbox: SandboxServer
) -> None:
    # The read-only account must be able to read every project it plans: here through the
    # group `readers` that the sandbox's user `reader` is in.
    staging = repo.root / "staging" / "azstate.toml"
    staging.write_text(
        staging.read_text() + '\n[projects.reports.permissions]\ngroups = { readers = ["read"] }\n'
    )
    grant = 'data-eng = ["admin"]'
    files = (repo.root / "base.toml", staging)
    etl = next(f for f in files if f.exists() and grant in f.read_text())
    etl.write_text(etl.read_text().replace(grant, grant + ', readers = ["read"]'))
    repo.commit("the read-only account reads every project")
    read_only = ci_env(repo, "staging", sandbox, user="reader")
    planned = run_job("plan-staging", repo.root, read_only)
    assert planned.failed is None, planned.stderr
    assert json.loads((repo.root / "plan").read_text())["user"] == "azkaban"
    repo.carry_artifact("plan-staging")
    applied = run_job("apply-staging", repo.root, ci_env(repo, "staging", sandbox))
    assert applied.failed is None, applied.stderr
    assert repo.applied("staging") == read_only["GITHUB_SHA"]
    # the next merge, planned by the read-only account again, finds nothing to do
    again = run_job("plan-staging", repo.root, ci_env(repo, "staging", sandbox, user="reader"))
    assert again.failed is None and again.output("plan", "exitcode") == "0", again.stderr


def test_the_revision_tag_never_moves_backwards(repo: Repo, sandbox: SandboxServer) -> None:
    ci = ci_env(repo, "staging", sandbox)
    older = ci["GITHUB_SHA"]
    (repo.root / "notes.txt").write_text("later\n")
    newer = repo.commit("a later merge")
    record = SCRIPTS / "record-applied.sh"
    for sha in (newer, older):
        done = subprocess.run(
            ["bash", str(record)],
            cwd=repo.root,
            env=ci | {"GITHUB_SHA": sha},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
    assert repo.applied("staging") == newer


def test_the_pull_request_plan_stays_plain_until_a_revision_is_recorded(
    repo: Repo, sandbox: SandboxServer
) -> None:
    ci = ci_env(repo, "staging", sandbox)
    pr = run_job("plan", repo.root, ci)
    assert pr.failed is None and pr.output("plan", "baseline") == ""
    drift = run_job("drift", repo.root, ci)
    assert drift.failed is None and drift.output("drift", "exitcode") == ""
    assert drift.ran == ["drift"], "no issue step without a recorded revision"


def test_pull_requests_plan_against_the_recorded_revision_and_the_drift_check_finds_drift(
    repo: Repo, sandbox: SandboxServer, tmp_path: Path
) -> None:
    ci = staging_applied(repo, sandbox)
    sha = repo.applied("staging")
    assert sha

    pr = run_job("plan", repo.root, ci)
    assert pr.failed is None, pr.stderr
    assert pr.output("plan", "exitcode") == "0"
    assert pr.output("plan", "baseline") == f"azstate-applied/staging {sha[:7]}"

    quiet = run_job("drift", repo.root, ci)
    assert quiet.failed is None, quiet.stderr
    assert quiet.output("drift", "exitcode") == "0"

    # someone changes the server by hand: a copy of the repository with another cron
    other = tmp_path / "by-hand"
    shutil.copytree(repo.root, other, ignore=shutil.ignore_patterns(".git"))
    subprocess.run(["git", "init", "-q", str(other)], check=True)  # base.toml is in its repo
    staging = other / "staging" / "azstate.toml"
    text = staging.read_text()
    assert '"0 0 */6 ? * *"' in text
    staging.write_text(text.replace('"0 0 */6 ? * *"', '"0 0 */3 ? * *"'))
    by_hand = subprocess.run(
        ["azstate", "apply", "-c", "staging", "--auto-approve"],
        cwd=other,
        env=ci,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert by_hand.returncode == 0, by_hand.stderr

    drifted = run_job("drift", repo.root, ci)
    assert drifted.failed is None, drifted.stderr
    assert drifted.output("drift", "exitcode") == "2"
    report = (repo.root / "drift.md").read_text()
    assert "project.etl.schedule.nightly" in report
    assert "project.etl.schedule.nightly" in repo.summary()

    # the drift is undone (applied from the recorded revision): the next check finds none
    undone = subprocess.run(
        ["azstate", "apply", "-c", "staging", "--auto-approve"],
        cwd=repo.root,
        env=ci,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert undone.returncode == 0, undone.stderr
    gone = run_job("drift", repo.root, ci_env(repo, "staging", sandbox))
    assert gone.failed is None, gone.stderr
    assert gone.output("drift", "exitcode") == "0"


# --- the github-script steps under node ----------------------------------------------------

HARNESS = r"""
// GitHub's issues API held in a JSON file, enough for the workflow's scripts.
const fs = require('fs');
const [script, stateFile, dir] = process.argv.slice(2);
const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
const byNumber = (n) => state.issues.find((i) => i.number === n);
const github = {
  paginate: async (method, params) => (await method(params)).data,
  rest: { issues: {
    listForRepo: async ({ state: which }) => ({
      data: state.issues.filter((i) => which === 'all' || i.state === which),
    }),
    create: async ({ title, body }) => {
      const made = { number: state.next++, title, body, state: 'open', comments: [] };
      state.issues.push(made); return { data: made };
    },
    update: async ({ issue_number, ...fields }) => {
      const issue = byNumber(issue_number);
      for (const key of ['body', 'state', 'state_reason', 'title']) {
        if (key in fields) issue[key] = fields[key];
      }
      return { data: issue };
    },
    createComment: async ({ issue_number, body }) => {
      const issue = byNumber(issue_number);
      if (issue) { issue.comments.push(body); return { data: {} }; }
      const made = { id: state.next++, body }; state.comments.push(made); return { data: made };
    },
    listComments: async () => ({ data: state.comments }),
    updateComment: async ({ comment_id, body }) => {
      state.comments.find((c) => c.id === comment_id).body = body; return { data: {} };
    },
  } },
};
const context = {
  repo: { owner: 'acme', repo: 'azkaban-config' }, issue: { number: 7 },
  serverUrl: 'https://github.com', runId: 42, sha: 'f00dfeedf00dfeed', payload: {},
};
require(script)({ github, context, env: process.env, dir }).then((result) => {
  fs.writeFileSync(stateFile, JSON.stringify(state));
  console.log(JSON.stringify(result));
});
"""


def github_script(
    tmp_path: Path, script: str, state: Path, files: dict[str, str], env: dict[str, str]
) -> Any:
    """Run one of the example's github-script files against the in-memory API in `state`."""
    work = tmp_path / f"work-{env['AZSTATE_ENV']}"
    work.mkdir(exist_ok=True)
    for name, text in files.items():
        (work / name).write_text(text)
    harness = tmp_path / "harness.js"
    harness.write_text(HARNESS)
    assert NODE
    done = subprocess.run(
        [NODE, str(harness), str(SCRIPTS / script), str(state), str(work)],
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def drift_issue(tmp_path: Path, state: Path, env: str, exitcode: str, report: str) -> Any:
    return github_script(
        tmp_path,
        "drift-issue.js",
        state,
        {"drift.md": report},
        {"AZSTATE_ENV": env, "DRIFT_EXITCODE": exitcode},
    )


@pytest.mark.skipif(NODE is None, reason="node is needed to run the github-script step")
def test_one_drift_issue_per_environment_is_opened_updated_and_closed(tmp_path: Path) -> None:
    state = tmp_path / "issues.json"
    human = {
        "number": 1,
        "title": "a bug",
        "body": "<!-- azstate-drift: staging --> quoted",
        "state": "closed",
        "comments": [],
    }
    pr = {
        "number": 2,
        "title": "a PR",
        "body": "<!-- azstate-drift: staging -->",
        "state": "open",
        "comments": [],
        "pull_request": {},
    }
    state.write_text(json.dumps({"next": 3, "issues": [human, pr], "comments": []}))

    assert drift_issue(tmp_path, state, "staging", "0", "") == {"action": "none"}
    opened = drift_issue(tmp_path, state, "staging", "2", "## azstate plan\n\nfirst drift\n")
    other = drift_issue(tmp_path, state, "production", "2", "## azstate plan\n\nprod drift\n")
    updated = drift_issue(tmp_path, state, "staging", "2", "## azstate plan\n\nsecond drift\n")
    assert opened == {"action": "opened", "number": 3} and other["action"] == "opened"
    assert updated == {"action": "updated", "number": 3}
    issues = {i["number"]: i for i in json.loads(state.read_text())["issues"]}
    assert len(issues) == 4
    staging = issues[3]
    assert staging["body"].startswith("<!-- azstate-drift: staging -->\n")
    assert "second drift" in staging["body"] and "first drift" not in staging["body"]
    assert "actions/runs/42" in staging["body"] and "staging" in staging["title"]

    closed = drift_issue(tmp_path, state, "staging", "0", "")
    assert closed == {"action": "closed", "number": 3}
    issues = {i["number"]: i for i in json.loads(state.read_text())["issues"]}
    assert issues[3]["state"] == "closed" and "drift is gone" in issues[3]["comments"][0]
    assert issues[other["number"]]["state"] == "open", "production's issue is its own"
    assert issues[2]["state"] == "open" and issues[1]["state"] == "closed"

    # drift again after the close: a new issue, not the closed one reopened
    again = drift_issue(tmp_path, state, "staging", "2", "third drift")
    assert again["action"] == "opened" and again["number"] not in (3, other["number"])


@pytest.mark.skipif(NODE is None, reason="node is needed to run the github-script step")
def test_a_drift_issue_never_exceeds_what_github_accepts(tmp_path: Path) -> None:
    state = tmp_path / "issues.json"
    state.write_text(json.dumps({"next": 1, "issues": [], "comments": []}))
    drift_issue(tmp_path, state, "staging", "2", "## azstate plan\n\n" + "x" * 80_000)
    (issue,) = json.loads(state.read_text())["issues"]
    assert len(issue["body"]) <= 65_536 and issue["body"].rstrip().endswith("</sub>")
    assert "(cut)" in issue["body"]


@pytest.mark.skipif(NODE is None, reason="node is needed to run the github-script step")
def test_the_plan_comment_says_which_applied_revision_it_compared_with(tmp_path: Path) -> None:
    state = tmp_path / "comments.json"
    state.write_text(json.dumps({"next": 1, "issues": [], "comments": []}))
    plan = {"plan.md": "## azstate plan\n\nNo changes.\n"}
    env = {"AZSTATE_ENV": "staging", "PLAN_EXITCODE": "0"}
    github_script(tmp_path, "plan-comment.js", state, plan, env)
    (first,) = json.loads(state.read_text())["comments"]
    assert "No applied revision is recorded yet" in first["body"]
    baseline = {"PLAN_BASELINE": "azstate-applied/staging 1a2b3c4"}
    updated = github_script(tmp_path, "plan-comment.js", state, plan, env | baseline)
    assert updated == {"action": "updated", "id": first["id"]}
    (comment,) = json.loads(state.read_text())["comments"]
    assert "last applied revision `azstate-applied/staging` (1a2b3c4)" in comment["body"]


def test_the_version_comes_from_the_git_tag_with_a_fallback() -> None:
    """What the pin relies on: a build from tag vX.Y.Z is X.Y.Z, and `azstate --version` and a
    saved plan name the build (a clone without tags still builds, naming its commit)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" in project["project"]["dynamic"]
    assert "version" not in project["project"]
    assert any(r.startswith("setuptools-scm") for r in project["build-system"]["requires"])
    assert project["tool"]["setuptools_scm"]["fallback_version"]
    import azstate

    shown = subprocess.run(
        [sys.executable, "-m", "azstate", "--version"], capture_output=True, text=True, check=True
    )
    assert shown.stdout.strip() == f"azstate {azstate.__version__}"
