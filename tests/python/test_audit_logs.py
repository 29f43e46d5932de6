"""Audit logs: list/filter, get, actions, stats, CSV and JSON export, retention."""

import csv
import io
import json
import uuid

import pytest

from lumoauth_api_client.exceptions import NotFoundException, UnprocessableEntityException
from lumoauth_api_client.models import (
    AdminAuditLogsActionsResponse,
    AdminAuditLogsGetResponse,
    AdminAuditLogsListResponse,
    AdminAuditLogsRetentionResponse,
    AdminAuditLogsStatsResponse,
    AuditLogEntry,
)

from lumo_helpers import create_user, error_body, send


@pytest.fixture(scope="module")
def audited_user(api_client, org):
    """A user whose creation must show up in the audit log."""
    return create_user(api_client, org, name="Audited Person")


def entries_for(api_client, org, **filters):
    resp = send(api_client, "GET", "/admin/audit-logs", org, query=filters,
                types={"200": "AdminAuditLogsListResponse"})
    return resp.data


def test_list_audit_logs_returns_entries_newest_first(org, audit_api, audited_user):
    listing = audit_api.admin_audit_logs_list(org)
    assert isinstance(listing, AdminAuditLogsListResponse)
    assert listing.resource_type == "audit_logs"
    assert listing.meta == listing.pagination
    assert listing.meta.total >= len(listing.data) > 0
    assert all(isinstance(e, AuditLogEntry) and isinstance(e.id, int) for e in listing.data)
    ids = [e.id for e in listing.data]
    assert ids == sorted(ids, reverse=True)


def test_user_creation_is_audited_with_actor_and_target(api_client, org, audited_user):
    found = entries_for(api_client, org, action="user.created", targetId=audited_user.id)
    assert found.meta.total == 1
    entry = found.data[0]
    assert entry.action == "user.created"
    assert entry.event_type == "user"
    assert entry.target_type == "user"
    assert entry.target_id == audited_user.id
    assert entry.target_name in (audited_user.name, audited_user.email)
    assert entry.actor_type == "api_key"
    assert entry.created_at is not None


def test_get_audit_log_by_id(api_client, org, audit_api, audited_user):
    entry = entries_for(api_client, org, action="user.created",
                        targetId=audited_user.id).data[0]
    got = audit_api.admin_audit_logs_get(org, str(entry.id))
    assert isinstance(got, AdminAuditLogsGetResponse)
    assert got.data.id == entry.id
    assert got.data.action == "user.created"
    assert got.data.target_id == audited_user.id
    assert got.data.created_at == entry.created_at


def test_get_unknown_audit_log_is_404(org, audit_api):
    with pytest.raises(NotFoundException) as info:
        audit_api.admin_audit_logs_get(org, "987654321")
    assert error_body(info.value)["status"] == 404


def test_actions_lists_distinct_action_names(org, audit_api, audited_user):
    actions = audit_api.admin_audit_logs_actions(org)
    assert isinstance(actions, AdminAuditLogsActionsResponse)
    assert "user.created" in actions.data
    assert len(actions.data) == len(set(actions.data))
    assert all(isinstance(a, str) for a in actions.data)
    assert actions.pagination.total >= len(actions.data)


def test_stats_count_events_by_action_and_severity(org, audit_api, audited_user):
    stats = audit_api.admin_audit_logs_stats(org)
    assert isinstance(stats, AdminAuditLogsStatsResponse)
    data = stats.data
    assert data.total >= 1
    assert data.by_action["user.created"] >= 1
    assert sum(data.by_severity.values()) == data.total
    assert sum(data.by_action.values()) == data.total
    assert data.period.var_from < data.period.to
    assert 29 <= (data.period.to - data.period.var_from).days <= 30


def test_export_as_csv_text(org, audit_api, audited_user):
    resp = audit_api.admin_audit_logs_export_with_http_info(
        org, _headers={"Accept": "text/csv"})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/csv")
    assert isinstance(resp.data, str)
    rows = list(csv.DictReader(io.StringIO(resp.data)))
    assert rows, "CSV export has no rows"
    assert {"id", "action", "createdAt", "targetId"} <= set(rows[0].keys())
    mine = [r for r in rows if r["action"] == "user.created" and r["targetId"] == audited_user.id]
    assert len(mine) == 1
    assert int(mine[0]["id"]) > 0


