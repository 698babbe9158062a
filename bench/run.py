"""azstate benchmark: `python bench/run.py` prints one table with every target of issue 17.

It starts the sandbox in its own process, fills it through azstate apply (no latency) with a
fleet of P projects of two flows each (2P schedules, half with an SLA, a user and a group
permission per project), then injects latency and measures azstate as a user runs it, side by
side in this one run: the client's fixed start-up, a cold plan (no token cache), a warm
no-change plan, a warm plan after one project changed on the server, a one-project --target
plan, an apply of new projects, and the pure core at 1,000 and 10,000 schedules. Each figure is
printed with its target, its ratio to the target and the 1-minute load average when it was taken
(the machine is shared: a high load explains a slow wall time, never a call count).

`--quick` runs a smaller fleet (100 projects, 20 new) for iterating; the targets are the same
formulas, evaluated for that fleet.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from core import core_benchmark
from fleet import project_names, write_fleet

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sandbox:
    """The emulator in a child process, driven through its control endpoints."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "azstate", "sandbox", "serve", "--port", str(self.port),
             "--data-dir", str(data_dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/__sandbox__/log", timeout=1).read()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the sandbox did not start within 30 s")

    def _control(self, method: str, path: str, body: dict[str, object] | None = None) -> object:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=60) as reply:
            raw = reply.read()
        return json.loads(raw) if raw else None

    def latency(self, seconds: float) -> None:
        self._control("POST", "/__sandbox__/faults", {"latency": seconds})

    def clear_log(self) -> None:
        self._control("DELETE", "/__sandbox__/log")

    def log(self) -> list[dict[str, object]]:
        entries = self._control("GET", "/__sandbox__/log")
        assert isinstance(entries, list)
        return entries

    def change_description(self, project: str, text: str) -> None:
        """An out-of-band change, as a person in the UI would make it."""
        login = urllib.parse.urlencode(
            {"action": "login", "username": "azkaban", "password": "azkaban"}
        ).encode()
        with urllib.request.urlopen(self.url + "/", data=login, timeout=30) as reply:
            sid = json.loads(reply.read())["session.id"]
        form = urllib.parse.urlencode(
            {"ajax": "changeDescription", "project": project, "description": text,
             "session.id": sid}
        ).encode()  # fmt: skip
        with urllib.request.urlopen(self.url + "/manager", data=form, timeout=30) as reply:
            assert "error" not in json.loads(reply.read())

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@dataclass
class Run:
    wall: float  # seconds
    code: int
    peak_mb: float
    cpu: float  # user + system seconds of the child
    load: float  # 1-minute load average right after the run


def load1() -> float:
    return os.getloadavg()[0]


