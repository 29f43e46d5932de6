"""SCIM 2.0 against a real lumod: `scim2-tester` (the PyPI conformance checker, with the
`scim2-client` it drives) runs every check it has (discovery, create, read, list, replace,
PATCH add/replace/remove of every attribute our schemas declare, delete) and none may end in
ERROR or CRITICAL. Then what the checker does not cover: the inbound token and the settings
switches, filters, paging and sorting, ETags, soft delete, Bulk with bulkId references, and
SCIM users being the admin API's users.
"""

import httpx2
import pytest
import requests
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from lumo_helpers import create_oauth_client, create_password_user, unique, unique_email
from org_fixtures import own_org_fixtures

lumod, api_client, org, oauth, new_org = own_org_fixtures("scim", "SCIM Org")

TOKEN = "scim-token-for-the-test-suite-0123456789"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def admin(lumod, method, path, body=None):
    return requests.request(method, f"{lumod.base}/orgs/{lumod.org}/api/v1{path}",
                            headers={"X-API-Key": lumod.api_key}, json=body, timeout=30)


def configure(lumod, **inbound):
    # Settings writes merge: every switch is sent, so each test starts from the same place.
    settings = {"enabled": True, "bearer_token": TOKEN, "allow_user_creation": True,
                "allow_user_updates": True, "allow_user_deletion": True,
                "allow_group_operations": True, "deprovisioning_action": "soft_delete",
                "protected_attributes": {"email": False, "name": False, "active": False}}
    settings.update(inbound)
    reply = admin(lumod, "PUT", "/admin/settings/scim", {"inbound": settings})
    assert reply.status_code == 200, reply.text


@pytest.fixture(scope="module")
def scim(lumod):
    configure(lumod, allow_user_deletion=True)
    base = f"{lumod.base}/orgs/{lumod.org}/api/v1/scim/v2"

    def call(method, path, body=None, headers=None, token=TOKEN):
        sent = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
        sent.update(headers or {})
        return requests.request(method, f"{base}{path}", headers=sent, json=body, timeout=30)

    call.base = base
    return call


def scim_error(reply, status, scim_type=None):
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert body["schemas"] == [ERROR], body
    assert body["status"] == str(status), body
    if scim_type:
        assert body.get("scimType") == scim_type, body
    return body


def new_user(scim, **extra):
    name = unique("u")
    body = {"schemas": [USER], "userName": name, "emails": [{"value": f"{name}@example.com", "primary": True}]}
    body.update(extra)
    reply = scim("POST", "/Users", body)
    assert reply.status_code == 201, reply.text
    return reply.json()


