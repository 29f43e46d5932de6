"""Property-based API testing with schemathesis against the served `GET /openapi.json`.

A lumod of its own (temporary data dir, ephemeral ports: the fuzzer writes with the admin API
key, so it must not share the session server) is tested with the schemathesis CLI over every
operation of its document, sending the bootstrap org's `X-API-Key`, with `orgId` fixed to the
bootstrap org and a bounded number of examples per operation. It fails on

  - any 5xx (`not_a_server_error`),
  - a response whose status code, content type or body breaks what the document declares for
    that operation (`status_code_conformance`, `content_type_conformance`,
    `response_schema_conformance`),
  - an operation schemathesis cannot test at all (invalid document, internal error),
  - a panic in lumod's log,

and separately on path parameters the document uses but does not declare (schemathesis reports
these as "Schema Error" and skips the operation).

Knobs (environment): LUMO_ST_MAX_EXAMPLES (default 10), LUMO_ST_SEED (default fixed, so runs
repeat), LUMO_ST_WORKERS (default 1), LUMO_ST_TIMEOUT_S (default 170).
"""

import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
import xml.etree.ElementTree as ET

import pytest

from conftest import ORG, LumodProcess

MAX_EXAMPLES = int(os.environ.get("LUMO_ST_MAX_EXAMPLES", "10"))
SEED = int(os.environ.get("LUMO_ST_SEED", "20261207"))
WORKERS = int(os.environ.get("LUMO_ST_WORKERS", "1"))  # >1 trips a hypothesis thread race
RUN_TIMEOUT_S = int(os.environ.get("LUMO_ST_TIMEOUT_S", "170"))
CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
])
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
TEMPLATE = re.compile(r"{([^}/]+)}")

@pytest.fixture(scope="module")
def st_server():
    api_key = "lmk_" + secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="lumo-schemathesis-") as tmp:
        proc = LumodProcess(os.path.join(tmp, "data"), os.path.join(tmp, "lumod.stderr"),
                            api_key, secrets.token_urlsafe(24))
        try:
            yield proc
        finally:
            proc.stop()


def served_document(base: str) -> dict:
    with urllib.request.urlopen(base + "/openapi.json", timeout=30) as resp:
        assert resp.status == 200, resp.status
        return json.loads(resp.read())


def operations(doc: dict):
    for path, item in doc.get("paths", {}).items():
        for method, op in item.items():
            if method in METHODS and isinstance(op, dict):
                yield path, method, op, item


def test_openapi_declares_every_path_parameter(st_server):
    """OpenAPI 3.1 requires each `{name}` of a path template to be a declared `in: path`,
    `required: true` parameter; schemathesis cannot generate requests for operations that miss one."""
    doc = served_document(st_server.server.base)
    missing = {}
    total = 0
    for path, method, op, item in operations(doc):
        total += 1
        declared = {p.get("name") for p in item.get("parameters", []) + op.get("parameters", [])
                    if isinstance(p, dict) and p.get("in") == "path"}
        undeclared = [n for n in TEMPLATE.findall(path) if n not in declared]
        if undeclared:
            missing[f"{method.upper()} {path}"] = undeclared
    if missing:
        names = sorted({n for v in missing.values() for n in v})
        sample = "\n".join(f"  {op}: {', '.join(v)}" for op, v in list(sorted(missing.items()))[:15])
        pytest.fail(
            f"/openapi.json: {len(missing)} of {total} operations use path parameters they do not "
            f"declare (schemathesis: 'Schema Error: Path parameters ... are not defined', operation "
            f"untested). Undeclared names: {', '.join(names)}\n{sample}\n  ...",
            pytrace=False)


def _case_report(case: ET.Element) -> str:
    """The operation's failure text from the JUnit report, compacted."""
    parts = []
    for child in case:
        if child.tag not in ("failure", "error"):
            continue
        text = child.text or child.get("message") or ""
        lines = [line.rstrip() for line in text.splitlines()
                 if line.strip() and not line.strip().startswith("st replay")]
        body = "\n".join("    " + line.strip() for line in lines)
        if len(body) > 2500:
            body = body[:2500] + "\n    [...]"
        parts.append(f"  ({child.tag}: {child.get('message', '')})\n{body}")
    return "\n".join(parts)


def test_schemathesis_no_server_errors_or_schema_violations(st_server, tmp_path):
    server = st_server.server
    (tmp_path / "schemathesis.toml").write_text(
        "[parameters]\n"
        f"\"path.orgId\" = {json.dumps(ORG)}\n")
    junit = tmp_path / "junit.xml"
    command = [
        sys.executable, "-m", "schemathesis.cli",
        "--config-file", str(tmp_path / "schemathesis.toml"),
        "run", server.base + "/openapi.json",
        "--header", f"X-API-Key: {server.api_key}",
        "--checks", CHECKS,
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(SEED),
        "--workers", str(WORKERS),
        "--request-timeout", "10",
        "--generation-with-security-parameters", "false",
        "--generation-database", "none",
        "--report", "junit", "--report-junit-path", str(junit),
        "--no-color",
    ]
    shown = " ".join(c if not c.startswith("X-API-Key") else "'X-API-Key: $KEY'"
                     for c in command[1:])
    started = time.monotonic()
    try:
        run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True,
                             timeout=RUN_TIMEOUT_S, env=dict(os.environ, NO_COLOR="1"))
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        pytest.fail(f"schemathesis did not finish in {RUN_TIMEOUT_S}s\n{out[-3000:]}",
                    pytrace=False)
    elapsed = time.monotonic() - started
    output = run.stdout + run.stderr

    if not junit.exists():
        pytest.fail(f"schemathesis exited {run.returncode} without a report "
                    f"(is it installed? pip install -r requirements.txt)\n{output[-3000:]}",
                    pytrace=False)
    suites = ET.parse(junit).getroot()
    cases = list(suites.iter("testcase"))
    failing = {case.get("name"): _case_report(case) for case in cases
               if case.find("failure") is not None or case.find("error") is not None}

    with open(st_server.log_path, errors="replace") as log:
        panics = [line for line in log if "panicked" in line]

    summary = re.search(r"=+ SUMMARY =+\n(.*)", output, re.S)
    problems = []
    if failing:
        problems.append(
            f"schemathesis: {len(failing)} of {len(cases)} operations failed "
            f"(max-examples={MAX_EXAMPLES}, seed={SEED}, {elapsed:.0f}s; X-API-Key in a curl "
            f"line is this run's key, filtered):")
        for name in sorted(failing):
            problems.append(f"\n{name}\n{failing[name]}")
    if panics:
        problems.append("\nlumod panicked:\n" + "".join(panics[:10]))
    if run.returncode != 0 and not failing:
        problems.append(f"schemathesis exited {run.returncode} with no failing operation in "
                        f"its report:\n{output[-3000:]}")
    if problems:
        problems.append(f"\ncommand: {shown}")
        if summary:
            problems.append(summary.group(1).strip()[-1500:])
        pytest.fail("\n".join(problems), pytrace=False)
    assert len(cases) > 1, output[-3000:]
