"""Settings: combined GET, every section GET/PUT/PATCH (partial), tenant/organization profile.

Each test runs against its own fresh org (created through the cluster admin API) so that
changing settings never leaks into other tests.
"""

import json

import pytest

import lumoauth_api_client
from lumoauth_api_client.exceptions import NotFoundException, UnprocessableEntityException
from lumoauth_api_client.models import (
    AdminSettingsAllResponse,
    AdminSettingsAuthenticationGetResponse,
    AdminSettingsBrandingGetResponse,
    AdminSettingsEmailGetResponse,
    AdminSettingsGeneralGetResponse,
    AdminSettingsScimGetResponse,
    AdminSettingsSecurityGetResponse,
    AdminTenantGetResponse,
    AuthenticationSettings,
    BrandingSettings,
    PutAdminTenantUpdateResponse,
)

from lumo_helpers import error_body, send

UPDATE_TYPES = {
    "auth": "PutAdminSettingsAuthenticationUpdateResponse",
    "authentication": "PutAdminSettingsAuthenticationUpdateResponse",
    "branding": "PutAdminSettingsBrandingUpdateResponse",
    "email": "PutAdminSettingsEmailUpdateResponse",
    "general": "PutAdminSettingsGeneralUpdateResponse",
    "scim": "PutAdminSettingsScimUpdateResponse",
    "security": "PutAdminSettingsSecurityUpdateResponse",
}


@pytest.fixture
def tenant(new_org):
    handle = new_org()
    handle.settings = lumoauth_api_client.AdminSettingsApi(handle.client)
    return handle


def update(tenant, method, section, body):
    resp = send(tenant.client, method, f"/admin/settings/{section}", tenant.slug, body=body,
                types={"200": UPDATE_TYPES[section]})
    assert resp.status_code == 200
    assert resp.data is not None
    assert isinstance(resp.data.message, str) and resp.data.message
    return resp.data.data


def test_get_all_settings_combines_sections(tenant):
    api = tenant.settings
    everything = api.admin_settings_all(tenant.slug)
    assert isinstance(everything, AdminSettingsAllResponse)
    data = everything.data
    assert isinstance(data.authentication, AuthenticationSettings)
    assert isinstance(data.branding, BrandingSettings)
    assert isinstance(data.email, dict)
    assert data.general.name == api.admin_tenant_get(tenant.slug).data.name
    auth = api.admin_settings_auth_get(tenant.slug).data
    assert data.authentication.session_timeout == auth.session_timeout
    assert data.security.dpop_require_nonce == \
        api.admin_settings_security_get(tenant.slug).data.dpop_require_nonce


@pytest.mark.parametrize("section", ["auth", "authentication"])
def test_auth_section_get_put_patch(tenant, section):
    api = tenant.settings
    getter = (api.admin_settings_auth_get if section == "auth"
              else api.admin_settings_authentication_get)
    before = getter(tenant.slug)
    assert isinstance(before, AdminSettingsAuthenticationGetResponse)
    assert isinstance(before.data.session_timeout, int)
    original_social = before.data.social_login_enabled

    put = update(tenant, "PUT", section, {"session_timeout": 7200})
    assert isinstance(put, AuthenticationSettings)
    assert put.session_timeout == 7200
    assert put.social_login_enabled == original_social

    patch = update(tenant, "PATCH", section, {"social_login_enabled": not original_social})
    assert patch.social_login_enabled is (not original_social)
    assert patch.session_timeout == 7200, "PATCH must keep fields it did not send"

    after = getter(tenant.slug).data
    assert (after.session_timeout, after.social_login_enabled) == (7200, not original_social)


def test_auth_and_authentication_are_the_same_section(tenant):
    api = tenant.settings
    update(tenant, "PATCH", "auth", {"session_timeout": 4321})
    assert api.admin_settings_authentication_get(tenant.slug).data.session_timeout == 4321
    update(tenant, "PATCH", "authentication", {"session_timeout": 1234})
    assert api.admin_settings_auth_get(tenant.slug).data.session_timeout == 1234


