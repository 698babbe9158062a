"""examples/gitops is a repository users copy: its CI workflow and pre-commit hooks must work.

The jobs of the workflow (pull-request plan, merge plan and apply, recorded revision, drift
check), its pin and the example's pre-commit hooks are tested in test_gitops_workflow.py.

The workflow's shell steps are run as GitHub would run them (bash -eo pipefail, GITHUB_OUTPUT,
GITHUB_STEP_SUMMARY) in a copy of the example, against sandboxes over HTTP; the comment script is
run by node against an in-memory stand-in for GitHub's issue-comment API. Only the steps that
install or check out (GitHub's own actions, pip) are not run; they are checked instead.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from azstate.cli import build_parser
from azstate.load import load_config
from azstate.sandbox.server import SandboxServer

ROOT = Path(__file__).resolve().parent.parent
GITOPS = ROOT / "examples" / "gitops"
WORKFLOW = GITOPS / ".github" / "workflows" / "azstate.yml"
ENVIRONMENTS = ("staging", "production")
BIN = str(Path(sys.executable).parent)

pytestmark = pytest.mark.quick_azstate  # BIN: conftest puts the quick-starting azstate first
NODE = shutil.which("node")


def workflow() -> dict[str, Any]:
    data: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    data["on"] = data.pop(True)  # YAML 1.1 reads the bare key `on` as a boolean
    return data


def steps(job: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = workflow()["jobs"][job]["steps"]
    return found


def azstate_commands(script: str) -> list[list[str]]:
    """The azstate invocations in a step's shell script, as argv (redirections and arrays
    dropped)."""
    joined = script.replace("\\\n", " ")
    found: list[list[str]] = []
    for line in joined.splitlines():
        for part in re.split(r"&&|\|\||;|\|", line):
            words = shlex.split(part.strip(), comments=True)
            if not words or words[0] != "azstate":
                continue
            argv: list[str] = []
            skip = False
            for word in words[1:]:
                if skip:
                    skip = False
                elif re.fullmatch(r"\d?>>?|<", word):
                    skip = True
                elif not re.match(r"\d?>", word) and not word.startswith("${"):
                    argv.append(word)
            found.append(argv)
    return found


def parses(argv: list[str]) -> bool:
    """True when azstate's own parser accepts argv (it exits 1 on an unknown flag)."""
    command = next((a for a in argv if not a.startswith("-")), None)
    try:
        build_parser(only=command).parse_args(argv)
    except SystemExit:
        return False
    return True


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of the example as the root of a checked-out repository, with the schema beside."""
    root = tmp_path / "repo"
    shutil.copytree(GITOPS, root, ignore=shutil.ignore_patterns(".azstate", "plan*"))
    return checked_out(root, root)


def checked_out(root: Path, example: Path) -> Path:
    """``root`` made a checkout whose GitOps ``example`` speaks to the sandbox.

    The sandbox speaks plain HTTP: an AZKABAN_URL downgrading the example's https server.url
    would be refused, so the copy's server.url is http (AZKABAN_URL still names another host,
    so the plan still warns). Committed, so that sources in ../flows are inside its work tree.
    """
    for toml in example.glob("*/azstate.toml"):
        toml.write_text(toml.read_text().replace('url = "https://', 'url = "http://'))
    for step in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "example"]):
        subprocess.run(
            ["git", "-c", "user.name=ci", "-c", "user.email=ci@example.com", *step],
            cwd=root, check=True, capture_output=True,
        )  # fmt: skip
    return root


def ci_env(root: Path, env: str, server: SandboxServer) -> dict[str, str]:
    """What a runner gives the steps: the workflow's env, the job's, and GitHub's files."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("AZKABAN_")}
    base.update({str(k): str(v) for k, v in workflow()["env"].items()})
    base.update(
        PATH=BIN + os.pathsep + base.get("PATH", ""),
        AZSTATE_ENV=env,
        AZKABAN_URL=server.url,
        AZKABAN_USERNAME="azkaban",
        AZKABAN_PASSWORD="azkaban",
        GITHUB_OUTPUT=str(root / "github-output"),
        GITHUB_STEP_SUMMARY=str(root / "step-summary.md"),
    )
    return base


def run_steps(job: str, root: Path, env: dict[str, str]) -> dict[str, str]:
    """Run the job's unconditional shell steps in order, as GitHub does; return their outputs."""
    outputs: dict[str, str] = {}
    for step in steps(job):
        if "run" not in step or "if" in step or is_install(step["run"]):
            continue
        Path(env["GITHUB_OUTPUT"]).write_text("")
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=root, env=env, capture_output=True, text=True, timeout=120,
        )
        assert done.returncode == 0, f"step {step.get('name')!r} failed:\n{done.stderr}"
        for line in Path(env["GITHUB_OUTPUT"]).read_text().splitlines():
            key, _, value = line.partition("=")
            outputs[key] = value
    return outputs


def is_install(script: str) -> bool:
    return script.strip().startswith("pip install")


def test_an_unreachable_server_fails_the_plan_step_with_its_message(
    repo: Path, sandbox: SandboxServer
) -> None:
    ci = ci_env(repo, "staging", sandbox) | {"AZKABAN_URL": "http://127.0.0.1:9"}
    outputs = run_steps("plan", repo, ci)
    assert outputs["exitcode"] == "1"
    assert "Error:" in (repo / "plan.err").read_text()


