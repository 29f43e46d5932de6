"""OAuth admin API through the generated client: every response of the clients, sessions and
tokens endpoints, GET /me, discovery and JWKS, and the protocol endpoints' JSON answers must
deserialize into the `lumoauth_api_client` models (strict types), with the right values."""

import datetime
import json

import pytest
import requests

import lumoauth_api_client
from lumoauth_api_client import (
    AdminOAuthClientsApi,
    AdminSessionsApi,
    IdentityApi,
    OAuthApi,
    OIDCApi,
    WellKnownApi,
)
from lumoauth_api_client.exceptions import (
    ApiException,
    BadRequestException,
    ForbiddenException,
    NotFoundException,
    UnauthorizedException,
)
from lumoauth_api_client.models import (
    AdminClientTokensRevokeAllResponse,
    AdminSessionsCountResponse,
    AdminSessionsListResponse,
    AdminSessionsRevokeAllRequest,
    AdminSessionsRevokeAllResponse,
    AdminSessionsRevokeResponse,
    AdminSessionsStatsResponse,
    AdminTokensListResponse,
    AdminTokensRevokeResponse,
    AdminUserSessionsListResponse,
    AdminUserSessionsRevokeAllResponse,
    AdminUserTokensRevokeAllResponse,
    AuthorizationServerMetadata,
    GetClientResponse,
    GetMeResponse,
    IntrospectResponse,
    JsonWebKeySet,
    ListClientScopesResponse,
    ListClientsResponse,
    MessageResponse,
    OpenIdConfiguration,
    RegisteredClientMetadata,
    RotateClientSecretResponse,
    TokenResponse,
    UpdateClientResponse,
    UserinfoResponse,
)

from lumo_helpers import (
    ACCESS_TOKEN_TYPE,
    REDIRECT_URI,
    TOKEN_EXCHANGE,
    OAuthHttp,
    bearer_client,
    create_agent_client,
    create_oauth_client,
    create_password_user,
    error_body,
    issuer,
    jwt_parts,
    send,
    unique,
    verify_rs256,
)

CC = "client_credentials"


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc)


def recent(moment: datetime.datetime) -> bool:
    return moment.tzinfo is not None and abs((now_utc() - moment).total_seconds()) < 120


def anonymous(lumod):
    return lumoauth_api_client.ApiClient(lumoauth_api_client.Configuration(host=lumod.base))


def token_works(http: OAuthHttp, client, secret=None) -> int:
    """Status of a client_credentials request with HTTP Basic."""
    resp = http.token({"grant_type": CC}, basic=(client.client_id, secret or client.secret))
    return resp.status_code


@pytest.fixture
def clients_api(api_client):
    return AdminOAuthClientsApi(api_client)


@pytest.fixture
def tenant(lumod, new_org):
    """A fresh org (exact counts) with its OAuth endpoints and generated admin APIs."""
    handle = new_org()
    handle.http = OAuthHttp(lumod.base, handle.slug)
    handle.clients = AdminOAuthClientsApi(handle.client)
    handle.sessions = AdminSessionsApi(handle.client)
    return handle


# --- clients ----------------------------------------------------------------------------------

def test_create_confidential_client_defaults(api_client, org):
    resp = send(api_client, "POST", "/admin/clients", org,
                body={"name": unique("app"), "redirectUris": [REDIRECT_URI]},
                types={"201": "CreateClientResponse"})
    assert resp.status_code == 201
    assert resp.data.message
    data = resp.data.data
    assert isinstance(data.id, int) and data.id > 0
    assert data.client_id and data.secret and data.secret != data.client_id
    assert data.note
    assert (data.is_confidential, data.is_public, data.is_active, data.requires_pkce) == (
        True, False, True, False)
    assert data.grant_types == ["authorization_code", "refresh_token"]
    assert data.scopes == ["openid", "profile", "email"]
    assert data.redirect_uris == [REDIRECT_URI]
    assert recent(data.created_at)


def test_create_public_client_has_no_secret_and_requires_pkce(api_client, org):
    data = create_oauth_client(api_client, org, isPublic=True,
                               redirectUris=["http://127.0.0.1:8123/cb"])
    assert data.secret is None
    assert (data.is_public, data.is_confidential, data.requires_pkce) == (True, False, True)
    assert data.redirect_uris == ["http://127.0.0.1:8123/cb"]


