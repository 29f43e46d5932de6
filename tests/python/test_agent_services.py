"""Services for AI agents through the official clients: push approvals
(`~/agents/me/approvals`, answered on the hosted page `~/oauth/approvals`), MCP servers (the
admin family `~/admin/mcp/servers`, the management reads `~/mcp/servers`, RFC 9728 metadata,
the challenge endpoint, per-tool authorization `~/agents/me/mcp/authorize`) and the token
vault (`~/admin/agents/{id}/connections`, an admin extension, and the agent's side
`~/agents/me/connections`).

The hand-written SDK `lumoauth==1.1.0` is used unchanged, as its docstrings show:
`require_approval` (and `agent.approvals`) block until the user answers on the hosted page, in a
thread here; `LumoAuthAgent.get_mcp_token` / `mcp.get_token` exchange the agent's token for one
bound to an MCP server's resource; `JITContext.call_with_escalation` turns a JIT-mode server's
403 `Insufficient-Authorization-Details` into a JIT request that a reviewer (a user token with
`jit:approve`) approves. Every response of the approvals, mcp and token_vault families is also
parsed with the generated client (`AgentsApi`, `AdminMcpApi`, `McpApi`, `TokenVaultApi`); the
operations whose bodies the client does not declare go through `lumo_helpers.send`.

The module works in an org of its own, so audit queries and lists count only what it made.
Test names hold `approval`, `mcp` or `vault` (run.sh -k "mcp or vault or approval").
"""

import base64
import dataclasses
import html
import json
import re
import secrets
import threading
import time
import types
from datetime import datetime, timedelta, timezone

import pytest
import requests

import lumoauth_api_client
from lumoauth import LumoAuth, LumoAuthAgent, require_approval
from lumoauth.errors import (
    LumoAuthApprovalNotDeliveredError,
    LumoAuthPermissionDeniedError,
)
from lumoauth.jit import JITContext
from lumoauth_api_client import AdminMcpApi, AgentsApi, McpApi, TokenVaultApi
from lumoauth_api_client.exceptions import (
    ApiException,
    NotFoundException,
    UnauthorizedException,
)
from lumoauth_api_client.models import (
    AdminMcpServersCreateResponse,
    AdminMcpServersGetResponse,
    AdminMcpServersListResponse,
    AgentOutboundConnection,
    AuthorizeMcpResponse,
    CreateApprovalResponse,
    CreateApprovalResponse202,
    GetApprovalStatusResponse,
    GetConnectionTokenResponse,
    GetProtectedResourceMetadataRoot200Response,
    GetServerChallengeResponse,
    GetServerResponse,
    ListConnectionsResponse,
    ListServersResponse,
    McpServer,
    MessageResponse,
    ProtectedResourceList,
    ProtectedResourceMetadata,
    SingleServerMetadata,
)

from org_fixtures import key_client, own_org_fixtures
from lumo_helpers import (
    ACCESS_TOKEN_TYPE,
    TOKEN_EXCHANGE,
    OAuthHttp,
    bearer_client,
    create_oauth_client,
    create_password_user,
    form_action,
    hidden_inputs,
    jwt_parts,
    oauth_error,
    send,
    unique,
    unique_email,
)

CC = "client_credentials"
APPROVAL_TTL = 300
REVIEW_SCOPES = ["openid", "profile", "email", "jit:approve"]


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


def api_error(resp, status: int, error: str = None) -> dict:
    """An error answer in the LumoAuth shape `{error, error_description, message, status}`."""
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


def exc_body(exc: ApiException) -> dict:
    body = json.loads(exc.body)
    assert body["status"] == exc.status, body
    return body


def bearer_send(lumod, token, method, path, *, body=None, types=None, path_params=None,
                org=None):
    """`lumo_helpers.send` with `Authorization: Bearer <token>` (for operations whose body
    the generated client does not declare)."""
    return send(bearer_client(lumod.base, token), method, path, org or lumod.org, body=body,
                types=types, path_params=path_params, auth=("BearerAuth",))


def create_agent(api_client, org, **fields) -> dict:
    """POST ~/admin/agents; returns `data` (clientId, clientSecret, apiKey, agentId …)."""
    body = {"name": fields.pop("name", None) or unique("svc-agent")}
    body.update(fields)
    resp = send(api_client, "POST", "/admin/agents", org, body=body,
                types={"201": "AdminAgentsCreateResponse"})
    assert resp.status_code == 201
    data = resp.data.data
    assert data["agentId"].startswith("agt_") and data["apiKey"].startswith("agk_"), data
    return data


def token_response(oauth, agent: dict, **extra) -> requests.Response:
    """client_credentials with the secret in the form body (what the SDK sends)."""
    form = {"grant_type": CC, "client_id": agent["clientId"],
            "client_secret": agent["clientSecret"]}
    form.update(extra)
    return oauth.token(form)


def agent_token(oauth, agent: dict, **extra) -> str:
    resp = token_response(oauth, agent, **extra)
    assert resp.status_code == 200, resp.text
    return resp.json()["access_token"]


def sdk_agent(lumod, agent: dict) -> LumoAuthAgent:
    sdk = LumoAuthAgent(base_url=lumod.base, org_id=lumod.org, client_id=agent["clientId"],
                        client_secret=agent["clientSecret"])
    assert sdk.authenticate() is True
    return sdk


def admin_test_token(lumod, agent: dict) -> str:
    resp = raw(lumod, "POST", f"~/admin/agents/{agent['agentId']}/token", {})
    assert resp.status_code == 200, resp.text
    token = resp.json()["data"]["accessToken"]
    assert jwt_parts(token)[1]["lumo_test_token"] is True
    return token


def parse_time(value: str) -> datetime:
    assert isinstance(value, str), value
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None, value
    return parsed


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def audit_entries(lumod, **filters) -> list:
    query = "&".join(f"{k}={v}" for k, v in filters.items())
    resp = raw(lumod, "GET", f"~/admin/audit-logs?{query}&limit=100")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["pagination"]["total"] == len(body["data"]), body["pagination"]
    return body["data"]


# --- the hosted approvals page ----------------------------------------------------------------

def approvals_url(oauth) -> str:
    return oauth.url("/oauth/approvals")


def approval_forms(page: str) -> list:
    """The answer forms of the hosted approvals page, each with its hidden fields, its action
    and the text shown before it (agent, reason, impact, task, meta)."""
    forms, start = [], 0
    for match in re.finditer(r'<form method="post" action="([^"]+)">(.*?)</form>', page, re.S):
        shown = html.unescape(re.sub(r"<[^>]+>", " ", page[start:match.start()]))
        forms.append({"action": html.unescape(match.group(1)),
                      "fields": hidden_inputs(match.group(2)), "shown": shown})
        start = match.end()
    return forms


def approvals_page(oauth, browser) -> requests.Response:
    resp = browser.get(approvals_url(oauth), allow_redirects=False, timeout=30)
    assert resp.status_code == 200, (resp.status_code, resp.text[:2000])
    assert "text/html" in resp.headers.get("Content-Type", ""), resp.headers
    return resp


def form_of(oauth, browser, approval_token: str) -> dict:
    forms = [f for f in approval_forms(approvals_page(oauth, browser).text)
             if f["fields"].get("token") == approval_token]
    assert len(forms) == 1, f"{approval_token} is not listed once"
    return forms[0]


def answer(oauth, browser, approval_token: str, decision: str) -> requests.Response:
    """Answers one approval on the hosted page as the signed-in `browser`."""
    form = form_of(oauth, browser, approval_token)
    assert form["fields"]["_csrf"], form
    data = dict(form["fields"], decision=decision)
    return browser.post(oauth.base + form["action"], data=data, allow_redirects=False,
                        timeout=30)


def page_error(resp) -> str:
    """The error an answer on the hosted page showed (a 400 HTML page)."""
    assert resp.status_code == 400, (resp.status_code, resp.text[:2000])
    assert "text/html" in resp.headers.get("Content-Type", "")
    match = re.search(r'<p class="error"[^>]*>(.*?)</p>', resp.text, re.S)
    assert match, resp.text[-2000:]
    return html.unescape(match.group(1))


def answer_when_listed(oauth, browser, task_id: str, decision: str, errors: list,
                       seen: list, timeout: float = 15.0):
    """Thread body: waits until the approval of `task_id` shows on the user's page, then
    answers it there; the form's text goes to `seen`."""
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            page = approvals_page(oauth, browser).text
            mine = [f for f in approval_forms(page) if f"task {task_id}" in f["shown"]]
            if mine:
                data = dict(mine[0]["fields"], decision=decision)
                resp = browser.post(oauth.base + mine[0]["action"], data=data, timeout=30)
                assert resp.status_code == 200, resp.text[-2000:]
                notice = "Approved." if decision == "allow" else "Denied."
                assert notice in resp.text
                seen.append(mine[0])
                return
            time.sleep(0.1)
        raise AssertionError(f"the approval of {task_id} never showed on the page")
    except BaseException as exc:  # re-raised in the test thread
        errors.append(exc)


def run_with(target, *args):
    errors, seen = [], []
    thread = threading.Thread(target=target, args=(*args, errors, seen), daemon=True)
    thread.start()
    return thread, errors, seen


# --- MCP helpers --------------------------------------------------------------------------------

def resource_uri(tag="mcp") -> str:
    return f"https://mcp.example.com/{unique(tag)}"


def create_server(api_client, org, **fields) -> dict:
    """POST ~/admin/mcp/servers (body as given; name and resource_uri defaulted); returns the
    JSON `data` after checking that the client parses the 201 envelope."""
    body = {"name": fields.pop("name", None) or unique("MCP Server"),
            "resource_uri": fields.pop("resource_uri", None) or resource_uri()}
    body.update(fields)
    resp = send(api_client, "POST", "/admin/mcp/servers", org, body=body,
                types={"201": "AdminMcpServersCreateResponse"})
    assert resp.status_code == 201
    assert isinstance(resp.data, AdminMcpServersCreateResponse), resp.raw_data
    assert resp.data.message == "MCP server registered"
    data = json.loads(resp.raw_data)["data"]
    assert isinstance(resp.data.data, McpServer)
    assert resp.data.data.server_id == data["server_id"]
    return data


