"""Just-in-time (JIT) permissions through the official clients (`~/jit/*`).

The hand-written SDK `lumoauth==1.1.0` is used unchanged, as its docstrings show:
`LumoAuthAgent` authenticates, `JITContext` makes a task, RFC 9396 permission requests (low
risk approved at once; others waiting for a reviewer, which the SDK polls through the
`status_url` the server returns), takes grant tokens and completes or evaluates the task, and
`JITContext.delegate_on_behalf_of` / `DelegationChain` run RFC 8693 delegation (depth at most
3). The generated client `lumoauth_api_client` (`JitApi`) parses every JIT response.

Reviewers are users whose token carries `jit:approve` (a platform scope an OAuth client may be
allowed); agents, org API keys, the user a task acts for and the user who registered the agent
are refused. Bad input is checked with plain HTTP (`invalid_authorization_details`,
`invalid_request`, 404 for unknown or foreign tasks, 422 for finished tasks, 413 for oversized
bodies). The module works in an org of its own, so the review queue holds only its requests.
"""

import dataclasses
import json
import threading
import time
from datetime import datetime

import pytest
import requests

from lumoauth import DelegationChain, LumoAuth, LumoAuthAgent
from lumoauth._http import HttpClient
from lumoauth.errors import (
    LumoAuthApiError,
    LumoAuthAuthenticationError,
    LumoAuthNotFoundError,
    LumoAuthPermissionDeniedError,
)
from lumoauth.jit import JITContext
from lumoauth_api_client import ApiClient, Configuration, JitApi
from lumoauth_api_client.exceptions import (
    ApiException,
    ForbiddenException,
    NotFoundException,
)
from lumoauth_api_client.models import (
    ApproveRequestRequest,
    ApproveRequestResponse,
    CompleteTaskResponse,
    CreateTaskRequest,
    CreateTaskResponse,
    DenyRequestRequest,
    DenyRequestResponse,
    GetRequestStatusResponse,
    GetRequestTokenResponse,
    IntrospectResponse,
    ListPendingRequestsResponse,
    RequestPermissionRequest,
    RequestPermissionResponse,
)

from org_fixtures import key_client, own_org_fixtures
from lumo_helpers import (
    ACCESS_TOKEN_TYPE,
    OAuthHttp,
    TOKEN_EXCHANGE,
    bearer_client,
    create_agent_client,
    create_oauth_client,
    create_password_user,
    create_permission,
    jwt_parts,
    send,
    unique,
    verify_rs256,
)

REVIEW_SCOPES = ["openid", "profile", "email", "jit:approve", "admin:agents:write"]
READ_FILE = {"type": "file_access", "actions": ["read"], "identifier": "report_q4.pdf"}
WRITE_FILE = {"type": "file_access", "actions": ["write"], "identifier": "report_q4.pdf"}
ANY_FILE = {"type": "file_access", "actions": ["read"], "identifier": "*"}
DELETE_DB = {"type": "database", "actions": ["delete"], "identifier": "customers"}


# --- helpers ----------------------------------------------------------------------------------

def org_url(lumod, path: str) -> str:
    """`~` in `path` stands for /orgs/{org}/api/v1."""
    return lumod.base + path.replace("~", f"/orgs/{lumod.org}/api/v1", 1)


def raw(lumod, method, path, body=None, *, token=None, key=None, data=None, headers=None):
    """Plain HTTP: Bearer `token`, else X-API-Key `key`, else no credential."""
    hdrs = {}
    if token:
        hdrs["Authorization"] = "Bearer " + token
    elif key:
        hdrs["X-API-Key"] = key
    hdrs.update(headers or {})
    return requests.request(method, org_url(lumod, path), json=body, data=data, headers=hdrs,
                            timeout=60)


def api_error(resp, status: int, error: str = None) -> dict:
    """An error answer in the shape every SDK parser reads: `{error, error_description,
    message, status}` with the status repeated, `error` equal to `error` when given."""
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert "application/json" in resp.headers.get("Content-Type", ""), resp.headers
    body = resp.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str), body
    if error is not None:
        assert body["error"] == error, body
    for field in ("message", "error_description"):
        assert isinstance(body.get(field), str) and body[field], body
    assert body.get("status") == status, body
    return body


def create_agent(api_client, org, **fields) -> dict:
    """POST ~/admin/agents; returns `data` (clientId, clientSecret, apiKey, agentId …)."""
    body = {"name": fields.pop("name", None) or unique("jit-agent")}
    body.update(fields)
    resp = send(api_client, "POST", "/admin/agents", org, body=body,
                types={"201": "AdminAgentsCreateResponse"})
    assert resp.status_code == 201
    data = resp.data.data
    assert data["agentId"].startswith("agt_") and data["apiKey"].startswith("agk_"), data
    return data


def agent_token(oauth, agent: dict) -> str:
    """client_credentials with the secret in the form body (what the SDK sends)."""
    resp = oauth.token({"grant_type": "client_credentials", "client_id": agent["clientId"],
                        "client_secret": agent["clientSecret"]})
    assert resp.status_code == 200, resp.text
    return resp.json()["access_token"]


def sdk_agent(lumod, agent: dict) -> LumoAuthAgent:
    sdk = LumoAuthAgent(base_url=lumod.base, org_id=lumod.org, client_id=agent["clientId"],
                        client_secret=agent["clientSecret"])
    assert sdk.authenticate() is True
    return sdk


def introspect(oauth, agent: dict, token: str) -> IntrospectResponse:
    resp = oauth.post_form("/oauth/introspect", {
        "token": token, "client_id": agent["clientId"], "client_secret": agent["clientSecret"]})
    assert resp.status_code == 200, resp.text
    return IntrospectResponse.from_json(resp.text)


