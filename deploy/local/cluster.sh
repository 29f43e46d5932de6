#!/usr/bin/env bash
# The production topology as local processes: 3 data nodes, 2 frontends (--role frontend
# --join ...) and HAProxy in front of the frontends, everything on 127.0.0.1 only.
#
#   deploy/local/cluster.sh up                 start it (free ports, written to the state dir)
#   deploy/local/cluster.sh status             processes, /readyz, HAProxy servers, cluster status
#   deploy/local/cluster.sh rolling-restart    restart every data node, then every frontend
#   deploy/local/cluster.sh upgrade BINARY     the same, each process started from BINARY (a
#                                              new lumod); later starts keep using it
#   deploy/local/cluster.sh down [--purge]     stop everything (--purge: delete the state dir)
#   deploy/local/cluster.sh deps               install haproxy (Debian's) when it is missing
#
# Environment:
#   LUMOD_BIN            lumod binary (default $HOME/.cache/lumo/target/debug/lumod)
#   LUMO_LOCAL_DIR       state dir: data dirs, logs, pids, ports (default: a new temp dir on
#                        `up`, remembered in ${TMPDIR:-/tmp}/lumo-local.current for the others)
#   LUMO_CLUSTER_TOKEN   cluster token (default: generated on `up`, kept in the state dir)
#   LUMO_BOOTSTRAP_ORG, LUMO_BOOTSTRAP_API_KEY   bootstrap org and its key (default acme-corp
#                        and a generated lmk_ key)
#   LUMO_LOCAL_TIMEOUT   seconds any single wait may take (default 60)
#   LUMO_RESTART_MODE    how rolling-restart empties a data node before stopping it:
#                        `handoff` (default): hand every Raft leadership it holds (shards and
#                        the meta group) to another voter through /cluster/v1/shards/{id}/
#                        transfer-leader; its replicas stay, and it catches up after the restart.
#                        `drain`: POST /cluster/v1/nodes/{id}/drain first. In this version drain
#                        is one-way (no API returns a node to `active`) and, with as many data
#                        nodes as the replication factor, it removes the node's replicas instead
#                        of moving them, so a full drain-based rolling restart of 3 nodes ends
#                        with every node `draining` and one replica per group. Use it only to
#                        see that for yourself.
#
# The state dir's cluster.env holds KEY=VALUE lines (ports, token, org, key, URLs) for tools
# and tests. Every wait below is bounded by LUMO_LOCAL_TIMEOUT.
set -euo pipefail

LUMOD_BIN="${LUMOD_BIN:-$HOME/.cache/lumo/target/debug/lumod}"
TIMEOUT="${LUMO_LOCAL_TIMEOUT:-60}"
STOP_TIMEOUT=30
MODE="${LUMO_RESTART_MODE:-handoff}"
POINTER="${TMPDIR:-/tmp}/lumo-local.current"
DATA_NODES=(1 2 3)
FRONTENDS=(1 2)

log() { echo "[cluster.sh $(date +%H:%M:%S)] $*" >&2; }
die() { log "error: $*"; exit 1; }

# --- state ----------------------------------------------------------------------------------

resolve_dir() {
    if [ -n "${LUMO_LOCAL_DIR:-}" ]; then
        DIR="$LUMO_LOCAL_DIR"
    elif [ -f "$POINTER" ]; then
        DIR="$(cat "$POINTER")"
    else
        die "no state dir: set LUMO_LOCAL_DIR or run 'up' first"
    fi
}

load_state() {
    resolve_dir
    [ -f "$DIR/cluster.env" ] || die "$DIR/cluster.env not found: run 'up' first"
    # shellcheck disable=SC1091
    source "$DIR/cluster.env"
    # An upgrade recorded the binary the processes now run.
    if [ -f "$DIR/lumod-binary" ]; then
        LUMOD_BIN="$(cat "$DIR/lumod-binary")"
    fi
}

# Prints N distinct free TCP ports of 127.0.0.1 (all held open while picking).
free_ports() {
    python3 - "$1" <<'EOF'
import socket, sys
held = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    held.append(s)
print(" ".join(str(s.getsockname()[1]) for s in held))
EOF
}