def test_create_with_explicit_client_id(api_client, org, clients_api):
    wanted = unique("my-app")
    data = create_oauth_client(api_client, org, clientId=wanted)
    assert data.client_id == wanted
    assert clients_api.get_client(org, wanted).data.id == data.id


def test_list_clients_paginates_filters_and_searches(tenant):
    assert tenant.clients.list_clients(tenant.slug).meta.total == 0
    first = create_oauth_client(tenant.client, tenant.slug, name=unique("alpha"))
    second = create_agent_client(tenant.client, tenant.slug, name=unique("beta"))
    tenant.clients.disable_client(tenant.slug, second.client_id)

    listing = tenant.clients.list_clients(tenant.slug)
    assert isinstance(listing, ListClientsResponse)
    assert listing.resource_type == "clients"
    assert listing.meta == listing.pagination
    assert (listing.meta.total, listing.meta.page, listing.meta.total_pages) == (2, 1, 1)
    assert {c.client_id for c in listing.data} == {first.client_id, second.client_id}
    by_id = {c.client_id: c for c in listing.data}
    assert by_id[first.client_id].redirect_uris == [REDIRECT_URI]
    assert by_id[second.client_id].grant_types == [CC]
    assert by_id[second.client_id].is_active is False

    page2 = send(tenant.client, "GET", "/admin/clients", tenant.slug,
                 query={"limit": "1", "page": "2"}, types={"200": "ListClientsResponse"}).data
    assert len(page2.data) == 1
    assert (page2.meta.limit, page2.meta.total_pages) == (1, 2)
    assert page2.meta.has_previous_page is True and page2.meta.has_next_page is False

    found = send(tenant.client, "GET", "/admin/clients", tenant.slug,
                 query={"search": first.name}, types={"200": "ListClientsResponse"}).data
    assert [c.client_id for c in found.data] == [first.client_id]
    inactive = send(tenant.client, "GET", "/admin/clients", tenant.slug,
                    query={"isActive": "false"}, types={"200": "ListClientsResponse"}).data
    assert [c.client_id for c in inactive.data] == [second.client_id]


def test_get_client_by_client_id_and_by_numeric_id(api_client, org, clients_api):
    created = create_oauth_client(api_client, org)
    by_client_id = clients_api.get_client(org, created.client_id)
    by_id = clients_api.get_client(org, str(created.id))
    assert isinstance(by_client_id, GetClientResponse)
    assert by_client_id.data == by_id.data
    got = by_id.data
    assert (got.id, got.client_id, got.name) == (created.id, created.client_id, created.name)
    assert got.created_at == created.created_at
    assert got.scopes == created.scopes and got.grant_types == created.grant_types
    # The secret is shown only once.
    assert "secret" not in requests.get(
        issuer(api_client.configuration.host, org) + f"/admin/clients/{created.client_id}",
        headers={"X-API-Key": api_client.configuration.api_key["ApiKeyAuth"]},
        timeout=30).json()["data"]


def test_put_replaces_and_patch_changes_only_what_is_sent(api_client, org, clients_api):
    created = create_oauth_client(api_client, org, grantTypes=["authorization_code", CC],
                                  allowedScopes=["openid", "email"], requiresPkce=True)
    replaced = send(api_client, "PUT", "/admin/clients/{clientId}", org,
                    path_params={"clientId": created.client_id},
                    body={"name": "Replaced", "redirectUris": ["https://r.example.com/cb"]},
                    types={"200": "UpdateClientResponse"})
    assert isinstance(replaced.data, UpdateClientResponse) and replaced.data.message
    data = replaced.data.data
    assert data.name == "Replaced"
    assert data.redirect_uris == ["https://r.example.com/cb"]
    # PUT is a replacement: omitted fields go back to their defaults.
    assert data.grant_types == ["authorization_code", "refresh_token"]
    assert data.scopes == ["openid", "profile", "email"]
    assert data.requires_pkce is False

    patched = send(api_client, "PATCH", "/admin/clients/{clientId}", org,
                   path_params={"clientId": created.client_id},
                   body={"name": "Patched", "allowedScopes": ["openid"]},
                   types={"200": "UpdateClientResponse"}).data.data
    assert (patched.name, patched.scopes) == ("Patched", ["openid"])
    assert patched.redirect_uris == ["https://r.example.com/cb"]
    assert patched.grant_types == ["authorization_code", "refresh_token"]
    assert clients_api.get_client(org, created.client_id).data == patched


