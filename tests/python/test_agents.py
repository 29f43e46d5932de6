"""AI agents through the official clients: the admin family (`~/admin/agents`), the agent
runtime (`agents/me`, `agents/register`, the Ask API), agent tokens and keys, userinfo for
agents, daily token budgets, and agent subjects in RBAC checks.

The hand-written SDK's `LumoAuthAgent` is driven exactly as its docstrings show (constructed
with base url, org, client id and secret; `authenticate`, `get_identity`, `ask`,
`get_agent_info`, `has_capability`, `get_budget_status`, `is_budget_exhausted`), and its
`LumoAuth` client for what the agent class does not expose (the raw client_credentials call,
`agents.register`, `permissions.check` about agents). Every response of the agents_admin,
agents and ask_api families is also parsed with the generated client (`AdminAgentsApi`,
`AgentsApi`) and its models; `agents/register` declares no body in the client, so it goes
through `lumo_helpers.send` (the client's own serialization and models).
"""

import dataclasses
import json
import secrets
import time
import types

import pytest
import requests

import lumoauth_api_client
from lumoauth import LumoAuth, LumoAuthAgent
from lumoauth.errors import (
    LumoAuthApiError,
    LumoAuthAuthenticationError,
    LumoAuthNotFoundError,
    LumoAuthPermissionDeniedError,
    LumoAuthRateLimitError,
)
from lumoauth_api_client import AdminAgentsApi, AgentsApi, OIDCApi
from lumoauth_api_client.exceptions import (
    ApiException,
    BadRequestException,
    ConflictException,
    ForbiddenException,
    NotFoundException,
    UnauthorizedException,
    UnprocessableEntityException,
)
from lumoauth_api_client.models import (
    AdminAgentsActivateResponse,
    AdminAgentsAgentsDisableResponse,
    AdminAgentsAgentsEnableResponse,
    AdminAgentsAgentsRotateKeyResponse,
    AdminAgentsCreateRequest,
    AdminAgentsCreateResponse,
    AdminAgentsDeactivateResponse,
    AdminAgentsDeleteResponse,
    AdminAgentsGenerateTokenRequest,
    AdminAgentsGenerateTokenResponse,
    AdminAgentsGetResponse,
    AdminAgentsGetScopesResponse,
    AdminAgentsListResponse,
    AdminAgentsRevokeKeyResponse,
    AdminAgentsRotateCredentialsResponse,
    AdminAgentsSetScopesRequest,
    AdminAgentsSetScopesResponse,
    AdminAuditLogsGetResponse,
    AskRequest,
    AskResponse,
    CheckPermissionResponse,
    CheckPermissionsBulkResponse,
    GetCurrentAgentResponse,
    PutAdminAgentsUpdateRequest,
    PutAdminAgentsUpdateResponse,
    RegisterAgentResponse,
    UserinfoResponse,
)

from org_fixtures import key_client, own_org_fixtures
from lumo_helpers import (
    bearer_client,
    create_agent_client,
    create_oauth_client,
    create_password_user,
    create_permission,
    error_body,
    issuer,
    jwt_parts,
    OAuthHttp,
    oauth_error,
    send,
    unique,
)

CC = "client_credentials"
MAX_TTL = 2_592_000


# --- helpers ----------------------------------------------------------------------------------

def org_url(lumod, path: str, org: str = None) -> str:
    """`~` in `path` stands for /orgs/{org}/api/v1."""
    return lumod.base + path.replace("~", f"/orgs/{org or lumod.org}/api/v1", 1)


def raw(lumod, method, path, body=None, *, key=None, token=None, org=None, anonymous=False,
        headers=None):
    """Plain HTTP: the org API key unless `key` (X-API-Key) or `token` (Bearer) is given."""
    hdrs = {}
    if token:
        hdrs["Authorization"] = "Bearer " + token
    elif not anonymous:
        hdrs["X-API-Key"] = key or lumod.api_key
    hdrs.update(headers or {})
    return requests.request(method, org_url(lumod, path, org), json=body, headers=hdrs,
                            timeout=30)


def create_agent(api_client, org, **fields) -> dict:
    """POST ~/admin/agents (JSON body as given; `name` defaulted); returns `data` (201)."""
    body = {"name": fields.pop("name", None) or unique("agent")}
    body.update(fields)
    resp = send(api_client, "POST", "/admin/agents", org, body=body,
                types={"201": "AdminAgentsCreateResponse"})
    assert resp.status_code == 201
    assert isinstance(resp.data, AdminAgentsCreateResponse), resp.raw_data
    assert resp.data.message
    data = resp.data.data
    assert isinstance(data, dict)
    return data


def token_form(agent: dict, scope=None, secret=None) -> dict:
    """client_credentials with client_secret_post (what the SDK sends)."""
    form = {"grant_type": CC, "client_id": agent["clientId"],
            "client_secret": secret or agent["clientSecret"]}
    if scope is not None:
        form["scope"] = scope
    return form


def agent_token(oauth, agent: dict, scope=None, secret=None) -> dict:
    resp = oauth.token(token_form(agent, scope, secret))
    assert resp.status_code == 200, resp.text
    return resp.json()


def me_status(lumod, *, token=None, key=None, org=None) -> int:
    return raw(lumod, "GET", "~/agents/me", token=token, key=key, org=org).status_code


def admin_get(api_client, org, agent_id) -> dict:
    got = AdminAgentsApi(api_client).admin_agents_get(org, str(agent_id))
    assert isinstance(got, AdminAgentsGetResponse)
    return got.data


def sdk_agent(lumod, agent: dict, secret=None, org=None) -> LumoAuthAgent:
    return LumoAuthAgent(base_url=lumod.base, org_id=org or lumod.org,
                         client_id=agent["clientId"],
                         client_secret=secret or agent["clientSecret"])


def token_sdk(lumod, token: str) -> LumoAuth:
    return LumoAuth(base_url=lumod.base, org_id=lumod.org, token_provider=lambda: token)


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


def shows_key(prefix, key: str) -> bool:
    """True when the display form `prefix` (e.g. `agk_…2uy3k8`) is that of `key`."""
    assert isinstance(prefix, str) and prefix.startswith("agk_") and key not in prefix
    head, _, tail = prefix.partition("…")
    return key.startswith(head) and key.endswith(tail) and len(tail) >= 4


def assert_agent_shape(data: dict, *, name=None, capabilities=None, status="active"):
    """The admin view of an agent (camelCase, strict types)."""
    assert isinstance(data["id"], int) and not isinstance(data["id"], bool), data
    assert isinstance(data["agentId"], str) and data["agentId"].startswith("agt_"), data
    assert isinstance(data["clientId"], str) and data["clientId"], data
    if name is not None:
        assert data["name"] == name
    if capabilities is not None:
        assert data["capabilities"] == capabilities
    assert data["status"] == status
    assert data["isActive"] is (status != "inactive")
    assert isinstance(data["enabled"], bool)
    assert isinstance(data["hasApiKey"], bool)
    assert isinstance(data["budgetPolicy"], dict)
    assert set(data["budgetPolicy"]) >= {"maxTokensPerDay", "tokensUsedToday"}
    assert isinstance(data["createdAt"], str) and data["createdAt"]


# --- fixtures -----------------------------------------------------------------------------------
# This module works in an org of its own: the dozens of agents and the agent.* audit actions it
# makes stay out of the bootstrap org that other modules count in.
lumod, api_client, org, oauth, new_org = own_org_fixtures("agents", "Agents tests")


@pytest.fixture(scope="module")
def audit_api(api_client):
    return lumoauth_api_client.AdminAuditLogsApi(api_client)


@pytest.fixture(scope="module")
def agents_api(api_client):
    return AdminAgentsApi(api_client)


@pytest.fixture(scope="module")
def people(api_client, org):
    """A sign-in client allowed the agent scopes; `writer` may hold admin:agents:write,
    `reader` holds one permission and nothing admin."""
    ensure_permission(api_client, org, "admin:agents:write")
    report = create_permission(api_client, org, slug=f"{unique('rep')}.read", name="Report")
    client = create_oauth_client(api_client, org, allowedScopes=[
        "openid", "profile", "email", "authz:read", "admin:agents:write"])
    writer = create_password_user(api_client, org, name="Writer")
    grant_permission(api_client, org, writer, "admin:agents:write")
    reader = create_password_user(api_client, org, name="Reader")
    grant_permission(api_client, org, reader, report.slug)

    return types.SimpleNamespace(client=client, writer=writer, reader=reader,
                                 report=report.slug)


def user_token(oauth, people, user, scope: str) -> dict:
    return oauth.code_tokens(oauth.login(user.email), people.client, scope=scope)


# === 1. the SDK's LumoAuthAgent, unchanged ======================================================

