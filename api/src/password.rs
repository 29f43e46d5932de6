//! Password hashing (argon2id, 19 MiB, t=2, p=1) on the frontend, off the async threads, and the
//! org password policy check. Plaintext never leaves this module.

use argon2::password_hash::SaltString;
use argon2::password_hash::rand_core::OsRng;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version};
use lumo_cluster::query::{Query, Reply};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::extract::Ctx;

/// Longest password accepted (argon2 input is bounded to keep hashing cost fixed).
pub const MAX_PASSWORD_CHARS: usize = 256;

fn hasher() -> ApiResult<Argon2<'static>> {
    let params =
        Params::new(19 * 1024, 2, 1, None).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// The argon2id PHC string of `password`, waiting for a free hashing slot.
pub async fn hash_limited(slots: &tokio::sync::Semaphore, password: String) -> ApiResult<String> {
    let _slot = slots
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    hash(password).await
}

/// The argon2id PHC string of `password`.
pub async fn hash(password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher()?
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ApiError::Internal(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
}

/// True when `password` matches the PHC string `hash`. Without a hash (unknown user, no
/// password set) a throwaway hash is computed anyway, so timing does not tell which it was.
pub async fn verify_limited(
    slots: &tokio::sync::Semaphore,
    password: String,
    hash: Option<String>,
) -> ApiResult<bool> {
    use argon2::PasswordVerifier;
    use argon2::password_hash::PasswordHash;
    let _slot = slots
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        let Some(hash) = hash else {
            let salt = SaltString::generate(&mut OsRng);
            let _ = hasher()?.hash_password(password.as_bytes(), &salt);
            return Ok(false);
        };
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return Ok(false);
        };
        // Verifies with the parameters stored in the hash.
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
}

/// Checks `password` against the org's password policy (auth settings).
pub async fn check_policy(ctx: &Ctx, field: &str, password: &str) -> ApiResult<()> {
    let reply = ctx.read(Query::PasswordPolicy).await?;
    let text = crate::reply!(reply, Reply::Json);
    let settings: Value =
        serde_json::from_str(&text).map_err(|e| ApiError::Internal(e.to_string()))?;
    check_against(&settings, field, password)
}

/// Checks `password` against the auth settings document `settings`.
pub fn check_against(settings: &Value, field: &str, password: &str) -> ApiResult<()> {
    let policy = &settings["password_policy"];
    let min = settings["password_min_length"]
        .as_u64()
        .unwrap_or(8)
        .max(policy["min_length"].as_u64().unwrap_or(8)) as usize;
    let length = password.chars().count();
    let mut problems = Vec::new();
    if password.trim().is_empty() {
        problems.push("may not be only whitespace".to_string());
    }
    if length < min {
        problems.push(format!("must be at least {min} characters"));
    }
    if length > MAX_PASSWORD_CHARS {
        problems.push(format!("must be at most {MAX_PASSWORD_CHARS} characters"));
    }
    let special = settings["password_require_special"].as_bool() == Some(true)
        || policy["require_special"].as_bool() == Some(true);
    if special && password.chars().all(char::is_alphanumeric) {
        problems.push("must contain a special character".into());
    }
    if policy["require_numbers"].as_bool() == Some(true)
        && !password.chars().any(|c| c.is_ascii_digit())
    {
        problems.push("must contain a number".into());
    }
    if policy["require_uppercase"].as_bool() == Some(true)
        && !password.chars().any(char::is_uppercase)
    {
        problems.push("must contain an uppercase letter".into());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(field, problems.join(", ")))
    }
}

/// Policy check then hash.
pub async fn accept(ctx: &Ctx, field: &str, password: String) -> ApiResult<String> {
    check_policy(ctx, field, &password).await?;
    hash_limited(&ctx.state.hashing, password).await
}

#[cfg(test)]
mod tests {
    use argon2::{PasswordHash, PasswordVerifier};

    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_with_the_chosen_cost() {
        let phc = hash("correct horse battery".into()).await.expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        let parsed = PasswordHash::new(&phc).expect("phc");
        assert!(
            Argon2::default()
                .verify_password(b"correct horse battery", &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"wrong", &parsed)
                .is_err()
        );
    }
}
