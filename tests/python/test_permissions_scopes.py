"""Admin permissions (list/create/get/PATCH/usage/delete) and OAuth scopes (list/create/delete)."""

import datetime

import pytest

from lumoauth_api_client.exceptions import ConflictException, ForbiddenException, NotFoundException
from lumoauth_api_client.models import (
    AdminPermissionsGetResponse,
    AdminPermissionsListResponse,
    AdminPermissionsUsageResponse,
    AdminScopesListResponse,
    MessageResponse,
    OAuthScope,
    Permission,
)

from lumo_helpers import create_permission, create_role, error_body, send, unique


# --- permissions ----------------------------------------------------------------------------

def system_permissions(api_client, org):
    resp = send(api_client, "GET", "/admin/permissions", org,
                query={"isSystem": "true", "limit": "100"},
                types={"200": "AdminPermissionsListResponse"}).data
    assert resp.meta.total == len(resp.data)
    return resp.data


def all_scope_names(api_client, org):
    resp = send(api_client, "GET", "/admin/scopes", org, query={"limit": "100"},
                types={"200": "AdminScopesListResponse"}).data
    assert resp.meta.total == len(resp.data)
    return {s.name: s for s in resp.data}


def test_list_permissions_has_system_permissions(api_client, org, permissions_api):
    listing = permissions_api.admin_permissions_list(org)
    assert isinstance(listing, AdminPermissionsListResponse)
    assert listing.resource_type == "permissions"
    assert listing.meta == listing.pagination
    assert listing.meta.total >= len(listing.data) > 0
    assert all(isinstance(p.id, int) for p in listing.data)
    system = system_permissions(api_client, org)
    assert system, "expected seeded system permissions"
    assert all(p.is_system is True and p.is_custom is False for p in system)
    assert {"users:read", "users:write"} <= {p.slug for p in system}


def test_create_permission_returns_201_custom_permission(api_client, org):
    resource = unique("reports")
    resp = send(api_client, "POST", "/admin/permissions", org,
                body={"name": "Export reports", "slug": f"{resource}:export",
                      "description": "May export", "resource": resource, "action": "export"},
                types={"201": "AdminPermissionsCreateResponse"})
    assert resp.status_code == 201
    perm = resp.data.data
    assert isinstance(perm, Permission)
    assert isinstance(perm.id, int)
    assert perm.slug == f"{resource}:export"
    assert perm.name == "Export reports"
    assert perm.description == "May export"
    assert (perm.resource, perm.action) == (resource, "export")
    assert perm.is_system is False
    assert perm.is_custom is True
    assert isinstance(perm.created_at, datetime.datetime)


def test_duplicate_permission_slug_is_409(api_client, org):
    perm = create_permission(api_client, org)
    with pytest.raises(ConflictException) as info:
        send(api_client, "POST", "/admin/permissions", org,
             body={"name": "again", "slug": perm.slug},
             types={"201": "AdminPermissionsCreateResponse"})
    assert error_body(info.value)["status"] == 409


def test_get_permission_by_id_and_slug(api_client, org, permissions_api):
    perm = create_permission(api_client, org, description="get me")
    by_id = permissions_api.admin_permissions_get(org, str(perm.id))
    by_slug = permissions_api.admin_permissions_get(org, perm.slug)
    assert isinstance(by_id, AdminPermissionsGetResponse)
    assert by_id.data.id == by_slug.data.id == perm.id
    assert by_id.data.description == "get me"
    assert by_id.data.role_count == 0


def test_patch_permission_changes_description_only(api_client, org, permissions_api):
    perm = create_permission(api_client, org, description="before", resource="docs",
                             action="read")
    resp = send(api_client, "PATCH", "/admin/permissions/{permissionId}", org,
                path_params={"permissionId": str(perm.id)}, body={"description": "after"},
                types={"200": "AdminPermissionsCreateResponse"})
    updated = resp.data.data
    assert updated.id == perm.id
    assert updated.description == "after"
    assert (updated.name, updated.slug, updated.resource, updated.action) == (
        perm.name, perm.slug, "docs", "read")
    assert permissions_api.admin_permissions_get(org, perm.slug).data.description == "after"


