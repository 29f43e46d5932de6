"""AAuth (HTTP-message-signed agents, RFC 9421) end to end with the official SDK.

The hand-written SDK `lumoauth==1.1.0` is used unchanged: `AAuthClient.generate_keypair()` makes
every Ed25519 key, `AAuthClient.sign_request` signs every request (agents, their delegates and
resources alike), `request_authorization` / `exchange_code` / `refresh` drive
`~/aauth/agent/token`, and `discover_issuer` reads the instance's `/.well-known/aauth-issuer`.

The signer of a request is named either by `Agent-Auth: agent_token=<agent+jwt>` (the SDK adds
it; the key is the token's `cnf.jwk`) or by a `Signature-Key` naming a registered identity
(`sig1=jwks_uri;id="<identifier>";kid="key-1"`). The SDK covers the `signature-key` component,
so the same value is passed to `sign_request(signature_key=...)` and sent as the header.

Identities are registered through the admin API (`~/admin/agents/{id}/aauth`,
`~/admin/aauth/resources`); the consent flow runs through the hosted page
`~/aauth/agent/auth` with a browser session signed in on the hosted login form. Bad input
(bad signatures, changed bodies, stale or future `created`, replays, short nonces, unknown
agents, tokens of the wrong `typ`, malformed `Signature-Input`, an agent at a resource-only
endpoint) and isolation between orgs are checked with plain HTTP built from the SDK's headers.

The module works in an org of its own. Test names hold `aauth` (run.sh -k aauth).
"""

import base64
import hashlib
import json
import math
import os
import secrets
import time
import types
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from lumoauth import AAuthClient
from lumoauth.errors import LumoAuthApiError

from org_fixtures import own_org_fixtures
from lumo_helpers import (
    PASSWORD,
    b64url_decode,
    create_password_user,
    form_action,
    hidden_inputs,
    issuer,
    jwt_parts,
    unique,
)

REDIRECT = "http://127.0.0.1:9/cb"
OTHER_REDIRECT = "http://127.0.0.1:9/other"
COVERED = ("@method", "@authority", "@path", "signature-key", "content-digest",
           "content-type", "authorization")

lumod, api_client, org, oauth, new_org = own_org_fixtures("aauth", "AAuth tests")


# --- helpers ----------------------------------------------------------------------------------

def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def thumbprint(x: str) -> str:
    """RFC 7638 thumbprint of an Ed25519 public key."""
    canonical = '{"crv":"Ed25519","kty":"OKP","x":"%s"}' % x
    return b64url(hashlib.sha256(canonical.encode()).digest())


def iss_of(server) -> str:
    return issuer(server.base, server.org)


def admin(server, method, path, body=None, *, key=None):
    """Plain HTTP on the org's admin API with an API key (`path` is under the issuer)."""
    return requests.request(method, iss_of(server) + path, json=body,
                            headers={"X-API-Key": key or server.api_key}, timeout=30)


def aauth_error(resp, status: int, *errors) -> dict:
    """A JSON error answer with `error` (one of `errors` when given)."""
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert "application/json" in resp.headers.get("Content-Type", ""), resp.headers
    body = resp.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], body
    if errors:
        assert body["error"] in errors, body
    if status in (400, 401):
        assert isinstance(body.get("error_description"), str) and body["error_description"], body
    return body


def verify_eddsa(token: str, jwks: dict) -> tuple:
    """Verifies an EdDSA JWS against an OKP key set; returns (header, claims)."""
    header, claims = jwt_parts(token)
    assert header["alg"] == "EdDSA", header
    signing_input, sig = token.rsplit(".", 1)
    keys = [k for k in jwks["keys"] if k.get("kid") == header.get("kid")] or jwks["keys"]
    for key in keys:
        assert (key["kty"], key["crv"]) == ("OKP", "Ed25519"), key
        try:
            Ed25519PublicKey.from_public_bytes(b64url_decode(key["x"])).verify(
                b64url_decode(sig), signing_input.encode())
            return header, claims
        except InvalidSignature:
            continue
    raise AssertionError(f"no key of {jwks} verifies the token (kid {header.get('kid')})")


def client_for(server, identifier: str, pem: str) -> AAuthClient:
    return AAuthClient(identifier, pem, base_url=server.base, org_id=server.org)


def sig_key(identifier: str, kid: str = "key-1") -> str:
    return f'sig1=jwks_uri;id="{identifier}";kid="{kid}"'


def post_signed(client: AAuthClient, url: str, body, *, agent_token=None, signature_key="",
                raw: bytes = None) -> requests.Response:
    """POSTs `body` (JSON) signed by `client` with the SDK; `Signature-Key` when given."""
    data = raw if raw is not None else json.dumps(body).encode()
    headers = client.sign_request("POST", url, body=data, agent_token=agent_token,
                                  signature_key=signature_key)
    if signature_key:
        headers["Signature-Key"] = signature_key
    return requests.post(url, headers=headers, data=data, timeout=30)


def manual_headers(pem: str, method: str, url: str, body: bytes, *, created=None, nonce=None,
                   agent_token=None, signature_key="") -> dict:
    """The SDK's `sign_request`, copied, with `created` and `nonce` settable."""
    key = load_pem_private_key(pem.encode(), password=None)
    parsed = urlparse(url)
    digest = "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"
    created = math.floor(time.time()) if created is None else created
    nonce = b64url(os.urandom(16)) if nonce is None else nonce
    values = {"@method": method.upper(), "@authority": parsed.netloc, "@path": parsed.path,
              "signature-key": signature_key, "content-digest": digest,
              "content-type": "application/json", "authorization": ""}
    covered = " ".join(f'"{c}"' for c in COVERED)
    params = f'({covered});created={created};nonce="{nonce}"'
    lines = [f'"{c}": {values[c]}' for c in COVERED] + [f'"@signature-params": {params}']
    signature = key.sign("\n".join(lines).encode())
    headers = {"Content-Digest": digest, "Content-Type": "application/json",
               "Signature-Input": f"sig1={params}", "Signature": f"sig1=:{b64url(signature)}:"}
    if agent_token:
        headers["Agent-Auth"] = f"agent_token={agent_token}"
    if signature_key:
        headers["Signature-Key"] = signature_key
    return headers


def create_agent(server, capabilities=()) -> str:
    resp = admin(server, "POST", "/admin/agents",
                 {"name": unique("aauth-agent"), "capabilities": list(capabilities)})
    assert resp.status_code == 201, resp.text
    agent_id = resp.json()["data"]["agentId"]
    assert agent_id.startswith("agt_"), resp.text
    return agent_id


