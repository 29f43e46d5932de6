"""ABAC through the official clients.

The hand-written SDK `lumoauth==1.1.0` drives every call of its `abac` resource (`check`,
`is_allowed`, `check_bulk`, `get_my_attributes`, `set_user_attribute`,
`get_resource_attributes`, `set_resource_attribute`, `get_attribute_definitions`) with user
access tokens (`token_provider`), and its exception classes and codes for every refusal (API
keys, missing scopes, the abac.manage permission, bad values). Every response is parsed with the
generated client's models (`lumoauth_api_client`), by `Model.from_dict` or by the generated calls
where the client declares them.

Attribute definitions and policies are made with the generated client: its `AdminAbacApi`
declares no request body for create / PUT / PATCH, so those bodies go through
`lumo_helpers.send` (the client's own serialization, transport and models); list, get, delete
and toggle are the generated calls themselves.
"""

import json
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
    LumoAuthValidationError,
)
from lumoauth_api_client.exceptions import (
    BadRequestException,
    ConflictException,
    NotFoundException,
    UnauthorizedException,
)
from lumoauth_api_client.models import (
    AbacAttributesCreateResponse,
    AbacAttributesGetResponse,
    AbacAttributesListResponse,
    AbacPoliciesCreateResponse,
    AbacPoliciesGetResponse,
    AbacPoliciesListResponse,
    AbacPoliciesToggleResponse,
    AbacPolicy,
    CheckAbacBulkResponse,
    CheckAbacResponse,
    GetMyAttributesResponse,
    GetResourceAttributesResponse,
    ListAttributeDefinitionsResponse,
    MessageResponse,
    PutAbacAttributesUpdateResponse,
    PutAbacPoliciesUpdateResponse,
    SetResourceAttributeResponse,
    SetUserAttributeResponse,
)

from lumo_helpers import (
    create_oauth_client,
    create_password_user,
    create_permission,
    error_body,
    send,
)

ABAC_SCOPES = ["openid", "profile", "abac:read", "abac:write"]
GHOST_USER = "00000000-0000-4000-8000-000000000000"
SPOOFED_IP = "203.0.113.9"


# --- set-up through the generated client --------------------------------------------------------

def new_attribute(api_client, org, **body) -> object:
    resp = send(api_client, "POST", "/abac/attributes", org, body=body,
                types={"201": "AbacAttributesCreateResponse"})
    assert resp.status_code == 201
    assert isinstance(resp.data, AbacAttributesCreateResponse), resp.raw_data
    assert resp.data.message == "Attribute created"
    created = resp.data.data
    assert isinstance(created.id, int) and created.slug == body.get("slug", created.slug)
    assert created.attribute_type == body["attributeType"]
    return created


def new_policy(api_client, org, **body) -> object:
    resp = send(api_client, "POST", "/abac/policies", org, body=body,
                types={"201": "AbacPoliciesCreateResponse"})
    assert resp.status_code == 201
    assert isinstance(resp.data, AbacPoliciesCreateResponse), resp.raw_data
    assert resp.data.message == "Policy created"
    created = resp.data.data
    assert isinstance(created, AbacPolicy)
    assert isinstance(created.id, int) and created.slug == body["slug"]
    assert created.effect == body.get("effect", "allow")
    assert created.priority == body.get("priority", 0)
    assert created.is_active is body.get("isActive", True)
    return created


def leaf(attribute, operator, value=None):
    out = {"attribute": attribute, "operator": operator}
    if value is not None:
        out["value"] = value
    return out


@dataclass
class World:
    tag: str
    rt: str                 # the document resource type of this run
    net: str                # the resource type of the environment policies
    dept: str               # user attribute slugs
    clearance: str
    classification: str     # resource attribute slug (default "public")
    network: str            # environment attribute slug
    eng_read: object        # allow p10 read when dept == engineering
    no_secret: object       # deny p100 any action on secret resources
    cleared: object         # allow p100 read when clearance >= 5 (ties with the deny)
    executive: object       # allow p150 read when clearance >= 9 (beats the deny)
    client: object
    alice: object           # engineering, clearance 1
    carol: object           # engineering, clearance 5
    erin: object            # engineering, clearance 9
    dave: object            # holds policies.view
    manager: object         # holds abac.manage


def grant_permission(api_client, org, user, slug):
    resp = send(api_client, "POST", "/admin/users/{userId}/permissions", org,
                path_params={"userId": user.id}, body={"permissionId": slug},
                types={"200": "AddUserPermissionResponse"})
    assert resp.status_code == 200


def ensure_permission(api_client, org, slug):
    try:
        create_permission(api_client, org, slug=slug, name=f"Permission {slug}")
    except ConflictException:
        pass


