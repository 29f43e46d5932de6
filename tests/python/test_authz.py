"""RBAC and Zanzibar questions through the official clients.

The hand-written SDK `lumoauth==1.1.0` is used exactly as its docstrings show:
`permissions.check` / `check_detailed` / `check_bulk` / `check_any` / `check_all` / `list` /
`list_slugs` and `zanzibar.check` / `check_detailed` / `expand`, with an organization API key
and with user access tokens (`token_provider`), the subject given and omitted, and its
exception classes and codes for every refusal. Every response is parsed with the generated
client's models (`lumoauth_api_client`), either by `Model.from_dict` or by the generated calls
where the client declares them (`list_permissions`, `expand_relation`, `expand_relation_scoped`).

Permissions, roles, groups and users are made through the admin API with the generated client;
the Zanzibar schema and tuples through plain HTTP (the client has no tuple endpoints).
"""

import secrets
from dataclasses import dataclass

import pytest
import requests

import lumoauth_api_client
from lumoauth import LumoAuth
from lumoauth.errors import (
    LumoAuthApiError,
    LumoAuthAuthenticationError,
    LumoAuthNotFoundError,
    LumoAuthPermissionDeniedError,
)
from lumoauth_api_client.exceptions import ConflictException, ForbiddenException
from lumoauth_api_client.models import (
    CheckAnyPermissionResponse,
    CheckPermissionResponse,
    CheckPermissionsBulkResponse,
    CheckRelationResponse,
    CheckRelationScopedResponse,
    ExpandRelationRequest,
    ExpandRelationResponse,
    ExpandRelationResponseTree,
    ListPermissionsResponse,
)

from lumo_helpers import (
    create_group,
    create_oauth_client,
    create_password_user,
    create_permission,
    create_role,
    error_body,
    send,
    unique,
)

AUTHZ_SCOPES = ["openid", "profile", "authz:read", "authz:check"]
GHOST_USER = "00000000-0000-4000-8000-000000000000"


# --- the org's RBAC data ----------------------------------------------------------------------

@dataclass
class World:
    """Four users holding permissions in every way RBAC knows, and a client to sign them in."""
    prefix: str
    perm: dict          # short name -> permission slug (edit, view, billing, export)
    edit_description: str
    editor_role: object
    accountant_role: object
    alice: object       # role Editor: edit, view
    bob: object         # member of a group whose role Accountant holds billing
    carol: object       # holds export directly
    dave: object        # holds nothing
    client: object      # authorization-code client allowed the authz scopes


def grant_role(api_client, org, user, role):
    resp = send(api_client, "POST", "/admin/users/{userId}/roles", org,
                path_params={"userId": user.id}, body={"roleId": role.slug},
                types={"200": "AddUserRoleResponse"})
    assert role.slug in [r.slug for r in resp.data.data.roles]


def grant_permission(api_client, org, user, slug):
    resp = send(api_client, "POST", "/admin/users/{userId}/permissions", org,
                path_params={"userId": user.id}, body={"permissionId": slug},
                types={"200": "AddUserPermissionResponse"})
    assert resp.status_code == 200


@pytest.fixture(scope="module")
def check_permission_slug(api_client, org):
    """`authz.check`, the permission that lets a user ask about other subjects."""
    try:
        create_permission(api_client, org, slug="authz.check", name="Check for others")
    except ConflictException:
        pass
    return "authz.check"


@pytest.fixture(scope="module")
def world(api_client, org, check_permission_slug) -> World:
    prefix = unique("az")
    perm = {name: f"{prefix}.{name}" for name in ("edit", "view", "billing", "export")}
    edit_description = f"Edit the {prefix} documents."
    create_permission(api_client, org, slug=perm["edit"], name=f"Edit {prefix}",
                      description=edit_description)
    for name in ("view", "billing", "export"):
        created = create_permission(api_client, org, slug=perm[name], name=f"{name} {prefix}")
        assert created.description is None
    editor = create_role(api_client, org, name=f"Editor {prefix}")
    accountant = create_role(api_client, org, name=f"Accountant {prefix}")
    for role, slugs in ((editor, [perm["edit"], perm["view"]]), (accountant, [perm["billing"]])):
        send(api_client, "POST", "/admin/roles/{roleId}/permissions", org,
             path_params={"roleId": role.id}, body={"permissions": slugs},
             types={"200": "MessageResponse"})
    finance = create_group(api_client, org)
    send(api_client, "POST", "/admin/groups/{groupId}/roles", org,
         path_params={"groupId": finance.id}, body={"roleId": accountant.slug},
         types={"200": "MessageResponse"})
    alice, bob, carol, dave = (create_password_user(api_client, org, name=n)
                               for n in ("Alice", "Bob", "Carol", "Dave"))
    grant_role(api_client, org, alice, editor)
    send(api_client, "POST", "/admin/groups/{groupId}/members", org,
         path_params={"groupId": finance.id}, body={"userIds": [bob.id]},
         types={"200": "AdminGroupsCreateResponse"})
    grant_permission(api_client, org, carol, perm["export"])
    client = create_oauth_client(api_client, org, allowedScopes=AUTHZ_SCOPES)
    return World(prefix=prefix, perm=perm, edit_description=edit_description,
                 editor_role=editor, accountant_role=accountant,
                 alice=alice, bob=bob, carol=carol, dave=dave, client=client)


