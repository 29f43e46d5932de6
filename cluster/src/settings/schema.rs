//! Field schema of each settings section, transcribed from the client models (models.json);
//! the email section, an open object in the client, has the fields the docs and CLI use.

use super::{Field, Kind};

pub(super) const AUTHENTICATION_SETTINGS_PASSKEYS: &[Field] = &[Field {
    name: "require_certified_authenticator",
    kind: Kind::Bool,
    nullable: false,
}];

pub(super) const AUTHENTICATION_SETTINGS_MFA_POLICY: &[Field] = &[
    Field {
        name: "requirement",
        kind: Kind::Enum(&["off", "optional", "required", "risk_based"]),
        nullable: false,
    },
    Field {
        name: "allowed_factors",
        kind: Kind::EnumList(&["passkey", "push", "totp", "sms_otp", "email_otp"]),
        nullable: false,
    },
    Field {
        name: "min_tier_login",
        kind: Kind::Int,
        nullable: false,
    },
    Field {
        name: "min_tier_step_up",
        kind: Kind::Int,
        nullable: false,
    },
    Field {
        name: "passwordless_passkey",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "required_factor_count",
        kind: Kind::Int,
        nullable: false,
    },
    Field {
        name: "grace_period_days",
        kind: Kind::Int,
        nullable: false,
    },
    Field {
        name: "remind_interval_days",
        kind: Kind::Int,
        nullable: false,
    },
    Field {
        name: "trusted_device_days",
        kind: Kind::Int,
        nullable: false,
    },
    Field {
        name: "email_otp_counts_as_mfa",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "sms_block_voip",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "sms_country_allowlist",
        kind: Kind::StrList,
        nullable: false,
    },
    Field {
        name: "sms_country_denylist",
        kind: Kind::StrList,
        nullable: false,
    },
    Field {
        name: "nudge_interval_days",
        kind: Kind::Int,
        nullable: false,
    },
    Field {
        name: "step_up_max_age_seconds",
        kind: Kind::Int,
        nullable: false,
    },
    Field {
        name: "required_since",
        kind: Kind::Int,
        nullable: true,
    },
    // Lumo's additions: MFA required of members of these roles or groups (slugs).
    Field {
        name: "required_roles",
        kind: Kind::StrList,
        nullable: false,
    },
    Field {
        name: "required_groups",
        kind: Kind::StrList,
        nullable: false,
    },
];

pub(super) const AUTHENTICATION_SETTINGS_PASSWORD_POLICY: &[Field] = &[
    Field {
        name: "template",
        kind: Kind::Enum(&["fair", "moderate", "strict", "custom"]),
        nullable: false,
    },
    Field {
        name: "min_length",
        kind: Kind::Int,
        nullable: false,
    },
    Field {
        name: "require_special",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "require_numbers",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "require_uppercase",
        kind: Kind::Bool,
        nullable: false,
    },
];

pub(super) const AUTHENTICATION_SETTINGS_PASSWORD_ROTATION_POLICY: &[Field] = &[
    Field {
        name: "enabled",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "max_age_days",
        kind: Kind::Int,
        nullable: false,
    },
    Field {
        name: "notify_before_days",
        kind: Kind::Int,
        nullable: false,
    },
    Field {
        name: "history_count",
        kind: Kind::Int,
        nullable: false,
    },
];

pub(super) const AUTHENTICATION_SETTINGS_PROGRESSIVE_PROFILING: &[Field] = &[
    Field {
        name: "enabled",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "rules",
        kind: Kind::ObjList,
        nullable: false,
    },
];