random_token() {
    python3 -c 'import secrets; print(secrets.token_urlsafe(32))'
}

# --- HTTP and JSON helpers (curl for HTTP, python3 for JSON) --------------------------------

# http_code URL: the status code of a GET (000 when nothing answers).
http_code() {
    curl -s -o /dev/null -m 3 -w '%{http_code}' "$1" 2>/dev/null || true
}

# admin METHOD PORT PATH [BODY]: a cluster admin call; prints the body; fails on non-2xx.
admin() {
    local method="$1" port="$2" path="$3" body="${4:-}"
    local args=(-s -m 15 -X "$method" -H "Authorization: Bearer $TOKEN" -w '\n%{http_code}')
    if [ -n "$body" ]; then
        args+=(-H 'Content-Type: application/json' -d "$body")
    fi
    local out code
    out="$(curl "${args[@]}" "http://127.0.0.1:$port$path" 2>/dev/null || true)"
    code="${out##*$'\n'}"
    out="${out%$'\n'*}"
    if [[ "$code" != 2* ]]; then
        log "$method :$port$path answered ${code:-nothing}: $out"
        return 1
    fi
    printf '%s\n' "$out"
}

# json EXPR: evaluates a Python expression over `d` (stdin, parsed JSON); prints the result.
json() {
    python3 -c '
import json, sys
d = json.load(sys.stdin)
r = eval(sys.argv[1])
if isinstance(r, (list, tuple)):
    print(" ".join(str(x) for x in r))
elif r is not None:
    print(r)
' "$1"
}

# --- processes ------------------------------------------------------------------------------

pid_of() { cat "$DIR/pids/$1.pid" 2>/dev/null || true; }

# running PID: the process exists and is not a zombie waiting to be reaped.
running() {
    kill -0 "$1" 2>/dev/null && [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)" != Z ]
}

# alive NAME: the recorded pid runs and is ours (its command line names our state dir).
alive() {
    local pid
    pid="$(pid_of "$1")"
    [ -n "$pid" ] && running "$pid" &&
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$DIR"
}

var() { local name="$1"; printf '%s' "${!name}"; }

data_args() {
    local i="$1"
    local args=(serve --data-dir "$DIR/data$i"
        --http-addr "127.0.0.1:$(var "DATA${i}_HTTP")"
        --admin-addr "127.0.0.1:$(var "DATA${i}_ADMIN")"
        --rpc-addr "127.0.0.1:$(var "DATA${i}_RPC")"
        --region local --zone "zone-$i")
    # The first node starts the cluster; the others join it. Once a node has an id the seeds
    # only help it find the cluster, so a restarted first node is given the others.
    if [ "$i" != 1 ]; then
        args+=(--join "127.0.0.1:$DATA1_RPC")
    elif [ -f "$DIR/data1/node.json" ]; then
        args+=(--join "127.0.0.1:$DATA2_RPC,127.0.0.1:$DATA3_RPC")
    fi
    printf '%s\n' "${args[@]}"
}

frontend_args() {
    local i="$1"
    printf '%s\n' serve --role frontend --data-dir "$DIR/frontend$i" \
        --http-addr "127.0.0.1:$(var "FE${i}_HTTP")" \
        --admin-addr "127.0.0.1:$(var "FE${i}_ADMIN")" \
        --join "127.0.0.1:$DATA1_RPC,127.0.0.1:$DATA2_RPC,127.0.0.1:$DATA3_RPC"
}

# launch NAME ARGS...: starts lumod in the background, detached from our stdio.
launch() {
    local name="$1"
    shift
    [ -x "$LUMOD_BIN" ] || die "lumod binary not found at $LUMOD_BIN (set LUMOD_BIN)"
    if alive "$name"; then
        die "$name already runs (pid $(pid_of "$name"))"
    fi
    local env=(LUMO_CLUSTER_TOKEN="$TOKEN" LUMO_LOG="${LUMO_LOG:-info,openraft=warn}")
    if [ "$name" = data1 ]; then
        # Used on the first start only; a restart finds the org and creates nothing.
        env+=(LUMO_BOOTSTRAP_ORG="$ORG" LUMO_BOOTSTRAP_API_KEY="$API_KEY")
    fi
    echo "=== start $(date '+%F %T')" >>"$DIR/logs/$name.log"
    # The caller's role, seeds and config file (if any) are not this topology's.
    env -u LUMO_ROLE -u LUMO_JOIN -u LUMO_CONFIG "${env[@]}" \
        nohup "$LUMOD_BIN" "$@" >>"$DIR/logs/$name.log" 2>&1 </dev/null &
    echo $! >"$DIR/pids/$name.pid"
    log "started $name (pid $!)"
}