def test_disable_and_enable(api_client, org, clients_api, oauth):
    client = create_agent_client(api_client, org)
    disabled = clients_api.disable_client(org, client.client_id)
    assert isinstance(disabled, UpdateClientResponse)
    assert disabled.data.is_active is False and disabled.message
    assert clients_api.get_client(org, client.client_id).data.is_active is False
    assert token_works(oauth, client) == 401
    enabled = clients_api.enable_client(org, client.client_id)
    assert enabled.data.is_active is True
    assert token_works(oauth, client) == 200


def test_rotate_secret_with_default_grace(api_client, org, clients_api, oauth):
    client = create_agent_client(api_client, org)
    resp = clients_api.rotate_client_secret_with_http_info(org, client.client_id)
    assert resp.status_code == 200
    rotated = resp.data
    assert isinstance(rotated, RotateClientSecretResponse)
    assert rotated.data.client_id == client.client_id
    assert rotated.data.secret and rotated.data.secret != client.secret
    assert rotated.data.note
    until = datetime.datetime.fromisoformat(
        json.loads(resp.raw_data)["data"]["previousSecretValidUntil"]
        .replace("Z", "+00:00"))
    # Default grace: 24 hours.
    assert abs((until - now_utc()).total_seconds() - 86400) < 120
    assert token_works(oauth, client, rotated.data.secret) == 200
    assert token_works(oauth, client, client.secret) == 200


def test_client_scopes_get_and_put(api_client, org, clients_api):
    client = create_oauth_client(api_client, org)
    scopes = clients_api.list_client_scopes(org, client.client_id)
    assert isinstance(scopes, ListClientScopesResponse)
    assert scopes.data == ["openid", "profile", "email"]
    assert scopes.pagination.total == 3
    put = send(api_client, "PUT", "/admin/clients/{clientId}/scopes", org,
               path_params={"clientId": client.client_id},
               body={"scopes": ["openid", "email", "admin:read"]},
               types={"200": "SetClientScopesResponse"})
    assert put.data.data == ["openid", "email", "admin:read"] and put.data.message
    assert clients_api.list_client_scopes(org, client.client_id).data == put.data.data
    assert clients_api.get_client(org, client.client_id).data.scopes == put.data.data


def test_delete_client_ends_it_and_its_tokens(api_client, org, clients_api, oauth):
    client = create_agent_client(api_client, org, allowedScopes=["admin:read"])
    watcher = create_agent_client(api_client, org)
    token = oauth.client_credentials(client, "admin:read")["access_token"]
    deleted = clients_api.delete_client(org, client.client_id)
    assert isinstance(deleted, MessageResponse) and deleted.message
    with pytest.raises(NotFoundException) as info:
        clients_api.get_client(org, client.client_id)
    assert error_body(info.value)["status"] == 404
    with pytest.raises(NotFoundException):
        clients_api.delete_client(org, client.client_id)
    assert token_works(oauth, client) == 401
    assert oauth.introspect(watcher, token) == {"active": False}
    with pytest.raises(UnauthorizedException):
        AdminOAuthClientsApi(bearer_client(api_client.configuration.host, token)).list_clients(org)


@pytest.mark.parametrize("call", ["get_client", "enable_client", "disable_client",
                                  "rotate_client_secret", "list_client_scopes", "delete_client"])
def test_unknown_client_is_404(clients_api, org, call):
    with pytest.raises(NotFoundException) as info:
        getattr(clients_api, call)(org, unique("lmc_missing"))
    body = error_body(info.value)
    assert body["error"] == "resource_not_found"


def test_cimd_check_reports_refusals_in_the_model_shape(api_client, org):
    for client_id, reason in (("https://127.0.0.1/client.json", "ssrf_blocked"),
                              ("http://app.example.com/client.json", "invalid_client_id"),
                              ("https://app.example.com/", "invalid_client_id")):
        resp = send(api_client, "POST", "/admin/clients/cimd/check", org,
                    body={"client_id": client_id, "refresh": True},
                    types={"200": "AdminClientsCimdCheckResponse"})
        assert resp.status_code == 200
        result = resp.data.data
        assert result.ok is False and result.reason == reason, (client_id, result)
        assert result.client_id == client_id
        assert result.enabled is False  # CIMD is off until the org switches it on
        assert result.message
    with pytest.raises(ApiException) as info:
        send(api_client, "POST", "/admin/clients/cimd/check", org, body={"refresh": True})
    assert info.value.status == 422


