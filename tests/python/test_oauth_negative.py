"""OAuth refusals: rotated secrets after their grace, disabled clients, credentials of another
org, bearer tokens without admin scopes, and invalid client registrations (LumoAuth error shape)."""

import datetime
import json
import time

import pytest
import requests

from lumoauth_api_client import AdminOAuthClientsApi, AdminUsersApi, IdentityApi
from lumoauth_api_client.exceptions import (
    ForbiddenException,
    UnauthorizedException,
    UnprocessableEntityException,
)

from lumo_helpers import (
    REDIRECT_URI,
    OAuthHttp,
    bearer_client,
    create_agent_client,
    create_oauth_client,
    create_password_user,
    error_body,
    oauth_error,
    send,
    unique,
)

CC = "client_credentials"


def cc_basic(http, client_id, secret):
    return http.token({"grant_type": CC}, basic=(client_id, secret))


def cc_post(http, client_id, secret):
    return http.token({"grant_type": CC, "client_id": client_id, "client_secret": secret})


def rotate(api_client, org, client_id, grace):
    resp = send(api_client, "POST", "/admin/clients/{clientId}/rotate-secret", org,
                path_params={"clientId": client_id}, body={"gracePeriodSeconds": grace},
                types={"200": "RotateClientSecretResponse"})
    assert resp.status_code == 200
    raw = json.loads(resp.raw_data)["data"]
    return resp.data.data.secret, raw["previousSecretValidUntil"]


def invalid_client(resp):
    body = oauth_error(resp, 401, "invalid_client")
    assert resp.headers.get("WWW-Authenticate", "").startswith("Basic"), resp.headers
    return body


# --- secret rotation --------------------------------------------------------------------------