COMMENT_HARNESS = r"""
// GitHub's issue-comment API held in a JSON file, enough for the comment script.
const fs = require('fs');
const [script, stateFile, dir] = process.argv.slice(2);
const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
const github = {
  paginate: async (method, params) => (await method(params)).data,
  rest: { issues: {
    listComments: async () => ({ data: state.comments }),
    updateComment: async ({ comment_id, body }) => {
      state.comments.find((c) => c.id === comment_id).body = body; return { data: {} };
    },
    createComment: async ({ body }) => {
      const made = { id: state.next++, body }; state.comments.push(made); return { data: made };
    },
  } },
};
const context = {
  repo: { owner: 'acme', repo: 'azkaban-config' }, issue: { number: 7 },
  serverUrl: 'https://github.com', runId: 42, sha: 'f00dfeedf00dfeed',
  payload: { pull_request: { head: { sha: 'c0ffee1234567890' } } },
};
require(script)({ github, context, env: process.env, dir }).then((result) => {
  fs.writeFileSync(stateFile, JSON.stringify(state));
  console.log(JSON.stringify(result));
});
"""


def post_comment(
    tmp_path: Path, state: Path, env: str, exitcode: str, plan_md: str
) -> dict[str, Any]:
    work = tmp_path / f"work-{env}"
    work.mkdir(exist_ok=True)
    (work / "plan.md").write_text(plan_md)
    (work / "plan.err").write_text("Error: cannot reach http://azkaban:8443: connection refused\n")
    harness = tmp_path / "harness.js"
    harness.write_text(COMMENT_HARNESS)
    script = GITOPS / ".github" / "scripts" / "plan-comment.js"
    assert NODE
    done = subprocess.run(
        [NODE, str(harness), str(script), str(state), str(work)],
        env={"PATH": os.environ.get("PATH", ""), "AZSTATE_ENV": env, "PLAN_EXITCODE": exitcode},
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.skipif(NODE is None, reason="node is needed to run the github-script step")
def test_the_plan_comment_is_found_by_its_marker_and_updated_in_place(tmp_path: Path) -> None:
    state = tmp_path / "comments.json"
    human = {"id": 1, "body": "LGTM once the plan is clean"}
    state.write_text(json.dumps({"next": 2, "comments": [human]}))

    first = post_comment(tmp_path, state, "staging", "2", "## azstate plan\n\nfirst\n")
    other = post_comment(tmp_path, state, "production", "0", "## azstate plan\n\nprod\n")
    second = post_comment(tmp_path, state, "staging", "2", "## azstate plan\n\nsecond\n")
    failed = post_comment(tmp_path, state, "staging", "1", "")

    assert first["action"] == "created" and other["action"] == "created"
    assert second == {"action": "updated", "id": first["id"]} == failed | {"action": "updated"}
    comments = {c["id"]: c["body"] for c in json.loads(state.read_text())["comments"]}
    assert len(comments) == 3 and comments[1] == human["body"]
    staging = comments[first["id"]]
    assert staging.startswith("<!-- azstate-plan: staging -->\n")
    assert "The plan failed" in staging and "connection refused" in staging
    assert "second" not in staging
    assert "azstate-plan-staging" in staging and "actions/runs/42" in staging
    assert "c0ffee1" in staging
    assert "prod" in comments[other["id"]]


@pytest.mark.skipif(NODE is None, reason="node is needed to run the github-script step")
def test_a_comment_never_exceeds_what_github_accepts(tmp_path: Path) -> None:
    state = tmp_path / "comments.json"
    state.write_text(json.dumps({"next": 1, "comments": []}))
    post_comment(tmp_path, state, "staging", "2", "## azstate plan\n\n" + "x" * 59_990)
    body = json.loads(state.read_text())["comments"][0]["body"]
    assert len(body) <= 65_536 and body.rstrip().endswith("</sub>")


def test_environments_share_flows_but_not_cron_or_sla() -> None:
    staging, production = (load_config(GITOPS / env).config.projects for env in ENVIRONMENTS)
    for name in ("etl", "reports"):
        assert staging[name].source == production[name].source == GITOPS / "flows" / name
    assert staging["etl"].schedules["nightly"].cron != production["etl"].schedules["nightly"].cron
    assert staging["etl"].schedules["nightly"].sla != production["etl"].schedules["nightly"].sla
    assert production["etl"].protect and not staging["etl"].protect


def pre_commit_hooks(path: Path, key: str | None) -> list[dict[str, Any]]:
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    if key is None:
        hooks: list[dict[str, Any]] = data
        return hooks
    return [hook for repo in data[key] for hook in repo["hooks"]]


def test_published_pre_commit_hook_runs_validate(repo: Path) -> None:
    (hook,) = pre_commit_hooks(ROOT / ".pre-commit-hooks.yaml", None)
    assert hook["id"] == "azstate-validate" and hook["language"] == "python"
    assert not hook["pass_filenames"]
    for path in ("azstate.toml", "flows/etl/nightly.flow", "jobs/load.job", "src/etl.zip"):
        assert re.search(hook["files"], path), path
    assert not re.search(hook["files"], "README.md")
    argv = [*shlex.split(hook["entry"]), "-c", "production"]  # `args:` are appended
    assert parses(argv[1:])
    env = {"PATH": BIN + os.pathsep + os.environ.get("PATH", "")}
    done = subprocess.run(argv, cwd=repo, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