def expected_holdings(w: World) -> dict:
    """user id -> the slugs of `w.perm` the user holds."""
    p = w.perm
    return {w.alice.id: {p["edit"], p["view"]}, w.bob.id: {p["billing"]},
            w.carol.id: {p["export"]}, w.dave.id: set()}


# --- SDK clients ------------------------------------------------------------------------------

def key_sdk(lumod, key=None) -> LumoAuth:
    return LumoAuth(api_key=key or lumod.api_key, base_url=lumod.base, org_id=lumod.org)


class Tokens:
    """A token provider that counts how often the SDK asks for the token."""

    def __init__(self, token: str):
        self.token = token
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return self.token


def token_sdk(lumod, token: str):
    provider = Tokens(token)
    return LumoAuth(base_url=lumod.base, org_id=lumod.org, token_provider=provider), provider


def user_token(oauth, w: World, user, scope: str) -> str:
    """An access token of `user` through the authorization-code flow, carrying `scope`."""
    tokens = oauth.code_tokens(oauth.login(user.email), w.client, scope=scope)
    assert set(tokens["scope"].split()) == set(scope.split()), tokens["scope"]
    return tokens["access_token"]


def raw(lumod, method, path, body=None, *, key=None, token=None):
    """Plain HTTP against the server (org routes: `~` stands for /orgs/{org}/api/v1)."""
    url = lumod.base + path.replace("~", f"/orgs/{lumod.org}/api/v1", 1)
    headers = {"Authorization": "Bearer " + token} if token else {
        "X-API-Key": key or lumod.api_key}
    return requests.request(method, url, json=body, headers=headers, timeout=30)


# --- RBAC with an API key: the subject named ------------------------------------------------

def test_api_key_checks_follow_roles_groups_and_direct_grants(lumod, world):
    sdk = key_sdk(lumod)
    holdings = expected_holdings(world)
    for user in (world.alice, world.bob, world.carol, world.dave):
        for slug in world.perm.values():
            assert sdk.permissions.check(slug, user_id=user.id) is (slug in holdings[user.id]), (
                user.name, slug)
    assert sdk.permissions.check("no.such.permission", user_id=world.alice.id) is False

    context = {"ip": "10.0.0.1", "nested": {"tags": ["a", "b"], "n": 3}}
    detailed = sdk.permissions.check_detailed(world.perm["edit"], context, user_id=world.alice.id)
    parsed = CheckPermissionResponse.from_dict(detailed)
    assert parsed.allowed is True
    assert parsed.permission == world.perm["edit"]
    assert parsed.subject_type == "user"
    assert parsed.subject_id == world.alice.id
    assert parsed.user_id == world.alice.id
    assert parsed.context == context

    denied = CheckPermissionResponse.from_dict(
        sdk.permissions.check_detailed(world.perm["billing"], user_id=world.alice.id))
    assert denied.allowed is False
    assert denied.permission == world.perm["billing"]
    assert denied.context == {}


