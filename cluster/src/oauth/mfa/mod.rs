//! MFA on the shard leader, where the master key opens TOTP secrets: a user's own calls
//! (`self_service.rs`) and the hosted sign-in's second factor (`sign_in.rs`). What a code
//! proves is worked out here ([`prove`]); whether it answers the challenge (a step not used
//! before, an unused recovery code) is decided in apply.

mod passkey;
mod self_service;
mod sign_in;

pub(super) use self_service::call;
pub(super) use sign_in::{begin as begin_sign_in, step};

use crate::command::MfaProof;
use crate::crypto::{secret_hash, totp};
use crate::error::{ClusterError, MfaCode, Result};
use crate::ids::UserId;
use crate::mfa as rules;
use crate::model::{Authenticator, FactorKind};
use crate::query::Outcome;

use super::runtime::ProtocolCtx;

const SEAL_CONTEXT: &str = "mfa-totp";
/// Recovery and temporary access codes are drawn from this alphabet (no 0/O, 1/I).
pub const CODE_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// Characters of a recovery code (`XXXXX-XXXXX`).
pub const RECOVERY_CODE_CHARS: usize = 10;
/// Characters of a temporary access code (`XXXX-XXXX-XXXX`).
pub const ACCESS_CODE_CHARS: usize = 12;

/// A random code of `chars` characters, grouped by `group` with dashes.
pub fn random_code(chars: usize, group: usize) -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let raw: Vec<char> = (0..chars)
        .map(|_| CODE_ALPHABET[rng.gen_range(0..CODE_ALPHABET.len())] as char)
        .collect();
    raw.chunks(group.max(1))
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// The hash a recovery or access code is stored as: case, spaces and dashes do not count.
pub fn code_hash(code: &str) -> String {
    secret_hash(&normalize(code))
}

