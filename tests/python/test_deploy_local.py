"""The deployment topology of deploy/local/cluster.sh (3 data nodes, 2 frontends, HAProxy on
127.0.0.1) keeps serving a client load through HAProxy while `cluster.sh upgrade` restarts
every node one by one from another lumod binary file (the first round; later rounds are
`cluster.sh rolling-restart`).

Allowed: 503 answers (documented as retryable; each is retried and counted). Anything else
(another status, a connection error, a timeout, HAProxy's own 503 for "no server") fails the
test, reported with the node that was restarting. Afterwards every user created is readable and
the cluster is back to 3 active nodes with 3 replicas per group.

LUMO_DEPLOY_ROUNDS (default 1) repeats the rolling restart for a longer run; LUMO_RESTART_MODE
(cluster.sh's, default handoff) is passed through. The test skips only when haproxy is missing
and cannot be installed.
"""

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter

import pytest
import requests

from conftest import lumod_binary

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(REPO, "deploy", "local", "cluster.sh")
THREADS = 4
REQUEST_TIMEOUT_S = 30
# How long one operation keeps retrying 503s before it counts as failed.
RETRY_BUDGET_S = 60
RESTART_TIMEOUT_S = 150
ROUNDS = int(os.environ.get("LUMO_DEPLOY_ROUNDS", "1"))