def test_api_key_bulk_any_and_all_agree_with_the_admin_api(lumod, world, check_permission_slug):
    sdk = key_sdk(lumod)
    asked = list(world.perm.values()) + [check_permission_slug]
    holdings = expected_holdings(world)
    for user in (world.alice, world.bob, world.carol, world.dave):
        body = sdk.permissions.check_bulk(asked, {"why": "audit"}, user_id=user.id)
        parsed = CheckPermissionsBulkResponse.from_dict(body)
        assert parsed.results == {slug: slug in holdings[user.id] for slug in asked}, user.name
        assert (parsed.subject_type, parsed.subject_id, parsed.user_id) == (
            "user", user.id, user.id)
        assert parsed.context == {"why": "audit"}
        # The same answer as the admin API's effective permissions.
        effective = raw(lumod, "GET", f"~/admin/users/{user.id}/effective-permissions")
        assert effective.status_code == 200, effective.text
        listed = set(effective.json()["data"]["permissions"])
        assert {s for s, held in parsed.results.items() if held} == listed & set(asked)

    p, alice = world.perm, world.alice.id
    assert sdk.permissions.check_any([p["billing"], p["view"]], user_id=alice) is True
    assert sdk.permissions.check_any([p["billing"], p["export"]], user_id=alice) is False
    assert sdk.permissions.check_all([p["edit"], p["view"]], user_id=alice) is True
    assert sdk.permissions.check_all([p["billing"], p["view"]], user_id=alice) is False

    for detailed, allowed in (
            (sdk.permissions.check_any_detailed([p["export"], p["edit"]], user_id=alice), True),
            (sdk.permissions.check_all_detailed([p["export"], p["edit"]], user_id=alice), False)):
        parsed = CheckAnyPermissionResponse.from_dict(detailed)
        assert parsed.allowed is allowed
        assert parsed.permissions == [p["export"], p["edit"]], "asked order is kept"
        assert (parsed.subject_type, parsed.subject_id, parsed.user_id) == ("user", alice, alice)


def test_api_key_has_no_subject_and_no_permission_list_of_its_own(lumod, world):
    sdk = key_sdk(lumod)
    # An API key is no user: a check without a subject has no one to answer for.
    for call in (lambda: sdk.permissions.check(world.perm["edit"]),
                 lambda: sdk.permissions.check_bulk([world.perm["edit"]]),
                 lambda: sdk.permissions.check_any([world.perm["edit"]])):
        with pytest.raises(LumoAuthApiError) as info:
            call()
        assert type(info.value) is LumoAuthApiError
        assert (info.value.status_code, info.value.code) == (400, "MISSING_FIELDS")

    # Listing "my permissions" needs a user token with authz:read.
    for call in (sdk.permissions.list, sdk.permissions.list_slugs):
        with pytest.raises(LumoAuthPermissionDeniedError) as info:
            call()
        assert info.value.status_code == 403
        assert info.value.code == "forbidden"
        assert info.value.required_scopes == ["authz:read"]
        assert "authz:read" in info.value.message

    # The generated client's declared call gets the same refusal.
    with pytest.raises(ForbiddenException) as info:
        lumoauth_api_client.AuthorizationApi(sdk.api).list_permissions()
    body = error_body(info.value)
    assert body["error"] == "forbidden"
    assert body["details"]["required_scopes"] == ["authz:read"]


def test_unknown_subjects_are_subject_not_found(lumod, world):
    sdk = key_sdk(lumod)
    slug = world.perm["edit"]
    calls = []
    for who in ({"user_id": GHOST_USER}, {"user_id": "not-a-uuid"}, {"agent_id": "agt_missing"}):
        calls += [lambda who=who: sdk.permissions.check(slug, **who),
                  lambda who=who: sdk.permissions.check_bulk([slug], **who),
                  lambda who=who: sdk.permissions.check_any([slug], **who),
                  lambda who=who: sdk.permissions.check_all([slug], **who)]
    for call in calls:
        with pytest.raises(LumoAuthNotFoundError) as info:
            call()
        assert info.value.status_code == 404
        assert info.value.code == "SUBJECT_NOT_FOUND"
        assert info.value.body["status"] == 404


def test_another_orgs_key_answers_for_its_own_org(lumod, world, new_org):
    other = new_org()
    sdk = key_sdk(lumod, other.api_key)
    # The org comes from the credential: this org's users are not subjects there.
    with pytest.raises(LumoAuthNotFoundError) as info:
        sdk.permissions.check(world.perm["edit"], user_id=world.alice.id)
    assert (info.value.status_code, info.value.code) == (404, "SUBJECT_NOT_FOUND")
    assert "Alice" not in str(info.value.body) and world.alice.email not in str(info.value.body)
    # And it has no relation schema of its own.
    with pytest.raises(LumoAuthApiError) as info:
        sdk.zanzibar.check("document:1", "viewer", "user:1")
    assert (info.value.status_code, info.value.code) == (400, "SCHEMA_REQUIRED")


