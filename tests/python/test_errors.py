"""Error behaviour as the official client sees it: exception class per status, and the
LumoAuth error body `{error: str, message: str, status: int, ...}`."""

import uuid

import pytest

import lumoauth_api_client
from lumoauth_api_client.exceptions import (
    ApiException,
    BadRequestException,
    ConflictException,
    ForbiddenException,
    NotFoundException,
    UnauthorizedException,
    UnprocessableEntityException,
)

from conftest import make_client
from lumo_helpers import create_user, error_body, send, unique_email


def test_unknown_user_raises_not_found_with_error_body(org, users_api):
    missing = str(uuid.uuid4())
    with pytest.raises(NotFoundException) as info:
        users_api.get_user(org, missing)
    body = error_body(info.value)
    assert body["status"] == 404
    assert info.value.headers["content-type"].startswith("application/json")


def test_unknown_user_by_email_raises_not_found(org, users_api):
    with pytest.raises(NotFoundException) as info:
        users_api.get_user(org, unique_email("ghost"))
    assert error_body(info.value)["status"] == 404


def test_duplicate_email_raises_conflict(api_client, org, users_api):
    email = unique_email("dupe")
    first = create_user(api_client, org, email=email)
    with pytest.raises(ConflictException) as info:
        send(api_client, "POST", "/admin/users", org, body={"email": email},
             types={"201": "CreateUserResponse"})
    body = error_body(info.value)
    assert body["status"] == 409
    # Emails compare case-insensitively.
    with pytest.raises(ConflictException):
        send(api_client, "POST", "/admin/users", org, body={"email": email.upper()},
             types={"201": "CreateUserResponse"})
    assert users_api.get_user(org, email).data.id == first.id


def test_updating_to_a_taken_email_raises_conflict(api_client, org, users_api):
    taken = create_user(api_client, org)
    other = create_user(api_client, org)
    with pytest.raises(ConflictException) as info:
        send(api_client, "PATCH", "/admin/users/{userId}", org,
             path_params={"userId": other.id}, body={"email": taken.email},
             types={"200": "UpdateUserResponse"})
    assert error_body(info.value)["status"] == 409
    assert users_api.get_user(org, other.id).data.email == other.email


def test_bad_api_key_raises_unauthorized(lumod, org):
    client = make_client(lumod.base, "lmk_" + "x" * 32)
    with pytest.raises(UnauthorizedException) as info:
        lumoauth_api_client.AdminUsersApi(client).list_users(org)
    body = error_body(info.value)
    assert body["status"] == 401


def test_missing_api_key_raises_unauthorized(lumod, org):
    client = lumoauth_api_client.ApiClient(lumoauth_api_client.Configuration(host=lumod.base))
    with pytest.raises(UnauthorizedException) as info:
        lumoauth_api_client.AdminRolesApi(client).admin_roles_list(org)
    assert error_body(info.value)["status"] == 401


def test_key_of_another_org_is_refused(new_org, org, users_api):
    other = new_org()
    with pytest.raises(ForbiddenException) as info:
        lumoauth_api_client.AdminUsersApi(other.client).list_users(org)
    assert error_body(info.value)["status"] == 403
    # ... while it works for its own org.
    assert lumoauth_api_client.AdminUsersApi(other.client).list_users(other.slug).meta.total == 0


def test_unknown_org_raises_not_found(users_api):
    with pytest.raises(NotFoundException) as info:
        users_api.list_users("no-such-org-" + uuid.uuid4().hex[:6])
    assert error_body(info.value)["status"] == 404


def test_invalid_email_raises_unprocessable_entity_with_details(api_client, org):
    with pytest.raises(UnprocessableEntityException) as info:
        send(api_client, "POST", "/admin/users", org, body={"email": "not-an-email"},
             types={"201": "CreateUserResponse"})
    body = error_body(info.value)
    assert body["status"] == 422
    assert isinstance(body.get("details"), dict) and "email" in body["details"]


def test_missing_required_email_raises_unprocessable_entity(api_client, org):
    with pytest.raises(UnprocessableEntityException) as info:
        send(api_client, "POST", "/admin/users", org, body={"name": "No Email"},
             types={"201": "CreateUserResponse"})
    assert "email" in error_body(info.value)["details"]


def test_non_object_json_body_raises_bad_request(api_client, org):
    with pytest.raises(BadRequestException) as info:
        send(api_client, "POST", "/admin/users", org, body=["a@example.com"],
             types={"201": "CreateUserResponse"})
    assert error_body(info.value)["status"] == 400


def test_create_without_body_is_rejected(api_client, org, users_api):
    # The generated create_user() sends no body at all; the server must refuse it cleanly.
    with pytest.raises(ApiException) as info:
        users_api.create_user(org)
    assert info.value.status in (400, 415, 422)
    error_body(info.value)


def test_non_json_content_type_is_415(api_client, org):
    with pytest.raises(ApiException) as info:
        send(api_client, "POST", "/admin/users", org, body='{"email": "x@example.com"}',
             headers={"Content-Type": "text/plain"}, types={"201": "CreateUserResponse"})
    assert info.value.status == 415
    assert error_body(info.value)["status"] == 415


@pytest.mark.parametrize("query", [{"limit": "0"}, {"page": "zero"}, {"sortDir": "sideways"}])
def test_invalid_list_parameters_raise_bad_request(api_client, org, query):
    with pytest.raises(BadRequestException) as info:
        send(api_client, "GET", "/admin/users", org, query=query,
             types={"200": "ListUsersResponse"})
    assert error_body(info.value)["status"] == 400


def test_unknown_route_answers_404_in_error_shape(api_client, org):
    with pytest.raises(NotFoundException) as info:
        send(api_client, "GET", "/admin/no-such-resource", org, types={"200": "object"})
    assert error_body(info.value)["status"] == 404


def test_client_sending_both_api_key_and_bearer_is_accepted(lumod, org):
    # The generated client sends every configured credential; the server must tolerate both.
    config = lumoauth_api_client.Configuration(host=lumod.base, access_token=lumod.api_key)
    config.api_key = {"ApiKeyAuth": lumod.api_key}
    client = lumoauth_api_client.ApiClient(config)
    resp = lumoauth_api_client.AdminRolesApi(client).admin_roles_list_with_http_info(org)
    assert resp.status_code == 200
    assert "admin" in {r.slug for r in resp.data.data}
