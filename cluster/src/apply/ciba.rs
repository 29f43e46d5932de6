//! Client-initiated backchannel authentication: a pending request under its hash and id,
//! decided once by the user it names before it expires.

use serde_json::json;

use crate::command::CommandMeta;
use crate::error::{ClusterError, Result};
use crate::ids::UserId;
use crate::model::{ApprovalState, AuditEvent, CibaRequest};
use crate::protocol::ErrorCode;
use crate::query::Outcome;
use crate::tables::{OrgTx, Table};

use super::Applied;

pub(super) fn start_ciba(tx: &mut OrgTx, hash: &str, request: &CibaRequest) -> Result<Applied> {
    if tx.exists(Table::CibaId, request.id.as_bytes())? {
        return Err(ClusterError::conflict("auth_req_id", "request id in use"));
    }
    tx.put(Table::CibaRequest, hash.as_bytes(), request)?;
    tx.put(Table::CibaId, request.id.as_bytes(), &hash)?;
    let event = AuditEvent::new(
        "oauth",
        "oauth.ciba.requested",
        "backchannel authentication requested",
    )
    .target(
        "oauth_client",
        &request.client_id,
        request.client_id.clone(),
    )
    .new_value(json!({"userId": request.user_id.to_string(), "scopes": request.scopes}));
    Ok((Outcome::Done, vec![event]))
}

pub(super) fn decide_ciba(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    id: &str,
    approve: bool,
    user: UserId,
) -> Result<Applied> {
    let hash: String = tx
        .get(Table::CibaId, id.as_bytes())?
        .ok_or_else(|| ClusterError::not_found("authentication request", id))?;
    let mut request: CibaRequest = tx
        .get(Table::CibaRequest, hash.as_bytes())?
        .ok_or_else(|| ClusterError::not_found("authentication request", id))?;
    if request.user_id != user {
        return Err(ClusterError::not_found("authentication request", id));
    }
    if request.expires_at <= meta.at {
        return Err(ClusterError::oauth(
            ErrorCode::ExpiredToken,
            "the request expired",
        ));
    }
    if request.state != ApprovalState::Pending {
        return Err(ClusterError::conflict("auth_req_id", "already decided"));
    }
    request.state = ApprovalState::decided(approve, user, None, meta.at);
    tx.put(Table::CibaRequest, hash.as_bytes(), &request)?;
    let action = if approve {
        "oauth.ciba.approved"
    } else {
        "oauth.ciba.denied"
    };
    let event = AuditEvent::new("oauth", action, "backchannel authentication decided").target(
        "oauth_client",
        &request.client_id,
        request.client_id.clone(),
    );
    Ok((Outcome::Done, vec![event]))
}
