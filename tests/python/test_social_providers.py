"""Social login providers (`~/admin/social-providers`, scope admin:settings) through the
generated client (`AdminIdentityProvidersApi.admin_social_providers_*` and its models): create
(oidc, github, google), get by id and by slug, list, PATCH, PUT (create by slug, replace),
enable/disable, delete, the type catalog, the callback-URL map, validation (422), conflicts
(409), unknown providers (404), missing and foreign credentials, and the "Continue with ..."
links of the hosted login page.

The client declares no request body for create, PUT and PATCH, so those go through
`lumo_helpers.send` (the client's own serialization and models). Fields the client's
`SocialLoginProvider` model does not declare (type, hasClientSecret, issuer, jwksUrl,
createdAt, updatedAt) are checked on the raw JSON of the same response. Error codes are the
shared ones of every admin family: `resource_not_found` (404), `duplicate_resource` (409),
`validation_error` (422, `details` keyed by field).
"""

import json
import uuid
from datetime import datetime

import pytest
import requests

from lumoauth_api_client import AdminIdentityProvidersApi, ApiClient, Configuration
from lumoauth_api_client.exceptions import (
    ApiException, ConflictException, NotFoundException, UnauthorizedException,
    UnprocessableEntityException,
)
from lumoauth_api_client.models import (
    AdminSocialProvidersAvailableResponse, AdminSocialProvidersAvailableResponseDataItem,
    AdminSocialProvidersCallbackUrlsResponse, AdminSocialProvidersCreateResponse,
    AdminSocialProvidersGetResponse, AdminSocialProvidersListResponse, MessageResponse,
    PaginationMeta, RoleRef, SocialLoginProvider,
)

from org_fixtures import own_org_fixtures
from lumo_helpers import (
    REDIRECT_URI, create_oauth_client, create_role, error_body, error_of, send, unique,
)

lumod, api_client, org, oauth, new_org = own_org_fixtures("social", "Social provider tests")

COLLECTION = "/admin/social-providers"
ONE = "/admin/social-providers/{providerId}"
SAVED = {"200": "AdminSocialProvidersCreateResponse", "201": "AdminSocialProvidersCreateResponse"}
TYPES = {"google", "microsoft", "github", "apple", "oidc", "oauth2"}
ISSUER = "https://idp.example.com"


@pytest.fixture(scope="module")
def social(api_client):
    return AdminIdentityProvidersApi(api_client)


def raw(resp) -> dict:
    return json.loads(resp.raw_data)


def saved(resp, status: int, secret: str = None):
    """Checks a create/PUT/PATCH/enable/disable answer; returns (model, raw `data`)."""
    assert resp.status_code == status, (resp.status_code, resp.raw_data)
    assert isinstance(resp.data, AdminSocialProvidersCreateResponse), resp.raw_data
    assert resp.data.message
    assert isinstance(resp.data.data, SocialLoginProvider), resp.raw_data
    if secret is not None:
        assert secret.encode() not in resp.raw_data
        assert b'"clientSecret"' not in resp.raw_data
    return resp.data.data, raw(resp)["data"]


def create(api_client, org, body: dict, secret: str = None):
    resp = send(api_client, "POST", COLLECTION, org, body=body, types=SAVED)
    return saved(resp, 201, secret)


def oidc_body(**extra) -> dict:
    body = {"provider": unique("oidc"), "type": "oidc", "clientId": "client-" + uuid.uuid4().hex,
            "clientSecret": "secret-" + uuid.uuid4().hex, "issuer": ISSUER}
    body.update(extra)
    return body


def get(social, org, provider_id):
    resp = social.admin_social_providers_get_with_http_info(org, str(provider_id))
    assert resp.status_code == 200
    assert isinstance(resp.data, AdminSocialProvidersGetResponse), resp.raw_data
    assert isinstance(resp.data.data, SocialLoginProvider)
    return resp.data.data, raw(resp)["data"]


def listing(social, org) -> AdminSocialProvidersListResponse:
    resp = social.admin_social_providers_list_with_http_info(org)
    assert resp.status_code == 200
    page = resp.data
    assert isinstance(page, AdminSocialProvidersListResponse), resp.raw_data
    assert page.resource_type == "social_provider"
    assert isinstance(page.meta, PaginationMeta) and page.meta == page.pagination
    assert all(isinstance(p, SocialLoginProvider) for p in page.data)
    return page


def invalid(api_client, org, body, field, method="POST", path=COLLECTION, params=None):
    with pytest.raises(UnprocessableEntityException) as info:
        send(api_client, method, path, org, body=body, path_params=params, types=SAVED)
    details = error_of(info.value, 422, "validation_error").get("details")
    assert isinstance(details, dict) and field in details, (body, details)
    return details