def metadata_url(lumod, server_id: str, org: str = None) -> str:
    return org_url(lumod, f"~/.well-known/oauth-protected-resource/mcp/{server_id}", org)


def challenge(lumod, server_id, token=None, method="GET", org=None) -> requests.Response:
    headers = {"Authorization": "Bearer " + token} if token else {}
    return requests.request(method, org_url(lumod, f"~/mcp/{server_id}/challenge", org),
                            headers=headers, timeout=30)


def www_authenticate(resp) -> dict:
    """The parameters of a `Bearer` WWW-Authenticate challenge."""
    value = resp.headers.get("WWW-Authenticate", "")
    assert value.startswith("Bearer "), resp.headers
    return dict(re.findall(r'([a-z_]+)="([^"]*)"', value))


def assert_unauthenticated(lumod, resp, server: dict, org: str = None) -> dict:
    body = api_error(resp, 401, "invalid_token")
    params = www_authenticate(resp)
    expected = metadata_url(lumod, server["server_id"], org)
    assert params["resource_metadata"] == expected, params
    assert params["error"] == "invalid_token", params
    assert body["resource_metadata"] == expected
    return params


def authenticated(server: dict) -> dict:
    return {"status": "authenticated", "server": server["name"],
            "server_id": server["server_id"]}


def exchange(oauth, agent: dict, subject: str, resource: str) -> requests.Response:
    return oauth.token({"grant_type": TOKEN_EXCHANGE, "subject_token": subject,
                        "subject_token_type": ACCESS_TOKEN_TYPE, "resource": resource,
                        "audience": resource, "client_id": agent["clientId"],
                        "client_secret": agent["clientSecret"]})


def assert_server_shape(data: dict, body: dict):
    """The admin view of a registered server against the body it was made from."""
    assert isinstance(data["id"], int) and not isinstance(data["id"], bool), data
    assert data["name"] == body["name"]
    assert data["resource_uri"] == body["resource_uri"]
    assert data["status"] == "active"
    assert isinstance(data["scopes_supported"], list)
    assert isinstance(data["allowed_client_ids"], list)
    for flag in ("require_pkce", "require_resource_param", "require_dpop"):
        assert isinstance(data[flag], bool), (flag, data)
    assert isinstance(data["token_lifetime"], int)
    parse_time(data["created_at"])


# --- fixtures: an org of this module's own ------------------------------------------------------
lumod, api_client, org, oauth, new_org = own_org_fixtures("services", "Agent services tests")


@pytest.fixture
def agent(api_client, org) -> dict:
    return create_agent(api_client, org, capabilities=["document.read"])


@pytest.fixture
def token(oauth, agent) -> str:
    return agent_token(oauth, agent)


@pytest.fixture
def approver(api_client, org, oauth):
    """A user signed in on the hosted pages (their enrolled device): (user, browser)."""
    user = create_password_user(api_client, org, name="Ada Approver")
    return types.SimpleNamespace(user=user, browser=oauth.login(user.email))


# ================================================================================================
# A. Push approvals
# ================================================================================================

def create_approval(lumod, token, **body) -> requests.Response:
    return raw(lumod, "POST", "~/agents/me/approvals", body, token=token)


def approval_status(lumod, token, approval_token) -> dict:
    resp = raw(lumod, "GET", f"~/agents/me/approvals/{approval_token}/status", token=token)
    assert resp.status_code == 200, resp.text
    return resp.json()


def pending_approval(lumod, token, user, **body) -> str:
    body.setdefault("task_id", unique("task"))
    body.setdefault("reason", "Send the Q4 invoices")
    body.setdefault("on_behalf_of", user.email)
    resp = create_approval(lumod, token, **body)
    assert resp.status_code == 201, resp.text
    return resp.json()["approval_token"]


def test_approval_for_a_signed_in_user_is_pending_for_five_minutes(lumod, org, token,
                                                                   approver):
    task_id = unique("wire")
    before = now_utc()
    resp = create_approval(lumod, token, task_id=task_id, reason="Wire $4,500 to INV-7741",
                           impact="high", on_behalf_of=approver.user.email,
                           meta={"amount": 4500, "vendor": "INV-7741"})
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert set(created) == {"approval_token", "status", "expires_at", "task_id", "impact"}
    assert created["approval_token"].startswith("apr_")
    assert len(created["approval_token"]) > 20
    assert (created["status"], created["task_id"], created["impact"]) == (
        "pending", task_id, "high")
    expires = parse_time(created["expires_at"])
    assert before + timedelta(seconds=APPROVAL_TTL - 5) <= expires
    assert expires <= now_utc() + timedelta(seconds=APPROVAL_TTL + 1)

    status = approval_status(lumod, token, created["approval_token"])
    assert status == {"approval_token": created["approval_token"], "status": "pending",
                      "task_id": task_id, "impact": "high",
                      "reason": "Wire $4,500 to INV-7741", "responded_at": None,
                      "approved_by": None}

    # The impact defaults to medium; on_behalf_of may name the user by id; tokens differ.
    again = create_approval(lumod, token, task_id=task_id, reason="Again",
                            on_behalf_of=str(approver.user.id), meta=None)
    assert again.status_code == 201, again.text
    assert again.json()["impact"] == "medium"
    assert again.json()["approval_token"] != created["approval_token"]


def test_approval_can_be_asked_with_the_agents_key(lumod, agent, approver):
    resp = raw(lumod, "POST", "~/agents/me/approvals",
               {"task_id": "by-key", "reason": "r", "on_behalf_of": approver.user.email},
               key=agent["apiKey"])
    assert resp.status_code == 201, resp.text
    status = raw(lumod, "GET", f"~/agents/me/approvals/{resp.json()['approval_token']}/status",
                 key=agent["apiKey"])
    assert status.status_code == 200 and status.json()["status"] == "pending", status.text


def test_approval_without_an_enrolled_device_is_428(lumod, api_client, org, oauth, token):
    user = create_password_user(api_client, org)
    resp = create_approval(lumod, token, task_id="no-device", reason="r",
                           on_behalf_of=user.email)
    body = api_error(resp, 428, "no_enrolled_device")
    assert body["task_id"] == "no-device"

    # Once they sign in, the same request reaches them; once they sign out, it no longer does.
    browser = oauth.login(user.email)
    assert create_approval(lumod, token, task_id="now", reason="r",
                           on_behalf_of=user.email).status_code == 201
    logout = browser.get(oauth.url("/oauth/logout"), timeout=30)
    assert logout.status_code == 200, logout.text[:2000]
    signed_out = browser.post(oauth.base + form_action(logout.text),
                              data=hidden_inputs(logout.text), allow_redirects=False,
                              timeout=30)
    assert signed_out.status_code in (200, 302, 303), signed_out.text[:2000]
    api_error(create_approval(lumod, token, task_id="gone", reason="r",
                              on_behalf_of=user.email), 428, "no_enrolled_device")


def test_approval_for_an_unknown_user_reveals_nothing_with_202(lumod, api_client, org, oauth,
                                                                token, new_org):
    blocked = create_password_user(api_client, org)
    oauth.login(blocked.email)
    resp = raw(lumod, "PATCH", f"~/admin/users/{blocked.id}", {"blocked": True})
    assert resp.status_code == 200, resp.text
    other = new_org()
    foreign = create_password_user(other.client, other.slug)
    OAuthHttp(lumod.base, other.slug).login(foreign.email)

    answers = []
    for who in (unique_email("ghost"), blocked.email, foreign.email,
                "00000000-0000-4000-8000-000000000000"):
        resp = create_approval(lumod, token, task_id="t-202", reason="r", impact="low",
                               on_behalf_of=who)
        assert resp.status_code == 202, (who, resp.text)
        answers.append(resp.json())
    # The same answer whoever was named: no account is revealed.
    first = answers[0]
    assert set(first) == {"status", "message", "task_id", "impact"}
    assert (first["status"], first["task_id"], first["impact"]) == (
        "email_fallback_sent", "t-202", "low")
    assert isinstance(first["message"], str) and first["message"]
    assert all(a == first for a in answers), answers
    assert "approval_token" not in json.dumps(answers)


def test_approval_refuses_an_admin_test_token(lumod, agent, approver):
    test_token = admin_test_token(lumod, agent)
    resp = create_approval(lumod, test_token, task_id="t", reason="r",
                           on_behalf_of=approver.user.email)
    api_error(resp, 403, "test_token_not_accepted")
    # The SDK maps it to its permission error with the server's code.
    sdk = LumoAuth(base_url=lumod.base, org_id=lumod.org, token_provider=lambda: test_token)
    with pytest.raises(LumoAuthPermissionDeniedError) as info:
        sdk.approvals.create(task_id="t", reason="r", on_behalf_of=approver.user.email)
    assert (info.value.status_code, info.value.code) == (403, "test_token_not_accepted")
    # Nothing reached the user.
    assert approval_forms(approvals_page(
        OAuthHttp(lumod.base, lumod.org), approver.browser).text) == []


BAD_APPROVALS = [
    ({"reason": "r", "on_behalf_of": "a@example.com"}, "task_id"),
    ({"task_id": "   ", "reason": "r", "on_behalf_of": "a@example.com"}, "task_id"),
    ({"task_id": "t", "on_behalf_of": "a@example.com"}, "reason"),
    ({"task_id": "t", "reason": "r"}, "on_behalf_of"),
    ({"task_id": "t", "reason": "r", "on_behalf_of": "a@example.com", "impact": "huge"},
     "impact"),
    ({"task_id": "t", "reason": "r", "on_behalf_of": "a@example.com", "impact": "HIGH"},
     "impact"),
    ({"task_id": "x" * 129, "reason": "r", "on_behalf_of": "a@example.com"}, "task_id"),
    ({"task_id": "t", "reason": "r" * 481, "on_behalf_of": "a@example.com"}, "reason"),
    ({"task_id": "t", "reason": "r", "on_behalf_of": "not a user"}, "on_behalf_of"),
    ({"task_id": 7, "reason": "r", "on_behalf_of": "a@example.com"}, "task_id"),
    ({"task_id": "t", "reason": "r", "on_behalf_of": "a@example.com", "meta": [1]}, "meta"),
    ({"task_id": "t", "reason": "r", "on_behalf_of": "a@example.com", "meta": "m"}, "meta"),
    ({"task_id": "t", "reason": "r", "on_behalf_of": "a@example.com", "meta": 3}, "meta"),
    ({"task_id": "t", "reason": "r", "on_behalf_of": "a@example.com",
      "meta": {"blob": "x" * 5000}}, "meta"),
]