pub(super) const AUTHENTICATION_SETTINGS: &[Field] = &[
    Field {
        name: "passkey_enabled",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "biometric_enabled",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "passkeys",
        kind: Kind::Nested(AUTHENTICATION_SETTINGS_PASSKEYS),
        nullable: false,
    },
    Field {
        name: "mfa_required",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "mfa_methods",
        kind: Kind::StrList,
        nullable: false,
    },
    Field {
        name: "mfa_sms_enabled",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "mfa_policy",
        kind: Kind::Nested(AUTHENTICATION_SETTINGS_MFA_POLICY),
        nullable: false,
    },
    Field {
        name: "push_auth_required",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "push_app_name",
        kind: Kind::Str,
        nullable: true,
    },
    Field {
        name: "social_login_enabled",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "social_providers",
        kind: Kind::StrList,
        nullable: false,
    },
    Field {
        name: "social_configs",
        kind: Kind::Object,
        nullable: false,
    },
    Field {
        name: "password_min_length",
        kind: Kind::Int,
        nullable: false,
    },
    Field {
        name: "password_require_special",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "password_policy",
        kind: Kind::Nested(AUTHENTICATION_SETTINGS_PASSWORD_POLICY),
        nullable: false,
    },
    Field {
        name: "password_rotation_policy",
        kind: Kind::Nested(AUTHENTICATION_SETTINGS_PASSWORD_ROTATION_POLICY),
        nullable: false,
    },
    Field {
        name: "no_mfa_action",
        kind: Kind::Str,
        nullable: false,
    },
    Field {
        name: "session_timeout",
        kind: Kind::Int,
        nullable: false,
    },
    Field {
        name: "encrypt_client_secrets",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "dynamic_client_registration_enabled",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "cimd_enabled",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "cimd_allowed_domains",
        kind: Kind::StrList,
        nullable: false,
    },
    Field {
        name: "cimd_localhost_redirect_policy",
        kind: Kind::Enum(&["warn", "block"]),
        nullable: false,
    },
    Field {
        name: "xaa_idp_enabled",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "xaa_resource_enabled",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "progressive_profiling",
        kind: Kind::Nested(AUTHENTICATION_SETTINGS_PROGRESSIVE_PROFILING),
        nullable: false,
    },
];

pub(super) const BRANDING_SETTINGS: &[Field] = &[
    Field {
        name: "enabled",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "logo_url",
        kind: Kind::Str,
        nullable: true,
    },
    Field {
        name: "favicon_url",
        kind: Kind::Str,
        nullable: true,
    },
    Field {
        name: "background_color",
        kind: Kind::Str,
        nullable: false,
    },
    Field {
        name: "primary_color",
        kind: Kind::Str,
        nullable: false,
    },
    Field {
        name: "button_text",
        kind: Kind::Str,
        nullable: false,
    },
    Field {
        name: "show_tenant_name",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "custom_css",
        kind: Kind::Str,
        nullable: true,
    },
    Field {
        name: "custom_html",
        kind: Kind::Str,
        nullable: true,
    },
    Field {
        name: "theme",
        kind: Kind::Enum(&["auto", "light", "dark"]),
        nullable: false,
    },
    Field {
        name: "self_registration_enabled",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "layout",
        kind: Kind::Enum(&["centered", "split-left", "split-right"]),
        nullable: false,
    },
    Field {
        name: "background_type",
        kind: Kind::Enum(&["solid", "gradient", "image", "pattern"]),
        nullable: false,
    },
    Field {
        name: "background_image_url",
        kind: Kind::Str,
        nullable: true,
    },
    Field {
        name: "background_gradient",
        kind: Kind::Str,
        nullable: false,
    },
    Field {
        name: "background_overlay_opacity",
        kind: Kind::Int,
        nullable: false,
    },
    Field {
        name: "show_background_pattern",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "background_pattern_style",
        kind: Kind::Enum(&[
            "hexagonal",
            "diamond",
            "crosshatch",
            "isometric",
            "concentric",
        ]),
        nullable: false,
    },
    Field {
        name: "welcome_title",
        kind: Kind::Str,
        nullable: true,
    },
    Field {
        name: "welcome_subtitle",
        kind: Kind::Str,
        nullable: true,
    },
    Field {
        name: "show_tenant_in_subtitle",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "split_panel_title",
        kind: Kind::Str,
        nullable: true,
    },
    Field {
        name: "split_panel_subtitle",
        kind: Kind::Str,
        nullable: true,
    },
    Field {
        name: "split_panel_image_url",
        kind: Kind::Str,
        nullable: true,
    },
    Field {
        name: "terms_url",
        kind: Kind::Str,
        nullable: true,
    },
    Field {
        name: "privacy_url",
        kind: Kind::Str,
        nullable: true,
    },
    Field {
        name: "footer_text",
        kind: Kind::Str,
        nullable: true,
    },
    Field {
        name: "show_powered_by",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "input_style",
        kind: Kind::Enum(&["rounded", "square", "pill"]),
        nullable: false,
    },
    Field {
        name: "button_style",
        kind: Kind::Enum(&["filled", "outline", "pill"]),
        nullable: false,
    },
    Field {
        name: "form_card_style",
        kind: Kind::Enum(&["card", "flat", "glass"]),
        nullable: false,
    },
    Field {
        name: "apply_to_registration",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "apply_to_consent",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "magic_link_enabled",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "magic_link_only",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "magic_link_expiry",
        kind: Kind::Int,
        nullable: false,
    },
];