start_data() {
    local args
    mapfile -t args < <(data_args "$1")
    launch "data$1" "${args[@]}"
}

start_frontend() {
    local args
    mapfile -t args < <(frontend_args "$1")
    launch "frontend$1" "${args[@]}"
}

# stop NAME: SIGTERM, wait for the exit (bounded), SIGKILL if it did not stop.
stop() {
    local name="$1" pid
    alive "$name" || { rm -f "$DIR/pids/$name.pid"; return 0; }
    pid="$(pid_of "$name")"
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while running "$pid"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            log "$name (pid $pid) did not stop within ${STOP_TIMEOUT}s after SIGTERM: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.5
            break
        fi
        sleep 0.1
    done
    rm -f "$DIR/pids/$name.pid"
    log "stopped $name (pid $pid)"
}

# wait_ready NAME PORT: until GET /readyz on the node's public listener answers 200.
wait_ready() {
    local name="$1" port="$2" code=""
    local deadline=$((SECONDS + TIMEOUT))
    while [ "$SECONDS" -lt "$deadline" ]; do
        alive "$name" || die "$name exited; see $DIR/logs/$name.log"
        code="$(http_code "http://127.0.0.1:$port/readyz")"
        [ "$code" = 200 ] && return 0
        sleep 0.3
    done
    die "$name: /readyz still answers ${code:-nothing} after ${TIMEOUT}s; see $DIR/logs/$name.log"
}

# node_id I: the node id of data node I (from its /readyz).
node_id() {
    curl -s -m 3 "http://127.0.0.1:$(var "DATA${1}_HTTP")/readyz" | json 'd["node"]'
}

# --- HAProxy --------------------------------------------------------------------------------

ensure_haproxy() {
    command -v haproxy >/dev/null 2>&1 && return 0
    command -v apt-get >/dev/null 2>&1 || die "haproxy is missing and apt-get is not available"
    local sudo_cmd=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 || die "haproxy is missing; run as root or install it"
        sudo_cmd="sudo"
    fi
    log "installing haproxy"
    $sudo_cmd apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq haproxy >/dev/null
    command -v haproxy >/dev/null 2>&1 || die "haproxy could not be installed"
}

write_haproxy_cfg() {
    cat >"$DIR/haproxy.cfg" <<EOF
# Generated by deploy/local/cluster.sh (same shape as deploy/compose/haproxy.cfg).
global
    maxconn 2048
    pidfile $DIR/pids/haproxy.pid
    stats socket ipv4@127.0.0.1:$HAPROXY_ADMIN level admin
    log stdout format raw local0 notice

defaults
    mode http
    log global
    option httplog
    option redispatch
    # Only failures before the request reached a server are retried: a POST is never sent twice.
    retries 3
    retry-on conn-failure
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    timeout queue 10s

frontend lumo_public
    bind 127.0.0.1:$LB_PORT
    default_backend lumo_frontends

backend lumo_frontends
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 1s fall 2 rise 2
    server frontend1 127.0.0.1:$FE1_HTTP check
    server frontend2 127.0.0.1:$FE2_HTTP check

listen stats
    bind 127.0.0.1:$HAPROXY_STATS
    stats enable
    stats uri /stats
EOF
}

start_haproxy() {
    ensure_haproxy
    write_haproxy_cfg
    haproxy -c -q -f "$DIR/haproxy.cfg" || die "invalid $DIR/haproxy.cfg"
    if alive haproxy; then
        die "haproxy already runs (pid $(pid_of haproxy))"
    fi
    haproxy -f "$DIR/haproxy.cfg" >>"$DIR/logs/haproxy.log" 2>&1 </dev/null &
    echo $! >"$DIR/pids/haproxy.pid"
    log "started haproxy (pid $!) on 127.0.0.1:$LB_PORT"
}