@pytest.mark.parametrize("body,field", BAD_APPROVALS,
                         ids=[f"approval-{i}-{f}" for i, (_, f) in enumerate(BAD_APPROVALS)])
def test_approval_bad_bodies_are_invalid_request(lumod, token, body, field):
    body_out = api_error(create_approval(lumod, token, **body), 400, "invalid_request")
    assert field in body_out["message"], body_out


def test_approval_limits_are_inclusive_and_malformed_json_refused(lumod, token):
    at_limit = create_approval(lumod, token, task_id="t" * 128, reason="r" * 480,
                               on_behalf_of=unique_email(), meta={"k": "v"})
    assert at_limit.status_code == 202, at_limit.text
    assert at_limit.json()["task_id"] == "t" * 128
    resp = requests.post(org_url(lumod, "~/agents/me/approvals"), data="{not json",
                         headers={"Authorization": "Bearer " + token,
                                  "Content-Type": "application/json"}, timeout=30)
    api_error(resp, 400, "invalid_request")


def test_approval_length_limits_count_characters(lumod, token):
    resp = create_approval(lumod, token, task_id="é" * 128, reason="ü" * 480,
                           on_behalf_of=unique_email())
    assert resp.status_code == 202, resp.text
    assert resp.json()["task_id"] == "é" * 128


def test_approval_credentials(lumod, api_client, org, oauth, token, approver):
    body = {"task_id": "t", "reason": "r", "on_behalf_of": approver.user.email}
    # Org API keys and missing credentials are refused on the agent runtime.
    api_error(raw(lumod, "POST", "~/agents/me/approvals", body), 401, "invalid_token")
    api_error(raw(lumod, "POST", "~/agents/me/approvals", body, anonymous=True), 401)
    apr = pending_approval(lumod, token, approver.user)
    api_error(raw(lumod, "GET", f"~/agents/me/approvals/{apr}/status"), 401, "invalid_token")
    api_error(raw(lumod, "GET", f"~/agents/me/approvals/{apr}/status", anonymous=True), 401)
    # A person is not an agent: a user token cannot ask for approvals.
    client = create_oauth_client(api_client, org, allowedScopes=["openid", "profile", "email"])
    user_tok = oauth.code_tokens(approver.browser, client, scope="openid")["access_token"]
    assert create_approval(lumod, user_tok, **body).status_code == 403


def test_approval_status_is_the_asking_agents_own(lumod, api_client, org, oauth, token,
                                                 approver):
    apr = pending_approval(lumod, token, approver.user)
    other = agent_token(oauth, create_agent(api_client, org, capabilities=["x.y"]))
    for who in (other, token):
        for missing in ("apr_" + secrets.token_urlsafe(24), "nope"):
            api_error(raw(lumod, "GET", f"~/agents/me/approvals/{missing}/status", token=who),
                      404, "resource_not_found")
    api_error(raw(lumod, "GET", f"~/agents/me/approvals/{apr}/status", token=other), 404,
              "resource_not_found")
    assert approval_status(lumod, token, apr)["status"] == "pending"


def test_approval_hosted_page_needs_a_session(lumod, oauth, token, approver):
    apr = pending_approval(lumod, token, approver.user)
    def assert_sign_in_first(resp):
        """The sign-in form, coming back to the approvals page afterwards."""
        assert apr not in resp.text and "Approved." not in resp.text
        if resp.status_code in (302, 303):
            assert "login" in resp.headers["Location"], resp.headers
            return
        assert resp.status_code == 200, resp.status_code
        assert form_action(resp.text) == f"/orgs/{lumod.org}/api/v1/oauth/login/submit"
        assert hidden_inputs(resp.text)["return_to"] == f"/orgs/{lumod.org}/api/v1/oauth/approvals"

    anonymous = requests.Session()
    resp = anonymous.get(approvals_url(oauth), allow_redirects=False, timeout=30)
    assert_sign_in_first(resp)
    # Posting an answer without a session (with a valid CSRF pair) answers nothing.
    csrf = hidden_inputs(resp.text).get("_csrf", "")
    posted = anonymous.post(approvals_url(oauth), data={"_csrf": csrf, "token": apr,
                                                        "decision": "allow"},
                            allow_redirects=False, timeout=30)
    assert_sign_in_first(posted)
    assert approval_status(lumod, token, apr)["status"] == "pending"


def test_approval_answered_on_the_hosted_page(lumod, api_client, org, oauth, agent, token,
                                              approver):
    task = unique("task")
    allow = pending_approval(lumod, token, approver.user, task_id=task, reason="Pay INV-1",
                             impact="critical", meta={"amount": 12, "vendor": "ACME"})
    deny = pending_approval(lumod, token, approver.user, task_id=task + "-b",
                            reason="Delete the archive")

    forms = approval_forms(approvals_page(oauth, approver.browser).text)
    assert sorted(f["fields"]["token"] for f in forms) == sorted([allow, deny])
    shown = next(f["shown"] for f in forms if f["fields"]["token"] == allow)
    for text in (agent["name"], "Pay INV-1", "critical", task, '"vendor":"ACME"'):
        assert text in shown, (text, shown)
    assert all(f["fields"]["_csrf"] for f in forms)
    assert all(f["action"] == f"/orgs/{org}/api/v1/oauth/approvals" for f in forms)

    before = now_utc() - timedelta(seconds=2)
    resp = answer(oauth, approver.browser, allow, "allow")
    assert resp.status_code == 200, resp.text[-2000:]
    assert "Approved." in resp.text
    # The page now lists only what is still pending.
    assert [f["fields"]["token"] for f in approval_forms(resp.text)] == [deny]
    status = approval_status(lumod, token, allow)
    assert status["status"] == "approved"
    assert (status["task_id"], status["impact"], status["reason"]) == (task, "critical",
                                                                      "Pay INV-1")
    assert set(status["approved_by"]) == {"user_id"}
    user_number = status["approved_by"]["user_id"]
    assert isinstance(user_number, int) and not isinstance(user_number, bool)
    assert 0 < user_number < 2 ** 53
    assert before <= parse_time(status["responded_at"]) <= now_utc() + timedelta(seconds=2)

    denied = answer(oauth, approver.browser, deny, "deny")
    assert denied.status_code == 200 and "Denied." in denied.text
    assert approval_forms(denied.text) == []
    status = approval_status(lumod, token, deny)
    assert (status["status"], status["approved_by"]) == ("denied", None)
    assert parse_time(status["responded_at"])

    # An answered approval cannot be answered again (409 shown as the page's 400). No form is
    # left on the page, so the CSRF token comes from the form of a new approval.
    extra = pending_approval(lumod, token, approver.user)
    csrf = form_of(oauth, approver.browser, extra)["fields"]["_csrf"]
    for apr, decision in ((allow, "deny"), (allow, "allow"), (deny, "allow")):
        again = approver.browser.post(approvals_url(oauth), data={
            "_csrf": csrf, "token": apr, "decision": decision}, timeout=30)
        assert "already" in page_error(again), again.text[-1500:]
    assert approval_status(lumod, token, allow)["status"] == "approved"
    assert approval_status(lumod, token, deny)["status"] == "denied"

    # The same person is the same number on every approval.
    third = pending_approval(lumod, token, approver.user)
    answer(oauth, approver.browser, third, "allow")
    assert approval_status(lumod, token, third)["approved_by"] == {"user_id": user_number}


def test_approval_only_the_named_user_can_answer(lumod, api_client, org, oauth, token,
                                                 approver):
    mine = pending_approval(lumod, token, approver.user)
    other_user = create_password_user(api_client, org)
    other = oauth.login(other_user.email)
    theirs = pending_approval(lumod, token, other_user)
    # Each one's page lists only what waits for them.
    assert [f["fields"]["token"] for f in approval_forms(
        approvals_page(oauth, other).text)] == [theirs]
    assert mine not in approvals_page(oauth, other).text
    assert theirs not in approvals_page(oauth, approver.browser).text

    form = form_of(oauth, other, theirs)
    for decision in ("allow", "deny"):
        resp = other.post(oauth.base + form["action"], data=dict(
            form["fields"], token=mine, decision=decision), timeout=30)
        page_error(resp)
    assert approval_status(lumod, token, mine)["status"] == "pending"
    # The named user still can.
    assert answer(oauth, approver.browser, mine, "allow").status_code == 200
    assert approval_status(lumod, token, mine)["status"] == "approved"


def test_approval_page_refuses_forged_or_incomplete_answers(lumod, oauth, token, approver):
    apr = pending_approval(lumod, token, approver.user)
    form = form_of(oauth, approver.browser, apr)
    url = oauth.base + form["action"]
    for data in ({"token": apr, "decision": "allow"},
                 {"_csrf": "forged" + form["fields"]["_csrf"], "token": apr, "decision": "allow"},
                 dict(form["fields"], decision="maybe"),
                 dict(form["fields"]),
                 dict(form["fields"], token="apr_" + secrets.token_urlsafe(24),
                      decision="allow")):
        page_error(approver.browser.post(url, data=data, timeout=30))
    assert approval_status(lumod, token, apr)["status"] == "pending"


def test_approval_sdk_require_approval_approved(lumod, oauth, agent, approver):
    sdk = sdk_agent(lumod, agent)
    task = unique("wire")
    thread, errors, seen = run_with(answer_when_listed, oauth, approver.browser, task, "allow")
    result = require_approval(sdk, task_id=task, reason="Wire $4,500 to vendor INV-7741",
                              on_behalf_of=approver.user.email, impact="high",
                              meta={"action": "wire-transfer", "amount": 4500},
                              poll_interval_s=0.2, timeout_s=20)
    thread.join(20)
    assert not errors, errors
    assert result.status == "approved"
    assert result.token.startswith("apr_")
    assert (result.task_id, result.impact, result.reason) == (
        task, "high", "Wire $4,500 to vendor INV-7741")
    assert set(result.approved_by) == {"user_id"}
    assert isinstance(result.approved_by["user_id"], int)
    assert parse_time(result.responded_at)
    # The page showed the action's context to the user.
    assert '"action":"wire-transfer"' in seen[0]["shown"] and "high" in seen[0]["shown"]
    assert seen[0]["fields"]["token"] == result.token