def test_old_secret_works_within_grace_and_stops_after_rotation_without_grace(api_client, org,
                                                                              oauth):
    client = create_agent_client(api_client, org)
    first = client.secret
    second, until = rotate(api_client, org, client.client_id, 600)
    valid_until = datetime.datetime.fromisoformat(until.replace("Z", "+00:00"))
    remaining = (valid_until - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    assert 500 < remaining <= 600
    for send_secret in (cc_basic, cc_post):
        assert send_secret(oauth, client.client_id, first).status_code == 200
        assert send_secret(oauth, client.client_id, second).status_code == 200

    third, until = rotate(api_client, org, client.client_id, 0)
    assert until is None
    for send_secret in (cc_basic, cc_post):
        invalid_client(send_secret(oauth, client.client_id, first))
        invalid_client(send_secret(oauth, client.client_id, second))
        assert send_secret(oauth, client.client_id, third).status_code == 200
    # The old secret no longer authenticates anywhere else either.
    invalid_client(oauth.post_form("/oauth/introspect", {"token": "x"},
                                   basic=(client.client_id, second)))


def test_old_secret_stops_when_the_grace_period_ends(api_client, org, oauth):
    client = create_agent_client(api_client, org)
    new_secret, _ = rotate(api_client, org, client.client_id, 2)
    assert cc_basic(oauth, client.client_id, client.secret).status_code == 200
    time.sleep(3.2)
    invalid_client(cc_basic(oauth, client.client_id, client.secret))
    assert cc_basic(oauth, client.client_id, new_secret).status_code == 200


@pytest.mark.parametrize("grace", [-1, "soon", 1.5])
def test_rotate_with_an_invalid_grace_period_is_422(api_client, org, oauth, grace):
    client = create_agent_client(api_client, org)
    with pytest.raises(UnprocessableEntityException) as info:
        rotate(api_client, org, client.client_id, grace)
    body = error_body(info.value)
    assert "gracePeriodSeconds" in body["details"]
    # Nothing rotated.
    assert cc_basic(oauth, client.client_id, client.secret).status_code == 200


# --- disabled clients -------------------------------------------------------------------------

def test_disabled_client_is_refused_at_the_token_endpoint(api_client, org, oauth):
    clients = AdminOAuthClientsApi(api_client)
    machine = create_agent_client(api_client, org)
    app = create_oauth_client(api_client, org)
    user = create_password_user(api_client, org)
    tokens = oauth.code_tokens(oauth.login(user.email), app)
    clients.disable_client(org, machine.client_id)
    clients.disable_client(org, app.client_id)

    body = invalid_client(cc_basic(oauth, machine.client_id, machine.secret))
    assert "disabled" in body["error_description"]
    invalid_client(cc_post(oauth, machine.client_id, machine.secret))
    invalid_client(oauth.token({"grant_type": "refresh_token",
                                "refresh_token": tokens["refresh_token"]},
                               basic=(app.client_id, app.secret)))
    invalid_client(oauth.post_form("/oauth/introspect", {"token": tokens["access_token"]},
                                   basic=(app.client_id, app.secret)))
    # A disabled client cannot start an authorization either (error page, no redirect).
    page = requests.get(oauth.url("/oauth/authorize"), allow_redirects=False, timeout=30,
                        params={"response_type": "code", "client_id": app.client_id,
                                "redirect_uri": REDIRECT_URI, "scope": "openid"})
    assert page.status_code == 400 and "Location" not in page.headers

    clients.enable_client(org, machine.client_id)
    assert cc_basic(oauth, machine.client_id, machine.secret).status_code == 200


# --- another org's credentials ----------------------------------------------------------------

def test_client_of_one_org_is_unknown_at_another_orgs_token_endpoint(lumod, api_client, org,
                                                                     new_org):
    other = new_org()
    machine = create_agent_client(api_client, org)
    there = OAuthHttp(lumod.base, other.slug)
    invalid_client(cc_basic(there, machine.client_id, machine.secret))
    invalid_client(cc_post(there, machine.client_id, machine.secret))
    # Same request at its own org works.
    assert cc_basic(OAuthHttp(lumod.base, org), machine.client_id, machine.secret).status_code \
        == 200


def test_token_of_one_org_is_refused_by_another_org(lumod, api_client, org, oauth, new_org):
    other = new_org()
    machine = create_agent_client(api_client, org, allowedScopes=["admin:read"])
    token = oauth.client_credentials(machine, "admin:read")["access_token"]
    as_token = bearer_client(lumod.base, token)
    assert AdminOAuthClientsApi(as_token).list_clients(org).meta.total >= 1
    with pytest.raises(UnauthorizedException) as info:
        AdminOAuthClientsApi(as_token).list_clients(other.slug)
    assert error_body(info.value)["error"] == "invalid_token"
    with pytest.raises(UnauthorizedException):
        AdminUsersApi(as_token).list_users(other.slug)
    with pytest.raises(UnauthorizedException):
        IdentityApi(as_token).get_me(other.slug)
    userinfo = requests.get(OAuthHttp(lumod.base, other.slug).url("/oauth/userinfo"),
                            headers={"Authorization": "Bearer " + token}, timeout=30)
    oauth_error(userinfo, 401, "invalid_token")
    # The other org's resource servers see the token as inactive.
    theirs = create_agent_client(other.client, other.slug)
    assert OAuthHttp(lumod.base, other.slug).introspect(theirs, token) == {"active": False}


# --- bearer tokens without admin scopes -------------------------------------------------------

def test_user_token_without_admin_scopes_is_403_with_required_scopes(lumod, api_client, org,
                                                                     oauth):
    app = create_oauth_client(api_client, org)
    user = create_password_user(api_client, org)
    tokens = oauth.code_tokens(oauth.login(user.email), app)
    as_user = bearer_client(lumod.base, tokens["access_token"])
    with pytest.raises(ForbiddenException) as info:
        AdminUsersApi(as_user).list_users(org)
    body = error_body(info.value)
    assert body["error"] == "forbidden"
    assert body["message"].startswith("Insufficient scope")
    required = body["details"]["required_scopes"]
    assert isinstance(required, list) and required
    assert all(isinstance(s, str) and s for s in required)
    assert "admin:read" in required
    assert sorted(body["details"]["granted_scopes"]) == ["email", "openid", "profile"]
    with pytest.raises(ForbiddenException) as info:
        AdminOAuthClientsApi(as_user).list_clients(org)
    assert "admin:read" in error_body(info.value)["details"]["required_scopes"]


def test_read_scope_token_cannot_write(lumod, api_client, org, oauth):
    machine = create_agent_client(api_client, org, allowedScopes=["admin:read"])
    as_reader = bearer_client(lumod.base, oauth.client_credentials(machine)["access_token"])
    clients = AdminOAuthClientsApi(as_reader)
    assert clients.get_client(org, machine.client_id).data.client_id == machine.client_id
    for attempt in (lambda: clients.disable_client(org, machine.client_id),
                    lambda: clients.rotate_client_secret(org, machine.client_id),
                    lambda: send(as_reader, "POST", "/admin/clients", org, auth=("BearerAuth",),
                                 body={"name": "x", "grantTypes": [CC]},
                                 types={"201": "CreateClientResponse"})):
        with pytest.raises(ForbiddenException) as info:
            attempt()
        details = error_body(info.value)["details"]
        assert "admin:clients" in details["required_scopes"]
        assert details["granted_scopes"] == ["admin:read"]
    assert AdminOAuthClientsApi(api_client).get_client(org, machine.client_id).data.is_active


# --- invalid client payloads ------------------------------------------------------------------

@pytest.mark.parametrize("body,field", [
    ({"redirectUris": ["relative/callback"]}, "redirectUris"),
    ({"redirectUris": ["https://app.example.com/cb#fragment"]}, "redirectUris"),
    ({"redirectUris": ["http://app.example.com/cb"]}, "redirectUris"),
    ({"redirectUris": ["myapp:/cb"]}, "redirectUris"),
    ({"postLogoutRedirectUris": ["not a uri"]}, "postLogoutRedirectUris"),
    ({"grantTypes": ["password"]}, "grantTypes"),
    ({"grantTypes": ["implicit"]}, "grantTypes"),
    ({"isPublic": True, "grantTypes": [CC]}, "grantTypes"),
    ({"isConfidential": False, "grantTypes": ["authorization_code", CC]}, "grantTypes"),
    ({"isPublic": True, "grantTypes": ["urn:openid:params:grant-type:ciba"]}, "grantTypes"),
    ({"isPublic": True, "isConfidential": True}, "isPublic"),
    ({"allowedScopes": ["no-such-scope"]}, "allowedScopes"),
    ({"grantTypes": ["authorization_code"], "redirectUris": []}, "redirectUris"),
    ({"accessTokenLifetime": 5}, "accessTokenLifetime"),
    ({"name": ""}, "name"),
    ({"name": None}, "name"),
])
def test_invalid_client_payload_is_422(api_client, org, body, field):
    payload = {"name": unique("bad"), "redirectUris": [REDIRECT_URI]}
    payload.update(body)
    if payload["name"] is None:
        del payload["name"]
    with pytest.raises(UnprocessableEntityException) as info:
        send(api_client, "POST", "/admin/clients", org, body=payload,
             types={"201": "CreateClientResponse"})
    err = error_body(info.value)
    assert err["error"] == "validation_error"
    details = err["details"]
    # Scopes may be reported under either spelling of the field.
    keys = set(details) | ({"allowedScopes"} if "scopes" in details else set())
    assert field in keys, details


@pytest.mark.parametrize("raw", ["{not json", '["a list"]', '"a string"'])
def test_malformed_client_body_is_400(lumod, oauth, raw):
    resp = requests.post(oauth.url("/admin/clients"), data=raw, timeout=30,
                         headers={"X-API-Key": lumod.api_key,
                                  "Content-Type": "application/json"})
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert (body["error"], body["status"]) == ("invalid_request", 400)
    assert isinstance(body["message"], str) and body["message"]


@pytest.mark.parametrize("body,field", [
    ({"grantTypes": ["password"]}, "grantTypes"),
    ({"redirectUris": ["relative/path"]}, "redirectUris"),
    ({"accessTokenLifetime": 10 ** 7}, "accessTokenLifetime"),
])
def test_invalid_patch_is_422_and_changes_nothing(api_client, org, body, field):
    client = create_oauth_client(api_client, org)
    with pytest.raises(UnprocessableEntityException) as info:
        send(api_client, "PATCH", "/admin/clients/{clientId}", org,
             path_params={"clientId": client.client_id}, body=body,
             types={"200": "UpdateClientResponse"})
    assert field in error_body(info.value)["details"]
    now = AdminOAuthClientsApi(api_client).get_client(org, client.client_id).data
    assert (now.grant_types, now.redirect_uris) == (client.grant_types, client.redirect_uris)


def test_public_client_cannot_be_patched_to_client_credentials(api_client, org):
    client = create_oauth_client(api_client, org, isPublic=True)
    with pytest.raises(UnprocessableEntityException) as info:
        send(api_client, "PATCH", "/admin/clients/{clientId}", org,
             path_params={"clientId": client.client_id},
             body={"grantTypes": ["authorization_code", CC]},
             types={"200": "UpdateClientResponse"})
    assert "grantTypes" in error_body(info.value)["details"]


def test_put_without_redirect_uris_for_authorization_code_is_422(api_client, org):
    client = create_oauth_client(api_client, org)
    with pytest.raises(UnprocessableEntityException) as info:
        send(api_client, "PUT", "/admin/clients/{clientId}", org,
             path_params={"clientId": client.client_id}, body={"name": "only a name"},
             types={"200": "UpdateClientResponse"})
    assert "redirectUris" in error_body(info.value)["details"]


def test_setting_unknown_scopes_is_422(api_client, org):
    client = create_oauth_client(api_client, org)
    with pytest.raises(UnprocessableEntityException) as info:
        send(api_client, "PUT", "/admin/clients/{clientId}/scopes", org,
             path_params={"clientId": client.client_id}, body={"scopes": ["nope:scope"]},
             types={"200": "SetClientScopesResponse"})
    assert "scopes" in error_body(info.value)["details"]
    assert AdminOAuthClientsApi(api_client).list_client_scopes(org, client.client_id).data == \
        client.scopes


def test_patch_with_empty_name_is_422(api_client, org):
    client = create_oauth_client(api_client, org)
    with pytest.raises(UnprocessableEntityException) as info:
        send(api_client, "PATCH", "/admin/clients/{clientId}", org,
             path_params={"clientId": client.client_id}, body={"name": ""},
             types={"200": "UpdateClientResponse"})
    assert "name" in error_body(info.value)["details"]


def test_patch_is_public_is_applied_or_refused(api_client, org):
    client = create_oauth_client(api_client, org)
    try:
        resp = send(api_client, "PATCH", "/admin/clients/{clientId}", org,
                    path_params={"clientId": client.client_id}, body={"isPublic": True},
                    types={"200": "UpdateClientResponse"})
    except UnprocessableEntityException as exc:
        assert "isPublic" in error_body(exc)["details"]
    else:
        assert resp.data.data.is_public is True