# --- sessions and tokens ------------------------------------------------------------------------

@pytest.fixture
def signed_in(tenant):
    """Two users of the fresh org: `alice` signed in twice, `bob` once, each with tokens."""
    app = create_oauth_client(tenant.client, tenant.slug, allowedScopes=["openid", "profile",
                                                                       "email"])
    alice = create_password_user(tenant.client, tenant.slug)
    bob = create_password_user(tenant.client, tenant.slug)
    tokens = {"alice": [], "bob": []}
    for name, user, times in (("alice", alice, 2), ("bob", bob, 1)):
        for _ in range(times):
            browser = tenant.http.login(user.email)
            tokens[name].append((browser, tenant.http.code_tokens(browser, app)))
    tenant.app, tenant.alice, tenant.bob, tenant.tokens = app, alice, bob, tokens
    return tenant


def active(tenant, token: str) -> bool:
    return tenant.http.introspect(tenant.app, token)["active"]


def test_sessions_list_count_and_stats(signed_in):
    t = signed_in
    listing = t.sessions.admin_sessions_list(t.slug)
    assert isinstance(listing, AdminSessionsListResponse)
    assert listing.meta.total == listing.pagination.total == 3
    assert listing.resource_type == "sessions"
    for session in listing.data:
        assert isinstance(session.id, int)
        assert session.user_id in (t.alice.id, t.bob.id)
        assert session.user_email == (t.alice.email if session.user_id == t.alice.id
                                      else t.bob.email)
        assert session.is_active is True
        assert session.ip_address == "127.0.0.1"
        assert session.user_agent.startswith("python-requests/")
        assert recent(session.created_at) and session.expires_at > session.created_at

    count = t.sessions.admin_sessions_count(t.slug)
    assert isinstance(count, AdminSessionsCountResponse) and count.data.count == 3
    stats = t.sessions.admin_sessions_stats(t.slug)
    assert isinstance(stats, AdminSessionsStatsResponse)
    assert (stats.data.total, stats.data.active, stats.data.inactive) == (3, 3, 0)

    for key in (t.alice.id, t.alice.email):
        mine = send(t.client, "GET", "/admin/sessions", t.slug, query={"userId": key},
                    types={"200": "AdminSessionsListResponse"}).data
        assert mine.meta.total == 2 and {s.user_id for s in mine.data} == {t.alice.id}
    per_user = t.sessions.admin_user_sessions_list(t.slug, t.alice.id)
    assert isinstance(per_user, AdminUserSessionsListResponse)
    assert per_user.meta.total == 2 and len(per_user.data) == 2
    assert {s.id for s in per_user.data} == {s.id for s in mine.data}


def test_tokens_list_and_filters(signed_in):
    t = signed_in
    cc_client = create_agent_client(t.client, t.slug)
    t.http.client_credentials(cc_client)
    listing = t.sessions.admin_tokens_list(t.slug)
    assert isinstance(listing, AdminTokensListResponse)
    assert listing.resource_type == "tokens"
    assert listing.meta.total == 4
    for token in listing.data:
        assert isinstance(token.id, int)
        assert token.revoked is False and token.is_expired is False
        assert token.expires_at > token.created_at and recent(token.created_at)
    machine = [tk for tk in listing.data if tk.client_id == cc_client.client_id]
    assert len(machine) == 1 and machine[0].user_id is None

    by_user = send(t.client, "GET", "/admin/tokens", t.slug, query={"userId": t.alice.id},
                   types={"200": "AdminTokensListResponse"}).data
    assert by_user.meta.total == 2
    assert {(tk.user_id, tk.client_id) for tk in by_user.data} == {(t.alice.id, t.app.client_id)}
    assert all(tk.scopes == ["openid", "profile", "email"] for tk in by_user.data)
    by_client = send(t.client, "GET", "/admin/tokens", t.slug,
                     query={"clientId": t.app.client_id},
                     types={"200": "AdminTokensListResponse"}).data
    assert by_client.meta.total == 3
    revoked = send(t.client, "GET", "/admin/tokens", t.slug, query={"revoked": "true"},
                   types={"200": "AdminTokensListResponse"}).data
    assert revoked.meta.total == 0


