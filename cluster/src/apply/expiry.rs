//! Deleting protocol state nobody can use any more, once it expired before the proposer's
//! cutoff: access-token records (with their `jti` and grant-index rows), refresh tokens, codes,
//! pushed requests, device and CIBA requests, used JWT bearer assertion ids, login sessions,
//! webhook deliveries done for a week and webhook tunnels started over an hour ago, SAML
//! logout rounds past their time and SAML sign-on records of sessions that are gone;
//! and refresh families whose newest token is gone. Deterministic like every apply: what is
//! removed depends only on the state and the cutoff, in key order, bounded per command.

use serde::de::DeserializeOwned;

use crate::clock::Timestamp;
use crate::error::Result;
use crate::model::{
    AAuthCode, AAuthPending, AAuthRefresh, AAuthSeen, AccessTokenRecord, AuditEvent, AuthCode,
    CibaRequest, DeviceGrant, LoginSession, PushedRequest, RefreshFamily, RefreshTokenRecord,
    SamlLogoutChain, WebhookDelivery,
};
use crate::query::Outcome;
use crate::tables::{OrgTx, Table};

use super::Applied;
use super::grants::{index, owners};

/// Most rows one purge command deletes; the sweeper repeats while a command fills it.
pub const PURGE_BATCH: u64 = 2_000;
/// Used codes and assertion ids outlive their expiry by this much.
const REPLAY_GRACE_MS: i64 = 86_400_000;
/// Delivered and dead-lettered webhook deliveries are kept this long after their last attempt.
const DELIVERY_RETENTION_MS: i64 = 7 * 86_400_000;
/// Most rows one purge command looks at per table.
const SCAN_BUDGET: usize = 20_000;

/// Keys (after the table tag) of rows of `table` that `expired` says are done, in key order.
fn expired_keys<T: DeserializeOwned>(
    tx: &OrgTx,
    table: Table,
    room: u64,
    expired: impl Fn(&T) -> bool,
) -> Result<Vec<(Vec<u8>, T)>> {
    let mut found = Vec::new();
    let mut scanned = 0;
    tx.reader().scan::<T>(table, &[], false, |key, row| {
        scanned += 1;
        if expired(&row) {
            found.push((key.to_vec(), row));
        }
        (found.len() as u64) < room && scanned < SCAN_BUDGET
    })?;
    Ok(found)
}

fn purge_access_tokens(tx: &mut OrgTx, cutoff: Timestamp, room: u64) -> Result<u64> {
    let doomed =
        expired_keys::<AccessTokenRecord>(tx, Table::AccessToken, room, |t| t.expires_at < cutoff)?;
    for (key, token) in &doomed {
        tx.delete(Table::AccessToken, key);
        tx.delete(Table::AccessTokenJti, token.jti.as_bytes());
        for owner in owners(
            token.user_id,
            token.client_id.as_deref(),
            token.session_id,
            token.family.as_deref(),
        ) {
            tx.delete(Table::GrantIndex, &index::access_ref(&owner, token.id));
        }
        tx.delete_prefix(Table::GrantIndex, &index::parent(token.id))?;
    }
    Ok(doomed.len() as u64)
}

/// Expired login sessions, with their cookie, per-user and token index rows.
fn purge_sessions(tx: &mut OrgTx, cutoff: Timestamp, room: u64) -> Result<u64> {
    let doomed = expired_keys::<LoginSession>(tx, Table::Session, room, |s| s.expires_at < cutoff)?;
    for (key, session) in &doomed {
        tx.delete(Table::Session, key);
        tx.delete(Table::SessionSecret, session.secret_hash.as_bytes());
        let mut per_user = index::user_sessions(session.user_id);
        per_user.extend_from_slice(&session.id.to_be_bytes());
        tx.delete(Table::GrantIndex, &per_user);
        tx.delete_prefix(Table::GrantIndex, &index::session(session.id))?;
        super::suborg_choice::forget_session(tx, session.id)?;
    }
    Ok(doomed.len() as u64)
}

