//! The Zanzibar schema language (`PUT ~/zanzibar/schema`) and the tuple, object and subject
//! strings of the relation endpoints.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lumo_cluster::authz::zanzibar::{ObjectRef, Schema, SubjectRef, Tuple};

fuzz_target!(|text: &str| {
    let _ = Schema::parse(text);
    let _ = Tuple::parse(text);
    let _ = ObjectRef::parse(text);
    let _ = SubjectRef::parse(text);
});
