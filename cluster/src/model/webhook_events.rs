//! The catalog of webhook event names: every audit action the server records is an event of
//! the same name, delivered to the webhooks that subscribe to it (or to `*`).

/// Event names and what they mean, for `GET ~/admin/webhooks/events`.
const FIXED: &[(&str, &str)] = &[
    ("user.created", "A user was created"),
    ("user.updated", "A user's profile changed"),
    ("user.deleted", "A user was deleted"),
    ("user.blocked", "A user was blocked"),
    ("user.unblocked", "A user was unblocked"),
    ("user.email_verified", "A user's email address was verified"),
    (
        "user.password.changed",
        "A user's password was set or changed",
    ),
    (
        "user.password_reset.requested",
        "A password reset email was requested",
    ),
    (
        "user.verification_email.requested",
        "A verification email was requested",
    ),
    (
        "user.password.reset",
        "A user chose a new password through an emailed link",
    ),
    ("organization.created", "A B2B organization was created"),
    ("organization.updated", "A B2B organization changed"),
    ("organization.deleted", "A B2B organization was deleted"),
    ("organization.member.added", "A user joined an organization"),
    (
        "organization.member.updated",
        "A member's organization role or status changed",
    ),
    ("organization.member.removed", "A user left an organization"),
    (
        "organization.invitation.created",
        "Someone was invited to an organization",
    ),
    (
        "organization.invitation.resent",
        "An organization invitation was sent again",
    ),
    (
        "organization.invitation.accepted",
        "An organization invitation was accepted",
    ),
    (
        "organization.invitation.revoked",
        "An organization invitation was revoked",
    ),
    ("user.login.succeeded", "A user signed in"),
    ("user.login.failed", "A sign-in failed"),
    ("session.revoked", "A session was revoked"),
    (
        "mfa.enrollment.started",
        "A user started enrolling an MFA factor",
    ),
    (
        "mfa.authenticator.enrolled",
        "A user enrolled an MFA factor",
    ),
    (
        "mfa.authenticator.updated",
        "A user renamed an MFA factor or made it the default",
    ),
    ("mfa.authenticator.removed", "An MFA factor was removed"),
    (
        "mfa.recovery_codes.generated",
        "A user generated recovery codes",
    ),
    ("mfa.recovery_code.used", "A recovery code was used"),
    ("mfa.challenge.created", "An MFA challenge was started"),
    ("mfa.challenge.approved", "An MFA challenge was answered"),
    ("mfa.challenge.failed", "A wrong MFA answer was given"),
    (
        "mfa.locked",
        "A user's MFA was locked after repeated failures",
    ),
    (
        "mfa.trusted_device.revoked",
        "A user revoked a trusted device",
    ),
    (
        "mfa.tap.issued",
        "An administrator issued a temporary access code",
    ),
    ("mfa.tap.used", "A temporary access code was used"),
    (
        "identity.link.created",
        "An external identity was linked to a user",
    ),
    (
        "identity.link.removed",
        "An external identity was unlinked from a user",
    ),
    ("group.created", "A group was created"),
    (
        "scim.outbound.sync_queued",
        "A full outbound SCIM sync was queued",
    ),
    ("group.updated", "A group changed"),
    ("group.deleted", "A group was deleted"),
    ("role.created", "A role was created"),
    ("role.updated", "A role changed"),
    ("role.deleted", "A role was deleted"),
    ("permission.created", "A permission was created"),
    ("permission.updated", "A permission changed"),
    ("permission.deleted", "A permission was deleted"),
    ("scope.created", "An OAuth scope was created"),
    ("scope.deleted", "An OAuth scope was deleted"),
    ("api_key.created", "An API key was created"),
    ("api_key.revoked", "An API key was revoked"),
    ("oauth_client.created", "An OAuth client was registered"),
    ("oauth_client.updated", "An OAuth client changed"),
    ("oauth_client.enabled", "An OAuth client was enabled"),
    ("oauth_client.disabled", "An OAuth client was disabled"),
    ("oauth_client.deleted", "An OAuth client was deleted"),
    (
        "oauth_client.secret_rotated",
        "An OAuth client's secret was rotated",
    ),
    ("oauth.token.issued", "Tokens were issued"),
    ("oauth.token.revoked", "A token was revoked"),
    (
        "oauth.consent.granted",
        "A user granted consent to a client",
    ),
    (
        "oauth.code.replayed",
        "An authorization code was used twice (its tokens were revoked)",
    ),
    (
        "oauth.refresh_token.reused",
        "A rotated refresh token was reused (its family was revoked)",
    ),
    (
        "oauth.device.approved",
        "A device authorization was approved",
    ),
    ("oauth.device.denied", "A device authorization was denied"),
    (
        "oauth.ciba.requested",
        "A backchannel authentication was requested",
    ),
    (
        "oauth.ciba.approved",
        "A backchannel authentication was approved",
    ),
    (
        "oauth.ciba.denied",
        "A backchannel authentication was denied",
    ),
    (
        "oauth.expired_purged",
        "Expired tokens and requests were purged",
    ),
    ("signing_key.rotated", "A token signing key was added"),
    ("organization.created", "The organization was created"),
    (
        "organization.updated",
        "The organization's name or settings changed",
    ),
    (
        "organization.move.started",
        "The organization started moving to another shard",
    ),
    (
        "organization.move.aborted",
        "A move of the organization was aborted",
    ),
    (
        "organization.moved",
        "The organization moved to another shard",
    ),
    ("audit.retention.updated", "Audit retention changed"),
    ("audit.compacted", "Old audit records were removed"),
    ("agent.created", "An AI agent was created"),
    ("agent.updated", "An AI agent changed"),
    ("agent.deleted", "An AI agent was deleted"),
    ("agent.enabled", "An AI agent was enabled"),
    ("agent.disabled", "An AI agent was disabled"),
    ("agent.activated", "An AI agent was activated"),
    ("agent.deactivated", "An AI agent was deactivated"),
    (
        "agent.credentials_rotated",
        "An AI agent's client secret was rotated",
    ),
    ("agent.key_rotated", "An AI agent's key was rotated"),
    ("agent.key_revoked", "An AI agent's key was revoked"),
    (
        "agent.connection_created",
        "A token vault connection was stored",
    ),
    (
        "agent.connection_deleted",
        "A token vault connection was deleted",
    ),
    (
        "agent.ask.allowed",
        "An agent's Ask API question was allowed",
    ),
    ("agent.ask.denied", "An agent's Ask API question was denied"),
    (
        "agent.approval_requested",
        "An agent asked a user for approval",
    ),
    (
        "agent.approval_approved",
        "A user approved an agent's request",
    ),
    ("agent.approval_denied", "A user denied an agent's request"),
    ("jit.task_created", "A just-in-time task was created"),
    ("jit.task_finished", "A just-in-time task finished"),
    (
        "jit.request_pending",
        "A just-in-time permission request awaits review",
    ),
    (
        "jit.request_approved",
        "A just-in-time permission request was approved",
    ),
    (
        "jit.request_auto_approved",
        "A just-in-time permission request was approved by policy",
    ),
    (
        "jit.request_denied",
        "A just-in-time permission request was denied",
    ),
    ("mcp.server_created", "An MCP server was registered"),
    ("mcp.server_deleted", "An MCP server was deleted"),
    ("mcp.tool_allowed", "An MCP tool call was allowed"),
    ("mcp.tool_denied", "An MCP tool call was denied"),
    ("abac.attribute.created", "An ABAC attribute was defined"),
    ("abac.attribute.updated", "An ABAC attribute changed"),
    ("abac.attribute.deleted", "An ABAC attribute was deleted"),
    ("abac.policy.created", "An ABAC policy was created"),
    ("abac.policy.updated", "An ABAC policy changed"),
    ("abac.policy.deleted", "An ABAC policy was deleted"),
    ("abac.value.set", "An ABAC attribute value was set"),
    ("zanzibar.schema.updated", "The relation schema changed"),
    (
        "zanzibar.tuples.written",
        "Relation tuples were written or deleted",
    ),
    (
        "aauth.agent_identity_set",
        "An agent's AAuth identity was set",
    ),
    (
        "aauth.agent_identity_removed",
        "An agent's AAuth identity was removed",
    ),
    ("aauth.resource_created", "An AAuth resource was registered"),
    ("aauth.resource_updated", "An AAuth resource changed"),
    ("aauth.resource_deleted", "An AAuth resource was deleted"),
    (
        "aauth.consent_granted",
        "A user granted an AAuth agent access",
    ),
    (
        "aauth.consent_denied",
        "A user denied an AAuth agent access",
    ),
    ("aauth.token_issued", "An AAuth token was issued"),
    ("aauth.token_revoked", "An AAuth token was revoked"),
    ("webhook.created", "A webhook was created"),
    ("webhook.updated", "A webhook changed"),
    ("webhook.enabled", "A webhook was enabled"),
    ("webhook.disabled", "A webhook was disabled"),
    ("webhook.deleted", "A webhook was deleted"),
    (
        "webhook.secret_rotated",
        "A webhook's signing secret was rotated",
    ),
];