def test_export_as_json_with_accept_header(org, audit_api, audited_user):
    resp = audit_api.admin_audit_logs_export_with_http_info(
        org, _headers={"Accept": "application/json"})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/json")
    doc = json.loads(resp.raw_data)
    entries = [AuditLogEntry.from_dict(item) for item in doc["data"]]
    assert doc["meta"]["total"] == len(entries) > 0
    assert isinstance(doc["meta"]["exportedAt"], str)
    assert any(e.action == "user.created" and e.target_id == audited_user.id for e in entries)


def test_retention_get_put_patch(org, audit_api, api_client):
    current = audit_api.admin_audit_logs_retention(org)
    assert isinstance(current, AdminAuditLogsRetentionResponse)
    assert isinstance(current.data.retention_days, int) and current.data.retention_days >= 1
    assert isinstance(current.data.auto_delete, bool)

    put = send(api_client, "PUT", "/admin/audit-logs/retention", org,
               body={"retentionDays": 180, "autoDelete": False},
               types={"200": "AdminAuditLogsRetentionResponse"})
    assert (put.data.data.retention_days, put.data.data.auto_delete) == (180, False)

    patch = send(api_client, "PATCH", "/admin/audit-logs/retention", org,
                 body={"retentionDays": 120},
                 types={"200": "AdminAuditLogsRetentionResponse"})
    assert (patch.data.data.retention_days, patch.data.data.auto_delete) == (120, False)

    again = audit_api.admin_audit_logs_retention(org).data
    assert (again.retention_days, again.auto_delete) == (120, False)

    # restore
    send(api_client, "PUT", "/admin/audit-logs/retention", org,
         body={"retentionDays": current.data.retention_days,
               "autoDelete": current.data.auto_delete},
         types={"200": "AdminAuditLogsRetentionResponse"})


def test_retention_zero_days_is_422(org, api_client, audit_api):
    before = audit_api.admin_audit_logs_retention(org).data.retention_days
    with pytest.raises(UnprocessableEntityException) as info:
        send(api_client, "PUT", "/admin/audit-logs/retention", org, body={"retentionDays": 0},
             types={"200": "AdminAuditLogsRetentionResponse"})
    assert "retentionDays" in json.dumps(error_body(info.value))
    assert audit_api.admin_audit_logs_retention(org).data.retention_days == before


def test_user_deletion_is_audited_and_export_honours_filters(api_client, org, audit_api,
                                                              users_api):
    user = create_user(api_client, org)
    users_api.delete_user(org, user.id)
    found = entries_for(api_client, org, action="user.deleted", targetId=user.id)
    assert found.meta.total == 1
    assert found.data[0].target_type == "user"
    resp = audit_api.admin_audit_logs_export_with_http_info(
        org, _headers={"Accept": "text/csv"})
    assert any(r["action"] == "user.deleted" and r["targetId"] == user.id
               for r in csv.DictReader(io.StringIO(resp.data)))
    filtered = send(api_client, "GET", "/admin/audit-logs/export", org,
                    query={"action": "user.deleted"}, headers={"Accept": "text/csv"},
                    types={"200": "str"})
    rows = list(csv.DictReader(io.StringIO(filtered.data)))
    assert rows and {r["action"] for r in rows} == {"user.deleted"}
    assert user.id in {r["targetId"] for r in rows}


def test_list_with_future_start_date_is_empty(api_client, org):
    found = entries_for(api_client, org, startDate="2099-01-01")
    assert found.meta.total == 0 and found.data == []


def test_list_paginates_with_limit(api_client, org):
    first = entries_for(api_client, org, page="1", limit="2")
    second = entries_for(api_client, org, page="2", limit="2")
    assert first.meta.limit == 2 and len(first.data) == 2
    assert first.meta.has_next_page is True and second.meta.has_previous_page is True
    assert not {e.id for e in first.data} & {e.id for e in second.data}
    assert max(e.id for e in second.data) < min(e.id for e in first.data)
