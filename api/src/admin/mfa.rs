//! A user's own MFA (`~/me/authenticators`, `~/me/recovery-codes`, `~/me/trusted-devices`) and
//! challenges (`~/mfa/challenges`). User access tokens only: API keys are refused as not a
//! person. Enrolling and answering run on the org's leader, where TOTP secrets are opened
//! (`ProtocolRequest::Mfa`); the rest are reads and writes judged in `read`/`apply`.

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use lumo_cluster::command::{AuthenticatorPatch, Op};
use lumo_cluster::mfa::STEP_UP_HEADER;
use lumo_cluster::model::mfa::RECOVERY_CODES;
use lumo_cluster::model::passkey::PENDING_PASSKEY_ID;
use lumo_cluster::model::{ChallengePurpose, ChallengeStatus, FactorKind};
use lumo_cluster::oauth::mfa::{RECOVERY_CODE_CHARS, code_hash, random_code};
use lumo_cluster::protocol::{MfaCall, ProtocolReply, ProtocolRequest};
use lumo_cluster::query::{Query, Reply, Request};
use serde_json::json;

use crate::dto::mfa as dto;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Ctx, OptionalJsonBody};
use crate::reply;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me/authenticators", get(list))
        .route("/me/authenticators/{type}/enroll", post(enroll))
        .route("/me/authenticators/{id}/verify", post(verify))
        .route("/me/authenticators/{id}", patch(update).delete(remove))
        .route(
            "/me/recovery-codes",
            get(recovery_status).post(generate_recovery),
        )
        .route("/me/trusted-devices", get(trusted_devices))
        .route(
            "/me/trusted-devices/{id}",
            axum::routing::delete(revoke_device),
        )
        .route("/mfa/challenges", post(start_challenge))
        .route("/mfa/challenges/{id}", get(show_challenge))
        .route("/mfa/challenges/{id}/verify", post(answer_challenge))
}

/// The step-up challenge id a request carries.
pub(crate) fn step_up(headers: &HeaderMap) -> Option<String> {
    headers
        .get(STEP_UP_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().chars().take(64).collect())
}

/// Judges the caller's step-up (`X-MFA-Challenge`) for a sensitive operation: signed-in people
/// need a challenge they approved within the policy's maximum age; API keys pass.
pub(crate) async fn require_step_up(ctx: &Ctx, headers: &HeaderMap) -> ApiResult<()> {
    ctx.read(Query::StepUp(step_up(headers))).await?;
    Ok(())
}

/// An id path parameter (`mfa_…`, `mfc_…`, `tdv_…`): short and plain.
fn id_param(ctx: &Ctx, name: &str) -> ApiResult<String> {
    let id = ctx.param(name)?;
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(ApiError::Cluster(lumo_cluster::ClusterError::not_found(
            "authenticator",
            id.chars().take(64).collect::<String>(),
        )));
    }
    Ok(id.to_string())
}

async fn mfa_call(ctx: &Ctx, call: MfaCall) -> ApiResult<ProtocolReply> {
    let request = ProtocolRequest::Mfa {
        credential: ctx.credential.clone(),
        call,
    };
    match ctx.call(Request::Protocol(request)).await? {
        Reply::Protocol(reply) => Ok(reply),
        other => Err(ApiError::unexpected(other)),
    }
}

async fn list(ctx: Ctx) -> ApiResult<Response> {
    let view = reply!(
        ctx.read(Query::MyAuthenticators).await?,
        Reply::Authenticators
    );
    Ok(axum::Json(dto::my_authenticators(&view)).into_response())
}