def test_server_side_limits_and_bad_credentials(lumod, world):
    sdk = key_sdk(lumod)
    many = [f"{world.prefix}.p{i}" for i in range(101)]
    with pytest.raises(LumoAuthApiError) as info:
        sdk.permissions.check_bulk(many, user_id=world.alice.id)
    assert (info.value.status_code, info.value.code) == (400, "INVALID_PERMISSIONS")
    hundred = CheckPermissionsBulkResponse.from_dict(
        sdk.permissions.check_bulk(many[:100], user_id=world.alice.id))
    assert len(hundred.results) == 100 and not any(hundred.results.values())

    with pytest.raises(LumoAuthApiError) as info:
        sdk.permissions.check(world.prefix + ".x" * 200, user_id=world.alice.id)
    assert (info.value.status_code, info.value.code) == (400, "MISSING_PERMISSION")

    unknown_key = key_sdk(lumod, "lmk_" + secrets.token_urlsafe(24))
    with pytest.raises(LumoAuthAuthenticationError) as info:
        unknown_key.permissions.check(world.perm["edit"], user_id=world.alice.id)
    assert (info.value.status_code, info.value.code) == (401, "invalid_token")
    not_a_token, _ = token_sdk(lumod, "not.a.jwt")
    with pytest.raises(LumoAuthAuthenticationError) as info:
        not_a_token.permissions.check(world.perm["edit"])
    assert (info.value.status_code, info.value.code) == (401, "invalid_token")


def test_changes_are_seen_by_the_next_check(lumod, api_client, org, world, users_api,
                                            groups_api):
    sdk = key_sdk(lumod)
    erin = create_password_user(api_client, org, name="Erin")
    edit, billing = world.perm["edit"], world.perm["billing"]
    assert sdk.permissions.check(edit, user_id=erin.id) is False
    grant_role(api_client, org, erin, world.editor_role)
    assert sdk.permissions.check(edit, user_id=erin.id) is True
    users_api.remove_user_role(org, erin.id, world.editor_role.slug)
    assert sdk.permissions.check(edit, user_id=erin.id) is False

    grant_permission(api_client, org, erin, billing)
    assert sdk.permissions.check(billing, user_id=erin.id) is True
    users_api.remove_user_permission(org, erin.id, billing)
    assert sdk.permissions.check(billing, user_id=erin.id) is False

    # A permission added to a role reaches everyone holding the role through a group, and
    # leaving the group takes it away.
    role = create_role(api_client, org)
    group = create_group(api_client, org)
    send(api_client, "POST", "/admin/groups/{groupId}/roles", org,
         path_params={"groupId": group.id}, body={"roleId": role.slug},
         types={"200": "MessageResponse"})
    send(api_client, "POST", "/admin/groups/{groupId}/members", org,
         path_params={"groupId": group.id}, body={"userIds": [erin.id]},
         types={"200": "AdminGroupsCreateResponse"})
    late = create_permission(api_client, org, slug=f"{world.prefix}.late", name="Late")
    assert sdk.permissions.check(late.slug, user_id=erin.id) is False
    send(api_client, "POST", "/admin/roles/{roleId}/permissions", org,
         path_params={"roleId": role.id}, body={"permissions": [late.slug]},
         types={"200": "MessageResponse"})
    assert sdk.permissions.check(late.slug, user_id=erin.id) is True
    groups_api.admin_groups_remove_member(org, group.id, erin.id)
    assert sdk.permissions.check(late.slug, user_id=erin.id) is False


# --- RBAC with user tokens ----------------------------------------------------------------------

def test_user_token_checks_itself_without_a_subject(lumod, oauth, world):
    sdk, provider = token_sdk(lumod, user_token(oauth, world, world.alice, "openid authz:read"))
    p = world.perm
    assert sdk.permissions.check(p["edit"]) is True
    assert sdk.permissions.check(p["billing"]) is False
    parsed = CheckPermissionResponse.from_dict(sdk.permissions.check_detailed(p["view"]))
    assert (parsed.allowed, parsed.subject_type, parsed.subject_id, parsed.user_id) == (
        True, "user", world.alice.id, world.alice.id)
    bulk = CheckPermissionsBulkResponse.from_dict(
        sdk.permissions.check_bulk([p["edit"], p["billing"]]))
    assert bulk.results == {p["edit"]: True, p["billing"]: False}
    assert bulk.subject_id == world.alice.id
    assert sdk.permissions.check_any([p["billing"], p["view"]]) is True
    assert sdk.permissions.check_all([p["billing"], p["view"]]) is False
    # Naming oneself as the subject needs nothing more.
    assert sdk.permissions.check(p["edit"], user_id=world.alice.id) is True
    assert provider.calls >= 7, "the token is read for every request"


