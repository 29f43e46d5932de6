//! The hosted sign-in's second factor. After the password, [`step`] `Begin` decides: no factor
//! and none required signs in; a trusted device signs in; otherwise a login challenge is bound
//! to the browser by a cookie (`id.secret`, only the secret's hash is stored) and the page asks
//! for a code. A user the org requires MFA of who has no factor (or who was let in by a
//! temporary access code) enrolls an authenticator app on the page before the session starts.

use super::self_service::Answer;
use super::{deliver, email_challenge, new_id, new_totp, passkey, reopen, totp_step, used_context};
use crate::command::{MfaProof, MfaSignIn, Op, SecondFactor, SignIn, UserKey};
use crate::crypto::{random_token, secret_hash, secret_matches};
use crate::error::{ClusterError, MfaCode, Result};
use crate::ids::UserId;
use crate::mfa::{self as rules, Requirement, user_row_key};
use crate::model::mfa::{CHALLENGE_ATTEMPTS, CHALLENGE_TTL_MS};
use crate::model::{
    Authenticator, ChallengePurpose, ChallengeStatus, FactorKind, MfaChallenge, TrustedDevice, User,
};
use crate::protocol::{LoginMfaPage, LoginOutcome, LoginStep, ProtocolReply};
use crate::query::Outcome;
use crate::tables::Table;

use super::super::login::{new_session, user_actor};
use super::super::runtime::ProtocolCtx;

const DAY_MS: i64 = 86_400_000;

pub(in crate::oauth) async fn step(ctx: &ProtocolCtx, step: LoginStep) -> Result<ProtocolReply> {
    let outcome = match step {
        LoginStep::Begin {
            user,
            client_id,
            device,
        } => begin(ctx, user, client_id, device.as_deref(), None).await?,
        LoginStep::Describe { cookie } => {
            let (challenge, user) = from_cookie(ctx, &cookie)?;
            LoginOutcome::Page(Box::new(page(ctx, challenge, &user)?))
        }
        LoginStep::Answer {
            cookie,
            code,
            trust_device,
            client_id,
        } => answer(ctx, &cookie, Answer::Code(&code), trust_device, client_id).await?,
        LoginStep::AnswerPasskey {
            cookie,
            credential,
            trust_device,
            client_id,
        } => {
            let given = Answer::Passkey(&credential);
            answer(ctx, &cookie, given, trust_device, client_id).await?
        }
        LoginStep::PasskeyBegin => passkey::begin_passwordless(ctx).await?,
        LoginStep::PasskeyFinish {
            ceremony,
            credential,
            client_id,
        } => passkey::finish_passwordless(ctx, &ceremony, &credential, client_id).await?,
        LoginStep::Enroll { cookie } => {
            let (challenge, user) = from_cookie(ctx, &cookie)?;
            if !must_enroll(&challenge) {
                return Err(expired());
            }
            LoginOutcome::Enrollment(Box::new(enroll(ctx, &challenge, &user).await?))
        }
        LoginStep::VerifyEnrollment {
            cookie,
            authenticator_id,
            code,
            client_id,
        } => {
            let given = Answer::Code(&code);
            verify_enrollment(ctx, &cookie, &authenticator_id, given, client_id).await?
        }
        LoginStep::VerifyPasskeyEnrollment {
            cookie,
            authenticator_id,
            credential,
            client_id,
        } => {
            let given = Answer::Passkey(&credential);
            verify_enrollment(ctx, &cookie, &authenticator_id, given, client_id).await?
        }
    };
    Ok(ProtocolReply::LoginMfa(outcome))
}

/// A recorded wrong answer, as the page shows it.
fn wrong_answer(refused: &Outcome) -> LoginOutcome {
    match refused {
        Outcome::MfaRefused {
            attempts_remaining,
            locked_until,
        } => LoginOutcome::Wrong {
            attempts_remaining: *attempts_remaining,
            locked: locked_until.is_some(),
        },
        _ => LoginOutcome::Wrong {
            attempts_remaining: 0,
            locked: false,
        },
    }
}

fn expired() -> ClusterError {
    ClusterError::mfa(
        MfaCode::ChallengeExpired,
        "the sign-in expired or was already used; sign in again",
    )
}

/// True when the browser must enroll a factor before its session starts.
fn must_enroll(challenge: &MfaChallenge) -> bool {
    (challenge.status == ChallengeStatus::Issued && challenge.purpose == ChallengePurpose::Enroll)
        || challenge.let_in_to_enroll()
}