async fn enroll(ctx: Ctx, headers: HeaderMap, body: OptionalJsonBody) -> ApiResult<Response> {
    let kind = FactorKind::parse(ctx.param("type")?).ok_or_else(|| {
        ApiError::invalid(
            "type",
            "must be one of totp, sms_otp, email_otp, push, passkey",
        )
    })?;
    let mut body = Body::new(crate::extract::JsonBody(body.0));
    body.opt_str("phone", 32);
    body.opt_str("country", 8);
    body.finish()?;
    let call = MfaCall::Enroll {
        kind,
        step_up: step_up(&headers),
    };
    match mfa_call(&ctx, call).await? {
        ProtocolReply::MfaEnrollment(enrollment) => {
            let data = match enrollment.authenticator.kind {
                FactorKind::EmailOtp => dto::email_enrollment(&enrollment.authenticator),
                FactorKind::Passkey => dto::passkey_enrollment(&enrollment),
                _ => {
                    let qr = enrollment
                        .otpauth_uri
                        .as_deref()
                        .map(crate::qr::svg_data_uri)
                        .unwrap_or_default();
                    dto::totp_enrollment(&enrollment, qr)
                }
            };
            Ok((StatusCode::CREATED, axum::Json(data)).into_response())
        }
        other => Err(ApiError::unexpected(other)),
    }
}

/// What a verify body carries: `{code}`, or `{credential}` (a passkey's WebAuthn answer).
enum Given {
    Code(Option<String>),
    Credential(String),
}

fn answer_of(body: OptionalJsonBody) -> ApiResult<Given> {
    let mut body = Body::new(crate::extract::JsonBody(body.0));
    let code = body.opt_str("code", 64);
    let raw = body.raw("credential").cloned();
    let credential = match raw {
        None | Some(serde_json::Value::Null) => None,
        Some(value @ serde_json::Value::Object(_)) => Some(value.to_string()),
        Some(_) => {
            body.problem(
                "credential",
                "must be an object (a WebAuthn PublicKeyCredential)",
            );
            None
        }
    };
    if code.is_some() && credential.is_some() {
        body.problem("credential", "send either code or credential, not both");
    }
    body.finish()?;
    Ok(match credential {
        Some(credential) => Given::Credential(credential),
        None => Given::Code(code),
    })
}

async fn verify(ctx: Ctx, body: OptionalJsonBody) -> ApiResult<Response> {
    // The contract names a pending passkey `passkey:pending`.
    let id = match ctx.param("id")? {
        PENDING_PASSKEY_ID => PENDING_PASSKEY_ID.to_string(),
        _ => id_param(&ctx, "id")?,
    };
    let call = match answer_of(body)? {
        Given::Code(code) => MfaCall::VerifyAuthenticator { id, code },
        Given::Credential(credential) => MfaCall::VerifyPasskey { id, credential },
    };
    match mfa_call(&ctx, call).await? {
        ProtocolReply::MfaAuthenticator(a) => {
            Ok(axum::Json(dto::authenticator(&a)).into_response())
        }
        other => Err(ApiError::unexpected(other)),
    }
}

async fn update(ctx: Ctx, body: OptionalJsonBody) -> ApiResult<Response> {
    let id = id_param(&ctx, "id")?;
    let mut body = Body::new(crate::extract::JsonBody(body.0));
    let display_name = body.opt_str("display_name", 64);
    if display_name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        body.problem("display_name", "may not be empty");
    }
    let is_default = body.opt_bool("is_default");
    body.finish()?;
    let op = Op::UpdateAuthenticator {
        id,
        patch: AuthenticatorPatch {
            display_name: display_name.map(|n| n.trim().to_string()),
            is_default,
        },
    };
    match ctx.write(op).await? {
        Reply::Done(lumo_cluster::query::Outcome::Authenticator(a)) => {
            Ok(axum::Json(dto::authenticator(&a)).into_response())
        }
        other => Err(ApiError::unexpected(other)),
    }
}

