"""Analytics: dashboard counters, daily logins and user growth windows (in a fresh org)."""

import datetime

import pytest

import lumoauth_api_client
from lumoauth_api_client.exceptions import ApiException
from lumoauth_api_client.models import (
    AdminAnalyticsDashboardResponse,
    AdminAnalyticsLoginsResponse,
    AdminAnalyticsUsersResponse,
)

from lumo_helpers import create_user, error_body, send


@pytest.fixture(scope="module")
def populated(new_org):
    """A fresh org with three users (one verified, one blocked)."""
    tenant = new_org()
    users = [
        create_user(tenant.client, tenant.slug, name="Verified", emailVerified=True),
        create_user(tenant.client, tenant.slug, name="Plain"),
        create_user(tenant.client, tenant.slug, name="Blocked"),
    ]
    lumoauth_api_client.AdminUsersApi(tenant.client).block_user(tenant.slug, users[2].id)
    tenant.analytics = lumoauth_api_client.AdminSettingsApi(tenant.client)
    tenant.users = users
    return tenant


def utc_today():
    return datetime.datetime.now(datetime.timezone.utc).date()


def test_dashboard_counts_users_clients_and_audit_events(populated):
    resp = populated.analytics.admin_analytics_dashboard(populated.slug)
    assert isinstance(resp, AdminAnalyticsDashboardResponse)
    data = resp.data
    assert data.users.total == 3
    assert data.users.blocked == 1
    assert data.users.new_last30_days == 3
    assert 2 <= data.users.active <= 3
    assert data.clients.total == 0
    assert data.authentication.logins_last7_days == 0
    assert data.authentication.failed_logins_last7_days == 0
    # org creation + API key + 3 user creations + 1 block, at least
    assert data.audit.events_last7_days >= 5
    age = datetime.datetime.now(datetime.timezone.utc) - data.generated_at
    assert abs(age.total_seconds()) < 120


def test_dashboard_matches_user_list_totals(populated):
    listing = lumoauth_api_client.AdminUsersApi(populated.client).list_users(populated.slug)
    blocked = send(populated.client, "GET", "/admin/users", populated.slug,
                   query={"blocked": "true"}, types={"200": "ListUsersResponse"}).data
    dash = populated.analytics.admin_analytics_dashboard(populated.slug).data
    assert dash.users.total == listing.meta.total
    assert dash.users.blocked == blocked.meta.total


def test_logins_for_seven_days_has_one_row_per_day(populated):
    resp = populated.analytics.admin_analytics_logins(populated.slug, days=7)
    assert isinstance(resp, AdminAnalyticsLoginsResponse)
    data = resp.data
    assert data.period.days == 7
    span = data.period.to - data.period.var_from
    assert abs(span.total_seconds() - 7 * 86400) < 5
    dates = [row.var_date for row in data.daily]
    assert len(dates) == 7
    assert dates == sorted(dates)
    assert all((b - a).days == 1 for a, b in zip(dates, dates[1:]))
    assert dates[-1] == utc_today()
    for row in data.daily:
        assert row.total == row.successful + row.failed == 0


def test_user_growth_for_thirty_days_counts_registrations(populated):
    resp = populated.analytics.admin_analytics_users(populated.slug, days=30)
    assert isinstance(resp, AdminAnalyticsUsersResponse)
    data = resp.data
    assert data.period.days == 30
    assert len(data.daily_registrations) == 30
    assert data.daily_registrations[-1].var_date == utc_today()
    assert sum(r.count for r in data.daily_registrations) == 3
    assert data.daily_registrations[-1].count == 3
    verified = {row.email_verified: row.count for row in data.by_verification_status}
    assert verified == {True: 1, False: 2}
    mfa = {row.mfa_enabled: row.count for row in data.by_mfa_status}
    assert mfa.get(False) == 3 and mfa.get(True, 0) == 0


def test_default_window_is_thirty_days(populated):
    assert populated.analytics.admin_analytics_logins(populated.slug).data.period.days == 30
    assert populated.analytics.admin_analytics_users(populated.slug).data.period.days == 30


@pytest.mark.parametrize("path", ["/admin/analytics/logins", "/admin/analytics/users"])
@pytest.mark.parametrize("days", [0, 91])
def test_days_outside_1_to_90_is_rejected(populated, path, days):
    # The generated method refuses such values client-side, so send them through the
    # client's transport directly.
    with pytest.raises(ApiException) as info:
        send(populated.client, "GET", path, populated.slug, query={"days": str(days)},
             types={"200": "AdminAnalyticsLoginsResponse"})
    assert info.value.status in (400, 422)
    assert "days" in error_body(info.value)["message"]
