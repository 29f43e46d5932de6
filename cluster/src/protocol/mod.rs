//! The vocabulary of the OAuth 2.1 / OpenID Connect protocol between the API and an org's
//! authorization server: requests and replies, the typed token request, grant types, token
//! types, error codes, scopes and limits. No logic lives here; `oauth` serves the requests.

mod email_link;
mod grant_type;
pub mod limits;
mod mfa;
mod reply;
mod request;
mod saml;
pub mod scopes;
mod social;
mod token_request;
mod token_type;
mod views;

pub use crate::error::ErrorCode;
pub use email_link::EmailLinkStep;
pub use grant_type::{GRANT_TYPES, GrantType};
pub use mfa::{Enrollment, LoginMfaPage, LoginOutcome, LoginStep, MfaCall};
pub use reply::{ProtocolReply, TokenResponse};
pub use request::{
    AAuthDocument, AAuthEndpoint, ClientAuth, NewConnection, Params, ProtocolRequest,
    WebhookSecretChange,
};
pub use saml::{InboundMessage, SamlIdpView, SamlOutcome, SamlStep};
pub use social::{SocialOutcome, SocialProviderChange, SocialStep};
pub use token_request::{ActorToken, TokenExchange, TokenRequest, TokenTypeParam};
pub use token_type::{TokenType, TokenTypeHint};
pub use views::{
    ApprovalView, AuthorizeOutcome, Branding, CibaView, JitReviewView, LoginCandidate, OrgOption,
    SessionView,
};