def test_revoke_one_session_ends_its_tokens_only(signed_in, lumod):
    t = signed_in
    sessions = t.sessions.admin_user_sessions_list(t.slug, t.alice.id).data
    (browser1, first), (browser2, second) = t.tokens["alice"]
    # Find the session of the first sign-in through the token's sid claim.
    sid = jwt_parts(first["access_token"])[1]["sid"]
    assert sid in {str(s.id) for s in sessions}
    resp = t.sessions.admin_sessions_revoke(t.slug, sid)
    assert isinstance(resp, AdminSessionsRevokeResponse) and resp.message
    assert active(t, first["access_token"]) is False
    assert active(t, first["refresh_token"]) is False
    assert active(t, second["access_token"]) is True
    assert t.sessions.admin_sessions_count(t.slug).data.count == 2
    # The revoked token is refused on the admin API with 401 (not 403 for missing scopes).
    with pytest.raises(UnauthorizedException) as info:
        IdentityApi(bearer_client(lumod.base, first["access_token"])).get_me(t.slug)
    assert error_body(info.value)["error"] == "invalid_token"
    with pytest.raises(UnauthorizedException) as info:
        AdminSessionsApi(bearer_client(lumod.base, first["access_token"])).admin_sessions_list(
            t.slug)
    assert error_body(info.value)["status"] == 401
    # A live token without admin scopes gets 403 on the same call.
    with pytest.raises(ForbiddenException):
        AdminSessionsApi(bearer_client(lumod.base, second["access_token"])).admin_sessions_list(
            t.slug)


def test_revoke_one_token(signed_in, lumod):
    t = signed_in
    reader = create_agent_client(t.client, t.slug, allowedScopes=["admin:read"])
    token = t.http.client_credentials(reader, "admin:read")["access_token"]
    as_reader = AdminSessionsApi(bearer_client(lumod.base, token))
    assert as_reader.admin_sessions_count(t.slug).data.count == 3
    row = send(t.client, "GET", "/admin/tokens", t.slug, query={"clientId": reader.client_id},
               types={"200": "AdminTokensListResponse"}).data.data
    assert len(row) == 1
    resp = t.sessions.admin_tokens_revoke(t.slug, str(row[0].id))
    assert isinstance(resp, AdminTokensRevokeResponse) and resp.message
    assert active(t, token) is False
    with pytest.raises(UnauthorizedException) as info:
        as_reader.admin_sessions_count(t.slug)
    assert error_body(info.value)["status"] == 401
    listed = send(t.client, "GET", "/admin/tokens", t.slug, query={"revoked": "true"},
                  types={"200": "AdminTokensListResponse"}).data.data
    assert [tk.id for tk in listed] == [row[0].id] and listed[0].revoked is True
    with pytest.raises(NotFoundException):
        t.sessions.admin_tokens_revoke(t.slug, "999999")


@pytest.mark.parametrize("method", ["DELETE", "POST"])
def test_revoke_all_tokens_of_a_user(signed_in, lumod, method):
    t = signed_in
    if method == "DELETE":
        resp = t.sessions.admin_user_tokens_revoke_all(t.slug, t.alice.id)
        assert isinstance(resp, AdminUserTokensRevokeAllResponse)
    else:
        resp = t.sessions.admin_user_tokens_revoke_post(t.slug, t.alice.id)
    assert resp.message
    for _, tokens in t.tokens["alice"]:
        assert active(t, tokens["access_token"]) is False
        assert active(t, tokens["refresh_token"]) is False
    assert active(t, t.tokens["bob"][0][1]["access_token"]) is True
    with pytest.raises(UnauthorizedException):
        IdentityApi(bearer_client(lumod.base, t.tokens["alice"][0][1]["access_token"])).get_me(
            t.slug)
    for _, tokens in t.tokens["alice"]:
        refresh = t.http.token({"grant_type": "refresh_token",
                                "refresh_token": tokens["refresh_token"]},
                               basic=(t.app.client_id, t.app.secret))
        assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("method", ["DELETE", "POST"])
