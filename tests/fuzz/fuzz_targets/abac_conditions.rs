//! ABAC policy conditions as the policy endpoints receive them: any JSON document, checked
//! against the built-in attribute catalog.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lumo_cluster::authz::abac::{AttributeCatalog, parse_conditions};

fuzz_target!(|data: &[u8]| {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let _ = parse_conditions(&json, &AttributeCatalog::builtin());
});