async fn remove(ctx: Ctx, headers: HeaderMap) -> ApiResult<Response> {
    let id = id_param(&ctx, "id")?;
    let op = Op::RemoveAuthenticator {
        user: None,
        id,
        step_up: step_up(&headers),
    };
    ctx.write(op).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn recovery_status(ctx: Ctx) -> ApiResult<Response> {
    let view = reply!(
        ctx.read(Query::RecoveryCodeStatus).await?,
        Reply::RecoveryCodeStatus
    );
    Ok(axum::Json(dto::recovery_status(&view)).into_response())
}

async fn generate_recovery(ctx: Ctx, headers: HeaderMap) -> ApiResult<Response> {
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| random_code(RECOVERY_CODE_CHARS, RECOVERY_CODE_CHARS / 2))
        .collect();
    let op = Op::SetRecoveryCodes {
        hashes: codes.iter().map(|c| code_hash(c)).collect(),
        step_up: step_up(&headers),
    };
    let view = reply!(
        ctx.write_then(op, Query::RecoveryCodeStatus).await?,
        Reply::RecoveryCodeStatus
    );
    let data = json!({
        "codes": codes,
        "remaining": view.remaining,
        "generated_at": view.generated_at.map(|t| t.to_rfc3339()),
    });
    Ok((StatusCode::CREATED, axum::Json(data)).into_response())
}

async fn trusted_devices(ctx: Ctx) -> ApiResult<Response> {
    let devices = reply!(
        ctx.read(Query::TrustedDevices).await?,
        Reply::TrustedDevices
    );
    let data: Vec<_> = devices.iter().map(dto::trusted_device).collect();
    Ok(axum::Json(json!({ "data": data })).into_response())
}

async fn revoke_device(ctx: Ctx) -> ApiResult<Response> {
    let id = id_param(&ctx, "id")?;
    ctx.write(Op::RevokeTrustedDevice(id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn start_challenge(ctx: Ctx, body: OptionalJsonBody) -> ApiResult<Response> {
    let mut body = Body::new(crate::extract::JsonBody(body.0));
    let purpose = match body.opt_str("purpose", 16).as_deref() {
        None | Some("step_up") => ChallengePurpose::StepUp,
        Some("login") => ChallengePurpose::Login,
        Some(_) => {
            body.problem("purpose", "must be step_up or login");
            ChallengePurpose::StepUp
        }
    };
    let authenticator_id = body.opt_str("authenticator_id", 64);
    let min_tier = body.opt_u64("min_tier");
    if min_tier.is_some_and(|t| !(1..=4).contains(&t)) {
        body.problem("min_tier", "must be between 1 and 4");
    }
    let action_description = body.opt_str("action_description", 255);
    body.finish()?;
    let call = MfaCall::StartChallenge {
        purpose,
        authenticator_id,
        min_tier: min_tier.and_then(|t| u8::try_from(t).ok()),
        action_description,
    };
    match mfa_call(&ctx, call).await? {
        ProtocolReply::MfaChallenge(c) => {
            let data = dto::challenge(&c, ChallengeStatus::Issued, None);
            Ok((StatusCode::CREATED, axum::Json(data)).into_response())
        }
        ProtocolReply::MfaPasskeyChallenge {
            challenge,
            public_key,
        } => {
            let data = dto::challenge(
                &challenge,
                ChallengeStatus::Issued,
                Some(public_key.as_str()),
            );
            Ok((StatusCode::CREATED, axum::Json(data)).into_response())
        }
        other => Err(ApiError::unexpected(other)),
    }
}

async fn show_challenge(ctx: Ctx) -> ApiResult<Response> {
    let id = id_param(&ctx, "id")?;
    let view = reply!(
        ctx.read(Query::MfaChallenge(id)).await?,
        Reply::MfaChallenge
    );
    Ok(axum::Json(dto::challenge_view(&view)).into_response())
}

async fn answer_challenge(ctx: Ctx, body: OptionalJsonBody) -> ApiResult<Response> {
    let id = id_param(&ctx, "id")?;
    let call = match answer_of(body)? {
        Given::Code(Some(code)) => MfaCall::AnswerChallenge { id, code },
        Given::Code(None) => {
            return Err(ApiError::invalid(
                "code",
                "is required (or credential, a passkey's WebAuthn assertion)",
            ));
        }
        Given::Credential(credential) => MfaCall::AnswerWithPasskey { id, credential },
    };
    match mfa_call(&ctx, call).await? {
        ProtocolReply::MfaChallenge(c) => {
            Ok(axum::Json(dto::challenge(&c, c.status, None)).into_response())
        }
        other => Err(ApiError::unexpected(other)),
    }
}
