"""azstate benchmark: `python bench/run.py` prints a table of calls, times, bytes and memory.

It starts the sandbox in its own process, fills it through the API (with azstate apply) with
a fleet of projects, injects latency, and measures azstate as a user runs it. Every ratio is
measured in this one run on this machine. See the README's Performance section.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from core import core_benchmark
from fleet import write_fleet


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Sandbox:
    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "azstate",
                "sandbox",
                "serve",
                "--port",
                str(self.port),
                "--data-dir",
                str(data_dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/__sandbox__/log", timeout=1).read()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the sandbox did not start within 30 s")

    def _control(self, method: str, path: str, body: dict | None = None) -> object:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=30) as reply:
            raw = reply.read()
        return json.loads(raw) if raw else None

    def latency(self, seconds: float) -> None:
        self._control("POST", "/__sandbox__/faults", {"latency": seconds})

    def clear_log(self) -> None:
        self._control("DELETE", "/__sandbox__/log")

    def log(self) -> list[dict]:
        entries = self._control("GET", "/__sandbox__/log")
        assert isinstance(entries, list)
        return entries

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@dataclass
class Run:
    wall: float  # seconds
    code: int
    peak_mb: float  # this process's own peak RSS
    cpu: float  # user + system seconds of azstate
    server_cpu: float  # user + system seconds the sandbox spent meanwhile


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of a running process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def azstate(args: list[str], env: dict[str, str], server: Sandbox) -> Run:
    """Run azstate in a child process and measure it, and the sandbox, while it runs."""
    server_before = cpu_of(server.proc.pid)
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "azstate", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 2):
        print(stderr, file=sys.stderr)
    return Run(
        wall=wall,
        code=proc.returncode,
        peak_mb=usage.ru_maxrss / 1024,
        cpu=usage.ru_utime + usage.ru_stime,
        server_cpu=cpu_of(server.proc.pid) - server_before,
    )


def per_endpoint(log: list[dict]) -> Counter[str]:
    return Counter(f"{e['method']} {e['path']} {e.get('action') or ''}".strip() for e in log)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=500)
    parser.add_argument("--new-projects", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--parallelism", type=int, default=16)
    parser.add_argument("--skip-sequential", action="store_true")
    opts = parser.parse_args()
    latency = opts.latency_ms / 1000
    rows: list[tuple[str, str, str]] = []

    def cpu_note(run: Run) -> str:
        return f"azstate CPU {run.cpu:.2f} s, sandbox CPU {run.server_cpu:.2f} s"

    with tempfile.TemporaryDirectory(prefix="azstate-bench-") as tmp_name:
        tmp = Path(tmp_name)
        sandbox = Sandbox(tmp / "sandbox")
        env = {
            **os.environ,
            "AZKABAN_URL": sandbox.url,
            "AZKABAN_USERNAME": "azkaban",
            "AZKABAN_PASSWORD": "azkaban",
            "AZSTATE_CACHE_DIR": str(tmp / "cache"),
        }
        try:
            fleet = write_fleet(tmp / "fleet", opts.projects, url=sandbox.url)
            par = ["--parallelism", str(opts.parallelism)]
            print(f"filling the sandbox with {opts.projects} projects ...", file=sys.stderr)
            fill = azstate(["apply", "--auto-approve", "-c", str(fleet), *par], env, sandbox)
            assert fill.code == 0, "filling the sandbox failed"
            rows.append(("fill (apply, no latency)", f"{fill.wall:.1f} s", cpu_note(fill)))

            sandbox.latency(latency)
            schedules = 2 * opts.projects
            plan = ["plan", "--detailed-exitcode", "-c", str(fleet)]
            # 1-3, 6: a no-change plan, cold then warm digest cache
            env_cold = {**env, "AZSTATE_CACHE_DIR": str(tmp / "cold-cache")}
            sandbox.clear_log()
            cold = azstate([*plan, *par], env_cold, sandbox)
            cold_log = sandbox.log()
            assert cold.code == 0, f"the no-change plan found changes (exit {cold.code})"
            cold_bytes = sum(
                e.get("bytes", 0)
                for e in cold_log
                if e.get("action") == "download" and e["method"] == "GET"
            )
            sandbox.clear_log()
            warm = azstate([*plan, *par], env_cold, sandbox)
            log = sandbox.log()
            assert warm.code == 0, f"the second plan found changes (exit {warm.code})"
            calls = len(log)
            bound_calls = 3 + 2 * opts.projects + schedules
            bound_wall = 1.5 * (calls * latency / opts.parallelism) + 1
            warm_downloads = [
                e for e in log if e.get("action") == "download" and e["method"] == "GET"
            ]
            warm_bytes = sum(e.get("bytes", 0) for e in warm_downloads)
            with_sla = schedules // 2
            rows.append(
                (
                    "no-change plan: calls",
                    str(calls),
                    f"3 + 2P + S = {bound_calls}, + {with_sla} slaInfo (see README)",
                )
            )
            for endpoint, n in sorted(per_endpoint(log).items()):
                rows.append((f"  {endpoint}", str(n), ""))
            rows.append(
                (
                    "no-change plan: wall (warm cache)",
                    f"{warm.wall:.2f} s",
                    f"bound 1.5 x calls x latency / parallelism + 1 = {bound_wall:.2f} s, "
                    f"ratio {warm.wall / bound_wall:.2f}; {cpu_note(warm)}",
                )
            )
            rows.append(
                (
                    "no-change plan: wall (cold cache)",
                    f"{cold.wall:.2f} s",
                    f"downloaded {cold_bytes} bytes of zips",
                )
            )
            rows.append(
                (
                    "warm plan: zip bytes downloaded",
                    str(warm_bytes),
                    f"{len(warm_downloads)} GET downloads",
                )
            )
            rows.append(("no-change plan: peak RSS", f"{warm.peak_mb:.0f} MB", "target < 300 MB"))
            if not opts.skip_sequential:
                seq = azstate([*plan, "--parallelism", "1"], env_cold, sandbox)
                rows.append(
                    (
                        "one request at a time",
                        f"{seq.wall:.2f} s",
                        f"{seq.wall / warm.wall:.1f}x slower than parallel (target >= 8x)",
                    )
                )

            # 5: apply of new projects
            new = write_fleet(tmp / "new", opts.new_projects, prefix="fresh", url=sandbox.url)
            sandbox.clear_log()
            applied = azstate(["apply", "--auto-approve", "-c", str(new), *par], env, sandbox)
            log = sandbox.log()
            writes = sum(1 for e in log if e.get("mutating"))
            bound = 1.5 * (len(log) * latency / opts.parallelism) + 1
            rows.append(
                (
                    f"apply {opts.new_projects} new projects",
                    f"{applied.wall:.2f} s",
                    f"{len(log)} calls ({writes} writes); target 1.5 x (item 2's bound for "
                    f"these calls, {bound:.2f} s) = {1.5 * bound:.2f} s, "
                    f"ratio {applied.wall / (1.5 * bound):.2f}; {cpu_note(applied)}"
                    + ("" if applied.code == 0 else f", EXIT {applied.code}"),
                )
            )
            for endpoint, n in sorted(per_endpoint(log).items()):
                rows.append((f"  {endpoint}", str(n), ""))
        finally:
            sandbox.stop()

    rows += core_benchmark()

    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)}  {'value':>12}  notes")
    for label, value, note in rows:
        print(f"{label.ljust(width)}  {value:>12}  {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
