//! Admin reads of OAuth clients, sessions, issued tokens and signing keys.

use crate::clock::Timestamp;
use crate::command::{ClientKey, UserKey};
use crate::error::Result;
use crate::lookup;
use crate::model::{AccessTokenRecord, LoginSession, OAuthClient, SigningKeyRecord};
use crate::query::{ListParams, Reply, SessionStats};
use crate::tables::{OrgReader, Table};

use super::page::{bool_filter, matches, paginate, sort_field};

pub(super) fn get_client(reader: &OrgReader, key: &ClientKey) -> Result<Reply> {
    Ok(Reply::Client(lookup::client(reader, key)?))
}

pub(super) fn list_clients(reader: &OrgReader, params: &ListParams) -> Result<Reply> {
    let sort = sort_field(&params.sort_by, &["createdAt", "name"], "createdAt")?;
    let active = bool_filter(&params.filters, "isActive")?;
    let mut clients = Vec::new();
    reader.scan::<OAuthClient>(Table::OAuthClient, &[], false, |_, client| {
        let keep = matches(
            &params.search,
            &[Some(&client.name), Some(&client.client_id)],
        ) && active.is_none_or(|a| client.is_active == a);
        if keep {
            clients.push(client);
        }
        true
    })?;
    if sort == "name" {
        clients.sort_by_key(|c| c.name.to_lowercase());
    }
    if params.sort_desc == Some(true) {
        clients.reverse();
    }
    Ok(Reply::Clients(paginate(clients, params.page)))
}

/// Every session that is still active at `now`, oldest first.
fn active_sessions(reader: &OrgReader, now: Timestamp) -> Result<Vec<LoginSession>> {
    let mut sessions = Vec::new();
    reader.scan::<LoginSession>(Table::Session, &[], false, |_, s| {
        if s.is_active(now) {
            sessions.push(s);
        }
        true
    })?;
    Ok(sessions)
}

pub(super) fn list_sessions(
    reader: &OrgReader,
    params: &ListParams,
    user: &Option<UserKey>,
    now: Timestamp,
) -> Result<Reply> {
    let user_id = match user {
        Some(key) => Some(lookup::user(reader, key)?.id),
        None => None,
    };
    let mut sessions: Vec<LoginSession> = active_sessions(reader, now)?
        .into_iter()
        .filter(|s| user_id.is_none_or(|u| s.user_id == u))
        .filter(|s| matches(&params.search, &[Some(&s.user_email), s.ip.as_deref()]))
        .collect();
    if params.sort_desc != Some(false) {
        sessions.reverse();
    }
    Ok(Reply::Sessions(paginate(sessions, params.page)))
}

pub(super) fn user_sessions(reader: &OrgReader, user: &UserKey, now: Timestamp) -> Result<Reply> {
    let user = lookup::user(reader, user)?;
    let mut sessions: Vec<LoginSession> = active_sessions(reader, now)?
        .into_iter()
        .filter(|s| s.user_id == user.id)
        .collect();
    sessions.reverse();
    let total = sessions.len() as u64;
    Ok(Reply::Sessions(crate::query::Page {
        items: sessions,
        total,
        page: 1,
        limit: total.max(1),
    }))
}

pub(super) fn session_stats(reader: &OrgReader, now: Timestamp) -> Result<Reply> {
    let mut stats = SessionStats::default();
    reader.scan::<LoginSession>(Table::Session, &[], false, |_, s| {
        stats.total += 1;
        if s.is_active(now) {
            stats.active += 1;
        } else {
            stats.inactive += 1;
        }
        true
    })?;
    Ok(Reply::SessionStats(stats))
}

pub(super) fn list_tokens(
    reader: &OrgReader,
    params: &ListParams,
    now: Timestamp,
) -> Result<Reply> {
    let revoked = bool_filter(&params.filters, "revoked")?;
    let client = params.filters.get("clientId").cloned();
    let user = match params.filters.get("userId") {
        Some(text) => {
            let key: UserKey =
                text.parse()
                    .map_err(|_| crate::error::ClusterError::InvalidQuery {
                        message: "userId must be a user UUID or email".into(),
                    })?;
            Some(lookup::user(reader, &key)?.id)
        }
        None => None,
    };
    let mut tokens = Vec::new();
    reader.scan::<AccessTokenRecord>(Table::AccessToken, &[], false, |_, t| {
        let keep = revoked.is_none_or(|r| t.revoked_at.is_some() == r)
            && client
                .as_deref()
                .is_none_or(|c| t.client_id.as_deref() == Some(c))
            && user.is_none_or(|u| t.user_id == Some(u));
        if keep {
            tokens.push(t);
        }
        true
    })?;
    let _ = now;
    if params.sort_desc != Some(false) {
        tokens.reverse();
    }
    Ok(Reply::Tokens(paginate(tokens, params.page)))
}

pub(super) fn signing_keys(reader: &OrgReader, now: Timestamp) -> Result<Reply> {
    let mut keys = Vec::new();
    reader.scan::<SigningKeyRecord>(Table::SigningKey, &[], false, |_, k| {
        if k.published(now) {
            keys.push(k);
        }
        true
    })?;
    Ok(Reply::SigningKeys(keys))
}
