//! Writes of B2B organizations: the organization, its roles, members and invitations.

use serde::{Deserialize, Serialize};

use super::UserKey;
use crate::clock::Timestamp;
use crate::ids::UserId;
use crate::model::MemberStatus;

/// Fields of a new organization, or a change (`None`: unchanged; for the nullable texts,
/// `Some(None)` clears). JSON payloads travel as text (bincode log).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubOrgFields {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub display_name: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub logo_url: Option<Option<String>>,
    pub is_active: Option<bool>,
    /// JSON object text, or `Some(None)` to clear.
    pub metadata: Option<Option<String>>,
}

/// Fields of a new organization role, or a change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubOrgRoleFields {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub is_default: Option<bool>,
}

/// A role named by integer id or slug.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubOrgRoleRef {
    Id(u64),
    Slug(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubOrgWrite {
    Create(SubOrgFields),
    /// `org` is an id or slug.
    Update {
        org: String,
        fields: SubOrgFields,
    },
    Delete {
        org: String,
    },
    CreateRole {
        org: String,
        fields: SubOrgRoleFields,
    },
    UpdateRole {
        org: String,
        role: u64,
        fields: SubOrgRoleFields,
    },
    DeleteRole {
        org: String,
        role: u64,
    },
    /// Adds a user (by id or email) with a role (the default role when `None`).
    AddMember {
        org: String,
        user: UserKey,
        role: Option<SubOrgRoleRef>,
    },
    UpdateMember {
        org: String,
        user: UserKey,
        role: Option<SubOrgRoleRef>,
        status: Option<MemberStatus>,
    },
    RemoveMember {
        org: String,
        user: UserKey,
    },
    /// Invites `email`; the email goes out from the outbox with a link signed over `nonce`.
    Invite {
        org: String,
        email: String,
        role: Option<SubOrgRoleRef>,
        nonce: String,
        expires_at: Timestamp,
        issuer: String,
    },
    /// Sends a pending invitation again with a new link (the old one stops working).
    Resend {
        org: String,
        invitation: u64,
        nonce: String,
        expires_at: Timestamp,
        issuer: String,
    },
    Revoke {
        org: String,
        invitation: u64,
    },
    /// The invitee opened the link (checked on a node with the master key) and accepted: the
    /// membership is made for the user with the invited email, created when missing (with the
    /// argon2 `password_hash` and `name` the page collected).
    Accept {
        org: String,
        invitation: u64,
        nonce: String,
        /// The id a created user gets.
        new_user: UserId,
        name: Option<String>,
        password_hash: Option<String>,
    },
    /// The hosted login's org-select step: login session `session_id` signs in to `client_id`
    /// as a member of organization `sub_org` (an id); the session's user must be an active member.
    Choose {
        session_id: u64,
        client_id: String,
        sub_org: String,
    },
}

impl SubOrgWrite {
    pub fn name(&self) -> &'static str {
        match self {
            SubOrgWrite::Create(_) => "create_organization",
            SubOrgWrite::Update { .. } => "update_organization",
            SubOrgWrite::Delete { .. } => "delete_organization",
            SubOrgWrite::CreateRole { .. } => "create_organization_role",
            SubOrgWrite::UpdateRole { .. } => "update_organization_role",
            SubOrgWrite::DeleteRole { .. } => "delete_organization_role",
            SubOrgWrite::AddMember { .. } => "add_organization_member",
            SubOrgWrite::UpdateMember { .. } => "update_organization_member",
            SubOrgWrite::RemoveMember { .. } => "remove_organization_member",
            SubOrgWrite::Invite { .. } => "invite_to_organization",
            SubOrgWrite::Resend { .. } => "resend_organization_invitation",
            SubOrgWrite::Revoke { .. } => "revoke_organization_invitation",
            SubOrgWrite::Accept { .. } => "accept_organization_invitation",
            SubOrgWrite::Choose { .. } => "choose_organization",
        }
    }
}
