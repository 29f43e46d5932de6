//! The grant types of the token endpoint, by their registered names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A grant type this server implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
    DeviceCode,
    TokenExchange,
    JwtBearer,
    Ciba,
}

impl GrantType {
    /// Every grant type, in the order discovery lists them.
    pub const ALL: [GrantType; 7] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::DeviceCode,
        GrantType::TokenExchange,
        GrantType::JwtBearer,
        GrantType::Ciba,
    ];

    /// The registered name (`grant_type` parameter, client metadata, token records).
    pub const fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::DeviceCode => "urn:ietf:params:oauth:grant-type:device_code",
            GrantType::TokenExchange => "urn:ietf:params:oauth:grant-type:token-exchange",
            GrantType::JwtBearer => "urn:ietf:params:oauth:grant-type:jwt-bearer",
            GrantType::Ciba => "urn:openid:params:grant-type:ciba",
        }
    }

    /// Whether the grant acts for any user without that user taking part (an assertion naming
    /// a user, token exchange, a backchannel request): only clients an administrator created
    /// with the full `admin` scope may hold it.
    pub const fn acts_for_any_user(self) -> bool {
        matches!(
            self,
            GrantType::TokenExchange | GrantType::JwtBearer | GrantType::Ciba
        )
    }
}

/// The names of every grant type this server implements.
pub const GRANT_TYPES: &[&str] = &[
    GrantType::AuthorizationCode.as_str(),
    GrantType::RefreshToken.as_str(),
    GrantType::ClientCredentials.as_str(),
    GrantType::DeviceCode.as_str(),
    GrantType::TokenExchange.as_str(),
    GrantType::JwtBearer.as_str(),
    GrantType::Ciba.as_str(),
];

impl FromStr for GrantType {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        GrantType::ALL
            .into_iter()
            .find(|grant| grant.as_str() == text)
            .ok_or_else(|| format!("grant_type {text} is not supported"))
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_listed_once() {
        for grant in GrantType::ALL {
            assert_eq!(grant.as_str().parse::<GrantType>(), Ok(grant));
        }
        assert_eq!(GRANT_TYPES.len(), GrantType::ALL.len());
        assert!("password".parse::<GrantType>().is_err());
    }
}