def test_revoke_all_sessions_of_a_user(signed_in, lumod, method):
    t = signed_in
    if method == "DELETE":
        resp = t.sessions.admin_user_sessions_revoke_all(t.slug, t.alice.id)
        assert isinstance(resp, AdminUserSessionsRevokeAllResponse)
    else:
        resp = t.sessions.admin_user_sessions_revoke_post(t.slug, t.alice.id)
    assert resp.message
    assert t.sessions.admin_user_sessions_list(t.slug, t.alice.id).data == []
    assert t.sessions.admin_sessions_count(t.slug).data.count == 1
    for browser, tokens in t.tokens["alice"]:
        assert active(t, tokens["access_token"]) is False
        # The browser is signed out: authorize shows the login page again.
        page = browser.get(t.http.url("/oauth/authorize"), allow_redirects=False, timeout=30,
                           params={"response_type": "code", "client_id": t.app.client_id,
                                   "redirect_uri": REDIRECT_URI, "scope": "openid"})
        assert page.status_code == 200 and 'name="password"' in page.text
    with pytest.raises(UnauthorizedException):
        IdentityApi(bearer_client(lumod.base, t.tokens["alice"][0][1]["access_token"])).get_me(
            t.slug)
    assert active(t, t.tokens["bob"][0][1]["access_token"]) is True


@pytest.mark.parametrize("method", ["DELETE", "POST"])
def test_revoke_all_tokens_of_a_client(signed_in, lumod, method):
    t = signed_in
    machine = create_agent_client(t.client, t.slug, allowedScopes=["admin:read"])
    token = t.http.client_credentials(machine, "admin:read")["access_token"]
    if method == "DELETE":
        resp = t.sessions.admin_client_tokens_revoke_all(t.slug, machine.client_id)
        assert isinstance(resp, AdminClientTokensRevokeAllResponse)
    else:
        resp = t.sessions.admin_client_tokens_revoke_post(t.slug, machine.client_id)
    assert resp.message
    assert active(t, token) is False
    with pytest.raises(UnauthorizedException):
        AdminOAuthClientsApi(bearer_client(lumod.base, token)).list_clients(t.slug)
    # Other clients' tokens survive; the client itself may get new tokens.
    assert active(t, t.tokens["bob"][0][1]["access_token"]) is True
    assert token_works(t.http, machine) == 200


def exchanged_from(t, token):
    """A delegated token (RFC 8693, an agent acting for the user) derived from `token`."""
    agent = create_agent_client(t.client, t.slug, grantTypes=[CC, TOKEN_EXCHANGE])
    actor = t.http.client_credentials(agent)["access_token"]
    resp = t.http.token({"grant_type": TOKEN_EXCHANGE, "subject_token": token,
                         "subject_token_type": ACCESS_TOKEN_TYPE, "actor_token": actor,
                         "actor_token_type": ACCESS_TOKEN_TYPE})
    assert resp.status_code == 200, resp.text
    delegated = resp.json()["access_token"]
    assert jwt_parts(delegated)[1]["act"] == {"sub": agent.client_id}
    assert active(t, delegated) is True
    return delegated


def test_revoking_a_users_tokens_ends_tokens_delegated_from_them(signed_in):
    t = signed_in
    delegated = exchanged_from(t, t.tokens["alice"][0][1]["access_token"])
    t.sessions.admin_user_tokens_revoke_all(t.slug, t.alice.id)
    assert active(t, delegated) is False


def test_revoking_a_users_sessions_ends_tokens_delegated_from_them(signed_in):
    t = signed_in
    delegated = exchanged_from(t, t.tokens["alice"][0][1]["access_token"])
    t.sessions.admin_user_sessions_revoke_all(t.slug, t.alice.id)
    assert active(t, t.tokens["alice"][0][1]["access_token"]) is False
    assert active(t, delegated) is False


def test_revoke_all_sessions_needs_confirmation(signed_in):
    t = signed_in
    with pytest.raises(BadRequestException) as info:
        t.sessions.admin_sessions_revoke_all(t.slug, AdminSessionsRevokeAllRequest(confirm=False))
    assert error_body(info.value)["status"] == 400
    assert t.sessions.admin_sessions_count(t.slug).data.count == 3
    resp = t.sessions.admin_sessions_revoke_all(t.slug, AdminSessionsRevokeAllRequest(confirm=True))
    assert isinstance(resp, AdminSessionsRevokeAllResponse) and resp.message
    assert t.sessions.admin_sessions_count(t.slug).data.count == 0
    assert t.sessions.admin_sessions_list(t.slug).data == []
    for name in ("alice", "bob"):
        for _, tokens in t.tokens[name]:
            assert active(t, tokens["access_token"]) is False


