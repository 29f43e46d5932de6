//! Email templates: the built-in default of each kind of email, the variables a kind offers,
//! and rendering with a real template engine (MiniJinja: `{{ user_name }}`, `{% if %}`,
//! filters), the HTML body auto-escaped and a plain-text part derived from it. A custom
//! template is checked when it is saved (syntax, and only the kind's variables), so sending
//! never meets a template it cannot render.

use std::collections::BTreeMap;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use crate::error::{ClusterError, Result};

mod text;

pub use text::html_to_text;

/// A kind of email and what its template may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemplateKind {
    /// The contract's `type`.
    pub name: &'static str,
    /// Variable name → what it holds.
    pub variables: &'static [(&'static str, &'static str)],
    pub default_subject: &'static str,
    pub default_html: &'static str,
}

const COMMON: [(&str, &str); 2] = [
    ("org_name", "The organization's name"),
    (
        "expires_in",
        "How long the link or code stays valid, in words",
    ),
];

pub const VERIFICATION: TemplateKind = TemplateKind {
    name: "verification",
    variables: &[
        COMMON[0],
        COMMON[1],
        ("user_name", "The user's name (or email when unnamed)"),
        ("user_email", "The user's email address"),
        (
            "verification_url",
            "The single-use link that verifies the address",
        ),
    ],
    default_subject: "Verify your email for {{ org_name }}",
    default_html: "<p>Hello {{ user_name }},</p>\n<p>Confirm that {{ user_email }} is your address by opening this link:</p>\n<p><a href=\"{{ verification_url }}\">Verify my email</a></p>\n<p>The link works once and expires in {{ expires_in }}. If you did not ask for it, ignore this email.</p>\n<p>{{ org_name }}</p>",
};

pub const PASSWORD_RESET: TemplateKind = TemplateKind {
    name: "password_reset",
    variables: &[
        COMMON[0],
        COMMON[1],
        ("user_name", "The user's name (or email when unnamed)"),
        ("user_email", "The user's email address"),
        ("reset_url", "The single-use link to choose a new password"),
    ],
    default_subject: "Reset your {{ org_name }} password",
    default_html: "<p>Hello {{ user_name }},</p>\n<p>Someone asked to reset the password of {{ user_email }}. Choose a new one here:</p>\n<p><a href=\"{{ reset_url }}\">Reset my password</a></p>\n<p>The link works once and expires in {{ expires_in }}. If you did not ask for it, ignore this email: your password stays as it is.</p>\n<p>{{ org_name }}</p>",
};

pub const INVITATION: TemplateKind = TemplateKind {
    name: "invitation",
    variables: &[
        COMMON[0],
        COMMON[1],
        ("invitee_email", "The invited address"),
        ("organization_name", "The organization the invitation is to"),
        ("inviter_name", "Who sent the invitation"),
        ("role_name", "The role the invitee gets"),
        (
            "accept_url",
            "The single-use link that accepts the invitation",
        ),
    ],
    default_subject: "You are invited to join {{ organization_name }}",
    default_html: "<p>Hello,</p>\n<p>{{ inviter_name }} invited {{ invitee_email }} to join {{ organization_name }} on {{ org_name }} as {{ role_name }}.</p>\n<p><a href=\"{{ accept_url }}\">Accept the invitation</a></p>\n<p>The link works once and expires in {{ expires_in }}.</p>",
};

pub const MAGIC_LINK: TemplateKind = TemplateKind {
    name: "magic_link",
    variables: &[
        COMMON[0],
        COMMON[1],
        ("user_name", "The user's name (or email when unnamed)"),
        ("user_email", "The user's email address"),
        ("login_url", "The single-use sign-in link"),
    ],
    default_subject: "Your sign-in link for {{ org_name }}",
    default_html: "<p>Hello {{ user_name }},</p>\n<p>Sign in to {{ org_name }} with this link:</p>\n<p><a href=\"{{ login_url }}\">Sign in</a></p>\n<p>The link works once and expires in {{ expires_in }}. If you did not ask for it, ignore this email.</p>",
};

pub const MFA_CODE: TemplateKind = TemplateKind {
    name: "mfa_code",
    variables: &[
        COMMON[0],
        COMMON[1],
        ("user_email", "The user's email address"),
        ("code", "The one-time code"),
    ],
    default_subject: "{{ code }} is your {{ org_name }} verification code",
    default_html: "<p>Your {{ org_name }} verification code is <strong>{{ code }}</strong>.</p>\n<p>It expires in {{ expires_in }}. If you did not ask for it, change your password.</p>",
};

/// Every kind, in listing order.
pub const KINDS: [TemplateKind; 5] = [
    VERIFICATION,
    PASSWORD_RESET,
    INVITATION,
    MAGIC_LINK,
    MFA_CODE,
];

/// The longest subject and body a custom template may have.
pub const MAX_SUBJECT_CHARS: usize = 500;
pub const MAX_BODY_BYTES: usize = 100_000;
/// Engine steps one render may take (a runaway loop stops instead of hanging the sender).
const FUEL: u64 = 100_000;

impl TemplateKind {
    /// The kind named `name`.
    pub fn named(name: &str) -> Option<TemplateKind> {
        KINDS.into_iter().find(|k| k.name == name)
    }

