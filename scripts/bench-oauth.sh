#!/usr/bin/env bash
# OAuth benchmark: lumod's token endpoint (RS256, ES256, EdDSA), password sign-ins against the
# argon2id limit, introspection and refresh rotation, and oidc-provider (Node.js, RS256 JWT
# access tokens) answering the same client_credentials request on the same machine.
# Usage: scripts/bench-oauth.sh [seconds per scenario, default 10]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
per_scenario="${1:-10}"
ready="$(mktemp)"
"$ROOT/chaos/oidc-baseline/run.sh" >"$ready" &
baseline=$!
cleanup() {
  kill "$baseline" 2>/dev/null || true
  wait "$baseline" 2>/dev/null || true
  rm -f "$ready"
}
trap cleanup EXIT
for _ in $(seq 1 1200); do
  grep -q '^oidc-provider ready' "$ready" && break
  kill -0 "$baseline" 2>/dev/null || { echo "oidc-provider baseline did not start" >&2; exit 1; }
  sleep 0.1
done
token_url="$(grep -o 'token_url=[^ ]*' "$ready" | cut -d= -f2-)"
[ -n "$token_url" ] || { echo "oidc-provider baseline did not become ready in 120 s" >&2; exit 1; }
echo "baseline: $(head -1 "$ready")"
cd "$ROOT"
cargo run -q -p lumo-chaos --bin lumo-load -- --seconds "$per_scenario" --concurrency 32 \
  --scenarios argon2,login,cc-rs256,cc-es256,cc-eddsa,introspect,refresh,cc-baseline \
  --baseline-token-url "$token_url" --baseline-scope api:read