/// The challenge a browser's cookie (`id.secret`) names, and its user.
fn from_cookie(ctx: &ProtocolCtx, cookie: &str) -> Result<(MfaChallenge, User)> {
    let (id, secret) = cookie.split_once('.').ok_or_else(expired)?;
    if id.len() > 64 || secret.len() > 100 {
        return Err(expired());
    }
    let reader = ctx.reader();
    let challenge: MfaChallenge = reader
        .get(Table::MfaChallenge, id.as_bytes())?
        .ok_or_else(expired)?;
    let bound = challenge
        .browser_hash
        .as_deref()
        .is_some_and(|hash| secret_matches(secret, hash));
    let live = challenge.expires_at > ctx.now || must_enroll(&challenge);
    if !bound || !live || challenge.consumed {
        return Err(expired());
    }
    let user = crate::lookup::user(&reader, &UserKey::Id(challenge.user_id))?;
    Ok((challenge, user))
}

fn page(ctx: &ProtocolCtx, challenge: MfaChallenge, user: &User) -> Result<LoginMfaPage> {
    let reader = ctx.reader();
    let factor = match &challenge.authenticator_id {
        Some(id) => rules::authenticator(&reader, user.id, id)
            .ok()
            .map(|a| (a.kind, a.display_name)),
        None => None,
    };
    let public_key = rules::ceremony(&reader, &challenge.id)?
        .filter(|c| c.live(ctx.now) && challenge.status == ChallengeStatus::Issued)
        .map(|c| c.options);
    Ok(LoginMfaPage {
        public_key,
        must_enroll: must_enroll(&challenge),
        challenge,
        email: user.email.clone(),
        factor,
        trusted_device_days: rules::policy(&reader)?.trusted_device_days,
    })
}

/// What a user whose first factor was right (a password, or an upstream provider's word:
/// `federated` names it) must still prove.
pub(in crate::oauth) async fn begin(
    ctx: &ProtocolCtx,
    user_id: UserId,
    client_id: Option<String>,
    device: Option<&str>,
    federated: Option<String>,
) -> Result<LoginOutcome> {
    let reader = ctx.reader();
    let user = crate::lookup::user(&reader, &UserKey::Id(user_id))?;
    let policy = rules::policy(&reader)?;
    let factors: Vec<_> = rules::authenticators(&reader, user_id)?
        .into_iter()
        .filter(|a| {
            a.is_active()
                && matches!(
                    a.kind,
                    FactorKind::Totp | FactorKind::EmailOtp | FactorKind::Passkey
                )
        })
        .collect();
    let required = rules::requirement(&reader, &policy, &user, ctx.now)? == Requirement::Required;
    // Factors weaker than the policy's `min_tier_login` do not answer a sign-in: a user who
    // has only such factors enrolls a stronger one first.
    let floor = policy.min_tier_login;
    let strong_enough: Vec<&Authenticator> =
        factors.iter().filter(|a| a.kind.tier() <= floor).collect();
    let counting = strong_enough.iter().any(|a| policy.counts(a.kind));
    let too_weak = !factors.is_empty() && strong_enough.is_empty();
    if factors.is_empty() && !required {
        return sign_in(
            ctx,
            user_id,
            client_id,
            SecondFactor::NotRequired,
            None,
            federated,
        )
        .await;
    }
    if policy.trusted_device_days > 0
        && let Some((id, secret)) = device.and_then(|d| d.split_once('.'))
        && id.len() <= 64
    {
        let known: Option<TrustedDevice> =
            reader.get(Table::MfaTrustedDevice, &user_row_key(user_id, id))?;
        if known.is_some_and(|d| d.expires_at > ctx.now && secret_matches(secret, &d.secret_hash)) {
            let second = SecondFactor::TrustedDevice {
                id: id.to_string(),
                secret_hash: secret_hash(secret),
            };
            return sign_in(ctx, user_id, client_id, second, None, federated).await;
        }
    }
    let secret = random_token("", 24);
    let default = strong_enough
        .iter()
        .find(|a| a.is_default)
        .or(strong_enough.first())
        .copied();
    let mut challenge = MfaChallenge {
        id: new_id("mfc_"),
        user_id,
        purpose: if (required && !counting) || too_weak {
            ChallengePurpose::Enroll
        } else {
            ChallengePurpose::Login
        },
        status: ChallengeStatus::Issued,
        authenticator_id: default.map(|a| a.id.clone()),
        min_tier: (floor < 4).then_some(floor),
        action_description: None,
        created_at: ctx.now,
        expires_at: ctx.now.plus_millis(CHALLENGE_TTL_MS),
        attempts_remaining: CHALLENGE_ATTEMPTS,
        code_hash: None,
        browser_hash: Some(secret_hash(&secret)),
        approved_at: None,
        approved_with: None,
        amr: Vec::new(),
        consumed: false,
    };
    let cookie = format!("{}.{secret}", challenge.id);
    let email = if challenge.purpose == ChallengePurpose::Login {
        email_challenge(ctx, &mut challenge, default)?
    } else {
        None
    };
    // A passkey needs a domain name; reached otherwise, the page takes codes only.
    let op = if challenge.purpose == ChallengePurpose::Login {
        passkey::challenge_op(ctx, challenge.clone(), default)
            .unwrap_or(Op::StartMfaChallenge(challenge))
    } else {
        Op::StartMfaChallenge(challenge)
    };
    ctx.propose(user_actor(user.id, &user.email), op).await?;
    deliver(ctx, email).await?;
    Ok(LoginOutcome::SecondFactor { cookie })
}