/// Ends of the relations an admin can change, in both directions.
const RELATION_ENDS: &[(&str, &str)] = &[
    ("user", "role"),
    ("role", "user"),
    ("user", "group"),
    ("group", "user"),
    ("user", "permission"),
    ("permission", "user"),
    ("group", "role"),
    ("role", "group"),
    ("role", "permission"),
    ("permission", "role"),
];

const SETTINGS_SECTIONS: &[&str] = &["auth", "branding", "email", "general", "scim", "security"];

/// Every event name with its description, sorted by name.
pub fn webhook_event_catalog() -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = FIXED
        .iter()
        .map(|(name, about)| (name.to_string(), about.to_string()))
        .collect();
    for (anchor, other) in RELATION_ENDS {
        for verb in ["added", "removed", "replaced"] {
            all.push((
                format!("{anchor}.{other}.{verb}"),
                format!("A {anchor}'s {other}s were {verb}"),
            ));
        }
    }
    for section in SETTINGS_SECTIONS {
        all.push((
            format!("settings.{section}.updated"),
            format!("The {section} settings changed"),
        ));
    }
    all.sort();
    all
}

/// True when `name` is an event the server emits.
pub fn is_webhook_event(name: &str) -> bool {
    webhook_event_catalog().iter().any(|(n, _)| n == name)
}
