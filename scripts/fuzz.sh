#!/usr/bin/env bash
# The fuzz targets of tests/fuzz, each for FUZZ_SECONDS (default 60): `make fuzz` runs them for a
# minute each, `make fuzz-smoke` (in CI) for a few seconds. Stable Rust, `cargo fuzz` with
# `--sanitizer none` (libFuzzer's coverage guidance, no ASan: the code under test is safe Rust).
#
# The instrumented build has its own target dir ($HOME/.cache/lumo/fuzz-target) so it never
# invalidates the main one, and it links the RocksDB library the main build compiled instead of
# compiling RocksDB's C++ a second time. Corpora persist in $HOME/.cache/lumo/fuzz-corpus, seeded
# from tests/fuzz/seeds; a crash leaves its input in $HOME/.cache/lumo/fuzz-artifacts and fails
# the run.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-60}"
cache="${LUMO_CACHE:-$HOME/.cache/lumo}"
main_target="${CARGO_TARGET_DIR:-$cache/target}"
targets=(${FUZZ_TARGETS:-rpc_frame http_signature zanzibar_schema abac_conditions http_api})

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    cargo install cargo-fuzz --locked --version 0.13.2
fi

# shellcheck source=scripts/prebuilt-rocksdb.sh
. scripts/prebuilt-rocksdb.sh
use_prebuilt_rocksdb
export CARGO_TARGET_DIR="$cache/fuzz-target"
fuzz=(cargo fuzz)
common=(--fuzz-dir tests/fuzz --sanitizer none)

# The fuzz crate is outside the main workspace, so lint it here (a plain build, not instrumented).
cargo clippy --manifest-path tests/fuzz/Cargo.toml --all-targets -- -D warnings
"${fuzz[@]}" build "${common[@]}"

failed=()
for target in "${targets[@]}"; do
    corpus="$cache/fuzz-corpus/$target"
    artifacts="$cache/fuzz-artifacts/$target/"
    mkdir -p "$corpus" "$artifacts"
    seeds=()
    [ -d "tests/fuzz/seeds/$target" ] && seeds=("$PWD/tests/fuzz/seeds/$target")
    dict=()
    case "$target" in
        http_api | abac_conditions | http_signature) dict=(-dict="$PWD/tests/fuzz/dicts/json.dict") ;;
    esac
    echo "== $target: ${seconds}s"
    if ! "${fuzz[@]}" run "${common[@]}" "$target" "$corpus" "${seeds[@]}" -- \
        -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=30 \
        -artifact_prefix="$artifacts" -print_final_stats=1 "${dict[@]}" 2>"$cache/fuzz-$target.log"; then
        failed+=("$target")
        tail -n 60 "$cache/fuzz-$target.log"
    else
        grep -E "stat::number_of_executed_units|stat::new_units_added|stat::peak_rss_mb" \
            "$cache/fuzz-$target.log" | sed "s/^/   $target /"
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzzing found problems in: ${failed[*]} (inputs in $cache/fuzz-artifacts)"
    exit 1
fi
echo "fuzzing: ${#targets[@]} targets ran ${seconds}s each without a finding"
