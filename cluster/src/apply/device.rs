//! Device authorization (RFC 8628): a pending grant under its device-code hash and user code,
//! decided once by the signed-in user before it expires.

use serde_json::json;

use crate::command::CommandMeta;
use crate::error::{ClusterError, Result};
use crate::ids::UserId;
use crate::model::{ApprovalState, AuditEvent, DeviceGrant};
use crate::protocol::ErrorCode;
use crate::query::Outcome;
use crate::tables::{OrgTx, Table};

use super::Applied;

pub(super) fn start_device_grant(
    tx: &mut OrgTx,
    hash: &str,
    grant: &DeviceGrant,
) -> Result<Applied> {
    if tx.exists(Table::DeviceUserCode, grant.user_code.as_bytes())? {
        return Err(ClusterError::conflict("user_code", "user code in use"));
    }
    tx.put(Table::DeviceGrant, hash.as_bytes(), grant)?;
    tx.put(Table::DeviceUserCode, grant.user_code.as_bytes(), &hash)?;
    Ok((Outcome::Done, Vec::new()))
}

pub(super) fn decide_device_grant(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    user_code: &str,
    approve: bool,
    user: UserId,
    session: Option<u64>,
) -> Result<Applied> {
    let hash: String = tx
        .get(Table::DeviceUserCode, user_code.as_bytes())?
        .ok_or_else(|| ClusterError::not_found("device code", user_code))?;
    let mut grant: DeviceGrant = tx
        .get(Table::DeviceGrant, hash.as_bytes())?
        .ok_or_else(|| ClusterError::not_found("device code", user_code))?;
    if grant.expires_at <= meta.at {
        return Err(ClusterError::oauth(
            ErrorCode::ExpiredToken,
            "the code expired",
        ));
    }
    if grant.state != ApprovalState::Pending {
        return Err(ClusterError::conflict(
            "user_code",
            "this code was already used",
        ));
    }
    grant.state = ApprovalState::decided(approve, user, session, meta.at);
    tx.put(Table::DeviceGrant, hash.as_bytes(), &grant)?;
    let action = if approve {
        "oauth.device.approved"
    } else {
        "oauth.device.denied"
    };
    let event = AuditEvent::new("oauth", action, format!("device code {user_code} decided"))
        .target("oauth_client", &grant.client_id, grant.client_id.clone())
        .new_value(json!({"userId": user.to_string(), "approved": approve}));
    Ok((Outcome::Done, vec![event]))
}