def measured(argv: list[str], env: dict[str, str]) -> Run:
    """Run a child process; its wall time, exit code, peak RSS and CPU (from wait4)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 2):
        print(stderr, file=sys.stderr)
    return Run(wall, code, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, load1())


def azstate(args: list[str], env: dict[str, str]) -> Run:
    return measured([sys.executable, "-m", "azstate", *args], env)


def endpoint(entry: dict[str, object]) -> str:
    method, path, action = entry["method"], entry["path"], entry.get("action")
    params = entry.get("params") or {}
    assert isinstance(params, dict)
    if action:
        return f"{method} {path} {action}"
    if path == "/index" and "all" in params:
        return f"{method} /index?all"
    if path == "/manager" and "download" in params:
        return f"{method} /manager download"
    if path == "/manager" and "project" in params:
        return f"{method} /manager (project page)"
    return f"{method} {path}"


def per_endpoint(log: list[dict[str, object]]) -> Counter[str]:
    return Counter(endpoint(e) for e in log)


class Table:
    """Rows of (measure, value, target, ratio, load, notes); a ratio <= 1 meets the target."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str, str, str]] = []

    def add(
        self,
        label: str,
        value: str,
        target: str = "",
        ratio: float | None = None,
        load: float | None = None,
        notes: str = "",
    ) -> None:
        shown = "" if ratio is None else f"{ratio:.2f}" + (" ok" if ratio <= 1 else " OVER")
        self.rows.append(
            (label, value, target, shown, "" if load is None else f"{load:.2f}", notes)
        )

    def calls(self, log: list[dict[str, object]]) -> None:
        for name, n in sorted(per_endpoint(log).items()):
            self.add(f"    {name}", str(n))

    def print(self) -> None:
        head = ("measure", "value", "target", "ratio", "load1", "notes")
        widths = [max(len(r[i]) for r in [head, *self.rows]) for i in range(5)]
        for row in [head, *self.rows]:
            cells = [row[0].ljust(widths[0])] + [row[i].rjust(widths[i]) for i in range(1, 5)]
            print("  ".join(cells) + "  " + row[5])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 projects, 20 new")
    parser.add_argument("--projects", type=int, default=None)
    parser.add_argument("--new-projects", type=int, default=None)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--parallelism", type=int, default=16)
    parser.add_argument("--no-core", action="store_true", help="skip the pure-core figures")
    opts = parser.parse_args()
    projects = opts.projects or (100 if opts.quick else 1000)
    new_projects = opts.new_projects or (20 if opts.quick else 100)
    latency = opts.latency_ms / 1000
    par = ["--parallelism", str(opts.parallelism)]
    table = Table()
    schedules = 2 * projects
    with_sla = schedules // 2
    table.add(
        f"fleet: P={projects} projects, S={schedules} schedules, S_sla={with_sla}",
        "",
        notes=f"latency {opts.latency_ms:g} ms, parallelism {opts.parallelism}, "
        f"{os.cpu_count()} CPUs",
    )

    with tempfile.TemporaryDirectory(prefix="azstate-bench-") as tmp_name:
        tmp = Path(tmp_name)
        sandbox = Sandbox(tmp / "sandbox")
        cache = tmp / "cache"
        env = {
            **os.environ,
            "AZKABAN_URL": sandbox.url,
            "AZKABAN_USERNAME": "azkaban",
            "AZKABAN_PASSWORD": "azkaban",
            "AZSTATE_CACHE_DIR": str(cache),
        }
        env.pop("AZSTATE_REFRESH", None)
        # azstate as installed: pip writes its bytecode at install time, so imports load .pyc
        # files; a shell that disables bytecode would add compiling every module to each run.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        try:
            fleet = write_fleet(tmp / "fleet", projects, url=sandbox.url)
            print(f"filling the sandbox with {projects} projects ...", file=sys.stderr)
            fill = azstate(["apply", "--auto-approve", "-c", str(fleet), *par], env)
            assert fill.code == 0, "filling the sandbox failed"
            table.add("fill (apply, no latency)", f"{fill.wall:.1f} s", load=fill.load)

            # The client's fixed start-up: the interpreter and every import a plan needs
            # (`plan --help` loads the plan command and stops), nothing that grows with the
            # fleet or waits for the server.
            python = min(
                (measured([sys.executable, "-c", "pass"], env) for _ in range(3)),
                key=lambda r: r.wall,
            )
            start = min((azstate(["plan", "--help"], env) for _ in range(3)), key=lambda r: r.wall)
            fixed = start.wall
            table.add(
                "client fixed start-up (plan --help: imports)",
                f"{fixed:.2f} s",
                load=start.load,
                notes=f"CPU {start.cpu:.2f} s; bare interpreter {python.wall:.2f} s wall, "
                f"{python.cpu:.2f} s CPU",
            )

            sandbox.latency(latency)
            plan = ["plan", "--detailed-exitcode", "-c", str(fleet), *par]

            def bound(calls: int) -> float:
                return 1.5 * (calls * latency / opts.parallelism) + 0.5 + fixed

            def plan_rows(title: str, run: Run, log: list[dict[str, object]], limit: int,
                          formula: str) -> None:  # fmt: skip
                calls = len(log)
                table.add(f"{title}: calls", str(calls), f"<= {formula} = {limit}",
                          calls / limit, run.load)  # fmt: skip
                table.calls(log)
                wall_bound = bound(calls)
                table.add(
                    f"{title}: wall",
                    f"{run.wall:.2f} s",
                    f"<= {wall_bound:.2f} s",
                    run.wall / wall_bound,
                    run.load,
                    f"1.5 x {calls} x {opts.latency_ms:g} ms / {opts.parallelism} + 0.5 s + "
                    f"start-up; CPU {run.cpu:.2f} s, peak {run.peak_mb:.0f} MB, exit {run.code}",
                )

            # cold: no token cache (zip digests as the fill's apply left them)
            shutil.rmtree(cache / "tokens", ignore_errors=True)
            sandbox.clear_log()
            cold = azstate(plan, env)
            cold_log = sandbox.log()
            assert cold.code == 0, f"the cold no-change plan found changes (exit {cold.code})"
            plan_rows("cold no-change plan", cold, cold_log,
                      4 + 2 * projects + schedules + with_sla, "4 + 2P + S + S_sla")  # fmt: skip

            sandbox.clear_log()
            warm = azstate(plan, env)
            warm_log = sandbox.log()
            assert warm.code == 0, f"the warm no-change plan found changes (exit {warm.code})"
            plan_rows("warm no-change plan", warm, warm_log, 4 + projects, "4 + P")

            changed = project_names(projects)[projects // 2]
            sandbox.change_description(changed, "changed out of band")
            sandbox.clear_log()
            one = azstate(plan, env)
            one_log = sandbox.log()
            assert one.code == 2, f"the plan missed the out-of-band change (exit {one.code})"
            # the full read of one project: version HEAD, its two schedules, one SLA
            plan_rows("warm plan, 1 project changed", one, one_log, 4 + projects + 4,
                      "4 + P + 4 (one project's full read)")  # fmt: skip
            sandbox.change_description(changed, f"Benchmark project {projects // 2}")

            # one --target of the P-project file: client CPU beyond the interpreter's start
            sandbox.latency(0)
            target = f"project.{project_names(projects)[0]}"
            # the median of three runs: one figure of a few hundred ms swings by a tenth on a
            # shared machine
            runs = sorted((azstate([*plan, "--target", target], env) for _ in range(3)),
                          key=lambda r: r.cpu)  # fmt: skip
            targeted = runs[1]
            beyond = targeted.cpu - python.cpu
            table.add(
                "--target one project: client CPU",
                f"{beyond:.2f} s",
                "< 0.50 s beyond the interpreter",
                beyond / 0.5,
                targeted.load,
                f"process CPU {targeted.cpu:.2f} s (median of "
                f"{', '.join(f'{r.cpu:.2f}' for r in runs)}) - interpreter {python.cpu:.2f} s "
                f"({targeted.cpu - start.cpu:.2f} s beyond the imports); "
                f"wall {targeted.wall:.2f} s, peak {targeted.peak_mb:.0f} MB, "
                f"exit {targeted.code}",
            )
            sandbox.latency(latency)

            new = write_fleet(tmp / "new", new_projects, prefix="fresh", url=sandbox.url)
            sandbox.clear_log()
            applied = azstate(["apply", "--auto-approve", "-c", str(new), *par], env)
            log = sandbox.log()
            downloads = sum(1 for e in log if endpoint(e) == "GET /manager download")
            writes = sum(1 for e in log if e.get("mutating"))
            table.add(
                f"apply {new_projects} new projects: zip downloads",
                str(downloads),
                "0",
                float(downloads),
                applied.load,
                f"{len(log)} calls ({writes} writes), wall {applied.wall:.2f} s, "
                f"CPU {applied.cpu:.2f} s, exit {applied.code}",
            )
            table.calls(log)
        finally:
            sandbox.stop()

    if not opts.no_core:
        small, large, growth, toml = core_benchmark()
        table.add("pure core, 1,000 schedules (CPU)", f"{small:.3f} s", load=load1(),
                  notes="validate, map replies, diff, render")  # fmt: skip
        table.add(
            "pure core, 10,000 schedules (CPU)",
            f"{large:.3f} s",
            "growth <= x11.5 (linear x10 + 15%)",
            growth / 11.5,
            load1(),
            f"growth x{growth:.1f} for 10x (fresh processes, median of 5 alternating pairs); "
            f"TOML parse of 10,000 (tomli): {toml:.3f} s",
        )
    table.print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