# --- CRUD ----------------------------------------------------------------------------------------

def test_create_oidc_then_get_by_id_and_slug_without_the_secret(lumod, api_client, org, social):
    body = oidc_body(displayName="Example IdP", brandColor="#123456",
                     iconUrl="https://idp.example.com/icon.png", jitProvisioningEnabled=False,
                     requestedScopes=["openid", "email"], jwksUrl=ISSUER + "/jwks",
                     claimMapping={"email": "mail"}, customClaims={"tier": "gold"},
                     providerConfig={"tenant": "common", "apiKey": "k-1", "signingSecret": "s"})
    secret, slug = body["clientSecret"], body["provider"]
    made, data = create(api_client, org, body, secret)
    assert isinstance(made.id, int) and made.id > 0
    assert (made.provider, made.display_name, made.enabled, made.brand_color, made.icon_url,
            made.jit_provisioning_enabled) == (slug, "Example IdP", True, "#123456",
                                               body["iconUrl"], False)
    assert made.client_id == body["clientId"]
    assert made.requested_scopes == ["openid", "email"]
    assert (made.claim_mapping, made.custom_claims) == ({"email": "mail"}, {"tier": "gold"})
    assert made.provider_config == {"tenant": "common", "apiKey": "********",
                                    "signingSecret": "********"}
    assert made.default_roles == []
    assert made.callback_url == f"{lumod.base}/orgs/{org}/api/v1/oauth/social/{slug}/callback"
    assert (data["type"], data["hasClientSecret"], data["issuer"], data["jwksUrl"]) == (
        "oidc", True, ISSUER, ISSUER + "/jwks")
    for stamp in ("createdAt", "updatedAt"):
        datetime.fromisoformat(data[stamp].replace("Z", "+00:00"))
    assert b"k-1" not in send(api_client, "GET", ONE, org, path_params={"providerId": slug},
                              types={"200": "AdminSocialProvidersGetResponse"}).raw_data

    by_id, raw_id = get(social, org, made.id)
    by_slug, raw_slug = get(social, org, slug)
    assert by_id == by_slug == made
    assert raw_id == raw_slug == data
    assert secret not in json.dumps(raw_id)


def test_patch_enable_disable(api_client, org, social):
    body = oidc_body(displayName="Before")
    made, _ = create(api_client, org, body)
    params = {"providerId": str(made.id)}
    patched, data = saved(send(api_client, "PATCH", ONE, org, path_params=params, types=SAVED,
                               body={"displayName": "After", "enabled": False}), 200)
    assert (patched.id, patched.display_name, patched.enabled) == (made.id, "After", False)
    assert patched.client_id == made.client_id and data["issuer"] == ISSUER
    assert get(social, org, body["provider"])[0].enabled is False

    resp = social.admin_social_providers_enable_with_http_info(org, body["provider"])
    enabled, _ = saved(resp, 200)
    assert (enabled.id, enabled.enabled, enabled.display_name) == (made.id, True, "After")
    assert get(social, org, made.id)[0].enabled is True
    resp = social.admin_social_providers_disable_with_http_info(org, str(made.id))
    disabled, _ = saved(resp, 200)
    assert (disabled.id, disabled.enabled) == (made.id, False)
    assert resp.data.message != social.admin_social_providers_enable(org, str(made.id)).message


def test_put_creates_by_slug_then_replaces(api_client, org, social):
    slug = unique("gh")
    params = {"providerId": slug}
    first, data = saved(send(api_client, "PUT", ONE, org, path_params=params, types=SAVED,
                             body={"type": "github", "clientId": "gh-1", "clientSecret": "x1",
                                   "displayName": "Octo", "requestedScopes": ["read:user"]}),
                        201, "x1")
    assert (first.provider, first.display_name, first.client_id) == (slug, "Octo", "gh-1")
    assert (data["type"], data["hasClientSecret"]) == ("github", True)
    second, data = saved(send(api_client, "PUT", ONE, org, path_params=params, types=SAVED,
                              body={"type": "github", "clientId": "gh-2", "clientSecret": "x2",
                                    "displayName": "Octo 2"}), 200, "x2")
    assert (second.id, second.provider, second.display_name, second.client_id) == (
        first.id, slug, "Octo 2", "gh-2")
    assert second.requested_scopes in ([], None)  # replaced, not merged
    assert get(social, org, first.id)[0] == second
    # PUT by id replaces too; an unknown id is 404.
    by_id, _ = saved(send(api_client, "PUT", ONE, org, path_params={"providerId": str(first.id)},
                          body={"clientId": "gh-3", "displayName": "Octo 3"}, types=SAVED), 200)
    assert (by_id.id, by_id.provider, by_id.client_id) == (first.id, slug, "gh-3")
    with pytest.raises(NotFoundException) as info:
        send(api_client, "PUT", ONE, org, path_params={"providerId": "987654321"}, types=SAVED,
             body={"type": "github", "clientId": "gh", "clientSecret": "x"})
    error_of(info.value, 404, "resource_not_found")