async fn answer(
    ctx: &ProtocolCtx,
    cookie: &str,
    given: Answer<'_>,
    trust_device: bool,
    client_id: Option<String>,
) -> Result<LoginOutcome> {
    let (challenge, user) = from_cookie(ctx, cookie)?;
    if challenge.status != ChallengeStatus::Issued || challenge.purpose != ChallengePurpose::Login {
        return Err(expired());
    }
    let proof = given.prove(ctx, user.id, &challenge)?;
    let op = Op::AnswerMfaChallenge {
        id: challenge.id.clone(),
        proof,
        context: used_context(ctx),
    };
    let approved = match ctx.propose(user_actor(user.id, &user.email), op).await? {
        Outcome::MfaChallenge(c) => *c,
        refused @ Outcome::MfaRefused { .. } => return Ok(wrong_answer(&refused)),
        other => {
            return Err(ClusterError::internal(format!(
                "an answer answered {other:?}"
            )));
        }
    };
    if must_enroll(&approved) {
        return Ok(LoginOutcome::Page(Box::new(page(ctx, approved, &user)?)));
    }
    let policy = rules::policy(&ctx.reader())?;
    let trust = (trust_device && policy.trusted_device_days > 0).then(|| {
        let secret = random_token("", 24);
        let device = TrustedDevice {
            id: new_id("tdv_"),
            user_id: user.id,
            secret_hash: secret_hash(&secret),
            label: ctx
                .request
                .user_agent
                .clone()
                .map(|ua| ua.chars().take(120).collect()),
            ip_address: ctx.request.ip.clone(),
            created_at: ctx.now,
            expires_at: ctx
                .now
                .plus_millis(policy.trusted_device_days.saturating_mul(DAY_MS)),
            last_used_at: None,
        };
        (device, secret)
    });
    sign_in(
        ctx,
        user.id,
        client_id,
        SecondFactor::Challenge(approved.id),
        trust,
        None,
    )
    .await
}

async fn verify_enrollment(
    ctx: &ProtocolCtx,
    cookie: &str,
    authenticator_id: &str,
    given: Answer<'_>,
    client_id: Option<String>,
) -> Result<LoginOutcome> {
    let (challenge, user) = from_cookie(ctx, cookie)?;
    if !must_enroll(&challenge) {
        return Err(expired());
    }
    let authenticator = rules::authenticator(&ctx.reader(), user.id, authenticator_id)?;
    let proof = match given {
        Answer::Passkey(credential) if authenticator.kind == FactorKind::Passkey => {
            passkey::prove_registration(ctx, &authenticator, credential)?
        }
        Answer::Code(code) => match totp_step(ctx, &authenticator, code)? {
            Some(step) => MfaProof::Totp {
                authenticator: authenticator_id.to_string(),
                step,
            },
            None => MfaProof::Wrong,
        },
        Answer::Passkey(_) => MfaProof::Wrong,
    };
    let op = Op::VerifyAuthenticator {
        id: authenticator_id.to_string(),
        proof,
        approves: Some(challenge.id.clone()),
    };
    match ctx.propose(user_actor(user.id, &user.email), op).await? {
        Outcome::Authenticator(_) => {}
        refused @ Outcome::MfaRefused { .. } => return Ok(wrong_answer(&refused)),
        other => {
            return Err(ClusterError::internal(format!(
                "verifying answered {other:?}"
            )));
        }
    }
    sign_in(
        ctx,
        user.id,
        client_id,
        SecondFactor::Challenge(challenge.id),
        None,
        None,
    )
    .await
}

