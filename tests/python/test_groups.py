"""Admin groups: CRUD by id and slug, members, roles, and the memberCount/roleCount fields."""

import datetime

import pytest

from lumoauth_api_client.exceptions import ConflictException, NotFoundException
from lumoauth_api_client.models import (
    AdminGroupsGetMembersResponse,
    AdminGroupsGetResponse,
    AdminGroupsGroupsGetRolesResponse,
    AdminGroupsListResponse,
    Group,
    MessageResponse,
)

from lumo_helpers import create_group, create_role, create_user, error_body, send, unique


def test_create_group_returns_201_with_zero_counts(api_client, org):
    slug = unique("eng")
    resp = send(api_client, "POST", "/admin/groups", org,
                body={"name": "Engineering", "slug": slug, "description": "Builders"},
                types={"201": "AdminGroupsCreateResponse"})
    assert resp.status_code == 201
    group = resp.data.data
    assert isinstance(group, Group)
    assert isinstance(group.id, str) and group.id
    assert group.name == "Engineering"
    assert group.slug == slug
    assert group.description == "Builders"
    assert group.is_system is False
    assert group.member_count == 0
    assert group.role_count == 0
    assert isinstance(group.created_at, datetime.datetime)
    assert resp.data.message


def test_duplicate_group_slug_is_409(api_client, org):
    group = create_group(api_client, org)
    with pytest.raises(ConflictException) as info:
        send(api_client, "POST", "/admin/groups", org,
             body={"name": "Other", "slug": group.slug},
             types={"201": "AdminGroupsCreateResponse"})
    assert error_body(info.value)["status"] == 409


def test_get_group_by_id_and_by_slug(api_client, org, groups_api):
    group = create_group(api_client, org, description="lookup")
    by_id = groups_api.admin_groups_get(org, group.id)
    by_slug = groups_api.admin_groups_get(org, group.slug)
    assert isinstance(by_id, AdminGroupsGetResponse)
    assert by_id.data.id == by_slug.data.id == group.id
    assert by_slug.data.description == "lookup"
    assert by_id.data.members == []
    assert by_id.data.roles == []


def test_list_groups_and_search(api_client, org, groups_api):
    marker = unique("srch")
    a = create_group(api_client, org, name=f"Alpha {marker}")
    b = create_group(api_client, org, name=f"Beta {marker}")
    create_group(api_client, org, name="Unrelated")
    listing = groups_api.admin_groups_list(org)
    assert isinstance(listing, AdminGroupsListResponse)
    assert listing.meta == listing.pagination
    assert listing.meta.total >= 3
    found = send(api_client, "GET", "/admin/groups", org, query={"search": marker},
                 types={"200": "AdminGroupsListResponse"}).data
    assert found.meta.total == 2
    assert {g.id for g in found.data} == {a.id, b.id}


def test_put_and_patch_update_group(api_client, org, groups_api):
    group = create_group(api_client, org, name="Old name", description="old")
    put = send(api_client, "PUT", "/admin/groups/{groupId}", org,
               path_params={"groupId": group.id}, body={"name": "New name"},
               types={"200": "AdminGroupsCreateResponse"})
    assert put.data.data.name == "New name"
    assert put.data.data.slug == group.slug
    assert put.data.data.description == "old"
    assert put.data.message
    patch = send(api_client, "PATCH", "/admin/groups/{groupId}", org,
                 path_params={"groupId": group.slug}, body={"description": "patched"},
                 types={"200": "AdminGroupsCreateResponse"})
    assert patch.data.data.name == "New name"
    assert patch.data.data.description == "patched"
    assert patch.data.data.updated_at is not None
    again = groups_api.admin_groups_get(org, group.id).data
    assert (again.name, again.description) == ("New name", "patched")


def test_delete_group_then_get_is_404(api_client, org, groups_api):
    group = create_group(api_client, org)
    deleted = groups_api.admin_groups_delete(org, group.id)
    assert isinstance(deleted, MessageResponse)
    assert deleted.message
    with pytest.raises(NotFoundException) as info:
        groups_api.admin_groups_get(org, group.id)
    assert error_body(info.value)["status"] == 404


