"""Replays the conformance scenarios against a server and compares with the recorded replies.

Follows conformance/README.md to the letter: variables (``${RUN}`` and captures, with their
``same_as``), deterministic zips, no redirects followed, no cookie jar, ``until`` polling, the
observation of each reply (status, media type, location, cookies, three headers, body kind),
filtering to this run's items, masking of volatile values except under ``exact``, ``ignore``,
``unordered``, and a structural comparison where JSON types matter. It talks HTTP with
``http.client`` so nothing is added or hidden.

    python -m tests.conformance.replay                 # every scenario, each on a fresh sandbox
    python -m tests.conformance.replay --url URL NAME  # against another server
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import http.client
import io
import json
import random
import re
import ssl
import string
import sys
import tempfile
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
MISSING = "MISSING-VAR"

_DATETIME = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:?\d\d)?")
_MILLIS_IN_TEXT = re.compile(r"(?<!\d)1\d{12}(?!\d)")
_JAVA_NAME = re.compile(r"\b((?:[a-z_][A-Za-z0-9_]*\.)+[A-Z][A-Za-z0-9_$]*)@[0-9a-f]+\b")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_VAR = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
_ALERT = re.compile(r'<div class="alert alert-danger">(.*?)</div>', re.S)
_DESCRIPTION = re.compile(r'<(\w+)[^>]*\bid="project-description"[^>]*>(.*?)</\1\s*>', re.S)
_TITLE = re.compile(r"<title>(.*?)</title>", re.S | re.I)
_TAG = re.compile(r"<[^>]*>")


# -- scenarios, variables and requests ------------------------------------------------------


def scenario_names() -> list[str]:
    return sorted(p.name[: -len(".json")] for p in SCENARIOS.glob("*.json")
                  if not p.name.endswith(".golden.json"))  # fmt: skip


def load(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    scenario = json.loads((SCENARIOS / f"{name}.json").read_text("utf-8"))
    golden = json.loads((SCENARIOS / f"{name}.golden.json").read_text("utf-8"))
    return scenario, golden


def run_token() -> str:
    rng = random.SystemRandom()
    rest = string.ascii_lowercase + string.digits
    return rng.choice(string.ascii_lowercase) + "".join(rng.choice(rest) for _ in range(7))


def build_zip(name: str) -> bytes:
    """Every file under zips/NAME, sorted by path, deflated, dated 1980-01-01, mode 0644."""
    root = SCENARIOS / "zips" / name
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), (1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return str(value)


def substitute(value: Any, variables: dict[str, str]) -> Any:
    """``${VAR}`` in every string of a request field, names included; unknown ones stay."""
    if isinstance(value, str):
        return _VAR.sub(lambda m: variables.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    if isinstance(value, dict):
        return {substitute(k, variables): substitute(v, variables) for k, v in value.items()}
    return value


def _pairs(value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [(str(k), _text(v)) for k, v in value.items()]
    return [(str(k), _text(v)) for k, v in value]


def _multipart(parts: list[dict[str, Any]]) -> tuple[bytes, str]:
    boundary = "----azstate-conformance-" + uuid.uuid4().hex
    out = io.BytesIO()
    for part in parts:
        out.write(f"--{boundary}\r\n".encode())
        disposition = f'Content-Disposition: form-data; name="{part["name"]}"'
        if "filename" in part:
            disposition += f'; filename="{part["filename"]}"'
        out.write(disposition.encode("utf-8") + b"\r\n")
        if "content_type" in part:
            out.write(f"Content-Type: {part['content_type']}\r\n".encode())
        out.write(b"\r\n")
        if "value" in part:
            data = str(part["value"]).encode("utf-8")
        elif "zip" in part:
            data = build_zip(part["zip"])
        elif "text" in part:
            data = part["text"].encode("utf-8")
        else:
            data = base64.b64decode(part.get("base64", ""))
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


@dataclass
class RawReply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    url: str

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def header_all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None


def send(base: str, step: dict[str, Any]) -> RawReply:
    method = step["method"]
    path = step["path"]
    query = _pairs(step["query"]) if "query" in step else []
    url_path = path + ("?" + urlencode(query) if query else "")
    headers: dict[str, str] = {}
    body: bytes | None = None
    if "form" in step:
        body = urlencode(_pairs(step["form"])).encode("utf-8")
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif "multipart" in step:
        body, headers["Content-Type"] = _multipart(step["multipart"])
    elif "raw_body" in step:
        body = step["raw_body"]["text"].encode("utf-8")
        headers["Content-Type"] = step["raw_body"]["content_type"]
    headers.update({str(k): str(v) for k, v in step.get("headers", {}).items()})
    if "cookies" in step:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in step["cookies"].items())
    parts = urlsplit(base)
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        connection = http.client.HTTPSConnection(parts.netloc, timeout=60, context=context)
    else:
        connection = http.client.HTTPConnection(parts.netloc, timeout=60)
    try:
        connection.request(method, url_path, body=body, headers=headers)
        response = connection.getresponse()
        data = b"" if method == "HEAD" else response.read()
        return RawReply(response.status, response.getheaders(), data, base + url_path)
    finally:
        connection.close()


# -- JSON pointers ----------------------------------------------------------------------------


def _segments(pointer: str) -> list[str]:
    if pointer == "":
        return []
    return [s.replace("~1", "/").replace("~0", "~") for s in pointer.split("/")[1:]]


def locate(document: Any, pointer: str) -> Iterator[tuple[Any, Any]]:
    """(container, key) for every place the pointer reaches; ``*`` is every element/member."""

    def walk(node: Any, rest: list[str]) -> Iterator[tuple[Any, Any]]:
        head, tail = rest[0], rest[1:]
        keys: list[Any]
        if head == "*":
            if isinstance(node, list):
                keys = list(range(len(node)))
            elif isinstance(node, dict):
                keys = list(node)
            else:
                keys = []
        elif isinstance(node, list):
            keys = [int(head)] if head.isdigit() and int(head) < len(node) else []
        elif isinstance(node, dict):
            keys = [head] if head in node else []
        else:
            keys = []
        for key in keys:
            if tail:
                yield from walk(node[key], tail)
            else:
                yield node, key

    segments = _segments(pointer)
    if segments:
        yield from walk(document, segments)


def get_pointer(document: Any, pointer: str) -> tuple[bool, Any]:
    node = document
    for segment in _segments(pointer):
        if isinstance(node, dict) and segment in node:
            node = node[segment]
        elif isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
            node = node[int(segment)]
        else:
            return False, None
    return True, node


# -- observation --------------------------------------------------------------------------------


def _decode_cookie(name: str, header: str) -> tuple[str, str | None]:
    raw = header.split("=", 1)[1] if "=" in header else ""
    if not name.startswith("azkaban."):
        return name, None
    raw = raw.lstrip()
    if raw.startswith('"'):
        out: list[str] = []
        index = 1
        while index < len(raw) and raw[index] != '"':
            if raw[index] == "\\" and index + 1 < len(raw):
                index += 1
            out.append(raw[index])
            index += 1
        return name, "".join(out)
    return name, raw.split(";", 1)[0]


def _html_markers(text: str) -> dict[str, Any]:
    alert = None
    for match in _ALERT.finditer(text):
        content = match.group(1)
        if content.lstrip().startswith("<h4>Error</h4>"):
            inner = content.lstrip()[len("<h4>Error</h4>") :]
            alert = " ".join(html.unescape(_TAG.sub("", inner)).split())
            break
    description = _DESCRIPTION.search(text)
    title = _TITLE.search(text)
    return {
        "markers": {
            "login_page": 'id="login-form"' in text,
            "http_error_page": "HTTP ERROR" in text,
            "error_alert": alert,
            "project_description": (
                html.unescape(description.group(2)).strip() if description else None
            ),
        },
        "info": {"title": " ".join(html.unescape(title.group(1)).split()) if title else None},
    }


def observe(reply: RawReply, base: str) -> dict[str, Any]:
    content_type = reply.header("Content-Type")
    media = content_type.split(";", 1)[0].strip().lower() if content_type is not None else None
    location = reply.header("Location")
    if location is not None:
        resolved = urlsplit(urljoin(reply.url, location))
        home = urlsplit(base)
        if (resolved.scheme, resolved.netloc) == (home.scheme, home.netloc):
            location = resolved.path + ("?" + resolved.query if resolved.query else "")
        else:
            location = resolved.geturl()
    cookies: dict[str, Any] = {}
    for header in reply.header_all("Set-Cookie"):
        name = header.split("=", 1)[0].strip()
        key, value = _decode_cookie(name, header)
        cookies[key] = value
    headers = {
        name: reply.header(name)
        for name in ("content-disposition", "version", "projectid")
        if reply.header(name) is not None
    }
    return {
        "status": reply.status,
        "content_type": media,
        "location": location,
        "cookies": cookies,
        "headers": headers,
        "body": _body(reply.body, media),
    }


def _body(data: bytes, media: str | None) -> dict[str, Any]:
    if not data:
        return {"kind": "empty"}
    try:
        text = data.decode("utf-8")
        return {"kind": "json", "json": json.loads(text)}
    except (UnicodeDecodeError, ValueError):
        pass
    if data.startswith(b"PK\x03\x04"):
        entries: dict[str, str] = {}
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    entries[info.filename] = hashlib.sha256(archive.read(info)).hexdigest()[:16]
        return {"kind": "zip", "entries": entries}
    text = data.decode("utf-8", "replace")
    if (media or "").startswith("text/html") or text.lstrip().startswith("<"):
        return {"kind": "html", **_html_markers(text)}
    return {"kind": "text", "text": text.strip()}


# -- normalisation --------------------------------------------------------------------------------


def instantiate(value: Any, variables: dict[str, str]) -> Any:
    if isinstance(value, str):
        whole = re.fullmatch(r"#\$\{([A-Za-z0-9_]+)\}", value)
        if whole and whole.group(1) in variables:
            text = variables[whole.group(1)]
            return int(text) if re.fullmatch(r"-?\d+", text) else text
        return _VAR.sub(lambda m: variables.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [instantiate(v, variables) for v in value]
    if isinstance(value, dict):
        return {instantiate(k, variables): instantiate(v, variables) for k, v in value.items()}
    return value


def mask_text(text: str, *, keep_times: bool = False) -> str:
    if not keep_times:
        text = _DATETIME.sub("<datetime>", text)
        text = _MILLIS_IN_TEXT.sub("<millis>", text)
    text = _JAVA_NAME.sub(r"\1@<hash>", text)
    return _UUID.sub("<uuid>", text)


def mask_json(value: Any, *, keep_times: bool = False) -> Any:
    if isinstance(value, str):
        return mask_text(value, keep_times=keep_times)
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and not keep_times and 10**12 <= value < 10**13:
        return "<millis>"
    if isinstance(value, list):
        return [mask_json(v, keep_times=keep_times) for v in value]
    if isinstance(value, dict):
        return {k: mask_json(v, keep_times=keep_times) for k, v in value.items()}
    return value


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def normalise(observation: dict[str, Any], step: dict[str, Any]) -> dict[str, Any]:
    """The common steps: masks (not under ``exact``), ``ignore``, ``unordered``."""
    obs: dict[str, Any] = json.loads(json.dumps(observation))
    if obs["location"] is not None:
        obs["location"] = mask_text(obs["location"])
    obs["cookies"] = {
        k: (mask_text(v) if isinstance(v, str) else v) for k, v in obs["cookies"].items()
    }
    obs["headers"] = {k: mask_text(v) for k, v in obs["headers"].items()}
    body = obs["body"]
    if body["kind"] == "json":
        document = body["json"]
        exact_values = {
            pointer: [(key, mask_json(parent[key], keep_times=True))
                      for parent, key in locate(document, pointer)]
            for pointer in step.get("exact", [])
        }  # fmt: skip
        document = mask_json(document)
        for pointer, values in exact_values.items():
            for (parent, key), (_, value) in zip(locate(document, pointer), values, strict=False):
                parent[key] = value
        for pointer in step.get("ignore", []):
            for parent, key in locate(document, pointer):
                parent[key] = "<ignored>"
        for pointer in sorted(step.get("unordered", []), key=lambda p: -len(_segments(p))):
            for parent, key in list(locate(document, pointer)):
                if isinstance(parent[key], list):
                    parent[key] = sorted(parent[key], key=canonical)
            if pointer == "" and isinstance(document, list):
                document = sorted(document, key=canonical)
        body["json"] = document
    elif body["kind"] == "text":
        body["text"] = mask_text(body["text"])
    elif body["kind"] == "html":
        body["markers"] = {
            k: (mask_text(v) if isinstance(v, str) else v) for k, v in body["markers"].items()
        }
    return obs


def apply_filters(observation: dict[str, Any], step: dict[str, Any], run: str) -> None:
    body = observation["body"]
    if body["kind"] != "json":
        return
    for rule in step.get("filter", []):
        for parent, key in list(locate(body["json"], rule["path"])):
            items = parent[key]
            if not isinstance(items, list):
                continue
            token = run.lower()
            kept = [
                item
                for item in items
                if isinstance(item, dict) and token in _text(item.get(rule["key"], "")).lower()
            ]
            if not kept and rule.get("drop_empty") and isinstance(parent, dict):
                del parent[key]
            else:
                parent[key] = kept


# -- comparison --------------------------------------------------------------------------------


def json_diff(golden: Any, got: Any, where: str) -> list[str]:
    """Structural differences: objects as maps, lists in order, JSON types significant."""
    if isinstance(golden, dict) and isinstance(got, dict):
        out: list[str] = []
        for key in sorted(set(golden) | set(got)):
            here = f"{where}/{str(key).replace('~', '~0').replace('/', '~1')}"
            if key not in got:
                out.append(f"{here}: golden {_show(golden[key])}, got nothing")
            elif key not in golden:
                out.append(f"{here}: golden nothing, got {_show(got[key])}")
            else:
                out.extend(json_diff(golden[key], got[key], here))
        return out
    if isinstance(golden, list) and isinstance(got, list):
        if len(golden) != len(got):
            return [f"{where}: golden {_show(golden)}, got {_show(got)}"]
        out = []
        for index, (a, b) in enumerate(zip(golden, got, strict=True)):
            out.extend(json_diff(a, b, f"{where}/{index}"))
        return out
    if _same_scalar(golden, got):
        return []
    return [f"{where}: golden {_show(golden)}, got {_show(got)}"]


def _same_scalar(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if type(a) is not type(b):
        return False
    return bool(a == b)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 300 else text[:297] + "..."


@dataclass
class StepResult:
    scenario: str
    name: str
    compared: bool
    differences: list[str] = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        return self.compared and not self.differences


def compare(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for key in ("status", "content_type", "location"):
        out.extend(json_diff(expected.get(key), actual.get(key), key))
    golden_cookies = {k: v for k, v in expected.get("cookies", {}).items() if k != "JSESSIONID"}
    got_cookies = {k: v for k, v in actual["cookies"].items() if k != "JSESSIONID"}
    out.extend(json_diff(golden_cookies, got_cookies, "cookies"))
    out.extend(json_diff(expected.get("headers", {}), actual["headers"], "headers"))
    golden_body = {k: v for k, v in expected["body"].items() if k != "info"}
    got_body = {k: v for k, v in actual["body"].items() if k != "info"}
    out.extend(json_diff(golden_body, got_body, "body"))
    return out


def _capture(reply: RawReply, spec: dict[str, Any]) -> str | None:
    if "json" in spec:
        found, value = get_pointer(reply.json(), spec["json"])
        return _text(value) if found and value is not None else None
    if "header" in spec:
        return reply.header(spec["header"])
    if "cookie" in spec:
        for header in reply.header_all("Set-Cookie"):
            name = header.split("=", 1)[0].strip()
            if name == spec["cookie"]:
                raw = header.split("=", 1)[1] if "=" in header else ""
                if raw.startswith('"'):
                    return _decode_cookie("azkaban.", header)[1]
                return raw.split(";", 1)[0]
    return None


def _until_met(reply: RawReply, until: dict[str, Any]) -> bool:
    found, value = get_pointer(reply.json(), until["pointer"])
    if until.get("absent"):
        return not found
    return found and any(_same_scalar(value, v) for v in until.get("in", []))


def run_scenario(base: str, name: str, *, run: str | None = None) -> list[StepResult]:
    scenario, golden = load(name)
    run = run or run_token()
    variables: dict[str, str] = {"RUN": run}
    captured: list[tuple[str, str, str]] = []  # (variable, kind, value) in capture order
    results: list[StepResult] = []
    for index, step in enumerate(scenario["steps"]):
        expected_entry = golden["steps"][index]
        if expected_entry["name"] != step["name"]:
            raise ValueError(f"{name}: golden step {index} is {expected_entry['name']!r}")
        if step.get("wait_s"):
            time.sleep(float(step["wait_s"]))
        request = substitute({k: v for k, v in step.items() if k in (
            "method", "path", "query", "form", "multipart", "headers", "cookies", "raw_body",
        )}, variables)  # fmt: skip
        reply = send(base, request)
        until = step.get("until")
        if until:
            for _ in range(int(until.get("tries", 1)) - 1):
                if _until_met(reply, until):
                    break
                time.sleep(float(until.get("delay_s", 0)))
                reply = send(base, request)
        observation = observe(reply, base)
        differences: list[str] = []
        same_as: dict[str, str | None] = {}
        for variable, spec in step.get("capture", {}).items():
            value = _capture(reply, spec)
            kind = spec.get("kind") or variable.rstrip(string.digits)
            if value is None:
                differences.append(f"captures/{variable}: nothing to capture")
                value = MISSING
            earlier = next((v for v, k, text in captured if k == kind and text == value), None)
            same_as[variable] = earlier
            captured.append((variable, kind, value))
            variables[variable] = value
        if step.get("unstable") or expected_entry.get("unstable"):
            results.append(StepResult(name, step["name"], compared=False))
            continue
        expected = normalise(instantiate(
            {k: expected_entry.get(k) for k in (
                "status", "content_type", "location", "cookies", "headers", "body")},
            variables,
        ), step)  # fmt: skip
        apply_filters(observation, step, run)
        actual = normalise(observation, step)
        differences.extend(compare(expected, actual))
        for variable, info in expected_entry.get("captures", {}).items():
            if variable in same_as and same_as[variable] != info.get("same_as"):
                differences.append(
                    f"captures/{variable}/same_as: golden {_show(info.get('same_as'))}, "
                    f"got {_show(same_as[variable])}"
                )
        results.append(StepResult(name, step["name"], True, differences))
    return results


def summary(results: list[StepResult]) -> str:
    compared = [r for r in results if r.compared]
    agreeing = sum(1 for r in compared if r.agrees)
    percent = 100.0 * agreeing / len(compared) if compared else 100.0
    return f"conformance: {agreeing}/{len(compared)} steps agree ({percent:.1f}%)"


def report(results: list[StepResult]) -> str:
    lines = []
    for result in results:
        if result.compared and result.differences:
            lines.append(f"{result.scenario} / {result.name}:")
            lines.extend(f"  {d}" for d in result.differences)
    return "\n".join(lines)


def on_fresh_sandbox(name: str) -> list[StepResult]:
    from azstate.sandbox.server import SandboxServer

    with tempfile.TemporaryDirectory(prefix="azstate-conformance-") as tmp:
        server = SandboxServer(data_dir=Path(tmp) / "data", port=0)
        server.start()
        try:
            return run_scenario(server.url, name)
        finally:
            server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="scenarios to run (default: all)")
    parser.add_argument("--url", help="replay against this server instead of fresh sandboxes")
    options = parser.parse_args(argv)
    results: list[StepResult] = []
    for name in options.names or scenario_names():
        results.extend(run_scenario(options.url, name) if options.url else on_fresh_sandbox(name))
    text = report(results)
    if text:
        print(text)
    print(summary(results))
    return 0 if all(r.agrees for r in results if r.compared) else 1


if __name__ == "__main__":
    sys.exit(main())
