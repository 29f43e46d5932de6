//! A user's own MFA calls: enrolling and verifying an authenticator, starting and answering
//! challenges.

use super::{
    deliver, email_challenge, new_email, new_id, new_totp, otp_hash, prove, refusal_error,
    send_code, totp_step, used_context,
};
use crate::access::authenticate as authenticate_credential;
use crate::caller::Credential;
use crate::command::{MfaProof, Op};
use crate::error::{ClusterError, MfaCode, Result};
use crate::ids::UserId;
use crate::mfa::{self as rules, check_step_up};
use crate::model::mfa::{CHALLENGE_ATTEMPTS, CHALLENGE_TTL_MS};
use crate::model::{ChallengePurpose, ChallengeStatus, FactorKind, MfaChallenge, Principal};
use crate::protocol::{MfaCall, ProtocolReply};
use crate::query::Outcome;

use super::super::runtime::ProtocolCtx;

pub(in crate::oauth) async fn call(
    ctx: &ProtocolCtx,
    credential: &Credential,
    call: MfaCall,
) -> Result<ProtocolReply> {
    let principal = authenticate_credential(&ctx.reader(), credential, ctx.now)?;
    // A JIT grant token proves its grant; it does not manage the user's factors.
    if principal.grant_only {
        return Err(ClusterError::mfa(
            MfaCode::UserTokenRequired,
            "a JIT grant token cannot manage multi-factor authentication: use the user's own token",
        ));
    }
    let user = rules::own_user(&principal)?;
    match call {
        MfaCall::Enroll { kind, step_up } => {
            enroll(ctx, credential, &principal, user, kind, step_up.as_deref()).await
        }
        MfaCall::VerifyAuthenticator { id, code } => verify(ctx, &principal, user, &id, code).await,
        MfaCall::StartChallenge {
            purpose,
            authenticator_id,
            min_tier,
            action_description,
        } => {
            let options = ChallengeOptions {
                purpose,
                authenticator_id,
                min_tier,
                action_description,
            };
            start(ctx, &principal, user, options).await
        }
        MfaCall::AnswerChallenge { id, code } => answer(ctx, &principal, user, &id, &code).await,
    }
}

/// The `auth_time` of a bearer credential, in milliseconds.
fn auth_time(ctx: &ProtocolCtx, credential: &Credential) -> Option<i64> {
    let Credential::Bearer(token) = credential else {
        return None;
    };
    crate::oauth::verify_access_token(&ctx.reader(), token, ctx.now)
        .ok()?
        .claims
        .auth_time
        .map(|secs| secs.saturating_mul(1000))
}

async fn enroll(
    ctx: &ProtocolCtx,
    credential: &Credential,
    principal: &Principal,
    user: UserId,
    kind: FactorKind,
    step_up: Option<&str>,
) -> Result<ProtocolReply> {
    let reader = ctx.reader();
    let policy = rules::policy(&reader)?;
    if !policy.allows(kind) {
        return Err(ClusterError::mfa(
            MfaCode::FactorNotAllowed,
            format!(
                "the organization does not allow {} authenticators",
                kind.as_str()
            ),
        ));
    }
    if !matches!(kind, FactorKind::Totp | FactorKind::EmailOtp) {
        return Err(ClusterError::NotImplemented {
            message: format!(
                "enrolling {} authenticators is not available on this server yet; use totp",
                kind.as_str()
            ),
        });
    }
    if kind == FactorKind::EmailOtp {
        // No mail sender: the feature is not there, whoever asks.
        super::mailer(ctx)?;
    }
    let has_factors = rules::authenticators(&reader, user)?
        .iter()
        .any(|a| a.is_active());
    let max_age = policy.step_up_max_age_seconds;
    if has_factors {
        check_step_up(&reader, principal, step_up, ctx.now, max_age, None)?;
    } else {
        let fresh = auth_time(ctx, credential)
            .is_some_and(|at| ctx.now.0 - at <= max_age.saturating_mul(1000));
        if !fresh {
            return Err(ClusterError::mfa(
                MfaCode::FreshSignInRequired,
                format!(
                    "enrolling a factor needs a sign-in from the last {max_age} seconds: sign in again"
                ),
            ));
        }
    }
    let record = crate::lookup::user(&reader, &crate::command::UserKey::Id(user))?;
    let (enrollment, email_code) = match kind {
        FactorKind::EmailOtp => {
            let (authenticator, code) = new_email(ctx, &record)?;
            let enrollment = crate::protocol::Enrollment {
                authenticator,
                secret: None,
                otpauth_uri: None,
            };
            (enrollment, Some(code))
        }
        _ => (new_totp(ctx, &record)?, None),
    };
    let op = Op::EnrollAuthenticator(enrollment.authenticator.clone());
    match ctx.propose(principal.kind.clone(), op).await? {
        Outcome::Authenticator(_) => {
            if let Some(code) = email_code {
                send_code(ctx, &record.email, &code)?;
            }
            Ok(ProtocolReply::MfaEnrollment(enrollment))
        }
        other => Err(ClusterError::internal(format!(
            "enrolling answered {other:?}"
        ))),
    }
}