/// True when nothing of `family` can be used any more: it is gone or revoked, or its newest
/// token expired before `cutoff`.
fn family_dead(tx: &OrgTx, family: &str, cutoff: Timestamp) -> Result<bool> {
    let Some(record) = tx.get::<RefreshFamily>(Table::RefreshFamily, family.as_bytes())? else {
        return Ok(true);
    };
    if record.revoked_at.is_some() {
        return Ok(true);
    }
    Ok(tx
        .get::<RefreshTokenRecord>(Table::RefreshToken, record.current.as_bytes())?
        .is_none_or(|current| current.expires_at < cutoff))
}

/// Expired refresh tokens of dead families. Rotated tokens of a live family stay: presenting
/// one again must still revoke the family (reuse detection).
fn purge_refresh_tokens(tx: &mut OrgTx, cutoff: Timestamp, room: u64) -> Result<u64> {
    let expired = expired_keys::<RefreshTokenRecord>(tx, Table::RefreshToken, room, |t| {
        t.expires_at < cutoff
    })?;
    let mut removed = 0;
    for (key, token) in &expired {
        if family_dead(tx, &token.family, cutoff)? {
            tx.delete(Table::RefreshToken, key);
            removed += 1;
        }
    }
    Ok(removed)
}

/// Families whose newest token expired: their rows and index entries.
fn purge_families(tx: &mut OrgTx, cutoff: Timestamp, room: u64) -> Result<u64> {
    let mut names = Vec::new();
    let mut scanned = 0;
    tx.reader().scan_keys(Table::RefreshFamily, &[], |key| {
        scanned += 1;
        names.push(String::from_utf8_lossy(key).into_owned());
        scanned < SCAN_BUDGET
    })?;
    let mut removed = 0;
    for name in names {
        if removed >= room {
            break;
        }
        let Some(family) = tx.get::<RefreshFamily>(Table::RefreshFamily, name.as_bytes())? else {
            continue;
        };
        let current_expired = tx
            .get::<RefreshTokenRecord>(Table::RefreshToken, family.current.as_bytes())?
            .is_none_or(|current| current.expires_at < cutoff);
        if !current_expired {
            continue;
        }
        tx.delete(Table::RefreshFamily, name.as_bytes());
        for owner in owners(
            family.user_id,
            Some(&family.client_id),
            family.session_id,
            None,
        ) {
            tx.delete(Table::GrantIndex, &index::family_ref(&owner, &name));
        }
        tx.delete_prefix(Table::GrantIndex, &index::family(&name))?;
        removed += 1;
    }
    Ok(removed)
}

/// SAML sign-on records of sessions that are gone (ended, revoked or purged).
fn purge_session_apps(tx: &mut OrgTx, room: u64) -> Result<u64> {
    let mut keys = Vec::new();
    let mut scanned = 0;
    tx.reader().scan_keys(Table::SamlSessionApp, &[], |key| {
        scanned += 1;
        keys.push(key.to_vec());
        scanned < SCAN_BUDGET
    })?;
    let mut removed = 0;
    for key in keys {
        if removed >= room {
            break;
        }
        let Some(session) = key.get(..8) else {
            continue;
        };
        if !tx.exists(Table::Session, session)? {
            tx.delete(Table::SamlSessionApp, &key);
            removed += 1;
        }
    }
    Ok(removed)
}

/// Deletes the expired rows of a table keyed by a hash or id, plus a companion index row.
fn purge_simple<T: DeserializeOwned>(
    tx: &mut OrgTx,
    table: Table,
    room: u64,
    expired: impl Fn(&T) -> bool,
    companion: impl Fn(&T) -> Option<(Table, Vec<u8>)>,
) -> Result<u64> {
    let doomed = expired_keys::<T>(tx, table, room, expired)?;
    for (key, row) in &doomed {
        tx.delete(table, key);
        if let Some((other, other_key)) = companion(row) {
            tx.delete(other, &other_key);
        }
    }
    Ok(doomed.len() as u64)
}

