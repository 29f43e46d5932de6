//! The public HTTP API of a real node: JSON bodies of the admin API, OAuth form bodies, JWTs in
//! forms and headers, SCIM bodies and filters, list query strings, SAML requests and AAuth
//! signature headers (`lumo_fuzz::ROUTES`). A finding is a 5xx, a dropped connection, or a 4xx
//! JSON answer without an error in it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lumo_fuzz::{FuzzRequest, harness};

fuzz_target!(|input: FuzzRequest| {
    harness().send(&input);
});
