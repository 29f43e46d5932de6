//! Passkeys (WebAuthn, with `webauthn-rs`) on the shard leader: registration options and the
//! check of a new credential, assertion options for a challenge and the check of an answer,
//! and the passwordless sign-in (a discoverable credential names its user). The relying party
//! is the origin the caller reached (`public_url`, or the request's host): its host is the RP
//! id, so passkeys need a domain name (`localhost` included), never an IP address.
//! What a verified answer proves travels to apply as a [`PasskeyUse`].

use serde::Serialize;
use serde::de::DeserializeOwned;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Url, Uuid, Webauthn,
    WebauthnBuilder,
};

use super::{new_id, pending};
use crate::command::{MfaProof, Op, PasskeyUse, SignIn, UserKey};
use crate::error::{ClusterError, MfaCode, Result};
use crate::ids::UserId;
use crate::mfa as rules;
use crate::model::passkey::CEREMONY_TTL_MS;
use crate::model::{
    Authenticator, FactorKind, MfaChallenge, PrincipalKind, User, WebauthnCeremony,
};
use crate::protocol::LoginOutcome;
use crate::query::Outcome;

use super::super::login::{new_session, user_actor};
use super::super::runtime::ProtocolCtx;

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| ClusterError::internal(format!("WebAuthn state: {e}")))
}

/// Stored WebAuthn state (written by this module, so unreadable state is a bug).
fn stored<T: DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| ClusterError::internal(format!("WebAuthn state: {e}")))
}

/// The browser's answer: a WebAuthn credential in the JSON form of the WebAuthn Level 3
/// `toJSON()` (binary fields base64url).
fn answer<T: DeserializeOwned>(credential: &str) -> Result<T> {
    serde_json::from_str(credential).map_err(|e| {
        ClusterError::invalid(
            "credential",
            format!("is not a WebAuthn credential of this ceremony: {e}"),
        )
    })
}

fn rejected(why: impl std::fmt::Display) -> ClusterError {
    ClusterError::Mfa {
        code: MfaCode::InvalidCode,
        message: format!("the passkey's answer was refused: {why}"),
        attempts_remaining: None,
        retry_after_secs: None,
    }
}

/// The origin this request reached, which WebAuthn binds ceremonies to.
fn origin(ctx: &ProtocolCtx) -> Result<String> {
    ctx.request
        .origin
        .clone()
        .ok_or_else(|| ClusterError::invalid("origin", "the request carries no origin"))
}

/// The relying party of `origin`: its host is the RP id, the org's name is shown.
fn relying_party(ctx: &ProtocolCtx, origin: &str) -> Result<Webauthn> {
    let url = Url::parse(origin)
        .map_err(|_| ClusterError::invalid("origin", format!("'{origin}' is not a URL")))?;
    let Some(rp_id) = url.domain() else {
        return Err(ClusterError::invalid(
            "origin",
            format!(
                "passkeys need the server reached by a domain name (WebAuthn has no RP id for '{origin}'): use localhost or set public_url"
            ),
        ));
    };
    let org = crate::lookup::load_org(&ctx.reader())?;
    WebauthnBuilder::new(rp_id, &url)
        .and_then(|builder| builder.rp_name(&org.name).build())
        .map_err(|e| ClusterError::invalid("origin", format!("no WebAuthn relying party: {e}")))
}

/// The WebAuthn user handle of a user: their id's 128 bits.
fn user_handle(user: UserId) -> Uuid {
    Uuid::from_u128(user.0.0)
}