def test_group_members_add_list_remove_and_member_count(api_client, org, groups_api, users_api):
    group = create_group(api_client, org)
    u1 = create_user(api_client, org, name="Member One")
    u2 = create_user(api_client, org, name="Member Two")

    added = send(api_client, "POST", "/admin/groups/{groupId}/members", org,
                 path_params={"groupId": group.id}, body={"userIds": [u1.id, u2.id]},
                 types={"200": "AdminGroupsCreateResponse"})
    assert added.status_code == 200
    assert added.data.data.member_count == 2
    assert {m.id for m in added.data.data.members} == {u1.id, u2.id}
    assert {m.email for m in added.data.data.members} == {u1.email, u2.email}

    members = groups_api.admin_groups_get_members(org, group.slug)
    assert isinstance(members, AdminGroupsGetMembersResponse)
    assert members.meta == members.pagination
    assert members.pagination.total == 2
    assert {(m.id, m.email, m.name) for m in members.data} == {
        (u1.id, u1.email, "Member One"), (u2.id, u2.email, "Member Two")}

    # The membership is visible from the user side too.
    assert [g.slug for g in users_api.get_user(org, u1.id).data.groups] == [group.slug]

    removed = groups_api.admin_groups_remove_member(org, group.id, u1.id)
    assert isinstance(removed, MessageResponse) and removed.message
    after = groups_api.admin_groups_get(org, group.id).data
    assert after.member_count == 1
    assert [m.id for m in after.members] == [u2.id]
    assert users_api.get_user(org, u1.id).data.groups == []


def test_adding_an_unknown_user_to_a_group_is_404(api_client, org, groups_api):
    group = create_group(api_client, org)
    with pytest.raises(NotFoundException) as info:
        send(api_client, "POST", "/admin/groups/{groupId}/members", org,
             path_params={"groupId": group.id},
             body={"userIds": ["00000000-0000-4000-8000-000000000000"]},
             types={"200": "AdminGroupsCreateResponse"})
    error_body(info.value)
    assert groups_api.admin_groups_get(org, group.id).data.member_count == 0


def test_group_roles_add_list_replace_remove_and_role_count(api_client, org, groups_api):
    group = create_group(api_client, org)
    r1, r2, r3 = (create_role(api_client, org) for _ in range(3))

    added = send(api_client, "POST", "/admin/groups/{groupId}/roles", org,
                 path_params={"groupId": group.id}, body={"roleId": r1.slug},
                 types={"200": "MessageResponse"})
    assert isinstance(added.data, MessageResponse) and added.data.message
    send(api_client, "POST", "/admin/groups/{groupId}/roles", org,
         path_params={"groupId": group.id}, body={"roleId": r2.id},
         types={"200": "MessageResponse"})

    roles = groups_api.admin_groups_groups_get_roles(org, group.id)
    assert isinstance(roles, AdminGroupsGroupsGetRolesResponse)
    assert {(r.id, r.slug) for r in roles.data} == {(r1.id, r1.slug), (r2.id, r2.slug)}
    assert roles.pagination.total == 2
    assert groups_api.admin_groups_get(org, group.id).data.role_count == 2

    replaced = send(api_client, "PUT", "/admin/groups/{groupId}/roles", org,
                    path_params={"groupId": group.id}, body={"roles": [r3.slug]},
                    types={"200": "AdminGroupsCreateResponse"})
    assert replaced.data.data.role_count == 1
    assert [r.slug for r in replaced.data.data.roles] == [r3.slug]

    removed = groups_api.admin_groups_remove_role(org, group.id, r3.id)
    assert isinstance(removed, MessageResponse) and removed.message
    final = groups_api.admin_groups_get(org, group.id).data
    assert final.role_count == 0
    assert final.roles == []
    assert groups_api.admin_groups_groups_get_roles(org, group.id).data == []
