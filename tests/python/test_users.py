"""Admin users: create, read, list/paginate/filter, update, block, verify, passwords, delete."""

import datetime
import json
import uuid

import pytest

from lumoauth_api_client.exceptions import ApiException, NotFoundException, UnprocessableEntityException
from lumoauth_api_client.models import (
    BlockUserResponse,
    DeleteUserResponse,
    GetUserResponse,
    ListUsersResponse,
    MarkUserVerifiedResponse,
    SendUserVerificationEmailResponse,
    SetUserPasswordPostResponse,
    TriggerUserPasswordResetResponse,
    UnblockUserResponse,
    User,
)

from lumo_helpers import create_group, create_role, create_user, error_body, send, unique, unique_email

STRONG_PASSWORD = "Corr3ct-Horse-Battery-Staple"


def test_create_user_without_password_returns_201_with_user(api_client, org):
    email = unique_email("NoPass")
    resp = send(api_client, "POST", "/admin/users", org,
                body={"email": email, "name": "Ada Lovelace", "givenName": "Ada",
                      "familyName": "Lovelace"},
                types={"201": "CreateUserResponse"})
    assert resp.status_code == 201
    assert isinstance(resp.data.message, str) and resp.data.message
    user = resp.data.data
    assert isinstance(user, User)
    assert str(uuid.UUID(user.id)) == user.id
    assert user.email == email.lower()
    assert user.name == "Ada Lovelace"
    assert user.given_name == "Ada"
    assert user.family_name == "Lovelace"
    assert user.email_verified is False
    assert user.is_active is True
    assert user.blocked is False
    assert user.mfa_enabled is False
    assert user.is_admin is False
    assert user.login_count == 0
    assert user.last_login_at is None
    assert isinstance(user.created_at, datetime.datetime)
    assert user.roles == [] and user.groups == []


def test_create_user_with_password_never_echoes_the_password(api_client, org):
    email = unique_email("withpass")
    resp = send(api_client, "POST", "/admin/users", org,
                body={"email": email, "password": STRONG_PASSWORD, "emailVerified": True},
                types={"201": "CreateUserResponse"})
    assert resp.status_code == 201
    user = resp.data.data
    assert user.email == email
    assert user.email_verified is True
    assert STRONG_PASSWORD.encode() not in resp.raw_data
    assert b"password" not in resp.raw_data.lower()


def test_create_user_with_too_short_password_is_rejected_with_422(api_client, org):
    email = unique_email("short")
    with pytest.raises(UnprocessableEntityException) as info:
        send(api_client, "POST", "/admin/users", org,
             body={"email": email, "password": "abc"}, types={"201": "CreateUserResponse"})
    body = error_body(info.value)
    assert body["status"] == 422
    assert "password" in json.dumps(body.get("details", body["message"]))
    # Nothing was created.
    users_api_resp = send(api_client, "GET", "/admin/users", org, query={"search": email},
                          types={"200": "ListUsersResponse"})
    assert users_api_resp.data.meta.total == 0


def test_get_user_by_id_and_by_email_return_the_same_user(api_client, org, users_api):
    created = create_user(api_client, org, name="Lookup Target")
    by_id = users_api.get_user(org, created.id)
    assert isinstance(by_id, GetUserResponse)
    assert by_id.data.id == created.id
    assert by_id.data.email == created.email
    assert by_id.data.name == "Lookup Target"
    by_email = users_api.get_user(org, created.email)
    assert by_email.data.id == created.id
    assert by_email.data.created_at == created.created_at


def test_list_users_high_level_call_returns_pagination_twice(api_client, org, users_api):
    created = create_user(api_client, org)
    listing = users_api.list_users(org)
    assert isinstance(listing, ListUsersResponse)
    assert listing.meta == listing.pagination
    assert listing.meta.page == 1
    assert listing.meta.total >= 1
    assert listing.meta.total_pages >= 1
    assert listing.meta.has_previous_page is False
    assert all(isinstance(u, User) for u in listing.data)
    if listing.meta.total <= listing.meta.limit:
        assert created.id in {u.id for u in listing.data}


