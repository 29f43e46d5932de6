//! The administrators' side of MFA: the org's policy (`~/admin/policies/mfa`, stored as the
//! `mfa_policy` of the authentication settings), the coverage report, a user's authenticators
//! and their removal, and temporary access codes.

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use lumo_cluster::clock::Timestamp;
use lumo_cluster::command::{NewAccessCode, Op, UserKey};
use lumo_cluster::oauth::mfa::{ACCESS_CODE_CHARS, code_hash, new_id, random_code};
use lumo_cluster::query::{Outcome, Query, Reply};
use lumo_cluster::settings::SettingsSection;
use serde_json::{Map, Value, json};

use super::mfa::step_up;
use crate::dto::mfa as dto;
use crate::envelope;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Ctx, JsonBody};
use crate::reply;
use crate::state::AppState;

/// Routes of the settings family (`admin:settings`).
pub fn policy_router() -> Router<AppState> {
    Router::new().route("/admin/policies/mfa", get(show_policy).put(update_policy))
}

/// Routes of the users family (`admin:users`).
pub fn users_router() -> Router<AppState> {
    Router::new()
        .route("/admin/reports/mfa-coverage", get(coverage))
        .route("/admin/users/{userId}/authenticators", get(list))
        .route(
            "/admin/users/{userId}/authenticators/{authenticatorId}",
            delete(remove),
        )
        .route(
            "/admin/users/{userId}/temporary-access-code",
            post(issue_access_code),
        )
}

const DEFAULT_TAP_MINUTES: u64 = 60;

/// Integer fields of the policy and their documented ranges (values are clamped to them).
const RANGES: [(&str, i64, i64); 7] = [
    ("min_tier_login", 1, 4),
    ("min_tier_step_up", 1, 4),
    ("required_factor_count", 1, 2),
    ("grace_period_days", 0, 90),
    ("remind_interval_days", 1, 90),
    ("trusted_device_days", 0, 180),
    ("step_up_max_age_seconds", 60, 3600),
];
const BOOLS: [&str; 4] = [
    "passwordless_passkey",
    "email_otp_counts_as_mfa",
    "sms_block_voip",
    "remind_enabled",
];
const LISTS: [&str; 5] = [
    "allowed_factors",
    "sms_country_allowlist",
    "sms_country_denylist",
    "required_roles",
    "required_groups",
];
const FACTORS: [&str; 5] = ["passkey", "push", "totp", "sms_otp", "email_otp"];

async fn policy_document(ctx: &Ctx) -> ApiResult<Value> {
    let text = reply!(
        ctx.read(Query::Settings(SettingsSection::Auth)).await?,
        Reply::Json
    );
    let doc: Value = serde_json::from_str(&text).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(doc["mfa_policy"].clone())
}

