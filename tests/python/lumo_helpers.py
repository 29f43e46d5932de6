"""Helpers: send bodies/queries the generated client does not declare, through its own
serialization, transport and deserialization, so responses are still parsed by its models."""

import json
import uuid

from lumoauth_api_client import ApiClient
from lumoauth_api_client.exceptions import ApiException

PREFIX = "/orgs/{orgId}/api/v1"


def send(api_client: ApiClient, method: str, path: str, org: str, *, path_params=None,
         body=None, query=None, types=None, headers=None, auth=("ApiKeyAuth",), form=None):
    """Calls `PREFIX + path` and deserializes with `types` ({status: model name}).

    `body` goes out as JSON; `form` (a dict) as application/x-www-form-urlencoded through
    the client's own form encoding (what OAuth endpoints require).
    Returns the client's ApiResponse (status_code, data, headers, raw_data); raises the
    client's ApiException subclasses on 4xx/5xx exactly like generated methods do.
    """
    params = {"orgId": org}
    params.update(path_params or {})
    header_params = {"Accept": "application/json"}
    if body is not None:
        header_params["Content-Type"] = "application/json"
    if form is not None:
        header_params["Content-Type"] = "application/x-www-form-urlencoded"
    header_params.update(headers or {})
    query_params = [(k, v) for k, v in (query or {}).items()] if query else None
    serialized = api_client.param_serialize(
        method=method,
        resource_path=PREFIX + path,
        path_params=params,
        query_params=query_params,
        header_params=header_params,
        body=body,
        post_params=list(form.items()) if form is not None else None,
        auth_settings=list(auth),
    )
    response = api_client.call_api(*serialized)
    response.read()
    return api_client.response_deserialize(response_data=response,
                                           response_types_map=types or {})


def error_body(exc: ApiException) -> dict:
    """Parses the error body of a client exception and checks the LumoAuth error shape."""
    assert exc.body, f"error response without body (status {exc.status})"
    parsed = json.loads(exc.body)
    assert isinstance(parsed, dict), parsed
    assert isinstance(parsed.get("error"), str) and parsed["error"], parsed
    assert isinstance(parsed.get("message"), str) and parsed["message"], parsed
    assert isinstance(parsed.get("status"), int) and not isinstance(parsed["status"], bool), parsed
    assert parsed["status"] == exc.status, (parsed, exc.status)
    return parsed


def error_of(exc: ApiException, status: int, code: str) -> dict:
    """The error body of a client exception, checked to have this status and code."""
    assert exc.status == status, (exc.status, exc.body)
    body = error_body(exc)
    assert body["error"] == code, body
    return body


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}.{uuid.uuid4().hex[:10]}@example.com"


# --- creating fixtures through the API (bodies per request-bodies.md) -----------------------

def create_user(api_client, org, **fields):
    """POST /admin/users; returns the deserialized `User` (asserting the 201 envelope)."""
    body = {"email": fields.pop("email", None) or unique_email()}
    body.update(fields)
    resp = send(api_client, "POST", "/admin/users", org, body=body,
                types={"201": "CreateUserResponse"})
    assert resp.status_code == 201
    assert resp.data is not None, "201 body did not deserialize as CreateUserResponse"
    return resp.data.data


def create_group(api_client, org, name=None, slug=None, description=None):
    slug = slug or unique("grp")
    body = {"name": name or f"Group {slug}", "slug": slug}
    if description is not None:
        body["description"] = description
    resp = send(api_client, "POST", "/admin/groups", org, body=body,
                types={"201": "AdminGroupsCreateResponse"})
    assert resp.status_code == 201 and resp.data is not None
    return resp.data.data


def create_role(api_client, org, name=None, slug=None, description=None):
    slug = slug or unique("role")
    body = {"name": name or f"Role {slug}", "slug": slug}
    if description is not None:
        body["description"] = description
    resp = send(api_client, "POST", "/admin/roles", org, body=body,
                types={"201": "AdminRolesCreateResponse"})
    assert resp.status_code == 201 and resp.data is not None
    return resp.data.data