def register_agent(server, capabilities=(), redirect_uris=(REDIRECT,), identifier=None):
    """An agent with an AAuth identity (its own Ed25519 key)."""
    agent_id = create_agent(server, capabilities)
    pem, jwks = AAuthClient.generate_keypair()
    body = {"jwks": jwks, "redirect_uris": list(redirect_uris)}
    if identifier:
        body["identifier"] = identifier
    resp = admin(server, "PUT", f"/admin/agents/{agent_id}/aauth", body)
    assert resp.status_code == 200, resp.text
    data = resp.json()["data"]
    expected = identifier or f"{iss_of(server)}/aauth/agents/{agent_id}"
    assert data["identifier"] == expected, data
    return types.SimpleNamespace(agent_id=agent_id, identifier=data["identifier"], pem=pem,
                                 jwks=jwks, x=jwks["keys"][0]["x"], server=server,
                                 client=client_for(server, data["identifier"], pem),
                                 capabilities=list(capabilities))


def register_resource(server, scopes=("read", "write"), auto_approve=True):
    pem, jwks = AAuthClient.generate_keypair()
    ident = f"https://api-{secrets.token_hex(4)}.example.test"
    body = {"name": unique("res"), "identifier": ident, "jwks": jwks, "scopes": list(scopes),
            "auto_approve": auto_approve}
    resp = admin(server, "POST", "/admin/aauth/resources", body)
    assert resp.status_code == 201, resp.text
    data = resp.json()["data"]
    assert data["resource_id"].startswith("res_"), data
    return types.SimpleNamespace(resource_id=data["resource_id"], identifier=ident,
                                 name=body["name"], pem=pem, jwks=jwks, x=jwks["keys"][0]["x"],
                                 server=server, client=client_for(server, ident, pem))


def issue_delegate(agent, sub="device-1"):
    """The agent (signing with its registered key) issues an agent token to a new delegate,
    which gets an `AAuthClient` with its own key."""
    pem, jwks = AAuthClient.generate_keypair()
    x = jwks["keys"][0]["x"]
    url = iss_of(agent.server) + "/aauth/agent/issue"
    resp = post_signed(agent.client, url, {
        "delegate_sub": sub,
        "delegate_public_key": {"kty": "OKP", "crv": "Ed25519", "x": x}},
        signature_key=sig_key(agent.identifier))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["token_type"] == "agent+jwt", body
    return types.SimpleNamespace(pem=pem, x=x, jkt=thumbprint(x), sub=sub,
                                 token=body["agent_token"], response=body, agent=agent,
                                 client=client_for(agent.server, agent.identifier, pem))


def resource_token_response(resource, agent, delegate, scope="read"):
    url = iss_of(resource.server) + "/aauth/resource/token"
    return post_signed(resource.client, url, {
        "agent": agent.identifier, "agent_jkt": delegate.jkt, "scope": scope},
        signature_key=sig_key(resource.identifier))


def resource_token(resource, agent, delegate, scope="read") -> str:
    resp = resource_token_response(resource, agent, delegate, scope)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["token_type"] == "resource+jwt", body
    return body["resource_token"]


def as_resource(resource, path, body):
    return post_signed(resource.client, iss_of(resource.server) + path, body,
                       signature_key=sig_key(resource.identifier))


def verify_auth(resource, auth_token) -> dict:
    resp = as_resource(resource, "/aauth/auth/token/verify", {"auth_token": auth_token})
    assert resp.status_code == 200, resp.text
    return resp.json()


def as_delegate(delegate, path, body):
    return post_signed(delegate.client, iss_of(delegate.agent.server) + path, body,
                       agent_token=delegate.token)