def test_permission_usage_lists_roles_holding_it(api_client, org, permissions_api):
    perm = create_permission(api_client, org)
    r1 = create_role(api_client, org)
    r2 = create_role(api_client, org)
    for role in (r1, r2):
        send(api_client, "POST", "/admin/roles/{roleId}/permissions", org,
             path_params={"roleId": role.id}, body={"permissions": [perm.slug]},
             types={"200": "MessageResponse"})
    usage = permissions_api.admin_permissions_usage(org, str(perm.id))
    assert isinstance(usage, AdminPermissionsUsageResponse)
    assert usage.data.role_count == 2
    assert {(r.id, r.slug) for r in usage.data.roles} == {(r1.id, r1.slug), (r2.id, r2.slug)}
    assert permissions_api.admin_permissions_get(org, str(perm.id)).data.role_count == 2


def test_delete_custom_permission_then_get_is_404(api_client, org, permissions_api):
    perm = create_permission(api_client, org)
    deleted = permissions_api.admin_permissions_delete(org, str(perm.id))
    assert isinstance(deleted, MessageResponse) and deleted.message
    with pytest.raises(NotFoundException):
        permissions_api.admin_permissions_get(org, str(perm.id))


def test_system_permission_cannot_be_deleted(api_client, org, permissions_api):
    system = next(p for p in system_permissions(api_client, org) if p.slug == "users:read")
    with pytest.raises(ForbiddenException) as info:
        permissions_api.admin_permissions_delete(org, str(system.id))
    assert error_body(info.value)["status"] == 403
    assert permissions_api.admin_permissions_get(org, system.slug).data.id == system.id


# --- scopes -------------------------------------------------------------------------------------

def test_list_scopes_includes_system_openid(api_client, org, permissions_api):
    listing = permissions_api.admin_scopes_list(org)
    assert isinstance(listing, AdminScopesListResponse)
    assert listing.meta.total == listing.pagination.total >= len(listing.data) > 0
    assert all(isinstance(s, OAuthScope) for s in listing.data)
    by_name = all_scope_names(api_client, org)
    assert {"openid", "profile", "email"} <= set(by_name)
    assert "openid" in by_name
    assert by_name["openid"].is_system is True
    assert isinstance(by_name["openid"].id, int)


def test_create_scope_returns_201_and_delete_removes_it(api_client, org, permissions_api):
    name = unique("read_invoices").replace("-", "_")
    resp = send(api_client, "POST", "/admin/scopes", org,
                body={"name": name, "description": "Read invoices"},
                types={"201": "AdminScopesCreateResponse"})
    assert resp.status_code == 201
    scope = resp.data.data
    assert isinstance(scope, OAuthScope)
    assert scope.name == name
    assert scope.description == "Read invoices"
    assert scope.is_system is False
    assert isinstance(scope.id, int)
    assert name in all_scope_names(api_client, org)

    deleted = permissions_api.admin_scopes_delete(org, str(scope.id))
    assert isinstance(deleted, MessageResponse) and deleted.message
    assert name not in all_scope_names(api_client, org)
    with pytest.raises(NotFoundException):
        permissions_api.admin_scopes_delete(org, str(scope.id))


def test_duplicate_scope_name_is_409(api_client, org):
    name = unique("dup_scope").replace("-", "_")
    send(api_client, "POST", "/admin/scopes", org, body={"name": name},
         types={"201": "AdminScopesCreateResponse"})
    with pytest.raises(ConflictException) as info:
        send(api_client, "POST", "/admin/scopes", org, body={"name": name},
             types={"201": "AdminScopesCreateResponse"})
    assert error_body(info.value)["status"] == 409


def test_system_scope_openid_cannot_be_deleted(api_client, org, permissions_api):
    openid = all_scope_names(api_client, org)["openid"]
    with pytest.raises(ForbiddenException) as info:
        permissions_api.admin_scopes_delete(org, str(openid.id))
    assert error_body(info.value)["status"] == 403
    assert "openid" in all_scope_names(api_client, org)
