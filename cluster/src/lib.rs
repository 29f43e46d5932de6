//! The cluster side of Lumo: the domain model, replicated commands and their deterministic
//! `apply`, Raft groups over RocksDB, the org directory, org actors, and [`Service`], the only
//! entry point the API uses.

mod access;
mod actors;
pub mod api_key;
mod apply;
pub mod authz;
mod caller;
pub mod clock;
pub mod command;
pub mod crypto;
mod decide;
mod directory;
pub mod email_templates;
mod error;
pub mod ids;
mod lookup;
pub mod mail;
pub mod metrics;
pub mod mfa;
pub mod model;
mod node_identity;
pub mod oauth;
pub mod protocol;
pub mod query;
pub mod raft;
pub mod rate_limit;
mod read;
mod relations;
pub mod restore;
pub mod scim_outbound;
mod service;
pub mod settings;
mod tables;
pub mod trace_context;
pub mod transport;
pub mod webhooks;

pub use actors::ActorSettings;
pub use apply::{COMPACTION_BATCH, MAX_RETENTION_DAYS, MAX_TUPLE_CHANGES};
pub use caller::{Credential, RequestContext};
pub use directory::validate_slug;
pub use error::{AuthzCode, ClusterError, MfaCode, Result};
pub use read::effective_permissions;
pub use service::{
    BackupManifest, ClusterStatus, CreatedOrg, GroupStatus, LookupAnswer, MetaSnapshot, NewOrg,
    Readiness, ReplicaDigest, Role, Service, ServiceConfig,
};
