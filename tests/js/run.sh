#!/usr/bin/env bash
# Runs the JavaScript end-to-end suite (openid-client + headless Chromium) against a lumod binary
# (see lumod.js for LUMOD_BIN). Usage: tests/js/run.sh [extra `node --test` args]  (any cwd)
#
# Needs Node.js >= 20.10 and npm. Installs the locked npm packages when node_modules is missing
# or older than package-lock.json, and Debian's chromium package when no Chromium is found and
# apt-get can be used; without Chromium the browser tests are skipped (the others still run).
# LUMO_JS_TIMEOUT (seconds, default 600) bounds the whole run.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"

# --- Node.js and npm -------------------------------------------------------------------------
need_node() {
  echo "$1" >&2
  echo "Install Node.js >= 20.10 and npm, e.g. on Debian/Ubuntu from NodeSource (nodejs 20.x or" >&2
  echo "newer; Debian 12's own nodejs is 18), or from https://nodejs.org, then re-run." >&2
  exit 1
}
command -v node >/dev/null 2>&1 || need_node "node not found."
command -v npm >/dev/null 2>&1 || need_node "npm not found (Debian: apt-get install npm)."
node_version="$(node -p 'process.versions.node')"
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 10) ? 0 : 1)' \
  || need_node "node $node_version is too old (node --test --test-concurrency needs >= 20.10)."

# --- npm packages (exact versions from package-lock.json) -------------------------------------
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ] \
   || [ package.json -nt node_modules/.package-lock.json ]; then
  echo "npm ci (node $node_version, npm $(npm --version))"
  timeout 600 npm ci --no-audit --no-fund --prefer-offline
fi

# --- Chromium -----------------------------------------------------------------------------------
find_chromium() {
  local c
  for c in ${CHROMIUM_PATH:+"$CHROMIUM_PATH"} /usr/bin/chromium /usr/bin/chromium-browser; do
    if [ -x "$c" ]; then echo "$c"; return 0; fi
  done
  return 1
}
chromium_bin="$(find_chromium || true)"
if [ -z "$chromium_bin" ] && command -v apt-get >/dev/null 2>&1; then
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then sudo_cmd="sudo -n"; else sudo_cmd="none"; fi
  fi
  if [ "$sudo_cmd" != "none" ]; then
    echo "installing Debian's chromium package for the browser tests"
    timeout 300 $sudo_cmd apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive timeout 900 $sudo_cmd apt-get install -y -qq chromium \
      || echo "apt-get install chromium failed; the browser tests will be skipped" >&2
    chromium_bin="$(find_chromium || true)"
  fi
fi
if [ -n "$chromium_bin" ]; then
  export CHROMIUM_PATH="$chromium_bin"
else
  echo "Chromium not installed (looked for ${CHROMIUM_PATH:+$CHROMIUM_PATH, }/usr/bin/chromium, /usr/bin/chromium-browser):" \
    "the browser tests will be skipped. Install Debian's chromium package or set CHROMIUM_PATH." >&2
fi

# --- the tests ----------------------------------------------------------------------------------
shopt -s nullglob
files=("$HERE"/*.test.js)
[ ${#files[@]} -gt 0 ] || { echo "no *.test.js files in $HERE" >&2; exit 1; }
set +e
timeout --kill-after=30 "${LUMO_JS_TIMEOUT:-600}" \
  node --test --test-concurrency=1 --test-reporter=spec "$@" "${files[@]}"
code=$?
set -e
if [ "$code" -eq 124 ] || [ "$code" -eq 137 ]; then
  echo "the JavaScript suite did not finish within ${LUMO_JS_TIMEOUT:-600} s" >&2
fi
exit "$code"
