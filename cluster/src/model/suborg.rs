//! B2B organizations inside an org (the contract's `~/admin/organizations`): each has roles,
//! members (a user with a role and a status) and invitations sent by email.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::Timestamp;
use crate::ids::UserId;

/// One organization of the org's customers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubOrg {
    /// `org_` + a lowercase ULID.
    pub id: String,
    pub slug: String,
    pub name: String,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub logo_url: Option<String>,
    pub is_active: bool,
    pub metadata: Option<Value>,
    pub member_count: u64,
    pub created_at: Timestamp,
    pub updated_at: Option<Timestamp>,
}

/// A role inside one organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubOrgRole {
    /// Per-org integer id (the contract's `OrganizationRole.id`).
    pub id: u64,
    pub sub_org: String,
    pub slug: String,
    pub name: String,
    pub description: Option<String>,
    /// Given to members added or invited without a role.
    pub is_default: bool,
    /// Owners: an organization keeps at least one active owner.
    pub is_owner: bool,
    /// Made with the organization; cannot be deleted.
    pub is_system: bool,
}

/// Where a member stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    Active,
    Suspended,
}

impl MemberStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Active => "active",
            MemberStatus::Suspended => "suspended",
        }
    }

    pub fn parse(text: &str) -> Option<MemberStatus> {
        match text {
            "active" => Some(MemberStatus::Active),
            "suspended" => Some(MemberStatus::Suspended),
            _ => None,
        }
    }
}

/// A user's membership of one organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubOrgMember {
    /// Per-org integer id (the contract's `OrganizationMember.id`).
    pub id: u64,
    pub sub_org: String,
    pub user_id: UserId,
    pub role_id: u64,
    pub status: MemberStatus,
    pub joined_at: Timestamp,
}

/// Where an invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    Pending,
    Accepted,
    Revoked,
}

/// An invitation to join one organization, emailed with a signed single-use link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubOrgInvitation {
    /// Per-org integer id (the contract's `OrganizationInvitation.id`).
    pub id: u64,
    pub sub_org: String,
    pub email: String,
    pub role_id: u64,
    pub status: InvitationStatus,
    /// Who sent it (the admin credential's name).
    pub invited_by: Option<String>,
    /// The link's nonce; resending replaces it (the old link stops working).
    pub nonce: String,
    /// `{public url}/orgs/{org}/api/v1`: where the link points.
    pub issuer: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// When it was last sent (created or resent): the email composer sends the latest only.
    pub sent_at: Timestamp,
    pub accepted_by: Option<UserId>,
}

impl SubOrgInvitation {
    /// The contract's status, with `expired` for a pending one past its time.
    pub fn status_at(&self, now: Timestamp) -> &'static str {
        match self.status {
            InvitationStatus::Pending if self.expires_at <= now => "expired",
            InvitationStatus::Pending => "pending",
            InvitationStatus::Accepted => "accepted",
            InvitationStatus::Revoked => "revoked",
        }
    }
}

impl SubOrgInvitation {
    /// Why a link carrying `nonce` cannot accept this invitation at `now`, if it cannot.
    pub fn refusal(&self, nonce: &str, now: Timestamp) -> Option<&'static str> {
        match self.status_at(now) {
            "pending" if self.nonce == nonce => None,
            "pending" => Some("this link was replaced by a newer invitation email"),
            "expired" => Some("this invitation has expired; ask for a new one"),
            "accepted" => Some("this invitation was already accepted"),
            _ => Some("this invitation was revoked"),
        }
    }
}

/// Counters of the org's organizations' integer ids.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubOrgHead {
    pub last_role_id: u64,
    pub last_member_id: u64,
    pub last_invitation_id: u64,
}

/// Key of a row of organization `sub_org` (roles, members, invitations): the id, a zero byte,
/// then `rest`, so one organization's rows scan by prefix.
pub fn sub_org_key(sub_org: &str, rest: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(sub_org.len() + 1 + rest.len());
    key.extend_from_slice(sub_org.as_bytes());
    key.push(0);
    key.extend_from_slice(rest);
    key
}

/// Key of a user's membership index entry (user first: "which organizations is she in").
pub fn member_of_key(user: UserId, sub_org: &str) -> Vec<u8> {
    let mut key = user.to_bytes().to_vec();
    key.extend_from_slice(sub_org.as_bytes());
    key
}

/// A user's active membership of an active organization, with its role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub org: SubOrg,
    pub member: SubOrgMember,
    pub role: Option<SubOrgRole>,
}

impl Membership {
    /// The role slugs an `org_roles` claim carries.
    pub fn role_slugs(&self) -> Vec<String> {
        self.role.iter().map(|r| r.slug.clone()).collect()
    }
}

/// The organization a login session chose for one client (the hosted login's org-select step):
/// tokens minted for that client from that session carry it while the membership is active.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubOrgChoice {
    pub sub_org: String,
    pub chosen_at: Timestamp,
}

/// Key of a session's choice for a client: session id, then the client id.
pub fn choice_key(session: u64, client_id: &str) -> Vec<u8> {
    let mut key = session.to_be_bytes().to_vec();
    key.extend_from_slice(client_id.as_bytes());
    key
}