@pytest.mark.parametrize("call,arg", [
    ("admin_user_sessions_list", "00000000-0000-4000-8000-000000000000"),
    ("admin_user_tokens_revoke_all", "00000000-0000-4000-8000-000000000000"),
    ("admin_user_sessions_revoke_all", "nobody@example.com"),
    ("admin_client_tokens_revoke_all", "lmc_missing"),
    ("admin_sessions_revoke", "987654"),
])
def test_sessions_tokens_unknown_targets_are_404(tenant, call, arg):
    with pytest.raises(NotFoundException) as info:
        getattr(tenant.sessions, call)(tenant.slug, arg)
    assert error_body(info.value)["error"] == "resource_not_found"


# --- GET /me -----------------------------------------------------------------------------------

def test_me_with_user_and_client_tokens(lumod, api_client, org, oauth):
    app = create_oauth_client(api_client, org)
    user = create_password_user(api_client, org, name="Morgan Me")
    tokens = oauth.code_tokens(oauth.login(user.email), app)
    me = IdentityApi(bearer_client(lumod.base, tokens["access_token"])).get_me(org)
    assert isinstance(me, GetMeResponse)
    assert (me.subject_type, me.id, me.email, me.name) == ("user", user.id, user.email,
                                                          "Morgan Me")
    assert me.roles == [] and me.mfa_enabled is False
    assert me.tenant.slug == org

    machine = create_agent_client(api_client, org)
    token = oauth.client_credentials(machine)["access_token"]
    me = IdentityApi(bearer_client(lumod.base, token)).get_me(org)
    assert (me.subject_type, me.id, me.name) == ("agent", machine.client_id, machine.name)
    assert me.email is None and me.tenant.slug == org


def test_me_is_404_for_api_keys_and_401_without_credentials(lumod, api_client, org):
    with pytest.raises(NotFoundException) as info:
        IdentityApi(api_client).get_me(org)
    assert error_body(info.value)["status"] == 404
    with pytest.raises(UnauthorizedException) as info:
        IdentityApi(anonymous(lumod)).get_me(org)
    assert error_body(info.value)["status"] == 401


# --- discovery and JWKS ------------------------------------------------------------------------

def test_openid_configuration(lumod, org, oauth):
    resp = WellKnownApi(anonymous(lumod)).get_openid_configuration_with_http_info(org)
    doc = resp.data
    assert isinstance(doc, OpenIdConfiguration)
    assert resp.headers["access-control-allow-origin"] == "*"
    assert "public" in resp.headers["cache-control"]
    base = oauth.issuer
    assert doc.issuer == base
    assert doc.authorization_endpoint == base + "/oauth/authorize"
    assert doc.token_endpoint == base + "/oauth/token"
    assert doc.userinfo_endpoint == base + "/oauth/userinfo"
    assert doc.jwks_uri == base + "/.well-known/jwks.json"
    assert doc.introspection_endpoint == base + "/oauth/introspect"
    assert doc.revocation_endpoint == base + "/oauth/revoke"
    assert doc.registration_endpoint == base + "/connect/register"
    assert doc.end_session_endpoint == base + "/oauth/logout"
    assert doc.pushed_authorization_request_endpoint == base + "/oauth/par"
    assert doc.device_authorization_endpoint == base + "/oauth/device_authorization"
    assert {"authorization_code", "refresh_token", "client_credentials",
            "urn:ietf:params:oauth:grant-type:token-exchange"} <= set(doc.grant_types_supported)
    assert "code" in doc.response_types_supported
    assert "RS256" in doc.id_token_signing_alg_values_supported
    assert doc.code_challenge_methods_supported == ["S256"]
    assert {"client_secret_basic", "client_secret_post"} <= set(
        doc.token_endpoint_auth_methods_supported)


def test_authorization_server_metadata_matches_oidc_document(lumod, org):
    api = WellKnownApi(anonymous(lumod))
    oidc = api.get_openid_configuration(org)
    meta = api.get_authorization_server_metadata(org)
    assert isinstance(meta, AuthorizationServerMetadata)
    for field in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri",
                  "revocation_endpoint", "introspection_endpoint", "registration_endpoint"):
        assert getattr(meta, field) == getattr(oidc, field), field
    assert set(meta.grant_types_supported) == set(oidc.grant_types_supported)