@pytest.fixture(scope="module")
def world(api_client, org) -> World:
    tag = secrets.token_hex(3)
    rt, net = f"doc_{tag}", f"net_{tag}"
    dept, clearance = f"department_{tag}", f"clearance_{tag}"
    classification, network = f"classification_{tag}", f"network_{tag}"
    new_attribute(api_client, org, name=f"Department {tag}", slug=dept, attributeType="user",
                  dataType="string", description="Where the user works")
    new_attribute(api_client, org, name=f"Clearance {tag}", slug=clearance,
                  attributeType="user", dataType="number")
    made = new_attribute(api_client, org, name=f"Classification {tag}", slug=classification,
                         attributeType="resource", dataType="string", defaultValue="public")
    assert made.default_value == "public" and made.data_type == "string"
    new_attribute(api_client, org, name=f"Network {tag}", slug=network,
                  attributeType="environment", dataType="string")

    eng_read = new_policy(
        api_client, org, name=f"Engineers read {tag}", slug=f"eng-read-{tag}", resourceType=rt,
        action="read", effect="allow", priority=10,
        conditions={"all": [leaf(f"user.{dept}", "equals", "engineering")]})
    no_secret = new_policy(
        api_client, org, name=f"No secrets {tag}", slug=f"no-secret-{tag}", resourceType=rt,
        action="*", effect="deny", priority=100,
        conditions={"all": [leaf(f"resource.{classification}", "eq", "secret")]})
    cleared = new_policy(
        api_client, org, name=f"Cleared {tag}", slug=f"cleared-{tag}", resourceType=rt,
        action="read", effect="allow", priority=100,
        conditions={"all": [leaf(f"user.{clearance}", "gte", 5)]})
    executive = new_policy(
        api_client, org, name=f"Executive {tag}", slug=f"executive-{tag}", resourceType=rt,
        action="read", effect="allow", priority=150,
        conditions={"all": [leaf(f"subject.{clearance}", "greater_than_or_equal", 9)]})
    # The stored conditions are canonical: aliases resolved (`eq`, `gte`, `subject.`).
    assert no_secret.conditions["all"][0]["operator"] == "equals"
    assert cleared.conditions["all"][0]["operator"] == "greater_than_or_equal"
    assert executive.conditions["all"][0]["attribute"] == f"user.{clearance}"

    # The environment: the request's own ip, method, path and user agent, the caller's under pep.
    env_policies = [
        ("loopback", [leaf("environment.ip", "ip_in_cidr", ["127.0.0.0/8", "::1/128"])]),
        ("spoof", [leaf("environment.ip", "ip_in_cidr", "203.0.113.0/24")]),
        ("pep", [leaf("environment.pep.ip", "equals", SPOOFED_IP)]),
        ("meta", [leaf("environment.requestMethod", "equals", "POST"),
                  leaf("environment.requestPath", "equals", f"/orgs/{org}/api/v1/abac/check"),
                  leaf("environment.userAgent", "starts_with", "python-requests/")]),
        ("pep-meta", [leaf("environment.pep.requestMethod", "equals", "DELETE"),
                      leaf("environment.pep.userAgent", "equals", "spoofed-agent")]),
        ("custom", [leaf(f"env.{network}", "in", ["corp", "vpn"])]),
        ("office-hours", [leaf("environment.time", "between", ["09:00", "17:00"])]),
    ]
    for action, conditions in env_policies:
        new_policy(api_client, org, name=f"Net {action} {tag}", slug=f"net-{action}-{tag}",
                   resourceType=net, action=action, priority=1, conditions={"all": conditions})

    for slug in ("abac.manage", "policies.view"):
        ensure_permission(api_client, org, slug)
    alice, carol, erin, dave, manager = (
        create_password_user(api_client, org, name=n)
        for n in ("Alice", "Carol", "Erin", "Dave", "Manager"))
    grant_permission(api_client, org, manager, "abac.manage")
    grant_permission(api_client, org, dave, "policies.view")
    client = create_oauth_client(api_client, org, allowedScopes=ABAC_SCOPES)
    return World(tag=tag, rt=rt, net=net, dept=dept, clearance=clearance,
                 classification=classification, network=network, eng_read=eng_read,
                 no_secret=no_secret, cleared=cleared, executive=executive, client=client,
                 alice=alice, carol=carol, erin=erin, dave=dave, manager=manager)


# --- SDK clients ------------------------------------------------------------------------------

class Tokens:
    """A token provider that counts how often the SDK asks for the token."""

    def __init__(self, token: str):
        self.token = token
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return self.token


def user_token(oauth, w: World, user, scope: str) -> str:
    tokens = oauth.code_tokens(oauth.login(user.email), w.client, scope=scope)
    assert set(tokens["scope"].split()) == set(scope.split()), tokens["scope"]
    return tokens["access_token"]


def token_sdk(lumod, token: str, org=None) -> LumoAuth:
    return LumoAuth(base_url=lumod.base, org_id=org or lumod.org, token_provider=Tokens(token))


def user_sdk(lumod, oauth, w: World, user, scope="openid abac:read") -> LumoAuth:
    return token_sdk(lumod, user_token(oauth, w, user, scope))


@pytest.fixture(scope="module")
def manager(lumod, oauth, world) -> LumoAuth:
    return user_sdk(lumod, oauth, world, world.manager, "openid abac:read abac:write")


@pytest.fixture(scope="module")
def valued(world, manager):
    """The user and resource attribute values, set by the manager through the SDK."""
    w = world
    for user, dept, level in ((w.alice, "engineering", 1), (w.carol, "engineering", 5),
                              (w.erin, "engineering", 9), (w.dave, "sales", 0)):
        for slug, value in ((w.dept, dept), (w.clearance, level)):
            body = manager.abac.set_user_attribute(user.id, slug, value)
            parsed = SetUserAttributeResponse.from_dict(body)
            assert parsed.message == "Attribute value set"
            assert (parsed.data.user_id, parsed.data.attribute_slug, parsed.data.value) == (
                user.id, slug, value)
    body = manager.abac.set_resource_attribute(w.rt, "doc-9", w.classification, "secret")
    parsed = SetResourceAttributeResponse.from_dict(body)
    assert parsed.message == "Attribute value set"
    data = parsed.data
    assert (data.resource_type, data.resource_id, data.attribute_slug, data.value) == (
        w.rt, "doc-9", w.classification, "secret")
    assert data.attribute_name == f"Classification {w.tag}"
    assert isinstance(data.id, int) and data.created_at is not None
    return w


# --- admin configuration ------------------------------------------------------------------------