def create_permission(api_client, org, slug=None, name=None, **extra):
    slug = slug or f"{unique('res')}:read"
    body = {"name": name or f"Permission {slug}", "slug": slug}
    body.update(extra)
    resp = send(api_client, "POST", "/admin/permissions", org, body=body,
                types={"201": "AdminPermissionsCreateResponse"})
    assert resp.status_code == 201 and resp.data is not None
    return resp.data.data


# --- OAuth / OIDC helpers (clients, browser sign-in, token endpoint, JWTs) ------------------

import base64
import hashlib
import html
import re
import secrets
from urllib.parse import parse_qs, urlparse

import requests

from lumoauth_api_client import Configuration

PASSWORD = "Tr0ub4dor-and-horse-9"
REDIRECT_URI = "https://app.example.com/callback"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"
CIBA = "urn:openid:params:grant-type:ciba"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


def issuer(base: str, org: str) -> str:
    """The org's issuer URL, which is also the prefix of every org route."""
    return f"{base}/orgs/{org}/api/v1"


def bearer_client(base: str, token: str) -> ApiClient:
    """A generated client that authenticates with `Authorization: Bearer <token>` only."""
    return ApiClient(Configuration(host=base, access_token=token))


def create_oauth_client(api_client, org, **fields):
    """POST /admin/clients; returns the deserialized `CreateClientResponseData` (201).

    Defaults to a confidential authorization-code client with REDIRECT_URI."""
    body = {"name": fields.pop("name", None) or unique("client"),
            "redirectUris": fields.pop("redirectUris", [REDIRECT_URI])}
    body.update(fields)
    resp = send(api_client, "POST", "/admin/clients", org, body=body,
                types={"201": "CreateClientResponse"})
    assert resp.status_code == 201
    assert resp.data is not None and resp.data.data is not None
    return resp.data.data


def create_agent_client(api_client, org, **fields):
    """A confidential client that may only use client_credentials."""
    fields.setdefault("grantTypes", ["client_credentials"])
    fields.setdefault("redirectUris", [])
    return create_oauth_client(api_client, org, **fields)


def create_password_user(api_client, org, **fields):
    fields.setdefault("password", PASSWORD)
    fields.setdefault("name", "Pat Example")
    return create_user(api_client, org, **fields)


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def jwt_parts(token: str):
    """(header, payload) of a compact JWS, without verifying it."""
    head, payload, _sig = token.split(".")
    return json.loads(b64url_decode(head)), json.loads(b64url_decode(payload))


_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def verify_rs256(token: str, jwks: dict) -> dict:
    """Verifies an RS256 JWS against the JWKS (pure Python PKCS#1 v1.5); returns its payload."""
    header, payload = jwt_parts(token)
    assert header["alg"] == "RS256", header
    key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    assert key["kty"] == "RSA"
    n = int.from_bytes(b64url_decode(key["n"]), "big")
    e = int.from_bytes(b64url_decode(key["e"]), "big")
    signing_input = token.rsplit(".", 1)[0].encode()
    sig = int.from_bytes(b64url_decode(token.rsplit(".", 1)[1]), "big")
    k = (n.bit_length() + 7) // 8
    em = pow(sig, e, n).to_bytes(k, "big")
    digest = hashlib.sha256(signing_input).digest()
    expected = (b"\x00\x01" + b"\xff" * (k - 3 - len(_SHA256_DIGEST_INFO) - len(digest))
                + b"\x00" + _SHA256_DIGEST_INFO + digest)
    assert em == expected, "RS256 signature does not verify"
    return payload


def hidden_inputs(page: str) -> dict:
    """The hidden inputs of the (first) form of a hosted page."""
    return {html.unescape(k): html.unescape(v) for k, v in
            re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)}


def form_action(page: str) -> str:
    match = re.search(r'<form method="post" action="([^"]+)"', page)
    assert match, page[:2000]
    return html.unescape(match.group(1))


def query_of(location: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}