def issuer_jwks(server) -> dict:
    resp = requests.get(iss_of(server) + "/aauth/jwks.json", timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()


def setup_direct(server, capabilities=("read", "write", "document.read")):
    """An agent holding the scopes, an auto-approving resource and one delegate."""
    agent = register_agent(server, capabilities)
    resource = register_resource(server, auto_approve=True)
    delegate = issue_delegate(agent)
    return agent, resource, delegate


def login_and_consent(server, auth_url: str, request_token: str, user, decision="allow",
                      check_page=None, browser=None) -> str:
    """A browser opens the consent page, signs in on the hosted login form it is sent to,
    comes back and answers; returns the Location the consent redirects to."""
    browser = browser if browser is not None else requests.Session()
    page = browser.get(auth_url, allow_redirects=False, timeout=30)
    assert page.status_code == 200, (page.status_code, page.text[:2000])
    prefix = f"/orgs/{server.org}/api/v1"
    assert form_action(page.text) == prefix + "/oauth/login/submit", page.text[:2000]
    login = hidden_inputs(page.text)
    assert login.get("_csrf"), page.text[:2000]
    back = login["return_to"]
    assert back.startswith(prefix + "/aauth/agent/auth?request_token="), login
    assert parse_qs(urlparse(back).query)["request_token"] == [request_token], back
    login.update(email=user.email, password=PASSWORD)
    signed_in = browser.post(server.base + form_action(page.text), data=login,
                             allow_redirects=False, timeout=30)
    assert signed_in.status_code in (302, 303), (signed_in.status_code, signed_in.text[:2000])
    assert signed_in.headers["Location"] == back, signed_in.headers
    assert browser.cookies.get("lumo_session"), signed_in.headers

    consent = browser.get(server.base + back, allow_redirects=False, timeout=30)
    assert consent.status_code == 200, (consent.status_code, consent.text[:2000])
    assert 'name="consent" value="allow"' in consent.text, consent.text[:3000]
    assert 'name="consent" value="deny"' in consent.text, consent.text[:3000]
    assert form_action(consent.text) == prefix + "/aauth/agent/auth", consent.text[:3000]
    form = hidden_inputs(consent.text)
    assert form.get("_csrf") and form.get("request_token") == request_token, form
    assert user.email in consent.text
    if check_page:
        check_page(consent.text)
    form["consent"] = decision
    answered = browser.post(server.base + form_action(consent.text), data=form,
                            allow_redirects=False, timeout=30)
    assert answered.status_code == 303, (answered.status_code, answered.text[:2000])
    return answered.headers["Location"]


def consent_setup(server, api_client_, redirect_uris=(REDIRECT,)):
    """An agent without the scope as a capability, a resource that does not auto-approve,
    a delegate and its resource token; a user who can sign in."""
    agent = register_agent(server, ["document.read"], redirect_uris=redirect_uris)
    resource = register_resource(server, auto_approve=False)
    delegate = issue_delegate(agent)
    rt = resource_token(resource, agent, delegate)
    user = create_password_user(api_client_, server.org)
    return types.SimpleNamespace(agent=agent, resource=resource, delegate=delegate, rt=rt,
                                 user=user)


def consented_code(server, setup, redirect_uri=REDIRECT) -> str:
    asked = setup.delegate.client.request_authorization(
        setup.rt, "read", agent_token=setup.delegate.token, redirect_uri=redirect_uri)
    assert asked["authorization_required"] is True, asked
    location = login_and_consent(server, asked["auth_url"], asked["request_token"], setup.user)
    assert location.startswith(redirect_uri + "?code="), location
    code = parse_qs(urlparse(location).query)["code"]
    assert len(code) == 1 and code[0], location
    return code[0]


# --- discovery --------------------------------------------------------------------------------

def test_aauth_discovery_at_the_instance_root(lumod):
    pem, _ = AAuthClient.generate_keypair()
    doc = client_for(lumod, "https://agent.example.test", pem).discover_issuer()
    assert doc["issuer"] == lumod.base
    assert doc["agent_signing_algs_supported"] == ["EdDSA"]
    assert doc["organization_issuer_template"] == lumod.base + "/orgs/{org}/api/v1"
    assert doc["agent_token_endpoint"] == lumod.base + "/orgs/{org}/api/v1/aauth/agent/token"
    resp = requests.get(lumod.base + "/.well-known/aauth-issuer", timeout=30)
    assert "public" in resp.headers.get("Cache-Control", ""), resp.headers
    assert resp.json() == doc

    # With ?org=, the org's own document.
    scoped = requests.get(lumod.base + "/.well-known/aauth-issuer", params={"org": lumod.org},
                          timeout=30)
    assert scoped.status_code == 200, scoped.text
    assert scoped.json()["issuer"] == iss_of(lumod)
    assert scoped.json()["agent_token_endpoint"] == iss_of(lumod) + "/aauth/agent/token"


def test_aauth_discovery_documents_of_the_org(lumod):
    I = iss_of(lumod)
    resp = requests.get(I + "/.well-known/aauth-issuer", timeout=30)
    assert resp.status_code == 200, resp.text
    assert "application/json" in resp.headers["Content-Type"]
    assert "public" in resp.headers.get("Cache-Control", ""), resp.headers
    doc = resp.json()
    assert doc["issuer"] == I
    assert doc["agent_token_endpoint"] == I + "/aauth/agent/token"
    assert doc["agent_signing_algs_supported"] == ["EdDSA"]
    assert doc["jwks_uri"] == I + "/aauth/jwks.json"

    jwks = requests.get(doc["jwks_uri"], timeout=30)
    assert jwks.status_code == 200 and "public" in jwks.headers.get("Cache-Control", "")
    keys = jwks.json()["keys"]
    assert keys, jwks.text
    for key in keys:
        assert (key["kty"], key["crv"]) == ("OKP", "Ed25519"), key
        assert len(b64url_decode(key["x"])) == 32 and key["kid"], key
        assert "d" not in key, key

    agent = register_agent(lumod, ["read"])
    resource = register_resource(lumod, scopes=["read", "write"])
    listed = requests.get(I + "/.well-known/aauth-agent", timeout=30)
    assert listed.status_code == 200 and "public" in listed.headers.get("Cache-Control", "")
    mine = [a for a in listed.json() if a["agent"] == agent.identifier]
    assert len(mine) == 1, listed.json()
    assert mine[0]["agent_id"] == agent.agent_id
    assert mine[0]["jwks_uri"] == f"{I}/aauth/agents/{agent.agent_id}/jwks.json"

    meta = requests.get(f"{I}/aauth/agents/{agent.agent_id}/metadata", timeout=30)
    assert meta.status_code == 200, meta.text
    assert (meta.json()["agent"], meta.json()["agent_id"]) == (agent.identifier, agent.agent_id)
    assert meta.json()["redirect_uris"] == [REDIRECT]
    agent_keys = requests.get(f"{I}/aauth/agents/{agent.agent_id}/jwks.json", timeout=30)
    assert agent_keys.status_code == 200, agent_keys.text
    assert agent.x in [k["x"] for k in agent_keys.json()["keys"]]

    resources = requests.get(I + "/.well-known/aauth-resource", timeout=30)
    assert resources.status_code == 200, resources.text
    found = [r for r in resources.json() if r["resource"] == resource.identifier]
    assert len(found) == 1 and found[0]["resource_id"] == resource.resource_id, resources.json()
    rmeta = requests.get(f"{I}/aauth/resources/{resource.resource_id}/metadata", timeout=30)
    assert rmeta.status_code == 200, rmeta.text
    assert rmeta.json()["resource"] == resource.identifier
    assert rmeta.json()["scopes_supported"] == ["read", "write"]
    rkeys = requests.get(f"{I}/aauth/resources/{resource.resource_id}/jwks.json", timeout=30)
    assert rkeys.status_code == 200 and resource.x in [k["x"] for k in rkeys.json()["keys"]]
    scopes = requests.get(I + "/.well-known/aauth-issuer", timeout=30).json()["scopes_supported"]
    assert {"read", "write"} <= set(scopes), scopes

    # An agent without an AAuth identity, and unknown ids, have no documents.
    plain = create_agent(lumod, ["read"])
    for path in (f"/aauth/agents/{plain}/metadata", f"/aauth/agents/{plain}/jwks.json",
                 f"/aauth/agents/agt_{'0' * 26}/metadata",
                 f"/aauth/resources/res_{'0' * 26}/metadata",
                 f"/aauth/resources/res_{'0' * 26}/jwks.json"):
        resp = requests.get(I + path, timeout=30)
        assert resp.status_code == 404, (path, resp.status_code, resp.text)


# --- admin ------------------------------------------------------------------------------------

def test_aauth_admin_agent_identity_set_show_and_remove(lumod):
    I = iss_of(lumod)
    agent_id = create_agent(lumod, ["read"])
    path = f"/admin/agents/{agent_id}/aauth"
    empty = admin(lumod, "GET", path)
    assert empty.status_code == 200 and empty.json()["data"] is None, empty.text

    _, jwks = AAuthClient.generate_keypair()
    put = admin(lumod, "PUT", path, {"jwks": jwks, "redirect_uris": [REDIRECT]})
    assert put.status_code == 200, put.text
    data = put.json()["data"]
    assert data["identifier"] == f"{I}/aauth/agents/{agent_id}"
    assert [(k["kty"], k["crv"], k["x"], k["kid"]) for k in data["jwks"]["keys"]] == [
        ("OKP", "Ed25519", jwks["keys"][0]["x"], "key-1")]
    assert data["redirect_uris"] == [REDIRECT]
    assert isinstance(data["updated_at"], str) and data["updated_at"]
    shown = admin(lumod, "GET", path)
    assert shown.status_code == 200 and shown.json()["data"] == data, shown.text

    # An explicit identifier and new keys replace the identity.
    _, jwks2 = AAuthClient.generate_keypair()
    own = f"https://agent-{secrets.token_hex(4)}.example.test"
    put = admin(lumod, "PUT", path, {"jwks": jwks2, "redirect_uris": [REDIRECT, OTHER_REDIRECT],
                                     "identifier": own})
    assert put.status_code == 200, put.text
    assert put.json()["data"]["identifier"] == own
    assert [k["x"] for k in put.json()["data"]["jwks"]["keys"]] == [jwks2["keys"][0]["x"]]
    assert put.json()["data"]["redirect_uris"] == [REDIRECT, OTHER_REDIRECT]
    meta = requests.get(f"{I}/aauth/agents/{agent_id}/metadata", timeout=30)
    assert meta.status_code == 200 and meta.json()["agent"] == own, meta.text

    # Keys that are not Ed25519 are refused; the stored identity is unchanged.
    rsa = {"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "r"}]}
    bad = admin(lumod, "PUT", path, {"jwks": rsa, "redirect_uris": [REDIRECT]})
    assert bad.status_code == 422, bad.text
    assert admin(lumod, "GET", path).json()["data"]["identifier"] == own

    removed = admin(lumod, "DELETE", path)
    assert removed.status_code == 200, removed.text
    assert admin(lumod, "GET", path).json()["data"] is None
    assert requests.get(f"{I}/aauth/agents/{agent_id}/metadata", timeout=30).status_code == 404
    missing = admin(lumod, "PUT", f"/admin/agents/agt_{'0' * 26}/aauth",
                    {"jwks": jwks, "redirect_uris": [REDIRECT]})
    assert missing.status_code == 404, missing.text


def test_aauth_admin_resources_crud(lumod):
    _, jwks = AAuthClient.generate_keypair()
    ident = f"https://api-{secrets.token_hex(4)}.example.test"
    body = {"name": "Example API", "identifier": ident, "jwks": jwks,
            "scopes": ["read", "write"], "auto_approve": True}
    created = admin(lumod, "POST", "/admin/aauth/resources", body)
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    rid = data["resource_id"]
    assert rid.startswith("res_")
    assert (data["name"], data["identifier"], data["scopes"], data["auto_approve"]) == (
        "Example API", ident, ["read", "write"], True)
    assert [k["x"] for k in data["jwks"]["keys"]] == [jwks["keys"][0]["x"]]

    listed = admin(lumod, "GET", "/admin/aauth/resources")
    assert listed.status_code == 200, listed.text
    assert [r for r in listed.json()["data"] if r["resource_id"] == rid] == [data]
    shown = admin(lumod, "GET", f"/admin/aauth/resources/{rid}")
    assert shown.status_code == 200 and shown.json()["data"] == data, shown.text

    # The same identifier cannot be registered twice.
    dup = admin(lumod, "POST", "/admin/aauth/resources", dict(body, name="Again"))
    assert dup.status_code == 409, dup.text

    updated = admin(lumod, "PUT", f"/admin/aauth/resources/{rid}",
                    dict(body, name="Renamed API", scopes=["read"], auto_approve=False))
    assert updated.status_code == 200, updated.text
    new = updated.json()["data"]
    assert (new["resource_id"], new["name"], new["scopes"], new["auto_approve"]) == (
        rid, "Renamed API", ["read"], False)
    assert admin(lumod, "GET", f"/admin/aauth/resources/{rid}").json()["data"]["name"] == \
        "Renamed API"

    deleted = admin(lumod, "DELETE", f"/admin/aauth/resources/{rid}")
    assert deleted.status_code == 200, deleted.text
    assert admin(lumod, "GET", f"/admin/aauth/resources/{rid}").status_code == 404
    assert rid not in [r["resource_id"]
                       for r in admin(lumod, "GET", "/admin/aauth/resources").json()["data"]]
    meta = requests.get(f"{iss_of(lumod)}/aauth/resources/{rid}/metadata", timeout=30)
    assert meta.status_code == 404, meta.text


# --- the direct flow ----------------------------------------------------------------------------

def test_aauth_direct_flow_issue_authorize_verify_refresh_revoke(lumod):
    I = iss_of(lumod)
    agent, resource, delegate = setup_direct(lumod)
    keys = issuer_jwks(lumod)

    # The agent token binds the delegate's key and names the agent.
    header, claims = verify_eddsa(delegate.token, keys)
    assert header["typ"] == "agent+jwt"
    assert (claims["iss"], claims["sub"]) == (agent.identifier, "device-1")
    assert claims["cnf"]["jwk"] == {"kty": "OKP", "crv": "Ed25519", "x": delegate.x}
    assert delegate.response["expires_in"] == claims["exp"] - claims["iat"] > 0

    # The resource has Lumo sign a resource token for that agent and key.
    rt = resource_token(resource, agent, delegate)
    header, claims = verify_eddsa(rt, keys)
    assert header["typ"] == "resource+jwt"
    assert (claims["iss"], claims["aud"], claims["agent"], claims["agent_jkt"],
            claims["scope"]) == (resource.identifier, I, agent.identifier, delegate.jkt, "read")
    checked = as_resource(resource, "/aauth/resource/token/verify", {"resource_token": rt})
    assert checked.status_code == 200, checked.text
    assert checked.json()["active"] is True
    assert (checked.json()["scope"], checked.json()["agent"], checked.json()["agent_jkt"]) == (
        "read", agent.identifier, delegate.jkt)

    # Auto-approve and the agent holds "read": tokens at once.
    tokens = delegate.client.request_authorization(rt, "read", agent_token=delegate.token)
    assert tokens.get("authorization_required") is None, tokens
    assert tokens["request_type"] == "auth"
    assert tokens["token_type"] and tokens["refresh_token"], tokens
    header, claims = verify_eddsa(tokens["auth_token"], keys)
    assert header["typ"] == "auth+jwt"
    assert (claims["iss"], claims["aud"], claims["agent"], claims["agent_delegate"],
            claims["scope"]) == (I, resource.identifier, agent.identifier, "device-1", "read")
    assert claims["sub"] == agent.identifier
    assert claims["cnf"]["jwk"]["x"] == delegate.x
    assert tokens["expires_in"] == claims["exp"] - claims["iat"] > 0

    verified = verify_auth(resource, tokens["auth_token"])
    assert verified["active"] is True, verified
    assert (verified["agent"], verified["agent_delegate"], verified["resource"],
            verified["sub"], verified["scope"], verified["cnf_jkt"],
            verified["pop_required"]) == (agent.identifier, "device-1", resource.identifier,
                                          agent.identifier, "read", delegate.jkt, True)

    # Refresh with a fresh resource token: a new auth token, the same refresh token.
    fresh = resource_token(resource, agent, delegate)
    refreshed = delegate.client.refresh(tokens["refresh_token"], fresh,
                                        agent_token=delegate.token)
    assert refreshed["refresh_token"] == tokens["refresh_token"], refreshed
    assert refreshed["auth_token"] != tokens["auth_token"]
    _, new_claims = verify_eddsa(refreshed["auth_token"], keys)
    assert new_claims["jti"] != claims["jti"]
    assert (new_claims["aud"], new_claims["scope"]) == (resource.identifier, "read")
    assert verify_auth(resource, refreshed["auth_token"])["active"] is True

    # The agent revokes the first auth token; the resource revokes the refresh token.
    revoked = as_delegate(delegate, "/aauth/token/revoke",
                          {"token": tokens["auth_token"], "token_type": "auth_token"})
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True, revoked.text
    assert verify_auth(resource, tokens["auth_token"])["active"] is False
    assert verify_auth(resource, refreshed["auth_token"])["active"] is True

    revoked = as_resource(resource, "/aauth/token/revoke",
                          {"token": tokens["refresh_token"], "token_type": "refresh_token"})
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True, revoked.text
    with pytest.raises(LumoAuthApiError) as failed:
        delegate.client.refresh(tokens["refresh_token"],
                                resource_token(resource, agent, delegate),
                                agent_token=delegate.token)
    assert failed.value.status_code == 400, failed.value
    assert failed.value.body["error"] == "invalid_grant", failed.value.body

    revoked = as_resource(resource, "/aauth/token/revoke",
                          {"token": refreshed["auth_token"], "token_type": "auth_token"})
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True, revoked.text
    assert verify_auth(resource, refreshed["auth_token"])["active"] is False


def test_aauth_verification_is_per_resource(lumod):
    agent, resource, delegate = setup_direct(lumod)
    other = register_resource(lumod, auto_approve=True)
    rt = resource_token(resource, agent, delegate)
    tokens = delegate.client.request_authorization(rt, "read", agent_token=delegate.token)
    assert tokens["auth_token"], tokens

    assert verify_auth(resource, tokens["auth_token"])["active"] is True
    elsewhere = verify_auth(other, tokens["auth_token"])
    assert elsewhere["active"] is False and "sub" not in elsewhere, elsewhere
    # Another resource's resource token is not active for this one.
    foreign = as_resource(other, "/aauth/resource/token/verify", {"resource_token": rt})
    assert foreign.status_code == 200 and foreign.json()["active"] is False, foreign.text
    # A resource token for another scope than the resource has is refused.
    refused = resource_token_response(resource, agent, delegate, scope="admin")
    aauth_error(refused, 400, "invalid_scope")


def test_aauth_auto_approve_needs_every_scope_as_a_capability(lumod):
    agent, resource, delegate = setup_direct(lumod, capabilities=("read",))
    rt = resource_token(resource, agent, delegate, scope="read write")
    asked = delegate.client.request_authorization(rt, "read write", agent_token=delegate.token,
                                                  redirect_uri=REDIRECT)
    assert asked["authorization_required"] is True, asked
    assert asked["auth_url"].startswith(
        iss_of(lumod) + "/aauth/agent/auth?request_token="), asked
    assert parse_qs(urlparse(asked["auth_url"]).query)["request_token"] == [
        asked["request_token"]]
    # "read" alone the agent holds: granted at once.
    direct = delegate.client.request_authorization(
        resource_token(resource, agent, delegate, scope="read"), "read",
        agent_token=delegate.token)
    assert direct["request_type"] == "auth" and direct["auth_token"], direct


# --- consent ------------------------------------------------------------------------------------

def test_aauth_consent_on_the_hosted_page_then_code_exchange(lumod, api_client):
    setup = consent_setup(lumod, api_client)
    asked = setup.delegate.client.request_authorization(
        setup.rt, "read", agent_token=setup.delegate.token, redirect_uri=REDIRECT)
    assert asked["authorization_required"] is True, asked
    assert asked["auth_url"].startswith(iss_of(lumod) + "/aauth/agent/auth?request_token=")
    assert asked["request_token"], asked

    def shows_the_request(page):
        assert "read" in page and setup.resource.name in page, page[:3000]

    browser = requests.Session()
    location = login_and_consent(lumod, asked["auth_url"], asked["request_token"], setup.user,
                                 check_page=shows_the_request, browser=browser)
    assert location.startswith(REDIRECT + "?code="), location
    code = parse_qs(urlparse(location).query)["code"][0]

    tokens = setup.delegate.client.exchange_code(code, REDIRECT,
                                                 agent_token=setup.delegate.token)
    assert tokens["request_type"] == "code" and tokens["refresh_token"], tokens
    _, claims = verify_eddsa(tokens["auth_token"], issuer_jwks(lumod))
    assert claims["sub"] == setup.user.id
    assert claims["email"] == setup.user.email
    assert (claims["aud"], claims["agent"], claims["scope"]) == (
        setup.resource.identifier, setup.agent.identifier, "read")
    verified = verify_auth(setup.resource, tokens["auth_token"])
    assert (verified["active"], verified["sub"], verified["cnf_jkt"]) == (
        True, setup.user.id, setup.delegate.jkt), verified

    # The code is single use.
    with pytest.raises(LumoAuthApiError) as again:
        setup.delegate.client.exchange_code(code, REDIRECT, agent_token=setup.delegate.token)
    assert again.value.status_code == 400, again.value
    assert again.value.body["error"] == "invalid_grant", again.value.body
    # The consent request is answered: the signed-in user no longer gets its form.
    gone = browser.get(asked["auth_url"], allow_redirects=False, timeout=30)
    assert gone.status_code == 400, (gone.status_code, gone.text[:2000])
    assert 'name="consent"' not in gone.text and asked["request_token"] not in gone.text

    # The user's grant refreshes with the user kept.
    refreshed = setup.delegate.client.refresh(
        tokens["refresh_token"], resource_token(setup.resource, setup.agent, setup.delegate),
        agent_token=setup.delegate.token)
    assert refreshed["refresh_token"] == tokens["refresh_token"]
    assert jwt_parts(refreshed["auth_token"])[1]["sub"] == setup.user.id


def test_aauth_consent_denied_redirects_with_access_denied(lumod, api_client):
    setup = consent_setup(lumod, api_client)
    asked = setup.delegate.client.request_authorization(
        setup.rt, "read", agent_token=setup.delegate.token, redirect_uri=REDIRECT)
    assert asked["authorization_required"] is True, asked
    location = login_and_consent(lumod, asked["auth_url"], asked["request_token"], setup.user,
                                 decision="deny")
    assert location.startswith(REDIRECT + "?"), location
    query = parse_qs(urlparse(location).query)
    assert query["error"] == ["access_denied"] and "code" not in query, location


def test_aauth_code_is_bound_to_its_redirect_uri(lumod, api_client):
    setup = consent_setup(lumod, api_client, redirect_uris=(REDIRECT, OTHER_REDIRECT))
    code = consented_code(lumod, setup, redirect_uri=REDIRECT)
    with pytest.raises(LumoAuthApiError) as wrong:
        setup.delegate.client.exchange_code(code, OTHER_REDIRECT,
                                            agent_token=setup.delegate.token)
    assert wrong.value.status_code == 400, wrong.value
    assert wrong.value.body["error"] == "invalid_grant", wrong.value.body
    # A code nobody was sent is refused too.
    with pytest.raises(LumoAuthApiError) as unknown:
        setup.delegate.client.exchange_code("aac_" + secrets.token_urlsafe(32), REDIRECT,
                                            agent_token=setup.delegate.token)
    assert unknown.value.status_code == 400 and unknown.value.body["error"] == "invalid_grant"
    # A redirect URI the agent has not registered is refused when asking.
    with pytest.raises(LumoAuthApiError) as unregistered:
        setup.delegate.client.request_authorization(
            resource_token(setup.resource, setup.agent, setup.delegate), "read",
            agent_token=setup.delegate.token, redirect_uri="http://127.0.0.1:9/nowhere")
    assert unregistered.value.status_code == 400, unregistered.value


def test_aauth_code_only_for_the_delegate_it_was_issued_to(lumod, api_client):
    setup = consent_setup(lumod, api_client)
    code = consented_code(lumod, setup)
    other = issue_delegate(setup.agent, sub="device-2")
    with pytest.raises(LumoAuthApiError) as refused:
        other.client.exchange_code(code, REDIRECT, agent_token=other.token)
    assert refused.value.status_code == 400, refused.value
    assert refused.value.body["error"] == "invalid_grant", refused.value.body
    tokens = setup.delegate.client.exchange_code(code, REDIRECT,
                                                 agent_token=setup.delegate.token)
    assert jwt_parts(tokens["auth_token"])[1]["agent_delegate"] == "device-1"


# --- platform token -----------------------------------------------------------------------------

def test_aauth_platform_token_is_an_agent_access_token(lumod):
    agent, _, delegate = setup_direct(lumod)
    resp = as_delegate(delegate, "/aauth/agent/platform-token",
                       {"subject_token": delegate.token, "scope": "document.read"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["agent_id"], body["scope"]) == (agent.agent_id, "document.read"), body
    assert body["access_token"] and body["expires_in"] > 0, body

    me = requests.get(iss_of(lumod) + "/agents/me", timeout=30,
                      headers={"Authorization": "Bearer " + body["access_token"]})
    assert me.status_code == 200, me.text
    identity = me.json()["identity"]
    assert (identity["type"], identity["agent_id"]) == ("agent", agent.agent_id), me.json()

    # A scope the agent does not hold, and another delegate's token, are refused.
    aauth_error(as_delegate(delegate, "/aauth/agent/platform-token",
                            {"subject_token": delegate.token, "scope": "mail:send"}),
                400, "invalid_scope")
    other = issue_delegate(agent, sub="device-2")
    aauth_error(as_delegate(delegate, "/aauth/agent/platform-token",
                            {"subject_token": other.token, "scope": "document.read"}),
                401, "invalid_token")


# --- bad input ----------------------------------------------------------------------------------

def test_aauth_bad_signatures_are_401(lumod):
    agent, resource, delegate = setup_direct(lumod)
    url = iss_of(lumod) + "/aauth/agent/token"
    rt = resource_token(resource, agent, delegate)
    body = json.dumps({"request_type": "auth", "resource_token": rt, "scope": "read"}).encode()

    # A flipped signature byte.
    headers = delegate.client.sign_request("POST", url, body=body, agent_token=delegate.token)
    sig = bytearray(b64url_decode(headers["Signature"][len("sig1=:"):-1]))
    sig[0] ^= 0x01
    headers["Signature"] = f"sig1=:{b64url(bytes(sig))}:"
    aauth_error(requests.post(url, headers=headers, data=body, timeout=30),
                401, "invalid_signature")

    # Signed by another key than the agent token binds.
    stranger_pem, _ = AAuthClient.generate_keypair()
    stranger = client_for(lumod, agent.identifier, stranger_pem)
    headers = stranger.sign_request("POST", url, body=body, agent_token=delegate.token)
    aauth_error(requests.post(url, headers=headers, data=body, timeout=30),
                401, "invalid_signature")

    # Signed for another path.
    headers = delegate.client.sign_request("POST", iss_of(lumod) + "/aauth/token/revoke",
                                           body=body, agent_token=delegate.token)
    aauth_error(requests.post(url, headers=headers, data=body, timeout=30),
                401, "invalid_signature")

    # Not signed at all.
    aauth_error(requests.post(url, data=body, timeout=30,
                              headers={"Content-Type": "application/json",
                                       "Agent-Auth": f"agent_token={delegate.token}"}),
                401, "invalid_signature")

    # The control: the same request properly signed works.
    ok = post_signed(delegate.client, url, None, agent_token=delegate.token, raw=body)
    assert ok.status_code == 200, ok.text


def test_aauth_body_changed_after_signing_is_401(lumod):
    agent, resource, delegate = setup_direct(lumod)
    url = iss_of(lumod) + "/aauth/agent/token"
    payload = {"request_type": "auth", "resource_token": resource_token(resource, agent, delegate),
               "scope": "read"}
    signed_body = json.dumps(payload).encode()
    sent_body = json.dumps(payload, separators=(",", ":")).encode()
    assert signed_body != sent_body
    headers = delegate.client.sign_request("POST", url, body=signed_body,
                                           agent_token=delegate.token)
    aauth_error(requests.post(url, headers=headers, data=sent_body, timeout=30),
                401, "invalid_signature")
    # With Content-Digest recomputed for the new body the signature no longer covers it.
    headers["Content-Digest"] = ("sha-256=:" + base64.b64encode(
        hashlib.sha256(sent_body).digest()).decode() + ":")
    aauth_error(requests.post(url, headers=headers, data=sent_body, timeout=30),
                401, "invalid_signature")


@pytest.mark.parametrize("shift", [-120, 120])
def test_aauth_created_outside_sixty_seconds_is_401(lumod, monkeypatch, shift):
    agent, resource, delegate = setup_direct(lumod)
    url = iss_of(lumod) + "/aauth/resource/token/verify"
    body = json.dumps({"resource_token": resource_token(resource, agent, delegate)}).encode()
    real = time.time
    with monkeypatch.context() as m:
        m.setattr(time, "time", lambda: real() + shift)
        headers = resource.client.sign_request("POST", url, body=body,
                                               signature_key=sig_key(resource.identifier))
    headers["Signature-Key"] = sig_key(resource.identifier)
    created = int(headers["Signature-Input"].split("created=")[1].split(";")[0])
    assert abs(created - real() - shift) < 5
    aauth_error(requests.post(url, headers=headers, data=body, timeout=30),
                401, "invalid_signature")
    # Within the window (30 s off) it is accepted.
    with monkeypatch.context() as m:
        m.setattr(time, "time", lambda: real() + shift // 4)
        headers = resource.client.sign_request("POST", url, body=body,
                                               signature_key=sig_key(resource.identifier))
    headers["Signature-Key"] = sig_key(resource.identifier)
    ok = requests.post(url, headers=headers, data=body, timeout=30)
    assert ok.status_code == 200 and ok.json()["active"] is True, ok.text


def test_aauth_replayed_request_is_401(lumod):
    agent, resource, delegate = setup_direct(lumod)
    url = iss_of(lumod) + "/aauth/resource/token"
    body = json.dumps({"agent": agent.identifier, "agent_jkt": delegate.jkt,
                       "scope": "read"}).encode()
    headers = resource.client.sign_request("POST", url, body=body,
                                           signature_key=sig_key(resource.identifier))
    headers["Signature-Key"] = sig_key(resource.identifier)
    first = requests.post(url, headers=headers, data=body, timeout=30)
    assert first.status_code == 200 and first.json()["resource_token"], first.text
    replay = requests.post(url, headers=headers, data=body, timeout=30)
    aauth_error(replay, 401, "invalid_signature")
    # A delegate's replay too.
    payload = json.dumps({"request_type": "auth", "resource_token": first.json()["resource_token"],
                          "scope": "read"}).encode()
    token_url = iss_of(lumod) + "/aauth/agent/token"
    headers = delegate.client.sign_request("POST", token_url, body=payload,
                                           agent_token=delegate.token)
    assert requests.post(token_url, headers=headers, data=payload,
                         timeout=30).status_code == 200
    aauth_error(requests.post(token_url, headers=headers, data=payload, timeout=30),
                401, "invalid_signature")


def test_aauth_short_nonce_is_401(lumod):
    agent, resource, delegate = setup_direct(lumod)
    url = iss_of(lumod) + "/aauth/resource/token"
    body = json.dumps({"agent": agent.identifier, "agent_jkt": delegate.jkt,
                       "scope": "read"}).encode()
    key = sig_key(resource.identifier)
    short = manual_headers(resource.pem, "POST", url, body, nonce="abcdefghijklmno",
                           signature_key=key)  # 15 characters
    aauth_error(requests.post(url, headers=short, data=body, timeout=30),
                401, "invalid_signature")
    # The same construction with a 16-character nonce is accepted.
    enough = manual_headers(resource.pem, "POST", url, body, nonce=secrets.token_hex(8),
                            signature_key=key)
    ok = requests.post(url, headers=enough, data=body, timeout=30)
    assert ok.status_code == 200 and ok.json()["resource_token"], ok.text


def test_aauth_unknown_agents_are_401(lumod):
    agent, resource, delegate = setup_direct(lumod)
    I = iss_of(lumod)
    delegate_x = {"kty": "OKP", "crv": "Ed25519", "x": delegate.x}

    # A Signature-Key identifier nobody registered.
    ghost = f"https://ghost-{secrets.token_hex(4)}.example.test"
    resp = post_signed(client_for(lumod, ghost, agent.pem), I + "/aauth/agent/issue",
                       {"delegate_sub": "d", "delegate_public_key": delegate_x},
                       signature_key=sig_key(ghost))
    aauth_error(resp, 401, "invalid_signature", "invalid_token")

    # An agent token signed by a key of an unregistered issuer.
    fake_key = Ed25519PrivateKey.generate()
    head = b64url(json.dumps({"alg": "EdDSA", "typ": "agent+jwt"}).encode())
    now = int(time.time())
    claims = b64url(json.dumps({"iss": ghost, "sub": "d", "iat": now, "exp": now + 600,
                                "cnf": {"jwk": delegate_x}}).encode())
    forged = f"{head}.{claims}." + b64url(fake_key.sign(f"{head}.{claims}".encode()))
    rt = resource_token(resource, agent, delegate)
    resp = post_signed(delegate.client, I + "/aauth/agent/token",
                       {"request_type": "auth", "resource_token": rt, "scope": "read"},
                       agent_token=forged)
    aauth_error(resp, 401, "invalid_token")

    # The agent whose identity was removed: its delegate's token no longer counts.
    assert admin(lumod, "DELETE", f"/admin/agents/{agent.agent_id}/aauth").status_code == 200
    resp = post_signed(delegate.client, I + "/aauth/agent/token",
                       {"request_type": "auth", "resource_token": rt, "scope": "read"},
                       agent_token=delegate.token)
    aauth_error(resp, 401, "invalid_token")


def test_aauth_token_of_the_wrong_typ_is_401(lumod):
    agent, resource, delegate = setup_direct(lumod)
    I = iss_of(lumod)
    rt = resource_token(resource, agent, delegate)
    body = {"request_type": "auth", "resource_token": rt, "scope": "read"}
    # A resource token where an agent token belongs.
    aauth_error(post_signed(delegate.client, I + "/aauth/agent/token", body, agent_token=rt),
                401, "invalid_token")
    # An auth token where an agent token belongs.
    tokens = delegate.client.request_authorization(rt, "read", agent_token=delegate.token)
    aauth_error(post_signed(delegate.client, I + "/aauth/agent/token",
                            dict(body, resource_token=resource_token(resource, agent, delegate)),
                            agent_token=tokens["auth_token"]),
                401, "invalid_token")
    # An agent token where a resource token belongs.
    aauth_error(post_signed(delegate.client, I + "/aauth/agent/token",
                            dict(body, resource_token=delegate.token),
                            agent_token=delegate.token),
                401, "invalid_token")


def test_aauth_malformed_signature_input_is_400(lumod):
    agent, resource, delegate = setup_direct(lumod)
    url = iss_of(lumod) + "/aauth/agent/token"
    body = json.dumps({"request_type": "auth",
                       "resource_token": resource_token(resource, agent, delegate),
                       "scope": "read"}).encode()
    for broken in ('sig1=("@method" "@authority"', "sig1=((;;", 'sig1=(@method);created=1'):
        headers = delegate.client.sign_request("POST", url, body=body,
                                               agent_token=delegate.token)
        headers["Signature-Input"] = broken
        aauth_error(requests.post(url, headers=headers, data=body, timeout=30),
                    400, "invalid_request")
    # A label the Signature header does not have.
    headers = delegate.client.sign_request("POST", url, body=body, agent_token=delegate.token)
    headers["Signature-Input"] = "other" + headers["Signature-Input"][len("sig1"):]
    aauth_error(requests.post(url, headers=headers, data=body, timeout=30),
                400, "invalid_request")


def test_aauth_endpoints_refuse_the_wrong_kind_of_signer_with_403(lumod):
    agent, resource, delegate = setup_direct(lumod)
    I = iss_of(lumod)
    rt = resource_token(resource, agent, delegate)
    tokens = delegate.client.request_authorization(rt, "read", agent_token=delegate.token)
    assert tokens["auth_token"], tokens

    # Resource-only endpoints, called by the delegate (Agent-Auth) and the agent itself.
    for path, body in (("/aauth/resource/token",
                        {"agent": agent.identifier, "agent_jkt": delegate.jkt, "scope": "read"}),
                       ("/aauth/auth/token/verify", {"auth_token": tokens["auth_token"]}),
                       ("/aauth/resource/token/verify", {"resource_token": rt})):
        aauth_error(as_delegate(delegate, path, body), 403)
        aauth_error(post_signed(agent.client, I + path, body,
                                signature_key=sig_key(agent.identifier)), 403)
    # The agent token endpoint is for agents, not resources.
    aauth_error(as_resource(resource, "/aauth/agent/token",
                            {"request_type": "auth", "resource_token": rt, "scope": "read"}),
                403)
    # A delegate cannot issue agent tokens.
    aauth_error(as_delegate(delegate, "/aauth/agent/issue",
                            {"delegate_sub": "d2", "delegate_public_key": {
                                "kty": "OKP", "crv": "Ed25519", "x": delegate.x}}), 403)
    # The token is still good: nothing above touched it.
    assert verify_auth(resource, tokens["auth_token"])["active"] is True


# --- isolation ----------------------------------------------------------------------------------

def test_aauth_orgs_are_isolated(lumod, new_org):
    agent, resource, delegate = setup_direct(lumod)
    other = new_org()
    _, jwks = AAuthClient.generate_keypair()
    body = {"jwks": jwks, "redirect_uris": [REDIRECT]}

    # Another org's key does not reach this org's agent, here or through its own org.
    here = admin(lumod, "PUT", f"/admin/agents/{agent.agent_id}/aauth", body, key=other.api_key)
    assert here.status_code in (401, 403), here.text
    there = admin(other.lumod, "PUT", f"/admin/agents/{agent.agent_id}/aauth", body)
    assert there.status_code in (403, 404), there.text
    shown = admin(lumod, "GET", f"/admin/agents/{agent.agent_id}/aauth")
    assert [k["x"] for k in shown.json()["data"]["jwks"]["keys"]] == [agent.x], shown.text
    gone = requests.get(f"{iss_of(other.lumod)}/aauth/agents/{agent.agent_id}/metadata",
                        timeout=30)
    assert gone.status_code == 404, gone.text

    # This org's agent token at the other org's agent token endpoint: 401.
    foreign_resource = register_resource(other.lumod, auto_approve=True)
    foreign_rt = resource_token(foreign_resource, agent, delegate)
    url = iss_of(other.lumod) + "/aauth/agent/token"
    resp = post_signed(delegate.client, url, {"request_type": "auth",
                                              "resource_token": foreign_rt, "scope": "read"},
                       agent_token=delegate.token)
    body = aauth_error(resp, 401, "invalid_token", "invalid_signature")
    assert "auth_url" not in body, body
    # The other org's resource token at this org: 401 as well.
    resp = post_signed(delegate.client, iss_of(lumod) + "/aauth/agent/token",
                       {"request_type": "auth", "resource_token": foreign_rt, "scope": "read"},
                       agent_token=delegate.token)
    assert aauth_error(resp, 401, "invalid_token").get("auth_url") is None
    # At home the agent is served.
    tokens = delegate.client.request_authorization(resource_token(resource, agent, delegate),
                                                   "read", agent_token=delegate.token)
    assert tokens["request_type"] == "auth" and tokens["auth_token"], tokens
    # The other org's resource cannot verify this org's auth token.
    resp = as_resource(foreign_resource, "/aauth/auth/token/verify",
                       {"auth_token": tokens["auth_token"]})
    assert resp.status_code == 200 and resp.json()["active"] is False, resp.text