def test_admin_attribute_and_policy_crud_parse_with_the_client_models(api_client, new_org):
    other = new_org()
    org, client = other.slug, other.client
    admin = lumoauth_api_client.AdminAbacApi(client)
    level = new_attribute(client, org, name="Level", slug="level", attributeType="user",
                          dataType="number", defaultValue=1, isRequired=True,
                          validationRules={"min": 0, "max": 10})
    assert (level.default_value, level.is_required, level.is_system) == (1, True, False)
    assert level.validation_rules == {"min": 0, "max": 10}
    assert level.created_at is not None
    region = new_attribute(client, org, name="Region Name", attributeType="resource")
    assert (region.slug, region.data_type) == ("region_name", "string"), "slug from the name"

    listed = admin.abac_attributes_list(org)
    assert isinstance(listed, AbacAttributesListResponse)
    assert [a.slug for a in listed.data] == ["level", "region_name"]
    assert listed.pagination.total == 2 and listed.resource_type == "abac_attributes"
    only_users = send(client, "GET", "/abac/attributes", org, query={"type": "user"},
                      types={"200": "AbacAttributesListResponse"}).data
    assert [a.slug for a in only_users.data] == ["level"]

    got = admin.abac_attributes_get(org, str(level.id))
    assert isinstance(got, AbacAttributesGetResponse) and got.data.slug == "level"
    for method in ("PUT", "PATCH"):
        resp = send(client, method, "/abac/attributes/{id}", org, path_params={"id": level.id},
                    body={"name": f"Level {method}", "description": "how senior"},
                    types={"200": "PutAbacAttributesUpdateResponse"})
        assert isinstance(resp.data, PutAbacAttributesUpdateResponse)
        assert resp.data.message == "Attribute updated"
        assert (resp.data.data.name, resp.data.data.description) == (f"Level {method}",
                                                                     "how senior")
        assert resp.data.data.slug == "level", "the slug never changes"
    with pytest.raises(ConflictException) as info:
        new_attribute(client, org, name="Again", slug="level", attributeType="user")
    assert error_body(info.value)["status"] == 409

    policy = new_policy(client, org, name="Seniors", slug="seniors", resourceType="report",
                        action="read", effect="allow", priority=5,
                        conditions={"all": [leaf("user.level", "gte", 3)],
                                    "any": [leaf("user.email", "ends_with", "@example.com"),
                                            leaf("resource.region_name", "exists")],
                                    "none": [leaf("user.blocked", "equals", True)]})
    assert set(policy.conditions) >= {"all", "any", "none"}
    high = new_policy(client, org, name="High", slug="high", resourceType="*", action="*",
                      effect="deny", priority=900, isActive=False, conditions={})
    listed = admin.abac_policies_list(org)
    assert isinstance(listed, AbacPoliciesListResponse)
    assert [p.slug for p in listed.data] == ["high", "seniors"], "highest priority first"
    assert listed.pagination.total == 2 and listed.resource_type == "abac_policies"
    got = admin.abac_policies_get(org, str(policy.id))
    assert isinstance(got, AbacPoliciesGetResponse) and got.data.to_dict() == policy.to_dict()

    resp = send(client, "PUT", "/abac/policies/{id}", org, path_params={"id": policy.id},
                body={"priority": 950, "effect": "deny", "description": "now first"},
                types={"200": "PutAbacPoliciesUpdateResponse"})
    assert isinstance(resp.data, PutAbacPoliciesUpdateResponse)
    assert resp.data.message == "Policy updated"
    updated = resp.data.data
    assert (updated.priority, updated.effect, updated.description) == (950, "deny", "now first")
    assert updated.conditions == policy.conditions and updated.slug == "seniors"
    patched = send(client, "PATCH", "/abac/policies/{id}", org, path_params={"id": policy.id},
                   body={"conditions": {"any": [leaf("action", "in", ["read", "list"])]}},
                   types={"200": "PutAbacPoliciesUpdateResponse"}).data.data
    assert patched.conditions["any"][0]["operator"] == "in"
    assert [p.slug for p in admin.abac_policies_list(org).data] == ["seniors", "high"]

    toggled = admin.abac_policies_toggle(org, str(high.id))
    assert isinstance(toggled, AbacPoliciesToggleResponse)
    assert (toggled.message, toggled.data.is_active) == ("Policy activated", True)
    toggled = admin.abac_policies_toggle(org, str(high.id))
    assert (toggled.message, toggled.data.is_active) == ("Policy deactivated", False)

    deleted = admin.abac_policies_delete(org, str(high.id))
    assert isinstance(deleted, MessageResponse) and deleted.message == "Policy deleted"
    with pytest.raises(NotFoundException):
        admin.abac_policies_get(org, str(high.id))
    with pytest.raises(NotFoundException):
        admin.abac_policies_toggle(org, str(high.id))
    deleted = admin.abac_attributes_delete(org, str(region.id))
    assert isinstance(deleted, MessageResponse) and deleted.message == "Attribute deleted"
    with pytest.raises(NotFoundException) as info:
        admin.abac_attributes_get(org, str(region.id))
    assert error_body(info.value)["status"] == 404
    assert admin.abac_attributes_list(org).pagination.total == 1
    assert admin.abac_policies_list(org).pagination.total == 1

    # Every change is in the audit log.
    audit = send(client, "GET", "/admin/audit-logs", org, query={"limit": 100})
    actions = {e["action"] for e in json.loads(audit.raw_data)["data"]}
    assert {"abac.attribute.created", "abac.attribute.updated", "abac.attribute.deleted",
            "abac.policy.created", "abac.policy.updated", "abac.policy.deleted"} <= actions


