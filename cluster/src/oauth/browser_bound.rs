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

/// Proposes the write that ends an upstream login (its apply answers `Created(user id)`), then
/// goes on as after a password: a second factor if the policy asks, or a session. `method`
/// (`social:corp`, `saml:3`) is how the user came.
pub(super) async fn finish_upstream_login(
    ctx: &ProtocolCtx,
    finish: crate::command::Op,
    carried: &[(String, String)],
    device: Option<&str>,
    method: String,
) -> Result<crate::protocol::LoginOutcome> {
    let user = match ctx
        .propose(crate::model::PrincipalKind::Anonymous, finish)
        .await?
    {
        crate::query::Outcome::Created(id) => id
            .parse::<crate::ids::UserId>()
            .map_err(|_| ClusterError::internal("a user id is not a UUID"))?,
        other => {
            return Err(ClusterError::internal(format!(
                "an upstream login answered {other:?}"
            )));
        }
    };
    let client_id = carried
        .iter()
        .find(|(k, _)| k == "client_id")
        .map(|(_, v)| v.clone());
    super::mfa::begin_sign_in(ctx, user, client_id, device, Some(method)).await
}