pub(super) const GENERAL_SETTINGS: &[Field] = &[
    Field {
        name: "name",
        kind: Kind::Str,
        nullable: false,
    },
    Field {
        name: "displayName",
        kind: Kind::Str,
        nullable: false,
    },
    Field {
        name: "timezone",
        kind: Kind::Str,
        nullable: false,
    },
    Field {
        name: "locale",
        kind: Kind::Str,
        nullable: false,
    },
];

pub(super) const SCIM_SETTINGS_INBOUND_PROTECTED_ATTRIBUTES: &[Field] = &[
    Field {
        name: "email",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "name",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "active",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "roles",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "permissions",
        kind: Kind::Bool,
        nullable: false,
    },
];

pub(super) const SCIM_SETTINGS_INBOUND: &[Field] = &[
    Field {
        name: "enabled",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "bearer_token",
        kind: Kind::WriteOnlyToken,
        nullable: true,
    },
    Field {
        name: "bearer_token_hash",
        kind: Kind::ReadOnly,
        nullable: true,
    },
    Field {
        name: "bearer_token_preview",
        kind: Kind::ReadOnly,
        nullable: true,
    },
    Field {
        name: "token_created_at",
        kind: Kind::ReadOnly,
        nullable: true,
    },
    Field {
        name: "allow_user_creation",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "allow_user_updates",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "allow_user_deletion",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "allow_group_operations",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "protected_attributes",
        kind: Kind::Nested(SCIM_SETTINGS_INBOUND_PROTECTED_ATTRIBUTES),
        nullable: false,
    },
    Field {
        name: "attribute_mapping",
        kind: Kind::StrMap,
        nullable: false,
    },
    Field {
        name: "auto_activate_users",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "deprovisioning_action",
        kind: Kind::Enum(&["soft_delete", "deactivate", "hard_delete"]),
        nullable: false,
    },
];

pub(super) const SCIM_SETTINGS_OUTBOUND: &[Field] = &[
    Field {
        name: "enabled",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "endpoint_url",
        kind: Kind::Str,
        nullable: true,
    },
    Field {
        name: "bearer_token",
        kind: Kind::Secret,
        nullable: true,
    },
    Field {
        name: "auth_type",
        kind: Kind::Enum(&["bearer", "basic", "oauth2"]),
        nullable: false,
    },
    Field {
        name: "basic_username",
        kind: Kind::Str,
        nullable: true,
    },
    Field {
        name: "basic_password",
        kind: Kind::Secret,
        nullable: true,
    },
    Field {
        name: "oauth2_client_id",
        kind: Kind::Str,
        nullable: true,
    },
    Field {
        name: "oauth2_client_secret",
        kind: Kind::Secret,
        nullable: true,
    },
    Field {
        name: "oauth2_token_url",
        kind: Kind::Str,
        nullable: true,
    },
    Field {
        name: "oauth2_scope",
        kind: Kind::Str,
        nullable: true,
    },
    Field {
        name: "tls_certificate",
        kind: Kind::Str,
        nullable: true,
    },
    Field {
        name: "verify_tls",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "push_user_creates",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "push_user_updates",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "push_user_deletes",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "push_group_changes",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "sync_on_login",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "batch_sync_enabled",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "batch_sync_interval",
        kind: Kind::Enum(&["hourly", "daily", "weekly"]),
        nullable: false,
    },
    Field {
        name: "attribute_mapping",
        kind: Kind::StrMap,
        nullable: false,
    },
    Field {
        name: "last_sync_at",
        kind: Kind::ReadOnly,
        nullable: true,
    },
    Field {
        name: "last_sync_status",
        kind: Kind::ReadOnly,
        nullable: true,
    },
    Field {
        name: "last_sync_error",
        kind: Kind::ReadOnly,
        nullable: true,
    },
    Field {
        name: "last_batch_sync_at",
        kind: Kind::ReadOnly,
        nullable: true,
    },
    Field {
        name: "last_batch_sync_status",
        kind: Kind::ReadOnly,
        nullable: true,
    },
    Field {
        name: "last_batch_sync_error",
        kind: Kind::ReadOnly,
        nullable: true,
    },
    Field {
        name: "last_batch_sync_counts",
        kind: Kind::ReadOnly,
        nullable: true,
    },
];

