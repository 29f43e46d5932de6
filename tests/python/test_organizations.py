"""B2B organizations through the official client: every response of the family parses into
the client's models (writes that carry a body go through `send`, since the generated methods
send none), and the refusals come back as the client's exceptions."""

import json

import pytest

import lumoauth_api_client
from lumoauth_api_client.exceptions import ConflictException, NotFoundException
from lumoauth_api_client.models import (
    AdminOrgInvitationsListResponse,
    AdminOrgMembersListResponse,
    AdminOrgRolesListResponse,
    AdminOrganizationsGetResponse,
    AdminOrganizationsListResponse,
    MessageResponse,
)

from lumo_helpers import create_user, error_body, send, unique


def test_the_organization_family_parses_into_the_client_models(new_org):
    handle = new_org()
    client, org = handle.client, handle.slug
    api = lumoauth_api_client.AdminOrganizationsApi(client)
    slug = unique("cust").lower().replace("_", "-")
    created = send(client, "POST", "/admin/organizations", org,
                   types={"201": "AdminOrganizationsCreateResponse"},
                   body={"name": "Customer", "slug": slug, "metadata": {"tier": 2}}).data
    sub = created.data
    assert sub.id.startswith("org_") and sub.slug == slug and sub.member_count == 0
    assert sub.created_at is not None and sub.metadata == {"tier": 2}

    listed = api.admin_organizations_list(org)
    assert isinstance(listed, AdminOrganizationsListResponse)
    assert [o.id for o in listed.data] == [sub.id]
    got = api.admin_organizations_get(org, sub.id)
    assert isinstance(got, AdminOrganizationsGetResponse) and got.data.name == "Customer"
    updated = send(client, "PATCH", "/admin/organizations/{organizationId}", org,
                   path_params={"organizationId": sub.id},
                   types={"200": "AdminOrganizationsGetResponse"},
                   body={"displayName": "Customer Ltd"}).data
    assert updated.data.display_name == "Customer Ltd" and updated.data.updated_at is not None

    roles = api.admin_org_roles_list(org, sub.id)
    assert isinstance(roles, AdminOrgRolesListResponse)
    assert [(r.slug, r.is_owner, r.is_default, r.is_system) for r in roles.data] == [
        ("owner", True, False, True), ("admin", False, False, True), ("member", False, True, True)]
    role = send(client, "POST", "/admin/organizations/{organizationId}/roles", org,
                path_params={"organizationId": sub.id},
                types={"201": "AdminOrgRolesCreateResponse"},
                body={"name": "Viewer", "slug": "viewer"}).data.data
    assert role.is_system is False
    renamed = send(client, "PUT", "/admin/organizations/{organizationId}/roles/{roleId}", org,
                   path_params={"organizationId": sub.id, "roleId": str(role.id)},
                   types={"200": "AdminOrgRolesCreateResponse"},
                   body={"name": "Viewers"}).data.data
    assert renamed.name == "Viewers"

    user = create_user(client, org)
    member = send(client, "POST", "/admin/organizations/{organizationId}/members", org,
                  path_params={"organizationId": sub.id},
                  types={"201": "AdminOrgMembersAddResponse"},
                  body={"userId": user.id, "role": "viewer"}).data.data
    assert member.user.id == user.id and member.role.slug == "viewer" and member.status == "active"
    with pytest.raises(ConflictException):
        send(client, "POST", "/admin/organizations/{organizationId}/members", org,
             path_params={"organizationId": sub.id}, types={"201": "AdminOrgMembersAddResponse"},
             body={"userId": user.id})
    changed = send(client, "PATCH", "/admin/organizations/{organizationId}/members/{userId}", org,
                   path_params={"organizationId": sub.id, "userId": user.id},
                   types={"200": "PutAdminOrgMembersUpdateResponse"},
                   body={"status": "suspended"}).data.data
    assert changed.status == "suspended"
    members = api.admin_org_members_list(org, sub.id)
    assert isinstance(members, AdminOrgMembersListResponse) and len(members.data) == 1

    invitation = send(client, "POST", "/admin/organizations/{organizationId}/invitations", org,
                      path_params={"organizationId": sub.id},
                      types={"201": "AdminOrgInvitationsCreateResponse"},
                      body={"email": "invitee@example.com", "role": role.id}).data.data
    assert invitation.status == "pending" and invitation.role.slug == "viewer"
    assert invitation.expires_at > invitation.created_at
    invitations = api.admin_org_invitations_list(org, sub.id)
    assert isinstance(invitations, AdminOrgInvitationsListResponse)
    assert [i.id for i in invitations.data] == [invitation.id]
    assert isinstance(api.admin_org_invitations_resend(org, sub.id, str(invitation.id)),
                      MessageResponse)
    assert isinstance(api.admin_org_invitations_revoke(org, sub.id, str(invitation.id)),
                      MessageResponse)
    assert api.admin_org_invitations_list(org, sub.id).data[0].status == "revoked"

    assert isinstance(api.admin_org_members_remove(org, sub.id, user.id), MessageResponse)
    assert isinstance(api.admin_org_roles_delete(org, sub.id, str(role.id)), MessageResponse)
    assert isinstance(api.admin_organizations_delete(org, sub.id), MessageResponse)
    with pytest.raises(NotFoundException) as info:
        api.admin_organizations_get(org, sub.id)
    assert error_body(info.value)["error"] == "resource_not_found"


