"""azstate benchmark: `python bench/run.py` prints a table of calls, times, bytes and memory.

It starts the sandbox in its own process, fills it through the API (with azstate apply) with
a fleet of projects, injects latency, and measures azstate as a user runs it. Every ratio is
measured in this one run on this machine. See the README's Performance section.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
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


def azstate(args: list[str], env: dict[str, str]) -> tuple[float, int, float]:
    """Run azstate in a child process: (wall seconds, exit code, peak RSS in MB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "azstate", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode not in (0, 2):
        print(proc.stderr, file=sys.stderr)
    return wall, proc.returncode, max(peak, before) / 1024


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
            wall, code, _ = azstate(["apply", "--auto-approve", "-c", str(fleet), *par], env)
            assert code == 0, "filling the sandbox failed"
            rows.append(("fill (apply, no latency)", f"{wall:.1f} s", ""))

            sandbox.latency(latency)
            schedules = 2 * opts.projects
            # 1-3, 6: a no-change plan, cold then warm digest cache
            env_cold = {**env, "AZSTATE_CACHE_DIR": str(tmp / "cold-cache")}
            sandbox.clear_log()
            wall_cold, code, _ = azstate(
                ["plan", "--detailed-exitcode", "-c", str(fleet), *par], env_cold
            )
            cold_log = sandbox.log()
            assert code == 0, f"the no-change plan found changes (exit {code})"
            cold_bytes = sum(
                e.get("bytes", 0)
                for e in cold_log
                if e.get("action") == "download" and e["method"] == "GET"
            )
            sandbox.clear_log()
            wall, code, peak = azstate(
                ["plan", "--detailed-exitcode", "-c", str(fleet), *par], env_cold
            )
            log = sandbox.log()
            calls = len(log)
            bound_calls = 3 + 2 * opts.projects + schedules
            bound_wall = 1.5 * (calls * latency / opts.parallelism) + 1
            warm_downloads = [
                e for e in log if e.get("action") == "download" and e["method"] == "GET"
            ]
            warm_bytes = sum(e.get("bytes", 0) for e in warm_downloads)
            rows.append(
                (
                    "no-change plan: calls",
                    str(calls),
                    f"bound 3 + 2P + S = {bound_calls} (+{schedules // 2} slaInfo, see README)",
                )
            )
            for endpoint, n in sorted(per_endpoint(log).items()):
                rows.append((f"  {endpoint}", str(n), ""))
            rows.append(
                (
                    "no-change plan: wall (warm cache)",
                    f"{wall:.2f} s",
                    f"bound {bound_wall:.2f} s, ratio {wall / bound_wall:.2f}",
                )
            )
            rows.append(
                (
                    "no-change plan: wall (cold cache)",
                    f"{wall_cold:.2f} s",
                    f"downloaded {cold_bytes} bytes",
                )
            )
            rows.append(
                (
                    "warm plan: zip bytes downloaded",
                    str(warm_bytes),
                    f"{len(warm_downloads)} GET downloads",
                )
            )
            rows.append(("no-change plan: peak RSS", f"{peak:.0f} MB", "target < 300 MB"))
            if not opts.skip_sequential:
                seq, _, _ = azstate(["plan", "-c", str(fleet), "--parallelism", "1"], env)
                rows.append(
                    (
                        "one request at a time",
                        f"{seq:.2f} s",
                        f"{seq / wall:.1f}x slower than parallel (target >= 8x)",
                    )
                )

            # 5: apply of new projects
            new = write_fleet(tmp / "new", opts.new_projects, prefix="fresh", url=sandbox.url)
            sandbox.clear_log()
            wall, code, _ = azstate(["apply", "--auto-approve", "-c", str(new), *par], env)
            applied = len(sandbox.log())
            bound = 1.5 * (applied * latency / opts.parallelism) + 1
            rows.append(
                (
                    f"apply {opts.new_projects} new projects",
                    f"{wall:.2f} s",
                    f"{applied} calls, bound {bound:.2f} s, ratio {wall / bound:.2f}"
                    + ("" if code == 0 else f", EXIT {code}"),
                )
            )
        finally:
            sandbox.stop()

    for label, value, note in core_benchmark():
        rows.append((label, value, note))

    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)}  {'value':>12}  notes")
    for label, value, note in rows:
        print(f"{label.ljust(width)}  {value:>12}  {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
