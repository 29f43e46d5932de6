//! Signing keys: a new active key retires the previous one, which stays published until
//! `retain_until`; keys no longer published are dropped.

use crate::clock::Timestamp;
use crate::command::CommandMeta;
use crate::error::Result;
use crate::model::{AuditEvent, SigningKeyRecord, SigningKeyState};
use crate::query::Outcome;
use crate::tables::{OrgTx, Table};

use super::Applied;

pub(super) fn add_signing_key(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    new: &crate::command::NewSigningKey,
    only_if_none: bool,
    retain_old_until: Timestamp,
) -> Result<Applied> {
    let mut existing: Vec<SigningKeyRecord> = Vec::new();
    tx.reader()
        .scan::<SigningKeyRecord>(Table::SigningKey, &[], false, |_, k| {
            existing.push(k);
            true
        })?;
    if only_if_none && existing.iter().any(|k| k.state == SigningKeyState::Active) {
        return Ok((Outcome::Done, Vec::new()));
    }
    for mut old in existing {
        if old.state == SigningKeyState::Active {
            old.state = SigningKeyState::Retiring;
            old.retired_at = Some(meta.at);
            old.retain_until = Some(retain_old_until);
            tx.put(Table::SigningKey, old.kid.as_bytes(), &old)?;
        } else if !old.published(meta.at) {
            tx.delete(Table::SigningKey, old.kid.as_bytes());
        }
    }
    let key = SigningKeyRecord {
        kid: new.kid.clone(),
        alg: new.alg,
        public_jwk: super::clients::json_text("public_jwk", &new.public_jwk)?,
        sealed_private: new.sealed_private.clone(),
        state: SigningKeyState::Active,
        created_at: meta.at,
        retired_at: None,
        retain_until: None,
    };
    tx.put(Table::SigningKey, key.kid.as_bytes(), &key)?;
    let event = AuditEvent::new(
        "security",
        "signing_key.rotated",
        format!("new {} signing key {}", key.alg.as_str(), key.kid),
    )
    .target("signing_key", &key.kid, key.alg.as_str().to_string());
    Ok((Outcome::Done, vec![event]))
}