def test_admin_refuses_bad_conditions_and_writes_nothing(new_org):
    other = new_org()
    org, client = other.slug, other.client
    new_attribute(client, org, name="Level", slug="level", attributeType="user",
                  dataType="number")
    base = {"name": "P", "slug": "p", "resourceType": "report", "action": "read"}
    for conditions, code in (
            ({"all": [leaf("user.nope", "equals", 1)]}, "UNKNOWN_ATTRIBUTE"),
            ({"all": [leaf("resource.level", "equals", 1)]}, "UNKNOWN_ATTRIBUTE"),
            ({"all": [leaf("user.level", "resembles", 1)]}, "INVALID_CONDITIONS"),
            ({"all": [leaf("user.level", "between", [1])]}, "INVALID_CONDITIONS"),
            ({"all": [leaf("environment.ip", "ip_in_cidr", "10.0.0.0/33")]},
             "INVALID_CONDITIONS"),
            ({"any": {"attribute": "user.level"}}, "INVALID_CONDITIONS"),
            ({"all": [{"operator": "equals", "value": 1}]}, "INVALID_CONDITIONS"),
            (["user.level"], "INVALID_CONDITIONS"),
            ("user.level >= 3", "INVALID_CONDITIONS")):
        with pytest.raises(BadRequestException) as info:
            send(client, "POST", "/abac/policies", org, body={**base, "conditions": conditions},
                 types={"201": "AbacPoliciesCreateResponse"})
        assert error_body(info.value)["error"] == code, conditions
    listed = lumoauth_api_client.AdminAbacApi(client).abac_policies_list(org)
    assert listed.pagination.total == 0 and listed.data == []
    # A policy that exists keeps its conditions when an update is refused.
    good = new_policy(client, org, **base, conditions={"all": [leaf("user.level", "gt", 1)]})
    with pytest.raises(BadRequestException) as info:
        send(client, "PATCH", "/abac/policies/{id}", org, path_params={"id": good.id},
             body={"name": "Renamed", "conditions": {"all": [leaf("user.ghost", "exists")]}})
    assert error_body(info.value)["error"] == "UNKNOWN_ATTRIBUTE"
    kept = lumoauth_api_client.AdminAbacApi(client).abac_policies_get(org, str(good.id)).data
    assert kept.to_dict() == good.to_dict()


# --- the runtime: checks ------------------------------------------------------------------------

def test_check_follows_user_and_resource_attributes(lumod, oauth, valued):
    w = valued
    sdk = user_sdk(lumod, oauth, w, w.alice)
    body = sdk.abac.check(w.rt, "read", "doc-1")
    parsed = CheckAbacResponse.from_dict(body)
    assert parsed.allowed is True, body
    assert [(m.id, m.name) for m in parsed.matched_policies] == [(w.eng_read.id,
                                                                  w.eng_read.name)]
    assert (parsed.user_id, parsed.resource_type, parsed.action, parsed.resource_id) == (
        w.alice.id, w.rt, "read", "doc-1")
    assert "allowed" in parsed.reason and w.eng_read.name in parsed.reason
    assert sdk.abac.is_allowed(w.rt, "read", "doc-1") is True

    secret = CheckAbacResponse.from_dict(sdk.abac.check(w.rt, "read", "doc-9"))
    assert secret.allowed is False
    assert [m.id for m in secret.matched_policies] == [w.no_secret.id]
    assert "denied" in secret.reason
    assert sdk.abac.is_allowed(w.rt, "read", "doc-9") is False

    nothing = CheckAbacResponse.from_dict(sdk.abac.check(w.rt, "write"))
    assert (nothing.allowed, nothing.matched_policies, nothing.resource_id) == (False, [], None)
    assert "no policy" in nothing.reason
    # Extra resource attributes ride along in a bulk item but never beat stored ones.
    # Without a resourceId they are the resource's only attributes.
    bulk = CheckAbacBulkResponse.from_dict(sdk.abac.check_bulk([
        {"resource_type": w.rt, "action": "read", "resource_id": "doc-2",
         w.classification: "secret"},
        {"resourceType": w.rt, "action": "read", "resourceId": "doc-9",
         w.classification: "public"},
        {"resource_type": w.rt, "action": "read", w.classification: "secret"},
        {"resource_type": w.rt, "action": "read"},
    ]))
    assert [r.allowed for r in bulk.results] == [True, False, False, True]

    # Outside the org's vocabulary nothing is allowed.
    dave = user_sdk(lumod, oauth, w, w.dave)
    assert dave.abac.is_allowed(w.rt, "read", "doc-1") is False


def test_deny_overrides_by_priority(lumod, oauth, valued):
    w = valued
    # carol: engineering (allow p10) and clearance 5 (allow p100), the deny is p100 too: a tie
    # goes to the deny.
    carol = user_sdk(lumod, oauth, w, w.carol)
    tie = CheckAbacResponse.from_dict(carol.abac.check(w.rt, "read", "doc-9"))
    assert tie.allowed is False
    assert [m.id for m in tie.matched_policies] == [w.no_secret.id]
    assert f"priority {w.no_secret.priority}" in tie.reason
    # On a public document the p100 allow decides (not the p10 one).
    public = CheckAbacResponse.from_dict(carol.abac.check(w.rt, "read", "doc-1"))
    assert public.allowed is True
    assert [m.id for m in public.matched_policies] == [w.cleared.id]
    # erin: clearance 9 (allow p150) beats the p100 deny.
    erin = user_sdk(lumod, oauth, w, w.erin)
    above = CheckAbacResponse.from_dict(erin.abac.check(w.rt, "read", "doc-9"))
    assert above.allowed is True
    assert [m.id for m in above.matched_policies] == [w.executive.id]
    # ...but not for actions the p150 allow does not cover.
    assert erin.abac.is_allowed(w.rt, "delete", "doc-9") is False