/// Removes what expired before `cutoff`, at most [`PURGE_BATCH`] rows.
pub(super) fn purge(tx: &mut OrgTx, cutoff: Timestamp) -> Result<Applied> {
    let mut removed = purge_access_tokens(tx, cutoff, PURGE_BATCH)?;
    let room = |removed: u64| PURGE_BATCH.saturating_sub(removed);
    removed += purge_refresh_tokens(tx, cutoff, room(removed))?;
    // Used codes and assertion ids are kept a day past expiry: a replay in that time still
    // revokes what the code issued, and leader clocks may differ.
    let replay_cutoff = cutoff.plus_millis(-REPLAY_GRACE_MS);
    removed += purge_simple::<AuthCode>(
        tx,
        Table::AuthCode,
        room(removed),
        |c| c.expires_at < replay_cutoff,
        |_| None,
    )?;
    removed += purge_simple::<AAuthCode>(
        tx,
        Table::AAuthCode,
        room(removed),
        |c| c.expires_at < replay_cutoff,
        |_| None,
    )?;
    removed += super::webhooks::expire_tunnels(tx, cutoff)?;
    removed += purge_simple::<SamlLogoutChain>(
        tx,
        Table::SamlLogoutChain,
        room(removed),
        |c| c.expires_at < cutoff,
        |_| None,
    )?;
    removed += purge_session_apps(tx, room(removed))?;
    let delivery_cutoff = cutoff.plus_millis(-DELIVERY_RETENTION_MS);
    removed += purge_simple::<WebhookDelivery>(
        tx,
        Table::WebhookDelivery,
        room(removed),
        |d| !d.status.is_open() && d.updated_at < delivery_cutoff,
        |_| None,
    )?;
    for table in [Table::AAuthNonce, Table::AAuthRevoked] {
        removed +=
            purge_simple::<AAuthSeen>(tx, table, room(removed), |s| s.until < cutoff, |_| None)?;
    }
    removed += purge_simple::<AAuthPending>(
        tx,
        Table::AAuthPending,
        room(removed),
        |p| p.expires_at < cutoff,
        |_| None,
    )?;
    removed += purge_simple::<AAuthRefresh>(
        tx,
        Table::AAuthRefresh,
        room(removed),
        |r| r.expires_at < cutoff,
        |_| None,
    )?;
    removed += purge_simple::<PushedRequest>(
        tx,
        Table::PushedRequest,
        room(removed),
        |p| p.expires_at < cutoff,
        |_| None,
    )?;
    removed += purge_simple::<DeviceGrant>(
        tx,
        Table::DeviceGrant,
        room(removed),
        |d| d.expires_at < cutoff,
        |d| Some((Table::DeviceUserCode, d.user_code.as_bytes().to_vec())),
    )?;
    removed += purge_simple::<CibaRequest>(
        tx,
        Table::CibaRequest,
        room(removed),
        |c| c.expires_at < cutoff,
        |c| Some((Table::CibaId, c.id.as_bytes().to_vec())),
    )?;
    removed += purge_sessions(tx, cutoff, room(removed))?;
    removed += purge_families(tx, cutoff, room(removed))?;
    removed += purge_simple::<Timestamp>(
        tx,
        Table::AssertionJti,
        room(removed),
        |expires_at| *expires_at < replay_cutoff,
        |_| None,
    )?;
    if removed == 0 {
        return Ok((Outcome::Compacted { removed: 0 }, Vec::new()));
    }
    let event = AuditEvent {
        event_type: "oauth",
        action: "oauth.expired_purged".into(),
        severity: "info",
        message: format!("removed {removed} expired tokens, codes and requests"),
        target_type: Some("oauth_token"),
        context: Some(serde_json::json!({"removed": removed, "cutoff": cutoff.to_rfc3339()})),
        ..AuditEvent::default()
    };
    Ok((Outcome::Compacted { removed }, vec![event]))
}