def test_approval_sdk_require_approval_denied(lumod, oauth, agent, approver):
    sdk = sdk_agent(lumod, agent)
    task = unique("drop")
    thread, errors, _ = run_with(answer_when_listed, oauth, approver.browser, task, "deny")
    result = require_approval(sdk, task_id=task, reason="Drop the customers table",
                              on_behalf_of=str(approver.user.id), impact="critical",
                              poll_interval_s=0.2, timeout_s=20)
    thread.join(20)
    assert not errors, errors
    assert (result.status, result.approved_by, result.impact) == ("denied", None, "critical")
    assert parse_time(result.responded_at)


def test_approval_sdk_require_approval_times_out_pending(lumod, agent, approver):
    sdk = sdk_agent(lumod, agent)
    result = require_approval(sdk, task_id=unique("slow"), reason="r",
                              on_behalf_of=approver.user.email, poll_interval_s=0.2,
                              timeout_s=0.5)
    assert (result.status, result.approved_by, result.responded_at) == ("pending", None, None)


def test_approval_sdk_raises_when_not_delivered(lumod, api_client, org, agent):
    sdk = sdk_agent(lumod, agent)
    no_device = create_password_user(api_client, org)
    with pytest.raises(LumoAuthApprovalNotDeliveredError) as info:
        require_approval(sdk, task_id="t-428", reason="r", on_behalf_of=no_device.email,
                         impact="high", poll_interval_s=0.2, timeout_s=5)
    assert (info.value.reason, info.value.status_code, info.value.task_id) == (
        "no_enrolled_device", 428, "t-428")
    assert info.value.code == "APPROVAL_NOT_DELIVERED"

    with pytest.raises(LumoAuthApprovalNotDeliveredError) as info:
        require_approval(sdk, task_id="t-202", reason="r", on_behalf_of=unique_email(),
                         poll_interval_s=0.2, timeout_s=5)
    assert (info.value.reason, info.value.status_code, info.value.task_id) == (
        "email_fallback_sent", 202, "t-202")
    assert info.value.message.startswith("No push prompt was sent")

    # The resource namespace answers the same way.
    created = sdk.approvals.create(task_id="t-202", reason="r", on_behalf_of=unique_email())
    assert (created["status"], created["approval_token"]) == ("email_fallback_sent", None)
    with pytest.raises(LumoAuthApprovalNotDeliveredError) as info:
        sdk.approvals.create(task_id="t-428", reason="r", on_behalf_of=no_device.email)
    assert info.value.reason == "no_enrolled_device"
    with pytest.raises(LumoAuthApprovalNotDeliveredError) as info:
        sdk.approvals.require(task_id="t-202", reason="r", on_behalf_of=unique_email(),
                              poll_interval_s=0.2, timeout_s=5)
    assert info.value.reason == "email_fallback_sent"


def test_approval_sdk_resource_namespace_waits_for_the_answer(lumod, oauth, agent, approver):
    sdk = sdk_agent(lumod, agent)
    task = unique("ns")
    created = sdk.approvals.create(task_id=task, reason="Rotate keys", impact="low",
                                   on_behalf_of=approver.user.email, meta={"n": 1})
    assert created["status"] == "pending" and created["approval_token"].startswith("apr_")
    assert sdk.approvals.get_status(created["approval_token"])["status"] == "pending"
    thread, errors, _ = run_with(answer_when_listed, oauth, approver.browser, task, "allow")
    last = sdk.approvals.wait(created["approval_token"], poll_interval_s=0.2, timeout_s=20)
    thread.join(20)
    assert not errors, errors
    assert (last["status"], last["impact"], last["task_id"]) == ("approved", "low", task)


def test_approval_generated_client_parses_create_and_status(lumod, api_client, org, oauth,
                                                            token, approver):
    task = unique("gen")
    made = bearer_send(lumod, token, "POST", "/agents/me/approvals",
                       body={"task_id": task, "reason": "r", "impact": "medium",
                             "on_behalf_of": approver.user.email, "meta": None},
                       types={"201": "CreateApprovalResponse",
                              "202": "CreateApprovalResponse202"})
    assert made.status_code == 201
    assert isinstance(made.data, CreateApprovalResponse)
    assert (made.data.status, made.data.task_id, made.data.impact) == ("pending", task,
                                                                       "medium")
    assert made.data.expires_at.tzinfo is not None
    apr = made.data.approval_token

    fallback = bearer_send(lumod, token, "POST", "/agents/me/approvals",
                           body={"task_id": task, "reason": "r", "on_behalf_of": unique_email()},
                           types={"201": "CreateApprovalResponse",
                                  "202": "CreateApprovalResponse202"})
    assert fallback.status_code == 202
    assert isinstance(fallback.data, CreateApprovalResponse202)
    assert (fallback.data.status, fallback.data.task_id, fallback.data.impact) == (
        "email_fallback_sent", task, "medium")
    assert fallback.data.message

    with pytest.raises(ApiException) as info:
        bearer_send(lumod, token, "POST", "/agents/me/approvals",
                    body={"task_id": task, "reason": "r",
                          "on_behalf_of": create_password_user(api_client, org).email},
                    types={"201": "CreateApprovalResponse"})
    assert info.value.status == 428
    assert exc_body(info.value)["error"] == "no_enrolled_device"

    runtime = AgentsApi(bearer_client(lumod.base, token))
    pending = runtime.get_approval_status(org, apr)
    assert isinstance(pending, GetApprovalStatusResponse)
    assert (pending.status, pending.approved_by, pending.responded_at) == ("pending", None,
                                                                           None)
    answer(oauth, approver.browser, apr, "allow")
    done = runtime.get_approval_status(org, apr)
    assert (done.status, done.approval_token, done.task_id, done.reason) == (
        "approved", apr, task, "r")
    assert isinstance(done.approved_by.user_id, int)
    assert done.responded_at.tzinfo is not None
    with pytest.raises(NotFoundException):
        runtime.get_approval_status(org, "apr_" + secrets.token_urlsafe(24))
    with pytest.raises(UnauthorizedException):
        AgentsApi(api_client).get_approval_status(org, apr)


# ================================================================================================
# B. MCP servers
# ================================================================================================

def test_mcp_admin_create_with_defaults_and_slug(lumod, api_client, org):
    body = {"name": "Invoices API", "resource_uri": "https://mcp.example.com/invoices"}
    data = create_server(api_client, org, **body)
    assert_server_shape(data, body)
    assert data["server_id"] == "invoices-api"
    assert data == dict(data, description=None, endpoint_url=None, transport="http_streamable",
                        auth_mode="oauth", scopes_supported=[], allowed_client_ids=[],
                        require_pkce=True, require_resource_param=True, require_dpop=False,
                        token_lifetime=3600)

    client = create_oauth_client(api_client, org)
    full = {"name": "  Billing -- Tools v2! ", "resource_uri": "https://billing.example.com/mcp",
            "endpoint_url": "https://billing.example.com/mcp/stream",
            "description": "Billing tools", "scopes_supported": "billing:read, billing:write",
            "transport": "sse", "auth_mode": "jit", "token_lifetime": 600,
            "allowed_client_ids": [client.client_id], "require_pkce": False,
            "require_resource_param": False, "require_dpop": False}
    data = create_server(api_client, org, **full)
    assert data["server_id"] == "billing-tools-v2"
    assert data["name"] == "Billing -- Tools v2!"  # stored trimmed
    assert data["scopes_supported"] == ["billing:read", "billing:write"]
    for field in ("endpoint_url", "description", "transport", "auth_mode", "token_lifetime",
                  "allowed_client_ids", "require_pkce", "require_resource_param",
                  "require_dpop"):
        assert data[field] == full[field], field
    # A list of scopes and a space-separated string work too.
    assert create_server(api_client, org, scopes_supported=["a:r", "b:w"])[
        "scopes_supported"] == ["a:r", "b:w"]
    assert create_server(api_client, org, scopes_supported="c:r  d:w", transport="stdio")[
        "scopes_supported"] == ["c:r", "d:w"]


@pytest.mark.parametrize("asked,kept", [(1, 60), (59, 60), (60, 60), (120, 120),
                                        (86400, 86400), (86401, 86400), (10 ** 9, 86400)])
def test_mcp_admin_token_lifetime_is_clamped(api_client, org, asked, kept):
    assert create_server(api_client, org, token_lifetime=asked)["token_lifetime"] == kept


@pytest.mark.parametrize("uri", ["http://127.0.0.1:9000/mcp", "http://localhost/mcp",
                                 "http://10.1.2.3/mcp", "http://192.168.1.5:81/mcp",
                                 "http://[::1]:8080/mcp", "https://[2001:db8::1]/mcp"])
def test_mcp_admin_http_only_for_loopback_and_private_hosts(api_client, org, uri):
    assert create_server(api_client, org, resource_uri=uri)["resource_uri"] == uri


@pytest.mark.parametrize("uri", ["http://[::1]/mcp", "http://[fd00::1]/mcp"])
def test_mcp_admin_http_ipv6_loopback_without_port(api_client, org, uri):
    resp = send(api_client, "POST", "/admin/mcp/servers", org,
                body={"name": unique("v6"), "resource_uri": uri},
                types={"201": "AdminMcpServersCreateResponse"})
    assert resp.status_code == 201


