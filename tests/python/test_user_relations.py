"""A user's roles, groups, direct permissions and federated identity links."""

import uuid

import pytest

from lumoauth_api_client.exceptions import NotFoundException, UnprocessableEntityException
from lumoauth_api_client.models import (
    AdminAgentsGetResponse,
    AdminGroupsGroupsGetRolesResponse,
    AdminIdentitiesLinkRequest,
    AdminIdentitiesListResponse,
    AdminRolesGetPermissionsResponse,
    RemoveUserGroupResponse,
    RemoveUserPermissionResponse,
    RemoveUserRoleResponse,
)

from lumo_helpers import (
    create_group,
    create_permission,
    create_role,
    create_user,
    error_body,
    send,
)


def slugs(refs):
    return sorted(r.slug for r in refs)


# --- roles -----------------------------------------------------------------------------------

def test_user_roles_add_list_replace_remove(api_client, org, users_api):
    user = create_user(api_client, org)
    r1, r2, r3 = (create_role(api_client, org) for _ in range(3))

    added = send(api_client, "POST", "/admin/users/{userId}/roles", org,
                 path_params={"userId": user.id}, body={"roleId": r1.slug},
                 types={"200": "AddUserRoleResponse"})
    assert added.status_code == 200
    assert added.data.data.id == user.id
    assert slugs(added.data.data.roles) == [r1.slug]
    assert added.data.data.roles[0].id == r1.id
    assert added.data.data.roles[0].name == r1.name

    # Adding by id works too.
    send(api_client, "POST", "/admin/users/{userId}/roles", org,
         path_params={"userId": user.id}, body={"roleId": r2.id},
         types={"200": "AddUserRoleResponse"})

    listed = users_api.list_user_roles(org, user.id)
    assert isinstance(listed, AdminGroupsGroupsGetRolesResponse)
    assert sorted(i.slug for i in listed.data) == sorted([r1.slug, r2.slug])
    assert listed.pagination.total == 2
    assert {i.id for i in listed.data} == {r1.id, r2.id}

    replaced = send(api_client, "PUT", "/admin/users/{userId}/roles", org,
                    path_params={"userId": user.id}, body={"roles": [r2.slug, r3.slug]},
                    types={"200": "UpdateUserRolesResponse"})
    assert slugs(replaced.data.data.roles) == sorted([r2.slug, r3.slug])

    removed = users_api.remove_user_role(org, user.id, r2.slug)
    assert isinstance(removed, RemoveUserRoleResponse)
    assert slugs(removed.data.roles) == [r3.slug]
    assert [i.slug for i in users_api.list_user_roles(org, user.id).data] == [r3.slug]

    cleared = send(api_client, "PUT", "/admin/users/{userId}/roles", org,
                   path_params={"userId": user.id}, body={"roles": []},
                   types={"200": "UpdateUserRolesResponse"})
    assert cleared.data.data.roles == []
    assert users_api.list_user_roles(org, user.id).pagination.total == 0


def test_user_role_assignment_is_visible_from_the_role(api_client, org, users_api, roles_api):
    user = create_user(api_client, org)
    role = create_role(api_client, org)
    send(api_client, "POST", "/admin/users/{userId}/roles", org,
         path_params={"userId": user.id}, body={"roleId": role.slug},
         types={"200": "AddUserRoleResponse"})
    assert roles_api.admin_roles_get(org, role.slug).data.user_count == 1
    members = roles_api.admin_roles_get_users(org, role.id)
    assert [m.id for m in members.data] == [user.id]
    assert users_api.get_user(org, user.id).data.roles[0].slug == role.slug


def test_adding_an_unknown_role_to_a_user_fails(api_client, org):
    user = create_user(api_client, org)
    with pytest.raises((NotFoundException, UnprocessableEntityException)) as info:
        send(api_client, "POST", "/admin/users/{userId}/roles", org,
             path_params={"userId": user.id}, body={"roleId": "no-such-role-xyz"},
             types={"200": "AddUserRoleResponse"})
    error_body(info.value)


# --- groups ----------------------------------------------------------------------------------

def test_user_groups_add_list_replace_remove(api_client, org, users_api, groups_api):
    user = create_user(api_client, org)
    g1, g2, g3 = (create_group(api_client, org) for _ in range(3))

    added = send(api_client, "POST", "/admin/users/{userId}/groups", org,
                 path_params={"userId": user.id}, body={"groupId": g1.slug},
                 types={"200": "AddUserGroupResponse"})
    assert slugs(added.data.data.groups) == [g1.slug]
    assert added.data.data.groups[0].id == g1.id

    send(api_client, "POST", "/admin/users/{userId}/groups", org,
         path_params={"userId": user.id}, body={"groupId": g2.id},
         types={"200": "AddUserGroupResponse"})
    listed = users_api.list_user_groups(org, user.id)
    assert isinstance(listed, AdminGroupsGroupsGetRolesResponse)
    assert sorted(i.slug for i in listed.data) == sorted([g1.slug, g2.slug])
    assert listed.pagination.total == 2

    replaced = send(api_client, "PUT", "/admin/users/{userId}/groups", org,
                    path_params={"userId": user.id}, body={"groups": [g3.slug]},
                    types={"200": "UpdateUserGroupsResponse"})
    assert slugs(replaced.data.data.groups) == [g3.slug]
    assert groups_api.admin_groups_get(org, g1.id).data.member_count == 0
    assert groups_api.admin_groups_get(org, g3.id).data.member_count == 1

    removed = users_api.remove_user_group(org, user.id, g3.id)
    assert isinstance(removed, RemoveUserGroupResponse)
    assert removed.data.groups == []
    assert users_api.list_user_groups(org, user.id).data == []