def test_delete_then_404(api_client, org, social):
    made, _ = create(api_client, org, oidc_body())
    resp = social.admin_social_providers_delete_with_http_info(org, made.provider)
    assert resp.status_code == 200
    assert isinstance(resp.data, MessageResponse) and resp.data.message
    for call in (social.admin_social_providers_get, social.admin_social_providers_delete,
                 social.admin_social_providers_enable):
        for key in (str(made.id), made.provider):
            with pytest.raises(NotFoundException) as info:
                call(org, key)
            error_of(info.value, 404, "resource_not_found")
    assert made.id not in [p.id for p in listing(social, org).data]


def test_unknown_provider_is_404(api_client, org, social):
    for key in ("no-such-provider", "424242"):
        for call in (social.admin_social_providers_get, social.admin_social_providers_delete,
                     social.admin_social_providers_enable, social.admin_social_providers_disable):
            with pytest.raises(NotFoundException) as info:
                call(org, key)
            error_of(info.value, 404, "resource_not_found")
        with pytest.raises(NotFoundException) as info:
            send(api_client, "PATCH", ONE, org, path_params={"providerId": key},
                 body={"displayName": "x"}, types=SAVED)
        error_of(info.value, 404, "resource_not_found")


# --- catalog, list, callback URLs ----------------------------------------------------------------

def test_types_and_available_list_the_six_types(social, org):
    for resp in (social.admin_social_providers_types_with_http_info(org),
                 social.admin_social_providers_available_with_http_info(org)):
        assert resp.status_code == 200
        assert isinstance(resp.data, AdminSocialProvidersAvailableResponse), resp.raw_data
        items = resp.data.data
        assert all(isinstance(i, AdminSocialProvidersAvailableResponseDataItem) for i in items)
        assert {i.provider for i in items} == TYPES and len(items) == 6
        by = {i.provider: i for i in items}
        assert all(i.name for i in items)
        assert "clientId" in by["google"].required_fields
        assert "clientSecret" in by["google"].required_fields
        assert "issuer" in by["oidc"].required_fields
        assert {"authorizationUrl", "tokenUrl", "userInfoUrl"} <= set(by["oauth2"].required_fields)
        assert all(isinstance(i.optional_fields, list) for i in items)
        assert "openid" in by["google"].default_scopes


def test_list_and_callback_urls_in_an_empty_org(lumod, new_org):
    other = new_org()
    api = AdminIdentityProvidersApi(other.client)
    assert listing(api, other.slug).meta.total == 0
    a, _ = create(other.client, other.slug, oidc_body(provider="alpha"))
    g, data = create(other.client, other.slug, {"provider": "google", "clientId": "g-1",
                                                 "clientSecret": "g-secret", "enabled": False},
                     "g-secret")
    assert data["type"] == "google" and g.display_name  # type defaulted from the slug
    page = listing(api, other.slug)
    assert page.meta.total == 2 and len(page.data) == 2
    assert {(p.id, p.provider, p.enabled) for p in page.data} == {
        (a.id, "alpha", True), (g.id, "google", False)}
    assert b"g-secret" not in api.admin_social_providers_list_with_http_info(other.slug).raw_data
    resp = api.admin_social_providers_callback_urls_with_http_info(other.slug)
    assert resp.status_code == 200
    assert isinstance(resp.data, AdminSocialProvidersCallbackUrlsResponse), resp.raw_data
    prefix = f"{lumod.base}/orgs/{other.slug}/api/v1/oauth/social"
    assert resp.data.data == {"alpha": f"{prefix}/alpha/callback",
                              "google": f"{prefix}/google/callback"}


# --- validation and conflicts --------------------------------------------------------------------