def test_sandbox_orgs_through_the_client(new_org, lumod):
    """Spawn, list and destroy parse into the client's models; the spawned sandbox holds the
    parent's roles, answers with the key the spawn returned, and is gone once destroyed."""
    from conftest import make_client
    from lumoauth_api_client.exceptions import ApiException
    from lumoauth_api_client.models import (
        AdminSandboxListResponse,
        AdminSandboxSpawnRequest,
        AdminSandboxSpawnResponse,
    )

    handle = new_org()
    client, org = handle.client, handle.slug
    send(client, "POST", "/admin/roles", org, types={"201": "AdminRolesCreateResponse"},
         body={"name": "Auditor", "slug": "auditor"})
    api = lumoauth_api_client.AdminSandboxApi(client)
    spawned = api.admin_sandbox_spawn_with_http_info(
        org, AdminSandboxSpawnRequest(name="Smoke", ttl_hours=3))
    assert spawned.status_code == 201 and isinstance(spawned.data, AdminSandboxSpawnResponse)
    sandbox = spawned.data.data
    assert sandbox.slug == f"{org}-sbx-smoke" and sandbox.spawned_from == org
    assert (sandbox.expires_at - sandbox.created_at).total_seconds() == 3 * 3600
    # The sandbox's admin key is outside the model: read from the raw answer, shown once.
    key = json.loads(spawned.raw_data)["data"]["api_key"]

    roles = lumoauth_api_client.AdminRolesApi(make_client(lumod.base, key))
    slugs = [r.slug for r in roles.admin_roles_list(sandbox.slug).data]
    assert "auditor" in slugs

    listed = api.admin_sandbox_list(org)
    assert isinstance(listed, AdminSandboxListResponse)
    assert [s.slug for s in listed.data] == [sandbox.slug]
    with pytest.raises(ConflictException):
        api.admin_sandbox_spawn(org, AdminSandboxSpawnRequest(name="Smoke"))

    done = api.admin_sandbox_destroy(org, sandbox.slug)
    assert isinstance(done, MessageResponse) and "destroyed" in done.message
    assert api.admin_sandbox_list(org).data == []
    with pytest.raises(NotFoundException):
        api.admin_sandbox_destroy(org, sandbox.slug)
    with pytest.raises(ApiException) as gone:
        roles.admin_roles_list(sandbox.slug)
    assert gone.value.status == 404
