use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::ids::UserId;

/// The kind of a federated identity binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum IdentityKind {
    Saml,
    Ldap,
    Social,
}

impl IdentityKind {
    /// Wire name (`saml`, `ldap`, `social`).
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKind::Saml => "saml",
            IdentityKind::Ldap => "ldap",
            IdentityKind::Social => "social",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<IdentityKind> {
        match text {
            "saml" => Some(IdentityKind::Saml),
            "ldap" => Some(IdentityKind::Ldap),
            "social" => Some(IdentityKind::Social),
            _ => None,
        }
    }

    /// Tag byte used in storage keys.
    pub fn tag(self) -> u8 {
        match self {
            IdentityKind::Saml => 1,
            IdentityKind::Ldap => 2,
            IdentityKind::Social => 3,
        }
    }
}

/// One federated identity bound to a user (at most one per kind).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityLink {
    pub user_id: UserId,
    pub kind: IdentityKind,
    /// SAML: the IdP id (absent for legacy bare-NameID bindings).
    #[serde(default)]
    pub idp_id: Option<u64>,
    #[serde(default)]
    pub name_id: Option<String>,
    #[serde(default)]
    pub ldap_config_id: Option<u64>,
    #[serde(default)]
    pub dn: Option<String>,
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub ldap_only: bool,
    pub created_at: Timestamp,
}

impl IdentityLink {
    /// The key that must be unique across users of the org for this binding.
    pub fn uniqueness_key(&self) -> String {
        match self.kind {
            IdentityKind::Saml => format!(
                "saml:{}:{}",
                self.idp_id.map(|i| i.to_string()).unwrap_or_default(),
                self.name_id.as_deref().unwrap_or_default()
            ),
            IdentityKind::Ldap => format!(
                "ldap:{}:{}",
                self.ldap_config_id
                    .map(|i| i.to_string())
                    .unwrap_or_default(),
                self.dn.as_deref().unwrap_or_default().to_lowercase()
            ),
            // A provider's id (never reused) when the link came through a social login; the
            // provider's name for links an administrator made.
            IdentityKind::Social => match self.idp_id {
                Some(provider) => format!(
                    "social:#{provider}:{}",
                    self.name_id.as_deref().unwrap_or_default()
                ),
                None => format!(
                    "social:{}:{}",
                    self.provider.as_deref().unwrap_or_default(),
                    self.name_id.as_deref().unwrap_or_default()
                ),
            },
        }
    }
}
