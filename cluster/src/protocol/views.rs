//! What hosted pages are built from: the org's branding, the authorization endpoint's outcome,
//! sign-in candidates and sessions, pending CIBA requests.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::error::ErrorCode;
use crate::ids::UserId;

/// What the hosted pages show of the org's branding settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Branding {
    pub org_name: String,
    pub logo_url: Option<String>,
    pub primary_color: String,
    pub background_color: String,
    pub button_text: String,
    pub welcome_title: Option<String>,
    pub welcome_subtitle: Option<String>,
    pub footer_text: Option<String>,
    pub terms_url: Option<String>,
    pub privacy_url: Option<String>,
    /// The login page offers passwordless passkey sign-in (`mfa_policy.passwordless_passkey`).
    #[serde(default)]
    pub passkey_sign_in: bool,
    /// The login page offers sign-in links by email (`magic_link_enabled`), or only them.
    #[serde(default)]
    pub magic_link: bool,
    #[serde(default)]
    pub magic_link_only: bool,
    /// The enabled social providers the login page offers: (slug, display name).
    #[serde(default)]
    pub social_providers: Vec<(String, String)>,
    /// The enabled upstream SAML IdPs the login page offers: (id, name).
    #[serde(default)]
    pub saml_providers: Vec<(u64, String)>,
}

/// What the browser gets from the authorization endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AuthorizeOutcome {
    /// The request cannot be trusted to redirect (unknown client, unregistered redirect URI):
    /// show an error page.
    ErrorPage {
        error: ErrorCode,
        description: String,
        branding: Branding,
    },
    /// Send the browser to the client: query redirect, or an auto-submitting form.
    Redirect {
        redirect_uri: String,
        params: Vec<(String, String)>,
        form_post: bool,
    },
    /// Show the login form.
    Login {
        client_name: String,
        login_hint: Option<String>,
        branding: Branding,
        /// The authorization request, to carry through the form.
        params: Vec<(String, String)>,
    },
    /// Ask the signed-in user to allow the client.
    Consent {
        client_name: String,
        scopes: Vec<String>,
        user_email: String,
        branding: Branding,
        params: Vec<(String, String)>,
    },
    /// Ask a member of several organizations which one she signs in as.
    SelectOrg {
        client_name: String,
        user_email: String,
        options: Vec<OrgOption>,
        branding: Branding,
        params: Vec<(String, String)>,
    },
}

/// One organization the org-select page offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgOption {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub role: Option<String>,
}

/// What the frontend needs to check a password.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginCandidate {
    pub user_id: UserId,
    pub email: String,
    pub password_hash: Option<String>,
    /// Active and not blocked.
    pub usable: bool,
    pub locked_until: Option<Timestamp>,
}

/// A signed-in session, as pages need it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionView {
    pub id: u64,
    pub user_id: UserId,
    pub email: String,
    pub auth_time: Timestamp,
}

/// A pending CIBA request, as the user sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CibaView {
    pub id: String,
    pub client_name: String,
    pub scopes: Vec<String>,
    pub binding_message: Option<String>,
}

/// A pending agent approval, as the user sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalView {
    pub token: String,
    pub agent_name: String,
    pub task_id: String,
    pub reason: String,
    pub impact: String,
    /// The action's metadata (JSON text).
    pub meta: Option<String>,
    pub expires_at: Timestamp,
}

/// A pending JIT request, as a reviewer sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JitReviewView {
    pub id: String,
    pub agent_name: String,
    pub task_id: String,
    pub risk: String,
    /// The RFC 9396 `authorization_details` (JSON text).
    pub authorization_details: String,
    pub justification: Option<String>,
    pub requested_ttl: u64,
}
