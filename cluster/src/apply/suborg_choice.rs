//! The hosted login's org-select step in `apply`: a login session signs in to a client as a
//! member of one organization. Tokens minted from that session for that client carry it.

use serde_json::json;

use crate::command::CommandMeta;
use crate::error::{ClusterError, Result};
use crate::model::{AuditEvent, LoginSession, SubOrgChoice, choice_key};
use crate::protocol::ErrorCode;
use crate::query::Outcome;
use crate::tables::{OrgTx, Table};

use super::Applied;

pub(super) fn choose(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    session_id: u64,
    client_id: &str,
    sub_org: &str,
) -> Result<Applied> {
    let session = tx
        .get::<LoginSession>(Table::Session, &session_id.to_be_bytes())?
        .ok_or_else(|| ClusterError::oauth(ErrorCode::LoginRequired, "the session has ended"))?;
    let Some(membership) = crate::lookup::membership(tx, session.user_id, sub_org)? else {
        return Err(ClusterError::oauth(
            ErrorCode::AccessDenied,
            format!("the user is not an active member of organization {sub_org}"),
        ));
    };
    let choice = SubOrgChoice {
        sub_org: membership.org.id.clone(),
        chosen_at: meta.at,
    };
    tx.put(
        Table::SubOrgChoice,
        &choice_key(session_id, client_id),
        &choice,
    )?;
    let event = AuditEvent::new(
        "organization",
        "organization.selected",
        format!(
            "{} signed in to {client_id} as a member of organization {}",
            session.user_email, membership.org.slug
        ),
    )
    .target(
        "organization",
        &membership.org.id,
        membership.org.name.clone(),
    )
    .new_value(json!({"userId": session.user_id.to_string(), "clientId": client_id}));
    Ok((Outcome::Done, vec![event]))
}

/// Forgets what an ended session chose.
pub(super) fn forget_session(tx: &mut OrgTx, session_id: u64) -> Result<()> {
    tx.delete_prefix(Table::SubOrgChoice, &session_id.to_be_bytes())
}
