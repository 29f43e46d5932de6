//! Best-effort heap size estimates for std collections.

/// Bytes used by a hashbrown table with the given `capacity()` and entry size.
pub(crate) fn hash_table_bytes(capacity: usize, entry: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let buckets = if capacity < 8 {
        (capacity + 1).next_power_of_two()
    } else {
        (capacity.saturating_mul(8) / 7).next_power_of_two()
    };
    buckets * (entry + 1) + 16
}

/// Bytes used by a heap string allocation of `len` bytes (allocator rounds to 8, min 16).
pub(crate) fn string_bytes(len: usize) -> usize {
    if len == 0 {
        0
    } else {
        len.div_ceil(8).max(2) * 8
    }
}
