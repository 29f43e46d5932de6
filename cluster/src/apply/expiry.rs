//! Deleting protocol state nobody can use any more: access-token records (with their `jti` and
//! grant-index rows), refresh tokens, codes, pushed requests, device and CIBA requests, used
//! JWT bearer assertion ids whose
//! expiry is before the proposer's cutoff. Deterministic like every apply: what is removed
//! depends only on the state and the cutoff, in key order, bounded per command.

use serde::de::DeserializeOwned;

use crate::clock::Timestamp;
use crate::error::Result;
use crate::model::{
    AccessTokenRecord, AuditEvent, AuthCode, CibaRequest, DeviceGrant, PushedRequest,
    RefreshTokenRecord,
};
use crate::query::Outcome;
use crate::tables::{OrgTx, Table};

use super::Applied;
use super::grants::{index, owners};

/// Most rows one purge command deletes; the sweeper repeats while a command fills it.
pub const PURGE_BATCH: u64 = 2_000;
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
        let mut children = Vec::new();
        tx.reader()
            .scan_keys(Table::GrantIndex, &index::parent(token.id), |rest| {
                children.push(rest.to_vec());
                true
            })?;
        for child in children {
            let mut key = index::parent(token.id);
            key.extend_from_slice(&child);
            tx.delete(Table::GrantIndex, &key);
        }
    }
    Ok(doomed.len() as u64)
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
    removed += purge_simple::<RefreshTokenRecord>(
        tx,
        Table::RefreshToken,
        room(removed),
        |t| t.expires_at < cutoff,
        |_| None,
    )?;
    removed += purge_simple::<AuthCode>(
        tx,
        Table::AuthCode,
        room(removed),
        |c| c.expires_at < cutoff,
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
    removed += purge_simple::<Timestamp>(
        tx,
        Table::AssertionJti,
        room(removed),
        |expires_at| *expires_at < cutoff,
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