fn normalize(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Seals a new TOTP secret for storage.
fn seal(ctx: &ProtocolCtx, secret: &str) -> Result<String> {
    ctx.runtime
        .seal_secret(ctx.org, SEAL_CONTEXT, secret.as_bytes())
}

/// The enrollment of a pending TOTP authenticator again (its secret opened), for a page that
/// shows it a second time.
fn reopen(
    ctx: &ProtocolCtx,
    user: &crate::model::User,
    authenticator: Authenticator,
) -> Result<crate::protocol::Enrollment> {
    let sealed = authenticator
        .sealed_secret
        .as_deref()
        .ok_or_else(|| ClusterError::internal("a TOTP authenticator without a secret"))?;
    let secret = String::from_utf8(ctx.runtime.open_secret(ctx.org, SEAL_CONTEXT, sealed)?)
        .map_err(|_| ClusterError::internal("a TOTP secret is not text"))?;
    let org = crate::lookup::load_org(&ctx.reader())?;
    Ok(crate::protocol::Enrollment {
        otpauth_uri: Some(totp::otpauth_uri(&org.name, &user.email, &secret)),
        secret: Some(secret),
        ..crate::protocol::Enrollment::of(authenticator)
    })
}

/// The TOTP step `code` is for `authenticator` at the leader's clock, if any.
fn totp_step(ctx: &ProtocolCtx, authenticator: &Authenticator, code: &str) -> Result<Option<u64>> {
    let Some(sealed) = &authenticator.sealed_secret else {
        return Ok(None);
    };
    let secret = ctx.runtime.open_secret(ctx.org, SEAL_CONTEXT, sealed)?;
    let key = std::str::from_utf8(&secret)
        .ok()
        .and_then(totp::base32_decode)
        .ok_or_else(|| ClusterError::internal("a TOTP secret is not base32"))?;
    Ok(totp::matching_step(&key, code, ctx.now.0.div_euclid(1000)))
}

/// The hash an emailed code is kept as, salted with what it was sent for (the pending
/// authenticator's or the challenge's id).
pub fn otp_hash(salt: &str, code: &str) -> String {
    secret_hash(&format!("{salt}:{}", code.trim()))
}

/// A six-digit code to email.
fn email_code() -> String {
    use rand::Rng;
    format!("{:06}", rand::thread_rng().gen_range(0..1_000_000u32))
}

/// The org's stored email settings when they send (then codes go through its SMTP server).
fn sending_email_settings(ctx: &ProtocolCtx) -> Result<Option<serde_json::Value>> {
    let stored = crate::oauth::org_mail::stored_email_settings(&ctx.reader())?;
    let doc = crate::settings::render(crate::settings::SettingsSection::Email, Some(&stored));
    Ok(crate::settings::email_sends(&doc).then_some(stored))
}

/// Refuses with 501 when a code could not be emailed: the org sends no email and this node
/// has no mail sender (`--mail-dir`).
fn can_email_codes(ctx: &ProtocolCtx) -> Result<()> {
    if ctx.runtime.mailer().is_some() || sending_email_settings(ctx)?.is_some() {
        return Ok(());
    }
    Err(ClusterError::NotImplemented {
        message: "email codes need the org's email settings (~/admin/settings/email) or a node mail sender (lumod --mail-dir)".into(),
    })
}

/// Emails `code` to `to`: through the org's SMTP server (the `mfa_code` template) when its
/// email settings send, else through this node's mail sender.
async fn send_code(ctx: &ProtocolCtx, to: &str, code: &str) -> Result<()> {
    let reader = ctx.reader();
    let org = crate::lookup::load_org(&reader)?;
    if let Some(stored) = sending_email_settings(ctx)? {
        let sender = crate::oauth::org_mail::org_sender(&ctx.runtime, ctx.org, &stored)
            .await
            .map_err(|why| ClusterError::Unavailable {
                message: format!("the code could not be emailed: {why}"),
            })?;
        let mut values = std::collections::BTreeMap::new();
        values.insert("org_name".to_string(), org.name.clone());
        values.insert("expires_in".to_string(), "5 minutes".to_string());
        values.insert("user_email".to_string(), to.to_string());
        values.insert("code".to_string(), code.to_string());
        let message_id = format!(
            "{}@{}",
            crate::crypto::random_token("mfa_", 16),
            sender.domain
        );
        let message = crate::mail::compose::message(
            &reader,
            &crate::email_templates::MFA_CODE,
            &values,
            to,
            message_id,
        )?;
        let crate::mail::Compose::Send(outgoing) = message else {
            return Err(ClusterError::Unavailable {
                message: "the code could not be emailed: the mfa_code template does not render"
                    .into(),
            });
        };
        let sent = sender.sender.send(&outgoing).await;
        return match sent.attempt.error {
            None => Ok(()),
            Some(why) => Err(ClusterError::Unavailable {
                message: format!("the code could not be emailed: {why}"),
            }),
        };
    }
    let text = format!(
        "Your {} verification code is {code}. It expires in 5 minutes. If you did not ask for it, change your password.",
        org.name
    );
    let subject = format!("{code} is your {} verification code", org.name);
    let mailer = ctx
        .runtime
        .mailer()
        .ok_or_else(|| ClusterError::NotImplemented {
            message: "email codes need the org's email settings or a node mail sender".into(),
        })?;
    mailer.send(&crate::mail::Mail::new(
        to,
        &subject,
        text,
        "mfa.email_otp",
        ctx.now,
    ))
}

/// When `factor` is an email one: a new code for `challenge`, its hash recorded in the
/// challenge (call before proposing it), and where to send it (with [`deliver`], after).
fn email_challenge(
    ctx: &ProtocolCtx,
    challenge: &mut crate::model::MfaChallenge,
    factor: Option<&Authenticator>,
) -> Result<Option<(String, String)>> {
    let Some(factor) = factor.filter(|f| f.kind == FactorKind::EmailOtp) else {
        return Ok(None);
    };
    can_email_codes(ctx)?;
    let code = email_code();
    challenge.code_hash = Some(otp_hash(&challenge.id, &code));
    let to = factor.address.clone().unwrap_or_default();
    Ok(Some((to, code)))
}

/// Sends what [`email_challenge`] prepared.
async fn deliver(ctx: &ProtocolCtx, prepared: Option<(String, String)>) -> Result<()> {
    match prepared {
        Some((to, code)) => send_code(ctx, &to, &code).await,
        None => Ok(()),
    }
}

/// What `code` proves for `user` answering `challenge`: a TOTP code of one of their apps (the
/// challenge's first), the code emailed for the challenge, a recovery code, a temporary access
/// code, or nothing.
fn prove(
    ctx: &ProtocolCtx,
    user: UserId,
    code: &str,
    challenge: Option<&crate::model::MfaChallenge>,
) -> Result<MfaProof> {
    let preferred = challenge.and_then(|c| c.authenticator_id.as_deref());
    let trimmed = code.trim();
    if trimmed.len() == totp::DIGITS as usize && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        let mut apps: Vec<Authenticator> = rules::authenticators(&ctx.reader(), user)?
            .into_iter()
            .filter(|a| a.is_active() && a.kind == FactorKind::Totp)
            .collect();
        apps.sort_by_key(|a| Some(a.id.as_str()) != preferred);
        for app in apps {
            if let Some(step) = totp_step(ctx, &app, trimmed)? {
                return Ok(MfaProof::Totp {
                    authenticator: app.id,
                    step,
                });
            }
        }
        if let Some(challenge) = challenge.filter(|c| c.code_hash.is_some())
            && let Some(authenticator) = &challenge.authenticator_id
        {
            return Ok(MfaProof::EmailCode {
                authenticator: authenticator.clone(),
                code_hash: otp_hash(&challenge.id, trimmed),
            });
        }
        return Ok(MfaProof::Wrong);
    }
    Ok(match normalize(trimmed).len() {
        RECOVERY_CODE_CHARS => MfaProof::RecoveryCode {
            code_hash: code_hash(trimmed),
        },
        ACCESS_CODE_CHARS => MfaProof::TemporaryAccessCode {
            code_hash: code_hash(trimmed),
        },
        _ => MfaProof::Wrong,
    })
}