def test_user_token_lists_its_permissions_with_their_sources(lumod, oauth, world):
    sdk, _ = token_sdk(lumod, user_token(oauth, world, world.alice, "openid authz:read"))
    body = sdk.permissions.list()
    parsed = ListPermissionsResponse.from_dict(body)
    assert parsed.user_id == world.alice.id
    p = world.perm
    assert [(i.slug, i.description, i.source) for i in parsed.permissions] == [
        (p["edit"], world.edit_description, f"role:{world.editor_role.name}"),
        (p["view"], None, f"role:{world.editor_role.name}"),
    ]
    assert parsed.count == 2
    assert [i.to_dict() for i in parsed.data] == [i.to_dict() for i in parsed.permissions]
    assert (parsed.pagination.total, parsed.pagination.page) == (2, 1)
    assert sdk.permissions.list_slugs() == {p["edit"], p["view"]}

    # The generated client's declared call, driven by the same token provider.
    generated = lumoauth_api_client.AuthorizationApi(sdk.api).list_permissions()
    assert isinstance(generated, ListPermissionsResponse)
    assert generated.to_dict() == parsed.to_dict()

    for user, slug, source in (
            (world.bob, p["billing"], f"role:{world.accountant_role.name}"),
            (world.carol, p["export"], "direct")):
        other, _ = token_sdk(lumod, user_token(oauth, world, user, "openid authz:read"))
        listed = ListPermissionsResponse.from_dict(other.permissions.list())
        assert [(i.slug, i.source) for i in listed.permissions] == [(slug, source)], user.name
        assert other.permissions.list_slugs() == {slug}

    dave, _ = token_sdk(lumod, user_token(oauth, world, world.dave, "openid authz:read"))
    empty = ListPermissionsResponse.from_dict(dave.permissions.list())
    assert (empty.permissions, empty.count, empty.pagination.total) == ([], 0, 0)
    assert dave.permissions.list_slugs() == set()


def test_user_token_without_authz_read_cannot_list_but_checks_itself(lumod, oauth, world):
    sdk, _ = token_sdk(lumod, user_token(oauth, world, world.alice, "openid"))
    for call in (sdk.permissions.list, sdk.permissions.list_slugs):
        with pytest.raises(LumoAuthPermissionDeniedError) as info:
            call()
        assert (info.value.status_code, info.value.code) == (403, "forbidden")
        assert info.value.required_scopes == ["authz:read"]
    assert sdk.permissions.check(world.perm["edit"]) is True


def test_user_token_needs_authz_check_to_ask_about_others(lumod, oauth, api_client, org, world,
                                                         check_permission_slug):
    billing, bob = world.perm["billing"], world.bob.id
    plain, _ = token_sdk(lumod, user_token(oauth, world, world.alice, "openid authz:read"))
    for call in (lambda: plain.permissions.check(billing, user_id=bob),
                 lambda: plain.permissions.check_bulk([billing], user_id=bob),
                 lambda: plain.permissions.check_all([billing], user_id=bob)):
        with pytest.raises(LumoAuthPermissionDeniedError) as info:
            call()
        assert info.value.status_code == 403
        assert info.value.code == "INSUFFICIENT_PERMISSIONS"
        assert info.value.required_scopes == []
    # Asking about someone unknown is refused the same way: nothing about existence leaks.
    with pytest.raises(LumoAuthPermissionDeniedError) as info:
        plain.permissions.check(billing, user_id=GHOST_USER)
    assert info.value.code == "INSUFFICIENT_PERMISSIONS"

    # The authz:check scope...
    checker, _ = token_sdk(lumod, user_token(oauth, world, world.alice, "openid authz:check"))
    assert checker.permissions.check(billing, user_id=bob) is True
    parsed = CheckPermissionResponse.from_dict(
        checker.permissions.check_detailed(billing, user_id=world.dave.id))
    assert (parsed.allowed, parsed.subject_id) == (False, world.dave.id)
    with pytest.raises(LumoAuthNotFoundError) as info:
        checker.permissions.check(billing, user_id=GHOST_USER)
    assert info.value.code == "SUBJECT_NOT_FOUND"

    # ...or the authz.check permission lets a user ask about others.
    oracle = create_password_user(api_client, org, name="Oracle")
    grant_permission(api_client, org, oracle, check_permission_slug)
    holder, _ = token_sdk(lumod, user_token(oauth, world, oracle, "openid"))
    assert holder.permissions.check(billing, user_id=bob) is True
    assert holder.permissions.check_bulk([billing], user_id=world.carol.id)["results"] == {
        billing: False}


