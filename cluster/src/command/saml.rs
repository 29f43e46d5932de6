//! The writes of the SAML identity provider: apps (service providers) and the org's signing
//! key.

use serde::{Deserialize, Serialize};

use crate::ids::{SamlAppId, UserId};
use crate::model::{SamlIdpKey, SamlSpLogin, UpstreamIdentity};

/// The fields an admin sets on an app; `None` leaves a field as it is. A create sends every
/// field it knows (the api fills the defaults).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlAppFields {
    pub name: Option<String>,
    pub entity_id: Option<String>,
    pub acs_urls: Option<Vec<String>>,
    pub slo_url: Option<Option<String>>,
    pub name_id_format: Option<String>,
    pub sign_response: Option<bool>,
    pub sign_assertion: Option<bool>,
    pub want_authn_requests_signed: Option<bool>,
    pub sp_certificate: Option<Option<String>>,
    pub allow_idp_initiated: Option<bool>,
    pub default_relay_state: Option<Option<String>>,
    pub attribute_mapping: Option<Vec<(String, String)>>,
    pub enabled: Option<bool>,
}

/// App fields added after [`SamlAppFields`] (kept apart so older log entries still read).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlAppMore {
    /// The SP's encryption certificate (base64 DER): assertions to it are encrypted.
    /// `Some(None)` turns encryption off.
    pub encryption_certificate: Option<Option<String>>,
}

/// The fields an admin sets on an upstream IdP; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlIdpFields {
    pub name: Option<String>,
    pub entity_id: Option<String>,
    pub sso_url: Option<String>,
    /// Base64 DER.
    pub certificate: Option<String>,
    pub jit_provisioning: Option<bool>,
    pub trust_email: Option<bool>,
    pub enabled: Option<bool>,
    pub attribute_mapping: Option<Vec<(String, String)>>,
}

/// Upstream IdP fields added after [`SamlIdpFields`] (kept apart so older log entries still
/// read).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlIdpMore {
    /// Its single logout URL; `Some(None)` removes it.
    pub slo_url: Option<Option<String>>,
}

/// A login through an upstream IdP ends: its state is spent, the assertion id is recorded
/// (a replay is refused), and the asserted identity names (or links, or provisions) the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlSpSignIn {
    pub state_id: String,
    pub idp_id: u64,
    pub assertion_id: String,
    /// Until when the assertion id is remembered.
    pub assertion_expires: crate::clock::Timestamp,
    pub identity: UpstreamIdentity,
    pub new_user_id: UserId,
}

/// One SAML write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SamlWrite {
    CreateApp(Box<SamlAppFields>),
    UpdateApp {
        id: SamlAppId,
        fields: Box<SamlAppFields>,
    },
    DeleteApp(SamlAppId),
    /// The org's first signing key (ignored when one exists: two leaders' first requests
    /// race, the first commit wins).
    SetIdpKey(SamlIdpKey),
    /// A user signed in to an app (the audit trail's record of it).
    SignedOn {
        app: SamlAppId,
        user: crate::ids::UserId,
        initiated_by_idp: bool,
    },
    CreateIdp(Box<SamlIdpFields>),
    UpdateIdp {
        id: u64,
        fields: Box<SamlIdpFields>,
    },
    DeleteIdp(u64),
    /// Binds users linked by a bare NameID to an upstream IdP (all or nothing).
    RelinkLegacy {
        idp_id: u64,
        users: Vec<UserId>,
    },
    /// A login leaves for an upstream IdP.
    BeginSpLogin(SamlSpLogin),
    /// ... and comes back: answers the user it names.
    FinishSpLogin(Box<SamlSpSignIn>),
    /// [`SamlWrite::CreateApp`] with the later fields.
    CreateAppWithMore(Box<SamlAppFields>, Box<SamlAppMore>),
    /// [`SamlWrite::UpdateApp`] with the later fields.
    UpdateAppWithMore {
        id: SamlAppId,
        fields: Box<SamlAppFields>,
        more: Box<SamlAppMore>,
    },
    /// [`SamlWrite::CreateIdp`] with the later fields.
    CreateIdpWithMore(Box<SamlIdpFields>, Box<SamlIdpMore>),
    /// [`SamlWrite::UpdateIdp`] with the later fields.
    UpdateIdpWithMore {
        id: u64,
        fields: Box<SamlIdpFields>,
        more: Box<SamlIdpMore>,
    },
    /// [`SamlWrite::SignedOn`] within a session, remembering the NameID the app was given
    /// (single logout reaches the session's other apps with it).
    SignedOnInSession {
        app: SamlAppId,
        user: crate::ids::UserId,
        initiated_by_idp: bool,
        session: u64,
        name_id: String,
        name_id_format: String,
    },
    /// A single logout starts going round the session's other apps (their sign-on records go)
    /// or moves on to the next one.
    PutLogoutChain(Box<crate::model::SamlLogoutChain>),
    /// ... and ends.
    EndLogoutChain(String),
}