def test_jwks_verifies_issued_tokens(lumod, api_client, org, oauth):
    resp = WellKnownApi(anonymous(lumod)).get_jwks_with_http_info(org)
    keys = resp.data
    assert isinstance(keys, JsonWebKeySet)
    assert resp.headers["access-control-allow-origin"] == "*"
    kids = [k.kid for k in keys.keys]
    assert kids and len(kids) == len(set(kids))
    for key in keys.keys:
        assert key.use == "sig"
        assert key.kty in ("RSA", "EC", "OKP")
    machine = create_agent_client(api_client, org)
    token = oauth.client_credentials(machine)["access_token"]
    claims = verify_rs256(token, keys.to_dict())
    assert claims["sub"] == machine.client_id


def test_each_org_has_its_own_issuer_and_keys(lumod, org, new_org):
    other = new_org()
    api = WellKnownApi(anonymous(lumod))
    assert api.get_openid_configuration(other.slug).issuer == issuer(lumod.base, other.slug)
    mine = {k.kid for k in api.get_jwks(org).keys}
    theirs = {k.kid for k in api.get_jwks(other.slug).keys}
    assert theirs and not (mine & theirs)


# --- protocol endpoints through the generated client's transport and models --------------------

def test_token_introspect_userinfo_revoke_deserialize(lumod, api_client, org, oauth):
    machine = create_agent_client(api_client, org, allowedScopes=["openid", "admin:read"])
    anon = anonymous(lumod)
    creds = {"client_id": machine.client_id, "client_secret": machine.secret}
    issued = send(anon, "POST", "/oauth/token", org, auth=(),
                  form={"grant_type": CC, "scope": "openid admin:read", **creds},
                  types={"200": "TokenResponse"})
    assert issued.headers["cache-control"] == "no-store"
    token = issued.data
    assert isinstance(token, TokenResponse)
    assert (token.token_type, token.scope) == ("Bearer", "openid admin:read")
    assert token.expires_in == 3600 and token.refresh_token is None

    info = send(anon, "POST", "/oauth/introspect", org, auth=(),
                form={"token": token.access_token, **creds},
                types={"200": "IntrospectResponse"}).data
    assert isinstance(info, IntrospectResponse)
    assert info.active is True
    assert (info.client_id, info.sub, info.scope) == (machine.client_id, machine.client_id,
                                                      "openid admin:read")
    assert info.iss == oauth.issuer and info.exp - info.iat == 3600

    for call in ("userinfo", "userinfo_post"):
        claims = getattr(OIDCApi(bearer_client(lumod.base, token.access_token)), call)(org)
        assert isinstance(claims, UserinfoResponse)
        assert claims.sub == machine.client_id and claims.client_id == machine.client_id

    revoked = send(anon, "POST", "/oauth/revoke", org, auth=(),
                   form={"token": token.access_token, **creds}, types={"200": "object"})
    assert revoked.status_code == 200 and revoked.data == {}
    info = send(anon, "POST", "/oauth/introspect", org, auth=(),
                form={"token": token.access_token, **creds},
                types={"200": "IntrospectResponse"}).data
    assert info.active is False
    with pytest.raises(UnauthorizedException):
        OIDCApi(bearer_client(lumod.base, token.access_token)).userinfo(org)


def test_dynamic_registration_responses_deserialize(lumod, api_client, org):
    resp = send(api_client, "POST", "/connect/register", org,
                body={"client_name": "DCR app", "redirect_uris": [REDIRECT_URI]},
                types={"201": "RegisterClientResponse"})
    assert resp.status_code == 201
    reg = resp.data
    assert reg.client_name == "DCR app" and reg.redirect_uris == [REDIRECT_URI]
    assert reg.client_secret and reg.registration_access_token
    assert reg.registration_client_uri == issuer(lumod.base, org) + \
        f"/connect/register/{reg.client_id}"
    read = OAuthApi(bearer_client(lumod.base, reg.registration_access_token)) \
        .get_client_configuration(org, reg.client_id)
    assert isinstance(read, RegisteredClientMetadata)
    assert (read.client_id, read.client_name, read.redirect_uris) == (
        reg.client_id, "DCR app", [REDIRECT_URI])
    assert read.token_endpoint_auth_method == reg.token_endpoint_auth_method
    # The registered client shows up in the admin API.
    assert AdminOAuthClientsApi(api_client).get_client(org, reg.client_id).data.name == "DCR app"