class OAuthHttp:
    """Raw HTTP against one org's protocol endpoints (what browsers and OAuth clients send)."""

    def __init__(self, base: str, org: str):
        self.base = base
        self.org = org
        self.issuer = issuer(base, org)

    def url(self, path: str) -> str:
        return self.issuer + path

    def token(self, form, *, basic=None, headers=None) -> requests.Response:
        return requests.post(self.url("/oauth/token"), data=form, auth=basic,
                             headers=headers, timeout=30)

    def post_form(self, path, form, *, basic=None, headers=None) -> requests.Response:
        return requests.post(self.url(path), data=form, auth=basic, headers=headers, timeout=30)

    def client_credentials(self, client, scope=None) -> dict:
        form = {"grant_type": "client_credentials"}
        if scope is not None:
            form["scope"] = scope
        resp = self.token(form, basic=(client.client_id, client.secret))
        assert resp.status_code == 200, resp.text
        return resp.json()

    def introspect(self, client, token, hint=None) -> dict:
        form = {"token": token}
        if hint:
            form["token_type_hint"] = hint
        resp = self.post_form("/oauth/introspect", form, basic=(client.client_id, client.secret))
        assert resp.status_code == 200, resp.text
        return resp.json()

    def login(self, email: str, password: str = PASSWORD) -> requests.Session:
        """Signs in through POST ~/oauth/login/json; the returned session holds the cookie."""
        browser = requests.Session()
        resp = browser.post(self.url("/oauth/login/json"),
                            json={"email": email, "password": password}, timeout=30)
        assert resp.status_code == 200, resp.text
        assert resp.json() == {"status": "complete"}, resp.text
        assert browser.cookies.get("lumo_session"), resp.headers
        return browser

    def authorize(self, browser: requests.Session, client_id: str, *, scope="openid profile email",
                  redirect_uri=REDIRECT_URI, consent="allow", extra=None):
        """Runs GET authorize (+ the consent form when shown) with PKCE S256.

        Returns (redirect query dict, code_verifier)."""
        verifier, challenge = pkce_pair()
        params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
                  "scope": scope, "state": secrets.token_urlsafe(8),
                  "nonce": secrets.token_urlsafe(8), "code_challenge": challenge,
                  "code_challenge_method": "S256"}
        params.update(extra or {})
        resp = browser.get(self.url("/oauth/authorize"), params=params, allow_redirects=False,
                           timeout=30)
        if resp.status_code == 200:
            assert 'name="consent"' in resp.text, resp.text[:3000]
            form = hidden_inputs(resp.text)
            assert form.get("_csrf"), resp.text[:3000]
            form["consent"] = consent
            resp = browser.post(self.base + form_action(resp.text), data=form,
                                allow_redirects=False, timeout=30)
        assert resp.status_code in (302, 303), (resp.status_code, resp.text[:2000])
        location = resp.headers["Location"]
        assert location.startswith(redirect_uri + "?"), location
        query = query_of(location)
        if "state" in params:
            assert query.get("state") == params["state"], query
        return query, verifier

    def code_tokens(self, browser, client, *, scope="openid profile email", nonce=None) -> dict:
        """Authorization code + PKCE with an already signed-in browser; returns the token JSON."""
        extra = {"nonce": nonce} if nonce else None
        query, verifier = self.authorize(browser, client.client_id, scope=scope, extra=extra)
        assert "code" in query, query
        resp = self.token({"grant_type": "authorization_code", "code": query["code"],
                           "redirect_uri": REDIRECT_URI, "code_verifier": verifier},
                          basic=(client.client_id, client.secret))
        assert resp.status_code == 200, resp.text
        return resp.json()


def oauth_error(resp: requests.Response, status: int, error: str) -> dict:
    """Checks an RFC 6749 error response (JSON {"error", "error_description"})."""
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert "application/json" in resp.headers.get("Content-Type", ""), resp.headers
    body = resp.json()
    assert body.get("error") == error, body
    assert isinstance(body.get("error_description", ""), str)
    return body