# haproxy_cmd COMMAND: one command on HAProxy's runtime API (TCP socket, level admin).
haproxy_cmd() {
    local reply
    exec 3<>"/dev/tcp/127.0.0.1/$HAPROXY_ADMIN" || return 1
    printf '%s\n' "$1" >&3
    reply="$(timeout 5 cat <&3 || true)"
    exec 3>&- 3<&-
    printf '%s\n' "$reply"
}

# haproxy_field SERVER FIELD: a column of `show stat` for the server in lumo_frontends.
haproxy_field() {
    haproxy_cmd "show stat" | python3 -c '
import csv, sys
rows = list(csv.reader(line for line in sys.stdin if line.strip()))
head = [h.lstrip("# ") for h in rows[0]]
for row in rows[1:]:
    rec = dict(zip(head, row))
    if rec.get("pxname") == "lumo_frontends" and rec.get("svname") == sys.argv[1]:
        print(rec.get(sys.argv[2], ""))
' "$1" "$2"
}

wait_haproxy_status() {
    local server="$1" want="$2" status=""
    local deadline=$((SECONDS + TIMEOUT))
    while [ "$SECONDS" -lt "$deadline" ]; do
        status="$(haproxy_field "$server" status 2>/dev/null || true)"
        [[ "$status" == "$want"* ]] && return 0
        sleep 0.3
    done
    die "haproxy server $server is '$status', not $want, after ${TIMEOUT}s"
}

# --- subcommands ----------------------------------------------------------------------------

cmd_up() {
    command -v python3 >/dev/null || die "python3 is required"
    command -v curl >/dev/null || die "curl is required"
    ensure_haproxy
    if [ -n "${LUMO_LOCAL_DIR:-}" ]; then
        DIR="$LUMO_LOCAL_DIR"
        mkdir -p "$DIR"
    else
        DIR="$(mktemp -d "${TMPDIR:-/tmp}/lumo-local.XXXXXX")"
    fi
    DIR="$(cd "$DIR" && pwd)"
    if [ -f "$DIR/cluster.env" ]; then
        die "$DIR already holds a cluster (cluster.env): 'down --purge' it or pick another LUMO_LOCAL_DIR"
    fi
    if [ -z "${LUMO_LOCAL_DIR:-}" ]; then
        echo "$DIR" >"$POINTER"
    fi
    mkdir -p "$DIR/logs" "$DIR/pids"
    chmod 700 "$DIR"
    local ports
    read -r -a ports <<<"$(free_ports 16)"
    TOKEN="${LUMO_CLUSTER_TOKEN:-$(random_token)}"
    ORG="${LUMO_BOOTSTRAP_ORG:-acme-corp}"
    API_KEY="${LUMO_BOOTSTRAP_API_KEY:-lmk_$(random_token)}"
    LB_PORT=${ports[0]}
    HAPROXY_ADMIN=${ports[1]}
    HAPROXY_STATS=${ports[2]}
    local n=3 i
    {
        echo "# Written by deploy/local/cluster.sh up; sourced by its other subcommands."
        echo "LUMO_LOCAL_DIR=$DIR"
        echo "TOKEN=$TOKEN"
        echo "ORG=$ORG"
        echo "API_KEY=$API_KEY"
        echo "LB_PORT=$LB_PORT"
        echo "LB_URL=http://127.0.0.1:$LB_PORT"
        echo "HAPROXY_ADMIN=$HAPROXY_ADMIN"
        echo "HAPROXY_STATS=$HAPROXY_STATS"
        for i in "${DATA_NODES[@]}"; do
            echo "DATA${i}_HTTP=${ports[n]}"
            echo "DATA${i}_ADMIN=${ports[n + 1]}"
            echo "DATA${i}_RPC=${ports[n + 2]}"
            n=$((n + 3))
        done
        for i in "${FRONTENDS[@]}"; do
            echo "FE${i}_HTTP=${ports[n]}"
            echo "FE${i}_ADMIN=${ports[n + 1]}"
            n=$((n + 2))
        done
    } >"$DIR/cluster.env"
    chmod 600 "$DIR/cluster.env"
    # shellcheck disable=SC1091
    source "$DIR/cluster.env"

    start_data 1
    wait_ready data1 "$DATA1_HTTP"
    start_data 2
    start_data 3
    wait_ready data2 "$DATA2_HTTP"
    wait_ready data3 "$DATA3_HTTP"
    wait_replicated
    for i in "${FRONTENDS[@]}"; do
        start_frontend "$i"
    done
    for i in "${FRONTENDS[@]}"; do
        wait_ready "frontend$i" "$(var "FE${i}_HTTP")"
    done
    start_haproxy
    for i in "${FRONTENDS[@]}"; do
        wait_haproxy_status "frontend$i" UP
    done
    wait_org_served
    log "up: http://127.0.0.1:$LB_PORT (org $ORG); state in $DIR"
    echo "$DIR"
}

