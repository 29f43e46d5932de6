#!/usr/bin/env bash
# The cost of metrics and traces (issue 14): get-user and create-user through one lumod process,
# four times in one session, against the axum hello ceiling of each run:
#   baseline   metrics on (the default), traces off
#   no-metrics LUMO_HTTP_METRICS=false
#   traces     OTEL_EXPORTER_OTLP_ENDPOINT set: every request's spans exported over OTLP/HTTP to a
#              sink in this script (a Python HTTP server that reads and counts the batches)
#   traces-10pct the same with OTEL_TRACES_SAMPLER=parentbased_traceidratio at 0.1
# Usage: scripts/bench-telemetry.sh [seconds per scenario]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
target_dir="${CARGO_TARGET_DIR:-$HOME/.cache/lumo/target}"
lumod="${LUMOD:-$target_dir/debug/lumod}"
scenarios="hello,get-user,create-user"
work="$(mktemp -d)"
trap 'kill "$sink_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

cat > "$work/sink.py" <<'PY'
import http.server, sys, threading
count = {"batches": 0, "bytes": 0}
class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        count["batches"] += 1
        count["bytes"] += len(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()
    def do_GET(self):
        text = f'{count["batches"]} {count["bytes"]}'.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
print(server.server_address[1], flush=True)
server.serve_forever()
PY
python3 "$work/sink.py" > "$work/port" &
sink_pid=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
sink="http://127.0.0.1:$(cat "$work/port")"

cargo build -q -p lumo-chaos --bin lumo-load
load="$target_dir/debug/lumo-load"
run() {
    echo "== $1"
    shift
    env "$@" "$load" --processes 1 --lumod "$lumod" --seconds "$seconds" --concurrency 32 \
        --seed-users 1000 --scenarios "$scenarios"
}
run baseline LUMO_HTTP_METRICS=true
run no-metrics LUMO_HTTP_METRICS=false
run traces LUMO_HTTP_METRICS=true OTEL_EXPORTER_OTLP_ENDPOINT="$sink" OTEL_BSP_SCHEDULE_DELAY=1000
run traces-10pct LUMO_HTTP_METRICS=true OTEL_EXPORTER_OTLP_ENDPOINT="$sink" \
    OTEL_BSP_SCHEDULE_DELAY=1000 OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.1
echo "== the sink received (batches bytes): $(curl -s "$sink/")"