    pub fn variable_names(&self) -> Vec<&'static str> {
        self.variables.iter().map(|(name, _)| *name).collect()
    }

    /// Sample values for a preview.
    pub fn sample(&self, org_name: &str) -> BTreeMap<String, String> {
        self.variables
            .iter()
            .map(|(name, _)| {
                let value = match *name {
                    "org_name" => org_name.to_string(),
                    "expires_in" => "24 hours".to_string(),
                    "user_name" => "Ada Lovelace".to_string(),
                    "user_email" | "invitee_email" => "ada@example.com".to_string(),
                    "organization_name" => "Analytical Engines Ltd".to_string(),
                    "inviter_name" => "Charles Babbage".to_string(),
                    "role_name" => "Member".to_string(),
                    "code" => "123456".to_string(),
                    url => format!("https://example.com/{url}?token=sample"),
                };
                ((*name).to_string(), value)
            })
            .collect()
    }
}

/// A rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub html: String,
    pub text: String,
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env
}

fn template_error(field: &str, e: &minijinja::Error) -> ClusterError {
    let line = e.line().map(|l| format!(" (line {l})")).unwrap_or_default();
    let detail = e.detail().map(|d| format!(": {d}")).unwrap_or_default();
    ClusterError::invalid(field, format!("{}{detail}{line}", e.kind()))
}

/// Checks a custom template of `kind`: sizes, syntax, and that it uses only the kind's
/// variables. 422-shaped errors name the field.
pub fn check(kind: &TemplateKind, subject: &str, body_html: &str) -> Result<()> {
    if subject.trim().is_empty() {
        return Err(ClusterError::invalid("subject", "is required"));
    }
    if subject.chars().count() > MAX_SUBJECT_CHARS {
        return Err(ClusterError::invalid(
            "subject",
            format!("must be at most {MAX_SUBJECT_CHARS} characters"),
        ));
    }
    if body_html.trim().is_empty() {
        return Err(ClusterError::invalid("body_html", "is required"));
    }
    if body_html.len() > MAX_BODY_BYTES {
        return Err(ClusterError::invalid(
            "body_html",
            format!("must be at most {MAX_BODY_BYTES} bytes"),
        ));
    }
    let env = environment();
    let allowed = kind.variable_names();
    for (field, name, source) in [
        ("subject", "subject.txt", subject),
        ("body_html", "body.html", body_html),
    ] {
        let template = env
            .template_from_named_str(name, source)
            .map_err(|e| template_error(field, &e))?;
        let mut unknown: Vec<String> = template
            .undeclared_variables(false)
            .into_iter()
            .filter(|v| !allowed.contains(&v.as_str()))
            .collect();
        unknown.sort();
        if let Some(first) = unknown.first() {
            return Err(ClusterError::invalid(
                field,
                format!(
                    "uses unknown variable {first} ({} offers: {})",
                    kind.name,
                    allowed.join(", ")
                ),
            ));
        }
    }
    // A template that parses may still fail when run (a filter given the wrong type): render
    // it once with sample values so that failure shows here, not at send time.
    render(subject, body_html, &kind.sample("Example")).map(|_| ())
}

/// Renders a template with `values` (every variable of its kind).
pub fn render(
    subject: &str,
    body_html: &str,
    values: &BTreeMap<String, String>,
) -> Result<Rendered> {
    let env = environment();
    let subject = env
        .template_from_named_str("subject.txt", subject)
        .and_then(|t| t.render(values))
        .map_err(|e| template_error("subject", &e))?;
    let html = env
        .template_from_named_str("body.html", body_html)
        .and_then(|t| t.render(values))
        .map_err(|e| template_error("body_html", &e))?;
    let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    let text = html_to_text(&html);
    Ok(Rendered {
        subject,
        html,
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_passes_its_own_check() -> Result<()> {
        for kind in KINDS {
            check(&kind, kind.default_subject, kind.default_html)?;
        }
        Ok(())
    }

    #[test]
    fn values_are_html_escaped_in_the_body_but_not_the_subject() -> Result<()> {
        let mut values = VERIFICATION.sample("A & B");
        values.insert("user_name".into(), "<script>x</script>".into());
        let out = render(
            VERIFICATION.default_subject,
            VERIFICATION.default_html,
            &values,
        )?;
        assert_eq!(out.subject, "Verify your email for A & B");
        assert!(
            out.html.contains("&lt;script&gt;x&lt;&#x2f;script&gt;"),
            "{}",
            out.html
        );
        assert!(
            out.text.contains("Hello <script>x</script>,"),
            "{}",
            out.text
        );
        assert!(
            out.text
                .contains("Verify my email (https://example.com/verification_url?token=sample)"),
            "{}",
            out.text
        );
        Ok(())
    }

    #[test]
    fn unknown_variables_and_broken_syntax_are_refused() {
        let unknown = check(&VERIFICATION, "Hi {{ password }}", "<p>x</p>");
        assert!(
            matches!(&unknown, Err(ClusterError::Validation { message, .. }) if message.contains("password")),
            "{unknown:?}"
        );
        let broken = check(&VERIFICATION, "Hi", "<p>{% if user_name %}</p>");
        assert!(
            matches!(&broken, Err(ClusterError::Validation { details, .. }) if details.contains_key("body_html")),
            "{broken:?}"
        );
        let runtime = check(&VERIFICATION, "Hi", "{{ user_name | int + 'x' }}");
        assert!(runtime.is_err(), "{runtime:?}");
    }

    #[test]
    fn a_runaway_loop_runs_out_of_fuel() {
        let out = check(
            &VERIFICATION,
            "Hi",
            "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}",
        );
        assert!(out.is_err(), "{out:?}");
    }
}
