//! The OAuth error codes this server refuses requests with (RFC 6749 section 5.2, and the codes
//! of RFC 7591, 8628, 8693, 8707, OpenID Connect Core and CIBA). Each travels as its registered
//! string, on the wire between nodes as in answers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A registered OAuth error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    AccessDenied,
    AuthorizationPending,
    SlowDown,
    ExpiredToken,
    LoginRequired,
    ConsentRequired,
    InteractionRequired,
    AccountLocked,
    InvalidTarget,
    InvalidRedirectUri,
    InvalidClientMetadata,
    InvalidRequestUri,
    UnknownUserId,
    InvalidBindingMessage,
    DelegationDepthExceeded,
    BudgetExceeded,
    InvalidAuthorizationDetails,
    NoEnrolledDevice,
    TestTokenNotAccepted,
    WorkloadIdentityFailed,
    InvalidSignature,
    InvalidToken,
}

impl ErrorCode {
    /// Every code, for parsing.
    pub const ALL: [ErrorCode; 29] = [
        ErrorCode::InvalidRequest,
        ErrorCode::InvalidClient,
        ErrorCode::InvalidGrant,
        ErrorCode::UnauthorizedClient,
        ErrorCode::UnsupportedGrantType,
        ErrorCode::UnsupportedResponseType,
        ErrorCode::InvalidScope,
        ErrorCode::AccessDenied,
        ErrorCode::AuthorizationPending,
        ErrorCode::SlowDown,
        ErrorCode::ExpiredToken,
        ErrorCode::LoginRequired,
        ErrorCode::ConsentRequired,
        ErrorCode::InteractionRequired,
        ErrorCode::AccountLocked,
        ErrorCode::InvalidTarget,
        ErrorCode::InvalidRedirectUri,
        ErrorCode::InvalidClientMetadata,
        ErrorCode::InvalidRequestUri,
        ErrorCode::UnknownUserId,
        ErrorCode::InvalidBindingMessage,
        ErrorCode::DelegationDepthExceeded,
        ErrorCode::BudgetExceeded,
        ErrorCode::InvalidAuthorizationDetails,
        ErrorCode::NoEnrolledDevice,
        ErrorCode::TestTokenNotAccepted,
        ErrorCode::WorkloadIdentityFailed,
        ErrorCode::InvalidSignature,
        ErrorCode::InvalidToken,
    ];

    /// The registered string.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::AuthorizationPending => "authorization_pending",
            ErrorCode::SlowDown => "slow_down",
            ErrorCode::ExpiredToken => "expired_token",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::InteractionRequired => "interaction_required",
            ErrorCode::AccountLocked => "account_locked",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::InvalidRedirectUri => "invalid_redirect_uri",
            ErrorCode::InvalidClientMetadata => "invalid_client_metadata",
            ErrorCode::InvalidRequestUri => "invalid_request_uri",
            ErrorCode::UnknownUserId => "unknown_user_id",
            ErrorCode::InvalidBindingMessage => "invalid_binding_message",
            ErrorCode::DelegationDepthExceeded => "delegation_depth_exceeded",
            ErrorCode::BudgetExceeded => "budget_exceeded",
            ErrorCode::InvalidAuthorizationDetails => "invalid_authorization_details",
            ErrorCode::NoEnrolledDevice => "no_enrolled_device",
            ErrorCode::TestTokenNotAccepted => "test_token_not_accepted",
            ErrorCode::WorkloadIdentityFailed => "workload_identity_failed",
            ErrorCode::InvalidSignature => "invalid_signature",
            ErrorCode::InvalidToken => "invalid_token",
        }
    }
}

impl FromStr for ErrorCode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ErrorCode::ALL
            .into_iter()
            .find(|code| code.as_str() == text)
            .ok_or_else(|| format!("unknown OAuth error code {text}"))
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_their_strings() {
        for code in ErrorCode::ALL {
            assert_eq!(code.as_str().parse::<ErrorCode>(), Ok(code));
        }
        assert!("no_such_code".parse::<ErrorCode>().is_err());
    }

    #[test]
    fn codes_encode_as_the_strings_they_replaced() {
        let config = bincode::config::standard();
        let typed = bincode::serde::encode_to_vec(ErrorCode::SlowDown, config).expect("encode");
        let text = bincode::serde::encode_to_vec("slow_down", config).expect("encode");
        assert_eq!(typed, text);
    }
}
