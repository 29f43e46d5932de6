#!/usr/bin/env bash
# Start the oidc-provider baseline (see server.mjs). Installs the pinned dependencies with
# `npm ci` when node_modules is missing or older than package-lock.json.
# Env: PORT (default 0 = ephemeral), ALG (RS256 | ES256 | EdDSA, default RS256).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

stamp=node_modules/.package-lock.json   # written by npm after every install
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ] \
   || [ ! -d node_modules/oidc-provider ]; then
  # npm's output goes to stderr: stdout is kept for the server's single ready line.
  npm ci --no-audit --no-fund --loglevel=error 1>&2
fi

exec node server.mjs
