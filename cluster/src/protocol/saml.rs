//! The SAML 2.0 identity provider on the leader (where the org's signing key is): metadata,
//! single sign-on (SP- and IdP-initiated) and single logout.

use serde::{Deserialize, Serialize};

use crate::caller::Credential;

/// A SAML protocol message as the browser brought it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundMessage {
    /// HTTP-Redirect binding (deflated); otherwise HTTP-POST.
    pub redirect: bool,
    /// `SAMLRequest` as received (base64).
    pub encoded: String,
    pub relay_state: Option<String>,
    /// Redirect binding: the signed octets (`SAMLRequest=…[&RelayState=…]&SigAlg=…`, exactly
    /// as in the URL), the algorithm and the signature (base64).
    pub signed_query: Option<String>,
    pub sig_alg: Option<String>,
    pub signature: Option<String>,
}

/// A step of the SAML identity provider. `idp_base` is `<public base>/orgs/{org}/saml/idp`,
/// the prefix of every IdP URL (the entity id is its `/metadata`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SamlStep {
    /// The IdP's metadata document.
    Metadata { idp_base: String },
    /// The IdP's settings as an administrator sees them (`~/admin/saml/idp`).
    Describe {
        credential: Credential,
        idp_base: String,
    },
    /// `~/saml/idp/sso` (an SP's request) or `~/saml/idp/init/{app}` (IdP-initiated).
    SignOn {
        idp_base: String,
        message: Option<InboundMessage>,
        /// IdP-initiated: the app's id.
        app: Option<u64>,
        relay_state: Option<String>,
        session: Option<String>,
    },
    /// `~/saml/idp/slo`: an SP's logout request.
    Logout {
        idp_base: String,
        message: InboundMessage,
        session: Option<String>,
    },
    /// Service provider mode (`sp_base` is `<public base>/orgs/{org}/saml/sp`): our metadata.
    SpMetadata { sp_base: String },
    /// `~/saml/sp/login[/{idpId}]`: to the upstream IdP, carrying the authorization request.
    SpBegin {
        sp_base: String,
        idp: Option<u64>,
        carried: Vec<(String, String)>,
    },
    /// `~/saml/sp/acs`: the IdP's response.
    SpFinish {
        sp_base: String,
        response: String,
        relay_state: String,
        /// The login cookie (`sps_….secret`).
        cookie: String,
        /// The trusted-device cookie, as the password form sends it.
        device: Option<String>,
    },
    /// `~/saml/sp/slo`: an upstream IdP's logout request.
    SpLogout {
        sp_base: String,
        message: InboundMessage,
    },
    /// `~/saml/idp/slo` with a `SAMLResponse`: an app answers the logout request we sent it
    /// while a single logout goes round the session's apps.
    LogoutAnswered {
        idp_base: String,
        message: InboundMessage,
    },
}

/// The IdP as `~/admin/saml/idp` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlIdpView {
    pub entity_id: String,
    /// The signing certificate, PEM.
    pub certificate: String,
    pub not_after: crate::clock::Timestamp,
}

/// Where a SAML step leaves the browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SamlOutcome {
    Metadata(String),
    Described(SamlIdpView),
    /// An auto-submitting form to the SP: `field` (`SAMLResponse`) and the relay state.
    Post {
        action: String,
        field: String,
        value: String,
        relay_state: Option<String>,
    },
    /// To the SP (HTTP-Redirect binding).
    Redirect(String),
    /// The user must sign in first; then the browser comes back to `~/saml/idp/sso?{resume}`.
    Login {
        resume: String,
        app_name: String,
    },
    /// Refused: what the error page says (never sent to the SP, whose identity is not proven).
    Refused(String),
    /// SP mode: to the upstream IdP, with the login cookie to set.
    SpRedirect {
        url: String,
        cookie: String,
    },
    /// SP mode: back from the IdP, signed in or on to the second factor, and the request to
    /// continue.
    SpFinished {
        outcome: super::LoginOutcome,
        carried: Vec<(String, String)>,
    },
    /// SP mode: refused; the login form's marker (`saml_…`) and the request to go back to.
    SpRefused {
        reason: String,
        carried: Vec<(String, String)>,
    },
    /// SP mode: the user was signed out and there is nowhere to send the browser.
    SignedOut,
}