def test_list_users_paginates_with_page_and_limit(new_org):
    tenant = new_org()
    emails = sorted(unique_email(f"page{i}") for i in range(5))
    for email in emails:
        create_user(tenant.client, tenant.slug, email=email)

    def page(n):
        return send(tenant.client, "GET", "/admin/users", tenant.slug,
                    query={"page": str(n), "limit": "2", "sortBy": "email", "sortDir": "ASC"},
                    types={"200": "ListUsersResponse"}).data

    first, second, third = page(1), page(2), page(3)
    assert [u.email for u in first.data] == emails[0:2]
    assert [u.email for u in second.data] == emails[2:4]
    assert [u.email for u in third.data] == emails[4:5]
    for n, p in ((1, first), (2, second), (3, third)):
        assert p.meta == p.pagination
        assert (p.meta.total, p.meta.page, p.meta.limit, p.meta.total_pages) == (5, n, 2, 3)
        assert p.meta.has_previous_page is (n > 1)
        assert p.meta.has_next_page is (n < 3)
    beyond = page(4)
    assert beyond.data == []
    assert beyond.meta.total == 5 and beyond.meta.has_next_page is False


def test_list_users_search_and_sort_direction(new_org):
    tenant = new_org()
    token = uuid.uuid4().hex[:8]
    names = ["Charlie", "alpha", "Bravo"]
    wanted = {create_user(tenant.client, tenant.slug, email=f"{n.lower()}.{token}@example.com",
                          name=n).id for n in names}
    create_user(tenant.client, tenant.slug, email=unique_email("unrelated"), name="Zulu")

    def listing(**query):
        return send(tenant.client, "GET", "/admin/users", tenant.slug, query=query,
                    types={"200": "ListUsersResponse"}).data

    found = listing(search=token)
    assert found.meta.total == 3
    assert {u.id for u in found.data} == wanted

    asc = listing(search=token, sortBy="email", sortDir="ASC")
    desc = listing(search=token, sortBy="email", sortDir="DESC")
    asc_emails = [u.email for u in asc.data]
    assert asc_emails == sorted(asc_emails)
    assert asc_emails[0].startswith("alpha.")
    assert [u.email for u in desc.data] == list(reversed(asc_emails))

    everyone = listing()
    assert everyone.meta.total == 4


def test_list_users_filters_by_blocked_role_and_group(new_org):
    tenant = new_org()
    client, slug = tenant.client, tenant.slug
    plain = create_user(client, slug, name="Plain")
    blocked = create_user(client, slug, name="Blocked")
    in_role = create_user(client, slug, name="In role")
    in_group = create_user(client, slug, name="In group")
    role = create_role(client, slug)
    group = create_group(client, slug)
    send(client, "POST", "/admin/users/{userId}/block", slug, path_params={"userId": blocked.id},
         types={"200": "BlockUserResponse"})
    send(client, "POST", "/admin/users/{userId}/roles", slug, path_params={"userId": in_role.id},
         body={"roleId": role.slug}, types={"200": "AddUserRoleResponse"})
    send(client, "POST", "/admin/users/{userId}/groups", slug, path_params={"userId": in_group.id},
         body={"groupId": group.slug}, types={"200": "AddUserGroupResponse"})

    def ids(**query):
        resp = send(client, "GET", "/admin/users", slug, query=query,
                    types={"200": "ListUsersResponse"}).data
        assert resp.meta.total == len(resp.data)
        return {u.id for u in resp.data}

    assert ids(blocked="true") == {blocked.id}
    assert ids(blocked="false") == {plain.id, in_role.id, in_group.id}
    assert ids(role=role.slug) == {in_role.id}
    assert ids(group=group.slug) == {in_group.id}


def test_put_update_changes_the_sent_fields(api_client, org):
    user = create_user(api_client, org, name="Before", givenName="Be")
    resp = send(api_client, "PUT", "/admin/users/{userId}", org, path_params={"userId": user.id},
                body={"name": "After Put", "locale": "de-DE", "zoneinfo": "Europe/Berlin",
                      "phoneNumber": "+4930123456"},
                types={"200": "UpdateUserResponse"})
    assert resp.status_code == 200
    updated = resp.data.data
    assert updated.id == user.id
    assert updated.name == "After Put"
    assert updated.locale == "de-DE"
    assert updated.zoneinfo == "Europe/Berlin"
    assert updated.phone_number == "+4930123456"
    assert updated.given_name == "Be"
    assert isinstance(resp.data.message, str) and resp.data.message
    again = send(api_client, "GET", "/admin/users/{userId}", org, path_params={"userId": user.id},
                 types={"200": "GetUserResponse"}).data.data
    assert again.name == "After Put" and again.locale == "de-DE"