def test_sdk_agent_token_lifecycle_identity_and_info(lumod, api_client, org):
    caps = ["document.read", "calendar:*"]
    agent = create_agent(api_client, org, description="Reads things", capabilities=caps,
                         maxTokensPerDay=10)
    sdk = sdk_agent(lumod, agent)
    assert sdk.access_token is None

    # The first call fetches a client_credentials token; the next ones reuse it.
    identity = sdk.get_identity()
    first = sdk.access_token
    assert isinstance(first, str) and first.count(".") == 2
    assert sdk.token_scopes == caps
    assert sdk.ensure_authenticated() is True
    assert sdk.access_token == first, "a live token is not fetched again"

    parsed = GetCurrentAgentResponse.from_dict(identity)
    assert parsed.identity.type == "agent"
    assert parsed.identity.agent_id == agent["agentId"]
    assert parsed.identity.tenant == org
    assert parsed.identity.status == "active"
    assert isinstance(parsed.identity.id, str) and parsed.identity.id
    assert parsed.capabilities == caps
    assert parsed.workspace.slug == org
    assert parsed.workspace.api_base == issuer(lumod.base, org)

    info = sdk.get_agent_info()
    assert sdk.agent_info == info
    parsed_info = UserinfoResponse.from_dict(info)
    assert parsed_info.identity_type == "agent"
    assert parsed_info.agent_id == agent["agentId"]
    assert parsed_info.client_id == agent["clientId"]
    assert parsed_info.name == agent["name"]
    assert parsed_info.tenant == org
    assert parsed_info.capabilities == caps
    assert parsed_info.workload_identity is None
    assert isinstance(parsed_info.sub, str) and parsed_info.sub
    assert info["status"] == "active"
    assert sdk.get_budget_status() == {"max_tokens_per_day": 10, "tokens_used_today": 1}
    assert sdk.is_budget_exhausted() is False

    # has_capability reads the userinfo list (the SDK compares names exactly).
    assert sdk.has_capability("document.read") is True
    assert sdk.has_capability("calendar:*") is True
    assert sdk.has_capability("document.write") is False

    # Asking for a subset of the capabilities: a new token carrying just that, counted.
    assert sdk.authenticate(["document.read"]) is True
    assert sdk.access_token != first
    assert sdk.token_scopes == ["document.read"]
    assert jwt_parts(sdk.access_token)[1]["scope"] == "document.read"
    # A wildcard capability covers what it names.
    assert sdk.authenticate(["calendar:write"]) is True
    assert sdk.token_scopes == ["calendar:write"]
    assert sdk.get_agent_info()["budget_policy"] == {"max_tokens_per_day": 10,
                                                      "tokens_used_today": 3}
    # The identity still lists the agent's capabilities, not the token's subset.
    assert sdk.get_identity()["capabilities"] == caps

    # A capability the agent does not hold: the SDK reports failure, the raw call says why.
    assert sdk.authenticate(["document.write"]) is False
    with pytest.raises(LumoAuthApiError) as info:
        LumoAuth(base_url=lumod.base, org_id=org).auth.client_credentials(
            agent["clientId"], agent["clientSecret"], scopes=["document.write"])
    assert (info.value.status_code, info.value.code) == (400, "invalid_scope")
    # A refused token is not counted.
    assert raw(lumod, "GET", f"~/admin/agents/{agent['agentId']}").json()[
        "data"]["budgetPolicy"] == {"maxTokensPerDay": 10, "tokensUsedToday": 3}


def test_sdk_agent_with_wrong_secret_cannot_authenticate(lumod, api_client, org):
    agent = create_agent(api_client, org, capabilities=["document.read"])
    sdk = sdk_agent(lumod, agent, secret="lms_" + secrets.token_urlsafe(32))
    assert sdk.authenticate() is False
    assert sdk.access_token is None
    with pytest.raises(LumoAuthAuthenticationError) as info:
        LumoAuth(base_url=lumod.base, org_id=org).auth.client_credentials(
            agent["clientId"], "lms_wrong")
    assert (info.value.status_code, info.value.code) == (401, "invalid_client")


def test_sdk_agent_fetches_a_new_token_before_expiry(lumod, api_client, org):
    agent = create_agent(api_client, org, capabilities=["document.read"])
    # The agent's client issues 61-second tokens: the SDK's 60-second buffer leaves one.
    resp = raw(lumod, "PATCH", f"~/admin/clients/{agent['clientId']}",
               {"accessTokenLifetime": 61})
    assert resp.status_code == 200, resp.text
    sdk = sdk_agent(lumod, agent)
    assert sdk.authenticate() is True
    first = sdk.access_token
    claims = jwt_parts(first)[1]
    assert claims["exp"] - claims["iat"] == 61
    assert sdk.get_identity()["identity"]["agent_id"] == agent["agentId"]
    assert sdk.access_token == first
    time.sleep(1.5)
    assert sdk.get_identity()["identity"]["agent_id"] == agent["agentId"]
    assert sdk.access_token != first, "the SDK fetched a fresh token"
    assert sdk.get_budget_status()["tokens_used_today"] == 2


def test_sdk_ask_allowed_and_denied_and_audited(lumod, api_client, org, audit_api):
    agent = create_agent(api_client, org, capabilities=["document.*", "calendar:read"])
    sdk = sdk_agent(lumod, agent)
    ask_path = f"/orgs/{org}/api/v1/agents/ask"

    allowed = sdk.ask("document.read", {"id": "doc_99", "ip": "6.6.6.6",
                                        "requestPath": "/forged"})
    parsed = AskResponse.from_dict(allowed)
    assert parsed.allowed is True
    assert parsed.action == "document.read"
    assert isinstance(parsed.reason, str) and parsed.reason
    assert allowed["decided_by"] == "capability"
    assert isinstance(parsed.audit_id, str) and parsed.audit_id
    context = parsed.context
    assert context["id"] == "doc_99"
    assert context["ip"] == "127.0.0.1"
    assert context["requestMethod"] == "POST"
    assert context["requestPath"] == ask_path
    assert context["userAgent"].startswith("python-requests/")
    assert context["pep"] == {"ip": "6.6.6.6", "requestPath": "/forged"}

    denied = sdk.ask("calendar:write")
    assert (denied["allowed"], denied["action"], denied["decided_by"]) == (
        False, "calendar:write", "capability")
    assert denied["reason"] and denied["audit_id"] != parsed.audit_id
    assert set(denied["context"]) == {"ip", "userAgent", "requestMethod", "requestPath"}
    # A wildcard covers only its own prefix.
    assert sdk.is_allowed("documents.read") is False
    assert sdk.is_allowed("document.share.external") is True
    assert sdk.is_allowed("calendar:read") is True

    for decision, action in ((allowed, "agent.ask.allowed"), (denied, "agent.ask.denied")):
        entry = audit_api.admin_audit_logs_get(org, decision["audit_id"])
        assert isinstance(entry, AdminAuditLogsGetResponse)
        assert entry.data.id == int(decision["audit_id"])
        assert entry.data.action == action
        assert entry.data.actor_type == "agent"
    entry = audit_api.admin_audit_logs_get(org, allowed["audit_id"]).data
    assert entry.context["id"] == "doc_99"
    assert entry.context["pep"] == {"ip": "6.6.6.6", "requestPath": "/forged"}


def test_sdk_budget_runs_out_with_rate_limit_error(lumod, api_client, org, agents_api):
    agent = create_agent(api_client, org, capabilities=["document.read"],
                         budget_policy={"max_tokens_per_day": 2})
    assert agent["budgetPolicy"] == {"maxTokensPerDay": 2, "tokensUsedToday": 0}
    first = sdk_agent(lumod, agent)
    assert first.authenticate() is True
    assert first.get_budget_status() == {"max_tokens_per_day": 2, "tokens_used_today": 1}
    assert first.is_budget_exhausted() is False

    second = sdk_agent(lumod, agent)
    assert second.authenticate() is True
    second.get_agent_info()
    assert second.get_budget_status() == {"max_tokens_per_day": 2, "tokens_used_today": 2}
    assert second.is_budget_exhausted() is True

    # The third token of the day is refused with 429 budget_exceeded.
    plain = LumoAuth(base_url=lumod.base, org_id=org)
    with pytest.raises(LumoAuthRateLimitError) as info:
        plain.auth.client_credentials(agent["clientId"], agent["clientSecret"])
    assert info.value.status_code == 429
    assert info.value.code == "budget_exceeded"
    assert isinstance(info.value.body, dict) and info.value.body["error"] == "budget_exceeded"
    # LumoAuthAgent reports the failed authentication as False.
    third = sdk_agent(lumod, agent)
    assert third.authenticate() is False and third.access_token is None
    # An admin-minted token counts against the same budget.
    with pytest.raises(ApiException) as minted:
        agents_api.admin_agents_generate_token(org, agent["agentId"],
                                               AdminAgentsGenerateTokenRequest())
    assert minted.value.status == 429
    assert json.loads(minted.value.body)["error"] == "budget_exceeded"

    # Tokens already issued keep working; nothing more was counted.
    assert first.get_identity()["identity"]["agent_id"] == agent["agentId"]
    assert first.get_agent_info()["budget_policy"]["tokens_used_today"] == 2

    # An empty PATCH changes nothing; raising the budget lets the agent authenticate again.
    patched = agents_api.patch_admin_agents_update(
        org, agent["agentId"], PutAdminAgentsUpdateRequest.from_dict({}))
    assert patched.data["budgetPolicy"] == {"maxTokensPerDay": 2, "tokensUsedToday": 2}
    send(api_client, "PATCH", "/admin/agents/{agentId}", org,
         path_params={"agentId": agent["agentId"]}, body={"maxTokensPerDay": 3},
         types={"200": "PutAdminAgentsUpdateResponse"})
    assert third.authenticate() is True
    assert third.get_budget_status() == {"max_tokens_per_day": 3, "tokens_used_today": 3}
    # Unlimited again (null).
    send(api_client, "PATCH", "/admin/agents/{agentId}", org,
         path_params={"agentId": agent["agentId"]}, body={"maxTokensPerDay": None},
         types={"200": "PutAdminAgentsUpdateResponse"})
    assert plain.auth.client_credentials(agent["clientId"], agent["clientSecret"])[
        "access_token"]
    info = third.get_agent_info()["budget_policy"]
    assert info == {"max_tokens_per_day": None, "tokens_used_today": 4}