async fn verify(
    ctx: &ProtocolCtx,
    principal: &Principal,
    user: UserId,
    id: &str,
    code: Option<String>,
) -> Result<ProtocolReply> {
    let authenticator = rules::authenticator(&ctx.reader(), user, id)?;
    let code = code.unwrap_or_default();
    let proof = match authenticator.kind {
        FactorKind::EmailOtp if !code.trim().is_empty() => MfaProof::EmailCode {
            authenticator: id.to_string(),
            code_hash: otp_hash(id, &code),
        },
        FactorKind::Totp => match totp_step(ctx, &authenticator, &code)? {
            Some(step) => MfaProof::Totp {
                authenticator: id.to_string(),
                step,
            },
            None => MfaProof::Wrong,
        },
        _ => MfaProof::Wrong,
    };
    let op = Op::VerifyAuthenticator {
        id: id.to_string(),
        proof,
        approves: None,
    };
    match refusal_error(ctx, ctx.propose(principal.kind.clone(), op).await?)? {
        Outcome::Authenticator(a) => Ok(ProtocolReply::MfaAuthenticator(*a)),
        other => Err(ClusterError::internal(format!(
            "verifying answered {other:?}"
        ))),
    }
}

struct ChallengeOptions {
    purpose: ChallengePurpose,
    authenticator_id: Option<String>,
    min_tier: Option<u8>,
    action_description: Option<String>,
}

async fn start(
    ctx: &ProtocolCtx,
    principal: &Principal,
    user: UserId,
    mut options: ChallengeOptions,
) -> Result<ProtocolReply> {
    let reader = ctx.reader();
    // A step-up asks at least the policy's tier (4, the default, takes any factor).
    let policy = rules::policy(&reader)?;
    if options.purpose == ChallengePurpose::StepUp && policy.min_tier_step_up < 4 {
        let floor = policy.min_tier_step_up;
        options.min_tier = Some(options.min_tier.map_or(floor, |asked| asked.min(floor)));
    }
    let factors: Vec<_> = rules::authenticators(&reader, user)?
        .into_iter()
        .filter(|a| a.is_active())
        .filter(|a| options.min_tier.is_none_or(|min| a.kind.tier() <= min))
        .collect();
    let chosen = match &options.authenticator_id {
        Some(id) => Some(
            factors
                .iter()
                .find(|a| &a.id == id)
                .ok_or_else(|| ClusterError::not_found("authenticator", id))?,
        ),
        None => factors.iter().find(|a| a.is_default).or(factors.first()),
    };
    let has_recovery = options.min_tier.is_none()
        && rules::recovery_codes(&reader, user)?.is_some_and(|set| set.remaining() > 0);
    if chosen.is_none() && !has_recovery {
        return Err(ClusterError::mfa(
            MfaCode::NoFactor,
            "no enrolled factor can answer this challenge: enroll one first",
        ));
    }
    let mut challenge = MfaChallenge {
        id: new_id("mfc_"),
        user_id: user,
        purpose: options.purpose,
        status: ChallengeStatus::Issued,
        authenticator_id: chosen.map(|a| a.id.clone()),
        min_tier: options.min_tier,
        action_description: options.action_description,
        created_at: ctx.now,
        expires_at: ctx.now.plus_millis(CHALLENGE_TTL_MS),
        attempts_remaining: CHALLENGE_ATTEMPTS,
        code_hash: None,
        browser_hash: None,
        approved_at: None,
        approved_with: None,
        amr: Vec::new(),
        consumed: false,
    };
    let email = email_challenge(ctx, &mut challenge, chosen)?;
    let op = Op::StartMfaChallenge(challenge);
    match ctx.propose(principal.kind.clone(), op).await? {
        Outcome::MfaChallenge(c) => {
            deliver(ctx, email)?;
            Ok(ProtocolReply::MfaChallenge(*c))
        }
        other => Err(ClusterError::internal(format!(
            "a challenge answered {other:?}"
        ))),
    }
}

async fn answer(
    ctx: &ProtocolCtx,
    principal: &Principal,
    user: UserId,
    id: &str,
    code: &str,
) -> Result<ProtocolReply> {
    let challenge: MfaChallenge = ctx
        .reader()
        .get(crate::tables::Table::MfaChallenge, id.as_bytes())?
        .ok_or_else(|| ClusterError::not_found("challenge", id))?;
    if challenge.user_id != user {
        return Err(ClusterError::mfa(
            MfaCode::ChallengeNotYours,
            "this challenge belongs to another user",
        ));
    }
    let proof = prove(ctx, user, code, Some(&challenge))?;
    let op = Op::AnswerMfaChallenge {
        id: id.to_string(),
        proof,
        context: used_context(ctx),
    };
    match refusal_error(ctx, ctx.propose(principal.kind.clone(), op).await?)? {
        Outcome::MfaChallenge(c) => Ok(ProtocolReply::MfaChallenge(*c)),
        other => Err(ClusterError::internal(format!(
            "an answer answered {other:?}"
        ))),
    }
}