def test_toggle_and_update_change_the_next_decision(lumod, oauth, api_client, org, valued):
    w = valued
    admin = lumoauth_api_client.AdminAbacApi(api_client)
    erin = user_sdk(lumod, oauth, w, w.erin)
    assert erin.abac.is_allowed(w.rt, "read", "doc-9") is True
    off = admin.abac_policies_toggle(org, str(w.executive.id))
    try:
        assert off.data.is_active is False
        assert erin.abac.is_allowed(w.rt, "read", "doc-9") is False
    finally:
        on = admin.abac_policies_toggle(org, str(w.executive.id))
        assert on.data.is_active is True
    assert erin.abac.is_allowed(w.rt, "read", "doc-9") is True
    # Lowering the allow to the deny's priority lets the deny win.
    send(api_client, "PATCH", "/abac/policies/{id}", org, path_params={"id": w.executive.id},
         body={"priority": 100}, types={"200": "PutAbacPoliciesUpdateResponse"})
    try:
        assert erin.abac.is_allowed(w.rt, "read", "doc-9") is False
    finally:
        send(api_client, "PATCH", "/abac/policies/{id}", org,
             path_params={"id": w.executive.id}, body={"priority": 150},
             types={"200": "PutAbacPoliciesUpdateResponse"})
    assert erin.abac.is_allowed(w.rt, "read", "doc-9") is True


def test_policies_view_shows_the_matched_policies_in_full(lumod, oauth, valued):
    w = valued
    # dave holds policies.view; the decision is the same, the matched policies come in full.
    dave = user_sdk(lumod, oauth, w, w.dave)
    body = dave.abac.check(w.rt, "read", "doc-9")
    parsed = CheckAbacResponse.from_dict(body)
    assert parsed.allowed is False
    assert [m.id for m in parsed.matched_policies] == [w.no_secret.id]
    full = AbacPolicy.from_dict(body["matchedPolicies"][0])
    assert (full.id, full.slug, full.effect, full.priority, full.conditions, full.is_active) == (
        w.no_secret.id, w.no_secret.slug, "deny", 100, w.no_secret.conditions, True)
    assert full.to_dict() == w.no_secret.to_dict()
    # Without the permission: only id and name.
    alice = user_sdk(lumod, oauth, w, w.alice)
    shown = alice.abac.check(w.rt, "read", "doc-9")["matchedPolicies"]
    assert shown == [{"id": w.no_secret.id, "name": w.no_secret.name}]


def test_environment_is_taken_from_the_request_and_the_callers_goes_under_pep(
        lumod, oauth, valued):
    w = valued
    sdk = user_sdk(lumod, oauth, w, w.alice)
    spoofed = {"ip": SPOOFED_IP, "requestMethod": "DELETE", "userAgent": "spoofed-agent",
               "requestPath": "/elsewhere", w.network: "corp"}
    # The real ip is loopback whatever the caller claims.
    assert sdk.abac.is_allowed(w.net, "loopback", context=spoofed) is True
    assert sdk.abac.is_allowed(w.net, "loopback") is True
    assert sdk.abac.is_allowed(w.net, "spoof", context=spoofed) is False
    # The claimed values are kept under pep.
    pep = CheckAbacResponse.from_dict(sdk.abac.check(w.net, "pep", context=spoofed))
    assert pep.allowed is True, pep.reason
    assert sdk.abac.is_allowed(w.net, "pep") is False
    assert sdk.abac.is_allowed(w.net, "pep", context={"ip": "198.51.100.1"}) is False
    assert sdk.abac.is_allowed(w.net, "pep-meta", context=spoofed) is True
    # Method, path and user agent are the real request's (the SDK sends python-requests).
    assert sdk.abac.is_allowed(w.net, "meta", context=spoofed) is True
    # Other environment keys pass through unchanged.
    assert sdk.abac.is_allowed(w.net, "custom", context=spoofed) is True
    assert sdk.abac.is_allowed(w.net, "custom", context={w.network: "home"}) is False
    assert sdk.abac.is_allowed(w.net, "office-hours", context={"time": "10:30"}) is True
    assert sdk.abac.is_allowed(w.net, "office-hours", context={"time": "18:30"}) is False
    # A caller-sent pep object is merged, not replaced, and the real values still win.
    merged = sdk.abac.check(w.net, "pep", context={"pep": {"ip": SPOOFED_IP}, "ip": "10.9.9.9"})
    assert merged["allowed"] is False, "the top-level claimed ip overrides pep.ip"
    assert sdk.abac.is_allowed(w.net, "pep", context={"pep": {"ip": SPOOFED_IP}}) is True

    # The bulk call shares one environment, enriched the same way (its own path).
    bulk = sdk.abac.check_bulk(
        [{"resource_type": w.net, "action": a} for a in
         ("loopback", "spoof", "pep", "pep-meta", "meta", "custom")],
        environment=spoofed)
    parsed = CheckAbacBulkResponse.from_dict(bulk)
    assert [r.allowed for r in parsed.results] == [True, False, True, True, False, True], (
        "meta asks for the path /abac/check; the bulk request's path is /abac/check-bulk")
    # Items may carry the environment themselves when they agree.
    same = sdk.abac.check_bulk([
        {"resource_type": w.net, "action": "pep", "context": {"ip": SPOOFED_IP}},
        {"resource_type": w.net, "action": "spoof", "context": {"ip": SPOOFED_IP}}])
    assert [r["allowed"] for r in same["results"]] == [True, False]
    with pytest.raises(LumoAuthValidationError):
        sdk.abac.check_bulk([{"resource_type": w.net, "action": "pep", "context": {"ip": "a"}},
                             {"resource_type": w.net, "action": "pep", "context": {"ip": "b"}}])