# --- direct permissions ---------------------------------------------------------------------

def test_user_direct_permissions_add_list_remove(api_client, org, users_api):
    user = create_user(api_client, org)
    perm = create_permission(api_client, org, description="direct grant")

    added = send(api_client, "POST", "/admin/users/{userId}/permissions", org,
                 path_params={"userId": user.id}, body={"permissionId": perm.slug},
                 types={"200": "AddUserPermissionResponse"})
    assert added.status_code == 200
    assert isinstance(added.data.message, str) and added.data.message

    listed = users_api.list_user_permissions(org, user.id)
    assert isinstance(listed, AdminRolesGetPermissionsResponse)
    assert [(p.id, p.slug) for p in listed.data] == [(perm.id, perm.slug)]
    assert isinstance(listed.data[0].id, int)
    assert listed.data[0].description == "direct grant"
    assert listed.pagination.total == 1

    removed = users_api.remove_user_permission(org, user.id, str(perm.id))
    assert isinstance(removed, RemoveUserPermissionResponse)
    assert removed.message
    assert users_api.list_user_permissions(org, user.id).data == []


# --- identities -------------------------------------------------------------------------------

def test_identities_list_link_saml_and_unlink(api_client, org, users_api):
    user = create_user(api_client, org)
    name_id = f"saml-{uuid.uuid4().hex[:8]}@idp.example.com"

    before = users_api.admin_identities_list(org, user.id)
    assert isinstance(before, AdminIdentitiesListResponse)
    assert before.data.bindings == []

    linked = users_api.admin_identities_link_with_http_info(
        org, user.id, AdminIdentitiesLinkRequest(type="saml", idp_id=7, name_id=name_id))
    assert linked.status_code == 201
    assert isinstance(linked.data, AdminAgentsGetResponse)
    bindings = linked.data.data["bindings"]
    assert [(b["type"], b["idp_id"], b["name_id"]) for b in bindings] == [("saml", 7, name_id)]

    after = users_api.admin_identities_list(org, user.id)
    assert len(after.data.bindings) == 1
    binding = after.data.bindings[0]
    assert binding.type == "saml"
    assert binding.idp_id == 7
    assert binding.name_id == name_id
    assert binding.legacy is False

    unlinked = users_api.admin_identities_unlink(type="saml", org_id=org, user_id=user.id)
    assert isinstance(unlinked, AdminAgentsGetResponse)
    assert unlinked.data["bindings"] == []
    assert users_api.admin_identities_list(org, user.id).data.bindings == []


def test_identity_link_saml_without_name_id_is_422(api_client, org, users_api):
    user = create_user(api_client, org)
    with pytest.raises(UnprocessableEntityException) as info:
        users_api.admin_identities_link(
            org, user.id, AdminIdentitiesLinkRequest(type="saml", idp_id=7))
    body = error_body(info.value)
    assert "name_id" in str(body)


def test_same_saml_identity_cannot_be_linked_to_two_users(api_client, org, users_api):
    from lumoauth_api_client.exceptions import ConflictException
    first = create_user(api_client, org)
    second = create_user(api_client, org)
    name_id = f"dup-{uuid.uuid4().hex[:8]}"
    users_api.admin_identities_link(
        org, first.id, AdminIdentitiesLinkRequest(type="saml", idp_id=3, name_id=name_id))
    with pytest.raises(ConflictException) as info:
        users_api.admin_identities_link(
            org, second.id, AdminIdentitiesLinkRequest(type="saml", idp_id=3, name_id=name_id))
    assert error_body(info.value)["status"] == 409
    assert users_api.admin_identities_list(org, second.id).data.bindings == []


def test_user_role_sub_list_paginates(api_client, org):
    user = create_user(api_client, org)
    roles = [create_role(api_client, org) for _ in range(3)]
    send(api_client, "PUT", "/admin/users/{userId}/roles", org, path_params={"userId": user.id},
         body={"roles": [r.slug for r in roles]}, types={"200": "UpdateUserRolesResponse"})
    seen = []
    for page in (1, 2):
        resp = send(api_client, "GET", "/admin/users/{userId}/roles", org,
                    path_params={"userId": user.id}, query={"page": str(page), "limit": "2"},
                    types={"200": "AdminGroupsGroupsGetRolesResponse"}).data
        assert (resp.pagination.total, resp.pagination.total_pages) == (3, 2)
        assert resp.pagination.has_next_page is (page == 1)
        seen += [r.slug for r in resp.data]
    assert sorted(seen) == sorted(r.slug for r in roles)


