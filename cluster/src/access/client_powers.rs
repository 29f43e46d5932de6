//! OAuth clients as strong as an admin key: a client holding admin scopes, or a grant that acts
//! for any user without them, can mint what an admin key can. Giving a client such powers, or
//! changing one that holds them, therefore needs what minting an admin key needs: the full
//! `admin` scope.

use crate::command::{ClientKey, Op};
use crate::error::Result;
use crate::lookup;
use crate::model::AdminScope;
use crate::protocol::GrantType;
use crate::tables::OrgReader;

/// Whether `scopes` or `grant_types` carry admin powers.
pub fn powerful(scopes: Option<&[String]>, grant_types: Option<&[String]>) -> bool {
    let admin_scope = scopes.is_some_and(|s| s.iter().any(|x| AdminScope::is_known(x)));
    let trusted = grant_types.is_some_and(|g| {
        g.iter().any(|x| {
            x.parse::<GrantType>()
                .is_ok_and(GrantType::acts_for_any_user)
        })
    });
    admin_scope || trusted
}

/// Whether `op` gives a client admin powers or changes a client that holds them.
pub fn needs_full_admin(reader: &OrgReader, op: &Op) -> Result<bool> {
    let (client, grants_powers) = match op {
        Op::CreateClient(new) => {
            return Ok(powerful(Some(&new.scopes), Some(&new.grant_types)));
        }
        Op::UpdateClient { client, patch } => (
            client,
            powerful(patch.scopes.as_deref(), patch.grant_types.as_deref()),
        ),
        Op::RotateClientSecret { client, .. } => (client, false),
        _ => return Ok(false),
    };
    Ok(grants_powers || holds_powers(reader, client)?)
}

/// Whether the existing client holds admin powers (an unknown client holds none; the write
/// itself reports it missing).
fn holds_powers(reader: &OrgReader, key: &ClientKey) -> Result<bool> {
    match lookup::client(reader, key) {
        Ok(existing) => Ok(powerful(
            Some(&existing.scopes),
            Some(&existing.grant_types),
        )),
        Err(crate::error::ClusterError::NotFound { .. }) => Ok(false),
        Err(other) => Err(other),
    }
}