def run_script(env, *args, timeout=180):
    return subprocess.run(["bash", SCRIPT, *args], env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def read_env(path):
    values = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                values[key] = value
    return values


def log_tails(state_dir, lines=15):
    out = []
    logs = os.path.join(state_dir, "logs")
    for name in sorted(os.listdir(logs)) if os.path.isdir(logs) else []:
        with open(os.path.join(logs, name), errors="replace") as f:
            tail = f.read().splitlines()[-lines:]
        out.append(f"--- {name}\n" + "\n".join(tail))
    return "\n".join(out)


@pytest.fixture(scope="module")
def local_cluster():
    binary = lumod_binary()
    if not os.path.exists(binary):
        pytest.fail(f"lumod binary not found at {binary}; set LUMOD_BIN")
    if shutil.which("haproxy") is None:
        installed = run_script(dict(os.environ), "deps", timeout=300)
        if installed.returncode != 0 or shutil.which("haproxy") is None:
            pytest.skip("haproxy is not installed and could not be installed with apt-get: "
                        + (installed.stderr.strip()[-300:] or "no output"))
    state_dir = tempfile.mkdtemp(prefix="lumo-deploy-local-")
    env = dict(os.environ)
    env.update(LUMOD_BIN=binary, LUMO_LOCAL_DIR=state_dir, LUMO_LOG="info,openraft=warn")
    # The load makes far more requests a minute than an org's default rate limits allow.
    env.setdefault("LUMO_RATE_LIMITS", "false")
    env.pop("LUMO_CLUSTER_TOKEN", None)
    env.pop("LUMO_BOOTSTRAP_API_KEY", None)
    try:
        up = run_script(env, "up")
        assert up.returncode == 0, (f"cluster.sh up failed ({up.returncode}):\n{up.stderr}\n"
                                    f"{log_tails(state_dir)}")
        values = read_env(os.path.join(state_dir, "cluster.env"))
        yield env, values, state_dir
    finally:
        down = run_script(env, "down", timeout=120)
        if down.returncode != 0:
            print(down.stderr)
        if not os.environ.get("LUMO_KEEP_LOCAL"):
            shutil.rmtree(state_dir, ignore_errors=True)


class Phase:
    """What the rolling restart is doing now, from the script's log lines."""

    def __init__(self):
        self.current = "before the restart"
        self.lines = []
        self.lock = threading.Lock()

    def follow(self, stream):
        for line in iter(stream.readline, ""):
            line = line.rstrip("\n")
            with self.lock:
                self.lines.append(line)
                text = line.split("] ", 1)[-1]
                if "restart (" in text or text.startswith("stopped frontend"):
                    self.current = text
                elif "rolling restart done" in text:
                    self.current = "after the restart"

    def now(self):
        with self.lock:
            return self.current


class Load:
    """Threads creating and reading users through HAProxy until `stop` is set."""

    def __init__(self, base, org, key, phase):
        self.base = f"{base}/orgs/{org}/api/v1"
        self.key = key
        self.phase = phase
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.created = {}            # user id -> email
        self.ok = 0
        self.retried_503 = Counter()  # phase -> count
        self.outcomes_503 = Counter()
        self.failures = []

    def session(self):
        s = requests.Session()
        s.headers.update({"X-API-Key": self.key, "Accept": "application/json"})
        return s

    def call(self, session, method, path, body=None, conflict_ok=False):
        """One operation: retries 503s (counted); returns the final response or None."""
        deadline = time.monotonic() + RETRY_BUDGET_S
        maybe_applied = False
        while True:
            phase = self.phase.now()
            try:
                resp = session.request(method, self.base + path, json=body,
                                       timeout=REQUEST_TIMEOUT_S)
            except requests.RequestException as e:
                self.fail(phase, method, path, None, repr(e))
                return None
            if resp.status_code == 503:
                try:
                    details = resp.json().get("details") or {}
                except ValueError:
                    # Not Lumo's JSON: HAProxy found no frontend to send the request to.
                    self.fail(phase, method, path, 503, resp.text[:300])
                    return None
                outcome = details.get("outcome", "none")
                with self.lock:
                    self.retried_503[phase] += 1
                    self.outcomes_503[outcome] += 1
                maybe_applied = maybe_applied or outcome == "unknown"
                if time.monotonic() > deadline:
                    self.fail(phase, method, path, 503,
                              f"still 503 after {RETRY_BUDGET_S}s: {resp.text[:300]}")
                    return None
                time.sleep(0.2)
                continue
            if resp.status_code == 409 and conflict_ok and maybe_applied:
                # A create whose first attempt was applied after all (outcome "unknown").
                return resp
            if resp.status_code >= 400:
                self.fail(phase, method, path, resp.status_code, resp.text[:300])
                return None
            with self.lock:
                self.ok += 1
            return resp

    def fail(self, phase, method, path, status, body):
        with self.lock:
            self.failures.append({"phase": phase, "request": f"{method} {path}",
                                  "status": status, "body": body,
                                  "at": time.strftime("%H:%M:%S")})

    def worker(self, n):
        session = self.session()
        mine = []
        i = 0
        while not self.stop.is_set():
            i += 1
            email = f"load.{n}.{i}.{uuid.uuid4().hex[:8]}@example.com"
            resp = self.call(session, "POST", "/admin/users",
                             {"email": email, "name": f"Load {n} {i}"}, conflict_ok=True)
            if resp is not None:
                if resp.status_code == 409:
                    got = self.call(session, "GET", f"/admin/users/{email}")
                    user_id = got.json()["data"]["id"] if got is not None else None
                else:
                    user_id = resp.json()["data"]["id"]
                if user_id:
                    with self.lock:
                        self.created[user_id] = email
                    mine.append(user_id)
                    got = self.call(session, "GET", f"/admin/users/{user_id}")
                    if got is not None and got.json()["data"]["email"] != email:
                        self.fail(self.phase.now(), "GET", f"/admin/users/{user_id}", 200,
                                  f"wrong user: {got.text[:200]}")
            if len(mine) > 1:
                # And an older one of this thread's users.
                self.call(session, "GET", f"/admin/users/{mine[i % (len(mine) - 1)]}")
            time.sleep(0.02)


def cluster_status(values):
    resp = requests.get(f"http://127.0.0.1:{values['DATA1_ADMIN']}/cluster/v1/status",
                        headers={"Authorization": "Bearer " + values["TOKEN"]}, timeout=15)
    resp.raise_for_status()
    return resp.json()["data"]


def test_rolling_restart_under_load_loses_nothing(local_cluster, capsys):
    env, values, state_dir = local_cluster
    phase = Phase()
    load = Load(values["LB_URL"], values["ORG"], values["API_KEY"], phase)
    threads = [threading.Thread(target=load.worker, args=(n,), daemon=True)
               for n in range(THREADS)]
    started = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(2)
    restart_codes = []
    restart_seconds = []
    try:
        for round_no in range(ROUNDS):
            began = time.monotonic()
            # The first round is an upgrade: every process restarts from another binary file
            # (`cluster.sh upgrade`, which checks each process runs it afterwards).
            if round_no == 0:
                upgraded = os.path.join(state_dir, "lumod-next")
                shutil.copy2(env["LUMOD_BIN"], upgraded)
                command = ["bash", SCRIPT, "upgrade", upgraded]
            else:
                command = ["bash", SCRIPT, "rolling-restart"]
            proc = subprocess.Popen(command, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, text=True)
            follower = threading.Thread(target=phase.follow, args=(proc.stdout,), daemon=True)
            follower.start()
            try:
                restart_codes.append(proc.wait(timeout=RESTART_TIMEOUT_S))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                restart_codes.append("timeout")
            follower.join(timeout=5)
            restart_seconds.append(round(time.monotonic() - began, 1))
        time.sleep(2)
    finally:
        load.stop.set()
        for t in threads:
            t.join(timeout=RETRY_BUDGET_S + REQUEST_TIMEOUT_S + 5)
    load_seconds = round(time.monotonic() - started, 1)
    script_log = "\n".join(phase.lines)
    total_503 = sum(load.retried_503.values())
    with capsys.disabled():
        print(f"\n[deploy_local] {ROUNDS} rolling restart(s) in {restart_seconds}s under "
              f"{THREADS} client threads for {load_seconds}s: {load.ok} requests ok, "
              f"{len(load.created)} users created, {total_503} answers 503 retried "
              f"(outcomes {dict(load.outcomes_503)}; by phase {dict(load.retried_503)}), "
              f"{len(load.failures)} failed")
    assert restart_codes == [0] * ROUNDS, (
        f"cluster.sh rolling-restart exited {restart_codes}:\n{script_log}\n"
        f"{log_tails(state_dir)}")
    assert not load.failures, (
        "requests failed during the rolling restart (other than retried 503s):\n"
        + "\n".join(json.dumps(f) for f in load.failures[:20]) + f"\n{script_log}")

    # Every user created under the load is readable afterwards.
    session = load.session()
    unreadable = []
    for user_id, email in sorted(load.created.items()):
        resp = load.call(session, "GET", f"/admin/users/{user_id}")
        if resp is None or resp.json()["data"]["email"] != email:
            unreadable.append(user_id)

    assert load.created, "the load created no user"
    assert not unreadable, f"{len(unreadable)} created users are unreadable: {unreadable[:10]}"

    # The cluster is whole again: 3 active nodes, 3 meta voters, 3 replicas per shard.
    deadline = time.monotonic() + 30
    while True:
        status = cluster_status(values)
        whole = (sorted(n["state"] for n in status["nodes"]) == ["active"] * 3
                 and len(status["meta"]["voters"]) == 3
                 and all(len(s["replicas"]) == 3 and s["leader"] for s in status["shards"]))
        if whole or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert whole, f"the cluster did not recover its shape: {json.dumps(status)[:2000]}"