def test_sdk_agent_cannot_register_itself_without_admin_agents_write(lumod, api_client, org):
    agent = create_agent(api_client, org, capabilities=["document.read"])
    sdk = sdk_agent(lumod, agent)
    with pytest.raises(LumoAuthPermissionDeniedError) as info:
        sdk.register("Renamed", capabilities=["*"])
    assert info.value.status_code == 403
    assert "admin:agents:write" in info.value.required_scopes
    assert admin_get(api_client, org, agent["agentId"])["name"] == agent["name"]


def test_sdk_register_with_api_key_and_user_token(lumod, api_client, org, oauth, people):
    bound = create_agent_client(api_client, org)
    by_key = LumoAuth(api_key=lumod.api_key, base_url=lumod.base, org_id=org)
    first = by_key.agents.register("Bound agent", client_id=bound.client_id,
                                   description="registered onto a client",
                                   capabilities=["report.read"],
                                   jwks_uri="https://agent.example.com/jwks.json")
    parsed = RegisterAgentResponse.from_dict(first)
    assert parsed.success is True
    assert parsed.agent_id.startswith("agt_")
    assert parsed.name == "Bound agent"
    assert parsed.workload_identity is None and "workload_identity" in first

    stored = admin_get(api_client, org, parsed.agent_id)
    assert stored["clientId"] == bound.client_id
    assert stored["capabilities"] == ["report.read"]
    assert stored["description"] == "registered onto a client"
    assert stored["jwksUri"] == "https://agent.example.com/jwks.json"
    assert stored["hasApiKey"] is False, "a registered agent has no agent key"

    # The client's client_credentials tokens are now the agent's.
    token = oauth.client_credentials(bound)
    assert token["scope"] == "report.read"
    me = GetCurrentAgentResponse.from_dict(
        token_sdk(lumod, token["access_token"]).agents.me())
    assert (me.identity.type, me.identity.agent_id) == ("agent", parsed.agent_id)

    # A user token with admin:agents:write re-registers: the same agent, updated.
    tokens = user_token(oauth, people, people.writer, "openid admin:agents:write")
    assert "admin:agents:write" in tokens["scope"].split()
    by_user = token_sdk(lumod, tokens["access_token"])
    renamed = unique("Bound agent v2")
    again = RegisterAgentResponse.from_dict(by_user.agents.register(
        renamed, client_id=bound.client_id, capabilities=["report.read", "report.write"]))
    assert (again.success, again.agent_id, again.name) == (True, parsed.agent_id, renamed)
    stored = admin_get(api_client, org, parsed.agent_id)
    assert stored["name"] == renamed
    assert stored["capabilities"] == ["report.read", "report.write"]
    assert stored["jwksUri"] == "https://agent.example.com/jwks.json", "omitted: kept"
    # One agent, not two.
    listed = send(api_client, "GET", "/admin/agents", org, query={"search": renamed},
                  types={"200": "AdminAgentsListResponse"}).data
    assert [a["agentId"] for a in listed.data] == [parsed.agent_id]
    assert oauth.client_credentials(bound)["scope"] == "report.read report.write"

    with pytest.raises(LumoAuthNotFoundError) as info:
        by_key.agents.register("Ghost", client_id=unique("lmc_missing"))
    assert info.value.status_code == 404


def test_sdk_permission_checks_about_agents(lumod, api_client, org, oauth, agents_api):
    agent = create_agent(api_client, org, capabilities=["document.*", "calendar:read"])
    other = create_agent(api_client, org, capabilities=["calendar:read"])
    token = agent_token(oauth, agent)["access_token"]
    own = token_sdk(lumod, token)

    # The agent asks about itself, with or without naming itself.
    assert own.permissions.check("document.read") is True
    assert own.permissions.check("calendar:write") is False
    detailed = CheckPermissionResponse.from_dict(
        own.permissions.check_detailed("calendar:read", agent_id=agent["agentId"]))
    assert (detailed.allowed, detailed.subject_type, detailed.subject_id) == (
        True, "agent", agent["agentId"])
    assert detailed.user_id is None
    bulk = CheckPermissionsBulkResponse.from_dict(
        own.permissions.check_bulk(["document.edit", "calendar:read", "calendar:write"]))
    assert bulk.results == {"document.edit": True, "calendar:read": True,
                            "calendar:write": False}
    assert (bulk.subject_type, bulk.subject_id) == ("agent", agent["agentId"])
    assert own.permissions.check_all(["document.x", "calendar:read"]) is True
    assert own.permissions.check_any(["mail.send", "calendar:write"]) is False

    # About another agent: needs authz:check.
    with pytest.raises(LumoAuthPermissionDeniedError) as info:
        own.permissions.check("calendar:read", agent_id=other["agentId"])
    assert (info.value.status_code, info.value.code) == (403, "INSUFFICIENT_PERMISSIONS")

    # The org API key asks about any agent; a disabled agent holds nothing.
    key = LumoAuth(api_key=lumod.api_key, base_url=lumod.base, org_id=org)
    assert key.permissions.check("calendar:read", agent_id=other["agentId"]) is True
    assert key.permissions.check("document.read", agent_id=other["agentId"]) is False
    agents_api.admin_agents_agents_disable(org, other["agentId"])
    assert key.permissions.check("calendar:read", agent_id=other["agentId"]) is False
    agents_api.admin_agents_agents_enable(org, other["agentId"])
    assert key.permissions.check("calendar:read", agent_id=other["agentId"]) is True
    with pytest.raises(LumoAuthNotFoundError) as info:
        key.permissions.check("calendar:read", agent_id="agt_" + "0" * 26)
    assert info.value.code == "SUBJECT_NOT_FOUND"


# === 2. the generated client parses every response ============================================

