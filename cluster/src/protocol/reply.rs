//! What an org's authorization server answers.

use serde::{Deserialize, Serialize};

use super::views::{
    ApprovalView, AuthorizeOutcome, Branding, CibaView, JitReviewView, LoginCandidate, SessionView,
};
use crate::clock::Timestamp;

/// A successful token response (RFC 6749 section 5.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    pub scope: String,
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub issued_token_type: Option<String>,
}

/// The answers of protocol requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ProtocolReply {
    Jwks(Vec<serde_json::Value>),
    MfaEnrollment(super::Enrollment),
    MfaAuthenticator(crate::model::Authenticator),
    MfaChallenge(crate::model::MfaChallenge),
    /// A challenge a passkey answers, with the WebAuthn request options (JSON).
    MfaPasskeyChallenge {
        challenge: Box<crate::model::MfaChallenge>,
        public_key: String,
    },
    LoginMfa(super::LoginOutcome),
    /// A sign-in link was used: the sign-in's outcome and the authorization request to go on
    /// with.
    LinkSignIn {
        outcome: super::LoginOutcome,
        carried: Vec<(String, String)>,
    },
    Social(super::SocialOutcome),
    Saml(super::SamlOutcome),
    Branding(Branding),
    Token(TokenResponse),
    /// An introspection or userinfo document, or registration metadata.
    Document(serde_json::Value),
    Authorize(AuthorizeOutcome),
    LoginCandidate(Option<LoginCandidate>),
    SignedIn {
        cookie: String,
        session_id: u64,
        /// Seconds until the session expires.
        expires_in: u64,
    },
    LoginRecorded {
        locked_until: Option<Timestamp>,
    },
    Session(Option<SessionView>),
    /// Where logout sends the browser (`None`: show the signed-out page), or the
    /// confirmation page to show.
    Logout {
        redirect: Option<String>,
        confirm: bool,
        branding: Branding,
    },
    Par {
        request_uri: String,
        expires_in: u64,
    },
    DeviceAuthorization {
        device_code: String,
        user_code: String,
        expires_in: u64,
        interval: u64,
    },
    Device {
        client_name: String,
        scopes: Vec<String>,
        branding: Branding,
    },
    Ciba {
        auth_req_id: String,
        expires_in: u64,
        interval: u64,
    },
    CibaPending(Vec<CibaView>),
    /// The signed-in user's pending agent approvals.
    Approvals(Vec<ApprovalView>),
    /// The org's pending JIT requests, for a signed-in reviewer.
    JitReview(Vec<JitReviewView>),
    Done,
    /// A signed AAuth endpoint's JSON answer and its status (200, or 401 when a user must
    /// consent first).
    AAuth {
        status: u16,
        body: serde_json::Value,
    },
    /// What an AAuth consent request asks of the signed-in user.
    AAuthConsent {
        agent_name: String,
        agent_identifier: String,
        resource_name: String,
        scopes: Vec<String>,
        user_email: String,
    },
    /// Where the browser goes after the user answered an AAuth consent request.
    Redirect(String),
    /// A webhook as stored after a create or a rotation.
    Webhook(crate::model::Webhook),
    /// How a test delivery went: the receiver's status, or the transport error.
    WebhookTest {
        status_code: Option<u16>,
        error: Option<String>,
    },
}