# --- Zanzibar -----------------------------------------------------------------------------------

SCHEMA = """
definition user {}

definition team {
  relation member: user | team#member
}

definition folder {
  relation parent: folder
  relation viewer: user | user:* | team#member
  permission view = viewer + parent->view
}

definition document {
  relation parent: folder
  relation owner: user
  relation editor: user | team#member
  relation viewer: user | team#member
  relation banned: user
  permission edit = editor + owner
  permission view = (viewer + edit + parent->view) - banned
  permission audit = viewer & editor
}
"""


@dataclass
class Relations:
    doc: str        # document:<id> edited by the eng team, owned by dave, carol banned
    plan: str       # document:<id> alice views and edits
    readme: str     # document:<id> in a folder everyone may view
    eng: str        # team:<id> (alice; the platform team, whose member is bob)
    platform: str
    alice: str      # user:<alice uuid>
    bob: str
    carol: str
    dave: str
    token: str      # consistency token of the write


def write_tuples(lumod, writes):
    resp = raw(lumod, "POST", "~/zanzibar/tuples", {"writes": writes})
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.fixture(scope="module")
def relations(lumod, world) -> Relations:
    resp = raw(lumod, "PUT", "~/zanzibar/schema", {"schema": SCHEMA})
    assert resp.status_code == 200, resp.text
    assert resp.json()["consistency_token"].startswith("lzt1.")
    stored = raw(lumod, "GET", "~/zanzibar/schema")
    assert stored.status_code == 200 and stored.json()["data"]["schema"] == SCHEMA

    tag = secrets.token_hex(4)
    doc, plan, readme = (f"document:{n}-{tag}" for n in ("design", "plan", "readme"))
    eng, platform = f"team:eng-{tag}", f"team:platform-{tag}"
    root, specs, public = (f"folder:{n}-{tag}" for n in ("root", "specs", "public"))
    a, b, c, d = (f"user:{u.id}" for u in (world.alice, world.bob, world.carol, world.dave))
    tuples = [
        f"{eng}#member@{a}",
        f"{eng}#member@{platform}#member",
        f"{platform}#member@{b}",
        f"{root}#viewer@{c}",
        f"{specs}#parent@{root}",
        f"{doc}#parent@{specs}",
        f"{doc}#editor@{eng}#member",
        f"{doc}#owner@{d}",
        f"{doc}#banned@{c}",
        f"{plan}#viewer@{a}",
        f"{plan}#editor@{a}",
        f"{public}#viewer@user:*",
        f"{readme}#parent@{public}",
    ]
    written = write_tuples(lumod, tuples)
    assert written["written"] == len(tuples)
    return Relations(doc=doc, plan=plan, readme=readme, eng=eng, platform=platform,
                     alice=a, bob=b, carol=c, dave=d, token=written["consistency_token"])


def test_zanzibar_check_through_the_sdk(lumod, relations):
    r = relations
    sdk = key_sdk(lumod)
    cases = [
        (r.doc, "edit", r.alice, True, "editor through the team"),
        (r.doc, "edit", r.bob, True, "nested team"),
        (r.doc, "view", r.dave, True, "owner -> edit -> view"),
        (r.doc, "view", r.carol, False, "banned beats the parent folder"),
        (r.doc, "parent", f"folder:{r.doc.split(':')[1]}", False, "no such parent"),
        (r.plan, "audit", r.alice, True, "viewer and editor"),
        (r.doc, "audit", r.alice, False, "editor only"),
        (r.readme, "view", "user:anyone-at-all", True, "wildcard viewer of the folder"),
        (r.plan, "view", r.bob, False, "nothing"),
        (r.doc, "editor", f"{r.platform}#member", True, "userset subject"),
        (r.eng, "member", r.bob, True, "team in a team"),
    ]
    for obj, relation, subject, expected, why in cases:
        assert sdk.zanzibar.check(obj, relation, subject) is expected, why
        detailed = sdk.zanzibar.check_detailed(obj, relation, subject)
        parsed = CheckRelationResponse.from_dict(detailed)
        assert (parsed.allowed, parsed.object, parsed.relation, parsed.subject) == (
            expected, obj, relation, subject), why
    # The SDK's helpers ask for the relation their name says.
    assert sdk.zanzibar.is_owner(r.doc, r.dave) is True
    assert sdk.zanzibar.is_owner(r.doc, r.alice) is False
    assert sdk.zanzibar.is_editor(r.plan, r.alice) is True
    assert sdk.zanzibar.is_viewer(r.plan, r.alice) is True
    assert sdk.zanzibar.is_member(r.platform, r.bob) is True
    assert sdk.zanzibar.is_member(r.platform, r.alice) is False