# wait_replicated: until the meta group and every shard have a replica on each data node.
wait_replicated() {
    local deadline=$((SECONDS + TIMEOUT)) summary=""
    while [ "$SECONDS" -lt "$deadline" ]; do
        summary="$(admin GET "$DATA1_ADMIN" /cluster/v1/status 2>/dev/null | json '
(len(d["data"]["meta"]["voters"]) == 3 and d["data"]["shards"] and
 all(len(s["replicas"]) == 3 and s["leader"] for s in d["data"]["shards"]))' || true)"
        [ "$summary" = True ] && return 0
        sleep 0.5
    done
    die "the cluster did not reach 3 replicas per group within ${TIMEOUT}s"
}

# wait_org_served: until the bootstrap org answers through HAProxy.
wait_org_served() {
    local deadline=$((SECONDS + TIMEOUT)) code=""
    while [ "$SECONDS" -lt "$deadline" ]; do
        code="$(curl -s -o /dev/null -m 5 -w '%{http_code}' -H "X-API-Key: $API_KEY" \
            "http://127.0.0.1:$LB_PORT/orgs/$ORG/api/v1/admin/users?limit=1" || true)"
        [ "$code" = 200 ] && return 0
        sleep 0.5
    done
    die "org $ORG is not served through HAProxy (last status ${code:-none})"
}

cmd_down() {
    resolve_dir
    if [ ! -f "$DIR/cluster.env" ]; then
        log "nothing to stop in $DIR"
    else
        # shellcheck disable=SC1091
        source "$DIR/cluster.env"
        stop haproxy
        local i
        for i in "${FRONTENDS[@]}"; do stop "frontend$i"; done
        for i in 3 2 1; do stop "data$i"; done
    fi
    if [ "${1:-}" = "--purge" ]; then
        rm -rf "$DIR"
        log "removed $DIR"
    fi
    if [ -f "$POINTER" ] && [ "$(cat "$POINTER")" = "$DIR" ]; then
        rm -f "$POINTER"
    fi
}

cmd_status() {
    load_state
    echo "state dir: $DIR"
    echo "load balancer: http://127.0.0.1:$LB_PORT (HAProxy stats http://127.0.0.1:$HAPROXY_STATS/stats)"
    local i name port
    for i in "${DATA_NODES[@]}"; do
        name="data$i"
        port="$(var "DATA${i}_HTTP")"
        printf '%-10s pid=%-8s http=%-6s admin=%-6s rpc=%-6s readyz=%s\n' "$name" \
            "$(alive "$name" && pid_of "$name" || echo down)" "$port" \
            "$(var "DATA${i}_ADMIN")" "$(var "DATA${i}_RPC")" "$(http_code "http://127.0.0.1:$port/readyz")"
    done
    for i in "${FRONTENDS[@]}"; do
        name="frontend$i"
        port="$(var "FE${i}_HTTP")"
        printf '%-10s pid=%-8s http=%-6s admin=%-6s haproxy=%-5s readyz=%s\n' "$name" \
            "$(alive "$name" && pid_of "$name" || echo down)" "$port" "$(var "FE${i}_ADMIN")" \
            "$(haproxy_field "$name" status 2>/dev/null || echo '?')" \
            "$(http_code "http://127.0.0.1:$port/readyz")"
    done
    printf '%-10s pid=%s\n' haproxy "$(alive haproxy && pid_of haproxy || echo down)"
    for i in "${DATA_NODES[@]}"; do
        alive "data$i" || continue
        admin GET "$(var "DATA${i}_ADMIN")" /cluster/v1/status | json '"\n".join(
["meta voters %s, leader %s" % (d["data"]["meta"]["voters"], d["data"]["meta"]["leader"])] +
["node %s %s shards=%s leads=%s metaVoter=%s reachable=%s" % (n["id"], n["state"], n["shards"],
  n["leaderOf"], n["metaVoter"], n["reachable"]) for n in d["data"]["nodes"]] +
["shard %s leader=%s replicas=%s" % (s["id"], s["leader"], [r["node"] for r in s["replicas"]])
  for s in d["data"]["shards"]])' || true
        break
    done
}

