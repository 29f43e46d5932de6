"""The hand-written SDK `lumoauth==1.1.0`, used exactly as its docstrings show, against lumod.

Covers the SDK's grant helpers: `LumoAuth.auth` (client credentials, authorization code,
refresh, token exchange, revoke, userinfo), `LumoAuthAgent` (client-credentials agent, UserInfo
agent info, authenticated API requests, MCP token exchange), `DelegationChain` (user consent,
RFC 8693 delegation with nested `act` claims, depth limit, revocation), and `LumoAuth.api`
(the generated client driven by the SDK's credentials).
"""

import secrets

import pytest
import requests

import lumoauth_api_client
from lumoauth import DelegationChain, LumoAuth, LumoAuthAgent
from lumoauth.errors import (
    LumoAuthApiError,
    LumoAuthAuthenticationError,
    LumoAuthPermissionDeniedError,
)
from lumoauth.resources.auth import (
    ACCESS_TOKEN_TYPE,
    ID_TOKEN_TYPE,
    JWT_TOKEN_TYPE,
    REFRESH_TOKEN_TYPE,
)
from lumoauth_api_client.exceptions import ConflictException, ForbiddenException
from lumoauth_api_client.models import (
    GetClientResponse,
    GetMeResponse,
    IntrospectResponse,
    ListClientsResponse,
    TokenResponse,
    UserinfoResponse,
)

from lumo_helpers import (
    REDIRECT_URI,
    TOKEN_EXCHANGE,
    create_agent_client,
    create_oauth_client,
    create_password_user,
    error_body,
    form_action,
    hidden_inputs,
    jwt_parts,
    pkce_pair,
    query_of,
    send,
    verify_rs256,
)

MCP_SERVER = "https://mcp.example.com/mcp"
API_RESOURCE = "https://api.example.com/v1"
DOCS_SCOPE = "read:documents"   # the SDK's default delegation consent scope
DELEGATION_GRANTS = ["client_credentials", "authorization_code", "refresh_token", TOKEN_EXCHANGE]


# --- fixtures ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sdk(lumod):
    """An SDK client with no credentials (the token calls authenticate in the form body)."""
    return LumoAuth(base_url=lumod.base, org_id=lumod.org)


@pytest.fixture(scope="module")
def docs_scope(api_client, org):
    """The org scope the SDK's DelegationChain asks for by default."""
    try:
        send(api_client, "POST", "/admin/scopes", org,
             body={"name": DOCS_SCOPE, "description": "Read documents"},
             types={"201": "AdminScopesCreateResponse"})
    except ConflictException:
        pass
    return DOCS_SCOPE


@pytest.fixture
def agent_client(api_client, org, docs_scope):
    """A confidential client that is both an agent (client credentials) and the app a user
    consents to (authorization code), as DelegationChain expects."""
    return create_oauth_client(api_client, org, grantTypes=DELEGATION_GRANTS,
                               allowedScopes=["openid", "profile", "email", docs_scope,
                                              "admin:read"])


def new_agent(lumod, client) -> LumoAuthAgent:
    agent = LumoAuthAgent(base_url=lumod.base, org_id=lumod.org,
                          client_id=client.client_id, client_secret=client.secret)
    assert agent.authenticate() is True
    return agent


@pytest.fixture
def agent(lumod, agent_client):
    return new_agent(lumod, agent_client)


@pytest.fixture
def user(api_client, org):
    return create_password_user(api_client, org)