/// The factor a sign-in that must enroll one enrolls: a passkey when the policy takes nothing
/// weaker at sign-in (`min_tier_login: 1`), an authenticator app otherwise. The one this
/// sign-in is already enrolling is shown again (a reload, or a wrong first code).
async fn enroll(
    ctx: &ProtocolCtx,
    challenge: &MfaChallenge,
    user: &User,
) -> Result<crate::protocol::Enrollment> {
    let reader = ctx.reader();
    let kind = if rules::policy(&reader)?.min_tier_login <= FactorKind::Passkey.tier() {
        FactorKind::Passkey
    } else {
        FactorKind::Totp
    };
    let pending = rules::authenticators(&reader, user.id)?
        .into_iter()
        .rev()
        .find(|a| {
            !a.is_active()
                && a.kind == kind
                && a.created_at >= challenge.created_at
                && !a.pending_expired(ctx.now)
        });
    let actor = user_actor(user.id, &user.email);
    if kind == FactorKind::Totp {
        if let Some(authenticator) = pending {
            return reopen(ctx, user, authenticator);
        }
        let enrollment = new_totp(ctx, user)?;
        let op = Op::EnrollAuthenticator(enrollment.authenticator.clone());
        ctx.propose(actor, op).await?;
        return Ok(enrollment);
    }
    let open = match pending {
        Some(a) => rules::ceremony(&reader, &a.id)?
            .filter(|c| c.live(ctx.now))
            .map(|c| (a, c.options)),
        None => None,
    };
    let (authenticator, options) = match open {
        Some(open) => open,
        None => {
            let (authenticator, ceremony) = passkey::new_registration(ctx, user)?;
            let options = ceremony.options.clone();
            let op = Op::EnrollPasskey {
                authenticator: authenticator.clone(),
                ceremony,
            };
            ctx.propose(actor, op).await?;
            (authenticator, options)
        }
    };
    let mut enrollment = crate::protocol::Enrollment::of(authenticator);
    enrollment.public_key = Some(options);
    Ok(enrollment)
}

/// Starts the session, spending the second factor in the same entry.
async fn sign_in(
    ctx: &ProtocolCtx,
    user: UserId,
    client_id: Option<String>,
    second: SecondFactor,
    trust: Option<(TrustedDevice, String)>,
    federated: Option<String>,
) -> Result<LoginOutcome> {
    let (cookie, mut session, timeout) = new_session(ctx, user)?;
    let actor = user_actor(session.user_id, &session.user_email);
    let first = match &federated {
        Some(method) if method == crate::oauth::magic_link::MAGIC_LINK_METHOD => {
            // RFC 8176 has no value for an emailed link; `email` as Okta and Auth0 name it.
            session.amr = vec!["email".to_string()];
            method.as_str()
        }
        Some(provider) => {
            // RFC 8176 has no value for "an upstream provider vouched": `fed` as Entra ID.
            session.amr = vec!["fed".to_string()];
            provider.as_str()
        }
        None => "password",
    };
    let method = match &second {
        SecondFactor::Challenge(_) => format!("{first}+mfa"),
        SecondFactor::TrustedDevice { .. } => format!("{first}+trusted_device"),
        SecondFactor::NotRequired => first.to_string(),
    };
    let trusted_device = trust.as_ref().map(|(device, secret)| {
        let max_age = (device.expires_at.0 - ctx.now.0).max(0) / 1000;
        (
            format!("{}.{secret}", device.id),
            u64::try_from(max_age).unwrap_or(0),
        )
    });
    let op = Op::SignInWithMfa(MfaSignIn {
        sign_in: SignIn {
            session,
            method: method.to_string(),
            client_id,
        },
        second,
        trust: trust.map(|(device, _)| device),
    });
    match ctx.propose(actor, op).await? {
        Outcome::Session(_) => Ok(LoginOutcome::SignedIn {
            cookie,
            expires_in: timeout,
            trusted_device,
        }),
        other => Err(ClusterError::internal(format!(
            "a sign-in answered {other:?}"
        ))),
    }
}