# groups_led I: the Raft groups data node I leads now (from its /readyz), one per line:
# "GROUP:ANOTHER_VOTER" (the voter to hand the leadership to).
groups_led() {
    curl -s -m 3 "http://127.0.0.1:$(var "DATA${1}_HTTP")/readyz" | json '
["%s:%s" % (g["group"], next((v for v in g["voters"] if v != d["node"]), "")) for g in d["groups"]
 if g["state"] == "leader"]' | tr ' ' '\n' | grep -v '^$' || true
}

# empty_node I ID: leaves data node I leading nothing (and, in drain mode, draining).
empty_node() {
    local i="$1" id="$2" admin_port other_admin
    admin_port="$(var "DATA${i}_ADMIN")"
    # Steer through another node, so the calls do not depend on the node being emptied.
    other_admin="$(var "DATA$((i % 3 + 1))_ADMIN")"
    if [ "$MODE" = drain ]; then
        log "data$i: drain node $id"
        admin POST "$admin_port" "/cluster/v1/nodes/$id/drain" >/dev/null ||
            die "drain of node $id failed"
    fi
    local deadline=$((SECONDS + TIMEOUT)) led entry
    while [ "$SECONDS" -lt "$deadline" ]; do
        led="$(groups_led "$i")"
        [ -z "$led" ] && {
            log "data$i: leads no group"
            return 0
        }
        if [ "$MODE" = handoff ]; then
            for entry in $led; do
                [ -n "${entry#*:}" ] || continue
                admin POST "$other_admin" "/cluster/v1/shards/${entry%%:*}/transfer-leader" \
                    "{\"to\": ${entry#*:}}" >/dev/null || true
            done
        fi
        sleep 0.5
    done
    die "data$i (node $id) still leads: $(groups_led "$i" | tr '\n' ' ')after ${TIMEOUT}s"
}

# meta_applied I: data node I's applied index of the meta group (empty when it holds none).
meta_applied() {
    curl -s -m 3 "http://127.0.0.1:$(var "DATA${1}_HTTP")/readyz" |
        json 'next((g["last_applied"] for g in d["groups"] if g["group"] == 0), None)' || true
}

# wait_caught_up I ID META_BEFORE: until the restarted node is replicated to again. /readyz
# only compares the node's own commit and applied indexes, so it also answers 200 on a node
# that no leader reaches. Here: the node applied a meta entry newer than META_BEFORE (its
# index before the stop: a restarted node always announces its addresses through the meta
# group), the cluster sees it reachable, and its replica of every shard has applied what the
# shard had committed when we started waiting.
wait_caught_up() {
    local i="$1" id="$2" meta_before="$3" other_admin targets="" state="" meta="" status
    other_admin="$(var "DATA$((i % 3 + 1))_ADMIN")"
    local deadline=$((SECONDS + TIMEOUT)) have_targets=false
    while [ "$SECONDS" -lt "$deadline" ]; do
        if [ "$have_targets" = false ]; then
            # The shards the node holds a replica of, with their commit index now.
            if status="$(admin GET "$other_admin" /cluster/v1/status 2>/dev/null)"; then
                targets="$(printf '%s' "$status" | json '
["%s:%s" % (s["id"], s["commitIndex"] or 0) for s in d["data"]["shards"]
 if any(r["node"] == '"$id"' for r in s["replicas"])]' || true)"
                have_targets=true
            else
                sleep 0.3
                continue
            fi
        fi
        state="$(admin GET "$other_admin" /cluster/v1/status 2>/dev/null | json '
(lambda want: all(n["reachable"] for n in d["data"]["nodes"] if n["id"] == '"$id"') and all(
  any(r["node"] == '"$id"' and (r["appliedIndex"] or 0) >= want.get(s["id"], 0)
      for r in s["replicas"])
  for s in d["data"]["shards"] if s["id"] in want))(
  {int(t.split(":")[0]): int(t.split(":")[1]) for t in "'"$targets"'".split()})' || true)"
        meta="$(meta_applied "$i")"
        if [ "$state" = True ] && { [ -z "$meta_before" ] || [ "${meta:-0}" -gt "$meta_before" ]; }; then
            return 0
        fi
        sleep 0.3
    done
    die "data$i (node $id) is not replicated to: meta applied ${meta:-?} (before the stop" \
        "${meta_before:-none}), shards caught up: ${state:-?} (shard:commit $targets), after ${TIMEOUT}s"
}

