//! The tenant profile, analytics and API keys.

use lumo_cluster::model::{ApiKey, OrgRecord};
use lumo_cluster::query::{Dashboard, LoginDay, Period, UserGrowth};
use serde_json::{Value, json};

/// `TenantProfile`.
pub fn tenant(org: OrgRecord) -> Value {
    json!({
        "id": org.number,
        "slug": org.slug,
        "name": org.name,
        "status": org.status,
        "settings": if org.settings.is_object() { org.settings } else { json!({}) },
        "createdAt": org.created_at.to_rfc3339(),
        "updatedAt": org.updated_at.to_rfc3339(),
    })
}

/// `AdminAnalyticsDashboardResponseData`.
pub fn dashboard(d: Dashboard) -> Value {
    json!({
        "users": {
            "total": d.users_total,
            "active": d.users_active,
            "blocked": d.users_blocked,
            "newLast30Days": d.users_new_30d,
        },
        "clients": {"total": d.clients_total},
        "authentication": {
            "loginsLast7Days": d.logins_7d,
            "failedLoginsLast7Days": d.failed_logins_7d,
        },
        "audit": {"eventsLast7Days": d.audit_events_7d},
        "generatedAt": d.generated_at.to_rfc3339(),
    })
}

fn period(p: &Period) -> Value {
    json!({"days": p.days, "from": p.from.to_rfc3339(), "to": p.to.to_rfc3339()})
}

/// `AdminAnalyticsLoginsResponseData`.
pub fn logins(p: Period, days: Vec<LoginDay>) -> Value {
    let daily: Vec<Value> = days
        .into_iter()
        .map(|d| json!({"date": d.date, "total": d.successful + d.failed, "successful": d.successful, "failed": d.failed}))
        .collect();
    json!({"daily": daily, "period": period(&p)})
}

/// `AdminAnalyticsUsersResponseData`.
pub fn user_growth(p: Period, g: UserGrowth) -> Value {
    let daily: Vec<Value> = g
        .daily
        .into_iter()
        .map(|(date, count)| json!({"date": date, "count": count}))
        .collect();
    json!({
        "dailyRegistrations": daily,
        "byVerificationStatus": [
            {"emailVerified": true, "count": g.verified},
            {"emailVerified": false, "count": g.unverified},
        ],
        "byMfaStatus": [
            {"mfaEnabled": true, "count": g.mfa_enabled},
            {"mfaEnabled": false, "count": g.mfa_disabled},
        ],
        "period": period(&p),
    })
}

/// An API key as listed (never the secret or its hash).
pub fn api_key(k: ApiKey) -> Value {
    json!({
        "id": k.id.0,
        "name": k.name,
        "prefix": k.prefix,
        "scopes": k.scopes,
        "createdAt": k.created_at.to_rfc3339(),
        "expiresAt": k.expires_at.map(|t| t.to_rfc3339()),
        "revokedAt": k.revoked_at.map(|t| t.to_rfc3339()),
        "isActive": k.revoked_at.is_none(),
        "createdBy": k.created_by,
    })
}