def jwks(oauth) -> dict:
    resp = requests.get(oauth.url("/.well-known/jwks.json"), timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()


def new_task(lumod, token=None, key=None, **body) -> dict:
    resp = raw(lumod, "POST", "~/jit/task", body, token=token, key=key)
    assert resp.status_code == 201, resp.text
    return resp.json()


def new_request(lumod, token, task_id, details, **extra) -> dict:
    body = {"task_id": task_id, "authorization_details": details}
    body.update(extra)
    resp = raw(lumod, "POST", "~/jit/request", body, token=token)
    assert resp.status_code == 201, resp.text
    return resp.json()


def status_of(lumod, token, request_id) -> dict:
    resp = raw(lumod, "GET", f"~/jit/request/{request_id}/status", token=token)
    assert resp.status_code == 200, resp.text
    return resp.json()


def me_status(lumod, token) -> int:
    return raw(lumod, "GET", "~/agents/me", token=token).status_code


def is_rfc3339(value) -> bool:
    """An RFC 3339 timestamp with a zone (what the server writes)."""
    if not isinstance(value, str):
        return False
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.tzinfo is not None


class Reviewer:
    """A user who reviews JIT requests through the REST API with a jit:approve token."""

    def __init__(self, lumod, user, token: str):
        self.lumod, self.user, self.token = lumod, user, token

    def pending(self) -> dict:
        resp = raw(self.lumod, "GET", "~/jit/pending", token=self.token)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def approve(self, request_id, **body):
        return raw(self.lumod, "POST", f"~/jit/approve/{request_id}", body, token=self.token)

    def deny(self, request_id, **body):
        return raw(self.lumod, "POST", f"~/jit/deny/{request_id}", body, token=self.token)


def decide_when_listed(reviewer: Reviewer, task_id: str, decision: str, body: dict,
                       errors: list, timeout: float = 20.0):
    """Thread body: waits until a pending request of `task_id` is in the review queue, then
    approves or denies it through the REST API."""
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            mine = [r for r in reviewer.pending()["data"] if r["task_id"] == task_id]
            if mine:
                resp = getattr(reviewer, decision)(mine[0]["request_id"], **body)
                assert resp.status_code == 200, resp.text
                return
            time.sleep(0.2)
        raise AssertionError(f"no pending request of {task_id} showed up")
    except BaseException as exc:  # re-raised in the test thread
        errors.append(exc)


# --- fixtures: an org of this module's own --------------------------------------------------
lumod, api_client, org, oauth, new_org = own_org_fixtures("jit", "JIT tests")


@pytest.fixture(scope="module")
def review_client(api_client, org):
    """A sign-in client allowed jit:approve (and admin:agents:write for agents/register)."""
    try:
        create_permission(api_client, org, slug="admin:agents:write", name="Register agents")
    except ApiException as exc:
        assert exc.status == 409, exc
    return create_oauth_client(api_client, org, allowedScopes=REVIEW_SCOPES)


def user_token(oauth, client, user, scope="openid jit:approve") -> str:
    tokens = oauth.code_tokens(oauth.login(user.email), client, scope=scope)
    assert set(tokens["scope"].split()) == set(scope.split()), tokens["scope"]
    return tokens["access_token"]


@pytest.fixture(scope="module")
def reviewer(lumod, api_client, org, oauth, review_client) -> Reviewer:
    user = create_password_user(api_client, org, name="Rita Reviewer")
    return Reviewer(lumod, user, user_token(oauth, review_client, user))


@pytest.fixture
def agent(api_client, org) -> dict:
    return create_agent(api_client, org, capabilities=["document.read"])


@pytest.fixture
def token(oauth, agent) -> str:
    return agent_token(oauth, agent)


# === 1. the SDK's JITContext, unchanged ==========================================================

def test_jit_sdk_low_risk_request_end_to_end(lumod, org, oauth, agent):
    sdk = sdk_agent(lumod, agent)
    with JITContext(sdk) as jit:
        task_id = jit.create_task(name="Analyse Q4 report", task_type="analysis")
        assert task_id.startswith("task_")
        assert jit.task_id == task_id
        assert isinstance(jit.caep_session_id, str) and jit.caep_session_id

        result = jit.request_permission(READ_FILE, justification="Need Q4 numbers", ttl=120)
        parsed = RequestPermissionResponse.from_dict(result)
        assert parsed.status == "approved"
        assert parsed.risk_level == "low"
        assert parsed.task_id == task_id
        assert parsed.granted_ttl == 120
        request_id = parsed.request_id
        assert parsed.token_url == f"/orgs/{org}/api/v1/jit/request/{request_id}/token"
        assert parsed.status_url is None

        jit_token = jit.get_token(request_id)
        claims = verify_rs256(jit_token, jwks(oauth))
        assert claims["authorization_details"] == READ_FILE
        assert claims["jit_request_id"] == request_id
        assert claims["task_id"] == task_id
        assert claims["iss"] == oauth.issuer
        assert 0 < claims["exp"] - claims["iat"] <= 120

        # The grant token is a working credential of the agent while the task lives.
        resp = jit.call(jit_token, "GET", f"/orgs/{org}/api/v1/agents/me")
        assert resp.status_code == 200, resp.text
        assert resp.json()["identity"]["agent_id"] == agent["agentId"]
        assert introspect(oauth, agent, jit_token).active is True
    # Leaving the context completed the task: its grant and token end at once.
    assert jit.task_id is None and jit.caep_session_id is None
    assert me_status(lumod, jit_token) == 401
    assert introspect(oauth, agent, jit_token).active is False
    status = sdk.jit.get_status(request_id)
    assert status["status"] == "revoked"
    assert "token_url" not in status
    with pytest.raises(LumoAuthPermissionDeniedError) as info:
        sdk.jit.get_token(request_id)
    assert info.value.status_code == 403
    # No new requests in the finished task.
    with pytest.raises(LumoAuthApiError) as info:
        sdk.jit.request(task_id, READ_FILE)
    assert info.value.status_code == 422
    # complete_task with no task is a no-op.
    assert jit.complete_task() is True


def test_jit_sdk_medium_risk_request_waits_for_a_reviewer(lumod, org, agent, reviewer):
    sdk = sdk_agent(lumod, agent)
    jit = JITContext(sdk)
    task_id = jit.create_task(name="Edit the report")

    pending = jit.request_permission(WRITE_FILE, justification="Fix a typo",
                                     wait_for_approval=False)
    parsed = RequestPermissionResponse.from_dict(pending)
    assert (parsed.status, parsed.risk_level, parsed.task_id) == ("pending", "medium", task_id)
    request_id = parsed.request_id
    assert parsed.status_url == f"/orgs/{org}/api/v1/jit/request/{request_id}/status"
    assert parsed.expires_at is not None and parsed.message
    assert parsed.token_url is None and parsed.granted_ttl is None

    # The SDK polls the relative status_url exactly as returned.
    poll = HttpClient(lumod.base, org_id=org, token_provider=lambda: sdk.access_token)
    before = GetRequestStatusResponse.from_dict(poll.request("GET", parsed.status_url))
    assert (before.status, before.risk_level, before.request_id) == (
        "pending", "medium", request_id)
    assert before.token_url is None
    with pytest.raises(LumoAuthPermissionDeniedError) as info:
        jit.get_token(request_id)
    assert info.value.status_code == 403

    # The reviewer sees it (through the SDK's own pending() with the reviewer's token).
    queue = LumoAuth(base_url=lumod.base, org_id=org,
                     token_provider=lambda: reviewer.token).jit.pending()
    listed = [r for r in queue if r["request_id"] == request_id]
    assert len(listed) == 1, queue
    assert listed[0]["authorization_details"] == WRITE_FILE
    assert listed[0]["justification"] == "Fix a typo"
    assert listed[0]["requested_ttl"] == 300
    assert listed[0]["status"] == "pending" and listed[0]["risk_level"] == "medium"

    approved = reviewer.approve(request_id, ttl=240, notes="checked the diff",
                                agent_message="go ahead")
    assert approved.status_code == 200, approved.text
    assert ApproveRequestResponse.from_json(approved.text).to_dict() == {
        "request_id": request_id, "status": "approved", "granted_ttl": 240}
    after = GetRequestStatusResponse.from_dict(poll.request("GET", parsed.status_url))
    assert after.status == "approved"
    assert after.granted_ttl == 240
    assert after.token_url == f"/orgs/{org}/api/v1/jit/request/{request_id}/token"
    assert after.has_notes is True
    assert after.agent_message == "go ahead"
    assert "checked the diff" not in json.dumps(poll.request("GET", parsed.status_url))
    assert request_id not in [r["request_id"] for r in reviewer.pending()["data"]]

    jit_token = jit.get_token(request_id)
    claims = jwt_parts(jit_token)[1]
    assert claims["authorization_details"] == WRITE_FILE
    assert 0 < claims["exp"] - claims["iat"] <= 240

    # request_permission(wait_for_approval=True) polls until a reviewer decides.
    errors = []
    decider = threading.Thread(target=decide_when_listed, daemon=True, args=(
        reviewer, task_id, "approve", {"ttl": 90, "agent_message": "once"}, errors))
    decider.start()
    polled = jit.request_permission(DELETE_DB, justification="Drop test rows",
                                    poll_interval=1, poll_timeout=30)
    decider.join(30)
    assert not errors, errors
    result = GetRequestStatusResponse.from_dict(polled)
    assert (result.status, result.risk_level, result.granted_ttl) == ("approved", "critical", 90)
    assert result.agent_message == "once" and result.has_notes is False
    assert jwt_parts(jit.get_token(result.request_id))[1]["authorization_details"] == DELETE_DB
    assert jit.complete_task() is True
    assert me_status(lumod, jit_token) == 401


def test_jit_sdk_denied_request(lumod, org, agent, reviewer):
    sdk = sdk_agent(lumod, agent)
    jit = JITContext(sdk)
    task_id = jit.create_task(name="Scan all files")

    errors = []
    decider = threading.Thread(target=decide_when_listed, daemon=True, args=(
        reviewer, task_id, "deny",
        {"reason": "Too broad", "agent_message": "Ask for one file"}, errors))
    decider.start()
    result = jit.request_permission(ANY_FILE, poll_interval=1, poll_timeout=30)
    decider.join(30)
    assert not errors, errors
    parsed = GetRequestStatusResponse.from_dict(result)
    assert (parsed.status, parsed.risk_level, parsed.task_id) == ("denied", "high", task_id)
    assert parsed.agent_message == "Ask for one file"
    assert parsed.has_notes is False
    assert parsed.token_url is None and parsed.granted_ttl is None
    assert isinstance(result.get("deny_reason"), str) and result["deny_reason"], result
    with pytest.raises(LumoAuthPermissionDeniedError) as info:
        jit.get_token(parsed.request_id)
    assert info.value.status_code == 403
    # Decided once: neither approve nor deny again.
    for again in (reviewer.approve(parsed.request_id), reviewer.deny(parsed.request_id)):
        api_error(again, 409)
    assert jit.complete_task() is True
    assert sdk.jit.get_status(parsed.request_id)["status"] == "denied"


def test_jit_sdk_deny_reason_is_what_the_reviewer_wrote_for_the_agent(lumod, agent, reviewer):
    # The contract: `reason` is internal and never shown to the agent; `agent_message` is what
    # the agent may read, so it is the deny_reason the SDK README prints.
    sdk = sdk_agent(lumod, agent)
    jit = JITContext(sdk)
    jit.create_task()
    pending = jit.request_permission(ANY_FILE, wait_for_approval=False)
    denied = reviewer.deny(pending["request_id"], reason="internal: too broad",
                           agent_message="Ask for one file")
    assert denied.status_code == 200, denied.text
    status = sdk.jit.get_status(pending["request_id"])
    assert status["status"] == "denied"
    assert status["deny_reason"] == "Ask for one file"
    assert "internal" not in str(status)


def test_jit_sdk_evaluate_task_ends_it(lumod, oauth, agent):
    sdk = sdk_agent(lumod, agent)
    jit = JITContext(sdk)
    task_id = jit.create_task(name="Short job")
    granted = jit.request_permission(READ_FILE)
    jit_token = jit.get_token(granted["request_id"])
    assert me_status(lumod, jit_token) == 200

    report = jit.evaluate_task()   # result "completed" by default
    assert report["task_id"] == task_id
    assert report["status"] == "completed"
    assert report["access"] == "revoked"
    assert me_status(lumod, jit_token) == 401
    assert introspect(oauth, agent, jit_token).active is False
    assert sdk.jit.get_status(granted["request_id"])["status"] == "revoked"

    # Failed / cancelled tasks end the same way; the task id may be given explicitly.
    for outcome in ("failed", "cancelled"):
        other = JITContext(sdk)
        tid = other.create_task()
        token = other.get_token(other.request_permission(READ_FILE)["request_id"])
        out = jit.evaluate_task(tid, result=outcome, notes=f"{outcome} on purpose")
        assert (out["task_id"], out["status"], out["access"]) == (tid, outcome, "revoked")
        assert me_status(lumod, token) == 401
        with pytest.raises(LumoAuthApiError) as info:
            other.request_permission(READ_FILE)
        assert info.value.status_code == 422

    with pytest.raises(LumoAuthApiError) as info:
        jit.evaluate_task(task_id, result="exploded")
    assert (info.value.status_code, info.value.code) == (400, "invalid_request")


def test_jit_sdk_on_behalf_of_a_user(lumod, api_client, org, oauth, review_client, agent,
                                     reviewer):
    user = create_password_user(api_client, org, name="Olive Owner")
    user_access = user_token(oauth, review_client, user, scope="openid jit:approve")
    sdk = sdk_agent(lumod, agent)
    jit = JITContext(sdk)
    assert jit.delegate_on_behalf_of(user_access) is True
    # The same exchange through the SDK's auth resource shows what the context now holds.
    delegated = LumoAuth(base_url=lumod.base, org_id=org).auth.token_exchange(
        user_access, actor_token=sdk.access_token)["access_token"]
    claims = verify_rs256(delegated, jwks(oauth))
    assert claims["sub"] == user.id
    assert claims["act"] == {"sub": agent["clientId"]}

    # The task acts for the delegating user; the agent is the delegated token's actor.
    task_id = jit.create_task(name="For Olive")
    pending = jit.request_permission(WRITE_FILE, wait_for_approval=False)
    assert (pending["status"], pending["task_id"]) == ("pending", task_id)
    listed = [r for r in reviewer.pending()["data"] if r["request_id"] == pending["request_id"]]
    assert len(listed) == 1 and listed[0]["on_behalf_of"] in (user.id, user.email), listed
    # A delegation the user did not make is no delegation: on_behalf_of of another user.
    stranger = create_password_user(api_client, org)
    with pytest.raises(LumoAuthPermissionDeniedError):
        jit.create_task(on_behalf_of=stranger.email)
    assert jit.task_id == task_id

    # The user the task acts for may not decide it, even holding jit:approve ...
    owner = Reviewer(lumod, user, user_access)
    api_error(owner.approve(pending["request_id"]), 403)
    api_error(owner.deny(pending["request_id"]), 403)
    status = status_of(lumod, sdk.access_token, pending["request_id"])
    assert status["status"] == "pending"
    # ... a delegated token is no reviewer at all ...
    api_error(raw(lumod, "GET", "~/jit/pending", token=delegated), 403)
    api_error(raw(lumod, "POST", f"~/jit/approve/{pending['request_id']}", {},
                  token=delegated), 403)
    # ... another reviewer may.
    assert reviewer.approve(pending["request_id"]).status_code == 200
    assert jit.get_token(pending["request_id"])
    assert jit.complete_task() is True


# === 2. delegation (DelegationChain) and JIT tasks for the delegating user =======================

def test_jit_delegation_chain_and_depth_limit(lumod, api_client, org, oauth, review_client):
    user = create_password_user(api_client, org, name="Dee Legate")
    user_access = user_token(oauth, review_client, user, scope="openid profile")
    agents = [create_agent(api_client, org, capabilities=["document.read"]) for _ in range(4)]
    sdks = [sdk_agent(lumod, a) for a in agents]
    ids = [a["clientId"] for a in agents]

    chain = DelegationChain(sdks[0])
    chain.set_user_token("s1", user_access)
    level1 = chain.exchange("s1")
    assert chain.has_delegation("s1")
    claims = verify_rs256(level1, jwks(oauth))
    assert claims["sub"] == user.id
    assert claims["act"] == {"sub": ids[0]}
    assert DelegationChain.parse_actor_chain(level1) == [ids[0]]
    assert DelegationChain.get_subject(level1) == user.id

    # The delegated token makes a JIT task for its user (on_behalf_of defaults to the user).
    task = new_task(lumod, token=level1, name="delegated")
    assert task["on_behalf_of"] == user.email
    assert task["agent_id"] == agents[0]["agentId"]
    assert task["agent"] == {"agent_id": agents[0]["agentId"], "name": agents[0]["name"]}
    named = new_task(lumod, token=level1, on_behalf_of=user.email)
    assert named["on_behalf_of"] == user.email
    other = create_password_user(api_client, org)
    api_error(raw(lumod, "POST", "~/jit/task", {"on_behalf_of": other.email}, token=level1), 403)
    granted = new_request(lumod, level1, task["task_id"], READ_FILE)
    assert granted["status"] == "approved"
    tok = raw(lumod, "POST", f"~/jit/request/{granted['request_id']}/token", token=level1)
    assert tok.status_code == 200, tok.text

    level2 = chain.delegate_to_sub_agent("s1", sdks[1].access_token)
    assert DelegationChain.parse_actor_chain(level2) == [ids[1], ids[0]]
    chain2 = DelegationChain(sdks[2])
    chain2.set_user_token("n", level2)
    level3 = chain2.exchange("n")
    assert DelegationChain.parse_actor_chain(level3) == [ids[2], ids[1], ids[0]]
    assert DelegationChain.get_subject(level3) == user.id

    chain3 = DelegationChain(sdks[3])
    chain3.set_user_token("n", level3)
    with pytest.raises(LumoAuthPermissionDeniedError) as info:
        chain3.exchange("n")
    assert info.value.status_code == 403
    assert info.value.body["error"] == "delegation_depth_exceeded"
    assert info.value.body["max_depth"] == 3
    assert str(info.value) == "Delegation chain too deep (max depth: 3)"
    assert not chain3.has_delegation("n")

    # The same refusal on the wire (token exchange with no client authentication).
    resp = oauth.token({"grant_type": TOKEN_EXCHANGE, "subject_token": level3,
                        "subject_token_type": ACCESS_TOKEN_TYPE,
                        "actor_token": sdks[3].access_token,
                        "actor_token_type": ACCESS_TOKEN_TYPE})
    assert resp.status_code == 403, resp.text
    assert resp.json()["error"] == "delegation_depth_exceeded"
    assert resp.json()["max_depth"] == 3


# === 3. the generated client parses every JIT response ===========================================

def test_jit_generated_client_parses_every_response(lumod, org, oauth, agent, token, reviewer):
    api = JitApi(bearer_client(lumod.base, token))
    review = JitApi(bearer_client(lumod.base, reviewer.token))

    created = api.create_task(org, CreateTaskRequest(name="Generated", type="research",
                                                     on_behalf_of=reviewer.user.email))
    assert isinstance(created, CreateTaskResponse)
    assert created.task_id.startswith("task_")
    assert created.caep_session_id
    assert created.expires_at is not None
    assert created.agent_id == agent["agentId"]
    assert created.agent == {"agent_id": agent["agentId"], "name": agent["name"]}
    assert created.on_behalf_of == reviewer.user.email
    child = api.create_task(org, CreateTaskRequest(parent_task_id=created.task_id))
    assert child.on_behalf_of is None
    task_id = child.task_id

    low = api.request_permission(org, RequestPermissionRequest(
        task_id=task_id, authorization_details=READ_FILE, requested_ttl=200,
        justification="read", callback_url="https://agent.example.com/hook"))
    assert isinstance(low, RequestPermissionResponse)
    assert (low.status, low.risk_level, low.granted_ttl) == ("approved", "low", 200)
    status = api.get_request_status(org, low.request_id)
    assert isinstance(status, GetRequestStatusResponse)
    assert (status.request_id, status.status, status.task_id) == (low.request_id, "approved",
                                                                   task_id)
    assert status.token_url == low.token_url and status.granted_ttl == 200
    issued = api.get_request_token(org, low.request_id)
    assert isinstance(issued, GetRequestTokenResponse)
    assert issued.token_type == "Bearer"
    assert 0 < issued.expires_in <= 200
    # The fields the model does not declare are still sent.
    raw_token = api.get_request_token_with_http_info(org, low.request_id).raw_data
    full = json.loads(raw_token)
    assert full["issued_token_type"] == ACCESS_TOKEN_TYPE
    assert full["authorization_details"] == READ_FILE
    assert (full["task_id"], full["jit_request_id"]) == (task_id, low.request_id)

    medium = api.request_permission(org, RequestPermissionRequest(
        task_id=task_id, authorization_details=WRITE_FILE))
    assert (medium.status, medium.risk_level) == ("pending", "medium")
    assert medium.status_url and medium.expires_at and medium.message
    critical = api.request_permission(org, RequestPermissionRequest(
        task_id=task_id, authorization_details=DELETE_DB, requested_ttl=900))
    assert (critical.status, critical.risk_level) == ("pending", "critical")

    queue = review.list_pending_requests(org)
    assert isinstance(queue, ListPendingRequestsResponse)
    assert queue.data == queue.pending_requests
    mine = {r["request_id"]: r for r in queue.data if r["task_id"] == task_id}
    assert set(mine) == {medium.request_id, critical.request_id}
    assert mine[critical.request_id]["requested_ttl"] == 900
    assert queue.count >= 2 and queue.pagination["total"] == queue.count

    approved = review.approve_request(org, medium.request_id,
                                      ApproveRequestRequest(ttl=60, notes="n",
                                                            agent_message="ok"))
    assert isinstance(approved, ApproveRequestResponse)
    assert (approved.request_id, approved.status, approved.granted_ttl) == (
        medium.request_id, "approved", 60)
    denied = review.deny_request(org, critical.request_id,
                                 DenyRequestRequest(reason="no", agent_message="never"))
    assert isinstance(denied, DenyRequestResponse)
    assert (denied.request_id, denied.status) == (critical.request_id, "denied")
    after = api.get_request_status(org, medium.request_id)
    assert (after.status, after.granted_ttl, after.has_notes, after.agent_message) == (
        "approved", 60, True, "ok")
    jit_token = api.get_request_token(org, medium.request_id)
    assert 0 < jit_token.expires_in <= 60
    with pytest.raises(ForbiddenException):
        api.get_request_token(org, critical.request_id)

    report = api.evaluate_task(org, task_id)
    assert isinstance(report, dict)
    assert (report["task_id"], report["status"], report["access"]) == (task_id, "active",
                                                                       "continue")
    done = api.complete_task(org, task_id)
    assert isinstance(done, CompleteTaskResponse)
    assert (done.task_id, done.status) == (task_id, "completed")
    assert done.completed_at is not None
    assert me_status(lumod, jit_token.access_token) == 401
    assert me_status(lumod, issued.access_token) == 401
    assert api.get_request_status(org, medium.request_id).status == "revoked"
    assert api.get_request_status(org, critical.request_id).status == "denied"
    assert api.evaluate_task(org, task_id)["access"] == "revoked"
    # The parent task is untouched by its child's completion.
    assert api.evaluate_task(org, created.task_id)["access"] == "continue"

    with pytest.raises(NotFoundException):
        api.get_request_status(org, "jit_" + "0" * 26)
    with pytest.raises(ForbiddenException):
        api.list_pending_requests(org)


# === 4. the review queue =========================================================================

def test_jit_pending_queue_is_exact_and_paginated(lumod, api_client, org, oauth, agent, token,
                                                  reviewer):
    # Everything pending in this org so far is decided first, so the counts below are exact.
    for r in reviewer.pending()["data"]:
        assert reviewer.deny(r["request_id"]).status_code == 200
    empty = reviewer.pending()
    assert (empty["data"], empty["pending_requests"], empty["count"]) == ([], [], 0)

    task = new_task(lumod, token=token)
    new_request(lumod, token, task["task_id"], READ_FILE)   # approved at once: not listed
    ids = [new_request(lumod, token, task["task_id"], d)["request_id"]
           for d in (WRITE_FILE, ANY_FILE, DELETE_DB)]
    queue = reviewer.pending()
    assert queue["count"] == 3
    assert [r["request_id"] for r in queue["data"]] == ids   # oldest first
    assert queue["pending_requests"] == queue["data"]
    assert queue["pagination"]["total"] == 3
    page = raw(lumod, "GET", "~/jit/pending?limit=2&page=2", token=reviewer.token).json()
    assert [r["request_id"] for r in page["data"]] == ids[2:]
    assert page["count"] == 3
    assert (page["pagination"]["page"], page["pagination"]["limit"]) == (2, 2)

    assert reviewer.approve(ids[0]).status_code == 200
    assert reviewer.deny(ids[1]).status_code == 200
    assert [r["request_id"] for r in reviewer.pending()["data"]] == ids[2:]
    assert raw(lumod, "POST", f"~/jit/task/{task['task_id']}/complete",
               token=token).status_code == 200
    assert reviewer.pending()["count"] == 0
    assert status_of(lumod, token, ids[2])["status"] == "revoked"


def test_jit_pending_refuses_everyone_but_reviewers(lumod, api_client, org, oauth,
                                                    review_client, agent, token):
    api_error(raw(lumod, "GET", "~/jit/pending"), 401)
    api_error(raw(lumod, "GET", "~/jit/pending", key=lumod.api_key), 401)
    for status in (raw(lumod, "GET", "~/jit/pending", token=token).status_code,
                   raw(lumod, "GET", "~/jit/pending", key=agent["apiKey"]).status_code):
        assert status in (401, 403)
    plain = create_password_user(api_client, org)
    no_scope = user_token(oauth, review_client, plain, scope="openid profile")
    body = api_error(raw(lumod, "GET", "~/jit/pending", token=no_scope), 403)
    assert "jit:approve" in body["details"]["required_scopes"]
    with pytest.raises(LumoAuthPermissionDeniedError):
        LumoAuth(base_url=lumod.base, org_id=org, token_provider=lambda: token).jit.pending()
    with pytest.raises(LumoAuthAuthenticationError):
        LumoAuth(base_url=lumod.base, org_id=org, api_key=lumod.api_key).jit.pending()


def test_jit_approve_and_deny_rules(lumod, api_client, org, oauth, review_client, agent, token,
                                    reviewer):
    task = new_task(lumod, token=token)
    pending = new_request(lumod, token, task["task_id"], WRITE_FILE, requested_ttl=500)
    rid = pending["request_id"]

    # Not reviewers: the agent itself, its key, the org API key, a user without jit:approve.
    for path in (f"~/jit/approve/{rid}", f"~/jit/deny/{rid}"):
        api_error(raw(lumod, "POST", path, {}, token=token), 403)
        assert raw(lumod, "POST", path, {}, key=agent["apiKey"]).status_code in (401, 403)
        api_error(raw(lumod, "POST", path, {}, key=lumod.api_key), 401)
        api_error(raw(lumod, "POST", path, {}), 401)
    plain = create_password_user(api_client, org)
    no_scope = user_token(oauth, review_client, plain, scope="openid profile")
    api_error(raw(lumod, "POST", f"~/jit/approve/{rid}", {}, token=no_scope), 403)

    # Bad ttl / body, unknown request.
    for ttl in (0, 901, -5, "60", 1.5):
        api_error(reviewer.approve(rid, ttl=ttl), 400, "invalid_request")
    api_error(reviewer.approve("jit_" + "0" * 26), 404)
    api_error(reviewer.deny("jit_" + "0" * 26), 404)
    assert status_of(lumod, token, rid)["status"] == "pending"

    # Without ttl the requested one is granted.
    approved = reviewer.approve(rid)
    assert approved.status_code == 200, approved.text
    assert approved.json() == {"request_id": rid, "status": "approved", "granted_ttl": 500}
    api_error(reviewer.approve(rid), 409)
    api_error(reviewer.deny(rid), 409)
    # An auto-approved (low risk) request is already decided too.
    low = new_request(lumod, token, task["task_id"], READ_FILE)
    api_error(reviewer.approve(low["request_id"]), 409)
    api_error(reviewer.deny(low["request_id"]), 409)
    # After the task is done, its requests are no longer decidable.
    late = new_request(lumod, token, task["task_id"], ANY_FILE)["request_id"]
    assert raw(lumod, "POST", f"~/jit/task/{task['task_id']}/complete",
               token=token).status_code == 200
    assert status_of(lumod, token, late)["status"] == "revoked"
    api_error(reviewer.approve(late), 409)


def test_jit_reviewer_who_registered_the_agent_is_refused(lumod, api_client, org, oauth,
                                                          review_client, reviewer):
    registrar = create_password_user(api_client, org, name="Reg Istrar")
    send(api_client, "POST", "/admin/users/{userId}/permissions", org,
         path_params={"userId": registrar.id}, body={"permissionId": "admin:agents:write"},
         types={"200": "AddUserPermissionResponse"})
    registrar_token = user_token(oauth, review_client, registrar,
                                 scope="openid admin:agents:write jit:approve")
    bound = create_agent_client(api_client, org)
    reg = raw(lumod, "POST", "~/agents/register",
              {"client_id": bound.client_id, "name": unique("registered")},
              token=registrar_token)
    assert reg.status_code == 200, reg.text
    agent_access = oauth.client_credentials(bound)["access_token"]

    task = new_task(lumod, token=agent_access)
    assert task["agent_id"] == reg.json()["agent_id"]
    rid = new_request(lumod, agent_access, task["task_id"], WRITE_FILE)["request_id"]
    api_error(Reviewer(lumod, registrar, registrar_token).approve(rid), 403)
    api_error(Reviewer(lumod, registrar, registrar_token).deny(rid), 403)
    assert status_of(lumod, agent_access, rid)["status"] == "pending"
    assert reviewer.approve(rid, ttl=30).json()["granted_ttl"] == 30


# === 5. bad input and credentials ================================================================

BAD_DETAILS = {
    "missing": None,
    "null": "null",
    "string": "file_access",
    "number": 7,
    "empty-list": [],
    "empty-object": {},
    "list-of-empty": [{}],
    "no-type": {"actions": ["read"], "identifier": "a"},
    "blank-type": {"type": "  ", "actions": ["read"], "identifier": "a"},
    "type-number": {"type": 5, "actions": ["read"]},
    "actions-string": {"type": "f", "actions": "read", "identifier": "a"},
    "actions-numbers": {"type": "f", "actions": [1], "identifier": "a"},
    "locations-string": {"type": "f", "actions": ["read"], "locations": "https://x"},
    "datatypes-object": {"type": "f", "actions": ["read"], "datatypes": {"a": 1}},
    "identifier-number": {"type": "f", "actions": ["read"], "identifier": 7},
    "list-with-string": [{"type": "f", "actions": ["read"], "identifier": "a"}, "x"],
    "eleven-entries": [{"type": "f", "actions": ["read"], "identifier": "a"}] * 11,
    "too-large": {"type": "f", "actions": ["read"], "identifier": "a" * 9000},
}


@pytest.mark.parametrize("case", list(BAD_DETAILS), ids=list(BAD_DETAILS))
def test_jit_bad_authorization_details(lumod, token, case):
    task = new_task(lumod, token=token)
    body = {"task_id": task["task_id"]}
    if case != "missing":
        body["authorization_details"] = None if case == "null" else BAD_DETAILS[case]
    api_error(raw(lumod, "POST", "~/jit/request", body, token=token), 400,
              "invalid_authorization_details")


def test_jit_request_ttl_task_and_body_checks(lumod, api_client, org, oauth, agent, token):
    task = new_task(lumod, token=token)
    tid = task["task_id"]
    for ttl in (0, 901, "300", -1, 1.5, True):
        resp = raw(lumod, "POST", "~/jit/request",
                   {"task_id": tid, "authorization_details": READ_FILE, "requested_ttl": ttl},
                   token=token)
        api_error(resp, 400, "invalid_request")
    assert new_request(lumod, token, tid, READ_FILE, requested_ttl=1)["granted_ttl"] == 1
    assert new_request(lumod, token, tid, READ_FILE, requested_ttl=900)["granted_ttl"] == 900
    assert new_request(lumod, token, tid, READ_FILE)["granted_ttl"] == 600   # the default
    # A list of details: the riskiest entry decides.
    both = new_request(lumod, token, tid, [READ_FILE, WRITE_FILE])
    assert (both["status"], both["risk_level"]) == ("pending", "medium")
    reads = new_request(lumod, token, tid, [READ_FILE, {"type": "db", "actions": ["list", "view"],
                                                        "locations": ["https://db/x"]}])
    assert (reads["status"], reads["risk_level"]) == ("approved", "low")
    unnamed = new_request(lumod, token, tid, {"type": "db", "actions": ["read"]})
    assert (unnamed["status"], unnamed["risk_level"]) == ("pending", "high")
    no_actions = new_request(lumod, token, tid, {"type": "db", "identifier": "t"})
    assert no_actions["risk_level"] == "high"
    for verb in ("delete", "admin", "transfer", "pay", "grant", "revoke", "impersonate"):
        crit = new_request(lumod, token, tid, {"type": "x", "actions": ["read", verb],
                                               "identifier": "t"})
        assert (crit["status"], crit["risk_level"]) == ("pending", "critical"), verb

    api_error(raw(lumod, "POST", "~/jit/request", {"authorization_details": READ_FILE},
                  token=token), 400, "invalid_request")
    api_error(raw(lumod, "POST", "~/jit/request", {"task_id": 5,
                                                   "authorization_details": READ_FILE},
                  token=token), 400, "invalid_request")
    api_error(raw(lumod, "POST", "~/jit/request",
                  {"task_id": tid, "authorization_details": READ_FILE,
                   "callback_url": "ftp://x"}, token=token), 400, "invalid_request")
    api_error(raw(lumod, "POST", "~/jit/request",
                  {"task_id": "task_" + "0" * 26, "authorization_details": READ_FILE},
                  token=token), 404, "resource_not_found")
    # Another agent's task is not found, like an unknown one.
    stranger = agent_token(oauth, create_agent(api_client, org))
    api_error(raw(lumod, "POST", "~/jit/request",
                  {"task_id": tid, "authorization_details": READ_FILE}, token=stranger), 404,
              "resource_not_found")
    api_error(raw(lumod, "POST", f"~/jit/task/{tid}/complete", token=stranger), 404)
    api_error(raw(lumod, "POST", f"~/jit/task/{tid}/evaluate", {"result": "failed"},
                  token=stranger), 404)
    # Malformed JSON, a non-object body.
    resp = raw(lumod, "POST", "~/jit/request", data="{nope", token=token,
               headers={"Content-Type": "application/json"})
    assert resp.status_code == 400, resp.text
    resp = raw(lumod, "POST", "~/jit/request", data='["a"]', token=token,
               headers={"Content-Type": "application/json"})
    assert resp.status_code in (400, 422), resp.text
    # A finished task takes no new requests.
    assert raw(lumod, "POST", f"~/jit/task/{tid}/complete", token=token).status_code == 200
    api_error(raw(lumod, "POST", "~/jit/request",
                  {"task_id": tid, "authorization_details": READ_FILE}, token=token), 422,
              "validation_error")


def test_jit_status_and_token_belong_to_the_requesting_agent(lumod, api_client, org, oauth,
                                                             agent, token, reviewer):
    task = new_task(lumod, token=token)
    low = new_request(lumod, token, task["task_id"], READ_FILE)
    pending = new_request(lumod, token, task["task_id"], WRITE_FILE)
    denied = new_request(lumod, token, task["task_id"], ANY_FILE)
    assert reviewer.deny(denied["request_id"], reason="no").status_code == 200

    stranger = agent_token(oauth, create_agent(api_client, org))
    for rid in (low["request_id"], pending["request_id"]):
        api_error(raw(lumod, "GET", f"~/jit/request/{rid}/status", token=stranger), 404)
        api_error(raw(lumod, "POST", f"~/jit/request/{rid}/token", token=stranger), 404)
    with pytest.raises(LumoAuthNotFoundError):
        LumoAuth(base_url=lumod.base, org_id=org,
                 token_provider=lambda: stranger).jit.get_status(low["request_id"])
    api_error(raw(lumod, "GET", "~/jit/request/jit_nope/status", token=token), 404)
    api_error(raw(lumod, "POST", "~/jit/request/jit_nope/token", token=token), 404)
    api_error(raw(lumod, "POST", f"~/jit/request/{pending['request_id']}/token", token=token),
              403)
    api_error(raw(lumod, "POST", f"~/jit/request/{denied['request_id']}/token", token=token),
              403)
    # The agent's key works like its token.
    resp = raw(lumod, "POST", f"~/jit/request/{low['request_id']}/token", key=agent["apiKey"])
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["token_type"] == "Bearer"
    assert body["issued_token_type"] == ACCESS_TOKEN_TYPE
    assert body["jit_request_id"] == low["request_id"]
    assert body["task_id"] == task["task_id"]
    assert body["authorization_details"] == READ_FILE
    assert 0 < body["expires_in"] <= 600
    # A reviewer may read a status but is no agent of the request.
    assert status_of(lumod, reviewer.token, pending["request_id"])["status"] == "pending"
    api_error(raw(lumod, "POST", f"~/jit/request/{low['request_id']}/token",
                  token=reviewer.token), 404)
    # Statuses without a credential or with an org key are refused.
    api_error(raw(lumod, "GET", f"~/jit/request/{low['request_id']}/status"), 401)
    api_error(raw(lumod, "GET", f"~/jit/request/{low['request_id']}/status",
                  key=lumod.api_key), 401)


def test_jit_task_credentials_parents_and_on_behalf_of(lumod, api_client, org, oauth,
                                                       review_client, agent, token):
    # The org API key, no credential and a garbage token are refused.
    api_error(raw(lumod, "POST", "~/jit/task", {"name": "k"}, key=lumod.api_key), 401,
              "invalid_token")
    api_error(raw(lumod, "POST", "~/jit/task", {"name": "anon"}), 401)
    api_error(raw(lumod, "POST", "~/jit/task", {}, token="not-a-token"), 401)
    with pytest.raises(LumoAuthAuthenticationError):
        LumoAuth(api_key=lumod.api_key, base_url=lumod.base, org_id=org).jit.create_task()
    # A plain user token (not delegated to an agent) makes no tasks.
    user = create_password_user(api_client, org)
    user_access = user_token(oauth, review_client, user, scope="openid jit:approve")
    api_error(raw(lumod, "POST", "~/jit/task", {}, token=user_access), 403, "forbidden")

    # The agent key (agk_) works, as does an empty body.
    by_key = new_task(lumod, key=agent["apiKey"], name="by key", type="research")
    assert by_key["agent_id"] == agent["agentId"]
    assert by_key["agent"] == {"agent_id": agent["agentId"], "name": agent["name"]}
    assert (by_key["name"], by_key["type"], by_key["status"]) == ("by key", "research", "active")
    assert by_key["on_behalf_of"] is None
    assert is_rfc3339(by_key["expires_at"])
    resp = requests.post(org_url(lumod, "~/jit/task"), timeout=30,
                         headers={"Authorization": "Bearer " + token})
    assert resp.status_code == 201, resp.text
    sdk_task = LumoAuth(api_key=agent["apiKey"], base_url=lumod.base, org_id=org).jit.create_task()
    assert sdk_task["agent_id"] == agent["agentId"]

    # Parents: own live task only.
    child = new_task(lumod, token=token, parent_task_id=by_key["task_id"],
                     on_behalf_of=user.id)
    assert child["parent_task_id"] == by_key["task_id"]
    assert child["on_behalf_of"] == user.email
    api_error(raw(lumod, "POST", "~/jit/task", {"parent_task_id": "task_" + "0" * 26},
                  token=token), 404)
    stranger = agent_token(oauth, create_agent(api_client, org))
    api_error(raw(lumod, "POST", "~/jit/task", {"parent_task_id": by_key["task_id"]},
                  token=stranger), 404)
    assert raw(lumod, "POST", f"~/jit/task/{child['task_id']}/complete",
               token=token).status_code == 200
    api_error(raw(lumod, "POST", "~/jit/task", {"parent_task_id": child["task_id"]},
                  token=token), 422)

    # on_behalf_of: an unknown user is 404; a non-string is 400.
    api_error(raw(lumod, "POST", "~/jit/task", {"on_behalf_of": "ghost@example.com"},
                  token=token), 404, "resource_not_found")
    api_error(raw(lumod, "POST", "~/jit/task",
                  {"on_behalf_of": "00000000-0000-4000-8000-000000000000"}, token=token), 404)
    api_error(raw(lumod, "POST", "~/jit/task", {"on_behalf_of": 12}, token=token), 400,
              "invalid_request")
    api_error(raw(lumod, "POST", "~/jit/task", {"name": ["x"]}, token=token), 400,
              "invalid_request")


def test_jit_oversized_bodies_are_413(lumod, token):
    task = new_task(lumod, token=token)
    big = json.dumps({"task_id": task["task_id"], "authorization_details": READ_FILE,
                      "justification": "x" * ((1 << 20) + 10)})
    resp = raw(lumod, "POST", "~/jit/request", data=big, token=token,
               headers={"Content-Type": "application/json"})
    api_error(resp, 413, "payload_too_large")
    big_task = json.dumps({"name": "n", "pad": "x" * ((1 << 20) + 10)})
    resp = raw(lumod, "POST", "~/jit/task", data=big_task, token=token,
               headers={"Content-Type": "application/json"})
    api_error(resp, 413, "payload_too_large")
    # Just under the limit the long justification is a plain 400 (too long), not 413.
    resp = raw(lumod, "POST", "~/jit/request", token=token,
               body={"task_id": task["task_id"], "authorization_details": READ_FILE,
                     "justification": "x" * 5000})
    api_error(resp, 400, "invalid_request")


def test_jit_grant_token_lifetime_follows_the_granted_ttl(lumod, oauth, agent, token, reviewer):
    task = new_task(lumod, token=token)
    rid = new_request(lumod, token, task["task_id"], WRITE_FILE, requested_ttl=600)["request_id"]
    assert reviewer.approve(rid, ttl=45).status_code == 200
    resp = raw(lumod, "POST", f"~/jit/request/{rid}/token", token=token)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert 40 <= body["expires_in"] <= 45
    claims = verify_rs256(body["access_token"], jwks(oauth))
    assert 40 <= claims["exp"] - claims["iat"] <= 45
    assert claims["jit_request_id"] == rid and claims["task_id"] == task["task_id"]
    # Two tokens of one grant: both end with the task.
    second = raw(lumod, "POST", f"~/jit/request/{rid}/token", token=token).json()
    assert second["access_token"] != body["access_token"]
    for t in (body["access_token"], second["access_token"]):
        assert introspect(oauth, agent, t).active is True
    done = raw(lumod, "POST", f"~/jit/task/{task['task_id']}/complete", token=token)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed" and is_rfc3339(done.json()["completed_at"])
    for t in (body["access_token"], second["access_token"]):
        assert introspect(oauth, agent, t).active is False
        assert me_status(lumod, t) == 401
    # The agent's own token is unaffected.
    assert me_status(lumod, token) == 200
    # Completing again keeps the first outcome.
    again = raw(lumod, "POST", f"~/jit/task/{task['task_id']}/evaluate", {"result": "failed"},
                token=token)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "completed"


def test_jit_other_orgs_and_disabled_agents(lumod, api_client, org, oauth, agent, token,
                                            reviewer):
    task = new_task(lumod, token=token)
    low = new_request(lumod, token, task["task_id"], READ_FILE)
    pending = new_request(lumod, token, task["task_id"], WRITE_FILE)
    jit_token = raw(lumod, "POST", f"~/jit/request/{low['request_id']}/token",
                    token=token).json()["access_token"]

    # Another org: its agents do not see this org's tasks and requests, and this org's tokens
    # (agent, JIT, reviewer) are not credentials there.
    slug = unique("jit-other")
    data = lumod.create_org(slug, "JIT other")
    there = dataclasses.replace(lumod, org=slug, api_key=data["apiKey"])
    config = Configuration(host=lumod.base)
    config.api_key = {"ApiKeyAuth": data["apiKey"]}
    foreign = create_agent(ApiClient(config), slug)
    foreign_token = agent_token(OAuthHttp(lumod.base, slug), foreign)
    api_error(raw(there, "POST", "~/jit/request",
                  {"task_id": task["task_id"], "authorization_details": READ_FILE},
                  token=foreign_token), 404)
    api_error(raw(there, "GET", f"~/jit/request/{low['request_id']}/status",
                  token=foreign_token), 404)
    api_error(raw(there, "POST", "~/jit/task", {"parent_task_id": task["task_id"]},
                  token=foreign_token), 404)
    for credential in (token, jit_token, reviewer.token):
        api_error(raw(there, "POST", "~/jit/task", {}, token=credential), 401)
    api_error(raw(there, "GET", "~/jit/pending", token=reviewer.token), 401)
    api_error(raw(there, "POST", f"~/jit/approve/{pending['request_id']}", {},
                  token=reviewer.token), 401)
    api_error(raw(lumod, "POST", "~/jit/task", {}, token=foreign_token), 401)
    refused = raw(lumod, "POST", "~/jit/task", {}, key=foreign["apiKey"])
    api_error(refused, refused.status_code)
    assert refused.status_code in (401, 403)

    # A disabled agent: its token, key and JIT tokens stop working until it is enabled.
    agents = f"/admin/agents/{agent['agentId']}"
    send(api_client, "POST", agents + "/disable", org, types={"200": "object"})
    try:
        api_error(raw(lumod, "POST", "~/jit/task", {}, token=token), 401)
        api_error(raw(lumod, "POST", "~/jit/task", {}, key=agent["apiKey"]), 401)
        api_error(raw(lumod, "POST", f"~/jit/request/{low['request_id']}/token",
                      token=token), 401)
        assert me_status(lumod, jit_token) == 401
    finally:
        send(api_client, "POST", agents + "/enable", org, types={"200": "object"})
    assert me_status(lumod, jit_token) == 200
    assert raw(lumod, "POST", f"~/jit/request/{low['request_id']}/token",
               token=token).status_code == 200
    # Deleting the agent ends its JIT tokens for good (another client introspects).
    witness = create_agent(api_client, org)
    assert introspect(oauth, witness, jit_token).active is True
    send(api_client, "DELETE", agents, org, types={"200": "object"})
    assert me_status(lumod, jit_token) == 401
    assert introspect(oauth, witness, jit_token).active is False