def test_mcp_admin_refuses_bad_bodies_with_422(lumod, api_client, org, new_org):
    other = new_org()
    foreign = create_oauth_client(other.client, other.slug)
    ok = {"name": unique("bad"), "resource_uri": resource_uri()}
    cases = [
        ({"resource_uri": resource_uri()}, "name"),
        ({"name": unique("n")}, "resource_uri"),
        ({"name": "¡¡ !!", "resource_uri": resource_uri()}, "name"),
        (dict(ok, resource_uri="http://mcp.example.com/x"), "resource_uri"),
        (dict(ok, resource_uri="https://mcp.example.com/x#frag"), "resource_uri"),
        (dict(ok, resource_uri="ftp://mcp.example.com/x"), "resource_uri"),
        (dict(ok, resource_uri="mcp.example.com/x"), "resource_uri"),
        (dict(ok, resource_uri="https://user@mcp.example.com/x"), "resource_uri"),
        (dict(ok, endpoint_url="http://mcp.example.com/x"), "endpoint_url"),
        (dict(ok, transport="carrier-pigeon"), "transport"),
        (dict(ok, auth_mode="basic"), "auth_mode"),
        (dict(ok, require_dpop=True), "require_dpop"),
        (dict(ok, allowed_client_ids=["lmc_" + secrets.token_urlsafe(12)]),
         "allowed_client_ids"),
        (dict(ok, allowed_client_ids=[foreign.client_id]), "allowed_client_ids"),
        (dict(ok, name=5), "name"),
    ]
    for body, field in cases:
        resp = raw(lumod, "POST", "~/admin/mcp/servers", body)
        err = api_error(resp, 422, "validation_error")
        assert field in err["details"], (body, err)
    # None of them was stored.
    listing = raw(lumod, "GET", "~/admin/mcp/servers?limit=100").json()["data"]
    assert ok["resource_uri"] not in json.dumps(listing)
    assert foreign.client_id not in json.dumps(listing)


def test_mcp_admin_duplicates_are_409(lumod, api_client, org):
    name = unique("Dup Server")
    first = create_server(api_client, org, name=name)
    for body, field in (({"name": name, "resource_uri": resource_uri()}, "name"),
                        ({"name": "  " + name.upper() + " ", "resource_uri": resource_uri()},
                         "name"),
                        ({"name": unique("other"), "resource_uri": first["resource_uri"]},
                         "resource_uri")):
        err = api_error(raw(lumod, "POST", "~/admin/mcp/servers", body), 409)
        assert err["details"]["field"] == field, err


def test_mcp_admin_list_get_and_delete(lumod, new_org):
    other = new_org()
    made = [create_server(other.client, other.slug, name=f"Server {i}") for i in range(3)]
    assert [m["server_id"] for m in made] == ["server-0", "server-1", "server-2"]
    assert [m["id"] for m in made] == [1, 2, 3]
    api = AdminMcpApi(other.client)

    listing = api.admin_mcp_servers_list(other.slug)
    assert isinstance(listing, AdminMcpServersListResponse)
    assert [s.server_id for s in listing.data] == ["server-0", "server-1", "server-2"]
    assert (listing.meta.total, listing.meta.page) == (3, 1)
    assert listing.pagination.total == 3
    page = raw(other.lumod, "GET", "~/admin/mcp/servers?page=2&limit=2").json()
    assert [s["server_id"] for s in page["data"]] == ["server-2"]
    assert page["meta"] == {"total": 3, "page": 2, "limit": 2}
    assert page["pagination"]["total"] == 3

    got = api.admin_mcp_servers_get(other.slug, "server-1")
    assert isinstance(got, AdminMcpServersGetResponse)
    assert got.data == McpServer.from_dict(made[1])
    assert got.data.server_id == "server-1" and got.data.created_at.tzinfo is not None
    assert raw(other.lumod, "GET", "~/admin/mcp/servers/server-1").json() == {"data": made[1]}
    with pytest.raises(NotFoundException) as info:
        api.admin_mcp_servers_get(other.slug, "nope")
    assert exc_body(info.value)["error"] == "resource_not_found"

    deleted = api.admin_mcp_servers_delete(other.slug, "server-1")
    assert isinstance(deleted, MessageResponse) and deleted.message
    for call in (api.admin_mcp_servers_get, api.admin_mcp_servers_delete):
        with pytest.raises(NotFoundException):
            call(other.slug, "server-1")
    assert [s.server_id for s in api.admin_mcp_servers_list(other.slug).data] == [
        "server-0", "server-2"]
    assert raw(other.lumod, "GET", "~/.well-known/oauth-protected-resource/mcp/server-1",
               anonymous=True).status_code == 404
    assert challenge(other.lumod, "server-1").status_code == 404
    # The name and resource are free again; ids are not reused.
    again = create_server(other.client, other.slug, name="Server 1",
                          resource_uri=made[1]["resource_uri"])
    assert (again["server_id"], again["id"]) == ("server-1", 4)
    # Deletions are audited.
    actions = [e["action"] for e in audit_entries(other.lumod, targetId="server-1")]
    assert sorted(actions) == ["mcp.server_created", "mcp.server_created",
                               "mcp.server_deleted"], actions


def test_mcp_admin_needs_an_admin_credential(lumod, api_client, org, oauth, token):
    def key_with(scopes):
        resp = raw(lumod, "POST", "~/admin/api-keys", {"name": unique("k"), "scopes": scopes})
        assert resp.status_code == 201, resp.text
        return resp.json()["data"]["key"]

    agents_key, users_key = key_with(["admin:agents"]), key_with(["admin:users"])
    made = create_server(key_client(lumod.base, agents_key), org)
    assert raw(lumod, "GET", f"~/admin/mcp/servers/{made['server_id']}",
               key=agents_key).status_code == 200
    body = {"name": unique("nope"), "resource_uri": resource_uri()}
    for cred in ({"key": users_key}, {"token": token}):
        assert raw(lumod, "POST", "~/admin/mcp/servers", body, **cred).status_code == 403
        assert raw(lumod, "GET", "~/admin/mcp/servers", **cred).status_code == 403
        assert raw(lumod, "DELETE", f"~/admin/mcp/servers/{made['server_id']}",
                   **cred).status_code == 403
        assert raw(lumod, "GET", "~/mcp/servers", **cred).status_code == 403
    for method, path in (("GET", "~/admin/mcp/servers"), ("POST", "~/admin/mcp/servers"),
                         ("GET", "~/mcp/servers")):
        assert raw(lumod, method, path, body, anonymous=True).status_code == 401
    assert raw(lumod, "GET", f"~/admin/mcp/servers/{made['server_id']}").status_code == 200


def test_mcp_management_reads(lumod, new_org):
    other = new_org()
    first = create_server(other.client, other.slug, name="Alpha Tools",
                          scopes_supported="a:read")
    second = create_server(other.client, other.slug, name="Beta Tools", auth_mode="jit",
                           transport="sse")
    listing = raw(other.lumod, "GET", "~/mcp/servers")
    assert listing.status_code == 200, listing.text
    body = listing.json()
    summary = [{k: s[k] for k in ("id", "server_id", "name", "resource_uri", "transport",
                                  "auth_mode", "status")} for s in (first, second)]
    assert body["servers"] == summary and body["data"] == summary
    assert body["pagination"]["total"] == 2

    flat = raw(other.lumod, "GET", "~/mcp/servers/beta-tools")
    assert flat.status_code == 200 and flat.json() == second
    api_error(raw(other.lumod, "GET", "~/mcp/servers/nope"), 404, "resource_not_found")

    api = McpApi(other.client)
    parsed = api.list_servers(other.slug)
    assert isinstance(parsed, ListServersResponse)
    assert [(s.server_id, s.auth_mode, s.transport) for s in parsed.data] == [
        ("alpha-tools", "oauth", "http_streamable"), ("beta-tools", "jit", "sse")]
    assert parsed.servers == summary
    assert parsed.pagination["total"] == 2
    one = api.get_server(other.slug, "alpha-tools")
    assert isinstance(one, GetServerResponse)
    assert (one.id, one.server_id, one.name, one.resource_uri, one.scopes_supported,
            one.token_lifetime, one.require_pkce, one.require_dpop) == (
        first["id"], "alpha-tools", "Alpha Tools", first["resource_uri"], ["a:read"], 3600,
        True, False)
    with pytest.raises(NotFoundException):
        api.get_server(other.slug, "nope")