pub(super) const SCIM_SETTINGS: &[Field] = &[
    Field {
        name: "inbound",
        kind: Kind::Nested(SCIM_SETTINGS_INBOUND),
        nullable: false,
    },
    Field {
        name: "outbound",
        kind: Kind::Nested(SCIM_SETTINGS_OUTBOUND),
        nullable: false,
    },
];

pub(super) const SECURITY_SETTINGS: &[Field] = &[
    Field {
        name: "dpop_require_nonce",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "rate_limits",
        kind: Kind::Nested(SECURITY_SETTINGS_RATE_LIMITS),
        nullable: false,
    },
];

/// Requests per window by class (0: no limit); `rate_limit::OrgLimits` reads them.
const SECURITY_SETTINGS_RATE_LIMITS: &[Field] = &[
    Field {
        name: "admin_reads_per_minute",
        kind: Kind::Int,
        nullable: false,
    },
    Field {
        name: "admin_writes_per_minute",
        kind: Kind::Int,
        nullable: false,
    },
    Field {
        name: "token_requests_per_minute",
        kind: Kind::Int,
        nullable: false,
    },
    Field {
        name: "checks_per_minute",
        kind: Kind::Int,
        nullable: false,
    },
    Field {
        name: "audit_exports_per_hour",
        kind: Kind::Int,
        nullable: false,
    },
];

pub(super) const EMAIL_SETTINGS: &[Field] = &[
    Field {
        name: "enabled",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "provider",
        kind: Kind::Enum(&["none", "smtp", "ses", "sendgrid", "mailgun", "postmark"]),
        nullable: false,
    },
    Field {
        name: "from_name",
        kind: Kind::Str,
        nullable: true,
    },
    Field {
        name: "from_email",
        kind: Kind::Str,
        nullable: true,
    },
    Field {
        name: "reply_to",
        kind: Kind::Str,
        nullable: true,
    },
    Field {
        name: "smtp_host",
        kind: Kind::Str,
        nullable: true,
    },
    Field {
        name: "smtp_port",
        kind: Kind::Int,
        nullable: true,
    },
    Field {
        name: "smtp_username",
        kind: Kind::Str,
        nullable: true,
    },
    Field {
        name: "smtp_password",
        kind: Kind::Secret,
        nullable: true,
    },
    Field {
        name: "smtp_secure",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "smtp_verify_tls",
        kind: Kind::Bool,
        nullable: false,
    },
    Field {
        name: "smtp_tls_certificate",
        kind: Kind::Str,
        nullable: true,
    },
    Field {
        name: "last_delivery_at",
        kind: Kind::ReadOnly,
        nullable: true,
    },
    Field {
        name: "last_delivery_status",
        kind: Kind::ReadOnly,
        nullable: true,
    },
    Field {
        name: "last_delivery_error",
        kind: Kind::ReadOnly,
        nullable: true,
    },
];
