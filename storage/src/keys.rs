//! Key codec. Integers are big-endian so RocksDB's byte order is numeric order; every key starts
//! with the group id, state-machine keys continue with the org id and a table tag.

use crate::GroupId;

/// Bytes of the group prefix.
pub const GROUP_LEN: usize = 8;

/// `group` as a key prefix.
pub fn group_prefix(group: GroupId) -> [u8; GROUP_LEN] {
    group.to_be_bytes()
}

/// Key of a Raft log entry: `group ++ index`.
pub fn log_key(group: GroupId, index: u64) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&group.to_be_bytes());
    key[8..].copy_from_slice(&index.to_be_bytes());
    key
}

/// Index part of a log key.
pub fn log_index(key: &[u8]) -> Option<u64> {
    let bytes: [u8; 8] = key.get(8..16)?.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

/// Key of a per-group Raft state value (vote, committed, purged).
pub fn state_key(group: GroupId, name: &str) -> Vec<u8> {
    let mut key = group.to_be_bytes().to_vec();
    key.extend_from_slice(name.as_bytes());
    key
}

/// Full `sm_data` key: `group ++ suffix`, where the suffix is `org ++ table ++ key`.
pub fn sm_key(group: GroupId, suffix: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(GROUP_LEN + suffix.len());
    key.extend_from_slice(&group.to_be_bytes());
    key.extend_from_slice(suffix);
    key
}

/// The smallest key greater than every key starting with `prefix`, or `None` when the prefix is
/// all `0xff` (no upper bound exists).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_keys_sort_by_group_then_index() {
        let mut keys = vec![
            log_key(2, 1),
            log_key(1, 300),
            log_key(1, 2),
            log_key(1, 256),
        ];
        keys.sort();
        assert_eq!(
            keys,
            vec![
                log_key(1, 2),
                log_key(1, 256),
                log_key(1, 300),
                log_key(2, 1)
            ]
        );
        assert_eq!(log_index(&log_key(7, 99)), Some(99));
    }

    #[test]
    fn prefix_end_is_the_next_prefix() {
        assert_eq!(prefix_end(&[1, 2, 3]), Some(vec![1, 2, 4]));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff, 0xff]), None);
        let p = [0u8, 0, 0, 0, 0, 0, 0, 5];
        let end = prefix_end(&p).expect("bounded");
        assert!(sm_key(5, b"zzzz").as_slice() < end.as_slice());
        assert!(sm_key(6, b"").as_slice() >= end.as_slice());
    }
}