def test_generated_admin_agents_api_parses_every_response(lumod, api_client, org, oauth):
    api = AdminAgentsApi(api_client)
    name = unique("gen")
    created = api.admin_agents_create_with_http_info(org, AdminAgentsCreateRequest(
        name=name, description="generated", capabilities=["document.read", "mail:*"]))
    assert created.status_code == 201
    assert isinstance(created.data, AdminAgentsCreateResponse) and created.data.message
    data = created.data.data
    assert_agent_shape(data, name=name, capabilities=["document.read", "mail:*"])
    assert data["description"] == "generated"
    assert data["clientSecret"] and data["apiKey"].startswith("agk_")
    assert data["hasApiKey"] is True
    aid, num = data["agentId"], data["id"]

    listed = api.admin_agents_list(org)
    assert isinstance(listed, AdminAgentsListResponse)
    assert listed.resource_type == "agent"
    assert listed.meta == listed.pagination
    assert aid in [a["agentId"] for a in listed.data]

    for ident in (aid, str(num)):
        got = api.admin_agents_get(org, ident)
        assert isinstance(got, AdminAgentsGetResponse)
        assert got.data["agentId"] == aid and got.data["id"] == num

    patched = api.patch_admin_agents_update(org, aid, PutAdminAgentsUpdateRequest(
        description="patched"))
    assert isinstance(patched, PutAdminAgentsUpdateResponse) and patched.message
    assert (patched.data["name"], patched.data["description"]) == (name, "patched")
    put = api.put_admin_agents_update(org, aid, PutAdminAgentsUpdateRequest(
        name=name + "-put", capabilities=["document.read"]))
    assert isinstance(put, PutAdminAgentsUpdateResponse)
    assert (put.data["name"], put.data["capabilities"]) == (name + "-put", ["document.read"])

    scopes = api.admin_agents_get_scopes(org, aid)
    assert isinstance(scopes, AdminAgentsGetScopesResponse)
    assert scopes.data == ["document.read"]
    assert scopes.pagination["total"] == 1
    set_scopes = api.admin_agents_set_scopes(org, aid, AdminAgentsSetScopesRequest(
        scopes=["document.read", "document.write"]))
    assert isinstance(set_scopes, AdminAgentsSetScopesResponse) and set_scopes.message
    assert set_scopes.data == ["document.read", "document.write"]

    for call, model, status in (
            (api.admin_agents_deactivate, AdminAgentsDeactivateResponse, "inactive"),
            (api.admin_agents_activate, AdminAgentsActivateResponse, "active")):
        answer = call(org, aid)
        assert isinstance(answer, model) and answer.message
        assert answer.data["status"] == status
    for call, model, status in (
            (api.admin_agents_agents_disable, AdminAgentsAgentsDisableResponse, "disabled"),
            (api.admin_agents_agents_enable, AdminAgentsAgentsEnableResponse, "active")):
        answer = call(org, aid)
        assert isinstance(answer, model) and answer.message
        assert answer.agent["status"] == status

    rotated = api.admin_agents_agents_rotate_key(org, aid)
    assert isinstance(rotated, AdminAgentsAgentsRotateKeyResponse) and rotated.message
    assert rotated.api_key.startswith("agk_") and rotated.api_key != data["apiKey"]
    revoked = api.admin_agents_revoke_key(org, aid)
    assert isinstance(revoked, AdminAgentsRevokeKeyResponse) and revoked.message
    creds = api.admin_agents_rotate_credentials(org, aid)
    assert isinstance(creds, AdminAgentsRotateCredentialsResponse) and creds.message
    assert creds.data["clientId"] == data["clientId"]
    assert creds.data["clientSecret"] and creds.data["clientSecret"] != data["clientSecret"]

    minted = api.admin_agents_generate_token(org, aid, AdminAgentsGenerateTokenRequest(
        expires_in=120, scopes=["document.write"]))
    assert isinstance(minted, AdminAgentsGenerateTokenResponse)
    assert (minted.data.token_type, minted.data.expires_in, minted.data.scopes) == (
        "Bearer", 120, ["document.write"])
    claims = jwt_parts(minted.data.access_token)[1]
    assert claims["exp"] - claims["iat"] == 120

    # The runtime family with the minted token.
    runtime = AgentsApi(bearer_client(lumod.base, minted.data.access_token))
    me = runtime.get_current_agent(org)
    assert isinstance(me, GetCurrentAgentResponse)
    assert (me.identity.type, me.identity.agent_id, me.identity.status) == (
        "agent", aid, "active")
    assert me.capabilities == ["document.read", "document.write"]
    assert (me.workspace.slug, me.workspace.api_base) == (org, issuer(lumod.base, org))
    asked = runtime.ask(org, AskRequest(action="document.write", context={"n": 1}))
    assert isinstance(asked, AskResponse)
    assert (asked.allowed, asked.action, asked.context["n"]) == (True, "document.write", 1)
    assert isinstance(asked.audit_id, str)
    refused = runtime.ask(org, AskRequest(action="mail:send"))
    assert refused.allowed is False and refused.reason
    info = OIDCApi(bearer_client(lumod.base, minted.data.access_token)).userinfo(org)
    assert isinstance(info, UserinfoResponse)
    assert (info.identity_type, info.agent_id, info.capabilities) == (
        "agent", aid, ["document.read", "document.write"])

    registered = send(api_client, "POST", "/agents/register", org,
                      body={"client_id": data["clientId"], "name": name + "-reg"},
                      types={"200": "RegisterAgentResponse"})
    assert registered.status_code == 200
    assert isinstance(registered.data, RegisterAgentResponse)
    assert (registered.data.success, registered.data.agent_id, registered.data.name) == (
        True, aid, name + "-reg")

    deleted = api.admin_agents_delete(org, aid)
    assert isinstance(deleted, AdminAgentsDeleteResponse) and deleted.message
    with pytest.raises(NotFoundException):
        api.admin_agents_get(org, aid)


def test_generated_agents_api_with_an_agent_key(lumod, api_client, org):
    agent = create_agent(api_client, org, capabilities=["calendar:read"])
    for client in (key_client(lumod.base, agent["apiKey"]),
                   bearer_client(lumod.base, agent["apiKey"])):
        runtime = AgentsApi(client)
        me = runtime.get_current_agent(org)
        assert (me.identity.type, me.identity.agent_id) == ("agent", agent["agentId"])
        assert me.capabilities == ["calendar:read"]
        assert runtime.ask(org, AskRequest(action="calendar:read")).allowed is True
        assert runtime.ask(org, AskRequest(action="calendar:write")).allowed is False


def test_agents_me_and_ask_with_user_tokens(lumod, api_client, org, oauth, people):
    plain = user_token(oauth, people, people.reader, "openid")["access_token"]
    api = AgentsApi(bearer_client(lumod.base, plain))
    me = api.get_current_agent(org)
    assert isinstance(me, GetCurrentAgentResponse)
    assert (me.identity.type, me.identity.id, me.identity.tenant) == (
        "user", people.reader.id, org)
    assert me.capabilities == []
    assert me.workspace.slug == org

    reading = user_token(oauth, people, people.reader, "openid authz:read")["access_token"]
    me = AgentsApi(bearer_client(lumod.base, reading)).get_current_agent(org)
    assert me.capabilities == [people.report]

    asked = api.ask(org, AskRequest(action=people.report))
    assert (asked.allowed, asked.action) == (True, people.report)
    body = raw(lumod, "POST", "~/agents/ask", {"action": "nothing.held"}, token=plain).json()
    assert (body["allowed"], body["decided_by"]) == (False, "rbac")
    allowed = raw(lumod, "POST", "~/agents/ask", {"action": people.report}, token=plain).json()
    assert allowed["decided_by"] == "rbac"


# === 3. the admin lifecycle end to end =========================================================

def test_create_get_and_list_with_filters(lumod, new_org):
    tenant = new_org()
    api = AdminAgentsApi(tenant.client)
    made = []
    for name, caps in (("Alpha reader", ["document.read"]), ("Beta writer", ["document.*"]),
                       ("Gamma", [])):
        data = create_agent(tenant.client, tenant.slug, name=name, capabilities=caps)
        assert_agent_shape(data, name=name, capabilities=caps)
        assert data["enabled"] is True and data["hasApiKey"] is True
        assert data["apiKey"].startswith("agk_")
        assert shows_key(data["apiKeyPrefix"], data["apiKey"])
        assert data["clientSecret"]
        assert data["budgetPolicy"] == {"maxTokensPerDay": None, "tokensUsedToday": 0}
        made.append(data)
    assert len({d["id"] for d in made}) == 3
    assert len({d["agentId"] for d in made}) == 3

    # Reads never show the one-time secrets.
    for data in made:
        for ident in (data["id"], data["agentId"]):
            got = admin_get(tenant.client, tenant.slug, ident)
            assert "clientSecret" not in got and "apiKey" not in got
            assert got == {k: v for k, v in data.items()
                           if k not in ("clientSecret", "apiKey", "_note")}

    listed = api.admin_agents_list(tenant.slug)
    assert listed.pagination["total"] == 3 and len(listed.data) == 3
    assert listed.meta == listed.pagination and listed.resource_type == "agent"
    assert {a["agentId"] for a in listed.data} == {d["agentId"] for d in made}

    api.admin_agents_deactivate(tenant.slug, made[0]["agentId"])
    api.admin_agents_agents_disable(tenant.slug, made[1]["agentId"])

    def filtered(**query):
        resp = send(tenant.client, "GET", "/admin/agents", tenant.slug, query=query,
                    types={"200": "AdminAgentsListResponse"})
        return [a["agentId"] for a in resp.data.data], resp.data.pagination["total"]

    assert filtered(status="inactive") == ([made[0]["agentId"]], 1)
    assert filtered(status="disabled") == ([made[1]["agentId"]], 1)
    assert filtered(status="active") == ([made[2]["agentId"]], 1)
    ids, total = filtered(enabled="false")
    assert (ids, total) == ([made[1]["agentId"]], 1)
    ids, total = filtered(enabled="true")
    assert set(ids) == {made[0]["agentId"], made[2]["agentId"]} and total == 2
    assert filtered(search="writer") == ([made[1]["agentId"]], 1)
    ids, total = filtered(limit="2", page="1")
    assert len(ids) == 2 and total == 3
    ids, _ = filtered(limit="2", page="2")
    assert len(ids) == 1
    for query in ({"limit": "0"}, {"enabled": "maybe"}):
        resp = requests.get(org_url(lumod, "~/admin/agents", tenant.slug), params=query,
                            headers={"X-API-Key": tenant.api_key}, timeout=30)
        assert resp.status_code == 400, (query, resp.text)


