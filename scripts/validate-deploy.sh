#!/usr/bin/env bash
# Validates the deployment artifacts in deploy/, offline, in a few seconds:
#   - yamllint (deploy/.yamllint) over every YAML file; Helm templates are linted as rendered
#     output when `helm` is installed (they are Go templates, not YAML);
#   - the Compose file against the Compose specification (check-jsonschema's vendored schema);
#   - the Kubernetes manifests (and the rendered chart) against the Kubernetes API schemas that
#     the kubernetes-validate package ships, strictly (unknown fields fail);
#   - structure: kinds, apiVersions, names, probes, selectors, the chart's Chart.yaml/values,
#     the start script shared by deploy/k8s and the chart, every LUMO_* variable and `lumod
#     serve` flag used in deploy/ against node/src/config.rs;
#   - the Grafana dashboard is valid JSON with panels; shell scripts parse; haproxy.cfg is
#     accepted by `haproxy -c` when haproxy is installed.
# Exits 1 on any problem. The Python tools come from LUMO_VENV (installed there when missing,
# pinned in tests/python/requirements.txt).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${LUMO_VENV:-$ROOT/.venv}"
HELM="${HELM:-$(command -v helm || true)}"
K8S_VERSIONS="${LUMO_K8S_VERSIONS:-1.29 1.37}"
cd "$ROOT"

failures=()
check() {
    local name="$1"
    shift
    local out
    if out="$("$@" 2>&1)"; then
        echo "ok    $name"
    else
        echo "FAIL  $name"
        printf '%s\n' "$out" | sed 's/^/      /'
        failures+=("$name")
    fi
}

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import yamllint, check_jsonschema, kubernetes_validate' >/dev/null 2>&1; then
    grep -E '^(yamllint|check-jsonschema|kubernetes-validate)==' tests/python/requirements.txt >"${TMPDIR:-/tmp}/lumo-validate-reqs.txt"
    "$VENV/bin/python" -m pip install -q -r "${TMPDIR:-/tmp}/lumo-validate-reqs.txt"
fi
BIN="$VENV/bin"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