def test_check_bulk_keeps_order_and_reports_incomplete_items(lumod, oauth, valued):
    w = valued
    sdk = user_sdk(lumod, oauth, w, w.alice)
    body = sdk.abac.check_bulk([
        {"resource_type": w.rt, "action": "read", "resource_id": "doc-1"},
        {"resource_type": w.rt, "action": "read", "resource_id": "doc-9"},
        {"action": "read"},
        {"resourceType": w.rt, "action": "write", "resourceId": 42},
        {"resource_type": w.rt},
    ])
    parsed = CheckAbacBulkResponse.from_dict(body)
    assert parsed.user_id == w.alice.id
    results = parsed.results
    assert [r.index for r in results] == [0, 1, 2, 3, 4]
    assert [r.allowed for r in results] == [True, False, False, False, False]
    assert [r.resource_id for r in results] == ["doc-1", "doc-9", None, "42", None]
    assert [r.error is not None for r in results] == [False, False, True, False, True]
    assert results[0].reason and w.eng_read.name in results[0].reason
    assert "no policy" in results[3].reason
    # The same answers as single checks.
    for item in results[:2]:
        single = sdk.abac.check(item.resource_type, item.action, item.resource_id)
        assert single["allowed"] is item.allowed

    hundred = sdk.abac.check_bulk([{"resource_type": w.rt, "action": "read",
                                    "resource_id": f"doc-{i}"} for i in range(100)])
    assert len(hundred["results"]) == 100
    assert [r["allowed"] for r in hundred["results"]] == [i != 9 for i in range(100)]
    # The SDK refuses 0 or 101 itself; the server refuses them the same way.
    for many in ([], [{"resource_type": w.rt, "action": "read"}] * 101):
        with pytest.raises(LumoAuthValidationError):
            sdk.abac.check_bulk(many)
    token = sdk._http.token_provider()
    for checks in ([], [{"resourceType": w.rt, "action": "read"}] * 101):
        resp = requests.post(f"{lumod.base}/orgs/{lumod.org}/api/v1/abac/check-bulk",
                             json={"checks": checks}, timeout=30,
                             headers={"Authorization": "Bearer " + token})
        assert resp.status_code == 400, resp.text
    with pytest.raises(LumoAuthValidationError):
        sdk.abac.check("", "read")
    with pytest.raises(LumoAuthValidationError):
        sdk.abac.check(w.rt, "")


# --- the runtime: attributes --------------------------------------------------------------------

def test_my_attributes_hold_the_builtins_and_custom_values(lumod, oauth, org, valued):
    w = valued
    sdk = user_sdk(lumod, oauth, w, w.carol)
    body = sdk.abac.get_my_attributes()
    assert body["user_id"] == w.carol.id
    attributes = body["attributes"]
    assert (attributes["id"], attributes["email"], attributes["name"]) == (
        w.carol.id, w.carol.email, "Carol")
    assert attributes[w.dept] == "engineering" and attributes[w.clearance] == 5
    assert attributes["orgId"] == org
    assert attributes["roles"] == [] and attributes["groups"] == []
    assert attributes["isActive"] is True and attributes["blocked"] is False
    # The other users' values are not carol's.
    assert user_sdk(lumod, oauth, w, w.dave).abac.get_my_attributes()["attributes"][
        w.dept] == "sales"
    manager = user_sdk(lumod, oauth, w, w.manager)
    mine = manager.abac.get_my_attributes()["attributes"]
    assert "abac.manage" in mine["permissions"]
    assert w.dept not in mine, "no value and no default: absent"


def test_my_attributes_parse_with_the_client_model(lumod, oauth, valued):
    w = valued
    sdk = user_sdk(lumod, oauth, w, w.carol)
    body = sdk.abac.get_my_attributes()
    parsed = GetMyAttributesResponse.from_dict(body)
    assert parsed.attributes.tenant_id is None or isinstance(parsed.attributes.tenant_id, int)
    generated = lumoauth_api_client.AuthorizationApi(sdk.api).get_my_attributes(sdk.org_id)
    assert isinstance(generated, GetMyAttributesResponse)
    assert generated.attributes.additional_properties[w.dept] == "engineering"


def test_resource_attributes_read_and_set(lumod, oauth, manager, valued):
    w = valued
    sdk = user_sdk(lumod, oauth, w, w.alice)
    body = sdk.abac.get_resource_attributes(w.rt, "doc-9")
    parsed = GetResourceAttributesResponse.from_dict(body)
    assert (parsed.resource_type, parsed.resource_id) == (w.rt, "doc-9")
    assert (parsed.attributes.id, parsed.attributes.type) == ("doc-9", w.rt)
    assert parsed.attributes.additional_properties[w.classification] == "secret"
    # A resource with no stored value shows the default.
    fresh = GetResourceAttributesResponse.from_dict(sdk.abac.get_resource_attributes(w.rt, "new"))
    assert fresh.attributes.additional_properties[w.classification] == "public"
    # The generated client's declared call, with the same token.
    generated = lumoauth_api_client.AuthorizationApi(sdk.api).get_resource_attributes(
        sdk.org_id, w.rt, "doc-9")
    assert isinstance(generated, GetResourceAttributesResponse)
    assert generated.to_dict() == parsed.to_dict()

    # Ids with a slash or a space travel percent-encoded; the value is found again.
    odd = "folder/a b"
    body = manager.abac.set_resource_attribute(w.rt, odd, w.classification, "secret")
    assert SetResourceAttributeResponse.from_dict(body).data.resource_id == odd
    back = GetResourceAttributesResponse.from_dict(sdk.abac.get_resource_attributes(w.rt, odd))
    assert back.resource_id == odd
    assert back.attributes.additional_properties[w.classification] == "secret"
    assert sdk.abac.is_allowed(w.rt, "read", odd) is False
    assert sdk.abac.is_allowed(w.rt, "read", "folder") is True
    # Overwriting keeps the value's id and moves updatedAt.
    first = SetResourceAttributeResponse.from_dict(
        manager.abac.set_resource_attribute(w.rt, "doc-5", w.classification, "secret")).data
    second = SetResourceAttributeResponse.from_dict(
        manager.abac.set_resource_attribute(w.rt, "doc-5", w.classification, "internal")).data
    assert second.id == first.id and second.value == "internal"
    assert second.created_at == first.created_at and second.updated_at >= first.updated_at
    assert sdk.abac.is_allowed(w.rt, "read", "doc-5") is True