def test_put_replaces_and_patch_changes_only_what_is_sent(lumod, api_client, org, agents_api):
    agent = create_agent(api_client, org, description="first", capabilities=["a.read"],
                         maxTokensPerDay=50)
    aid = agent["agentId"]
    patched = send(api_client, "PATCH", "/admin/agents/{agentId}", org,
                   path_params={"agentId": aid}, body={"description": "second"},
                   types={"200": "PutAdminAgentsUpdateResponse"}).data
    assert patched.message
    assert (patched.data["name"], patched.data["description"], patched.data["capabilities"],
            patched.data["budgetPolicy"]["maxTokensPerDay"]) == (
        agent["name"], "second", ["a.read"], 50)
    patched = agents_api.patch_admin_agents_update(
        org, str(agent["id"]), PutAdminAgentsUpdateRequest(capabilities=["b.read", "b.read"]))
    assert patched.data["capabilities"] == ["b.read"], "duplicates are dropped"
    assert patched.data["description"] == "second"

    # PUT replaces: what is not sent is cleared.
    replaced = agents_api.put_admin_agents_update(
        org, aid, PutAdminAgentsUpdateRequest(name="Replaced"))
    assert replaced.data["name"] == "Replaced"
    assert replaced.data["description"] is None
    assert replaced.data["capabilities"] == []
    assert admin_get(api_client, org, aid) == replaced.data
    # PUT needs the name.
    with pytest.raises(UnprocessableEntityException) as info:
        agents_api.put_admin_agents_update(
            org, aid, PutAdminAgentsUpdateRequest(description="no name"))
    assert error_body(info.value)["error"] == "validation_error"
    assert admin_get(api_client, org, aid)["name"] == "Replaced"


def test_scopes_get_and_put_drive_the_token_endpoint(lumod, api_client, org, oauth, agents_api):
    agent = create_agent(api_client, org, capabilities=["document.read"])
    aid = agent["agentId"]
    assert agents_api.admin_agents_get_scopes(org, aid).data == ["document.read"]
    assert agent_token(oauth, agent)["scope"] == "document.read"
    assert oauth_error(oauth.token(token_form(agent, "mail.send")), 400, "invalid_scope")

    put = agents_api.admin_agents_set_scopes(org, aid, AdminAgentsSetScopesRequest(
        scopes=["mail.send", "calendar:*"]))
    assert put.data == ["mail.send", "calendar:*"]
    got = agents_api.admin_agents_get_scopes(org, str(agent["id"]))
    assert got.data == ["mail.send", "calendar:*"]
    assert got.pagination["total"] == 2
    assert admin_get(api_client, org, aid)["capabilities"] == ["mail.send", "calendar:*"]
    assert agent_token(oauth, agent)["scope"] == "mail.send calendar:*"
    assert agent_token(oauth, agent, "calendar:delete")["scope"] == "calendar:delete"
    oauth_error(oauth.token(token_form(agent, "document.read")), 400, "invalid_scope")
    oauth_error(oauth.token(token_form(agent, "mail.send admin")), 400, "invalid_scope")

    for bad in ({"scopes": ["admin"]}, {"scopes": "mail.send"}, {}, {"scopes": ["a b"]}):
        resp = raw(lumod, "PUT", f"~/admin/agents/{aid}/scopes", bad)
        assert resp.status_code == 422, (bad, resp.text)
        assert resp.json()["error"] == "validation_error"
    assert agents_api.admin_agents_get_scopes(org, aid).data == ["mail.send", "calendar:*"]


def test_deactivate_and_activate_stop_and_restore_the_agent(lumod, api_client, org, oauth,
                                                            agents_api):
    agent = create_agent(api_client, org, capabilities=["document.read"])
    aid = agent["agentId"]
    live = agent_token(oauth, agent)["access_token"]
    assert me_status(lumod, token=live) == 200
    assert me_status(lumod, key=agent["apiKey"]) == 200

    off = agents_api.admin_agents_deactivate(org, aid)
    assert (off.data["status"], off.data["isActive"], off.data["enabled"]) == (
        "inactive", False, True)
    assert me_status(lumod, token=live) == 401
    assert raw(lumod, "GET", "~/oauth/userinfo", token=live).status_code == 401
    assert me_status(lumod, key=agent["apiKey"]) == 401
    oauth_error(oauth.token(token_form(agent)), 401, "invalid_client")
    # An inactive agent holds nothing either.
    key = LumoAuth(api_key=lumod.api_key, base_url=lumod.base, org_id=org)
    assert key.permissions.check("document.read", agent_id=aid) is False
    # Deactivation and disabling are separate switches: inactive wins the status.
    assert agents_api.admin_agents_agents_disable(org, aid).agent["status"] == "inactive"
    assert agents_api.admin_agents_agents_enable(org, aid).agent["status"] == "inactive"

    on = agents_api.admin_agents_activate(org, aid)
    assert (on.data["status"], on.data["isActive"]) == ("active", True)
    fresh = agent_token(oauth, agent)["access_token"]
    assert me_status(lumod, token=fresh) == 200
    assert me_status(lumod, key=agent["apiKey"]) == 200
    assert key.permissions.check("document.read", agent_id=aid) is True


def test_disable_and_enable_stop_and_restore_the_agent(lumod, api_client, org, oauth,
                                                       agents_api):
    agent = create_agent(api_client, org, capabilities=["document.read"])
    aid = agent["agentId"]
    sdk = sdk_agent(lumod, agent)
    assert sdk.get_identity()["identity"]["status"] == "active"
    live = sdk.access_token

    off = agents_api.admin_agents_agents_disable(org, str(agent["id"]))
    assert (off.agent["status"], off.agent["enabled"], off.agent["isActive"]) == (
        "disabled", False, True)
    assert admin_get(api_client, org, aid)["status"] == "disabled"
    assert me_status(lumod, token=live) == 401
    assert raw(lumod, "POST", "~/agents/ask", {"action": "document.read"},
               token=live).status_code == 401
    assert me_status(lumod, key=agent["apiKey"]) == 401
    with pytest.raises(LumoAuthAuthenticationError):
        sdk.get_identity()
    oauth_error(oauth.token(token_form(agent)), 401, "invalid_client")
    assert sdk_agent(lumod, agent).authenticate() is False
    # Resource servers asking the introspection endpoint hear the same.
    watcher = create_agent(api_client, org, capabilities=["watch"])
    intro = oauth.post_form("/oauth/introspect", {"token": live, "client_id": watcher["clientId"],
                                                  "client_secret": watcher["clientSecret"]})
    assert intro.status_code == 200 and intro.json() == {"active": False}, intro.text
    # A switched-off agent's token is no subject for a token exchange.
    with pytest.raises(LumoAuthApiError) as info:
        LumoAuth(base_url=lumod.base, org_id=org).auth.token_exchange(live)
    assert (info.value.status_code, info.value.code) == (400, "invalid_grant")

    on = agents_api.admin_agents_agents_enable(org, aid)
    assert (on.agent["status"], on.agent["enabled"]) == ("active", True)
    again = sdk_agent(lumod, agent)
    assert again.get_identity()["identity"]["agent_id"] == aid
    assert me_status(lumod, key=agent["apiKey"]) == 200


def test_rotate_key_without_and_with_grace_and_revoke(lumod, api_client, org, agents_api):
    agent = create_agent(api_client, org, capabilities=["document.read"])
    aid = agent["agentId"]
    original = agent["apiKey"]
    assert me_status(lumod, key=original) == 200

    # Default: the old key dies at once.
    first = agents_api.admin_agents_agents_rotate_key(org, aid)
    assert first.message and first.api_key.startswith("agk_") and first.api_key != original
    assert me_status(lumod, key=original) == 401
    assert me_status(lumod, key=first.api_key) == 200
    # Bearer works for agent keys too.
    assert me_status(lumod, token=first.api_key) == 200
    shown = admin_get(api_client, org, aid)
    assert shown["hasApiKey"] is True
    assert shows_key(shown["apiKeyPrefix"], first.api_key)
    assert not shows_key(shown["apiKeyPrefix"], original)

    # With a grace period the previous key keeps working, next to the new one.
    graced = send(api_client, "POST", "/admin/agents/{agentId}/rotate-key", org,
                  path_params={"agentId": aid}, body={"gracePeriodSeconds": 300},
                  types={"200": "AdminAgentsAgentsRotateKeyResponse"}).data
    assert graced.api_key not in (first.api_key, original) and graced.message
    assert me_status(lumod, key=first.api_key) == 200
    assert me_status(lumod, key=graced.api_key) == 200

    # A short grace runs out.
    short = send(api_client, "POST", "/admin/agents/{agentId}/rotate-key", org,
                 path_params={"agentId": aid}, body={"gracePeriodSeconds": 2},
                 types={"200": "AdminAgentsAgentsRotateKeyResponse"}).data
    assert me_status(lumod, key=graced.api_key) == 200
    assert me_status(lumod, key=first.api_key) == 401, "only the latest key gets grace"
    time.sleep(3)
    assert me_status(lumod, key=graced.api_key) == 401
    assert me_status(lumod, key=short.api_key) == 200

    for bad in (MAX_TTL + 1, -1, "soon"):
        resp = raw(lumod, "POST", f"~/admin/agents/{aid}/rotate-key",
                   {"gracePeriodSeconds": bad})
        assert resp.status_code == 422, (bad, resp.text)
    assert me_status(lumod, key=short.api_key) == 200, "a refused rotation changes nothing"

    revoked = agents_api.admin_agents_revoke_key(org, aid)
    assert revoked.message
    assert me_status(lumod, key=short.api_key) == 401
    shown = admin_get(api_client, org, aid)
    assert shown["hasApiKey"] is False and shown["apiKeyPrefix"] is None
    # Revoking does not touch the client credentials.
    assert sdk_agent(lumod, agent).authenticate() is True

    # A key can be issued again after a revoke; revoking also ends a key in its grace.
    fresh = agents_api.admin_agents_agents_rotate_key(org, aid).api_key
    assert me_status(lumod, key=fresh) == 200
    assert me_status(lumod, key=short.api_key) == 401
    latest = send(api_client, "POST", "/admin/agents/{agentId}/rotate-key", org,
                  path_params={"agentId": aid}, body={"gracePeriodSeconds": MAX_TTL},
                  types={"200": "AdminAgentsAgentsRotateKeyResponse"}).data.api_key
    assert (me_status(lumod, key=fresh), me_status(lumod, key=latest)) == (200, 200)
    agents_api.admin_agents_revoke_key(org, aid)
    assert (me_status(lumod, key=fresh), me_status(lumod, key=latest)) == (401, 401)