def test_patch_update_changes_only_what_is_sent(api_client, org, users_api):
    user = create_user(api_client, org, name="Grace Hopper", givenName="Grace",
                       familyName="Hopper")
    resp = send(api_client, "PATCH", "/admin/users/{userId}", org,
                path_params={"userId": user.id}, body={"familyName": "Murray"},
                types={"200": "UpdateUserResponse"})
    patched = resp.data.data
    assert patched.family_name == "Murray"
    assert patched.given_name == "Grace"
    assert patched.name == "Grace Hopper"
    assert patched.email == user.email
    assert users_api.get_user(org, user.id).data.family_name == "Murray"


def test_patch_can_clear_a_nullable_field_with_null(api_client, org, users_api):
    user = create_user(api_client, org, name="To Clear")
    send(api_client, "PATCH", "/admin/users/{userId}", org, path_params={"userId": user.id},
         body={"name": None}, types={"200": "UpdateUserResponse"})
    assert users_api.get_user(org, user.id).data.name is None


def test_update_email_to_an_invalid_address_is_422(api_client, org):
    user = create_user(api_client, org)
    with pytest.raises(UnprocessableEntityException) as info:
        send(api_client, "PATCH", "/admin/users/{userId}", org, path_params={"userId": user.id},
             body={"email": "not-an-email"}, types={"200": "UpdateUserResponse"})
    assert error_body(info.value)["status"] == 422


def test_block_then_unblock_toggles_blocked(api_client, org, users_api):
    user = create_user(api_client, org)
    blocked = users_api.block_user(org, user.id)
    assert isinstance(blocked, BlockUserResponse)
    assert blocked.data.id == user.id
    assert blocked.data.blocked is True
    assert blocked.data.blocked_at is not None
    assert blocked.message
    assert users_api.get_user(org, user.id).data.blocked is True
    unblocked = users_api.unblock_user(org, user.id)
    assert isinstance(unblocked, UnblockUserResponse)
    assert unblocked.data.blocked is False
    assert unblocked.data.blocked_at is None
    assert users_api.get_user(org, user.id).data.blocked is False


def test_mark_verified_sets_email_verified(api_client, org, users_api):
    user = create_user(api_client, org)
    assert user.email_verified is False
    resp = users_api.mark_user_verified(org, user.id)
    assert isinstance(resp, MarkUserVerifiedResponse)
    assert resp.data.id == user.id
    assert resp.data.email_verified is True
    assert users_api.get_user(org, user.id).data.email_verified is True


def test_verify_email_and_password_reset_answer_with_a_message(api_client, org, users_api):
    user = create_user(api_client, org)
    sent = users_api.send_user_verification_email(org, user.id)
    assert isinstance(sent, SendUserVerificationEmailResponse)
    assert isinstance(sent.message, str) and "verif" in sent.message.lower()
    reset = users_api.trigger_user_password_reset(org, user.id)
    assert isinstance(reset, TriggerUserPasswordResetResponse)
    assert isinstance(reset.message, str) and "reset" in reset.message.lower()


def test_verify_email_for_unknown_user_is_404(org, users_api):
    with pytest.raises(NotFoundException) as info:
        users_api.send_user_verification_email(org, str(uuid.uuid4()))
    assert error_body(info.value)["status"] == 404


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_set_password_with_put_and_post(api_client, org, method):
    user = create_user(api_client, org)
    resp = send(api_client, method, "/admin/users/{userId}/password", org,
                path_params={"userId": user.id}, body={"password": STRONG_PASSWORD + method},
                types={"200": "SetUserPasswordPostResponse"})
    assert resp.status_code == 200
    assert isinstance(resp.data, SetUserPasswordPostResponse)
    assert "password" in resp.data.message.lower()
    assert STRONG_PASSWORD.encode() not in resp.raw_data


def test_set_password_without_password_field_is_422(api_client, org):
    user = create_user(api_client, org)
    with pytest.raises(UnprocessableEntityException) as info:
        send(api_client, "PUT", "/admin/users/{userId}/password", org,
             path_params={"userId": user.id}, body={"notPassword": "x"},
             types={"200": "SetUserPasswordPostResponse"})
    body = error_body(info.value)
    assert "password" in json.dumps(body)