def test_auth_settings_reject_wrong_types_and_unknown_keys(tenant):
    before = tenant.settings.admin_settings_auth_get(tenant.slug).data.session_timeout
    for body in ({"session_timeout": "forever"}, {"no_such_setting": 1}):
        with pytest.raises(UnprocessableEntityException) as info:
            send(tenant.client, "PATCH", "/admin/settings/auth", tenant.slug, body=body,
                 types={"200": UPDATE_TYPES["auth"]})
        assert list(body)[0] in json.dumps(error_body(info.value))
    assert tenant.settings.admin_settings_auth_get(tenant.slug).data.session_timeout == before


def test_branding_section_get_put_patch(tenant):
    api = tenant.settings
    before = api.admin_settings_branding_get(tenant.slug)
    assert isinstance(before, AdminSettingsBrandingGetResponse)
    put = update(tenant, "PUT", "branding", {"primary_color": "#123456"})
    assert isinstance(put, BrandingSettings)
    assert put.primary_color == "#123456"
    patch = update(tenant, "PATCH", "branding", {"button_text": "Continue", "theme": "dark"})
    assert (patch.button_text, patch.theme, patch.primary_color) == (
        "Continue", "dark", "#123456")
    got = api.admin_settings_branding_get(tenant.slug).data
    assert (got.primary_color, got.button_text, got.theme) == ("#123456", "Continue", "dark")
    assert api.admin_settings_all(tenant.slug).data.branding.primary_color == "#123456"


def test_branding_rejects_values_outside_the_enum(tenant):
    with pytest.raises(UnprocessableEntityException) as info:
        send(tenant.client, "PATCH", "/admin/settings/branding", tenant.slug,
             body={"theme": "neon"}, types={"200": UPDATE_TYPES["branding"]})
    assert "theme" in json.dumps(error_body(info.value))
    assert tenant.settings.admin_settings_branding_get(tenant.slug).data.theme != "neon"


def test_email_section_get_put_patch_and_secret_is_redacted(tenant):
    api = tenant.settings
    before = api.admin_settings_email_get(tenant.slug)
    assert isinstance(before, AdminSettingsEmailGetResponse)
    assert isinstance(before.data, dict)
    put = update(tenant, "PUT", "email", {"from_name": "Acme Support"})
    assert put["from_name"] == "Acme Support"
    patch = update(tenant, "PATCH", "email",
                   {"reply_to": "help@example.com", "smtp_password": "hunter2-hunter2"})
    assert patch["reply_to"] == "help@example.com"
    assert patch["from_name"] == "Acme Support"
    got = api.admin_settings_email_get(tenant.slug).data
    assert (got["from_name"], got["reply_to"]) == ("Acme Support", "help@example.com")
    assert "hunter2-hunter2" not in json.dumps(got)
    assert "hunter2-hunter2" not in json.dumps(patch)


def test_general_section_get_put_patch(tenant):
    api = tenant.settings
    before = api.admin_settings_general_get(tenant.slug)
    assert isinstance(before, AdminSettingsGeneralGetResponse)
    assert before.data.name == api.admin_tenant_get(tenant.slug).data.name
    put = update(tenant, "PUT", "general", {"timezone": "Europe/Berlin"})
    assert put.timezone == "Europe/Berlin"
    patch = update(tenant, "PATCH", "general", {"locale": "de"})
    assert (patch.locale, patch.timezone) == ("de", "Europe/Berlin")
    got = api.admin_settings_general_get(tenant.slug).data
    assert (got.locale, got.timezone) == ("de", "Europe/Berlin")


