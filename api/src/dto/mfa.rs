//! Wire shapes of the MFA family (snake_case, as `models.json` has them): authenticators,
//! challenges, enrollments, recovery status, trusted devices, the coverage report.

use lumo_cluster::clock::Timestamp;
use lumo_cluster::model::mfa::{CHALLENGE_ATTEMPTS, PENDING_TTL_MS, RECOVERY_LOW, tier_label};
use lumo_cluster::model::{Authenticator, ChallengeStatus, MfaChallenge, TrustedDevice};
use lumo_cluster::protocol::Enrollment;
use lumo_cluster::query::{
    AuthenticatorsView, MfaChallengeView, MfaCoverageView, RecoveryStatusView,
};
use serde_json::{Value, json};

fn time(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, |t| json!(t.to_rfc3339()))
}

/// `MfaAuthenticator`: never a secret.
pub fn authenticator(a: &Authenticator) -> Value {
    let tier = a.kind.tier();
    json!({
        "id": a.id,
        "type": a.kind.as_str(),
        "display_name": a.display_name,
        "state": if a.is_active() { "active" } else { "pending" },
        "is_default": a.is_default,
        "tier": tier,
        "tier_label": tier_label(tier),
        "amr": a.kind.amr(),
        "created_at": a.created_at.to_rfc3339(),
        "activated_at": time(a.activated_at),
        "last_used_at": time(a.last_used_at),
        "last_used_context": a.last_used.as_ref().map(|c| json!({
            "ip": c.ip,
            "geo": Value::Null,
            "user_agent": c.user_agent,
        })),
        "metadata": {},
    })
}

pub fn recovery(view: &RecoveryStatusView) -> Value {
    json!({
        "remaining": view.remaining,
        "generated_at": time(view.generated_at),
    })
}

/// `GetRecoveryCodeStatusResponse`.
pub fn recovery_status(view: &RecoveryStatusView) -> Value {
    let mut out = recovery(view);
    out["low"] = json!(view.remaining.is_some_and(|r| r <= RECOVERY_LOW as u64));
    out
}

/// `ListMyAuthenticatorsResponse`.
pub fn my_authenticators(view: &AuthenticatorsView) -> Value {
    let active: Vec<&str> = view
        .items
        .iter()
        .filter(|a| a.is_active())
        .map(|a| a.kind.as_str())
        .collect();
    let recommended = ["passkey", "totp"]
        .into_iter()
        .find(|t| view.allowed_types.iter().any(|a| a == t) && !active.contains(t));
    json!({
        "status": view.status,
        "default": view.default,
        "authenticators": view.items.iter().map(authenticator).collect::<Vec<_>>(),
        "recovery_codes": recovery(&view.recovery),
        "allowed_types": view.allowed_types,
        "recommended_type": recommended,
    })
}

/// `ListUserAuthenticatorsResponse`.
pub fn user_authenticators(view: &AuthenticatorsView) -> Value {
    json!({
        "data": view.items.iter().map(authenticator).collect::<Vec<_>>(),
        "status": view.status,
        "default": view.default,
    })
}

/// `TotpEnrollmentStarted`, with the QR code as an SVG data URI.
pub fn totp_enrollment(enrollment: &Enrollment, qr_data_uri: String) -> Value {
    let secret = enrollment.secret.clone().unwrap_or_default();
    json!({
        "id": enrollment.authenticator.id,
        "state": "pending",
        "otpauth_uri": enrollment.otpauth_uri,
        "secret_grouped": lumo_cluster::crypto::totp::grouped(&secret),
        "secret": secret,
        "qr_data_uri": qr_data_uri,
        "expires_at": enrollment.authenticator.created_at.plus_millis(PENDING_TTL_MS).to_rfc3339(),
    })
}

/// WebAuthn options stored as JSON text, as an object (null if unreadable).
fn options(text: Option<&str>) -> Value {
    text.and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null)
}