/// A new id with `prefix` (`mfa_`, `mfc_`, `tdv_`, `tap_`).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// A wrong answer, as the caller is told.
fn wrong(
    attempts_remaining: u32,
    locked_until: Option<crate::clock::Timestamp>,
    ctx: &ProtocolCtx,
) -> ClusterError {
    match locked_until {
        Some(until) => crate::model::mfa::locked_error(until, ctx.now),
        None => ClusterError::Mfa {
            code: MfaCode::InvalidCode,
            message: "the code is wrong, expired or was already used".into(),
            attempts_remaining: Some(attempts_remaining),
            retry_after_secs: None,
        },
    }
}

/// A pending authenticator of `kind` for `user`, with nothing of its own yet.
fn pending(
    ctx: &ProtocolCtx,
    user: &crate::model::User,
    kind: FactorKind,
    id: String,
) -> Authenticator {
    Authenticator {
        id,
        user_id: user.id,
        kind,
        display_name: kind.default_name().to_string(),
        state: crate::model::AuthenticatorState::Pending,
        is_default: false,
        created_at: ctx.now,
        activated_at: None,
        last_used_at: None,
        last_used: None,
        sealed_secret: None,
        last_step: None,
        address: None,
        pending_code_hash: None,
    }
}

/// Where an answer came from (recorded as the factor's last use).
fn used_context(ctx: &ProtocolCtx) -> crate::model::mfa::UsedContext {
    crate::model::mfa::UsedContext {
        ip: ctx.request.ip.clone(),
        user_agent: ctx.request.user_agent.clone(),
    }
}

/// A recorded wrong answer as the caller's error; any other outcome as it is.
fn refusal_error(ctx: &ProtocolCtx, outcome: Outcome) -> Result<Outcome> {
    match outcome {
        Outcome::MfaRefused {
            attempts_remaining,
            locked_until,
        } => Err(wrong(attempts_remaining, locked_until, ctx)),
        other => Ok(other),
    }
}

/// A new email authenticator for `user` (pending) and the code that verifies it (to send once
/// the enrollment is written).
fn new_email(ctx: &ProtocolCtx, user: &crate::model::User) -> Result<(Authenticator, String)> {
    can_email_codes(ctx)?;
    let code = email_code();
    let id = new_id("mfa_");
    let mut authenticator = pending(ctx, user, FactorKind::EmailOtp, id.clone());
    authenticator.pending_code_hash = Some(otp_hash(&id, &code));
    authenticator.address = Some(user.email.clone());
    Ok((authenticator, code))
}

/// A new TOTP authenticator for `user` (pending), its secret and URI.
fn new_totp(ctx: &ProtocolCtx, user: &crate::model::User) -> Result<crate::protocol::Enrollment> {
    let secret = totp::new_secret();
    let org = crate::lookup::load_org(&ctx.reader())?;
    let mut authenticator = pending(ctx, user, FactorKind::Totp, new_id("mfa_"));
    authenticator.sealed_secret = Some(seal(ctx, &secret)?);
    Ok(crate::protocol::Enrollment {
        otpauth_uri: Some(totp::otpauth_uri(&org.name, &user.email, &secret)),
        secret: Some(secret),
        ..crate::protocol::Enrollment::of(authenticator)
    })
}
