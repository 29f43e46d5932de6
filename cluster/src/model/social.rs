//! Social and upstream OpenID Connect login: the providers an org signs its users in with,
//! and the logins waiting for the upstream's answer.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::Timestamp;
use crate::ids::{RoleId, SocialProviderId};

/// How long a browser has to come back from the upstream provider.
pub const SOCIAL_LOGIN_TTL_MS: i64 = 10 * 60_000;

/// True for a provider slug: 1-50 lowercase letters, digits, `-` or `_`, not only digits (a
/// path segment of digits is a provider's integer id).
pub fn is_provider_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 50
        && slug.bytes().any(|b| !b.is_ascii_digit())
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// A provider users of the org may sign in with (`~/oauth/social/{provider}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocialProvider {
    /// Per-org integer id (the contract's `SocialLoginProvider.id`).
    pub id: SocialProviderId,
    /// The slug in the login URLs, unique in the org (`google`, `corp-okta`).
    pub provider: String,
    /// The preset it follows (`google`, `microsoft`, `github`, `apple`, `oidc`, `oauth2`).
    pub kind: String,
    pub display_name: String,
    pub enabled: bool,
    pub brand_color: Option<String>,
    pub icon_url: Option<String>,
    /// Users the upstream names who have no account here get one.
    pub jit_provisioning_enabled: bool,
    pub client_id: String,
    /// The client secret, sealed under the master key (context: the provider id).
    pub sealed_client_secret: Option<String>,
    pub requested_scopes: Vec<String>,
    /// OIDC: the upstream issuer (endpoints are discovered from it unless given).
    pub issuer: Option<String>,
    pub authorization_url: Option<String>,
    pub token_url: Option<String>,
    pub user_info_url: Option<String>,
    pub jwks_url: Option<String>,
    /// Our profile field -> the upstream's claim (`{"email": "mail"}`).
    pub claim_mapping: Option<Value>,
    pub custom_claims: Option<Value>,
    pub provider_config: Option<Value>,
    /// Roles a user provisioned through this provider starts with.
    pub default_roles: Vec<RoleId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// Counters of the org's social providers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocialHead {
    pub last_provider_id: u64,
}

/// A login sent to the upstream provider, waiting for the browser to come back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SocialLoginState {
    /// `sls_<ulid>`: the `state` sent upstream (ULIDs: the oldest sweep first).
    pub id: String,
    /// Hash of the secret in the browser's cookie: only the browser that started the login
    /// may finish it.
    pub browser_hash: String,
    pub provider_id: SocialProviderId,
    /// The OIDC `nonce` the ID token must carry.
    pub nonce: String,
    /// The PKCE verifier, sealed under the master key.
    pub sealed_verifier: String,
    pub redirect_uri: String,
    /// The authorization request the login continues (query parameters).
    pub carried: Vec<(String, String)>,
    pub expires_at: Timestamp,
}

impl SocialLoginState {
    pub fn live(&self, now: Timestamp) -> bool {
        self.expires_at > now
    }
}

/// Who the upstream says signed in, in our profile's terms.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamIdentity {
    /// The upstream's stable subject (`sub`, or GitHub's numeric id).
    pub subject: String,
    pub email: Option<String>,
    /// The upstream vouches for the address (only then may it link to an existing user).
    pub email_verified: bool,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub picture: Option<String>,
}