def test_mcp_protected_resource_metadata_per_server(lumod, api_client, org):
    server = create_server(api_client, org, name=unique("Docs MCP"),
                           scopes_supported="docs:read docs:write")
    resp = requests.get(metadata_url(lumod, server["server_id"]), timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Cache-Control"] == "public, max-age=3600"
    assert resp.json() == {"resource": server["resource_uri"], "resource_name": server["name"],
                           "authorization_servers": [org_url(lumod, "~")],
                           "bearer_methods_supported": ["header"],
                           "scopes_supported": ["docs:read", "docs:write"]}
    # The authorization server it names publishes its metadata.
    issuer = resp.json()["authorization_servers"][0]
    meta = requests.get(issuer + "/.well-known/oauth-authorization-server", timeout=30)
    assert meta.status_code == 200 and meta.json()["issuer"] == issuer

    parsed = McpApi(lumoauth_api_client.ApiClient(lumoauth_api_client.Configuration(
        host=lumod.base))).get_protected_resource_metadata(org, server["server_id"])
    assert isinstance(parsed, ProtectedResourceMetadata)
    assert (parsed.resource, parsed.authorization_servers, parsed.bearer_methods_supported,
            parsed.scopes_supported) == (server["resource_uri"], [issuer], ["header"],
                                         ["docs:read", "docs:write"])
    assert parsed.dpop_bound_access_tokens_required is None

    missing = requests.get(metadata_url(lumod, "no-such-server"), timeout=30)
    api_error(missing, 404, "resource_not_found")


def test_mcp_protected_resource_metadata_at_the_org_root(lumod, new_org):
    other = new_org()
    root = org_url(lumod, "~/.well-known/oauth-protected-resource", other.slug)
    api = McpApi(lumoauth_api_client.ApiClient(lumoauth_api_client.Configuration(
        host=lumod.base)))
    api_error(requests.get(root, timeout=30), 404, "resource_not_found")

    only = create_server(other.client, other.slug, name="Only One", scopes_supported="o:r")
    resp = requests.get(root, timeout=30)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "public, max-age=3600"
    single = requests.get(metadata_url(lumod, "only-one", other.slug), timeout=30).json()
    assert resp.json() == single and single["resource"] == only["resource_uri"]
    parsed = api.get_protected_resource_metadata_root(other.slug)
    assert isinstance(parsed, GetProtectedResourceMetadataRoot200Response)
    assert isinstance(parsed.actual_instance, SingleServerMetadata)
    assert parsed.actual_instance.resource == only["resource_uri"]

    second = create_server(other.client, other.slug, name="Second One")
    resp = requests.get(root, timeout=30)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "public, max-age=3600"
    resources = resp.json()["resources"]
    assert [(r["resource"], r["server_id"]) for r in resources] == [
        (only["resource_uri"], "only-one"), (second["resource_uri"], "second-one")]
    for item in resources:
        assert item["resource_metadata"] == metadata_url(lumod, item["server_id"], other.slug)
        assert requests.get(item["resource_metadata"], timeout=30).json()[
            "resource"] == item["resource"]


def test_mcp_protected_resource_root_list_parses_with_the_generated_client(lumod, new_org):
    other = new_org()
    first = create_server(other.client, other.slug, name="List One")
    create_server(other.client, other.slug, name="List Two")
    api = McpApi(lumoauth_api_client.ApiClient(lumoauth_api_client.Configuration(
        host=lumod.base)))
    parsed = api.get_protected_resource_metadata_root(other.slug)
    assert isinstance(parsed.actual_instance, ProtectedResourceList)
    item = parsed.actual_instance.resources[0]
    assert item.resource == first["resource_uri"]
    assert item.resource_metadata_url == metadata_url(lumod, "list-one", other.slug)
    assert item.authorization_servers == [org_url(lumod, "~", other.slug)]


def test_mcp_challenge_without_a_token_points_at_the_metadata(lumod, api_client, org):
    server = create_server(api_client, org)
    for method in ("GET", "POST"):
        resp = challenge(lumod, server["server_id"], method=method)
        params = assert_unauthenticated(lumod, resp, server)
        assert server["resource_uri"] in params["error_description"]
    # Through the generated client: its 401 exception carries the same challenge.
    api = McpApi(lumoauth_api_client.ApiClient(lumoauth_api_client.Configuration(
        host=lumod.base)))
    with pytest.raises(UnauthorizedException) as info:
        api.get_server_challenge(org, server["server_id"])
    assert info.value.headers["WWW-Authenticate"].startswith(
        f'Bearer resource_metadata="{metadata_url(lumod, server["server_id"])}"')
    assert exc_body(info.value)["error"] == "invalid_token"
    # An unknown server is 404 with or without a token.
    api_error(challenge(lumod, "no-such-server"), 404, "resource_not_found")


def test_mcp_challenge_accepts_tokens_for_its_resource(lumod, api_client, org, oauth, agent):
    server = create_server(api_client, org)
    uri, sid = server["resource_uri"], server["server_id"]
    bound = agent_token(oauth, agent, resource=uri)
    assert jwt_parts(bound)[1]["aud"] == uri
    for method in ("GET", "POST"):
        resp = challenge(lumod, sid, bound, method=method)
        assert resp.status_code == 200, resp.text
        assert resp.json() == authenticated(server)

    # The SDK's exchange of the agent's own token (resource = audience = server's URI).
    sdk = sdk_agent(lumod, agent)
    for exchanged in (sdk.get_mcp_token(uri), sdk.mcp.get_token(uri)):
        claims = jwt_parts(exchanged)[1]
        assert claims["aud"] == uri and claims["client_id"] == agent["clientId"]
        assert challenge(lumod, sid, exchanged).json() == authenticated(server)

    # Through the generated client.
    api = McpApi(bearer_client(lumod.base, bound))
    got = api.get_server_challenge(org, sid)
    posted = api.post_server_challenge(org, sid)
    for parsed in (got, posted):
        assert isinstance(parsed, GetServerChallengeResponse)
        assert (parsed.status, parsed.server, parsed.server_id) == (
            "authenticated", server["name"], sid)


def test_mcp_challenge_refuses_tokens_for_anything_else(lumod, api_client, org, oauth, agent,
                                                       token):
    server = create_server(api_client, org)
    other = create_server(api_client, org)
    for bad in (token, agent_token(oauth, agent, resource=other["resource_uri"]),
                "garbage", token[:-4] + "AAAA"):
        assert_unauthenticated(lumod, challenge(lumod, server["server_id"], bad), server)
    # Revoked and switched-off: 401 too.
    revoked = agent_token(oauth, agent, resource=server["resource_uri"])
    resp = oauth.post_form("/oauth/revoke", {"token": revoked, "client_id": agent["clientId"],
                                             "client_secret": agent["clientSecret"]})
    assert resp.status_code == 200, resp.text
    assert_unauthenticated(lumod, challenge(lumod, server["server_id"], revoked), server)
    live = agent_token(oauth, agent, resource=server["resource_uri"])
    assert challenge(lumod, server["server_id"], live).status_code == 200
    assert raw(lumod, "POST", f"~/admin/agents/{agent['agentId']}/disable").status_code == 200
    assert_unauthenticated(lumod, challenge(lumod, server["server_id"], live), server)
    assert raw(lumod, "POST", f"~/admin/agents/{agent['agentId']}/enable").status_code == 200
    assert challenge(lumod, server["server_id"], live).status_code == 200


def test_mcp_challenge_refuses_another_orgs_token_for_the_same_resource(lumod, api_client,
                                                                       org, new_org):
    uri = resource_uri("shared")
    server = create_server(api_client, org, name=unique("Shared"), resource_uri=uri)
    other = new_org()
    create_server(other.client, other.slug, name=server["name"], resource_uri=uri)
    outsider = create_agent(other.client, other.slug, capabilities=["x.y"])
    foreign = agent_token(other.oauth, outsider, resource=uri)
    assert jwt_parts(foreign)[1]["aud"] == uri
    assert challenge(lumod, server["server_id"], foreign, org=other.slug).status_code == 200
    assert_unauthenticated(lumod, challenge(lumod, server["server_id"], foreign), server)


def test_mcp_allowed_client_ids_limit_who_gets_tokens(lumod, api_client, org, oauth, agent):
    allowed = create_oauth_client(api_client, org, grantTypes=[CC], redirectUris=[])
    server = create_server(api_client, org, allowed_client_ids=[allowed.client_id])
    uri, sid = server["resource_uri"], server["server_id"]
    assert server["allowed_client_ids"] == [allowed.client_id]

    # The agent's client is not allowed: no token for that resource, by any grant.
    oauth_error(token_response(oauth, agent, resource=uri), 400, "invalid_target")
    subject = agent_token(oauth, agent)
    oauth_error(exchange(oauth, agent, subject, uri), 400, "invalid_target")
    sdk = sdk_agent(lumod, agent)
    assert sdk.get_mcp_token(uri) is None
    # … and its other tokens are refused at the server.
    resp = challenge(lumod, sid, subject)
    assert resp.status_code in (401, 403), resp.text

    # The allowed client gets one, which the server accepts.
    granted = oauth.token({"grant_type": CC, "resource": uri},
                          basic=(allowed.client_id, allowed.secret))
    assert granted.status_code == 200, granted.text
    access = granted.json()["access_token"]
    assert jwt_parts(access)[1]["aud"] == uri
    assert challenge(lumod, sid, access).json() == authenticated(server)
    # Other servers are not limited by this one's list.
    open_server = create_server(api_client, org)
    assert challenge(lumod, open_server["server_id"],
                     agent_token(oauth, agent, resource=open_server["resource_uri"])
                     ).status_code == 200


def test_mcp_token_lifetime_caps_tokens_for_the_resource(lumod, api_client, org, oauth,
                                                         agent):
    server = create_server(api_client, org, token_lifetime=120)
    uri = server["resource_uri"]
    resp = token_response(oauth, agent, resource=uri)
    assert resp.status_code == 200, resp.text
    assert resp.json()["expires_in"] == 120
    claims = jwt_parts(resp.json()["access_token"])[1]
    assert claims["exp"] - claims["iat"] == 120
    exchanged = exchange(oauth, agent, agent_token(oauth, agent), uri)
    assert exchanged.status_code == 200, exchanged.text
    assert 0 < exchanged.json()["expires_in"] <= 120
    claims = jwt_parts(exchanged.json()["access_token"])[1]
    assert claims["exp"] - claims["iat"] <= 120
    # Without the resource, the client's own lifetime applies.
    plain = token_response(oauth, agent)
    assert plain.json()["expires_in"] == 3600
    # A longer server lifetime does not stretch the client's.
    long_server = create_server(api_client, org, token_lifetime=86400)
    longer = token_response(oauth, agent, resource=long_server["resource_uri"])
    assert longer.json()["expires_in"] == 3600


def test_mcp_jit_server_asks_for_authorization_details(lumod, api_client, org, oauth, agent,
                                                       token):
    server = create_server(api_client, org, name=unique("Jit Box"), auth_mode="jit")
    details = {"type": "mcp_server", "actions": ["invoke"], "identifier": server["server_id"],
               "locations": [server["resource_uri"]]}
    for bearer in (token, agent_token(oauth, agent, resource=server["resource_uri"])):
        resp = challenge(lumod, server["server_id"], bearer)
        body = api_error(resp, 403, "insufficient_authorization_details")
        header = resp.headers["Insufficient-Authorization-Details"]
        # Standard base64 (what the SDK decodes), of the authorization_details JSON.
        assert re.fullmatch(r"[A-Za-z0-9+/]+=*", header), header
        assert json.loads(base64.b64decode(header, validate=True)) == details
        assert body["authorization_details"] == details
    # Without any token it is still the RFC 9728 401 challenge.
    assert_unauthenticated(lumod, challenge(lumod, server["server_id"]), server)


class Reviewer:
    """A user reviewing JIT requests through the REST API with a jit:approve token."""

    def __init__(self, lumod, token: str):
        self.lumod, self.token = lumod, token

    def pending(self) -> list:
        resp = raw(self.lumod, "GET", "~/jit/pending", token=self.token)
        assert resp.status_code == 200, resp.text
        return resp.json()["data"]

    def approve(self, request_id):
        return raw(self.lumod, "POST", f"~/jit/approve/{request_id}",
                   {"notes": "ok for the MCP call"}, token=self.token)


def approve_jit_when_listed(reviewer: Reviewer, task_id: str, errors: list, seen: list,
                            timeout: float = 30.0):
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            mine = [r for r in reviewer.pending() if r["task_id"] == task_id]
            if mine:
                resp = reviewer.approve(mine[0]["request_id"])
                assert resp.status_code == 200, resp.text
                seen.append(mine[0])
                return
            time.sleep(0.2)
        raise AssertionError(f"no pending JIT request of {task_id} showed up")
    except BaseException as exc:
        errors.append(exc)


@pytest.fixture(scope="module")
def reviewer(lumod, api_client, org, oauth) -> Reviewer:
    client = create_oauth_client(api_client, org, allowedScopes=REVIEW_SCOPES)
    user = create_password_user(api_client, org, name="Rita Reviewer")
    tokens = oauth.code_tokens(oauth.login(user.email), client, scope="openid jit:approve")
    assert "jit:approve" in tokens["scope"].split()
    return Reviewer(lumod, tokens["access_token"])


def test_mcp_jit_escalation_with_the_sdk(lumod, api_client, org, oauth, agent, reviewer):
    server = create_server(api_client, org, name=unique("Jit Tools"), auth_mode="jit")
    other = create_server(api_client, org, name=unique("Jit Other"), auth_mode="jit")
    url = org_url(lumod, f"~/mcp/{server['server_id']}/challenge")
    sdk = sdk_agent(lumod, agent)
    with JITContext(sdk) as jit:
        task_id = jit.create_task(name="Call the MCP server", task_type="tooling")
        thread, errors, seen = run_with(approve_jit_when_listed, reviewer, task_id)
        resp = jit.call_with_escalation("GET", url, justification="The user asked for it")
        thread.join(30)
        assert not errors, errors
        assert resp.status_code == 200, resp.text
        assert resp.json() == authenticated(server)
        # The request the reviewer saw was for exactly what the server named, at medium risk.
        request = seen[0]
        assert request["risk_level"] == "medium"
        requested = request["authorization_details"]
        requested = requested[0] if isinstance(requested, list) else requested
        assert (requested["type"], requested["identifier"], requested["actions"]) == (
            "mcp_server", server["server_id"], ["invoke"])
        # The grant opens this server only.
        jit_token = jit.get_token(request["request_id"])
        assert challenge(lumod, server["server_id"], jit_token).json() == authenticated(server)
        refused = challenge(lumod, other["server_id"], jit_token)
        assert refused.status_code == 403
        assert json.loads(base64.b64decode(
            refused.headers["Insufficient-Authorization-Details"]))["identifier"] == other[
            "server_id"]
    # Completing the task revokes the grant's tokens.
    assert_unauthenticated(lumod, challenge(lumod, server["server_id"], jit_token), server)


def authorize(lumod, token, body) -> requests.Response:
    return raw(lumod, "POST", "~/agents/me/mcp/authorize", body, token=token)


def test_mcp_authorize_tool_decisions_are_audited(lumod, api_client, org, oauth):
    server = create_server(api_client, org, name=unique("Invoices"))
    other = create_server(api_client, org, name=unique("Payroll"))
    sid = server["server_id"]
    exact = create_agent(api_client, org, capabilities=[f"mcp:{sid}:send_reminder"])
    wide = create_agent(api_client, org, capabilities=[f"mcp:{sid}:*"])
    exact_tok, wide_tok = agent_token(oauth, exact), agent_token(oauth, wide)

    cases = [(exact, exact_tok, sid, "send_reminder", True),
             (exact, exact_tok, sid, "send_payment", False),
             (exact, exact_tok, other["server_id"], "send_reminder", False),
             (wide, wide_tok, sid, "send_payment", True),
             (wide, wide_tok, sid, "list_invoices", True),
             (wide, wide_tok, other["server_id"], "list", False)]
    for who, tok, server_id, tool, allowed in cases:
        resp = authorize(lumod, tok, {"server_id": server_id, "tool": tool})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        target = server if server_id == sid else other
        assert body["allowed"] is allowed, (server_id, tool, body)
        assert body["agent_id"] == who["agentId"]
        assert isinstance(body["reason"], str) and f"mcp:{server_id}:{tool}" in body["reason"]
        assert body["resource"] == {"server_id": server_id, "tool": tool,
                                    "resource_uri": target["resource_uri"]}

    allowed = audit_entries(lumod, action="mcp.tool_allowed", targetId=sid)
    denied = audit_entries(lumod, action="mcp.tool_denied", targetId=sid)
    assert sorted((e["actorId"], e["newValue"]["tool"]) for e in allowed) == sorted([
        (exact["agentId"], "send_reminder"), (wide["agentId"], "send_payment"),
        (wide["agentId"], "list_invoices")])
    assert [(e["actorId"], e["newValue"]["tool"]) for e in denied] == [
        (exact["agentId"], "send_payment")]
    for entry in allowed + denied:
        assert (entry["actorType"], entry["targetType"], entry["targetName"]) == (
            "agent", "mcp_server", server["name"])
        assert entry["newValue"]["allowed"] is (entry["action"] == "mcp.tool_allowed")
    assert denied[0]["severity"] == "warning"
    other_denied = audit_entries(lumod, action="mcp.tool_denied", targetId=other["server_id"])
    assert len(other_denied) == 2
    assert audit_entries(lumod, action="mcp.tool_allowed", targetId=other["server_id"]) == []


def test_mcp_authorize_tool_errors(lumod, api_client, org, oauth):
    server = create_server(api_client, org)
    agent = create_agent(api_client, org, capabilities=[f"mcp:{server['server_id']}:*"])
    tok = agent_token(oauth, agent)
    api_error(authorize(lumod, tok, {"server_id": "no-such-server", "tool": "x"}), 404,
              "resource_not_found")
    for body, fields in (({"server_id": server["server_id"]}, {"tool"}),
                         ({"tool": "x"}, {"server_id"}),
                         ({}, {"server_id", "tool"}),
                         ({"server_id": 5, "tool": "x"}, {"server_id"}),
                         ({"server_id": server["server_id"], "tool": ""}, {"tool"})):
        err = api_error(authorize(lumod, tok, body), 422, "validation_error")
        assert set(err["details"]) == fields, (body, err)
    body = {"server_id": server["server_id"], "tool": "x"}
    api_error(raw(lumod, "POST", "~/agents/me/mcp/authorize", body), 401, "invalid_token")
    api_error(raw(lumod, "POST", "~/agents/me/mcp/authorize", body, anonymous=True), 401)
    # The agent's key is an agent credential too.
    by_key = raw(lumod, "POST", "~/agents/me/mcp/authorize", body, key=agent["apiKey"])
    assert by_key.status_code == 200 and by_key.json()["allowed"] is True
    # No decision was audited for the refused calls.
    entries = audit_entries(lumod, targetId=server["server_id"])
    assert sorted(e["action"] for e in entries) == ["mcp.server_created", "mcp.tool_allowed"]


def test_mcp_authorize_through_the_generated_client(lumod, api_client, org, oauth):
    server = create_server(api_client, org)
    agent = create_agent(api_client, org, capabilities=[f"mcp:{server['server_id']}:read"])
    tok = agent_token(oauth, agent)
    for tool, allowed in (("read", True), ("write", False)):
        resp = bearer_send(lumod, tok, "POST", "/agents/me/mcp/authorize",
                           body={"server_id": server["server_id"], "tool": tool},
                           types={"200": "AuthorizeMcpResponse"})
        assert isinstance(resp.data, AuthorizeMcpResponse)
        assert (resp.data.allowed, resp.data.agent_id) == (allowed, agent["agentId"])
        assert resp.data.resource == {"server_id": server["server_id"], "tool": tool,
                                      "resource_uri": server["resource_uri"]}
    with pytest.raises(UnauthorizedException):
        send(api_client, "POST", "/agents/me/mcp/authorize", org,
             body={"server_id": server["server_id"], "tool": "read"},
             types={"200": "AuthorizeMcpResponse"})


# ================================================================================================
# C. Token vault
# ================================================================================================

def store_connection(lumod, agent_id, **body) -> dict:
    body.setdefault("name", unique("GitHub"))
    body.setdefault("provider", "github")
    body.setdefault("access_token", "gho_" + secrets.token_urlsafe(24))
    resp = raw(lumod, "POST", f"~/admin/agents/{agent_id}/connections", body)
    assert resp.status_code == 201, resp.text
    out = resp.json()
    assert set(out) == {"data", "message"} and out["message"], out
    return out["data"]


def connection_token(lumod, token, connection_id, body=None, **cred) -> requests.Response:
    return raw(lumod, "POST", f"~/agents/me/connections/{connection_id}/token", body,
               token=token, **cred)


def test_vault_admin_stores_lists_and_deletes(lumod, agent):
    secret = "gho_" + secrets.token_urlsafe(24)
    made = store_connection(lumod, agent["agentId"], name="GitHub", provider="github",
                            provider_label="GitHub Enterprise", access_token=secret,
                            scopes=["repo", "read:org"])
    assert made["connection_id"].startswith("conn_")
    assert {k: made[k] for k in ("name", "provider", "provider_label", "scopes", "grant_mode",
                                 "user_delegated", "machine_grant_status", "linked_users",
                                 "expires_at")} == {
        "name": "GitHub", "provider": "github", "provider_label": "GitHub Enterprise",
        "scopes": ["repo", "read:org"], "grant_mode": "machine", "user_delegated": False,
        "machine_grant_status": "active", "linked_users": None, "expires_at": None}
    parse_time(made["created_at"])
    assert secret not in json.dumps(made)
    AgentOutboundConnection.from_dict(made)

    # provider_label defaults to the provider; expires_at is normalised to UTC.
    second = store_connection(lumod, agent["agentId"], provider="slack",
                              expires_at="2099-01-01T00:00:00+02:00")
    assert second["provider_label"] == "slack"
    assert parse_time(second["expires_at"]) == datetime(2098, 12, 31, 22, tzinfo=timezone.utc)

    listing = raw(lumod, "GET", f"~/admin/agents/{agent['agentId']}/connections")
    assert listing.status_code == 200, listing.text
    body = listing.json()
    assert body["agent"] == {"agent_id": agent["agentId"], "name": agent["name"],
                             "status": "active"}
    assert body["connections"] == body["data"] == [made, second]
    assert body["pagination"]["total"] == 2
    # By the numeric id too.
    assert raw(lumod, "GET", f"~/admin/agents/{agent['id']}/connections").json() == body

    gone = raw(lumod, "DELETE", f"~/admin/agents/{agent['agentId']}/connections/"
               f"{made['connection_id']}")
    assert gone.status_code == 200 and gone.json()["message"], gone.text
    api_error(raw(lumod, "DELETE", f"~/admin/agents/{agent['agentId']}/connections/"
                  f"{made['connection_id']}"), 404, "resource_not_found")
    assert raw(lumod, "GET", f"~/admin/agents/{agent['agentId']}/connections").json()[
        "connections"] == [second]


def test_vault_admin_refuses_bad_input(lumod, api_client, org, agent, new_org, token):
    path = f"~/admin/agents/{agent['agentId']}/connections"
    ok = {"name": "n", "provider": "p", "access_token": "t"}
    for body, field in (({"provider": "p", "access_token": "t"}, "name"),
                        ({"name": "n", "access_token": "t"}, "provider"),
                        ({"name": "n", "provider": "p"}, "access_token"),
                        (dict(ok, access_token=5), "access_token"),
                        (dict(ok, scopes="repo"), "scopes"),
                        (dict(ok, expires_at="tomorrow"), "expires_at"),
                        (dict(ok, expires_at=1700000000), "expires_at")):
        err = api_error(raw(lumod, "POST", path, body), 422, "validation_error")
        assert field in err["details"], (body, err)
    for method, sub in (("POST", ""), ("GET", ""), ("DELETE", "/conn_nope")):
        missing = raw(lumod, method, f"~/admin/agents/agt_{'0' * 26}/connections{sub}", ok)
        api_error(missing, 404, "resource_not_found")
    # Another org's administrator does not reach this agent; the agent is no administrator.
    other = new_org()
    for method in ("GET", "POST"):
        resp = raw(lumod, method, path, ok, key=other.api_key)
        assert resp.status_code in (401, 403), resp.text
        assert resp.json()["status"] == resp.status_code
    api_error(raw(other.lumod, "GET", f"~/admin/agents/{agent['agentId']}/connections"), 404)
    assert raw(lumod, "POST", path, ok, token=token).status_code == 403
    assert raw(lumod, "GET", path, anonymous=True).status_code == 401
    assert raw(lumod, "GET", path).json()["connections"] == []


def test_vault_agent_lists_and_takes_its_tokens(lumod, org, oauth, agent, token):
    secret = "gho_" + secrets.token_urlsafe(24)
    made = store_connection(lumod, agent["agentId"], name="GitHub", provider="github",
                            access_token=secret, scopes=["repo"])
    future = store_connection(lumod, agent["agentId"], name="Slack", provider="slack",
                              provider_label="Slack", access_token="xoxb-" + secrets.token_hex(8),
                              expires_at="2099-06-01T12:00:00Z")

    mine = raw(lumod, "GET", "~/agents/me/connections", token=token)
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert body["agent"] == {"agent_id": agent["agentId"], "name": agent["name"],
                             "status": "active"}
    assert body["connections"] == body["data"] == [made, future]
    assert body["pagination"]["total"] == 2
    assert secret not in mine.text

    taken = connection_token(lumod, token, made["connection_id"])
    assert taken.status_code == 200, taken.text
    assert taken.json() == {"access_token": secret, "token_type": "Bearer",
                            "expires_at": None, "scopes": ["repo"]}
    # An empty body and an explicit null user_id are the same machine grant.
    assert connection_token(lumod, token, made["connection_id"], {}).json() == taken.json()
    assert connection_token(lumod, token, made["connection_id"],
                            {"user_id": None}).json() == taken.json()
    slack = connection_token(lumod, token, future["connection_id"]).json()
    assert parse_time(slack["expires_at"]) == datetime(2099, 6, 1, 12, tzinfo=timezone.utc)

    # The agent's key works as well as its token.
    by_key = connection_token(lumod, None, made["connection_id"], key=agent["apiKey"])
    assert by_key.status_code == 200 and by_key.json()["access_token"] == secret

    # The generated client parses both answers.
    vault = TokenVaultApi(bearer_client(lumod.base, token))
    listing = vault.list_connections(org)
    assert isinstance(listing, ListConnectionsResponse)
    assert (listing.agent.agent_id, listing.agent.status) == (agent["agentId"], "active")
    assert [c.connection_id for c in listing.connections] == [made["connection_id"],
                                                             future["connection_id"]]
    first = listing.connections[0]
    assert isinstance(first, AgentOutboundConnection)
    assert (first.provider, first.provider_label, first.grant_mode, first.user_delegated,
            first.machine_grant_status, first.linked_users, first.scopes) == (
        "github", "github", "machine", False, "active", None, ["repo"])
    assert listing.pagination.total == 2
    got = vault.get_connection_token(org, made["connection_id"])
    assert isinstance(got, GetConnectionTokenResponse)
    assert (got.access_token, got.token_type, got.expires_at, got.scopes) == (
        secret, "Bearer", None, ["repo"])
    assert vault.get_connection_token(org, future["connection_id"]).expires_at == datetime(
        2099, 6, 1, 12, tzinfo=timezone.utc)


def test_vault_token_refusals(lumod, api_client, org, oauth, agent, token):
    made = store_connection(lumod, agent["agentId"])
    expired = store_connection(lumod, agent["agentId"], provider="google",
                               expires_at="2020-01-01T00:00:00Z")
    other = create_agent(api_client, org, capabilities=["x.y"])
    other_tok = agent_token(oauth, other)

    # Another agent sees neither the connection nor its token.
    api_error(connection_token(lumod, other_tok, made["connection_id"]), 404,
              "resource_not_found")
    assert raw(lumod, "GET", "~/agents/me/connections", token=other_tok).json()[
        "connections"] == []
    api_error(connection_token(lumod, token, "conn_" + "0" * 26), 404, "resource_not_found")
    # A user-delegated grant does not exist for a machine connection.
    for user in ("someone@example.com", "00000000-0000-4000-8000-000000000000"):
        api_error(connection_token(lumod, token, made["connection_id"], {"user_id": user}), 409)
    # An expired upstream token is not handed out (there is no refresh token to renew it).
    api_error(connection_token(lumod, token, expired["connection_id"]), 409)
    listed = {c["connection_id"]: c for c in raw(lumod, "GET", "~/agents/me/connections",
                                                   token=token).json()["connections"]}
    assert listed[expired["connection_id"]]["machine_grant_status"] == "expired"
    # Bad bodies.
    api_error(connection_token(lumod, token, made["connection_id"], {"user_id": 5}), 422)
    # Deleted: gone for the agent too.
    assert raw(lumod, "DELETE", f"~/admin/agents/{agent['agentId']}/connections/"
               f"{made['connection_id']}").status_code == 200
    api_error(connection_token(lumod, token, made["connection_id"]), 404, "resource_not_found")
    # A switched-off agent's token is refused.
    live = store_connection(lumod, agent["agentId"])
    assert raw(lumod, "POST", f"~/admin/agents/{agent['agentId']}/disable").status_code == 200
    api_error(connection_token(lumod, token, live["connection_id"]), 401)
    api_error(raw(lumod, "GET", "~/agents/me/connections", token=token), 401)


def test_vault_agent_side_refuses_org_api_keys_on_the_list(lumod, org, api_client):
    api_error(raw(lumod, "GET", "~/agents/me/connections"), 401, "invalid_token")
    api_error(raw(lumod, "GET", "~/agents/me/connections", anonymous=True), 401)
    api_error(raw(lumod, "POST", "~/agents/me/connections/conn_x/token", anonymous=True), 401)
    with pytest.raises(UnauthorizedException):
        TokenVaultApi(api_client).list_connections(org)


def test_vault_agent_token_refuses_org_api_keys_with_401(lumod, agent):
    made = store_connection(lumod, agent["agentId"])
    api_error(raw(lumod, "POST", f"~/agents/me/connections/{made['connection_id']}/token"),
              401, "invalid_token")


def test_vault_secrets_never_appear_in_lists_or_audit(lumod, api_client, org, oauth, agent,
                                                     token):
    secret = "gho_VAULT" + secrets.token_urlsafe(24)
    made = store_connection(lumod, agent["agentId"], access_token=secret)
    other = store_connection(lumod, agent["agentId"], access_token=secret + "-2")
    assert connection_token(lumod, token, made["connection_id"]).json()[
        "access_token"] == secret
    assert raw(lumod, "DELETE", f"~/admin/agents/{agent['agentId']}/connections/"
               f"{other['connection_id']}").status_code == 200

    shown = [raw(lumod, "GET", f"~/admin/agents/{agent['agentId']}/connections").text,
             raw(lumod, "GET", "~/agents/me/connections", token=token).text,
             raw(lumod, "GET", f"~/admin/agents/{agent['agentId']}").text,
             json.dumps([made, other])]
    entries = audit_entries(lumod, targetId=agent["agentId"])
    actions = [e["action"] for e in entries]
    assert actions.count("agent.connection_created") == 2, actions
    assert actions.count("agent.connection_deleted") == 1, actions
    created = [e for e in entries if e["action"] == "agent.connection_created"]
    assert sorted(e["newValue"]["connectionId"] for e in created) == sorted(
        [made["connection_id"], other["connection_id"]])
    shown += [raw(lumod, "GET", f"~/admin/audit-logs/{e['id']}").text for e in entries]
    shown.append(raw(lumod, "GET", "~/admin/audit-logs?limit=100").text)
    export = raw(lumod, "GET", "~/admin/audit-logs/export?format=json")
    assert export.status_code == 200, export.text[:500]
    shown.append(export.text)
    for text in shown:
        assert secret not in text
