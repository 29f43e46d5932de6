//! The writes of the webhooks family. Secrets arrive sealed (the leader seals them where the
//! master key is); JSON payloads travel as text (Raft entries are bincode).

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::ids::WebhookId;

use super::BadKey;

impl FromStr for WebhookId {
    type Err = BadKey;
    fn from_str(s: &str) -> Result<Self, BadKey> {
        match s.parse::<u64>() {
            Ok(id) if id > 0 => Ok(WebhookId(id)),
            _ => Err(BadKey("must be a webhook id (a positive integer)")),
        }
    }
}

/// The fields an admin sets on a webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookFields {
    pub url: String,
    pub events: Vec<String>,
    pub kind: String,
    pub is_active: bool,
    /// JSON object as text.
    pub configuration: Option<String>,
}

/// A partial update (PATCH); PUT sends every field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub kind: Option<String>,
    pub is_active: Option<bool>,
    /// `Some(None)` clears the configuration.
    pub configuration: Option<Option<String>>,
}

/// How one attempt to deliver ended, as the dispatcher saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookAttempt {
    pub webhook: WebhookId,
    pub seq: u64,
    pub at: Timestamp,
    pub status_code: Option<u16>,
    /// The start of the receiver's answer (bounded).
    pub response_body: Option<String>,
    pub error: Option<String>,
}

impl WebhookAttempt {
    /// A 2xx answer, or (a tunnel's delivery, handed to its event stream) no error and no
    /// HTTP status at all.
    pub fn succeeded(&self) -> bool {
        self.error.is_none() && self.status_code.is_none_or(|s| (200..300).contains(&s))
    }
}
