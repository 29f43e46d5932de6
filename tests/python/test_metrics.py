"""Prometheus (Debian's `prometheus` binary) scrapes a real lumod's `/metrics` on the admin
listener, and a PromQL query returns the request counter; every expression of the Grafana
dashboard in `deploy/grafana/` names only metrics the node exports."""

import json
import pathlib
import re
import shutil
import socket
import subprocess
import time

import pytest
import requests

import lumoauth_api_client

DASHBOARD = pathlib.Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "lumo-dashboard.json"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def exported_names(text):
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name, kind = line.split()[2:4]
            names.add(name)
            if kind == "counter":
                names.add(name + "_total")
            if kind == "histogram":
                names.update({name + "_bucket", name + "_sum", name + "_count"})
    return names


@pytest.mark.skipif(shutil.which("prometheus") is None,
                    reason="Debian's prometheus is not installed (scripts/ensure-deps.sh installs it)")
def test_prometheus_scrapes_the_node_and_answers_the_request_counter(lumod, new_org, tmp_path):
    handle = new_org()
    users = lumoauth_api_client.AdminUsersApi(handle.client)
    users.list_users(handle.slug)
    target = lumod.admin.removeprefix("http://")
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: lumo\n    static_configs: [{{targets: ['{target}']}}]\n")
    server = subprocess.Popen(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        query = 'sum(lumo_http_request_duration_seconds_count{family="admin_users",method="GET",status="200"})'
        deadline = time.time() + 60
        result = []
        while time.time() < deadline:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/api/v1/query",
                                      params={"query": query}, timeout=5).json()
                result = answer.get("data", {}).get("result", [])
                if result:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        assert result, "Prometheus never returned the request counter"
        assert float(result[0]["value"][1]) >= 1
        targets = requests.get(f"http://127.0.0.1:{port}/api/v1/targets", timeout=5).json()
        health = [t["health"] for t in targets["data"]["activeTargets"]]
        assert health == ["up"], targets
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def test_the_grafana_dashboard_uses_only_exported_metrics(lumod, new_org):
    handle = new_org()
    lumoauth_api_client.AdminUsersApi(handle.client).list_users(handle.slug)
    exported = exported_names(requests.get(lumod.admin + "/metrics", timeout=10).text)
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert exprs, "the dashboard has no queries"
    used = {name for expr in exprs for name in re.findall(r"\b(lumo_[a-z_]+)", expr)}
    assert used, exprs
    assert used <= exported, f"not exported: {sorted(used - exported)}"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids are unique"