K8S_FILES=()
for f in deploy/k8s/*.yaml; do
    [ "$(basename "$f")" = kustomization.yaml ] || K8S_FILES+=("$f")
done

check "yamllint deploy/" "$BIN/yamllint" --strict -c deploy/.yamllint deploy
check "compose schema" "$BIN/check-jsonschema" --builtin-schema vendor.compose-spec \
    deploy/compose/docker-compose.yml
for v in $K8S_VERSIONS; do
    check "kubernetes $v schemas: deploy/k8s" "$BIN/kubernetes-validate" -k "$v" --strict --quiet \
        "${K8S_FILES[@]}"
done

if [ -n "$HELM" ]; then
    render() {
        "$HELM" lint --strict deploy/helm/lumo --set clusterToken.value=validate-0123456789abcdef &&
            "$HELM" template lumo deploy/helm/lumo --set clusterToken.value=validate-0123456789abcdef \
                >"$WORK/chart.yaml" &&
            "$HELM" template lumo deploy/helm/lumo --set clusterToken.existingSecret=lumo-cluster \
                --set metrics.annotations=false --set podDisruptionBudget.enabled=false \
                --set data.storage.storageClassName=fast >"$WORK/chart-existing-secret.yaml"
    }
    check "helm lint + template" render
    check "yamllint rendered chart" "$BIN/yamllint" --strict -c deploy/.yamllint \
        "$WORK/chart.yaml" "$WORK/chart-existing-secret.yaml"
    for v in $K8S_VERSIONS; do
        check "kubernetes $v schemas: rendered chart" "$BIN/kubernetes-validate" -k "$v" --strict \
            --quiet "$WORK/chart.yaml" "$WORK/chart-existing-secret.yaml"
    done
else
    echo "skip  helm lint/template (no helm binary; the chart gets the structural checks only)"
fi

check "structure" "$BIN/python" - "$ROOT" <<'EOF'
import json, os, re, sys
import yaml

root = sys.argv[1]
problems = []

def p(msg):
    problems.append(msg)

def load_all(path):
    with open(os.path.join(root, path)) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]

# Flags and variables lumod knows (ConfigArgs in node/src/config.rs).
config = open(os.path.join(root, "node/src/config.rs")).read()
args = config[config.index("pub struct ConfigArgs"):]
args = args[:args.index("\n}\n")]
known_env = set(re.findall(r'env = "(LUMO_[A-Z_]+)"', args))
known_flags = {"--" + f.replace("_", "-") for f in re.findall(r"pub (\w+):", args)}
# Variables of the deployment files themselves, not lumod's.
own_env = {"LUMO_DATA_STATEFULSET", "LUMO_HEADLESS_SERVICE", "LUMO_DATA_REPLICAS",
           "LUMO_CLUSTER_DOMAIN", "LUMO_HTTP_PORT", "LUMO_LOCAL_DIR", "LUMO_LOCAL_TIMEOUT",
           "LUMO_RESTART_MODE", "LUMO_VENV", "LUMO_K8S_VERSIONS"}
for dirpath, _, files in os.walk(os.path.join(root, "deploy")):
    for name in files:
        path = os.path.join(dirpath, name)
        rel = os.path.relpath(path, root)
        if name.endswith(".json"):
            continue
        text = open(path, errors="replace").read()
        for var in sorted(set(re.findall(r"\b(LUMO_[A-Z][A-Z_]*[A-Z])\b", text))):
            if var not in known_env and var not in own_env:
                p(f"{rel}: {var} is not a lumod variable (node/src/config.rs)")
        for line in text.splitlines():
            if re.search(r"lumod\"? serve|\bserve\b.*--", line) or "--join" in line:
                for flag in re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", line):
                    if flag not in known_flags and flag not in ("--purge", "--help"):
                        p(f"{rel}: `{flag}` is not a `lumod serve` flag: {line.strip()}")
if "--role" not in known_flags:
    p("node/src/config.rs has no --role flag any more")

def containers(doc):
    return doc["spec"]["template"]["spec"]["containers"]

def check_probes(where, c):
    ready = c.get("readinessProbe", {}).get("httpGet", {})
    live = c.get("livenessProbe", {}).get("httpGet", {})
    if ready.get("path") != "/readyz":
        p(f"{where}: readinessProbe is not GET /readyz")
    if live.get("path") != "/healthz":
        p(f"{where}: livenessProbe is not GET /healthz")
    ports = {port.get("name"): port.get("containerPort") for port in c.get("ports", [])}
    for probe in (ready, live):
        if probe and probe.get("port") not in ports and probe.get("port") not in ports.values():
            p(f"{where}: probe port {probe.get('port')} is not a container port")

def check_manifests(label, docs, optional=()):
    for d in docs:
        for key in ("apiVersion", "kind", "metadata"):
            if key not in d:
                p(f"{label}: a document has no {key}")
        if not d.get("metadata", {}).get("name"):
            p(f"{label}: {d.get('kind')} without metadata.name")
    kinds = {}
    for d in docs:
        kinds.setdefault((d.get("apiVersion"), d.get("kind")), []).append(d)
    want = {("apps/v1", "StatefulSet"): 1, ("apps/v1", "Deployment"): 1, ("v1", "Service"): 2,
            ("policy/v1", "PodDisruptionBudget"): 2, ("v1", "ConfigMap"): 2}
    for key, count in want.items():
        if key in optional:
            continue
        if len(kinds.get(key, [])) != count:
            p(f"{label}: expected {count} {key[1]} ({key[0]}), found {len(kinds.get(key, []))}")
    services = kinds.get(("v1", "Service"), [])
    headless = [s for s in services if s["spec"].get("clusterIP") == "None"]
    if len(headless) != 1 or not headless[0]["spec"].get("publishNotReadyAddresses"):
        p(f"{label}: need one headless Service with publishNotReadyAddresses")
    for sts in kinds.get(("apps/v1", "StatefulSet"), []):
        if headless and sts["spec"].get("serviceName") != headless[0]["metadata"]["name"]:
            p(f"{label}: StatefulSet.serviceName is not the headless Service")
        if sts["spec"]["selector"]["matchLabels"].items() - sts["spec"]["template"]["metadata"]["labels"].items():
            p(f"{label}: StatefulSet selector does not match its pod labels")
        c = containers(sts)[0]
        check_probes(f"{label} StatefulSet", c)
        env = {e["name"]: e for e in c.get("env", [])}
        if env.get("LUMO_RPC_ADDR", {}).get("value") != "$(POD_IP):9080":
            p(f"{label}: data pods must bind the RPC listener on $(POD_IP):9080")
        if "POD_IP" not in env or "POD_NAMESPACE" not in env:
            p(f"{label}: data pods need POD_IP and POD_NAMESPACE from the downward API")
        if "secretKeyRef" not in env.get("LUMO_CLUSTER_TOKEN", {}).get("valueFrom", {}):
            p(f"{label}: data pods take LUMO_CLUSTER_TOKEN from a Secret")
        if not sts["spec"].get("volumeClaimTemplates"):
            p(f"{label}: StatefulSet without volumeClaimTemplates")
    for dep in kinds.get(("apps/v1", "Deployment"), []):
        c = containers(dep)[0]
        check_probes(f"{label} Deployment", c)
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        if env.get("LUMO_ROLE") != "frontend":
            p(f"{label}: the Deployment must run --role frontend")
        if dep["spec"]["selector"]["matchLabels"].items() - dep["spec"]["template"]["metadata"]["labels"].items():
            p(f"{label}: Deployment selector does not match its pod labels")
    clients = [s for s in services if s["spec"].get("clusterIP") != "None"]
    deps = kinds.get(("apps/v1", "Deployment"), [])
    if clients and deps and clients[0]["spec"]["selector"].items() - deps[0]["spec"]["template"]["metadata"]["labels"].items():
        p(f"{label}: the client Service does not select the frontends")
    return kinds

# deploy/k8s
k8s_docs = []
kustomization = load_all("deploy/k8s/kustomization.yaml")[0]
for res in kustomization.get("resources", []):
    if not os.path.exists(os.path.join(root, "deploy/k8s", res)):
        p(f"deploy/k8s/kustomization.yaml: {res} does not exist")
    else:
        k8s_docs += load_all(os.path.join("deploy/k8s", res))
check_manifests("deploy/k8s", k8s_docs)
secret = load_all("deploy/k8s/secret.example.yaml")[0]
if secret.get("kind") != "Secret" or "cluster-token" not in secret.get("stringData", {}):
    p("deploy/k8s/secret.example.yaml: a Secret with stringData.cluster-token expected")

# The start script: one copy in the chart, the same text in deploy/k8s/configmap.yaml.
start = open(os.path.join(root, "deploy/helm/lumo/files/start.sh")).read()
inline = [d for d in k8s_docs if d["kind"] == "ConfigMap" and "start.sh" in d.get("data", {})]
if not inline or inline[0]["data"]["start.sh"] != start:
    p("deploy/k8s/configmap.yaml start.sh differs from deploy/helm/lumo/files/start.sh")

# The chart: Chart.yaml, values, templates referring to values that exist.
chart = load_all("deploy/helm/lumo/Chart.yaml")[0]
for key in ("apiVersion", "name", "version", "appVersion"):
    if not chart.get(key):
        p(f"Chart.yaml: {key} missing")
if chart.get("apiVersion") != "v2" or not re.fullmatch(r"\d+\.\d+\.\d+", str(chart.get("version"))):
    p("Chart.yaml: apiVersion v2 and a SemVer version expected")
values = load_all("deploy/helm/lumo/values.yaml")[0]
tdir = os.path.join(root, "deploy/helm/lumo/templates")
for name in sorted(os.listdir(tdir)):
    text = open(os.path.join(tdir, name)).read()
    if text.count("{{") != text.count("}}"):
        p(f"templates/{name}: unbalanced {{{{ }}}}")
    opens = len(re.findall(r"{{-?\s*(?:if|with|range|define)\b", text))
    ends = len(re.findall(r"{{-?\s*end\s*-?}}", text))
    if opens != ends:
        p(f"templates/{name}: {opens} if/with/range/define but {ends} end")
    for ref in re.findall(r"\.Values\.([A-Za-z0-9_.]+)", text):
        node = values
        for part in ref.split("."):
            if not isinstance(node, dict) or part not in node:
                p(f"templates/{name}: .Values.{ref} is not in values.yaml")
                break
            node = node[part]
    for inc in re.findall(r'include "([^"]+)"', text):
        if inc not in open(os.path.join(tdir, "_helpers.tpl")).read():
            p(f"templates/{name}: include {inc} is not defined in _helpers.tpl")
    for f in re.findall(r'\.Files\.Get "([^"]+)"', text):
        if not os.path.exists(os.path.join(root, "deploy/helm/lumo", f)):
            p(f"templates/{name}: {f} does not exist")

# Compose: 3 data nodes, 2 frontends joining, HAProxy over the frontends, token from the env.
compose = load_all("deploy/compose/docker-compose.yml")[0]
services = compose.get("services", {})
def env_of(svc):
    env = dict(compose.get("x-lumo-env", {}))
    env.update(services[svc].get("environment", {}))
    return env
data = [s for s in services if s.startswith("data")]
fronts = [s for s in services if env_of(s).get("LUMO_ROLE") == "frontend"] if services else []
if len(data) != 3 or len(fronts) != 2 or "haproxy" not in services:
    p(f"compose: expected 3 data nodes, 2 frontends and haproxy; got {sorted(services)}")
for s in fronts:
    if not env_of(s).get("LUMO_JOIN"):
        p(f"compose: {s} has no LUMO_JOIN")
if "${LUMO_CLUSTER_TOKEN" not in str(compose.get("x-lumo-env", {}).get("LUMO_CLUSTER_TOKEN")):
    p("compose: LUMO_CLUSTER_TOKEN must come from the environment")
cfg = open(os.path.join(root, "deploy/compose/haproxy.cfg")).read()
for s in fronts:
    if f"server {s} {s}:8080" not in cfg:
        p(f"compose/haproxy.cfg: no server line for {s}")
if "option httpchk GET /readyz" not in cfg:
    p("compose/haproxy.cfg: health check is not GET /readyz")

# Grafana dashboard: JSON with a title, a uid and panels that query something.
try:
    dash = json.load(open(os.path.join(root, "deploy/grafana/lumo-dashboard.json")))
    if not dash.get("title") or not dash.get("uid") or not dash.get("panels"):
        p("grafana dashboard: title, uid and panels expected")
    for panel in dash.get("panels", []):
        if panel.get("type") != "row" and not any(t.get("expr") for t in panel.get("targets", [])):
            p(f"grafana dashboard: panel {panel.get('title')!r} has no query")
except ValueError as e:
    p(f"grafana dashboard: invalid JSON: {e}")

# Dockerfile: two stages, a non-root user, the ports and the health check.
docker = open(os.path.join(root, "deploy/Dockerfile")).read()
for needle in ("FROM rust:1-bookworm AS builder", "FROM debian:bookworm-slim", "USER lumo",
               "EXPOSE 8080 8090 9080", "/readyz", 'ENTRYPOINT ["/usr/local/bin/lumod", "serve"]',
               'VOLUME ["/data"]'):
    if needle not in docker:
        p(f"deploy/Dockerfile: `{needle}` missing")

for msg in problems:
    print(msg)
sys.exit(1 if problems else 0)
EOF

# The runtime image's packages cover what the binary links (ldd), directly or as dependencies.
LUMOD="${LUMOD_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/lumo/target}/debug/lumod}"
runtime_libs() {
    local libs
    libs="$(ldd "$LUMOD" | awk '/=>/ {print $3}' | while read -r lib; do
        dpkg -S "$lib" 2>/dev/null || dpkg -S "$(readlink -f "$lib")" 2>/dev/null ||
            echo "unowned: $lib"
    done | cut -d: -f1 | sort -u)"
    python3 - "$libs" <<'PY'
import re, subprocess, sys
text = open("deploy/Dockerfile").read()
runtime = text[text.index("FROM debian:bookworm-slim"):]
block = runtime[runtime.index("apt-get install"):runtime.index("rm -rf /var/lib/apt/lists")]
listed = set(re.findall(r"(?<![-\w])(lib[a-z0-9.+-]+[a-z0-9])", block))
allowed, frontier = set(listed), set(listed)
for _ in range(3):
    out = subprocess.run(["dpkg-query", "-W", "-f=${Depends}\n", *sorted(frontier)],
                         capture_output=True, text=True).stdout
    deps = {d.split()[0].split(":")[0] for d in re.split(r"[,|\n]", out) if d.strip()}
    frontier = deps - allowed
    allowed |= deps
missing = [pkg for pkg in sys.argv[1].split() if pkg not in allowed]
if missing:
    print("lumod links libraries of packages the runtime image does not install:", missing)
    sys.exit(1)
PY
}
if [ -x "$LUMOD" ] && command -v ldd >/dev/null && command -v dpkg-query >/dev/null; then
    check "runtime packages cover ldd $LUMOD" runtime_libs
else
    echo "skip  runtime packages vs ldd (no lumod binary at $LUMOD or no dpkg)"
fi
check "bash -n deploy/local/cluster.sh" bash -n deploy/local/cluster.sh
check "sh -n start.sh" sh -n deploy/helm/lumo/files/start.sh
check "grafana JSON" "$BIN/python" -m json.tool deploy/grafana/lumo-dashboard.json
if command -v haproxy >/dev/null 2>&1; then
    # The frontends' names resolve only inside the Compose network: warnings, not errors.
    check "haproxy -c deploy/compose/haproxy.cfg" haproxy -c -q -f deploy/compose/haproxy.cfg
else
    echo "skip  haproxy -c (haproxy not installed)"
fi

if [ ${#failures[@]} -gt 0 ]; then
    echo "validate-deploy: ${#failures[@]} check(s) failed: ${failures[*]}"
    exit 1
fi
echo "validate-deploy: all checks passed"
