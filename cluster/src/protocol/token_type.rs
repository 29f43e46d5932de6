//! Token type identifiers: the URNs of token exchange (`subject_token_type`,
//! `actor_token_type`, `issued_token_type`, RFC 8693 section 3) and the `token_type_hint` of
//! introspection and revocation (RFC 7009, RFC 7662).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A token type URN this server accepts in token exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TokenType {
    AccessToken,
    Jwt,
    IdToken,
    RefreshToken,
}

impl TokenType {
    /// Every token type.
    pub const ALL: [TokenType; 4] = [
        TokenType::AccessToken,
        TokenType::Jwt,
        TokenType::IdToken,
        TokenType::RefreshToken,
    ];

    /// The URN.
    pub const fn as_str(self) -> &'static str {
        match self {
            TokenType::AccessToken => "urn:ietf:params:oauth:token-type:access_token",
            TokenType::Jwt => "urn:ietf:params:oauth:token-type:jwt",
            TokenType::IdToken => "urn:ietf:params:oauth:token-type:id_token",
            TokenType::RefreshToken => "urn:ietf:params:oauth:token-type:refresh_token",
        }
    }
}

impl FromStr for TokenType {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        TokenType::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| format!("token type {text} is not supported"))
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `token_type_hint`: where introspection looks first. Hints this server does not know
/// are ignored (RFC 7009 section 2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TokenTypeHint {
    AccessToken,
    RefreshToken,
}

impl TokenTypeHint {
    /// The hint a parameter value names, if it is one this server knows.
    pub fn parse(text: &str) -> Option<TokenTypeHint> {
        match text {
            "access_token" => Some(TokenTypeHint::AccessToken),
            "refresh_token" => Some(TokenTypeHint::RefreshToken),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urns_round_trip() {
        for kind in TokenType::ALL {
            assert_eq!(kind.as_str().parse::<TokenType>(), Ok(kind));
        }
        assert!("urn:x".parse::<TokenType>().is_err());
        assert_eq!(
            TokenTypeHint::parse("refresh_token"),
            Some(TokenTypeHint::RefreshToken)
        );
        assert_eq!(TokenTypeHint::parse("id_token"), None);
    }
}