@pytest.mark.parametrize("change, field", [
    ({"clientId": None}, "clientId"),
    ({"type": "myspace"}, "type"),
    ({"issuer": None}, "issuer"),
    ({"issuer": "ftp://idp.example.com"}, "issuer"),
    ({"type": "google", "clientSecret": None}, "clientSecret"),
    ({"type": "oauth2", "issuer": None}, "authorizationUrl"),
    ({"provider": "Bad Slug!"}, "provider"),
    ({"provider": "12345"}, "provider"),
    ({"claimMapping": ["email"]}, "claimMapping"),
    ({"enabled": "yes"}, "enabled"),
    ({"requestedScopes": "openid"}, "requestedScopes"),
    ({"defaultRoles": [str(uuid.uuid4())]}, "defaultRoles"),
])
def test_invalid_bodies_are_422_and_write_nothing(api_client, org, social, change, field):
    before = listing(social, org).meta.total
    body = {k: v for k, v in {**oidc_body(), **change}.items() if v is not None}
    invalid(api_client, org, body, field)
    assert listing(social, org).meta.total == before


def test_patch_with_wrong_types_is_422(api_client, org, social):
    made, _ = create(api_client, org, oidc_body(displayName="Stays"))
    params = {"providerId": str(made.id)}
    invalid(api_client, org, {"enabled": "yes"}, "enabled", "PATCH", ONE, params)
    invalid(api_client, org, {"claimMapping": 3}, "claimMapping", "PATCH", ONE, params)
    assert get(social, org, made.id)[0] == made


def test_duplicate_slug_is_409(api_client, org, social):
    body = oidc_body()
    made, _ = create(api_client, org, body)
    with pytest.raises(ConflictException) as info:
        send(api_client, "POST", COLLECTION, org, body=oidc_body(provider=body["provider"]),
             types=SAVED)
    error_of(info.value, 409, "duplicate_resource")
    assert [p.id for p in listing(social, org).data if p.provider == body["provider"]] == [made.id]


def test_default_roles_are_resolved(api_client, org):
    role = create_role(api_client, org)
    made, _ = create(api_client, org, oidc_body(defaultRoles=[role.id]))
    assert made.default_roles == [RoleRef(id=role.id, name=role.name, slug=role.slug)]


# --- credentials and orgs ------------------------------------------------------------------------

def test_without_credential_is_401(lumod, api_client, org):
    made, _ = create(api_client, org, oidc_body())
    anonymous = AdminIdentityProvidersApi(ApiClient(Configuration(host=lumod.base)))
    for call in (lambda: anonymous.admin_social_providers_list(org),
                 lambda: anonymous.admin_social_providers_get(org, str(made.id)),
                 lambda: anonymous.admin_social_providers_types(org),
                 lambda: send(anonymous.api_client, "POST", COLLECTION, org, body=oidc_body(),
                              types=SAVED, auth=())):
        with pytest.raises(UnauthorizedException) as info:
            call()
        assert error_body(info.value)["status"] == 401


def test_another_orgs_key_cannot_see_the_provider(api_client, org, new_org):
    made, _ = create(api_client, org, oidc_body())
    other = new_org()
    foreign = AdminIdentityProvidersApi(other.client)
    for call in (lambda: foreign.admin_social_providers_get(org, str(made.id)),
                 lambda: foreign.admin_social_providers_list(org),
                 lambda: foreign.admin_social_providers_delete(org, made.provider)):
        with pytest.raises(ApiException) as info:
            call()
        assert info.value.status in (401, 403, 404), info.value.status
        error_body(info.value)
    # Through its own org, the key does not find it either.
    for key in (str(made.id), made.provider):
        with pytest.raises(NotFoundException) as info:
            foreign.admin_social_providers_get(other.slug, key)
        error_of(info.value, 404, "resource_not_found")
    assert listing(foreign, other.slug).meta.total == 0
    assert get(AdminIdentityProvidersApi(api_client), org, made.id)[0] == made


# --- the hosted login page -----------------------------------------------------------------------

def test_login_page_links_enabled_providers(new_org):
    # An org of its own: the page lists a bounded number of providers.
    other = new_org()
    shown = f"Shown {uuid.uuid4().hex[:8]}"
    hidden = f"Hidden {uuid.uuid4().hex[:8]}"
    on, _ = create(other.client, other.slug, oidc_body(displayName=shown))
    create(other.client, other.slug, oidc_body(displayName=hidden, enabled=False))
    app = create_oauth_client(other.client, other.slug)

    def page() -> str:
        resp = requests.get(other.oauth.url("/oauth/authorize"), allow_redirects=False,
                            timeout=30,
                            params={"response_type": "code", "client_id": app.client_id,
                                    "redirect_uri": REDIRECT_URI, "scope": "openid"})
        assert resp.status_code == 200 and 'name="password"' in resp.text, resp.text[:2000]
        return resp.text

    text = page()
    assert f"Continue with {shown}" in text
    assert f"/oauth/social/{on.provider}" in text
    assert hidden not in text
    AdminIdentityProvidersApi(other.client).admin_social_providers_disable(other.slug,
                                                                           on.provider)
    assert f"Continue with {shown}" not in page()