fn effective_factors(policy: &Value) -> Vec<String> {
    if policy["requirement"] == "off" {
        return Vec::new();
    }
    policy["allowed_factors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

async fn show_policy(ctx: Ctx) -> ApiResult<Response> {
    let policy = policy_document(&ctx).await?;
    Ok(axum::Json(json!({
        "effective_allowed_factors": effective_factors(&policy),
        "data": policy,
    }))
    .into_response())
}

/// The clamped patch of a policy update: known keys only, integers clamped to their ranges,
/// wrong types refused.
fn policy_patch(map: &Map<String, Value>) -> ApiResult<Map<String, Value>> {
    let mut body = Body::new(JsonBody(map.clone()));
    let mut patch = Map::new();
    if let Some(requirement) = map.get("requirement") {
        match requirement.as_str() {
            Some(r @ ("off" | "optional" | "required" | "risk_based")) => {
                patch.insert("requirement".into(), json!(r));
            }
            _ => body.problem(
                "requirement",
                "must be off, optional, required or risk_based",
            ),
        }
    }
    for (field, min, max) in RANGES {
        match map.get(field) {
            None => {}
            Some(value) => match value.as_i64() {
                Some(n) => {
                    patch.insert(field.into(), json!(n.clamp(min, max)));
                }
                None => body.problem(field, "must be an integer"),
            },
        }
    }
    for field in BOOLS {
        match map.get(field) {
            None => {}
            Some(Value::Bool(b)) if field != "remind_enabled" => {
                patch.insert(field.into(), json!(b));
            }
            Some(Value::Bool(_)) => {}
            Some(_) => body.problem(field, "must be a boolean"),
        }
    }
    for field in LISTS {
        let Some(value) = map.get(field) else {
            continue;
        };
        let items: Option<Vec<String>> = value.as_array().and_then(|a| {
            a.iter()
                .map(|v| v.as_str().map(|s| s.chars().take(100).collect()))
                .collect()
        });
        match items {
            Some(items) if items.len() <= 100 => {
                if field == "allowed_factors"
                    && let Some(bad) = items.iter().find(|f| !FACTORS.contains(&f.as_str()))
                {
                    body.problem(field, format!("unknown factor {bad}"));
                    continue;
                }
                patch.insert(field.into(), json!(items));
            }
            _ => body.problem(field, "must be a list of at most 100 strings"),
        }
    }
    match map.get("required_since") {
        None => {}
        Some(Value::Null) => {
            patch.insert("required_since".into(), Value::Null);
        }
        Some(v) if v.as_i64().is_some() => {
            patch.insert("required_since".into(), v.clone());
        }
        Some(_) => body.problem("required_since", "must be a unix time or null"),
    }
    if let Some(v) = map.get("nudge_interval_days") {
        match v.as_i64() {
            Some(n) => {
                patch.insert("nudge_interval_days".into(), json!(n.clamp(1, 90)));
            }
            None => body.problem("nudge_interval_days", "must be an integer"),
        }
    }
    body.finish()?;
    Ok(patch)
}

async fn update_policy(ctx: Ctx, JsonBody(map): JsonBody) -> ApiResult<Response> {
    let mut patch = policy_patch(&map)?;
    // Becoming required starts the grace period now, unless the caller set its start.
    if patch.get("requirement").is_some_and(|r| r == "required")
        && !patch.contains_key("required_since")
    {
        let current = policy_document(&ctx).await?;
        if current["requirement"] != "required" {
            patch.insert("required_since".into(), json!(Timestamp::now().0 / 1000));
        }
    }
    let op = Op::UpdateSettings {
        section: SettingsSection::Auth,
        patch: json!({ "mfa_policy": patch }).to_string(),
        secrets: Vec::new(),
    };
    ctx.write(op).await?;
    let policy = policy_document(&ctx).await?;
    Ok(axum::Json(json!({ "data": policy })).into_response())
}

async fn coverage(ctx: Ctx) -> ApiResult<Response> {
    let report = reply!(ctx.read(Query::MfaCoverage).await?, Reply::MfaCoverage);
    Ok(axum::Json(json!({ "data": dto::coverage(&report, Timestamp::now()) })).into_response())
}

async fn list(ctx: Ctx) -> ApiResult<Response> {
    let key: UserKey = ctx.key("userId")?;
    let view = reply!(
        ctx.read(Query::UserAuthenticators(key)).await?,
        Reply::Authenticators
    );
    Ok(axum::Json(dto::user_authenticators(&view)).into_response())
}

async fn remove(ctx: Ctx) -> ApiResult<Response> {
    let key: UserKey = ctx.key("userId")?;
    let id = ctx.param("authenticatorId")?.chars().take(64).collect();
    let op = Op::RemoveAuthenticator {
        user: Some(key),
        id,
        step_up: None,
    };
    match ctx.write(op).await? {
        Reply::Done(Outcome::Authenticator(a)) => Ok(envelope::data_message(
            dto::authenticator(&a),
            "Authenticator removed; the user's trusted devices were revoked",
        )),
        other => Err(ApiError::unexpected(other)),
    }
}

async fn issue_access_code(ctx: Ctx, headers: HeaderMap, json: JsonBody) -> ApiResult<Response> {
    let key: UserKey = ctx.key("userId")?;
    let mut body = Body::new(json);
    let reason = body.required_str("reason", 500);
    if body.has("reason") && reason.trim().is_empty() {
        body.problem("reason", "may not be empty");
    }
    let minutes = body.opt_u64("ttl_minutes").unwrap_or(DEFAULT_TAP_MINUTES);
    if !(5..=10_080).contains(&minutes) {
        body.problem("ttl_minutes", "must be between 5 and 10080");
    }
    let single_use = body.opt_bool("single_use").unwrap_or(true);
    body.finish()?;
    let code = random_code(ACCESS_CODE_CHARS, 4);
    let expires_at = Timestamp::now().plus_millis(i64::try_from(minutes).unwrap_or(60) * 60_000);
    let new = NewAccessCode {
        user: key,
        id: new_id("tap_"),
        code_hash: code_hash(&code),
        reason: reason.trim().to_string(),
        expires_at,
        single_use,
        step_up: step_up(&headers),
    };
    let id = match ctx.write(Op::IssueAccessCode(new)).await? {
        Reply::Done(Outcome::Created(id)) => id,
        other => return Err(ApiError::unexpected(other)),
    };
    let data = json!({
        "data": {
            "id": id,
            "code": code,
            "expires_at": expires_at.to_rfc3339(),
            "single_use": single_use,
        }
    });
    Ok((StatusCode::CREATED, axum::Json(data)).into_response())
}