def test_mfa_reset_is_gone_with_410(api_client, org, users_api):
    user = create_user(api_client, org)
    with pytest.warns(DeprecationWarning), pytest.raises(ApiException) as info:
        users_api.reset_user_mfa(org, user.id)
    assert info.value.status == 410
    body = error_body(info.value)
    assert body["status"] == 410
    # the user and its MFA state are untouched
    assert users_api.get_user(org, user.id).data.mfa_enabled is False


def test_mfa_reset_for_unknown_user_is_404_not_410(org, users_api):
    with pytest.warns(DeprecationWarning), pytest.raises(NotFoundException):
        users_api.reset_user_mfa(org, str(uuid.uuid4()))


def test_delete_user_then_get_is_404(api_client, org, users_api):
    user = create_user(api_client, org)
    deleted = users_api.delete_user(org, user.id)
    assert isinstance(deleted, DeleteUserResponse)
    assert isinstance(deleted.message, str) and deleted.message
    with pytest.raises(NotFoundException):
        users_api.get_user(org, user.id)
    with pytest.raises(NotFoundException):
        users_api.delete_user(org, user.id)


def test_deleted_email_can_be_reused(api_client, org, users_api):
    email = unique_email("reuse")
    first = create_user(api_client, org, email=email)
    users_api.delete_user(org, first.id)
    second = create_user(api_client, org, email=email)
    assert second.id != first.id
    assert users_api.get_user(org, email).data.id == second.id


def test_list_users_limit_is_capped_at_100(new_org):
    tenant = new_org()
    create_user(tenant.client, tenant.slug)
    resp = send(tenant.client, "GET", "/admin/users", tenant.slug, query={"limit": "1000"},
                types={"200": "ListUsersResponse"}).data
    assert resp.meta.limit == 100
    assert resp.meta.total == 1 and resp.meta.total_pages == 1


def test_list_users_default_limit_and_page(new_org):
    tenant = new_org()
    resp = send(tenant.client, "GET", "/admin/users", tenant.slug,
                types={"200": "ListUsersResponse"}).data
    assert (resp.meta.page, resp.meta.total, resp.meta.total_pages) == (1, 0, 0)
    assert resp.meta.limit in (20, 25)
    assert resp.meta.has_next_page is False and resp.meta.has_previous_page is False
    assert resp.data == []


def test_list_users_search_matches_names(new_org):
    tenant = new_org()
    token = uuid.uuid4().hex[:8]
    target = create_user(tenant.client, tenant.slug, name=f"Dorothy {token}")
    create_user(tenant.client, tenant.slug, name="Someone Else")
    resp = send(tenant.client, "GET", "/admin/users", tenant.slug, query={"search": token},
                types={"200": "ListUsersResponse"}).data
    assert [u.id for u in resp.data] == [target.id]


def test_list_users_sort_by_created_at_desc_puts_newest_first(new_org):
    tenant = new_org()
    created = [create_user(tenant.client, tenant.slug).id for _ in range(3)]
    resp = send(tenant.client, "GET", "/admin/users", tenant.slug,
                query={"sortBy": "createdAt", "sortDir": "DESC"},
                types={"200": "ListUsersResponse"}).data
    stamps = [u.created_at for u in resp.data]
    assert stamps == sorted(stamps, reverse=True)
    assert set(u.id for u in resp.data) == set(created)


def test_email_change_is_visible_under_the_new_email(api_client, org, users_api):
    user = create_user(api_client, org)
    new_email = unique_email("renamed")
    resp = send(api_client, "PATCH", "/admin/users/{userId}", org,
                path_params={"userId": user.email}, body={"email": new_email},
                types={"200": "UpdateUserResponse"})
    assert resp.data.data.email == new_email
    assert resp.data.data.id == user.id
    assert users_api.get_user(org, new_email).data.id == user.id
    with pytest.raises(NotFoundException):
        users_api.get_user(org, user.email)


def test_create_user_refuses_relations_in_the_body(api_client, org):
    email = unique_email("withroles")
    with pytest.raises(UnprocessableEntityException) as info:
        send(api_client, "POST", "/admin/users", org, body={"email": email, "roles": ["admin"]},
             types={"201": "CreateUserResponse"})
    assert "roles" in json.dumps(error_body(info.value))
