//! Who is calling and from where: the credential a request carries and its origin, as the
//! API hands them to the [`crate::Service`] and nodes forward them to each other.

use serde::{Deserialize, Serialize};

/// The credential a request carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Credential {
    ApiKey(String),
    Bearer(String),
    None,
}

/// Where a request came from (for audit records).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestContext {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// How many nodes passed the request on so far.
    #[serde(default)]
    pub hops: u8,
    /// The public origin the caller reached (`scheme://host[:port]`): WebAuthn ceremonies are
    /// bound to it.
    #[serde(default)]
    pub origin: Option<String>,
}
