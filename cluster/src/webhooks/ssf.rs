//! Shared Signals (SSF): which audited changes are CAEP/RISC security events, and the Security
//! Event Token (RFC 8417) a stream receives for one, pushed as `application/secevent+jwt`
//! (RFC 8935). A stream is stored as a webhook of kind `ssf` whose `configuration.ssf` holds
//! the transmitter's `iss`, the stream's `aud` and the event types requested; its sealed
//! secret is the `Authorization` header the receiver asked for (empty for none).

use serde_json::{Value, json};

/// The webhook kind of an SSF stream.
pub const SSF_KIND: &str = "ssf";
/// RFC 8935 push delivery.
pub const PUSH_METHOD: &str = "urn:ietf:rfc:8935";
/// The verification event (SSF §8.1.4.2), sent on `POST ~/ssf/verify`.
pub const VERIFICATION_EVENT: &str =
    "https://schemas.openid.net/secevent/ssf/event-type/verification";
/// The outbox name of a verification event (not an audit action).
pub const VERIFICATION_ACTION: &str = "ssf.verification";

const CAEP: &str = "https://schemas.openid.net/secevent/caep/event-type/";
const RISC: &str = "https://schemas.openid.net/secevent/risc/event-type/";

/// Security event types and the audit actions that raise them.
const EVENTS: &[(&str, &str, &str)] = &[
    (CAEP, "session-revoked", "session.revoked"),
    (CAEP, "credential-change", "user.password.changed"),
    (CAEP, "token-claims-change", "user.updated"),
    (RISC, "account-disabled", "user.blocked"),
    (RISC, "account-enabled", "user.unblocked"),
    (RISC, "account-purged", "user.deleted"),
];

/// Every event type a stream may request.
pub fn supported_events() -> Vec<String> {
    EVENTS
        .iter()
        .map(|(base, name, _)| format!("{base}{name}"))
        .collect()
}

/// The audit action that raises event type `uri`, if it is supported.
pub fn action_of(uri: &str) -> Option<&'static str> {
    EVENTS
        .iter()
        .find(|(base, name, _)| uri.strip_prefix(base) == Some(name))
        .map(|(_, _, action)| *action)
}

/// The event type an audit action raises, if any.
pub fn event_of(action: &str) -> Option<String> {
    if action == VERIFICATION_ACTION {
        return Some(VERIFICATION_EVENT.to_string());
    }
    EVENTS
        .iter()
        .find(|(_, _, a)| *a == action)
        .map(|(base, name, _)| format!("{base}{name}"))
}

/// The claims of the SET for an outbox `payload` (`{id, type, timestamp, data}`), issued by
/// `iss` for `aud` at `iat` (Unix seconds); `None` for actions that are not security events.
pub fn set_claims(iss: &str, aud: &str, iat: i64, payload: &Value) -> Option<Value> {
    let action = payload["type"].as_str()?;
    let event_type = event_of(action)?;
    let data = &payload["data"];
    let event = if action == VERIFICATION_ACTION {
        json!({"state": data["state"]})
    } else {
        // A user is named as its ID tokens name it (issuer and subject).
        let subject = if data["object"]["type"] == "user" {
            json!({"format": "iss_sub", "iss": iss, "sub": data["object"]["id"]})
        } else {
            json!({"format": "opaque", "id": data["object"]["id"]})
        };
        json!({
            "subject": subject,
            "event_timestamp": iat,
            "initiating_entity": match data["actor"]["type"].as_str() {
                Some("user") => "user",
                Some("system") => "system",
                _ => "admin",
            },
            "reason_admin": {"en": data["message"]},
        })
    };
    let mut claims = json!({
        "iss": iss,
        "jti": payload["id"],
        "iat": iat,
        "aud": aud,
        "events": {event_type: event},
    });
    if action != VERIFICATION_ACTION {
        claims["sub_id"] = event["subject"].clone();
    }
    Some(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn supported_events_round_trip_to_actions() {
        for uri in supported_events() {
            let action = action_of(&uri).expect("an action");
            assert_eq!(event_of(action).as_deref(), Some(uri.as_str()));
        }
        assert_eq!(action_of("https://example.com/other"), None);
    }

    #[test]
    fn a_set_names_its_subject_and_event() {
        let payload = json!({"id": "evt_1", "type": "user.blocked", "timestamp": "t",
            "data": {"object": {"type": "user", "id": "u-1"}, "actor": {"type": "api_key"}, "message": "m"}});
        let claims = set_claims("https://iss", "https://aud", 10, &payload).expect("a SET");
        let event = &claims["events"][format!("{RISC}account-disabled")];
        assert_eq!(event["subject"]["sub"], "u-1");
        assert_eq!(event["subject"]["iss"], "https://iss");
        assert_eq!(claims["jti"], "evt_1");
        assert_eq!(claims["sub_id"]["format"], "iss_sub");
        assert!(set_claims("i", "a", 1, &json!({"type": "group.created"})).is_none());
    }
}