/// `PasskeyEnrollmentStarted`: the contract names a pending passkey `passkey:pending` (verify
/// it by that name); `authenticator_id` is its real id.
pub fn passkey_enrollment(enrollment: &Enrollment) -> Value {
    json!({
        "id": lumo_cluster::model::passkey::PENDING_PASSKEY_ID,
        "state": "pending",
        "authenticator_id": enrollment.authenticator.id,
        "public_key": options(enrollment.public_key.as_deref()),
        "expires_at": enrollment.authenticator.created_at.plus_millis(PENDING_TTL_MS).to_rfc3339(),
    })
}

/// `a***@example.com`.
fn masked(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

/// `EmailEnrollmentStarted`: the code went to the user's address.
pub fn email_enrollment(a: &Authenticator) -> Value {
    json!({
        "id": a.id,
        "state": "pending",
        "masked_email": masked(a.address.as_deref().unwrap_or_default()),
    })
}

fn factor_ref(a: &Authenticator) -> Value {
    json!({
        "id": a.id,
        "type": a.kind.as_str(),
        "display_name": a.display_name,
        "tier": a.kind.tier(),
    })
}

/// `MfaChallenge` from a read (with the factor and its alternatives).
pub fn challenge_view(view: &MfaChallengeView) -> Value {
    let mut out = challenge(&view.challenge, view.status, view.public_key.as_deref());
    if view
        .authenticator
        .as_ref()
        .is_some_and(|a| a.kind == lumo_cluster::model::FactorKind::Passkey)
    {
        out["delivery"] = "webauthn".into();
    }
    out["authenticator"] = view.authenticator.as_ref().map_or(
        Value::Null,
        |a| json!({"id": a.id, "type": a.kind.as_str(), "display_name": a.display_name}),
    );
    out["alternatives"] = json!(view.alternatives.iter().map(factor_ref).collect::<Vec<_>>());
    out
}

/// `MfaChallenge` as a write left it.
pub fn challenge(c: &MfaChallenge, status: ChallengeStatus, public_key: Option<&str>) -> Value {
    // A passkey's challenge stays `webauthn` once answered (its methods say `hwk`).
    let by_passkey = public_key.is_some() || c.amr.iter().any(|m| m == "hwk");
    let delivery = match (by_passkey, c.code_hash.is_some()) {
        (true, _) => "webauthn",
        (false, true) => "email_sent",
        (false, false) => "code_expected",
    };
    let mut out = json!({
        "id": c.id,
        "purpose": c.purpose.as_str(),
        "status": status.as_str(),
        "authenticator": c.authenticator_id.as_ref().map(|id| json!({"id": id})),
        "alternatives": [],
        "expires_at": c.expires_at.to_rfc3339(),
        "attempts_remaining": c.attempts_remaining.min(CHALLENGE_ATTEMPTS),
        "delivery": delivery,
    });
    if public_key.is_some() {
        out["public_key"] = options(public_key);
    }
    out
}

/// `ListTrustedDevicesResponseDataItem`.
pub fn trusted_device(d: &TrustedDevice) -> Value {
    json!({
        "id": d.id,
        "label": d.label,
        "ip_address": d.ip_address,
        "created_at": d.created_at.to_rfc3339(),
        "expires_at": d.expires_at.to_rfc3339(),
        "last_used_at": time(d.last_used_at),
    })
}

/// `MfaCoverageReport`.
pub fn coverage(report: &MfaCoverageView, now: Timestamp) -> Value {
    let pct = if report.total_users == 0 {
        0.0
    } else {
        (report.enrolled_users as f64 * 10_000.0 / report.total_users as f64).round() / 100.0
    };
    json!({
        "total_users": report.total_users,
        "enrolled_users": report.enrolled_users,
        "enrolled_pct": pct,
        "by_type": report.by_type,
        "by_tier": report.by_tier,
        "requirement": report.requirement,
        "in_grace": report.in_grace,
        "past_grace": report.past_grace,
        "deferred": report.deferred,
        "generated_at": now.to_rfc3339(),
    })
}