def jwks(oauth) -> dict:
    resp = requests.get(oauth.url("/.well-known/jwks.json"), timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()


def claims_of(oauth, token: str) -> dict:
    """Payload of an access token after checking its RS256 signature against the org JWKS."""
    return verify_rs256(token, jwks(oauth))


def introspect(oauth, client, token) -> IntrospectResponse:
    resp = requests.post(oauth.url("/oauth/introspect"), data={"token": token},
                         auth=(client.client_id, client.secret), timeout=30)
    assert resp.status_code == 200, resp.text
    return IntrospectResponse.from_json(resp.text)


def approve_consent(browser, url: str) -> dict:
    """Follows an authorization URL built by the SDK in a signed-in browser and approves the
    consent page; returns the redirect's query."""
    resp = browser.get(url, allow_redirects=False, timeout=30)
    if resp.status_code == 200:
        assert 'name="consent"' in resp.text, resp.text[:2000]
        form = hidden_inputs(resp.text)
        form["consent"] = "allow"
        resp = browser.post(url.split("/orgs/")[0] + form_action(resp.text), data=form,
                            allow_redirects=False, timeout=30)
    assert resp.status_code in (302, 303), (resp.status_code, resp.text[:2000])
    location = resp.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    return query_of(location)


@pytest.fixture
def consented(lumod, oauth, agent, user, docs_scope):
    """A DelegationChain whose session "s1" went through the SDK's consent flow."""
    chain = DelegationChain(agent, redirect_uri=REDIRECT_URI)
    url = chain.get_consent_url("s1")
    query = query_of(url)
    assert url.startswith(oauth.url("/oauth/authorize?"))
    assert query["scope"] == docs_scope
    assert (query["prompt"], query["access_type"]) == ("consent", "offline")
    browser = oauth.login(user.email)
    result = approve_consent(browser, url)
    assert result["state"] == "session:s1"
    assert result["iss"] == oauth.issuer
    assert chain.handle_consent_callback("s1", result["code"]) is True
    assert chain.active_sessions == ["s1"]
    return chain


# --- client credentials -----------------------------------------------------------------------

def test_client_credentials_returns_a_signed_token_for_the_client(sdk, api_client, org, oauth):
    client = create_agent_client(api_client, org, allowedScopes=["admin:read"],
                                 accessTokenLifetime=900)
    body = sdk.auth.client_credentials(client.client_id, client.secret, scopes=["admin:read"])
    parsed = TokenResponse.from_dict(body)
    assert parsed.token_type == "Bearer"
    assert parsed.expires_in == 900
    assert parsed.scope == "admin:read"
    assert "refresh_token" not in body and "id_token" not in body
    claims = claims_of(oauth, parsed.access_token)
    assert claims["iss"] == oauth.issuer
    assert claims["sub"] == claims["client_id"] == client.client_id
    assert claims["org"] == org
    assert claims["scope"] == "admin:read"
    assert claims["exp"] - claims["iat"] == 900
    assert "act" not in claims
    header, _ = jwt_parts(parsed.access_token)
    assert header["typ"] == "at+jwt"


def test_client_credentials_with_a_wrong_secret_raises_authentication_error(sdk, api_client, org):
    client = create_agent_client(api_client, org)
    with pytest.raises(LumoAuthAuthenticationError) as info:
        sdk.auth.client_credentials(client.client_id, "lms_" + secrets.token_urlsafe(32))
    assert info.value.status_code == 401
    assert info.value.code == "invalid_client"
    assert info.value.body["error"] == "invalid_client"


def test_client_credentials_with_a_scope_the_client_lacks_is_invalid_scope(sdk, api_client, org):
    client = create_agent_client(api_client, org, allowedScopes=["admin:read"])
    with pytest.raises(LumoAuthApiError) as info:
        sdk.auth.client_credentials(client.client_id, client.secret, scopes=["admin:write"])
    assert info.value.status_code == 400
    assert info.value.code == "invalid_scope"


def test_agent_authenticates_and_reads_its_info_from_userinfo(lumod, oauth, agent_client):
    agent = LumoAuthAgent(base_url=lumod.base, org_id=lumod.org,
                          client_id=agent_client.client_id, client_secret=agent_client.secret)
    assert agent.access_token is None
    assert agent.authenticate() is True
    token = agent.access_token
    # Without requested scopes the token carries what the client is registered for.
    assert agent.token_scopes
    assert set(agent.token_scopes) <= set(agent_client.scopes)
    assert introspect(oauth, agent_client, token).scope.split() == agent.token_scopes
    # A fresh token is reused, not re-fetched.
    assert agent.ensure_authenticated() is True
    assert agent.access_token == token

    info = agent.get_agent_info()
    parsed = UserinfoResponse.from_dict(info)
    assert parsed.sub == agent_client.client_id
    assert parsed.client_id == agent_client.client_id
    assert parsed.tenant == lumod.org
    assert agent.agent_info == info
    assert agent.get_budget_status() == {}
    assert agent.is_budget_exhausted() is False


def test_agent_identity_from_agents_me(agent, agent_client, org):
    # A plain client acting for itself is an identity of type client (agents are in
    # test_agents.py).
    identity = agent.get_identity()
    assert identity["identity"]["id"] == agent_client.client_id
    assert identity["identity"]["type"] == "client"
    assert identity["workspace"]["slug"] == org
    assert isinstance(identity["capabilities"], list)


def test_agent_with_a_wrong_secret_fails_to_authenticate(lumod, agent_client):
    agent = LumoAuthAgent(base_url=lumod.base, org_id=lumod.org,
                          client_id=agent_client.client_id, client_secret="lms_wrong")
    assert agent.authenticate() is False
    assert agent.access_token is None


def test_agent_api_request_uses_its_token_on_the_admin_api(lumod, org, agent, agent_client):
    resp = agent.api_request("GET", f"/orgs/{org}/api/v1/admin/clients/{agent_client.client_id}")
    assert resp.status_code == 200, resp.text
    assert GetClientResponse.from_json(resp.text).data.client_id == agent_client.client_id
    listing = agent.api_request("GET", f"/orgs/{org}/api/v1/admin/clients",
                                params={"search": agent_client.name})
    assert listing.status_code == 200, listing.text
    parsed = ListClientsResponse.from_json(listing.text)
    assert [c.client_id for c in parsed.data] == [agent_client.client_id]
    # admin:read does not allow writes.
    denied = agent.api_request("POST", f"/orgs/{org}/api/v1/admin/clients",
                               json={"name": "nope", "grantTypes": ["client_credentials"]})
    assert denied.status_code == 403, denied.text
    assert denied.json()["error"] == "forbidden"
    assert "admin:clients" in denied.json()["details"]["required_scopes"]


def test_token_provider_drives_the_generated_client(lumod, org, agent, agent_client):
    calls = []

    def provider():
        calls.append(1)
        return agent.access_token

    client = LumoAuth(base_url=lumod.base, org_id=org, token_provider=provider)
    clients_api = lumoauth_api_client.AdminOAuthClientsApi(client.api)
    got = clients_api.get_client(org, agent_client.client_id)
    assert isinstance(got, GetClientResponse)
    assert got.data.client_id == agent_client.client_id
    me = lumoauth_api_client.IdentityApi(client.api).get_me(org)
    assert isinstance(me, GetMeResponse)
    assert me.subject_type == "agent"
    assert me.id == agent_client.client_id
    assert me.tenant.slug == org
    assert len(calls) >= 2, "the token must be read per request"
    with pytest.raises(ForbiddenException) as info:
        clients_api.delete_client(org, agent_client.client_id)
    body = error_body(info.value)
    assert body["error"] == "forbidden"
    assert "admin:clients" in body["details"]["required_scopes"]
    assert "admin:read" in body["details"]["granted_scopes"]


def test_api_key_drives_the_generated_client(lumod, org, agent_client):
    client = LumoAuth(api_key=lumod.api_key, base_url=lumod.base, org_id=org)
    got = lumoauth_api_client.AdminOAuthClientsApi(client.api).get_client(
        org, agent_client.client_id)
    assert got.data.name == agent_client.name


def test_sdk_revoke_ends_a_client_credentials_token(lumod, org, sdk, oauth, api_client):
    client = create_agent_client(api_client, org, allowedScopes=["admin:read"])
    token = sdk.auth.client_credentials(client.client_id, client.secret)["access_token"]
    assert introspect(oauth, client, token).active is True
    assert sdk.auth.revoke(token, token_type_hint="access_token", client_id=client.client_id,
                           client_secret=client.secret) == {}
    assert introspect(oauth, client, token).active is False
    with pytest.raises(LumoAuthAuthenticationError) as info:
        sdk.auth.userinfo(token)
    assert info.value.code == "invalid_token"
    resp = requests.get(oauth.url("/admin/clients"), headers={"Authorization": "Bearer " + token},
                        timeout=30)
    assert resp.status_code == 401, resp.text


# --- authorization code + refresh through the SDK ---------------------------------------------

def sign_in_and_authorize(oauth, user, url):
    browser = oauth.login(user.email)
    return approve_consent(browser, url)


def test_authorization_code_with_pkce_refresh_and_userinfo(sdk, oauth, api_client, org, user):
    client = create_oauth_client(api_client, org)
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(8)
    url = sdk.auth.authorization_url(client_id=client.client_id, redirect_uri=REDIRECT_URI,
                                     state=state, code_challenge=challenge)
    result = sign_in_and_authorize(oauth, user, url)
    assert result["state"] == state
    tokens = sdk.auth.exchange_code(result["code"], REDIRECT_URI, client_id=client.client_id,
                                    client_secret=client.secret, code_verifier=verifier)
    parsed = TokenResponse.from_dict(tokens)
    assert parsed.refresh_token and parsed.id_token
    assert set(parsed.scope.split()) == {"openid", "profile", "email"}

    info = sdk.auth.userinfo(parsed.access_token)
    assert UserinfoResponse.from_dict(info).sub == user.id
    assert info["email"] == user.email

    refreshed = sdk.auth.refresh_token(parsed.refresh_token, client_id=client.client_id,
                                       client_secret=client.secret)
    assert refreshed["refresh_token"] != parsed.refresh_token
    assert claims_of(oauth, refreshed["access_token"])["sub"] == user.id
    # The rotated-out refresh token is dead (and reusing it ends the family).
    with pytest.raises(LumoAuthApiError) as info:
        sdk.auth.refresh_token(parsed.refresh_token, client_id=client.client_id,
                               client_secret=client.secret)
    assert (info.value.status_code, info.value.code) == (400, "invalid_grant")


def test_refresh_can_narrow_scope_but_not_exceed_the_grant(sdk, oauth, api_client, org, user):
    client = create_oauth_client(api_client, org)
    tokens = oauth.code_tokens(oauth.login(user.email), client, scope="openid profile")
    narrowed = sdk.auth.refresh_token(tokens["refresh_token"], client_id=client.client_id,
                                      client_secret=client.secret, scopes=["openid"])
    assert narrowed["scope"] == "openid"
    assert claims_of(oauth, narrowed["access_token"])["scope"] == "openid"
    with pytest.raises(LumoAuthApiError) as info:
        sdk.auth.refresh_token(narrowed["refresh_token"], client_id=client.client_id,
                               client_secret=client.secret, scopes=["openid", "email"])
    assert (info.value.status_code, info.value.code) == (400, "invalid_scope")


def test_refresh_without_scope_returns_the_original_grant(sdk, oauth, api_client, org, user):
    client = create_oauth_client(api_client, org)
    tokens = oauth.code_tokens(oauth.login(user.email), client, scope="openid profile")
    narrowed = sdk.auth.refresh_token(tokens["refresh_token"], client_id=client.client_id,
                                      client_secret=client.secret, scopes=["openid"])
    again = sdk.auth.refresh_token(narrowed["refresh_token"], client_id=client.client_id,
                                   client_secret=client.secret)
    assert set(again["scope"].split()) == {"openid", "profile"}


def test_public_client_code_exchange_without_secret(sdk, oauth, api_client, org, user):
    client = create_oauth_client(api_client, org, isPublic=True)
    assert client.secret is None and client.requires_pkce is True
    verifier, challenge = pkce_pair()
    url = sdk.auth.authorization_url(client_id=client.client_id, redirect_uri=REDIRECT_URI,
                                     state="s", code_challenge=challenge)
    result = sign_in_and_authorize(oauth, user, url)
    tokens = sdk.auth.exchange_code(result["code"], REDIRECT_URI, client_id=client.client_id,
                                    code_verifier=verifier)
    assert claims_of(oauth, tokens["access_token"])["client_id"] == client.client_id


# --- token exchange: MCP and audience binding -------------------------------------------------

def test_agent_mcp_token_is_bound_to_the_mcp_server(oauth, agent, agent_client):
    token = agent.get_mcp_token(MCP_SERVER)
    assert token
    claims = claims_of(oauth, token)
    assert claims["aud"] == MCP_SERVER
    assert claims["sub"] == agent_client.client_id
    assert "act" not in claims
    assert claims["scope"].split() == agent.token_scopes
    active = introspect(oauth, agent_client, token)
    assert active.active is True
    assert active.aud.actual_instance in (MCP_SERVER, [MCP_SERVER])


def test_mcp_resource_namespace_exchanges_an_explicit_subject_token(sdk, oauth, agent):
    token = sdk.mcp.get_token("http://localhost:8931/mcp", subject_token=agent.access_token)
    assert claims_of(oauth, token)["aud"] == "http://localhost:8931/mcp"
    token = agent.mcp.get_token(MCP_SERVER)   # subject from the agent's token provider
    assert claims_of(oauth, token)["aud"] == MCP_SERVER


def test_mcp_server_on_public_http_is_refused_as_invalid_target(sdk, agent):
    # The SDK lets http through for the server to judge; lumod allows it only for
    # loopback/private hosts.
    assert agent.get_mcp_token("http://mcp.example.com/mcp") is None
    with pytest.raises(LumoAuthApiError) as info:
        sdk.mcp.get_token("http://mcp.example.com/mcp", subject_token=agent.access_token)
    assert (info.value.status_code, info.value.code) == (400, "invalid_target")


def test_exchange_audience_is_ignored_and_resource_sets_aud(sdk, oauth, agent, agent_client):
    body = sdk.auth.token_exchange(agent.access_token, audience=API_RESOURCE)
    assert body["issued_token_type"] == ACCESS_TOKEN_TYPE
    assert claims_of(oauth, body["access_token"])["aud"] != API_RESOURCE
    body = sdk.auth.token_exchange(agent.access_token, audience=API_RESOURCE,
                                   resource=API_RESOURCE)
    assert claims_of(oauth, body["access_token"])["aud"] == API_RESOURCE


# --- delegation (DelegationChain) -------------------------------------------------------------

def test_delegation_chain_exchange_carries_act_claim(lumod, org, oauth, consented, agent_client,
                                                     user, docs_scope):
    token = consented.exchange("s1", scopes=[docs_scope])
    assert consented.has_delegation("s1")
    claims = claims_of(oauth, token)
    assert claims["sub"] == user.id
    assert claims["act"] == {"sub": agent_client.client_id}
    # Without `resource` the token is bound to the acting agent.
    assert claims["aud"] == agent_client.client_id
    assert claims["scope"] == docs_scope
    assert DelegationChain.parse_actor_chain(token) == [agent_client.client_id]
    assert DelegationChain.get_subject(token) == user.id

    state = introspect(oauth, agent_client, token)
    assert state.active is True and state.sub == user.id
    assert oauth.introspect(agent_client, token)["act"] == {"sub": agent_client.client_id}

    # Delegated calls are made as the user.
    resp = consented.request("s1", "GET", f"/orgs/{org}/api/v1/me")
    assert resp.status_code == 200, resp.text
    me = GetMeResponse.from_json(resp.text)
    assert (me.subject_type, me.id, me.email) == ("user", user.id, user.email)


def test_delegation_with_resource_binds_the_api(oauth, consented):
    token = consented.exchange("s1", resource=API_RESOURCE)
    assert claims_of(oauth, token)["aud"] == API_RESOURCE


def test_delegation_cannot_widen_the_users_scopes(consented):
    with pytest.raises(LumoAuthApiError) as info:
        consented.exchange("s1", scopes=["admin:read"])
    assert info.value.status_code == 400
    assert info.value.code == "invalid_scope"
    assert "Token exchange failed (HTTP 400)" in str(info.value)


def test_nested_delegation_to_sub_agents_and_depth_limit(lumod, api_client, org, oauth,
                                                         consented, agent_client, user):
    # Agents that may be delegated to carry the token-exchange grant (an admin's decision).
    subs = [new_agent(lumod, create_agent_client(
                api_client, org, grantTypes=["client_credentials", TOKEN_EXCHANGE]))
            for _ in range(3)]
    sub_ids = [s.client_id for s in subs]

    level2 = consented.delegate_to_sub_agent("s1", subs[0].access_token)
    claims = claims_of(oauth, level2)
    assert claims["sub"] == user.id
    assert claims["act"] == {"sub": sub_ids[0], "act": {"sub": agent_client.client_id}}
    assert claims["aud"] == sub_ids[0]
    assert DelegationChain.parse_actor_chain(level2) == [sub_ids[0], agent_client.client_id]

    # The sub-agent passes its delegation on with its own chain.
    chain2 = DelegationChain(subs[1])
    chain2.set_user_token("n", level2)
    level3 = chain2.exchange("n")
    assert DelegationChain.parse_actor_chain(level3) == [sub_ids[1], sub_ids[0],
                                                         agent_client.client_id]
    assert DelegationChain.get_subject(level3) == user.id

    chain3 = DelegationChain(subs[2])
    chain3.set_user_token("n", level3)
    with pytest.raises(LumoAuthPermissionDeniedError) as info:
        chain3.exchange("n")
    assert str(info.value) == "Delegation chain too deep (max depth: 3)"
    assert info.value.status_code == 403
    assert info.value.body["error"] == "delegation_depth_exceeded"
    assert info.value.body["max_depth"] == 3


def test_delegation_revoke_ends_the_users_grant(sdk, oauth, consented, agent_client):
    user_tokens = consented._user_tokens["s1"]   # what the SDK keeps for the session
    assert user_tokens.refresh_token
    assert consented.revoke("s1") is True
    assert consented.active_sessions == [] and not consented.has_delegation("s1")
    assert introspect(oauth, agent_client, user_tokens.access_token).active is False
    assert introspect(oauth, agent_client, user_tokens.refresh_token).active is False
    with pytest.raises(LumoAuthApiError) as info:
        sdk.auth.refresh_token(user_tokens.refresh_token, client_id=agent_client.client_id,
                               client_secret=agent_client.secret)
    assert info.value.code == "invalid_grant"


def test_delegation_revoke_invalidates_derived_tokens(oauth, consented, agent_client):
    delegated = consented.exchange("s1")
    assert introspect(oauth, agent_client, delegated).active is True
    consented.revoke("s1")
    assert introspect(oauth, agent_client, delegated).active is False


# --- token exchange: declared token types -----------------------------------------------------

@pytest.fixture
def user_tokens(oauth, agent_client, user):
    """Tokens a user got through the authorization-code flow of `agent_client`."""
    return oauth.code_tokens(oauth.login(user.email), agent_client)


def test_exchange_checks_the_declared_subject_token_type(sdk, oauth, agent, user_tokens, user):
    # An ID token declared as an access token, and the other way round: invalid_grant.
    for token, kind in ((user_tokens["id_token"], ACCESS_TOKEN_TYPE),
                        (user_tokens["access_token"], ID_TOKEN_TYPE),
                        (user_tokens["refresh_token"], ACCESS_TOKEN_TYPE)):
        with pytest.raises(LumoAuthApiError) as info:
            sdk.auth.token_exchange(token, subject_token_type=kind,
                                    actor_token=agent.access_token)
        assert (info.value.status_code, info.value.code) == (400, "invalid_grant"), kind
    with pytest.raises(LumoAuthApiError) as info:
        sdk.auth.token_exchange(user_tokens["access_token"], subject_token_type="urn:example:x")
    assert (info.value.status_code, info.value.code) == (400, "invalid_request")
    with pytest.raises(LumoAuthApiError) as info:
        sdk.auth.token_exchange("not.a.token", actor_token=agent.access_token)
    assert info.value.code == "invalid_grant"

    # Correctly declared: an at+jwt as `jwt`, and the ID token issued to the acting agent.
    for token, kind in ((user_tokens["access_token"], JWT_TOKEN_TYPE),
                        (user_tokens["id_token"], ID_TOKEN_TYPE)):
        body = sdk.auth.token_exchange(token, subject_token_type=kind,
                                       actor_token=agent.access_token)
        claims = claims_of(oauth, body["access_token"])
        assert claims["sub"] == user.id, kind
        assert claims["act"] == {"sub": agent.client_id}, kind


def test_refresh_token_subject_with_agent_actor_is_invalid_request(sdk, agent, user_tokens):
    with pytest.raises(LumoAuthApiError) as info:
        sdk.auth.token_exchange(user_tokens["refresh_token"],
                                subject_token_type=REFRESH_TOKEN_TYPE,
                                actor_token=agent.access_token)
    assert (info.value.status_code, info.value.code) == (400, "invalid_request")


def test_refresh_token_subject_without_any_exchanging_client_is_refused(sdk, user_tokens):
    with pytest.raises(LumoAuthApiError) as info:
        sdk.auth.token_exchange(user_tokens["refresh_token"],
                                subject_token_type=REFRESH_TOKEN_TYPE)
    assert (info.value.status_code, info.value.code) == (400, "invalid_grant")


def test_id_token_of_another_client_is_refused(lumod, sdk, api_client, org, user_tokens):
    other = new_agent(lumod, create_agent_client(
        api_client, org, grantTypes=["client_credentials", TOKEN_EXCHANGE]))
    with pytest.raises(LumoAuthApiError) as info:
        sdk.auth.token_exchange(user_tokens["id_token"], subject_token_type=ID_TOKEN_TYPE,
                                actor_token=other.access_token)
    assert (info.value.status_code, info.value.code) == (400, "invalid_grant")


def test_an_agent_without_the_exchange_grant_cannot_be_delegated_to(lumod, api_client, org,
                                                                    consented):
    plain = new_agent(lumod, create_agent_client(api_client, org))
    with pytest.raises(LumoAuthApiError) as info:
        consented.delegate_to_sub_agent("s1", plain.access_token)
    assert info.value.status_code == 400
    assert info.value.code == "unauthorized_client"
