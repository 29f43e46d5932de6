//! The standard claims of a user that scopes release (ID tokens and userinfo).

use serde_json::{Map, Value, json};

use crate::model::User;

use super::jwt::epoch_secs;

/// Standard claims of `user` the scopes release (ID tokens and userinfo).
pub(super) fn user_claims(user: &User, scopes: &[String]) -> Map<String, Value> {
    let mut claims = Map::new();
    let has = |s: &str| scopes.iter().any(|x| x == s);
    if has("profile") {
        let mut put = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                claims.insert(k.into(), json!(v));
            }
        };
        put("name", &user.name);
        put("given_name", &user.given_name);
        put("family_name", &user.family_name);
        put("picture", &user.picture);
        put("preferred_username", &user.username);
        put("locale", &user.locale);
        put("zoneinfo", &user.zoneinfo);
        claims.insert(
            "updated_at".into(),
            json!(epoch_secs(user.updated_at.unwrap_or(user.created_at))),
        );
    }
    if has("email") {
        claims.insert("email".into(), json!(user.email));
        claims.insert("email_verified".into(), json!(user.email_verified));
    }
    if has("phone")
        && let Some(phone) = &user.phone_number
    {
        claims.insert("phone_number".into(), json!(phone));
        claims.insert(
            "phone_number_verified".into(),
            json!(user.phone_number_verified),
        );
    }
    claims
}