def test_zanzibar_org_route_echoes_user_and_accepts_subject(lumod, relations):
    r = relations
    for field in ("user", "subject"):
        resp = raw(lumod, "POST", "~/zanzibar/check",
                   {"object": r.doc, "relation": "edit", field: r.bob})
        assert resp.status_code == 200, resp.text
        parsed = CheckRelationScopedResponse.from_dict(resp.json())
        assert (parsed.allowed, parsed.object, parsed.relation, parsed.user) == (
            True, r.doc, "edit", r.bob), field
    denied = CheckRelationScopedResponse.from_dict(raw(
        lumod, "POST", "~/zanzibar/check",
        {"object": r.doc, "relation": "view", "user": r.carol}).json())
    assert (denied.allowed, denied.user) == (False, r.carol)


def leaves(tree: dict):
    """Every node of an expand tree (a dict), depth first."""
    yield tree
    for child in tree.get("children") or []:
        yield from leaves(child)


def test_zanzibar_expand_through_the_sdk_and_the_generated_client(lumod, org, relations):
    r = relations
    sdk = key_sdk(lumod)
    tree = sdk.zanzibar.expand(r.doc, "edit")
    parsed = ExpandRelationResponse.from_dict({"tree": tree}).tree
    assert (parsed.type, parsed.object, parsed.relation) == ("union", r.doc, "edit")
    assert [(c["type"], c["relation"], c["subjects"]) for c in parsed.children] == [
        ("leaf", "editor", [f"{r.eng}#member"]), ("leaf", "owner", [r.dave])]
    assert parsed.subjects == []

    api = lumoauth_api_client.AuthorizationApi(sdk.api)
    request = ExpandRelationRequest(object=r.doc, relation="edit")
    generated = api.expand_relation(request)
    assert isinstance(generated, ExpandRelationResponse)
    assert generated.tree.to_dict() == parsed.to_dict()
    scoped = api.expand_relation_scoped(org, request)
    assert isinstance(scoped, ExpandRelationResponse)
    assert scoped.tree.to_dict() == parsed.to_dict()

    audit = ExpandRelationResponse.from_dict({"tree": sdk.zanzibar.expand(r.plan, "audit")}).tree
    assert audit.type == "intersection"
    assert [c["subjects"] for c in audit.children] == [[r.alice], [r.alice]]

    owner = ExpandRelationResponse.from_dict({"tree": sdk.zanzibar.expand(r.doc, "owner")}).tree
    assert (owner.type, owner.children, owner.subjects) == ("leaf", [], [r.dave])

    members = sdk.zanzibar.expand(r.eng, "member")
    assert members["type"] == "leaf"
    assert sorted(members["subjects"]) == sorted([r.alice, f"{r.platform}#member"])


@pytest.mark.xfail(strict=True, reason=(
    "lumod gap: expand of a permission with an exclusion (`a - b`) answers a node "
    "{\"type\": \"exclusion\"}; the contract (ExpandRelationResponseTree, sdk-notes 4.2) allows "
    "only union | intersection | leaf, so the generated model refuses the answer"))
def test_zanzibar_expand_of_an_exclusion_parses_with_the_client_model(lumod, relations):
    sdk = key_sdk(lumod)
    tree = sdk.zanzibar.expand(relations.doc, "view")   # the SDK itself only needs a dict
    assert isinstance(tree, dict) and tree["object"] == relations.doc
    ExpandRelationResponse.from_dict({"tree": tree})
    for node in leaves(tree):
        ExpandRelationResponseTree.from_dict(node)