def test_setting_values_is_type_checked_and_needs_a_defined_attribute(lumod, oauth, manager,
                                                                      valued):
    w = valued
    sdk = user_sdk(lumod, oauth, w, w.alice)
    for call, code in (
            (lambda: manager.abac.set_user_attribute(w.alice.id, w.clearance, "high"),
             "INVALID_ATTRIBUTE_VALUE"),
            (lambda: manager.abac.set_user_attribute(w.alice.id, w.dept, 7),
             "INVALID_ATTRIBUTE_VALUE"),
            (lambda: manager.abac.set_user_attribute(w.alice.id, w.dept, None),
             "INVALID_ATTRIBUTE_VALUE"),
            (lambda: manager.abac.set_user_attribute(w.alice.id, "no_such_attribute", "x"),
             "UNKNOWN_ATTRIBUTE"),
            (lambda: manager.abac.set_user_attribute(w.alice.id, w.classification, "secret"),
             "UNKNOWN_ATTRIBUTE"),
            (lambda: manager.abac.set_resource_attribute(w.rt, "doc-1", w.dept, "sales"),
             "UNKNOWN_ATTRIBUTE"),
            (lambda: manager.abac.set_resource_attribute(w.rt, "doc-1", w.network, "corp"),
             "UNKNOWN_ATTRIBUTE"),
            (lambda: manager.abac.set_resource_attribute(w.rt, "doc-1", w.classification,
                                                         ["secret"]),
             "INVALID_ATTRIBUTE_VALUE")):
        with pytest.raises(LumoAuthApiError) as info:
            call()
        assert type(info.value) is LumoAuthApiError
        assert (info.value.status_code, info.value.code) == (400, code)
    with pytest.raises(LumoAuthNotFoundError) as info:
        manager.abac.set_user_attribute(GHOST_USER, w.dept, "engineering")
    assert info.value.status_code == 404
    # Nothing changed.
    assert sdk.abac.get_my_attributes()["attributes"][w.dept] == "engineering"
    assert sdk.abac.get_my_attributes()["attributes"][w.clearance] == 1
    assert sdk.abac.get_resource_attributes(w.rt, "doc-1")["attributes"][
        w.classification] == "public"


def test_attribute_definitions_filter_by_type(lumod, oauth, valued):
    w = valued
    sdk = user_sdk(lumod, oauth, w, w.alice)
    everything = sdk.abac.get_attribute_definitions()
    slugs = {d["slug"] for d in everything}
    assert {w.dept, w.clearance, w.classification, w.network} <= slugs
    for kind, expected in (("user", {w.dept, w.clearance}), ("resource", {w.classification}),
                           ("environment", {w.network})):
        listed = sdk.abac.get_attribute_definitions(kind)
        assert {d["attributeType"] for d in listed} == {kind}
        mine = {d["slug"] for d in listed if d["slug"].endswith(w.tag)}
        assert mine == expected, kind
    generated = lumoauth_api_client.AuthorizationApi(sdk.api).list_attribute_definitions(
        sdk.org_id, type="resource", _request_timeout=30)
    assert isinstance(generated, ListAttributeDefinitionsResponse)
    classification = next(d for d in generated.data if d.slug == w.classification)
    assert (classification.default_value, classification.data_type) == ("public", "string")
    assert generated.pagination.total == len(generated.data)
    raw = requests.get(f"{lumod.base}/orgs/{lumod.org}/api/v1/abac/attribute-definitions",
                       params={"type": "planet"}, timeout=30,
                       headers={"Authorization": "Bearer " + sdk._http.token_provider()})
    assert raw.status_code == 400, raw.text
    ListAttributeDefinitionsResponse.from_dict(
        requests.get(f"{lumod.base}/orgs/{lumod.org}/api/v1/abac/attribute-definitions",
                     timeout=30,
                     headers={"Authorization": "Bearer " + sdk._http.token_provider()}).json())


# --- refusals ------------------------------------------------------------------------------------

def all_sdk_calls(sdk: LumoAuth, w: World, user_id: str):
    return [
        lambda: sdk.abac.check(w.rt, "read", "doc-1"),
        lambda: sdk.abac.is_allowed(w.rt, "read"),
        lambda: sdk.abac.check_bulk([{"resource_type": w.rt, "action": "read"}]),
        lambda: sdk.abac.get_my_attributes(),
        lambda: sdk.abac.get_resource_attributes(w.rt, "doc-9"),
        lambda: sdk.abac.get_attribute_definitions(),
        lambda: sdk.abac.get_attribute_definitions("user"),
        lambda: sdk.abac.set_user_attribute(user_id, w.dept, "hacked"),
        lambda: sdk.abac.set_resource_attribute(w.rt, "doc-9", w.classification, "public"),
    ]