def test_rotate_credentials_kills_the_old_secret(lumod, api_client, org, oauth, agents_api):
    agent = create_agent(api_client, org, capabilities=["document.read"])
    live = agent_token(oauth, agent)["access_token"]
    rotated = agents_api.admin_agents_rotate_credentials(org, agent["agentId"])
    assert rotated.message
    assert rotated.data["clientId"] == agent["clientId"]
    new_secret = rotated.data["clientSecret"]
    assert isinstance(new_secret, str) and new_secret != agent["clientSecret"]
    oauth_error(oauth.token(token_form(agent)), 401, "invalid_client")
    assert sdk_agent(lumod, agent).authenticate() is False
    fresh = sdk_agent(lumod, agent, secret=new_secret)
    assert fresh.authenticate() is True
    assert fresh.get_identity()["identity"]["agent_id"] == agent["agentId"]
    # HTTP Basic works with the new secret as well.
    resp = oauth.token({"grant_type": CC}, basic=(agent["clientId"], new_secret))
    assert resp.status_code == 200, resp.text
    # Tokens already issued were not revoked by the rotation.
    assert me_status(lumod, token=live) == 200
    # The key is unaffected.
    assert me_status(lumod, key=agent["apiKey"]) == 200


def test_admin_minted_tokens(lumod, api_client, org, agents_api):
    agent = create_agent(api_client, org, capabilities=["document.*", "calendar:read"])
    aid = agent["agentId"]
    default = agents_api.admin_agents_generate_token(org, aid, AdminAgentsGenerateTokenRequest())
    assert (default.data.token_type, default.data.expires_in, default.data.scopes) == (
        "Bearer", 3600, ["document.*", "calendar:read"])
    claims = jwt_parts(default.data.access_token)[1]
    assert claims["exp"] - claims["iat"] == 3600
    assert me_status(lumod, token=default.data.access_token) == 200

    # A body-less request takes the defaults too.
    empty = send(api_client, "POST", "/admin/agents/{agentId}/token", org,
                 path_params={"agentId": aid}, types={"200": "AdminAgentsGenerateTokenResponse"})
    assert empty.data.data.expires_in == 3600

    subset = agents_api.admin_agents_generate_token(org, str(agent["id"]),
                                                    AdminAgentsGenerateTokenRequest(
        expires_in=MAX_TTL, scopes=["document.read"]))
    assert (subset.data.expires_in, subset.data.scopes) == (MAX_TTL, ["document.read"])
    info = token_sdk(lumod, subset.data.access_token).agents.info()
    assert info["agent_id"] == aid
    assert info["budget_policy"]["tokens_used_today"] == 3

    with pytest.raises(BadRequestException) as refused:
        agents_api.admin_agents_generate_token(org, aid, AdminAgentsGenerateTokenRequest(
            scopes=["calendar:write"]))
    assert json.loads(refused.value.body)["error"] == "invalid_scope"

    for bad in (0, MAX_TTL + 1, -5, "60", 1.5, True):
        resp = raw(lumod, "POST", f"~/admin/agents/{aid}/token", {"expiresIn": bad})
        assert resp.status_code == 422, (bad, resp.text)
        assert resp.json()["error"] == "validation_error"
    # None of the refusals was counted.
    assert admin_get(api_client, org, aid)["budgetPolicy"]["tokensUsedToday"] == 3

    # A switched-off agent gets no admin token.
    agents_api.admin_agents_agents_disable(org, aid)
    with pytest.raises(ApiException) as off:
        agents_api.admin_agents_generate_token(org, aid, AdminAgentsGenerateTokenRequest())
    assert 400 <= off.value.status < 500


def test_delete_ends_the_agent_its_tokens_and_keys(lumod, api_client, org, oauth, agents_api):
    agent = create_agent(api_client, org, capabilities=["document.read"])
    aid = agent["agentId"]
    live = agent_token(oauth, agent)["access_token"]
    minted = agents_api.admin_agents_generate_token(
        org, aid, AdminAgentsGenerateTokenRequest()).data.access_token
    deleted = agents_api.admin_agents_delete(org, str(agent["id"]))
    assert isinstance(deleted, AdminAgentsDeleteResponse) and deleted.message
    for ident in (aid, str(agent["id"])):
        with pytest.raises(NotFoundException) as info:
            agents_api.admin_agents_get(org, ident)
        assert error_body(info.value)["error"] == "resource_not_found"
    with pytest.raises(NotFoundException):
        agents_api.admin_agents_delete(org, aid)
    assert aid not in [a["agentId"] for a in agents_api.admin_agents_list(org).data]
    for token in (live, minted):
        assert me_status(lumod, token=token) == 401
        assert raw(lumod, "GET", "~/oauth/userinfo", token=token).status_code == 401
    assert me_status(lumod, key=agent["apiKey"]) == 401
    oauth_error(oauth.token(token_form(agent)), 401, "invalid_client")
    key = LumoAuth(api_key=lumod.api_key, base_url=lumod.base, org_id=org)
    with pytest.raises(LumoAuthNotFoundError):
        key.permissions.check("document.read", agent_id=aid)
    # The agent's own OAuth client went with it.
    assert raw(lumod, "GET", f"~/admin/clients/{agent['clientId']}").status_code == 404


def test_deleting_a_registered_agent_keeps_its_client(lumod, api_client, org, oauth,
                                                      agents_api):
    bound = create_agent_client(api_client, org, allowedScopes=["admin:read"])
    reg = send(api_client, "POST", "/agents/register", org,
               body={"client_id": bound.client_id, "name": "Bound", "capabilities": ["x.y"]},
               types={"200": "RegisterAgentResponse"}).data
    assert oauth.client_credentials(bound)["scope"] == "x.y"
    agents_api.admin_agents_delete(org, reg.agent_id)
    # The client is an ordinary client again.
    assert oauth.client_credentials(bound)["scope"] == "admin:read"


# === 4. bad input ==============================================================================

@pytest.mark.parametrize("body", [
    {},
    {"description": "no name"},
    {"name": ""},
    {"name": 42},
    {"name": "x" * 201},
    {"name": "ok", "capabilities": "document.read"},
    {"name": "ok", "capabilities": [1, 2]},
    {"name": "ok", "capabilities": ["admin"]},
    {"name": "ok", "capabilities": ["admin:agents:write"]},
    {"name": "ok", "capabilities": ["document.read", "admin:read"]},
    {"name": "ok", "capabilities": ["has space"]},
    {"name": "ok", "capabilities": [""]},
    {"name": "ok", "capabilities": ["x" * 129]},
    {"name": "ok", "description": "x" * 2001},
    {"name": "ok", "capabilities": [f"c{i}" for i in range(101)]},
    {"name": "ok", "maxTokensPerDay": -1},
    {"name": "ok", "maxTokensPerDay": "10"},
    {"name": "ok", "budget_policy": {"max_tokens_per_day": "ten"}},
])
def test_create_refuses_bad_bodies_with_422(lumod, api_client, org, body):
    before = raw(lumod, "GET", "~/admin/agents?limit=1").json()["pagination"]["total"]
    with pytest.raises(UnprocessableEntityException) as info:
        send(api_client, "POST", "/admin/agents", org, body=body,
             types={"201": "AdminAgentsCreateResponse"})
    err = error_body(info.value)
    assert err["error"] == "validation_error"
    assert raw(lumod, "GET", "~/admin/agents?limit=1").json()["pagination"]["total"] == before


def test_capability_syntax_that_is_accepted(api_client, org):
    caps = ["document.read", "calendar:*", "*", "tool/search_web", "a-b_c.d:e"]
    assert create_agent(api_client, org, capabilities=caps)["capabilities"] == caps


