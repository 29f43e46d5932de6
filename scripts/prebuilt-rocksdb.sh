# Sourced by the builds that use another profile or other flags than the main (dev) build: the
# fuzz targets and the release binaries. RocksDB's C++ takes 20+ minutes on two cores, and the
# dev build already compiled it optimized (-O3, NDEBUG; dependencies are at opt-level 3 in every
# profile), so those builds link that library (librocksdb-sys's ROCKSDB_LIB_DIR) instead of
# compiling it again. Exports ROCKSDB_LIB_DIR and ROCKSDB_STATIC.
#
# Needs: $main_target (the main target dir) and $cache ($HOME/.cache/lumo or LUMO_CACHE).

use_prebuilt_rocksdb() {
    local newest dir="$cache/prebuilt-rocksdb"
    newest="$(ls -t "$main_target"/debug/build/librocksdb-sys-*/out/librocksdb.a 2>/dev/null | head -n 1)"
    if [ -z "$newest" ]; then
        CARGO_TARGET_DIR="$main_target" cargo build -p lumo-storage
        newest="$(ls -t "$main_target"/debug/build/librocksdb-sys-*/out/librocksdb.a | head -n 1)"
    fi
    mkdir -p "$dir"
    # Copied to a fixed path: the build script reruns when the variable's value changes.
    if ! cmp -s "$newest" "$dir/librocksdb.a"; then
        cp "$newest" "$dir/librocksdb.a"
    fi
    export ROCKSDB_LIB_DIR="$dir" ROCKSDB_STATIC=1
}
