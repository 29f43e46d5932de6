//! Logins that leave for an upstream (social, SAML) and must come back to the browser that
//! started them: the browser holds `<state id>.<secret>`, the leader the secret's hash.

use serde::de::DeserializeOwned;

use crate::crypto::secret_matches;
use crate::error::{ClusterError, Result};
use crate::tables::Table;

use super::runtime::ProtocolCtx;

/// A pending login as this check needs it.
pub(super) trait PendingLogin: DeserializeOwned {
    fn live_at(&self, now: crate::clock::Timestamp) -> bool;
    fn browser_hash(&self) -> &str;
}

impl PendingLogin for crate::model::SocialLoginState {
    fn live_at(&self, now: crate::clock::Timestamp) -> bool {
        self.live(now)
    }
    fn browser_hash(&self) -> &str {
        &self.browser_hash
    }
}

impl PendingLogin for crate::model::SamlSpLogin {
    fn live_at(&self, now: crate::clock::Timestamp) -> bool {
        self.live(now)
    }
    fn browser_hash(&self) -> &str {
        &self.browser_hash
    }
}

/// The live login `state` names in `table`, when `cookie` proves this browser started it;
/// `expired` otherwise.
pub(super) fn started_login<T: PendingLogin>(
    ctx: &ProtocolCtx,
    table: Table,
    state: &str,
    cookie: &str,
    expired: fn() -> ClusterError,
) -> Result<T> {
    let (id, secret) = cookie.split_once('.').ok_or_else(expired)?;
    if id != state || id.len() > 64 {
        return Err(expired());
    }
    let login: T = ctx
        .reader()
        .get(table, id.as_bytes())?
        .ok_or_else(expired)?;
    if !login.live_at(ctx.now) || !secret_matches(secret, login.browser_hash()) {
        return Err(expired());
    }
    Ok(login)
}
