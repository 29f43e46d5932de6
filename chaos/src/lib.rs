//! Load generation, fault injection and verification for Lumo: the `lumo-load` benchmark
//! runner and latency statistics, the AAuth signed-request scenarios (`aauth_bench`), the webhook scenario (`webhook_bench`), the SCIM scenarios (`scim_bench`), the authorization benchmarks' set-ups and Zanzibar data set
//! (`authz_bench`), operation histories and their linearizability checker, and the
//! `lumo-chaos` scenario that kills and partitions real `lumod` processes under load
//! (started, here and by the test suite, through [`lumod::start`]).

pub mod aauth_bench;
pub mod authz_bench;
pub mod availability;
pub mod checker;
pub mod email_bench;
pub mod history;
pub mod load;
pub mod lumod;
pub mod mfa_bench;
pub mod oauth_bench;
pub mod procs;
pub mod saml_bench;
pub mod scim_bench;
pub mod scim_push_bench;
pub mod smtp_sink;
pub mod stats;
pub mod webhook_bench;