cmd_rolling_restart() {
    load_state
    case "$MODE" in handoff | drain) ;; *) die "LUMO_RESTART_MODE must be handoff or drain" ;; esac
    local started=$SECONDS i id meta_before
    for i in "${DATA_NODES[@]}"; do
        alive "data$i" || die "data$i is not running"
        wait_ready "data$i" "$(var "DATA${i}_HTTP")"
        id="$(node_id "$i")"
        [ -n "$id" ] || die "data$i: no node id from /readyz"
        log "data$i: node $id, restart ($MODE)"
        empty_node "$i" "$id"
        meta_before="$(meta_applied "$i")"
        stop "data$i"
        start_data "$i"
        wait_ready "data$i" "$(var "DATA${i}_HTTP")"
        wait_caught_up "$i" "$id" "$meta_before"
        log "data$i: ready again and caught up"
    done
    for i in "${FRONTENDS[@]}"; do
        alive "frontend$i" || die "frontend$i is not running"
        # Out of rotation first: HAProxy sends it nothing new while in-flight requests finish.
        haproxy_cmd "set server lumo_frontends/frontend$i state maint" >/dev/null
        local deadline=$((SECONDS + 10))
        while [ "$SECONDS" -lt "$deadline" ] &&
            [ "$(haproxy_field "frontend$i" scur 2>/dev/null || echo 0)" != 0 ]; do
            sleep 0.2
        done
        stop "frontend$i"
        start_frontend "$i"
        wait_ready "frontend$i" "$(var "FE${i}_HTTP")"
        haproxy_cmd "set server lumo_frontends/frontend$i state ready" >/dev/null
        wait_haproxy_status "frontend$i" UP
        log "frontend$i: back in rotation"
    done
    log "rolling restart done in $((SECONDS - started))s"
}

# upgrade BINARY: a rolling restart in which every process starts from BINARY. Both binaries
# must speak the same internal RPC protocol version (a node refuses peers of another one) and
# read the same on-disk format (a node refuses a data dir it cannot read), as every patch and
# minor release of this series does.
cmd_upgrade() {
    local new="${1:-}" name pid
    [ -n "$new" ] && [ -x "$new" ] || die "usage: cluster.sh upgrade NEW_LUMOD_BINARY"
    new="$(cd "$(dirname "$new")" && pwd)/$(basename "$new")"
    load_state
    log "upgrade: $("$LUMOD_BIN" --version 2>&1 | head -n 1) ($LUMOD_BIN) -> $("$new" --version 2>&1 | head -n 1) ($new)"
    LUMOD_BIN="$new"
    echo "$new" >"$DIR/lumod-binary"
    cmd_rolling_restart
    for name in data1 data2 data3 frontend1 frontend2; do
        pid="$(pid_of "$name")"
        [ "$(readlink -f "/proc/$pid/exe")" = "$(readlink -f "$new")" ] ||
            die "$name (pid $pid) does not run $new"
    done
    log "upgrade done: every process runs $new"
}

case "${1:-}" in
deps) ensure_haproxy ;;
up) cmd_up ;;
down) cmd_down "${2:-}" ;;
status) cmd_status ;;
rolling-restart) cmd_rolling_restart ;;
upgrade) cmd_upgrade "${2:-}" ;;
*)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
