//! Sign in with Apple's client secret. Apple takes no static secret: the client authenticates
//! with a short ES256 JWT signed by the developer's key (the `.p8` file). An administrator may
//! store that key as the provider's `clientSecret` (PEM) with `providerConfig.teamId` and
//! `providerConfig.keyId`; each code exchange then mints a fresh secret. A secret that is not a
//! PEM key is sent as given (a JWT the operator generates).

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::clock::Timestamp;
use crate::error::{ClusterError, Result};
use crate::model::SocialProvider;

/// Apple's audience for client secrets.
const AUDIENCE: &str = "https://appleid.apple.com";
/// How long a minted secret lives (Apple allows up to six months; one exchange needs minutes).
const LIFETIME_SECS: i64 = 300;

/// True when `secret` is a private key to mint with rather than a secret to send.
pub fn is_signing_key(secret: &str) -> bool {
    secret
        .trim_start()
        .starts_with("-----BEGIN PRIVATE KEY-----")
        || secret
            .trim_start()
            .starts_with("-----BEGIN EC PRIVATE KEY-----")
}

fn config_text<'a>(config: Option<&'a Value>, name: &str) -> Option<&'a str> {
    config?[name].as_str().filter(|v| !v.trim().is_empty())
}

/// What is wrong with an Apple key and its `providerConfig`, if anything (checked when an
/// administrator saves the provider).
pub fn key_problem(secret: &str, config: Option<&Value>) -> Option<String> {
    if EncodingKey::from_ec_pem(secret.as_bytes()).is_err() {
        return Some("must be Apple's .p8 key (PEM, P-256) or a client secret JWT".into());
    }
    ["teamId", "keyId"]
        .iter()
        .find(|name| config_text(config, name).is_none())
        .map(|name| format!("a .p8 key needs providerConfig.{name}"))
}

/// The `client_secret` to send for `provider` at `now`.
pub(super) fn client_secret(
    provider: &SocialProvider,
    secret: String,
    now: Timestamp,
) -> Result<String> {
    if provider.kind != "apple" || !is_signing_key(&secret) {
        return Ok(secret);
    }
    let config = provider.provider_config.as_ref();
    let missing = |name: &str| {
        ClusterError::internal(format!(
            "the Apple provider's .p8 key needs providerConfig.{name}"
        ))
    };
    let team = config_text(config, "teamId").ok_or_else(|| missing("teamId"))?;
    let key_id = config_text(config, "keyId").ok_or_else(|| missing("keyId"))?;
    let key = EncodingKey::from_ec_pem(secret.as_bytes())
        .map_err(|e| ClusterError::internal(format!("the Apple provider's key: {e}")))?;
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(key_id.to_string());
    let issued = now.0 / 1000;
    let claims = json!({
        "iss": team,
        "iat": issued,
        "exp": issued + LIFETIME_SECS,
        "aud": AUDIENCE,
        "sub": provider.client_id,
    });
    jsonwebtoken::encode(&header, &claims, &key)
        .map_err(|e| ClusterError::internal(format!("minting Apple's client secret: {e}")))
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};
    use openssl::ec::{EcGroup, EcKey};
    use openssl::nid::Nid;
    use openssl::pkey::PKey;

    use super::*;

    fn provider(config: Value) -> SocialProvider {
        serde_json::from_value(json!({
            "id": 1, "provider": "apple", "kind": "apple", "display_name": "Apple",
            "enabled": true, "brand_color": null, "icon_url": null,
            "jit_provisioning_enabled": true, "client_id": "com.example.web",
            "requested_scopes": [], "issuer": null, "authorization_url": null,
            "token_url": null, "user_info_url": null, "jwks_url": null,
            "claim_mapping": null, "custom_claims": null, "provider_config": config,
            "default_roles": [], "sealed_client_secret": null,
            "created_at": 1, "updated_at": 1
        }))
        .expect("a provider")
    }

    #[test]
    fn a_p8_key_mints_a_signed_short_lived_secret() {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("curve");
        let ec = EcKey::generate(&group).expect("key");
        let pkey = PKey::from_ec_key(ec.clone()).expect("pkey");
        let pem = String::from_utf8(pkey.private_key_to_pem_pkcs8().expect("pem")).expect("text");
        let public = ec.public_key_to_pem().expect("public");
        assert!(is_signing_key(&pem));
        let config = json!({"teamId": "TEAM123456", "keyId": "KEY7890"});
        assert_eq!(key_problem(&pem, Some(&config)), None);
        assert!(key_problem(&pem, Some(&json!({"teamId": "T"}))).is_some());
        assert!(key_problem("-----BEGIN PRIVATE KEY-----\nnope", Some(&config)).is_some());

        let now = Timestamp(1_800_000_000_000);
        let secret = client_secret(&provider(config), pem.clone(), now).expect("minted");
        let header = decode_header(&secret).expect("header");
        assert_eq!(header.alg, Algorithm::ES256);
        assert_eq!(header.kid.as_deref(), Some("KEY7890"));
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_audience(&[AUDIENCE]);
        validation.validate_exp = false;
        let claims = decode::<Value>(
            &secret,
            &DecodingKey::from_ec_pem(&public).expect("decoding key"),
            &validation,
        )
        .expect("verifies")
        .claims;
        assert_eq!(claims["iss"], "TEAM123456");
        assert_eq!(claims["sub"], "com.example.web");
        assert_eq!(claims["iat"], 1_800_000_000);
        assert_eq!(claims["exp"], 1_800_000_300);

        // Without the ids the exchange fails clearly; a plain secret passes through.
        assert!(client_secret(&provider(Value::Null), pem, now).is_err());
        let plain = client_secret(&provider(Value::Null), "eyJ.given.jwt".into(), now);
        assert_eq!(plain.expect("as given"), "eyJ.given.jwt");
    }
}
