//! The token endpoint's request, parsed once from its parameters: one variant per grant, with
//! the parameters that grant reads.
//!
//! Parsing never refuses anything: a missing or unknown `grant_type` becomes a variant the
//! authorization server reports first, and a parameter a grant requires is `None` when missing
//! or empty, reported by the grant after it has authenticated the client. So the token
//! endpoint refuses requests in the same order whatever their shape.

use serde::{Deserialize, Serialize};

use super::grant_type::GrantType;
use super::request::Params;
use super::scopes;
use super::token_type::TokenType;

/// A `POST ~/oauth/token` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TokenRequest {
    /// `grant_type` is missing or empty (`invalid_request`).
    MissingGrantType,
    /// A grant type this server does not implement (`unsupported_grant_type`).
    Unsupported { grant_type: String },
    /// `authorization_code` (RFC 6749 section 4.1.3).
    AuthorizationCode {
        code: Option<String>,
        /// As sent (an empty value is a value).
        redirect_uri: Option<String>,
        /// As sent (an empty value is a value).
        code_verifier: Option<String>,
    },
    /// `refresh_token` (RFC 6749 section 6).
    RefreshToken {
        refresh_token: Option<String>,
        scopes: Vec<String>,
    },
    /// `client_credentials` (RFC 6749 section 4.4).
    ClientCredentials {
        scopes: Vec<String>,
        resource: Option<String>,
    },
    /// The device authorization grant (RFC 8628 section 3.4).
    DeviceCode { device_code: Option<String> },
    /// CIBA poll mode (OpenID CIBA Core section 10.1).
    Ciba { auth_req_id: Option<String> },
    /// Token exchange (RFC 8693 section 2.1).
    TokenExchange(TokenExchange),
    /// The JWT bearer grant (RFC 7523 section 2.1).
    JwtBearer {
        assertion: Option<String>,
        scopes: Vec<String>,
    },
}

/// The parameters of a token exchange.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenExchange {
    pub subject_token: Option<String>,
    pub subject_token_type: Option<TokenTypeParam>,
    /// `actor_token` when sent (not empty).
    pub actor: Option<ActorToken>,
    pub scopes: Vec<String>,
    /// As sent (an empty value is a value).
    pub resource: Option<String>,
}

/// An `actor_token` and the type sent with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActorToken {
    pub token: String,
    /// `actor_token_type` as sent (an empty value is a value).
    pub token_type: Option<TokenTypeParam>,
}

/// A token type parameter: a type this server knows, or the text of one it does not (refused
/// where the token would be read).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TokenTypeParam {
    Known(TokenType),
    Unsupported(String),
}

impl TokenTypeParam {
    fn parse(text: &str) -> Self {
        text.parse().map_or_else(
            |_| TokenTypeParam::Unsupported(text.to_string()),
            TokenTypeParam::Known,
        )
    }
}

impl TokenRequest {
    /// The request `params` (client authentication already taken out) make.
    pub fn from_params(params: &Params) -> TokenRequest {
        let sent = |name: &str| params.get(name).cloned();
        let present = |name: &str| sent(name).filter(|v| !v.is_empty());
        let scopes = || scopes::parse(params.get("scope").map(String::as_str));
        let Some(grant_type) = present("grant_type") else {
            return TokenRequest::MissingGrantType;
        };
        let Ok(grant) = grant_type.parse::<GrantType>() else {
            return TokenRequest::Unsupported { grant_type };
        };
        match grant {
            GrantType::AuthorizationCode => TokenRequest::AuthorizationCode {
                code: present("code"),
                redirect_uri: sent("redirect_uri"),
                code_verifier: sent("code_verifier"),
            },
            GrantType::RefreshToken => TokenRequest::RefreshToken {
                refresh_token: present("refresh_token"),
                scopes: scopes(),
            },
            GrantType::ClientCredentials => TokenRequest::ClientCredentials {
                scopes: scopes(),
                resource: sent("resource"),
            },
            GrantType::DeviceCode => TokenRequest::DeviceCode {
                device_code: present("device_code"),
            },
            GrantType::Ciba => TokenRequest::Ciba {
                auth_req_id: present("auth_req_id"),
            },
            GrantType::TokenExchange => TokenRequest::TokenExchange(TokenExchange {
                subject_token: present("subject_token"),
                subject_token_type: present("subject_token_type")
                    .map(|t| TokenTypeParam::parse(&t)),
                actor: present("actor_token").map(|token| ActorToken {
                    token,
                    token_type: sent("actor_token_type").map(|t| TokenTypeParam::parse(&t)),
                }),
                scopes: scopes(),
                resource: sent("resource"),
            }),
            GrantType::JwtBearer => TokenRequest::JwtBearer {
                assertion: present("assertion"),
                scopes: scopes(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn grant_type_decides_the_variant() {
        assert_eq!(
            TokenRequest::from_params(&params(&[("grant_type", "")])),
            TokenRequest::MissingGrantType
        );
        assert_eq!(
            TokenRequest::from_params(&params(&[("grant_type", "password")])),
            TokenRequest::Unsupported {
                grant_type: "password".into()
            }
        );
        assert_eq!(
            TokenRequest::from_params(&params(&[
                ("grant_type", "client_credentials"),
                ("scope", "a b a"),
            ])),
            TokenRequest::ClientCredentials {
                scopes: vec!["a".into(), "b".into()],
                resource: None,
            }
        );
    }

    #[test]
    fn empty_required_parameters_are_missing_and_optional_ones_kept() {
        let request = TokenRequest::from_params(&params(&[
            ("grant_type", "authorization_code"),
            ("code", ""),
            ("code_verifier", ""),
        ]));
        assert_eq!(
            request,
            TokenRequest::AuthorizationCode {
                code: None,
                redirect_uri: None,
                code_verifier: Some(String::new()),
            }
        );
    }

    #[test]
    fn token_types_keep_what_they_do_not_know() {
        let request = TokenRequest::from_params(&params(&[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ),
            ("subject_token", "s"),
            ("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
            ("actor_token", "a"),
            ("actor_token_type", "urn:other"),
        ]));
        let TokenRequest::TokenExchange(exchange) = request else {
            panic!("not an exchange");
        };
        assert_eq!(
            exchange.subject_token_type,
            Some(TokenTypeParam::Known(TokenType::Jwt))
        );
        assert_eq!(
            exchange.actor.and_then(|a| a.token_type),
            Some(TokenTypeParam::Unsupported("urn:other".into()))
        );
    }
}
