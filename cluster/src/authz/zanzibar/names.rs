//! Validation of type, relation and id names.
//!
//! - relation / permission names: `[a-z][a-z0-9_]{0,63}`
//! - type names: a relation-style name, optionally prefixed by one `namespace/` that follows
//!   the same rule (`acme/document`)
//! - object ids: `[A-Za-z0-9_|\-=+.@/]{1,256}`; `*` is accepted only as a subject id (wildcard)

/// Maximum length of an object id.
pub const MAX_ID_LEN: usize = 256;
/// Maximum length of one name segment (type, namespace or relation).
pub const MAX_NAME_LEN: usize = 64;

/// Returns true for a valid relation or permission name.
pub fn is_valid_relation_name(s: &str) -> bool {
    let bytes = s.as_bytes();
    match bytes.first() {
        Some(b) if b.is_ascii_lowercase() => {}
        _ => return false,
    }
    bytes.len() <= MAX_NAME_LEN
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
}

/// Returns true for a valid type name (`document` or `acme/document`).
pub fn is_valid_type_name(s: &str) -> bool {
    match s.split_once('/') {
        Some((ns, name)) => is_valid_relation_name(ns) && is_valid_relation_name(name),
        None => is_valid_relation_name(s),
    }
}

/// Returns true for a valid concrete object id (never `*`).
pub fn is_valid_object_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID_LEN
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(b, b'_' | b'|' | b'-' | b'=' | b'+' | b'.' | b'@' | b'/')
        })
}

/// Returns true for a valid subject id: a concrete object id or the wildcard `*`.
pub fn is_valid_subject_id(s: &str) -> bool {
    s == "*" || is_valid_object_id(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relation_names() {
        assert!(is_valid_relation_name("viewer"));
        assert!(is_valid_relation_name("a_1"));
        assert!(!is_valid_relation_name(""));
        assert!(!is_valid_relation_name("1a"));
        assert!(!is_valid_relation_name("Viewer"));
        assert!(!is_valid_relation_name("a-b"));
        assert!(is_valid_relation_name(&"a".repeat(64)));
        assert!(!is_valid_relation_name(&"a".repeat(65)));
    }

    #[test]
    fn type_names() {
        assert!(is_valid_type_name("document"));
        assert!(is_valid_type_name("acme/document"));
        assert!(!is_valid_type_name("acme/"));
        assert!(!is_valid_type_name("/document"));
        assert!(!is_valid_type_name("a/b/c"));
    }

    #[test]
    fn ids() {
        assert!(is_valid_object_id("bob"));
        assert!(is_valid_object_id("a|b-c=d+e.f@g/h_I9"));
        assert!(!is_valid_object_id(""));
        assert!(!is_valid_object_id("*"));
        assert!(!is_valid_object_id("a b"));
        assert!(!is_valid_object_id("a#b"));
        assert!(!is_valid_object_id("a:b"));
        assert!(!is_valid_object_id(&"x".repeat(257)));
        assert!(is_valid_subject_id("*"));
    }
}
