//! Verifying a JWT another issuer signed (an upstream provider's ID token, a cloud workload's
//! token) with a key of that issuer's published set: the algorithm and key come from the
//! header, the issuer and audience must be the expected ones, and time is our clock's.

use serde_json::Value;

use crate::clock::Timestamp;

use super::signing::{JwsAlg, decoding_key_of};

/// Clock skew allowed on `exp`/`nbf`/`iat`.
pub const LEEWAY_SECS: u64 = 30;

/// What a token must say about itself.
pub struct Expected<'a> {
    /// Accepted `iss` values.
    pub issuers: &'a [&'a str],
    pub audience: &'a str,
}

/// The token's claims when a key of `keys` signed it for `expected` and it has not expired at
/// `now`; the reason otherwise.
pub fn verify_issuer_token(
    token: &str,
    keys: &[Value],
    expected: &Expected<'_>,
    now: Timestamp,
) -> Result<Value, String> {
    let header = jsonwebtoken::decode_header(token).map_err(|e| format!("header: {e}"))?;
    let alg = JwsAlg::ALL
        .into_iter()
        .find(|a| a.algorithm() == header.alg)
        .ok_or_else(|| format!("algorithm {:?} is not accepted", header.alg))?;
    let jwk = keys
        .iter()
        .find(|k| {
            header.kid.is_none() || k.get("kid").and_then(Value::as_str) == header.kid.as_deref()
        })
        .ok_or_else(|| format!("no key {:?} in the issuer's key set", header.kid))?;
    let key = decoding_key_of(alg, jwk)?;
    let mut validation = jsonwebtoken::Validation::new(alg.algorithm());
    validation.set_issuer(expected.issuers);
    validation.set_audience(&[expected.audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = LEEWAY_SECS;
    validation.validate_nbf = true;
    // The clock is ours, not the library's: check `exp` against `now` below.
    validation.validate_exp = false;
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map_err(|e| format!("token: {e}"))?
        .claims;
    let now_secs = now.0.div_euclid(1000);
    let exp = claims["exp"].as_i64().ok_or("exp is not a number")?;
    if exp + (LEEWAY_SECS as i64) < now_secs {
        return Err("the token expired".into());
    }
    Ok(claims)
}
