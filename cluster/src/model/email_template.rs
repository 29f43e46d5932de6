//! A custom email template of an org (the built-in defaults live in `mail::template`).

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;

/// The template an org saved for one kind of email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailTemplateRecord {
    /// The kind (`verification`, `password_reset`, ...).
    pub kind: String,
    pub subject: String,
    pub body_html: String,
    /// When false, the built-in default is sent instead (the custom one is kept).
    pub is_active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}
