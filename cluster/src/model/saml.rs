//! The SAML 2.0 identity provider: the service providers (apps) an org signs its users in to,
//! and the org's SAML signing certificate.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::ids::SamlAppId;

/// How long a signing certificate is valid (three years).
pub const SAML_CERT_DAYS: u32 = 3 * 365;

/// The NameID formats an app may ask for (the contract's names).
pub const NAME_ID_FORMATS: [&str; 4] = ["emailAddress", "persistent", "transient", "unspecified"];

/// What an attribute of the assertion may carry.
pub const ATTRIBUTE_SOURCES: [&str; 9] = [
    "email",
    "name",
    "given_name",
    "family_name",
    "username",
    "id",
    "phone_number",
    "groups",
    "roles",
];

/// The attributes released when an app names none.
pub const DEFAULT_ATTRIBUTES: [(&str, &str); 4] = [
    ("email", "email"),
    ("givenName", "given_name"),
    ("surname", "family_name"),
    ("displayName", "name"),
];

/// The SAML URI of a NameID format name.
pub fn name_id_format_uri(format: &str) -> &'static str {
    match format {
        "persistent" => "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
        "transient" => "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
        "unspecified" => "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
        _ => "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    }
}

/// The format name of a NameID format URI (`None`: not one we issue).
pub fn name_id_format_of(uri: &str) -> Option<&'static str> {
    NAME_ID_FORMATS
        .into_iter()
        .find(|name| name_id_format_uri(name) == uri)
}

/// A service provider users of the org sign in to (`~/admin/saml/apps`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlApp {
    pub id: SamlAppId,
    pub name: String,
    /// The SP's entity id (the `Issuer` of its requests, the assertion's audience).
    pub entity_id: String,
    /// Where responses may be posted; the first is the default.
    pub acs_urls: Vec<String>,
    /// Where logout responses go.
    pub slo_url: Option<String>,
    /// One of [`NAME_ID_FORMATS`].
    pub name_id_format: String,
    pub sign_response: bool,
    pub sign_assertion: bool,
    /// Requests must be signed with `sp_certificate`.
    pub want_authn_requests_signed: bool,
    /// The SP's signing certificate, base64 DER.
    pub sp_certificate: Option<String>,
    pub allow_idp_initiated: bool,
    pub default_relay_state: Option<String>,
    /// Attribute name -> one of [`ATTRIBUTE_SOURCES`], in release order.
    pub attribute_mapping: Vec<(String, String)>,
    pub enabled: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The SP's encryption certificate (base64 DER): when set, assertions are encrypted to it.
    #[serde(default)]
    pub encryption_certificate: Option<String>,
}

/// Counters of the org's SAML apps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlHead {
    pub last_app_id: u64,
    #[serde(default)]
    pub last_idp_id: u64,
}

/// The org's SAML signing key: an RSA-2048 key and its self-signed certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlIdpKey {
    /// The certificate, base64 DER.
    pub certificate: String,
    /// The private key (PKCS#1 DER), sealed under the master key.
    pub sealed_private: String,
    pub created_at: Timestamp,
    pub not_after: Timestamp,
}

/// How long a browser has to come back from an upstream SAML IdP.
pub const SAML_SP_LOGIN_TTL_MS: i64 = 10 * 60_000;

/// An upstream SAML identity provider users of the org sign in through (SP mode,
/// `~/admin/saml/idps`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlIdp {
    pub id: u64,
    pub name: String,
    pub entity_id: String,
    /// Its HTTP-Redirect single sign-on endpoint.
    pub sso_url: String,
    /// Its signing certificate, base64 DER.
    pub certificate: String,
    pub jit_provisioning: bool,
    /// An asserted address names the existing user with it.
    pub trust_email: bool,
    pub enabled: bool,
    /// Our field (`email`, `given_name`, `family_name`, `name`) -> its attribute name.
    pub attribute_mapping: Vec<(String, String)>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Its single logout endpoint (HTTP-Redirect), where our logout responses go.
    #[serde(default)]
    pub slo_url: Option<String>,
}

/// A login sent to an upstream IdP, waiting for its response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlSpLogin {
    /// `sps_<ulid>`: the RelayState (ULIDs: the oldest sweep first).
    pub id: String,
    /// The `AuthnRequest`'s ID, which the assertion must answer.
    pub request_id: String,
    /// Hash of the secret in the browser's cookie.
    pub browser_hash: String,
    pub idp_id: u64,
    /// The authorization request the login continues.
    pub carried: Vec<(String, String)>,
    pub expires_at: Timestamp,
}

impl SamlSpLogin {
    pub fn live(&self, now: Timestamp) -> bool {
        now.0 < self.expires_at.0
    }
}

/// An app a browser session signed in to, with the NameID it was given (single logout tells
/// the app which of its users to sign out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlSessionApp {
    pub name_id: String,
    /// One of [`NAME_ID_FORMATS`].
    pub name_id_format: String,
    pub at: Timestamp,
}

/// A single logout going round the other apps of a session: each gets a `LogoutRequest`
/// through the browser; the last answer sends the `LogoutResponse` to the app that asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlLogoutChain {
    /// `slc_<ulid>`: the RelayState of the requests we send.
    pub id: String,
    /// The session that ended.
    pub session: u64,
    /// The app whose request started it, its request's ID and RelayState.
    pub origin_app: SamlAppId,
    pub origin_request_id: Option<String>,
    pub origin_relay_state: Option<String>,
    /// Apps still to visit: (app, NameID, NameID format).
    pub remaining: Vec<(SamlAppId, String, String)>,
    /// The app asked now, and the ID of that request (its answer's `InResponseTo`).
    pub pending_app: Option<SamlAppId>,
    pub pending_request_id: Option<String>,
    pub expires_at: Timestamp,
}