def test_malformed_and_oversized_bodies(lumod, api_client, org):
    url = org_url(lumod, "~/admin/agents")
    resp = requests.post(url, data="{not json", timeout=30,
                         headers={"X-API-Key": lumod.api_key, "Content-Type": "application/json"})
    assert resp.status_code == 400, resp.text
    resp = requests.post(url, data='["a"]', timeout=30,
                         headers={"X-API-Key": lumod.api_key, "Content-Type": "application/json"})
    assert resp.status_code in (400, 422), resp.text
    big = json.dumps({"name": "Big", "description": "x" * ((1 << 20) + 10)})
    resp = requests.post(url, data=big, timeout=60,
                         headers={"X-API-Key": lumod.api_key, "Content-Type": "application/json"})
    assert resp.status_code == 413, resp.text
    assert resp.json()["error"] == "payload_too_large"
    agent = create_agent(api_client, org, capabilities=["a.b"])
    big_ask = json.dumps({"action": "a.b", "context": {"pad": "x" * (1 << 20)}})
    ask = requests.post(org_url(lumod, "~/agents/ask"), data=big_ask, timeout=60,
                        headers={"X-API-Key": agent["apiKey"],
                                 "Content-Type": "application/json"})
    assert ask.status_code == 413, ask.text
    assert ask.json()["error"] == "payload_too_large"
    # Under the limit the same request is decided.
    ok = raw(lumod, "POST", "~/agents/ask", {"action": "a.b", "context": {"pad": "x" * 1000}},
             key=agent["apiKey"])
    assert ok.status_code == 200 and ok.json()["allowed"] is True


UNKNOWN_CALLS = [
    ("admin_agents_get", ()),
    ("admin_agents_delete", ()),
    ("admin_agents_activate", ()),
    ("admin_agents_deactivate", ()),
    ("admin_agents_agents_enable", ()),
    ("admin_agents_agents_disable", ()),
    ("admin_agents_get_scopes", ()),
    ("admin_agents_set_scopes", (AdminAgentsSetScopesRequest(scopes=["a.b"]),)),
    ("admin_agents_agents_rotate_key", ()),
    ("admin_agents_revoke_key", ()),
    ("admin_agents_rotate_credentials", ()),
    ("admin_agents_generate_token", (AdminAgentsGenerateTokenRequest(),)),
    ("patch_admin_agents_update", (PutAdminAgentsUpdateRequest(description="x"),)),
    ("put_admin_agents_update", (PutAdminAgentsUpdateRequest(name="x"),)),
]


@pytest.mark.parametrize("call,args", UNKNOWN_CALLS, ids=[c for c, _ in UNKNOWN_CALLS])
def test_unknown_agent_is_404_and_malformed_id_is_400(agents_api, org, call, args):
    for ident in ("987654321", "agt_" + "z" * 26):
        with pytest.raises(NotFoundException) as info:
            getattr(agents_api, call)(org, ident, *args)
        assert error_body(info.value)["error"] == "resource_not_found"
    for ident in ("agt_../x", "bob", "agt_a b", "-1"):
        with pytest.raises(BadRequestException) as info:
            getattr(agents_api, call)(org, ident, *args)
        assert error_body(info.value)["status"] == 400


def test_other_orgs_agents_keys_and_tokens_do_not_cross(lumod, api_client, org, oauth,
                                                        new_org):
    # Two agents here first, so this org's integer ids go past the new org's first one.
    mine = [create_agent(api_client, org, capabilities=["a.b"]) for _ in range(2)][-1]
    other = new_org()
    theirs = create_agent(other.client, other.slug, capabilities=["a.b"])
    assert theirs["id"] == 1 and mine["id"] > 1
    assert theirs["agentId"] != mine["agentId"]

    agents_here = AdminAgentsApi(api_client)
    agents_there = AdminAgentsApi(other.client)
    with pytest.raises(NotFoundException):
        agents_here.admin_agents_get(org, theirs["agentId"])
    with pytest.raises(NotFoundException):
        agents_there.admin_agents_get(other.slug, mine["agentId"])
    with pytest.raises(NotFoundException):
        agents_there.admin_agents_get(other.slug, str(mine["id"]))
    with pytest.raises(NotFoundException):
        agents_here.admin_agents_delete(org, theirs["agentId"])
    assert admin_get(other.client, other.slug, theirs["agentId"])["name"] == theirs["name"]

    # Another org's API key on this org's routes.
    for method, path in (("GET", "~/admin/agents"), ("GET", f"~/admin/agents/{mine['agentId']}"),
                         ("POST", f"~/admin/agents/{mine['agentId']}/disable")):
        resp = raw(lumod, method, path, key=other.api_key)
        assert resp.status_code in (401, 403), (path, resp.status_code, resp.text)
    assert admin_get(api_client, org, mine["agentId"])["status"] == "active"

    # Another org's agent credentials are nothing here.
    for cred in ({"key": theirs["apiKey"]}, {"token": theirs["apiKey"]}):
        resp = raw(lumod, "GET", "~/agents/me", **cred)
        assert resp.status_code in (401, 403), resp.text
        assert resp.json()["status"] == resp.status_code
    their_token = agent_token(OAuthHttp(lumod.base, other.slug), theirs)["access_token"]
    assert me_status(lumod, token=their_token, org=other.slug) == 200
    assert me_status(lumod, token=their_token) == 401
    resp = oauth.token(token_form(theirs))
    assert resp.status_code in (400, 401), resp.text
    # Registering another org's client here.
    their_client = create_agent_client(other.client, other.slug)
    resp = raw(lumod, "POST", "~/agents/register",
               {"client_id": their_client.client_id, "name": "Stolen"})
    assert resp.status_code == 404, resp.text


def test_api_keys_are_refused_on_the_agent_runtime(lumod, api_client, org):
    runtime = AgentsApi(api_client)
    with pytest.raises(UnauthorizedException) as info:
        runtime.get_current_agent(org)
    assert error_body(info.value)["status"] == 401
    with pytest.raises(UnauthorizedException):
        runtime.ask(org, AskRequest(action="document.read"))
    key = LumoAuth(api_key=lumod.api_key, base_url=lumod.base, org_id=org)
    with pytest.raises(LumoAuthAuthenticationError):
        key.agents.me()
    with pytest.raises(LumoAuthAuthenticationError):
        key.agents.ask("document.read")
    # No credential at all.
    assert raw(lumod, "GET", "~/agents/me", anonymous=True).status_code == 401
    assert raw(lumod, "POST", "~/agents/ask", {"action": "a"}, anonymous=True).status_code == 401
    # An unknown agent key.
    assert me_status(lumod, key="agk_" + secrets.token_urlsafe(30)) == 401


def test_ask_bad_bodies(lumod, api_client, org):
    agent = create_agent(api_client, org, capabilities=["a.b"])
    for body in ({}, {"context": {"x": 1}}, {"action": ""}, {"action": 5},
                 {"action": "x" * 257}):
        resp = raw(lumod, "POST", "~/agents/ask", body, key=agent["apiKey"])
        assert resp.status_code == 422, (body, resp.text)
        assert resp.json()["error"] == "validation_error"
    resp = raw(lumod, "POST", "~/agents/ask", {"action": "a.b", "context": "nope"},
               key=agent["apiKey"])
    assert resp.status_code in (400, 422), resp.text


def test_register_needs_admin_agents_write_and_valid_input(lumod, api_client, org, oauth,
                                                           people):
    bound = create_agent_client(api_client, org)
    body = {"client_id": bound.client_id, "name": "Nope"}
    # A user who may not hold admin:agents:write does not get it in the token.
    tokens = user_token(oauth, people, people.reader, "openid admin:agents:write")
    assert "admin:agents:write" not in tokens["scope"].split()
    with pytest.raises(LumoAuthPermissionDeniedError) as info:
        token_sdk(lumod, tokens["access_token"]).agents.register("Nope",
                                                                 client_id=bound.client_id)
    assert info.value.status_code == 403
    assert "admin:agents:write" in info.value.required_scopes
    # The writer, without asking for the scope, is refused too.
    plain = user_token(oauth, people, people.writer, "openid")["access_token"]
    assert raw(lumod, "POST", "~/agents/register", body, token=plain).status_code == 403
    # Nothing was registered.
    assert oauth.client_credentials(bound)["scope"] == ""
    # The client is still a plain client, not an agent.
    me = raw(lumod, "GET", "~/agents/me", token=oauth.client_credentials(bound)["access_token"])
    assert me.status_code == 200, me.text
    assert me.json()["identity"]["type"] == "client"

    writer = user_token(oauth, people, people.writer, "openid admin:agents:write")[
        "access_token"]
    for bad in ({"name": "x"}, {"client_id": bound.client_id},
                {"client_id": bound.client_id, "name": "x", "capabilities": ["admin"]},
                {"client_id": bound.client_id, "name": "x",
                 "jwks_uri": "http://agent.example.com/jwks.json"}):
        resp = raw(lumod, "POST", "~/agents/register", bad, token=writer)
        assert resp.status_code == 422, (bad, resp.text)
    resp = raw(lumod, "POST", "~/agents/register",
               {"client_id": unique("lmc_missing"), "name": "x"}, token=writer)
    assert resp.status_code == 404, resp.text
    ok = raw(lumod, "POST", "~/agents/register", body, token=writer)
    assert ok.status_code == 200, ok.text
    assert RegisterAgentResponse.from_dict(ok.json()).success is True


