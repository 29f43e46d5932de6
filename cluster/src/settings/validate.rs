//! Validation of a settings patch against the section schema.

use serde_json::Value;

use super::{Field, FieldProblems, Kind, SettingsSection};
use crate::error::ClusterError;

/// Checks that `patch` is an object whose keys and values fit `section`.
pub fn validate_patch(section: SettingsSection, patch: &Value) -> Result<(), ClusterError> {
    let Value::Object(_) = patch else {
        return Err(ClusterError::invalid("body", "must be a JSON object"));
    };
    let mut problems = FieldProblems::new();
    check_object(section.fields(), patch, "", &mut problems);
    if problems.is_empty() {
        return Ok(());
    }
    let message = problems
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join("; ");
    Err(ClusterError::Validation {
        message: format!("invalid {} settings: {message}", section.as_str()),
        details: problems,
    })
}

fn check_object(fields: &[Field], value: &Value, prefix: &str, problems: &mut FieldProblems) {
    let Value::Object(map) = value else {
        problems.insert(
            prefix.trim_end_matches('.').to_string(),
            "must be an object".into(),
        );
        return;
    };
    for (key, value) in map {
        let path = format!("{prefix}{key}");
        match fields.iter().find(|f| f.name == key) {
            None => {
                problems.insert(path, "unknown setting".into());
            }
            Some(field) => {
                if let Some(problem) = check_field(field, value, &path, problems) {
                    problems.insert(path, problem);
                }
            }
        }
    }
}

fn check_field(
    field: &Field,
    value: &Value,
    path: &str,
    problems: &mut FieldProblems,
) -> Option<String> {
    if value.is_null() {
        return match field.kind {
            Kind::ReadOnly | Kind::Secret | Kind::WriteOnlyToken => None,
            _ if field.nullable => None,
            _ => Some("may not be null".into()),
        };
    }
    match &field.kind {
        Kind::ReadOnly => None,
        Kind::Bool => (!value.is_boolean()).then(|| "must be a boolean".into()),
        Kind::Int => match value.as_i64() {
            Some(n) => check_int(path, n),
            None => Some("must be an integer".into()),
        },
        Kind::Str => match value.as_str() {
            Some(s) => check_str(path, s),
            None => Some("must be a string".into()),
        },
        Kind::Secret | Kind::WriteOnlyToken => match value {
            Value::String(s) if s.len() <= 4096 => None,
            Value::String(_) => Some("is too long".into()),
            _ => Some("must be a string".into()),
        },
        Kind::Enum(allowed) => match value.as_str() {
            Some(s) if allowed.contains(&s) => None,
            _ => Some(format!("must be one of {}", allowed.join(", "))),
        },
        Kind::StrList => match value.as_array() {
            Some(items) if items.iter().all(Value::is_string) && items.len() <= 200 => None,
            _ => Some("must be a list of strings".into()),
        },
        Kind::EnumList(allowed) => match value.as_array() {
            Some(items)
                if items
                    .iter()
                    .all(|i| i.as_str().is_some_and(|s| allowed.contains(&s))) =>
            {
                None
            }
            _ => Some(format!("must be a list of: {}", allowed.join(", "))),
        },
        Kind::ObjList => match value.as_array() {
            Some(items) if items.iter().all(Value::is_object) && items.len() <= 200 => None,
            _ => Some("must be a list of objects".into()),
        },
        Kind::Object => (!value.is_object()).then(|| "must be an object".into()),
        Kind::StrMap => match value.as_object() {
            Some(map) if map.values().all(Value::is_string) => None,
            _ => Some("must be an object of strings".into()),
        },
        Kind::Nested(inner) => {
            check_object(inner, value, &format!("{path}."), problems);
            None
        }
    }
}

fn check_int(path: &str, n: i64) -> Option<String> {
    let (min, max) = match path {
        "session_timeout" => (300, 31_536_000),
        "password_min_length" | "password_policy.min_length" => (6, 128),
        "background_overlay_opacity" => (0, 100),
        "magic_link_expiry" => (60, 86_400),
        "smtp_port" => (1, 65_535),
        "mfa_policy.required_factor_count" => (1, 2),
        "mfa_policy.min_tier_login" | "mfa_policy.min_tier_step_up" => (1, 4),
        "mfa_policy.step_up_max_age_seconds" => (60, 3_600),
        "mfa_policy.grace_period_days" | "mfa_policy.remind_interval_days" => (0, 90),
        "mfa_policy.trusted_device_days" => (0, 180),
        _ => (0, 2_147_483_647),
    };
    (n < min || n > max).then(|| format!("must be between {min} and {max}"))
}

fn check_str(path: &str, s: &str) -> Option<String> {
    let limit = match path {
        "custom_css" | "custom_html" | "outbound.tls_certificate" | "smtp_tls_certificate" => {
            65_536
        }
        "name" | "displayName" => 200,
        _ => 2_048,
    };
    if s.len() > limit {
        return Some(format!("must be at most {limit} bytes"));
    }
    let last = path.rsplit('.').next().unwrap_or(path);
    if last.ends_with("_url") && !(s.starts_with("https://") || s.starts_with("http://")) {
        return Some("must be an http(s) URL".into());
    }
    if last.ends_with("_color") && !is_hex_color(s) {
        return Some("must be a hex color like #4f46e5".into());
    }
    if matches!(last, "name" | "displayName" | "timezone" | "locale") && s.trim().is_empty() {
        return Some("may not be empty".into());
    }
    if matches!(last, "from_email" | "reply_to") && !s.contains('@') {
        return Some("must be an email address".into());
    }
    None
}

fn is_hex_color(s: &str) -> bool {
    let Some(hex) = s.strip_prefix('#') else {
        return false;
    };
    matches!(hex.len(), 3 | 6 | 8) && hex.chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reports_each_bad_field() {
        let patch = json!({
            "session_timeout": "long",
            "mfa_policy": {"requirement": "sometimes"},
            "colour": "red",
        });
        let Err(ClusterError::Validation { details, .. }) =
            validate_patch(SettingsSection::Auth, &patch)
        else {
            panic!("expected a validation error");
        };
        assert_eq!(
            details.get("session_timeout").map(String::as_str),
            Some("must be an integer")
        );
        assert!(details.contains_key("mfa_policy.requirement"));
        assert_eq!(
            details.get("colour").map(String::as_str),
            Some("unknown setting")
        );
    }

    #[test]
    fn accepts_a_good_patch() {
        let patch = json!({"primary_color": "#112233", "theme": "dark", "logo_url": null});
        assert_eq!(validate_patch(SettingsSection::Branding, &patch), Ok(()));
        assert!(
            validate_patch(SettingsSection::Branding, &json!({"primary_color": "blue"})).is_err()
        );
        assert!(validate_patch(SettingsSection::Security, &json!([1])).is_err());
    }
}
