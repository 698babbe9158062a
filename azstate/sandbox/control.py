"""``/__sandbox__/...``: the test hooks, over HTTP, for a sandbox in another process.

    POST   /__sandbox__/faults   {"kind", "path"?, "action"?, "method"?, "times"?, "delay"?}
                                 or {"latency": s}
    GET    /__sandbox__/faults   the faults still waiting, and the latency
    DELETE /__sandbox__/faults   no faults, no latency
    GET    /__sandbox__/log      the request log, oldest first
    DELETE /__sandbox__/log      an empty log
    POST   /__sandbox__/clock    {"frozen_ms": N | "now" | null, "ties"?: "oldest-first" |
                                 "newest-first"}: stamp every project event with N from now on
                                 (null: the running clock again), and how fetchProjectLogs
                                 orders events of one millisecond ("now": the next stamp
                                 the running clock would give, after every earlier event)
    GET    /__sandbox__/clock    {"frozen_ms", "last_ms" (the newest stamp given), "ties"}
    DELETE /__sandbox__/clock    the running clock, ties oldest-first

These requests are neither delayed, nor faulted, nor logged.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from werkzeug.wrappers import Request, Response

from azstate.sandbox.faults import Faults, RequestLog
from azstate.sandbox.store import TIE_ORDERS, Store


def _json(value: Any, status: int = 200) -> Response:
    return Response(json.dumps(value), status=status, mimetype="application/json")


class Control:
    def __init__(self, faults: Faults, requests: RequestLog, store: Store) -> None:
        self.faults = faults
        self.log = requests
        self.store = store

    def __call__(self, request: Request) -> Response:
        route = (request.method, request.path)
        if route == ("POST", "/__sandbox__/faults"):
            return self._add(request)
        if route == ("GET", "/__sandbox__/faults"):
            pending = [
                {k: v for k, v in asdict(f).items() if k != "on_fire"}
                for f in self.faults.pending()
            ]
            return _json({"latency": self.faults.latency, "faults": pending})
        if route == ("DELETE", "/__sandbox__/faults"):
            self.faults.clear()
            return _json({"ok": True})
        if route == ("GET", "/__sandbox__/log"):
            return _json([entry.to_json() for entry in self.log.snapshot()])
        if route == ("DELETE", "/__sandbox__/log"):
            self.log.clear()
            return _json({"ok": True})
        if route == ("GET", "/__sandbox__/clock"):
            return _json(self._clock())
        if route == ("POST", "/__sandbox__/clock"):
            return self._set_clock(request)
        if route == ("DELETE", "/__sandbox__/clock"):
            with self.store.lock:
                self.store.clock.frozen_ms = None
                self.store.tie_order = TIE_ORDERS[0]
            return _json(self._clock())
        return _json({"error": f"no control endpoint {request.method} {request.path}"}, 404)

    def _clock(self) -> dict[str, Any]:
        with self.store.lock:
            clock = self.store.clock
            return {"frozen_ms": clock.frozen_ms, "last_ms": clock.last_ms,
                    "ties": self.store.tie_order}  # fmt: skip

    def _set_clock(self, request: Request) -> Response:
        try:
            body = json.loads(request.get_data(as_text=True) or "{}")
            if not isinstance(body, dict) or not {"frozen_ms", "ties"} & set(body):
                raise ValueError('expected {"frozen_ms": ...} and/or {"ties": ...}')
            frozen = body.get("frozen_ms")
            if frozen == "now":
                with self.store.lock:
                    frozen = self.store.clock.running_ms()
            if frozen is not None and (isinstance(frozen, bool) or not isinstance(frozen, int)):
                raise ValueError('"frozen_ms" must be epoch milliseconds, "now" or null')
            ties = body.get("ties", None)
            if ties is not None and ties not in TIE_ORDERS:
                raise ValueError(f'"ties" must be one of {", ".join(TIE_ORDERS)}')
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
        with self.store.lock:
            if "frozen_ms" in body:
                self.store.clock.frozen_ms = frozen
            if ties is not None:
                self.store.tie_order = ties
        return _json(self._clock())

    def _add(self, request: Request) -> Response:
        try:
            body = json.loads(request.get_data(as_text=True) or "{}")
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            if "latency" in body:
                self.faults.latency = float(body["latency"])
            if "kind" in body:
                times = body.get("times", 1)
                self.faults.add(
                    str(body["kind"]),
                    path=body.get("path"),
                    action=body.get("action"),
                    times=None if times is None else int(times),
                    delay=float(body.get("delay", 0.0)),
                    method=body.get("method"),
                )
            elif "latency" not in body:
                raise ValueError('expected "kind" or "latency"')
        except (ValueError, TypeError) as exc:
            return _json({"error": str(exc)}, 400)
        return _json({"ok": True})