def test_admin_family_needs_an_admin_credential(lumod, api_client, org, oauth, people):
    agent = create_agent(api_client, org, capabilities=["a.b"])
    # An agent's own credentials are not admin credentials.
    token = agent_token(oauth, agent)["access_token"]
    for cred in ({"token": token}, {"key": agent["apiKey"]}):
        resp = raw(lumod, "GET", "~/admin/agents", **cred)
        assert resp.status_code == 403, resp.text
        resp = raw(lumod, "POST", f"~/admin/agents/{agent['agentId']}/disable", **cred)
        assert resp.status_code == 403, resp.text
    # A user token with admin:agents:write manages agents.
    writer = user_token(oauth, people, people.writer, "openid admin:agents:write")[
        "access_token"]
    api = AdminAgentsApi(bearer_client(lumod.base, writer))
    made = api.admin_agents_create(org, AdminAgentsCreateRequest(name=unique("by-user")))
    assert made.data["agentId"].startswith("agt_")
    assert api.admin_agents_get(org, made.data["agentId"]).data["name"] == made.data["name"]
    # A plain user token does not.
    plain = user_token(oauth, people, people.reader, "openid")["access_token"]
    with pytest.raises(ForbiddenException) as info:
        AdminAgentsApi(bearer_client(lumod.base, plain)).admin_agents_list(org)
    assert "admin:agents" in error_body(info.value)["details"]["required_scopes"]


def test_budget_holds_under_concurrent_token_requests(lumod, api_client, org, oauth):
    import concurrent.futures
    agent = create_agent(api_client, org, capabilities=["document.read"], maxTokensPerDay=3)
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda _: oauth.token(token_form(agent)), range(12)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * 3 + [429] * 9, statuses
    assert all(a.json()["error"] == "budget_exceeded" for a in answers if a.status_code == 429)
    assert admin_get(api_client, org, agent["agentId"])["budgetPolicy"] == {
        "maxTokensPerDay": 3, "tokensUsedToday": 3}


def test_scoped_api_keys_on_the_agents_family(lumod, api_client, org):
    def key_with(scopes):
        resp = raw(lumod, "POST", "~/admin/api-keys", {"name": unique("k"), "scopes": scopes})
        assert resp.status_code == 201, resp.text
        return resp.json()["data"]["key"]

    agents_key, read_key, users_key = (key_with(s) for s in (
        ["admin:agents"], ["admin:read"], ["admin:users"]))
    bound = create_agent_client(api_client, org)
    # admin:agents manages agents (and registers them), nothing else.
    made = create_agent(key_client(lumod.base, agents_key), org, capabilities=["a.b"])
    assert raw(lumod, "POST", f"~/admin/agents/{made['agentId']}/disable",
               key=agents_key).status_code == 200
    assert raw(lumod, "POST", "~/agents/register", {"client_id": bound.client_id, "name": "R"},
               key=agents_key).status_code == 200
    assert raw(lumod, "GET", "~/admin/users", key=agents_key).status_code == 403
    # admin:read reads agents only.
    assert raw(lumod, "GET", f"~/admin/agents/{made['agentId']}", key=read_key).status_code == 200
    for method, path, body in (("POST", "~/admin/agents", {"name": "x"}),
                               ("POST", f"~/admin/agents/{made['agentId']}/enable", None),
                               ("POST", f"~/admin/agents/{made['agentId']}/rotate-key", None),
                               ("POST", f"~/admin/agents/{made['agentId']}/token", {}),
                               ("DELETE", f"~/admin/agents/{made['agentId']}", None),
                               ("POST", "~/agents/register",
                                {"client_id": bound.client_id, "name": "R2"})):
        resp = raw(lumod, method, path, body, key=read_key)
        assert resp.status_code == 403, (path, resp.text)
        assert "admin:agents" in resp.json()["details"]["required_scopes"]
    # Another family's scope reaches no agent route.
    for method, path in (("GET", "~/admin/agents"), ("GET", f"~/admin/agents/{made['agentId']}")):
        assert raw(lumod, method, path, key=users_key).status_code == 403
    assert admin_get(api_client, org, made["agentId"])["status"] == "disabled"


def test_agent_key_and_token_at_the_root_authz_routes(lumod, api_client, org, oauth):
    agent = create_agent(api_client, org, capabilities=["report.*"])
    by_key = LumoAuth(api_key=agent["apiKey"], base_url=lumod.base)
    detailed = CheckPermissionResponse.from_dict(by_key.permissions.check_detailed("report.read"))
    assert (detailed.allowed, detailed.subject_type, detailed.subject_id) == (
        True, "agent", agent["agentId"])
    assert by_key.permissions.check("mail.read") is False
    token = agent_token(oauth, agent, "report.read")["access_token"]
    by_token = LumoAuth(base_url=lumod.base, token_provider=lambda: token)
    # Checks answer from the agent's capabilities, not from the token's narrower scope.
    assert by_token.permissions.check("report.write") is True
    assert by_token.permissions.check("mail.read") is False


def test_agent_lifecycle_is_audited_without_secrets(lumod, api_client, org, agents_api):
    agent = create_agent(api_client, org, capabilities=["a.b"])
    aid = agent["agentId"]
    secrets_shown = [agent["clientSecret"], agent["apiKey"]]
    agents_api.admin_agents_agents_disable(org, aid)
    agents_api.admin_agents_agents_enable(org, aid)
    secrets_shown.append(agents_api.admin_agents_agents_rotate_key(org, aid).api_key)
    secrets_shown.append(
        agents_api.admin_agents_rotate_credentials(org, aid).data["clientSecret"])
    agents_api.admin_agents_delete(org, aid)
    listing = raw(lumod, "GET", f"~/admin/audit-logs?targetId={aid}&limit=100")
    assert listing.status_code == 200, listing.text
    entries = listing.json()["data"]
    actions = [e["action"] for e in entries]
    for action in ("agent.created", "agent.disabled", "agent.enabled", "agent.key_rotated",
                   "agent.credentials_rotated", "agent.deleted"):
        assert action in actions, actions
    details = json.dumps([raw(lumod, "GET", f"~/admin/audit-logs/{e['id']}").json()
                          for e in entries])
    for secret in secrets_shown:
        assert secret not in details


# --- regressions of bugs found by these tests ---------------------------------------------------

def test_wildcard_capabilities_never_yield_admin_scopes(lumod, api_client, org, oauth):
    for caps, scope in ((["*"], "admin"), (["admin:*"], "admin:read"),
                        (["*"], "admin:agents")):
        agent = create_agent(api_client, org, capabilities=caps)
        resp = oauth.token(token_form(agent, scope))
        if resp.status_code == 200:
            token = resp.json()["access_token"]
            users = raw(lumod, "GET", "~/admin/users", token=token)
            created = raw(lumod, "POST", "~/admin/agents", {"name": "made by an agent"},
                          token=token)
            assert (users.status_code, created.status_code) == (403, 403), (caps, scope)
        oauth_error(resp, 400, "invalid_scope")


def test_re_registering_without_capabilities_keeps_them(lumod, api_client, org):
    agent = create_agent(api_client, org, description="keeps", capabilities=["document.read"])
    by_key = LumoAuth(api_key=lumod.api_key, base_url=lumod.base, org_id=org)
    again = by_key.agents.register("Renamed", client_id=agent["clientId"])
    assert again["agent_id"] == agent["agentId"]
    stored = admin_get(api_client, org, agent["agentId"])
    assert stored["name"] == "Renamed"
    assert stored["description"] == "keeps"
    assert stored["capabilities"] == ["document.read"]


def test_an_agents_client_goes_only_with_the_agent(lumod, api_client, org):
    agent = create_agent(api_client, org, capabilities=["document.read"])
    # The agent's own client is protected: deleting it alone would orphan the agent.
    gone = raw(lumod, "DELETE", f"~/admin/clients/{agent['clientId']}")
    assert gone.status_code == 403, gone.text
    assert gone.json()["error"] == "system_resource"
    assert raw(lumod, "GET", f"~/admin/clients/{agent['clientId']}").status_code == 200
    deleted = raw(lumod, "DELETE", f"~/admin/agents/{agent['agentId']}")
    assert deleted.status_code == 200, deleted.text
    assert raw(lumod, "GET", f"~/admin/agents/{agent['agentId']}").status_code == 404
    assert me_status(lumod, key=agent["apiKey"]) == 401
    assert raw(lumod, "GET", f"~/admin/clients/{agent['clientId']}").status_code == 404