def test_zanzibar_with_user_tokens(lumod, oauth, world, relations):
    r = relations
    sdk, _ = token_sdk(lumod, user_token(oauth, world, world.alice, "openid"))
    # About oneself: allowed without any scope.
    assert sdk.zanzibar.check(r.doc, "edit", r.alice) is True
    assert sdk.zanzibar.check(r.readme, "view", r.alice) is True
    # About others, and expand (which always reveals others): INSUFFICIENT_PERMISSIONS.
    for call in (lambda: sdk.zanzibar.check(r.doc, "edit", r.bob),
                 lambda: sdk.zanzibar.check(r.doc, "editor", f"{r.eng}#member"),
                 lambda: sdk.zanzibar.expand(r.doc, "edit")):
        with pytest.raises(LumoAuthPermissionDeniedError) as info:
            call()
        assert (info.value.status_code, info.value.code) == (403, "INSUFFICIENT_PERMISSIONS")
        assert info.value.required_scopes == []

    checker, _ = token_sdk(lumod, user_token(oauth, world, world.alice, "openid authz:check"))
    assert checker.zanzibar.check(r.doc, "edit", r.bob) is True
    tree = ExpandRelationResponse.from_dict({"tree": checker.zanzibar.expand(r.doc, "edit")})
    assert tree.tree.type == "union"
    generated = lumoauth_api_client.AuthorizationApi(checker.api).expand_relation(
        ExpandRelationRequest(object=r.doc, relation="owner"))
    assert generated.tree.subjects == [r.dave]


def test_zanzibar_errors_carry_the_engines_codes(lumod, relations):
    r = relations
    sdk = key_sdk(lumod)
    for call, code in (
            (lambda: sdk.zanzibar.check(r.doc, "nope", r.alice), "UNKNOWN_RELATION"),
            (lambda: sdk.zanzibar.check("spaceship:1", "view", r.alice), "UNKNOWN_TYPE"),
            (lambda: sdk.zanzibar.check("document:", "view", r.alice), "INVALID_TUPLE"),
            (lambda: sdk.zanzibar.check(r.doc, "view", "user:"), "INVALID_TUPLE"),
            (lambda: sdk.zanzibar.expand(r.doc, "nope"), "UNKNOWN_RELATION"),
            (lambda: sdk.zanzibar.expand("spaceship:1", "view"), "UNKNOWN_TYPE")):
        with pytest.raises(LumoAuthApiError) as info:
            call()
        assert type(info.value) is LumoAuthApiError
        assert (info.value.status_code, info.value.code) == (400, code)

    # A parent chain deeper than the engine's bound is an error, not a hang.
    tag = secrets.token_hex(4)
    write_tuples(lumod, [f"folder:{tag}-{i + 1}#parent@folder:{tag}-{i}" for i in range(120)])
    with pytest.raises(LumoAuthApiError) as info:
        sdk.zanzibar.check(f"folder:{tag}-120", "view", r.alice)
    assert (info.value.status_code, info.value.code) == (400, "DEPTH_EXCEEDED")


def test_tuple_changes_are_seen_by_the_next_check(lumod, relations):
    r = relations
    sdk = key_sdk(lumod)
    memo = f"document:memo-{secrets.token_hex(4)}"
    assert sdk.zanzibar.check(memo, "view", r.bob) is False
    written = write_tuples(lumod, [f"{memo}#viewer@{r.bob}"])
    assert written["written"] == 1 and written["consistency_token"].startswith("lzt1.")
    assert sdk.zanzibar.check(memo, "view", r.bob) is True

    # A failed precondition writes nothing.
    refused = raw(lumod, "POST", "~/zanzibar/tuples", {
        "writes": [f"{memo}#viewer@{r.carol}"],
        "preconditions": [{"tuple": f"{memo}#owner@{r.dave}", "operation": "must_exist"}]})
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "PRECONDITION_FAILED"
    assert sdk.zanzibar.check(memo, "view", r.carol) is False

    deleted = raw(lumod, "DELETE", "~/zanzibar/tuples", {"tuples": [f"{memo}#viewer@{r.bob}"]})
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["deleted"] == 1
    assert sdk.zanzibar.check(memo, "view", r.bob) is False
    listed = raw(lumod, "GET", f"~/zanzibar/tuples?object_type=document&object_id={memo[9:]}")
    assert listed.status_code == 200 and listed.json()["pagination"]["total"] == 0
