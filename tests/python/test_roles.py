"""Admin roles: CRUD, role permissions, role users, and protection of system roles."""

import pytest

from lumoauth_api_client.exceptions import ForbiddenException, NotFoundException
from lumoauth_api_client.models import (
    AdminRolesGetPermissionsResponse,
    AdminRolesGetResponse,
    AdminRolesGetUsersResponse,
    AdminRolesListResponse,
    MessageResponse,
    Role,
)

from lumo_helpers import create_permission, create_role, create_user, error_body, send, unique


def test_create_role_returns_201_with_role(api_client, org):
    slug = unique("billing")
    resp = send(api_client, "POST", "/admin/roles", org,
                body={"name": "Billing admin", "slug": slug, "description": "Pays bills"},
                types={"201": "AdminRolesCreateResponse"})
    assert resp.status_code == 201
    role = resp.data.data
    assert isinstance(role, Role)
    assert isinstance(role.id, str) and role.id
    assert (role.name, role.slug, role.description) == ("Billing admin", slug, "Pays bills")
    assert role.is_system is False
    assert role.user_count == 0
    assert role.permissions == []
    assert resp.data.message


def test_list_roles_includes_system_roles(org, roles_api):
    listing = roles_api.admin_roles_list(org)
    assert isinstance(listing, AdminRolesListResponse)
    assert listing.meta == listing.pagination
    assert listing.resource_type == "roles"
    by_slug = {r.slug: r for r in listing.data}
    assert "admin" in by_slug
    assert by_slug["admin"].is_system is True


def test_get_role_by_id_and_slug(api_client, org, roles_api):
    role = create_role(api_client, org, description="find me")
    by_id = roles_api.admin_roles_get(org, role.id)
    by_slug = roles_api.admin_roles_get(org, role.slug)
    assert isinstance(by_id, AdminRolesGetResponse)
    assert by_id.data.id == by_slug.data.id == role.id
    assert by_slug.data.description == "find me"


def test_put_and_patch_update_role(api_client, org, roles_api):
    role = create_role(api_client, org, name="Before", description="d0")
    put = send(api_client, "PUT", "/admin/roles/{roleId}", org, path_params={"roleId": role.id},
               body={"name": "After", "description": "d1"},
               types={"200": "AdminRolesCreateResponse"})
    assert (put.data.data.name, put.data.data.description) == ("After", "d1")
    assert put.data.data.slug == role.slug
    patch = send(api_client, "PATCH", "/admin/roles/{roleId}", org,
                 path_params={"roleId": role.slug}, body={"description": "d2"},
                 types={"200": "AdminRolesCreateResponse"})
    assert (patch.data.data.name, patch.data.data.description) == ("After", "d2")
    assert roles_api.admin_roles_get(org, role.id).data.description == "d2"


def test_delete_custom_role_then_get_is_404(api_client, org, roles_api):
    role = create_role(api_client, org)
    deleted = roles_api.admin_roles_delete(org, role.id)
    assert isinstance(deleted, MessageResponse) and deleted.message
    with pytest.raises(NotFoundException):
        roles_api.admin_roles_get(org, role.id)


def test_system_role_admin_cannot_be_deleted(org, roles_api):
    with pytest.raises(ForbiddenException) as info:
        roles_api.admin_roles_delete(org, "admin")
    body = error_body(info.value)
    assert body["status"] == 403
    still = roles_api.admin_roles_get(org, "admin").data
    assert still.slug == "admin" and still.is_system is True


def test_role_permissions_add_list_replace_remove(api_client, org, roles_api, permissions_api):
    role = create_role(api_client, org)
    p1 = create_permission(api_client, org, resource="invoices", action="read")
    p2 = create_permission(api_client, org, resource="invoices", action="write")
    p3 = create_permission(api_client, org, resource="invoices", action="delete")

    added = send(api_client, "POST", "/admin/roles/{roleId}/permissions", org,
                 path_params={"roleId": role.id}, body={"permissions": [p1.slug, p2.id]},
                 types={"200": "MessageResponse"})
    assert isinstance(added.data, MessageResponse) and added.data.message

    listed = roles_api.admin_roles_get_permissions(org, role.slug)
    assert isinstance(listed, AdminRolesGetPermissionsResponse)
    assert {(p.id, p.slug) for p in listed.data} == {(p1.id, p1.slug), (p2.id, p2.slug)}
    assert listed.pagination.total == 2
    detail = roles_api.admin_roles_get(org, role.id).data
    assert {(p.slug, p.resource, p.action) for p in detail.permissions} == {
        (p1.slug, "invoices", "read"), (p2.slug, "invoices", "write")}

    replaced = send(api_client, "PUT", "/admin/roles/{roleId}/permissions", org,
                    path_params={"roleId": role.id}, body={"permissions": [p3.slug]},
                    types={"200": "AdminRolesCreateResponse"})
    assert [p.slug for p in replaced.data.data.permissions] == [p3.slug]
    assert permissions_api.admin_permissions_usage(org, str(p1.id)).data.role_count == 0

    removed = roles_api.admin_roles_remove_permission(org, role.id, p3.slug)
    assert isinstance(removed, MessageResponse) and removed.message
    assert roles_api.admin_roles_get_permissions(org, role.id).data == []


def test_role_users_add_list_remove_and_user_count(api_client, org, roles_api, users_api):
    role = create_role(api_client, org)
    user = create_user(api_client, org, name="Role Holder")

    added = send(api_client, "POST", "/admin/roles/{roleId}/users", org,
                 path_params={"roleId": role.slug}, body={"userId": user.id},
                 types={"200": "MessageResponse"})
    assert isinstance(added.data, MessageResponse) and added.data.message

    users = roles_api.admin_roles_get_users(org, role.id)
    assert isinstance(users, AdminRolesGetUsersResponse)
    assert users.meta == users.pagination
    assert [(u.id, u.email, u.name) for u in users.data] == [(user.id, user.email, "Role Holder")]
    assert roles_api.admin_roles_get(org, role.id).data.user_count == 1
    assert [r.slug for r in users_api.get_user(org, user.id).data.roles] == [role.slug]

    removed = roles_api.admin_roles_remove_user(org, role.id, user.id)
    assert isinstance(removed, MessageResponse) and removed.message
    assert roles_api.admin_roles_get_users(org, role.id).data == []
    assert roles_api.admin_roles_get(org, role.id).data.user_count == 0
    assert users_api.get_user(org, user.id).data.roles == []
