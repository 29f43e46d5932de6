//! Outgoing mail.
//!
//! - Org email (verification, password reset, invitations) goes through the org's own SMTP
//!   server (`smtp.rs`), from the replicated outbox: saving the email settings keeps a hidden
//!   webhook of kind `email` in step, the change that asks for an email writes its delivery in
//!   the same Raft entry, and the dispatcher (`service/email.rs`) builds each message at send
//!   time (`compose.rs`) from a template (`email_templates`) with a signed single-use
//!   link (`link.rs`), retrying with backoff like any webhook.
//! - One-time codes go out at once through the node's [`Mailer`]: [`DirMailer`] drops each
//!   message as a JSON file into a directory (`--mail-dir`) for a relay or a test to pick up.
//!   Without one, features that need it answer 501.

pub mod compose;
pub mod link;
pub mod smtp;

pub use crate::model::{EMAIL_EVENTS, EMAIL_KIND};
pub use compose::Compose;
pub use smtp::{Outgoing, SmtpAttempt, SmtpSender, SmtpSettings};

use std::path::PathBuf;

use serde::Serialize;

use crate::clock::Timestamp;
use crate::error::{ClusterError, Result};

/// One message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    /// What it is for (`mfa.email_otp`, ...), for relays that template it.
    pub kind: String,
    pub sent_at: String,
}

impl Mail {
    pub fn new(to: &str, subject: &str, text: String, kind: &str, at: Timestamp) -> Mail {
        Mail {
            to: to.to_string(),
            subject: subject.to_string(),
            text,
            kind: kind.to_string(),
            sent_at: at.to_rfc3339(),
        }
    }
}

/// Something that sends mail.
pub trait Mailer: Send + Sync {
    fn send(&self, mail: &Mail) -> Result<()>;
}

/// Writes each message as `<dir>/<time>-<ulid>.json` (written to a temporary name, then
/// renamed, so a reader never sees half a message).
pub struct DirMailer {
    dir: PathBuf,
}

impl DirMailer {
    pub fn new(dir: PathBuf) -> DirMailer {
        DirMailer { dir }
    }
}

impl Mailer for DirMailer {
    fn send(&self, mail: &Mail) -> Result<()> {
        let fail = |e: std::io::Error| ClusterError::Unavailable {
            message: format!("the mail directory cannot be written: {e}"),
        };
        std::fs::create_dir_all(&self.dir).map_err(fail)?;
        let name = format!(
            "{}-{}",
            Timestamp::now().0,
            ulid::Ulid::new().to_string().to_lowercase()
        );
        let partial = self.dir.join(format!(".{name}.tmp"));
        std::fs::write(&partial, serde_json::to_vec_pretty(mail)?).map_err(fail)?;
        std::fs::rename(&partial, self.dir.join(format!("{name}.json"))).map_err(fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_lands_as_one_json_file() -> Result<()> {
        let dir = tempfile::tempdir().map_err(ClusterError::internal)?;
        let mailer = DirMailer::new(dir.path().join("out"));
        mailer.send(&Mail::new(
            "a@example.com",
            "Code",
            "123456".into(),
            "test",
            Timestamp(0),
        ))?;
        let files: Vec<_> = std::fs::read_dir(dir.path().join("out"))
            .map_err(ClusterError::internal)?
            .filter_map(|e| e.ok())
            .collect();
        assert_eq!(files.len(), 1);
        let text = std::fs::read_to_string(files[0].path()).map_err(ClusterError::internal)?;
        assert!(text.contains("a@example.com") && text.contains("123456"));
        Ok(())
    }
}
