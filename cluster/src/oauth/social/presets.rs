//! The provider types an org can add: where each upstream's endpoints are and what it is
//! asked for by default. `oidc` and `oauth2` are the generic ones; their endpoints come from
//! the provider's fields (or, for `oidc`, from the issuer's discovery document).

/// How the upstream tells who signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// An ID token signed by the issuer (its key set verifies it).
    Oidc,
    /// A userinfo call with the access token (no ID token).
    OAuth2,
}

/// One provider type.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    pub kind: &'static str,
    pub name: &'static str,
    pub dialect: Dialect,
    /// `{tenant}` is replaced by `providerConfig.tenant` (Microsoft).
    pub issuer: Option<&'static str>,
    pub authorization_url: Option<&'static str>,
    pub token_url: Option<&'static str>,
    pub user_info_url: Option<&'static str>,
    pub jwks_url: Option<&'static str>,
    pub default_scopes: &'static [&'static str],
    pub required_fields: &'static [&'static str],
    pub optional_fields: &'static [&'static str],
    pub brand_color: &'static str,
}

const COMMON_OPTIONAL: &[&str] = &[
    "displayName",
    "enabled",
    "brandColor",
    "iconUrl",
    "jitProvisioningEnabled",
    "requestedScopes",
    "claimMapping",
    "defaultRoles",
];

pub const PRESETS: &[Preset] = &[
    Preset {
        kind: "google",
        name: "Google",
        dialect: Dialect::Oidc,
        issuer: Some("https://accounts.google.com"),
        authorization_url: Some("https://accounts.google.com/o/oauth2/v2/auth"),
        token_url: Some("https://oauth2.googleapis.com/token"),
        user_info_url: Some("https://openidconnect.googleapis.com/v1/userinfo"),
        jwks_url: Some("https://www.googleapis.com/oauth2/v3/certs"),
        default_scopes: &["openid", "email", "profile"],
        required_fields: &["clientId", "clientSecret"],
        optional_fields: COMMON_OPTIONAL,
        brand_color: "#4285F4",
    },
    Preset {
        kind: "microsoft",
        name: "Microsoft",
        dialect: Dialect::Oidc,
        issuer: Some("https://login.microsoftonline.com/{tenant}/v2.0"),
        authorization_url: Some("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize"),
        token_url: Some("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"),
        user_info_url: Some("https://graph.microsoft.com/oidc/userinfo"),
        jwks_url: Some("https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys"),
        default_scopes: &["openid", "email", "profile"],
        required_fields: &["clientId", "clientSecret"],
        optional_fields: &[
            "providerConfig.tenant",
            "displayName",
            "enabled",
            "jitProvisioningEnabled",
            "requestedScopes",
            "claimMapping",
            "defaultRoles",
        ],
        brand_color: "#2F2F2F",
    },
    Preset {
        kind: "github",
        name: "GitHub",
        dialect: Dialect::OAuth2,
        issuer: None,
        authorization_url: Some("https://github.com/login/oauth/authorize"),
        token_url: Some("https://github.com/login/oauth/access_token"),
        user_info_url: Some("https://api.github.com/user"),
        jwks_url: None,
        default_scopes: &["read:user", "user:email"],
        required_fields: &["clientId", "clientSecret"],
        optional_fields: COMMON_OPTIONAL,
        brand_color: "#24292F",
    },
    Preset {
        kind: "apple",
        name: "Apple",
        dialect: Dialect::Oidc,
        issuer: Some("https://appleid.apple.com"),
        authorization_url: Some("https://appleid.apple.com/auth/authorize"),
        token_url: Some("https://appleid.apple.com/auth/token"),
        user_info_url: None,
        jwks_url: Some("https://appleid.apple.com/auth/keys"),
        default_scopes: &["openid", "email", "name"],
        required_fields: &["clientId", "clientSecret"],
        optional_fields: COMMON_OPTIONAL,
        brand_color: "#000000",
    },
    Preset {
        kind: "oidc",
        name: "OpenID Connect",
        dialect: Dialect::Oidc,
        issuer: None,
        authorization_url: None,
        token_url: None,
        user_info_url: None,
        jwks_url: None,
        default_scopes: &["openid", "email", "profile"],
        required_fields: &["provider", "clientId", "issuer"],
        optional_fields: &[
            "clientSecret",
            "authorizationUrl",
            "tokenUrl",
            "userInfoUrl",
            "jwksUrl",
            "displayName",
            "enabled",
            "jitProvisioningEnabled",
            "requestedScopes",
            "claimMapping",
            "defaultRoles",
        ],
        brand_color: "#5A5A5A",
    },
    Preset {
        kind: "oauth2",
        name: "OAuth 2.0",
        dialect: Dialect::OAuth2,
        issuer: None,
        authorization_url: None,
        token_url: None,
        user_info_url: None,
        jwks_url: None,
        default_scopes: &[],
        required_fields: &[
            "provider",
            "clientId",
            "authorizationUrl",
            "tokenUrl",
            "userInfoUrl",
        ],
        optional_fields: &[
            "clientSecret",
            "displayName",
            "enabled",
            "jitProvisioningEnabled",
            "requestedScopes",
            "claimMapping",
            "defaultRoles",
        ],
        brand_color: "#5A5A5A",
    },
];

/// The preset of a provider type.
pub fn preset(kind: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.kind == kind)
}
