"""OpenTelemetry traces: a frontend and a data node export spans over OTLP/HTTP to a receiver
in this test (the `opentelemetry-proto` types behind a small HTTP server), and one request
made through the frontend with a W3C `traceparent` gives spans on both nodes in that trace.
"""

import json
import os
import secrets
import subprocess
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from conftest import LumodProcess, lumod_binary


class Receiver:
    """An OTLP/HTTP trace receiver on 127.0.0.1: keeps every span with its resource."""

    def __init__(self):
        self.spans = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path == "/v1/traces":
                    request = ExportTraceServiceRequest()
                    request.ParseFromString(body)
                    with receiver.lock:
                        for resource_spans in request.resource_spans:
                            resource = {a.key: a.value for a in resource_spans.resource.attributes}
                            for scope in resource_spans.scope_spans:
                                for span in scope.spans:
                                    receiver.spans.append((resource, span))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def of_trace(self, trace_id: bytes):
        with self.lock:
            return [(r, s) for r, s in self.spans if s.trace_id == trace_id]


@pytest.fixture()
def receiver():
    r = Receiver()
    yield r
    r.server.shutdown()


def start_frontend(binary, join, token, env, log_path):
    proc = subprocess.Popen(
        [binary, "serve", "--role", "frontend", "--join", join,
         "--http-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=open(log_path, "w"), stdin=subprocess.DEVNULL,
        text=True, env={**env, "LUMO_CLUSTER_TOKEN": token, "LUMO_LOG": "info",
                        "LUMO_LOG_FORMAT": "json"})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith("lumod ready "):
            fields = dict(f.split("=", 1) for f in line.split()[2:])
            return proc, "http://" + fields["http"]
    proc.kill()
    pytest.fail(f"the frontend did not start: {open(log_path).read()[-2000:]}")


def test_one_request_through_a_frontend_is_one_trace_across_two_nodes(receiver, monkeypatch):
    key, token = "lmk_" + secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "200")
    with tempfile.TemporaryDirectory(prefix="lumo-otel-") as tmp:
        data = LumodProcess(os.path.join(tmp, "data"), os.path.join(tmp, "data.log"), key, token)
        frontend = None
        try:
            rpc = data.ready["rpc"]
            frontend, base = start_frontend(lumod_binary(), rpc, token, dict(os.environ),
                                            os.path.join(tmp, "frontend.log"))
            trace_id = secrets.token_bytes(16)
            parent = secrets.token_bytes(8)
            traceparent = f"00-{trace_id.hex()}-{parent.hex()}-01"
            request = urllib.request.Request(
                f"{base}/orgs/{data.server.org}/api/v1/admin/users",
                data=json.dumps({"email": f"traced-{secrets.token_hex(4)}@example.com"}).encode(),
                headers={"X-API-Key": key, "Content-Type": "application/json",
                         "traceparent": traceparent},
                method="POST")
            with urllib.request.urlopen(request, timeout=30) as answer:
                assert answer.status == 201

            deadline = time.monotonic() + 20
            spans = []
            while time.monotonic() < deadline:
                spans = receiver.of_trace(trace_id)
                names = {s.name for _, s in spans}
                if {"request", "rpc.forward", "rpc.serve_forwarded", "raft.propose"} <= names:
                    break
                time.sleep(0.2)
            names = sorted({s.name for _, s in spans})
            assert {"request", "rpc.forward", "rpc.serve_forwarded", "raft.propose"} <= set(names), names
            pids = {r["process.pid"].int_value for r, _ in spans}
            assert len(pids) == 2, f"spans from both processes: {pids}"
            by_name = {s.name: s for _, s in spans}
            assert by_name["request"].parent_span_id == parent, "the caller's span is the parent"
            assert by_name["rpc.serve_forwarded"].parent_span_id == by_name["rpc.forward"].span_id
            served_pid = [r["process.pid"].int_value for r, s in spans if s.name == "rpc.serve_forwarded"]
            front_pid = [r["process.pid"].int_value for r, s in spans if s.name == "rpc.forward"]
            assert served_pid != front_pid, "the forward crossed to the data node"

            # The frontend's JSON log line for the request carries the trace id.
            logged = []
            for line in open(os.path.join(tmp, "frontend.log")):
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("fields", {}).get("message") == "served":
                    logged.append(entry.get("span", {}).get("trace_id"))
            assert trace_id.hex() in logged, logged
        finally:
            if frontend is not None:
                frontend.terminate()
                frontend.wait(timeout=30)
            data.stop()