def test_scim2_tester_finds_no_error(scim):
    client = httpx2.Client(base_url=scim.base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    results = check_server(SyncSCIMClient(client))
    failures = [f"{r.title}: {r.reason}" for r in results if r.status in (Status.ERROR, Status.CRITICAL)]
    assert not failures, "\n".join(failures)
    titles = {r.title for r in results if r.status == Status.SUCCESS}
    assert len(titles) > 10, titles


def test_the_token_is_the_only_credential(scim, lumod):
    scim_error(scim("GET", "/Users", token="wrong-token"), 401)
    reply = requests.get(f"{scim.base}/Users", headers={"X-API-Key": lumod.api_key}, timeout=30)
    assert reply.status_code == 403, reply.text
    assert reply.json()["schemas"] == [ERROR]
    # Discovery of the provider's features needs no credential.
    spc = requests.get(f"{scim.base}/ServiceProviderConfig", timeout=30)
    assert spc.status_code == 200 and spc.json()["bulk"]["maxOperations"] == 1000
    # The other spelling of the base path serves the same resources.
    other = requests.get(scim.base.replace("/scim/v2", "/scim2.0") + "/ResourceTypes",
                         headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    assert other.status_code == 200 and other.json()["totalResults"] == 2


def test_scim_users_are_admin_api_users(scim, lumod):
    created = new_user(scim, name={"givenName": "Ada", "familyName": "Lovelace"}, externalId="ext-1",
                       **{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"}})
    seen = admin(lumod, "GET", f"/admin/users/{created['id']}")
    assert seen.status_code == 200, seen.text
    assert seen.json()["data"]["email"] == created["emails"][0]["value"].lower()
    assert seen.json()["data"]["givenName"] == "Ada"
    audit = admin(lumod, "GET", "/admin/audit-logs?limit=100").json()
    assert any(e.get("action") == "user.created" and e.get("actorType", e.get("actor_type")) == "scim"
               for e in audit["data"]) or "scim" in str(audit["data"])
    # A user made by the admin API is a SCIM user too.
    email = f"{unique('adm')}@example.com"
    made = admin(lumod, "POST", "/admin/users", {"email": email})
    assert made.status_code == 201, made.text
    found = scim("GET", f'/Users?filter=emails.value eq "{email}"').json()
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == made.json()["data"]["id"]


def test_filters_sorting_paging_and_attributes(scim):
    tag = unique("flt")
    for i in range(5):
        new_user(scim, userName=f"{tag}-{i}", displayName=f"Person {4 - i}", active=i % 2 == 0)
    listed = scim("GET", f'/Users?filter=userName sw "{tag}" and active eq true&sortBy=displayName&count=2').json()
    assert listed["totalResults"] == 3
    assert [r["displayName"] for r in listed["Resources"]] == ["Person 0", "Person 2"]
    assert listed["itemsPerPage"] == 2 and listed["startIndex"] == 1
    page2 = scim("GET", f'/Users?filter=userName sw "{tag}"&sortBy=userName&sortOrder=descending&startIndex=5&count=2').json()
    assert [r["userName"] for r in page2["Resources"]] == [f"{tag}-0"]
    slim = scim("GET", f'/Users?filter=userName eq "{tag}-1"&attributes=userName').json()["Resources"][0]
    assert set(slim) == {"schemas", "id", "userName"}
    searched = scim("POST", "/Users/.search", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                                               "filter": f'not (userName ne "{tag}-3")', "excludedAttributes": ["emails"]})
    result = searched.json()["Resources"]
    assert len(result) == 1 and "emails" not in result[0]
    for bad in ['userName eq', 'userName zz "x"', '(active eq true', 'emails[type eq "work"']:
        scim_error(scim("GET", f"/Users?filter={bad}"), 400, "invalidFilter")


def test_etags_uniqueness_mutability_and_soft_delete(scim, lumod):
    user = new_user(scim)
    uid, version = user["id"], user["meta"]["version"]
    patch = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": "New"}]}
    changed = scim("PATCH", f"/Users/{uid}", patch, headers={"If-Match": version})
    assert changed.status_code == 200 and changed.json()["displayName"] == "New"
    assert changed.headers["ETag"] != version
    scim_error(scim("PATCH", f"/Users/{uid}", patch, headers={"If-Match": version}), 412)
    other = new_user(scim)
    scim_error(scim("POST", "/Users", {"schemas": [USER], "userName": other["userName"],
                                       "emails": [{"value": f"{unique('x')}@example.com"}]}), 409, "uniqueness")
    scim_error(scim("PATCH", f"/Users/{uid}", {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "id", "value": "x"}]}), 400, "mutability")
    # Protected attributes of the settings refuse changes from SCIM.
    configure(lumod, allow_user_deletion=True, protected_attributes={"email": True})
    scim_error(scim("PATCH", f"/Users/{uid}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "emails", "value": [{"value": f"{unique('y')}@example.com", "primary": True}]}]}), 400, "mutability")
    configure(lumod, allow_user_deletion=True)
    # Delete is soft: the user is inactive, gone for SCIM, listed when asked for.
    assert scim("DELETE", f"/Users/{uid}").status_code == 204
    scim_error(scim("GET", f"/Users/{uid}"), 404)
    kept = admin(lumod, "GET", f"/admin/users/{uid}")
    assert kept.status_code == 200 and kept.json()["data"]["isActive"] is False
    deleted = scim("GET", "/Users?filter=isSoftDeleted eq true").json()
    assert uid in [r["id"] for r in deleted["Resources"]]
    assert scim("DELETE", f"/Users/{uid}?isSoftDeleted=true").status_code == 204
    assert admin(lumod, "GET", f"/admin/users/{uid}").status_code == 404


def test_groups_and_members(scim, lumod):
    a, b = new_user(scim), new_user(scim)
    group = scim("POST", "/Groups", {"schemas": [GROUP], "displayName": unique("Team"), "members": [{"value": a["id"]}]})
    assert group.status_code == 201, group.text
    gid = group.json()["id"]
    patched = scim("PATCH", f"/Groups/{gid}", {"schemas": [PATCH], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": b["id"]}]},
        {"op": "remove", "path": f'members[value eq "{a["id"]}"]'}]})
    assert patched.status_code == 200, patched.text
    assert [m["value"] for m in patched.json()["members"]] == [b["id"]]
    members = admin(lumod, "GET", f"/admin/groups/{gid}/members").json()["data"]
    assert [m["id"] for m in members] == [b["id"]]
    seen = scim("GET", f"/Users/{b['id']}").json()
    assert [g["value"] for g in seen["groups"]] == [gid]
    scim_error(scim("POST", "/Groups", {"schemas": [GROUP], "members": []}), 400, "invalidValue")
    assert scim("DELETE", f"/Groups/{gid}").status_code == 204
    scim_error(scim("GET", f"/Groups/{gid}"), 404)
    configure(lumod, allow_user_deletion=True, allow_group_operations=False)
    scim_error(scim("POST", "/Groups", {"schemas": [GROUP], "displayName": "Nope"}), 403)
    configure(lumod, allow_user_deletion=True)


def test_bulk_with_references_and_limits(scim):
    name = unique("bulk")
    body = {"schemas": [BULK], "Operations": [
        {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"schemas": [GROUP], "displayName": name, "members": [{"value": "bulkId:u"}]}},
        {"method": "POST", "path": "/Users", "bulkId": "u", "data": {"schemas": [USER], "userName": f"{name}@example.com"}},
        {"method": "POST", "path": "/Users", "bulkId": "dup", "data": {"schemas": [USER], "userName": f"{name}@example.com"}},
        {"method": "POST", "path": "/Groups", "bulkId": "c1", "data": {"schemas": [GROUP], "displayName": "c1", "members": [{"value": "bulkId:c2"}]}},
        {"method": "POST", "path": "/Groups", "bulkId": "c2", "data": {"schemas": [GROUP], "displayName": "c2", "members": [{"value": "bulkId:c1"}]}},
    ]}
    reply = scim("POST", "/Bulk", body)
    assert reply.status_code == 200, reply.text
    ops = {op["bulkId"]: op for op in reply.json()["Operations"]}
    assert ops["u"]["status"] == "201" and ops["g"]["status"] == "201", ops
    assert ops["dup"]["status"] == "409" and ops["dup"]["response"]["scimType"] == "uniqueness"
    assert ops["c1"]["status"] == "409" and ops["c2"]["status"] == "409"
    group = requests.get(ops["g"]["location"], headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30).json()
    assert [m["value"] for m in group["members"]] == [ops["u"]["location"].rsplit("/", 1)[1]]
    too_many = {"schemas": [BULK], "Operations": [{"method": "DELETE", "path": "/Users/x"}] * 1001}
    scim_error(scim("POST", "/Bulk", too_many), 413)
    fail_fast = {"schemas": [BULK], "failOnErrors": 1, "Operations": [
        {"method": "DELETE", "path": "/Users/nope"}, {"method": "DELETE", "path": "/Users/nope2"}]}
    assert len(scim("POST", "/Bulk", fail_fast).json()["Operations"]) == 1


def test_switches_of_the_settings(scim, lumod):
    configure(lumod, allow_user_creation=False)
    scim_error(scim("POST", "/Users", {"schemas": [USER], "userName": f"{unique('n')}@example.com"}), 403)
    configure(lumod, allow_user_deletion=False)
    user = new_user(scim)
    scim_error(scim("DELETE", f"/Users/{user['id']}"), 403)
    configure(lumod, enabled=False)
    scim_error(scim("GET", "/Users"), 401)
    configure(lumod, allow_user_deletion=True)


def test_bulk_keeps_the_order_sent_and_resolves_references_in_paths(scim):
    group = scim("POST", "/Groups", {"schemas": [GROUP], "displayName": unique("Ordered")}).json()
    name = unique("ord")
    body = {"schemas": [BULK], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"schemas": [USER], "userName": f"{name}@example.com"}},
        {"method": "PATCH", "path": f"/Groups/{group['id']}", "data": {"schemas": [PATCH], "Operations": [
            {"op": "add", "path": "members", "value": [{"value": "bulkId:a"}]}]}},
        {"method": "PUT", "path": f"/Groups/{group['id']}", "data": {"schemas": [GROUP], "displayName": group["displayName"], "members": []}},
        {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"schemas": [GROUP], "displayName": unique("Ref")}},
        {"method": "PATCH", "path": "/Groups/bulkId:g", "data": {"schemas": [PATCH], "Operations": [
            {"op": "add", "path": "members", "value": [{"value": "bulkId:a"}]}]}},
    ]}
    reply = scim("POST", "/Bulk", body)
    assert reply.status_code == 200, reply.text
    statuses = [op["status"] for op in reply.json()["Operations"]]
    assert statuses == ["201", "200", "200", "201", "200"], reply.text
    assert scim("GET", f"/Groups/{group['id']}").json()["members"] == []
    ref = reply.json()["Operations"][3]["location"]
    members = requests.get(ref, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30).json()["members"]
    assert len(members) == 1