def test_api_keys_are_refused_on_the_whole_runtime(lumod, oauth, api_client, org, valued):
    w = valued
    sdk = LumoAuth(api_key=lumod.api_key, base_url=lumod.base, org_id=lumod.org)
    for call in all_sdk_calls(sdk, w, w.alice.id):
        with pytest.raises(LumoAuthAuthenticationError) as info:
            call()
        assert (info.value.status_code, info.value.code) == (401, "invalid_token")
        assert info.value.body["status"] == 401
    # The generated client with the key gets the same.
    api = lumoauth_api_client.AuthorizationApi(api_client)
    for call in (lambda: api.get_my_attributes(org),
                 lambda: api.get_resource_attributes(org, w.rt, "doc-9"),
                 lambda: api.list_attribute_definitions(org)):
        with pytest.raises(UnauthorizedException) as info:
            call()
        assert error_body(info.value)["error"] == "invalid_token"
    # Nothing was set.
    alice = user_sdk(lumod, oauth, w, w.alice)
    assert alice.abac.get_my_attributes()["attributes"][w.dept] == "engineering"
    assert alice.abac.get_resource_attributes(w.rt, "doc-9")["attributes"][
        w.classification] == "secret"


def test_scopes_and_the_manage_permission(lumod, oauth, valued):
    w = valued
    # No ABAC scope at all: every runtime call is forbidden, naming abac:read or abac:write.
    bare = user_sdk(lumod, oauth, w, w.manager, "openid")
    for i, call in enumerate(all_sdk_calls(bare, w, w.alice.id)):
        with pytest.raises(LumoAuthPermissionDeniedError) as info:
            call()
        assert (info.value.status_code, info.value.code) == (403, "forbidden")
        expected = ["abac:write"] if i >= 7 else ["abac:read"]
        assert info.value.required_scopes == expected, i
    # abac:read reads but cannot write, even holding abac.manage.
    reader = user_sdk(lumod, oauth, w, w.manager, "openid abac:read")
    assert reader.abac.is_allowed(w.rt, "read") is False
    with pytest.raises(LumoAuthPermissionDeniedError) as info:
        reader.abac.set_user_attribute(w.alice.id, w.dept, "hacked")
    assert info.value.required_scopes == ["abac:write"]
    # abac:write without abac.manage: the permission is missing, not a scope.
    writer = user_sdk(lumod, oauth, w, w.alice, "openid abac:read abac:write")
    for call in (lambda: writer.abac.set_user_attribute(w.alice.id, w.clearance, 10),
                 lambda: writer.abac.set_resource_attribute(w.rt, "doc-9", w.classification,
                                                            "public")):
        with pytest.raises(LumoAuthPermissionDeniedError) as info:
            call()
        assert (info.value.status_code, info.value.code) == (403, "INSUFFICIENT_PERMISSIONS")
        assert "abac.manage" in info.value.message
    assert writer.abac.get_my_attributes()["attributes"][w.clearance] == 1
    assert writer.abac.is_allowed(w.rt, "read", "doc-9") is False
    # Unknown tokens are 401.
    bogus = token_sdk(lumod, "not.a.jwt")
    with pytest.raises(LumoAuthAuthenticationError) as info:
        bogus.abac.check(w.rt, "read")
    assert (info.value.status_code, info.value.code) == (401, "invalid_token")


def test_another_orgs_user_is_refused_and_sees_nothing(lumod, oauth, new_org, valued):
    from lumo_helpers import OAuthHttp
    w = valued
    other = new_org()
    stranger = create_password_user(other.client, other.slug, name="Stranger")
    client = create_oauth_client(other.client, other.slug, allowedScopes=ABAC_SCOPES)
    theirs = OAuthHttp(lumod.base, other.slug)
    token = theirs.code_tokens(theirs.login(stranger.email), client,
                               scope="openid abac:read abac:write")["access_token"]
    # Their token on this org's runtime.
    intruder = token_sdk(lumod, token, org=lumod.org)
    for call in all_sdk_calls(intruder, w, w.alice.id):
        with pytest.raises((LumoAuthAuthenticationError, LumoAuthPermissionDeniedError)) as info:
            call()
        assert info.value.status_code in (401, 403)
        assert w.tag not in str(info.value.body)
    # In their own org none of this org's attributes or values exist.
    home = token_sdk(lumod, token, org=other.slug)
    assert home.abac.get_attribute_definitions() == []
    attributes = home.abac.get_resource_attributes(w.rt, "doc-9")["attributes"]
    assert attributes == {"id": "doc-9", "type": w.rt}
    assert home.abac.is_allowed(w.rt, "read", "doc-1") is False
    mine = home.abac.get_my_attributes()
    assert mine["attributes"]["orgId"] == other.slug and w.dept not in mine["attributes"]
    with pytest.raises(LumoAuthPermissionDeniedError):
        home.abac.set_resource_attribute(w.rt, "doc-9", w.classification, "public")


def test_validation_rules_that_are_not_an_object_are_refused_or_parse(new_org):
    """`validationRules` is an object in the contract (AbacAttributeDefinition); a server that
    stores a list or a string would hand every client a definition its model refuses."""
    other = new_org()
    org, client = other.slug, other.client
    for i, rules in enumerate((["min", 0], "min=0", 5)):
        try:
            resp = send(client, "POST", "/abac/attributes", org,
                        body={"name": f"Odd {i}", "slug": f"odd_{i}", "attributeType": "user",
                              "validationRules": rules})
        except (BadRequestException, lumoauth_api_client.exceptions.ApiException) as exc:
            assert exc.status in (400, 422), exc.status
            continue
        assert resp.status_code == 201
        AbacAttributesCreateResponse.from_dict(json.loads(resp.raw_data))
    AbacAttributesListResponse.from_dict(json.loads(send(
        client, "GET", "/abac/attributes", org).raw_data))
