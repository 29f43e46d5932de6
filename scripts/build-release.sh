#!/usr/bin/env bash
# The production build (`make release`): lumod and the benchmark programs in the release
# profile (opt-level 3, thin LTO; Cargo.toml), into $CARGO_TARGET_DIR/release. It links the
# RocksDB library the dev build compiled (scripts/prebuilt-rocksdb.sh), so it takes minutes, not
# the 20+ of RocksDB's C++. The Dockerfile builds the same profile from scratch.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${LUMO_CACHE:-$HOME/.cache/lumo}"
main_target="${CARGO_TARGET_DIR:-$cache/target}"
# shellcheck source=scripts/prebuilt-rocksdb.sh
. scripts/prebuilt-rocksdb.sh
use_prebuilt_rocksdb
export CARGO_TARGET_DIR="$main_target"
cargo build --release --locked -p lumo-node --bin lumod \
    -p lumo-chaos --bin lumo-load --bin lumo-cluster-bench
echo "built: $main_target/release/lumod, $main_target/release/lumo-load, $main_target/release/lumo-cluster-bench"