def test_scim_section_get_put_patch_keeps_bearer_token_write_only(tenant):
    api = tenant.settings
    before = api.admin_settings_scim_get(tenant.slug)
    assert isinstance(before, AdminSettingsScimGetResponse)
    allow_updates = before.data.inbound.allow_user_updates
    secret = "scim-bearer-" + "s3cr3t" * 4

    patched = update(tenant, "PATCH", "scim",
                     {"inbound": {"enabled": True, "bearer_token": secret}})
    assert patched.inbound.enabled is True
    assert patched.inbound.allow_user_updates == allow_updates, "nested PATCH must merge"
    assert patched.inbound.bearer_token is None
    assert patched.inbound.bearer_token_hash.configured is True
    assert patched.inbound.bearer_token_hash.redacted is True
    assert secret not in (patched.inbound.bearer_token_preview or "")

    put = update(tenant, "PUT", "scim", {"outbound": {"verify_tls": False}})
    assert put.outbound.verify_tls is False
    assert put.inbound.enabled is True

    got = api.admin_settings_scim_get(tenant.slug)
    raw = json.dumps(got.to_dict())
    assert secret not in raw
    assert got.data.inbound.enabled is True and got.data.outbound.verify_tls is False


def test_security_section_get_put_patch(tenant):
    api = tenant.settings
    before = api.admin_settings_security_get(tenant.slug)
    assert isinstance(before, AdminSettingsSecurityGetResponse)
    assert before.data.dpop_require_nonce is False
    put = update(tenant, "PUT", "security", {"dpop_require_nonce": True})
    assert put.dpop_require_nonce is True
    assert api.admin_settings_all(tenant.slug).data.security.dpop_require_nonce is True
    patch = update(tenant, "PATCH", "security", {"dpop_require_nonce": False})
    assert patch.dpop_require_nonce is False
    assert api.admin_settings_security_get(tenant.slug).data.dpop_require_nonce is False


def test_unknown_settings_section_is_404(tenant):
    with pytest.raises(NotFoundException) as info:
        send(tenant.client, "GET", "/admin/settings/{section}", tenant.slug,
             path_params={"section": "no-such-section"}, types={"200": "object"})
    assert error_body(info.value)["status"] == 404


# --- tenant / organization profile -------------------------------------------------------------

def test_tenant_get_describes_the_org(tenant):
    profile = tenant.settings.admin_tenant_get(tenant.slug)
    assert isinstance(profile, AdminTenantGetResponse)
    assert profile.data.slug == tenant.slug
    assert profile.data.name == f"Pytest {tenant.slug}"
    assert isinstance(profile.data.id, int)
    assert profile.data.status == "active"
    assert isinstance(profile.data.settings, dict)
    alias = tenant.settings.admin_organization_get(tenant.slug)
    assert alias.data.to_dict() == profile.data.to_dict()


@pytest.mark.parametrize("path", ["/admin/tenant", "/admin/organization"])
def test_tenant_and_organization_put_and_patch(tenant, path):
    api = tenant.settings
    put = send(tenant.client, "PUT", path, tenant.slug, body={"name": "Renamed Org"},
               types={"200": "PutAdminTenantUpdateResponse"})
    assert isinstance(put.data, PutAdminTenantUpdateResponse)
    assert put.data.data.name == "Renamed Org"
    assert put.data.data.slug == tenant.slug
    assert put.data.message

    patch = send(tenant.client, "PATCH", path, tenant.slug,
                 body={"settings": {"plan": "pytest", "seats": 5}},
                 types={"200": "PutAdminTenantUpdateResponse"})
    assert patch.data.data.name == "Renamed Org"
    assert patch.data.data.settings.get("plan") == "pytest"
    assert patch.data.data.settings.get("seats") == 5

    for got in (api.admin_tenant_get(tenant.slug), api.admin_organization_get(tenant.slug)):
        assert got.data.name == "Renamed Org"
        assert got.data.settings.get("plan") == "pytest"
    assert api.admin_settings_all(tenant.slug).data.general.name == "Renamed Org"


def test_tenant_update_with_empty_name_is_422(tenant):
    with pytest.raises(UnprocessableEntityException) as info:
        send(tenant.client, "PATCH", "/admin/tenant", tenant.slug, body={"name": "   "},
             types={"200": "PutAdminTenantUpdateResponse"})
    assert "name" in json.dumps(error_body(info.value))
    assert tenant.settings.admin_tenant_get(tenant.slug).data.name == f"Pytest {tenant.slug}"
