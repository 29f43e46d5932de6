//! Writes of email delivery: asking for a linked email, using its link, the dispatcher's
//! record of a round of sends, and the org's custom templates.

use serde::{Deserialize, Serialize};

use super::{UserKey, WebhookAttempt};
use crate::clock::Timestamp;
use crate::ids::UserId;
use crate::model::EmailRequestKind;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EmailWrite {
    /// Asks for a verification or reset email: the request row (with its link's nonce), and
    /// the event that queues the email on the org's `email` webhook.
    Request {
        user: UserKey,
        kind: EmailRequestKind,
        nonce: String,
        expires_at: Timestamp,
        /// `{public url}/orgs/{org}/api/v1`: the hosted pages the link opens.
        issuer: String,
    },
    /// A link was opened and checked on a node with the master key: verify the address, or
    /// set the new password (argon2 hash), if the row still has `nonce`.
    UseLink {
        user: UserId,
        kind: EmailRequestKind,
        nonce: String,
        password_hash: Option<String>,
    },
    /// The dispatcher's round: attempts as for webhooks; `give_up` lists the sequences the
    /// server refused for good (dead-lettered at once).
    RecordAttempts {
        attempts: Vec<WebhookAttempt>,
        give_up: Vec<u64>,
    },
    /// Saves the custom template of a kind (checked in apply).
    PutTemplate {
        kind: String,
        subject: String,
        body_html: String,
        is_active: bool,
    },
    /// Removes a kind's custom template (the default is sent again).
    DeleteTemplate { kind: String },
    /// Asks for a sign-in link (the hosted login's magic link): a request row of kind
    /// `MagicLink` that keeps the authorization request to continue, and its email.
    RequestMagicLink {
        user: UserKey,
        nonce: String,
        expires_at: Timestamp,
        issuer: String,
        continue_query: String,
    },
}

impl EmailWrite {
    pub fn name(&self) -> &'static str {
        match self {
            EmailWrite::Request { .. } => "request_email",
            EmailWrite::UseLink { .. } => "use_email_link",
            EmailWrite::RecordAttempts { .. } => "record_email_attempts",
            EmailWrite::PutTemplate { .. } => "put_email_template",
            EmailWrite::DeleteTemplate { .. } => "delete_email_template",
            EmailWrite::RequestMagicLink { .. } => "request_magic_link",
        }
    }
}