def test_deleting_a_role_or_group_detaches_it_from_users(api_client, org, users_api, roles_api,
                                                         groups_api):
    user = create_user(api_client, org)
    role = create_role(api_client, org)
    group = create_group(api_client, org)
    send(api_client, "POST", "/admin/users/{userId}/roles", org, path_params={"userId": user.id},
         body={"roleId": role.slug}, types={"200": "AddUserRoleResponse"})
    send(api_client, "POST", "/admin/users/{userId}/groups", org,
         path_params={"userId": user.id}, body={"groupId": group.slug},
         types={"200": "AddUserGroupResponse"})
    roles_api.admin_roles_delete(org, role.id)
    groups_api.admin_groups_delete(org, group.id)
    detail = users_api.get_user(org, user.id).data
    assert detail.roles == [] and detail.groups == []
    assert users_api.list_user_roles(org, user.id).pagination.total == 0
    assert users_api.list_user_groups(org, user.id).pagination.total == 0


def test_deleting_a_user_updates_group_and_role_counts(api_client, org, users_api, roles_api,
                                                       groups_api):
    user = create_user(api_client, org)
    role = create_role(api_client, org)
    group = create_group(api_client, org)
    send(api_client, "POST", "/admin/roles/{roleId}/users", org, path_params={"roleId": role.id},
         body={"userId": user.id}, types={"200": "MessageResponse"})
    send(api_client, "POST", "/admin/groups/{groupId}/members", org,
         path_params={"groupId": group.id}, body={"userIds": [user.id]},
         types={"200": "AdminGroupsCreateResponse"})
    assert roles_api.admin_roles_get(org, role.id).data.user_count == 1
    assert groups_api.admin_groups_get(org, group.id).data.member_count == 1
    users_api.delete_user(org, user.id)
    assert roles_api.admin_roles_get(org, role.id).data.user_count == 0
    assert groups_api.admin_groups_get(org, group.id).data.member_count == 0
    assert roles_api.admin_roles_get_users(org, role.id).data == []
    assert groups_api.admin_groups_get_members(org, group.id).data == []


def test_identities_of_unknown_user_is_404(org, users_api):
    with pytest.raises(NotFoundException) as info:
        users_api.admin_identities_list(org, str(uuid.uuid4()))
    assert error_body(info.value)["status"] == 404


def test_identity_link_to_a_different_federated_source_is_409(api_client, org, users_api):
    from lumoauth_api_client.exceptions import ConflictException
    user = create_user(api_client, org)
    users_api.admin_identities_link(
        org, user.id, AdminIdentitiesLinkRequest(type="ldap", ldap_config_id=2,
                                                 dn=f"cn={user.id},dc=example,dc=com"))
    with pytest.raises(ConflictException) as info:
        users_api.admin_identities_link(
            org, user.id, AdminIdentitiesLinkRequest(type="saml", idp_id=2, name_id="someone"))
    assert error_body(info.value)["status"] == 409
    bindings = users_api.admin_identities_list(org, user.id).data.bindings
    assert [(b.type, b.ldap_config_id) for b in bindings] == [("ldap", 2)]


def test_identity_link_and_unlink_are_audited(api_client, org, users_api):
    user = create_user(api_client, org)
    users_api.admin_identities_link(
        org, user.id, AdminIdentitiesLinkRequest(type="saml", idp_id=11, name_id=user.email))
    users_api.admin_identities_unlink(type="saml", org_id=org, user_id=user.id)
    entries = send(api_client, "GET", "/admin/audit-logs", org, query={"targetId": user.id},
                   types={"200": "AdminAuditLogsListResponse"}).data.data
    actions = [e.action for e in entries]
    assert "identity.link.created" in actions
    assert "identity.link.removed" in actions


def test_unlinking_a_type_that_is_not_linked_is_404(api_client, org, users_api):
    user = create_user(api_client, org)
    with pytest.raises(NotFoundException) as info:
        users_api.admin_identities_unlink(type="saml", org_id=org, user_id=user.id)
    assert error_body(info.value)["status"] == 404


def test_unlinking_an_unknown_identity_type_is_422(api_client, org, users_api):
    # The client declares 403/404/422 as this operation's errors (no 400); a `type` other than
    # saml|ldap|social is the validation failure that 422 stands for.
    user = create_user(api_client, org)
    with pytest.raises(UnprocessableEntityException) as info:
        users_api.admin_identities_unlink(type="kerberos", org_id=org, user_id=user.id)
    assert error_body(info.value)["status"] == 422