/// A credential id as stored (base64url).
fn credential_id(raw: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// The signature counter a credential holds.
fn counter(passkey: &Passkey) -> u32 {
    serde_json::to_value(passkey)
        .ok()
        .and_then(|v| v["cred"]["counter"].as_u64())
        .and_then(|c| u32::try_from(c).ok())
        .unwrap_or(0)
}

fn ceremony(
    ctx: &ProtocolCtx,
    id: String,
    user: Option<UserId>,
    state: String,
    options: String,
    origin: String,
) -> WebauthnCeremony {
    WebauthnCeremony {
        id,
        user_id: user,
        state,
        options,
        origin,
        expires_at: ctx.now.plus_millis(CEREMONY_TTL_MS),
    }
}

/// A pending passkey for `user` and its registration ceremony. The options ask for a
/// discoverable credential (sign-in without a username), with user verification.
pub(super) fn new_registration(
    ctx: &ProtocolCtx,
    user: &User,
) -> Result<(Authenticator, WebauthnCeremony)> {
    let origin = origin(ctx)?;
    let rp = relying_party(ctx, &origin)?;
    let held: Vec<Passkey> = rules::passkeys(&ctx.reader(), user.id)?
        .iter()
        .map(|p| stored(&p.passkey))
        .collect::<Result<_>>()?;
    let exclude: Vec<_> = held.iter().map(|p| p.cred_id().clone()).collect();
    let display = user.name.clone().unwrap_or_else(|| user.email.clone());
    let (options, state) = rp
        .start_passkey_registration(
            user_handle(user.id),
            &user.email,
            &display,
            (!exclude.is_empty()).then_some(exclude),
        )
        .map_err(|e| ClusterError::internal(format!("WebAuthn registration: {e}")))?;
    // Prefer a discoverable credential (passwordless sign-in names no user first).
    let mut public_key = serde_json::to_value(&options.public_key)
        .map_err(|e| ClusterError::internal(format!("WebAuthn options: {e}")))?;
    public_key["authenticatorSelection"]["residentKey"] = "preferred".into();
    let id = new_id("mfa_");
    let authenticator = pending(ctx, user, FactorKind::Passkey, id.clone());
    let ceremony = ceremony(
        ctx,
        id,
        Some(user.id),
        to_json(&state)?,
        public_key.to_string(),
        origin,
    );
    Ok((authenticator, ceremony))
}

/// What the browser's registration answer proves for the pending passkey `authenticator`.
pub(super) fn prove_registration(
    ctx: &ProtocolCtx,
    authenticator: &Authenticator,
    credential: &str,
) -> Result<MfaProof> {
    let registration: RegisterPublicKeyCredential = answer(credential)?;
    let open = rules::ceremony(&ctx.reader(), &authenticator.id)?
        .filter(|c| c.user_id == Some(authenticator.user_id) && c.live(ctx.now));
    let Some(ceremony) = open else {
        return Err(ClusterError::mfa(
            MfaCode::ChallengeExpired,
            "the passkey registration expired or was used: start enrolling again",
        ));
    };
    let state: PasskeyRegistration = stored(&ceremony.state)?;
    let rp = relying_party(ctx, &ceremony.origin)?;
    match rp.finish_passkey_registration(&registration, &state) {
        Ok(passkey) => Ok(MfaProof::Passkey(PasskeyUse {
            authenticator: authenticator.id.clone(),
            ceremony: ceremony.id,
            credential_id: credential_id(passkey.cred_id().as_ref()),
            counter: counter(&passkey),
            passkey: to_json(&passkey)?,
        })),
        Err(e) => {
            tracing::info!(error = %e, "passkey registration refused");
            Ok(MfaProof::Wrong)
        }
    }
}

/// The op that starts `challenge`: with an assertion ceremony when its factor is a passkey.
pub(super) fn challenge_op(
    ctx: &ProtocolCtx,
    challenge: MfaChallenge,
    factor: Option<&Authenticator>,
) -> Result<Op> {
    let Some(factor) = factor.filter(|f| f.kind == FactorKind::Passkey) else {
        return Ok(Op::StartMfaChallenge(challenge));
    };
    let held = rules::passkey(&ctx.reader(), factor.user_id, &factor.id)?
        .ok_or_else(|| ClusterError::internal("an active passkey without its credential"))?;
    let passkey: Passkey = stored(&held.passkey)?;
    let origin = origin(ctx)?;
    let rp = relying_party(ctx, &origin)?;
    let (options, state) = rp
        .start_passkey_authentication(&[passkey])
        .map_err(|e| ClusterError::internal(format!("WebAuthn authentication: {e}")))?;
    let mut ceremony = ceremony(
        ctx,
        challenge.id.clone(),
        Some(challenge.user_id),
        to_json(&state)?,
        to_json(&options.public_key)?,
        origin,
    );
    ceremony.expires_at = challenge.expires_at;
    Ok(Op::StartPasskeyChallenge {
        challenge,
        ceremony,
    })
}

/// What the browser's assertion proves for `challenge` (whose factor is a passkey).
pub(super) fn prove_assertion(
    ctx: &ProtocolCtx,
    challenge: &MfaChallenge,
    credential: &str,
) -> Result<MfaProof> {
    let assertion: PublicKeyCredential = answer(credential)?;
    let reader = ctx.reader();
    let Some(authenticator) = challenge.authenticator_id.as_deref() else {
        return Ok(MfaProof::Wrong);
    };
    let open = rules::ceremony(&reader, &challenge.id)?
        .filter(|c| c.user_id == Some(challenge.user_id) && c.live(ctx.now));
    let held = rules::passkey(&reader, challenge.user_id, authenticator)?;
    let (Some(ceremony), Some(held)) = (open, held) else {
        return Ok(MfaProof::Wrong);
    };
    let state: PasskeyAuthentication = stored(&ceremony.state)?;
    let rp = relying_party(ctx, &ceremony.origin)?;
    match rp.finish_passkey_authentication(&assertion, &state) {
        Ok(result) => {
            let mut passkey: Passkey = stored(&held.passkey)?;
            passkey.update_credential(&result);
            Ok(MfaProof::Passkey(PasskeyUse {
                authenticator: authenticator.to_string(),
                ceremony: ceremony.id,
                credential_id: held.credential_id,
                counter: result.counter(),
                passkey: to_json(&passkey)?,
            }))
        }
        Err(e) => {
            tracing::info!(error = %e, "passkey assertion refused");
            Ok(MfaProof::Wrong)
        }
    }
}

/// A passwordless sign-in's ceremony: the ceremony's id and the options for the browser.
pub(super) async fn begin_passwordless(ctx: &ProtocolCtx) -> Result<LoginOutcome> {
    if !rules::policy(&ctx.reader())?.passwordless_passkey {
        return Err(ClusterError::mfa(
            MfaCode::FactorNotAllowed,
            "passwordless passkey sign-in is off for this organization",
        ));
    }
    let origin = origin(ctx)?;
    let rp = relying_party(ctx, &origin)?;
    let (mut options, state) = rp
        .start_discoverable_authentication()
        .map_err(|e| ClusterError::internal(format!("WebAuthn authentication: {e}")))?;
    // A button press, not the autofill UI.
    options.mediation = None;
    let ceremony = ceremony(
        ctx,
        new_id("wac_"),
        None,
        to_json(&state)?,
        to_json(&options.public_key)?,
        origin,
    );
    let reply = LoginOutcome::PasskeyOptions {
        ceremony: ceremony.id.clone(),
        public_key: ceremony.options.clone(),
    };
    ctx.propose(PrincipalKind::Anonymous, Op::BeginPasskeySignIn(ceremony))
        .await?;
    Ok(reply)
}

/// A passwordless sign-in's answer: the passkey names its user, and a valid assertion starts
/// their session.
pub(super) async fn finish_passwordless(
    ctx: &ProtocolCtx,
    ceremony_id: &str,
    credential: &str,
    client_id: Option<String>,
) -> Result<LoginOutcome> {
    let assertion: PublicKeyCredential = answer(credential)?;
    let reader = ctx.reader();
    let ceremony = rules::ceremony(&reader, ceremony_id)?
        .filter(|c| c.user_id.is_none() && c.live(ctx.now))
        .ok_or_else(|| {
            ClusterError::mfa(
                MfaCode::ChallengeExpired,
                "the passkey sign-in expired or was used: try again",
            )
        })?;
    let rp = relying_party(ctx, &ceremony.origin)?;
    let (handle, raw_id) = rp
        .identify_discoverable_authentication(&assertion)
        .map_err(rejected)?;
    let user_id = UserId(ulid::Ulid(handle.as_u128()));
    let user = crate::lookup::user(&reader, &UserKey::Id(user_id))
        .map_err(|_| rejected("this passkey is not registered here"))?;
    if user.blocked || !user.is_active {
        return Err(rejected("the account is blocked or inactive"));
    }
    let wanted = credential_id(raw_id);
    let held = rules::passkeys(&reader, user_id)?
        .into_iter()
        .find(|p| p.credential_id == wanted)
        .ok_or_else(|| rejected("this passkey is not registered here"))?;
    let mut passkey: Passkey = stored(&held.passkey)?;
    let state: DiscoverableAuthentication = stored(&ceremony.state)?;
    let result = rp
        .finish_discoverable_authentication(&assertion, state, &[DiscoverableKey::from(&passkey)])
        .map_err(rejected)?;
    passkey.update_credential(&result);
    let used = PasskeyUse {
        authenticator: held.authenticator_id,
        ceremony: ceremony.id,
        credential_id: held.credential_id,
        counter: result.counter(),
        passkey: to_json(&passkey)?,
    };
    let (cookie, session, timeout) = new_session(ctx, user_id)?;
    let op = Op::SignInWithPasskey {
        sign_in: SignIn {
            session,
            method: "passkey".into(),
            client_id,
        },
        proof: used,
    };
    match ctx.propose(user_actor(user.id, &user.email), op).await? {
        Outcome::Session(_) => Ok(LoginOutcome::SignedIn {
            cookie,
            expires_in: timeout,
            trusted_device: None,
        }),
        Outcome::MfaRefused { .. } => Err(rejected(
            "the passkey's signature counter did not advance, or the sign-in was already used",
        )),
        other => Err(ClusterError::internal(format!(
            "a passkey sign-in answered {other:?}"
        ))),
    }
}
