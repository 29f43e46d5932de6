"""Fixtures: one `lumod serve` per test session, and configured official clients.

The server binary comes from LUMOD_BIN, else $CARGO_TARGET_DIR/debug/lumod, else
$HOME/.cache/lumo/target/debug/lumod.  It runs in a temporary data directory on ephemeral
ports; the fixture parses its ready line and SIGTERMs it at the end (asserting exit 0).
"""

import json
import os
import queue
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass

import pytest

import lumoauth_api_client
from lumoauth_api_client import ApiClient, Configuration

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

ORG = "acme-corp"
READY_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30


def lumod_binary() -> str:
    explicit = os.environ.get("LUMOD_BIN")
    if explicit:
        return explicit
    target = os.environ.get("CARGO_TARGET_DIR")
    if target:
        candidate = os.path.join(target, "debug", "lumod")
        if os.path.exists(candidate):
            return candidate
    return os.path.join(os.path.expanduser("~"), ".cache", "lumo", "target", "debug", "lumod")


@dataclass
class Server:
    base: str          # http://127.0.0.1:PORT (public listener)
    admin: str         # http://127.0.0.1:PORT (cluster admin listener)
    org: str           # bootstrap org slug
    api_key: str       # bootstrap org API key
    cluster_token: str

    def create_org(self, slug: str, name: str) -> dict:
        """Creates another org via the cluster admin listener; returns its `data`."""
        req = urllib.request.Request(
            self.admin + "/cluster/v1/orgs",
            data=json.dumps({"slug": slug, "name": name}).encode(),
            headers={
                "Authorization": "Bearer " + self.cluster_token,
                "Content-Type": "application/json",
            },
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert resp.status == 201, resp.status
            return json.loads(resp.read())["data"]


def _read_lines(stream, sink: "queue.Queue[str]") -> None:
    for line in iter(stream.readline, ""):
        sink.put(line.rstrip("\n"))
    sink.put(None)


class LumodProcess:
    """A running `lumod serve` child in `data_dir`, started on ephemeral ports."""

    def __init__(self, data_dir: str, log_path: str, api_key: str, cluster_token: str):
        binary = lumod_binary()
        if not os.path.exists(binary):
            pytest.fail(
                f"lumod binary not found at {binary}; build it with "
                "`CARGO_TARGET_DIR=$HOME/.cache/lumo/target cargo build --bins` or set LUMOD_BIN"
            )
        env = dict(os.environ)
        env.update(
            LUMO_BOOTSTRAP_ORG=ORG,
            LUMO_BOOTSTRAP_API_KEY=api_key,
            LUMO_CLUSTER_TOKEN=cluster_token,
            LUMO_LOG="warn",
            # The webhook tests' receivers listen on 127.0.0.1 (development opt-in).
            LUMO_WEBHOOKS_ALLOW_PRIVATE="true",
        )
        # The suites make far more requests a minute than the contract's rate limits allow;
        # the rate-limit tests start their own server with them on.
        env.setdefault("LUMO_RATE_LIMITS", "false")
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [binary, "serve", "--data-dir", data_dir,
             "--http-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0",
             "--rpc-addr", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=self._log, stdin=subprocess.DEVNULL,
            text=True, env=env,
        )
        self.lines: "queue.Queue[str]" = queue.Queue()
        self.stdout = []
        threading.Thread(target=_read_lines, args=(self.proc.stdout, self.lines),
                         daemon=True).start()
        self.ready = self._wait_ready()
        self.server = Server(base="http://" + self.ready["http"],
                             admin="http://" + self.ready["admin"],
                             org=ORG, api_key=api_key, cluster_token=cluster_token)

    def _wait_ready(self) -> dict:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            if line is None:
                break
            self.stdout.append(line)
            if line.startswith("lumod ready "):
                return dict(kv.split("=", 1)
                            for kv in line[len("lumod ready "):].split() if "=" in kv)
        self.proc.kill()
        self.proc.wait()
        pytest.fail(f"lumod did not become ready in {READY_TIMEOUT_S}s; "
                    f"stdout={self.stdout!r} stderr={self.stderr_tail()!r}")

    def stderr_tail(self) -> str:
        if not self._log.closed:
            self._log.flush()
        with open(self.log_path) as f:
            lines = [l for l in f.read().splitlines() if " WARN " not in l and "WARN\x1b" not in l]
        return "\n".join(lines[-20:])

    def stop(self):
        """SIGTERM, wait; returns (exit code, remaining stdout lines)."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            code = "timeout"
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            if line is None:
                break
            self.stdout.append(line)
        self._log.close()
        return code


@pytest.fixture(scope="session")
def lumod():
    api_key = "lmk_" + secrets.token_urlsafe(24)
    cluster_token = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="lumo-pytest-") as tmp:
        running = LumodProcess(os.path.join(tmp, "data"), os.path.join(tmp, "lumod.stderr"),
                               api_key, cluster_token)
        try:
            yield running.server
        finally:
            code = running.stop()
        assert code == 0, (f"lumod exited with {code} after SIGTERM (expected 0); "
                           f"stderr: {running.stderr_tail()}")


def make_client(base: str, key: str) -> ApiClient:
    config = Configuration(host=base)
    config.api_key = {"ApiKeyAuth": key}
    return ApiClient(config)


@pytest.fixture(scope="session")
def api_client(lumod):
    return make_client(lumod.base, lumod.api_key)


@pytest.fixture(scope="session")
def org(lumod) -> str:
    return lumod.org


@pytest.fixture(scope="session")
def users_api(api_client):
    return lumoauth_api_client.AdminUsersApi(api_client)


@pytest.fixture(scope="session")
def groups_api(api_client):
    return lumoauth_api_client.AdminGroupsApi(api_client)


@pytest.fixture(scope="session")
def roles_api(api_client):
    return lumoauth_api_client.AdminRolesApi(api_client)


@pytest.fixture(scope="session")
def permissions_api(api_client):
    return lumoauth_api_client.AdminPermissionsApi(api_client)


@pytest.fixture(scope="session")
def audit_api(api_client):
    return lumoauth_api_client.AdminAuditLogsApi(api_client)


@pytest.fixture(scope="session")
def settings_api(api_client):
    return lumoauth_api_client.AdminSettingsApi(api_client)


@dataclass
class OrgHandle:
    slug: str
    api_key: str
    client: ApiClient


@pytest.fixture(scope="session")
def new_org(lumod):
    """Factory: creates an empty org through the cluster admin API (for exact counts)."""
    counter = iter(range(1, 10_000))

    def make() -> OrgHandle:
        slug = f"pytest-org-{next(counter)}-{secrets.token_hex(3)}"
        data = lumod.create_org(slug, f"Pytest {slug}")
        assert data["slug"] == slug
        key = data["apiKey"]
        assert isinstance(key, str) and key.startswith("lmk_"), data
        return OrgHandle(slug=slug, api_key=key, client=make_client(lumod.base, key))

    return make


@pytest.fixture(scope="session")
def oauth(lumod):
    """Raw HTTP against the bootstrap org's OAuth/OIDC protocol endpoints."""
    from lumo_helpers import OAuthHttp
    return OAuthHttp(lumod.base, lumod.org)
