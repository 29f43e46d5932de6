//! Analytics computed from users and the audit log.

use std::collections::BTreeMap;

use crate::clock::Timestamp;
use crate::error::{ClusterError, Result};
use crate::model::{AuditRecord, User};
use crate::query::{Dashboard, LoginDay, Period, Reply, UserGrowth};
use crate::tables::{OrgReader, Table};

/// Audit actions that count as sign-ins.
pub const LOGIN_SUCCEEDED: &str = "user.login.succeeded";
/// Audit actions that count as failed sign-ins.
pub const LOGIN_FAILED: &str = "user.login.failed";

fn period(days: u32, now: Timestamp) -> Result<Period> {
    if !(1..=90).contains(&days) {
        return Err(ClusterError::invalid("days", "must be between 1 and 90"));
    }
    Ok(Period {
        days,
        from: now.minus_days(i64::from(days)),
        to: now,
    })
}

/// Calls `visit` for audit records newer than `from`, newest first.
fn recent_audit(
    reader: &OrgReader,
    from: Timestamp,
    mut visit: impl FnMut(&AuditRecord),
) -> Result<()> {
    reader.scan::<AuditRecord>(Table::Audit, &[], true, |_, record| {
        if record.body.created_at < from {
            return false;
        }
        visit(&record);
        true
    })
}

pub(super) fn dashboard(reader: &OrgReader, now: Timestamp) -> Result<Reply> {
    let mut d = Dashboard {
        users_total: 0,
        users_active: 0,
        users_blocked: 0,
        users_new_30d: 0,
        clients_total: reader.count(Table::OAuthClient, &[])?,
        logins_7d: 0,
        failed_logins_7d: 0,
        audit_events_7d: 0,
        generated_at: now,
    };
    let month_ago = now.minus_days(30);
    reader.scan::<User>(Table::User, &[], false, |_, user| {
        d.users_total += 1;
        if user.blocked {
            d.users_blocked += 1;
        } else if user.is_active {
            d.users_active += 1;
        }
        if user.created_at >= month_ago {
            d.users_new_30d += 1;
        }
        true
    })?;
    recent_audit(reader, now.minus_days(7), |record| {
        d.audit_events_7d += 1;
        match record.body.action.as_str() {
            LOGIN_SUCCEEDED => d.logins_7d += 1,
            LOGIN_FAILED => d.failed_logins_7d += 1,
            _ => {}
        }
    })?;
    Ok(Reply::Dashboard(d))
}

/// One entry per day of the period, oldest first.
fn days_of(period: &Period) -> Vec<String> {
    let first = period.from.day() + 1;
    (first..=period.to.day())
        .map(|day| Timestamp(day * 86_400_000).to_date())
        .collect()
}

pub(super) fn logins(reader: &OrgReader, days: u32, now: Timestamp) -> Result<Reply> {
    let period = period(days, now)?;
    let mut by_day: BTreeMap<String, LoginDay> = days_of(&period)
        .into_iter()
        .map(|date| {
            (
                date.clone(),
                LoginDay {
                    date,
                    successful: 0,
                    failed: 0,
                },
            )
        })
        .collect();
    recent_audit(reader, period.from, |record| {
        let Some(day) = by_day.get_mut(&record.body.created_at.to_date()) else {
            return;
        };
        match record.body.action.as_str() {
            LOGIN_SUCCEEDED => day.successful += 1,
            LOGIN_FAILED => day.failed += 1,
            _ => {}
        }
    })?;
    Ok(Reply::Logins {
        period,
        days: by_day.into_values().collect(),
    })
}

pub(super) fn users(reader: &OrgReader, days: u32, now: Timestamp) -> Result<Reply> {
    let period = period(days, now)?;
    let mut daily: BTreeMap<String, u64> = days_of(&period).into_iter().map(|d| (d, 0)).collect();
    let mut growth = UserGrowth {
        daily: Vec::new(),
        verified: 0,
        unverified: 0,
        mfa_enabled: 0,
        mfa_disabled: 0,
    };
    reader.scan::<User>(Table::User, &[], false, |_, user| {
        if let Some(count) = daily.get_mut(&user.created_at.to_date()) {
            *count += 1;
        }
        if user.email_verified {
            growth.verified += 1;
        } else {
            growth.unverified += 1;
        }
        if user.mfa_enabled {
            growth.mfa_enabled += 1;
        } else {
            growth.mfa_disabled += 1;
        }
        true
    })?;
    growth.daily = daily.into_iter().collect();
    Ok(Reply::UserGrowth { period, growth })
}