def test_a_patch_keeps_what_it_does_not_name(scim, lumod):
    configure(lumod, auto_activate_users=False)
    user = new_user(scim)
    assert admin(lumod, "GET", f"/admin/users/{user['id']}").json()["data"]["isActive"] is False
    admin(lumod, "PATCH", f"/admin/users/{user['id']}", {"phoneNumber": "+15551234567"})
    patched = scim("PATCH", f"/Users/{user['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "displayName", "value": "Still inactive"}]})
    assert patched.status_code == 200, patched.text
    seen = admin(lumod, "GET", f"/admin/users/{user['id']}").json()["data"]
    assert seen["isActive"] is False and seen["phoneNumber"] == "+15551234567", seen
    configure(lumod)


def test_inbound_attribute_mapping_fills_lumo_fields(scim, lumod):
    enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    refused = admin(lumod, "PATCH", "/admin/settings/scim",
                    {"inbound": {"attribute_mapping": {"nickName": "password_hash"}}})
    assert refused.status_code == 422, refused.text
    assert "inbound.attribute_mapping" in refused.json()["details"], refused.text
    configure(lumod, attribute_mapping={f"{enterprise}:employeeNumber": "username",
                                        "nickName": "given_name", "title": "name"})
    try:
        number = unique("emp")
        reply = scim("POST", "/Users", {
            "schemas": [USER, enterprise], "userName": f"{number}@example.com",
            "nickName": "Ada", "title": "Countess", "name": {"familyName": "Lovelace"},
            enterprise: {"employeeNumber": number}})
        assert reply.status_code == 201, reply.text
        created = reply.json()
        assert created["userName"] == number, created
        seen = admin(lumod, "GET", f"/admin/users/{created['id']}").json()["data"]
        assert seen["username"] == number, seen
        assert seen["name"] == "Countess", seen
        assert seen["givenName"] == "Ada" and seen["familyName"] == "Lovelace", seen
        # Replacing goes through the mapping too.
        body = dict(created)
        body["nickName"] = "Augusta"
        replaced = scim("PUT", f"/Users/{created['id']}", body)
        assert replaced.status_code == 200, replaced.text
        assert admin(lumod, "GET", f"/admin/users/{created['id']}").json()["data"]["givenName"] == "Augusta"
    finally:
        configure(lumod, attribute_mapping={})


def test_me_patch_changes_only_what_a_user_may(scim, lumod, api_client, org, oauth):
    email = unique_email("me")
    create_password_user(api_client, org, email=email)
    client = create_oauth_client(api_client, org)
    token = oauth.code_tokens(oauth.login(email), client, scope="openid profile")["access_token"]
    mine = scim("GET", "/Me", token=token)
    assert mine.status_code == 200, mine.text
    version = mine.json()["meta"]["version"]
    changed = scim("PATCH", "/Me", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "name.givenName", "value": "Selfie"},
        {"op": "add", "path": "phoneNumbers", "value": [{"value": "+15550001111", "primary": True}]},
        {"op": "replace", "path": "locale", "value": "fr-FR"}]}, token=token,
        headers={"If-Match": version})
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"]["givenName"] == "Selfie", changed.text
    seen = admin(lumod, "GET", f"/admin/users/{mine.json()['id']}").json()["data"]
    assert seen["givenName"] == "Selfie" and seen["phoneNumber"] == "+15550001111", seen
    # What only an administrator or the directory sets is refused, and nothing is written.
    for op in [{"op": "replace", "path": "userName", "value": "someone-else"},
               {"op": "replace", "path": "active", "value": False},
               {"op": "replace", "path": "emails", "value": [{"value": "x@example.com", "primary": True}]},
               {"op": "add", "path": "password", "value": "N3w-passw0rd!"},
               {"op": "add", "path": "externalId", "value": "ext-1"}]:
        reply = scim("PATCH", "/Me", {"schemas": [PATCH], "Operations": [
            {"op": "replace", "path": "name.givenName", "value": "Sneaky"}, op]}, token=token)
        body = scim_error(reply, 400, "mutability")
        assert body["detail"], body
    assert admin(lumod, "GET", f"/admin/users/{mine.json()['id']}").json()["data"]["givenName"] == "Selfie"
    # A stale version is 412; the SCIM token names no user.
    stale = scim("PATCH", "/Me", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "locale", "value": "de-DE"}]}, token=token,
        headers={"If-Match": version})
    scim_error(stale, 412)
    assert scim("PATCH", "/Me", {"schemas": [PATCH], "Operations": []}).status_code == 501
