//! A user's own MFA calls: enrolling and verifying an authenticator, starting and answering
//! challenges.

use super::{
    deliver, email_challenge, new_email, new_id, new_totp, otp_hash, passkey, prove, refusal_error,
    send_code, totp_step, used_context,
};
use crate::access::authenticate as authenticate_credential;
use crate::caller::Credential;
use crate::command::{MfaProof, Op};
use crate::error::{ClusterError, MfaCode, Result};
use crate::ids::UserId;
use crate::mfa::{self as rules, check_step_up};
use crate::model::mfa::{CHALLENGE_ATTEMPTS, CHALLENGE_TTL_MS};
use crate::model::passkey::PENDING_PASSKEY_ID;
use crate::model::{ChallengePurpose, ChallengeStatus, FactorKind, MfaChallenge, Principal};
use crate::protocol::{Enrollment, MfaCall, ProtocolReply};
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
        MfaCall::AnswerChallenge { id, code } => {
            answer(ctx, &principal, user, &id, Answer::Code(&code)).await
        }
        MfaCall::VerifyPasskey { id, credential } => {
            verify_passkey(ctx, &principal, user, &id, &credential).await
        }
        MfaCall::AnswerWithPasskey { id, credential } => {
            answer(ctx, &principal, user, &id, Answer::Passkey(&credential)).await
        }
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
    if !matches!(
        kind,
        FactorKind::Totp | FactorKind::EmailOtp | FactorKind::Passkey
    ) {
        return Err(ClusterError::NotImplemented {
            message: format!(
                "enrolling {} authenticators is not available on this server yet; use totp",
                kind.as_str()
            ),
        });
    }
    if kind == FactorKind::EmailOtp {
        // No mail sender: the feature is not there, whoever asks.
        super::can_email_codes(ctx)?;
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
    let (enrollment, email_code, op) = match kind {
        FactorKind::EmailOtp => {
            let (authenticator, code) = new_email(ctx, &record)?;
            let op = Op::EnrollAuthenticator(authenticator.clone());
            (Enrollment::of(authenticator), Some(code), op)
        }
        FactorKind::Passkey => {
            let (authenticator, ceremony) = passkey::new_registration(ctx, &record)?;
            let mut enrollment = Enrollment::of(authenticator.clone());
            enrollment.public_key = Some(ceremony.options.clone());
            let op = Op::EnrollPasskey {
                authenticator,
                ceremony,
            };
            (enrollment, None, op)
        }
        _ => {
            let enrollment = new_totp(ctx, &record)?;
            let op = Op::EnrollAuthenticator(enrollment.authenticator.clone());
            (enrollment, None, op)
        }
    };
    match ctx.propose(principal.kind.clone(), op).await? {
        Outcome::Authenticator(_) => {
            if let Some(code) = email_code {
                send_code(ctx, &record.email, &code).await?;
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
    activate(ctx, principal, id, proof).await
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
    let op = passkey::challenge_op(ctx, challenge, chosen)?;
    let public_key = match &op {
        Op::StartPasskeyChallenge { ceremony, .. } => Some(ceremony.options.clone()),
        _ => None,
    };
    match ctx.propose(principal.kind.clone(), op).await? {
        Outcome::MfaChallenge(c) => {
            deliver(ctx, email).await?;
            Ok(match public_key {
                Some(public_key) => ProtocolReply::MfaPasskeyChallenge {
                    challenge: c,
                    public_key,
                },
                None => ProtocolReply::MfaChallenge(*c),
            })
        }
        other => Err(ClusterError::internal(format!(
            "a challenge answered {other:?}"
        ))),
    }
}

/// A challenge's answer: a code, or a passkey's assertion (JSON).
pub(super) enum Answer<'a> {
    Code(&'a str),
    Passkey(&'a str),
}

impl Answer<'_> {
    /// What this answer proves for `user` answering `challenge`.
    pub(super) fn prove(
        &self,
        ctx: &ProtocolCtx,
        user: UserId,
        challenge: &MfaChallenge,
    ) -> Result<MfaProof> {
        match self {
            Answer::Code(code) => prove(ctx, user, code, Some(challenge)),
            Answer::Passkey(credential) => passkey::prove_assertion(ctx, challenge, credential),
        }
    }
}

async fn answer(
    ctx: &ProtocolCtx,
    principal: &Principal,
    user: UserId,
    id: &str,
    given: Answer<'_>,
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
    let proof = given.prove(ctx, user, &challenge)?;
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

/// A pending passkey's registration answer; `passkey:pending` names the user's newest pending
/// passkey.
async fn verify_passkey(
    ctx: &ProtocolCtx,
    principal: &Principal,
    user: UserId,
    id: &str,
    credential: &str,
) -> Result<ProtocolReply> {
    let reader = ctx.reader();
    let authenticator = if id == PENDING_PASSKEY_ID {
        rules::authenticators(&reader, user)?
            .into_iter()
            .rev()
            .find(|a| a.kind == FactorKind::Passkey && !a.is_active())
            .ok_or_else(|| ClusterError::not_found("authenticator", id))?
    } else {
        rules::authenticator(&reader, user, id)?
    };
    if authenticator.kind != FactorKind::Passkey {
        return Err(ClusterError::invalid(
            "credential",
            "only a passkey is verified with a WebAuthn credential; send {code}",
        ));
    }
    if authenticator.is_active() {
        return Err(ClusterError::conflict(
            "state",
            "the authenticator is already active",
        ));
    }
    let proof = passkey::prove_registration(ctx, &authenticator, credential)?;
    activate(ctx, principal, &authenticator.id, proof).await
}

/// Proposes what `proof` proves for pending authenticator `id`: the activated authenticator,
/// or the wrong answer as the caller's error.
async fn activate(
    ctx: &ProtocolCtx,
    principal: &Principal,
    id: &str,
    proof: MfaProof,
) -> Result<ProtocolReply> {
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
