//! Webhooks: an org's receivers, and the outbox of deliveries written in the same Raft entry as
//! the change that caused each event.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::Timestamp;
use crate::ids::WebhookId;

/// The kind of a development tunnel: its deliveries are streamed to the developer (SSE)
/// instead of pushed.
pub const TUNNEL_KIND: &str = "tunnel";

/// The kind of the hidden webhook that carries an org's emails (kept in step with the email
/// settings; its deliveries are sent over SMTP, not POSTed).
pub const EMAIL_KIND: &str = "email";

/// The events that send an email.
pub const EMAIL_EVENTS: [&str; 5] = [
    "user.verification_email.requested",
    "user.password_reset.requested",
    "user.magic_link.requested",
    "organization.invitation.created",
    "organization.invitation.resent",
];

/// What a hidden webhook of `kind` carries and where it is changed, if the server keeps
/// webhooks of that kind for itself (admins may not edit, rotate or test them).
pub fn hidden_owner(kind: &str) -> Option<&'static str> {
    match kind {
        super::SCIM_KIND => Some("outbound SCIM: change it through ~/admin/settings/scim"),
        EMAIL_KIND => Some("the org's emails: change it through ~/admin/settings/email"),
        _ => None,
    }
}

/// A receiver of an org's events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    /// Per-org integer id (the contract's `Webhook.id`).
    pub id: WebhookId,
    pub url: String,
    /// Subscribed event names; `*` is every event.
    pub events: Vec<String>,
    /// The contract's `type` (`webhook`).
    pub kind: String,
    pub is_active: bool,
    /// The signing secret (`whsec_…`), sealed under the master key (context: the webhook id).
    pub sealed_secret: String,
    /// The secret replaced by the last rotation, valid (and signed with) until
    /// `previous_until`.
    pub previous_sealed_secret: Option<String>,
    pub previous_until: Option<Timestamp>,
    /// Deliveries that failed in a row (reset by a success).
    pub failure_count: u64,
    pub configuration: Option<Value>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_triggered_at: Option<Timestamp>,
}

impl Webhook {
    /// True when this webhook subscribes to `event`.
    pub fn wants(&self, event: &str) -> bool {
        // The email carrier follows the server's list, so events added in a release reach
        // carriers saved before it.
        if self.kind == EMAIL_KIND {
            return EMAIL_EVENTS.contains(&event);
        }
        self.events.iter().any(|e| e == "*" || e == event)
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Success,
    /// The last attempt failed; another is scheduled.
    Failed,
    /// Every attempt failed; only a replay sends it again.
    DeadLettered,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Success => "success",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::DeadLettered => "dead_lettered",
        }
    }

    /// Still to be sent (now or later).
    pub fn is_open(self) -> bool {
        matches!(self, DeliveryStatus::Pending | DeliveryStatus::Failed)
    }
}

/// One attempt to deliver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    pub at: Timestamp,
    pub status_code: Option<u16>,
    pub error: Option<String>,
}

/// One event on its way to one webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    /// Per-org sequence: orders deliveries of a webhook and keys the row.
    pub seq: u64,
    pub webhook_id: WebhookId,
    /// The event's id (`evt_…`), the same on every attempt and replay: receivers dedupe on it.
    pub event_id: String,
    pub event_name: String,
    pub status: DeliveryStatus,
    pub attempt_count: u32,
    pub last_status_code: Option<u16>,
    pub last_response_body: Option<String>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<Timestamp>,
    pub succeeded_at: Option<Timestamp>,
    pub dead_lettered_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// What is sent: `{id, type, timestamp, data}`.
    pub payload: Value,
    /// The most recent attempts (bounded).
    pub attempts: Vec<DeliveryAttempt>,
}

impl WebhookDelivery {
    /// The contract's delivery id.
    pub fn public_id(&self) -> String {
        format!("dlv_{}", self.seq)
    }

    /// The sequence number of a public delivery id.
    pub fn parse_public_id(id: &str) -> Option<u64> {
        id.strip_prefix("dlv_")?.parse().ok()
    }
}

/// Counters of the org's webhooks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookHead {
    pub last_webhook_id: u64,
    pub last_seq: u64,
}
