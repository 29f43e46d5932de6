//! The organization a sign-in is for (the hosted login's org-select step): named by the
//! authorization request's `organization` parameter (an id or slug), else the user's only
//! organization, else asked on the org-select page when she is a member of several.

use crate::error::Result;
use crate::ids::UserId;
use crate::model::{Membership, SubOrgChoice, choice_key};
use crate::protocol::OrgOption;
use crate::tables::{OrgReader, Table};

/// What the authorization request does about organizations.
pub(super) enum OrgStep {
    /// The user is in no organization.
    Nothing,
    /// Sign in as a member of this organization (an id).
    Chosen(String),
    /// Ask the user.
    Ask(Vec<OrgOption>),
    /// The named organization is not one the user is an active member of.
    Refuse(String),
}

pub(super) fn org_step(reader: &OrgReader, asked: Option<&str>, user: UserId) -> Result<OrgStep> {
    let memberships = crate::lookup::memberships(reader, user)?;
    if let Some(asked) = asked.map(str::trim).filter(|a| !a.is_empty()) {
        let found = memberships
            .iter()
            .find(|m| m.org.id == asked || m.org.slug.eq_ignore_ascii_case(asked));
        return Ok(match found {
            Some(m) => OrgStep::Chosen(m.org.id.clone()),
            None => OrgStep::Refuse(format!(
                "the user is not an active member of organization {asked}"
            )),
        });
    }
    Ok(match memberships.as_slice() {
        [] => OrgStep::Nothing,
        [only] => OrgStep::Chosen(only.org.id.clone()),
        several => OrgStep::Ask(several.iter().map(option).collect()),
    })
}

fn option(m: &Membership) -> OrgOption {
    OrgOption {
        id: m.org.id.clone(),
        slug: m.org.slug.clone(),
        name: m
            .org
            .display_name
            .clone()
            .unwrap_or_else(|| m.org.name.clone()),
        role: m.role.as_ref().map(|r| r.name.clone()),
    }
}

/// Whether the session already chose `sub_org` for the client (so nothing is written again).
pub(super) fn already_chosen(
    reader: &OrgReader,
    session: u64,
    client_id: &str,
    sub_org: &str,
) -> Result<bool> {
    Ok(reader
        .get::<SubOrgChoice>(Table::SubOrgChoice, &choice_key(session, client_id))?
        .is_some_and(|c| c.sub_org == sub_org))
}

/// The organization tokens minted from `session` for `client_id` carry: the session's choice,
/// while the user is still an active member of it.
pub(crate) fn chosen_membership(
    reader: &OrgReader,
    user: UserId,
    session: u64,
    client_id: &str,
) -> Result<Option<Membership>> {
    let Some(choice) =
        reader.get::<SubOrgChoice>(Table::SubOrgChoice, &choice_key(session, client_id))?
    else {
        return Ok(None);
    };
    crate::lookup::membership(reader, user, &choice.sub_org)
}
