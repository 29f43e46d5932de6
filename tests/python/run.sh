#!/usr/bin/env bash
# Runs the official-client pytest suite against a lumod binary (see conftest.py for LUMOD_BIN).
# Usage: tests/python/run.sh [extra pytest args]   (works from any cwd)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${LUMO_VENV:-/work/main/.venv}"

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import lumoauth_api_client, lumoauth, pytest, cryptography, scim2_tester, saml2, schemathesis, opentelemetry.proto' >/dev/null 2>&1; then
    "$VENV/bin/python" -m pip install -q -r "$HERE/requirements.txt"
fi

cd "$HERE"
export PYTHONDONTWRITEBYTECODE=1
set +e
"$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@" "$HERE"
code=$?
set -e
exit "$code"
