"""SAML 2.0 service provider mode: users sign in through an upstream SAML IdP, played by
pysaml2 (`saml2.server.Server`, a real IdP with a key and self-signed certificate of its own
made with `openssl`, and the org's SP metadata loaded).

The browser is a `requests.Session`: it asks `~saml/sp/login/{idpId}` to start, reads the 302
to the IdP's SSO URL (never fetched: the IdP parses the HTTP-Redirect AuthnRequest from the
Location), and posts what the IdP answers (`create_authn_response`, signed RSA-SHA256 with
SHA-256 digests) to the ACS with the RelayState, as the IdP's auto-posting form would.

Covered: the admin API of upstream IdPs (`~/admin/saml/idps`: create from fields and from
IdP metadata, get, list, PATCH, PUT, delete, 401/404/409/422, another org); the SP metadata
(loaded by pysaml2 as an SP entity); the signed login redirect; JIT provisioning with an
OAuth authorization request carried through to a code and an ID token; linking an existing
user by email (and not when trustEmail is off); JIT off; the attribute mapping; deleting an
IdP removes its links; and the responses the ACS must refuse: replayed, unsigned, signed by
another key, tampered after signing, XML comment in the NameID, DOCTYPE/XXE/billion laughs,
signature wrapping, wrong audience / issuer / destination / recipient / InResponseTo, not
Success, expired or not yet valid, encrypted, a missing or foreign login cookie, an unknown
RelayState, a disabled IdP. A refusal sets no `lumo_session`, sends the browser to the login
page with `login_error=` (or answers a 400 page), and creates and links nobody.
"""

import base64
import json
import re
import secrets
import time
import types
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urljoin, urlparse

import pytest
import requests
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, class_name, saml, samlp
from saml2.config import IdPConfig
from saml2.metadata import create_metadata_string
from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server
from saml2.sigver import pre_signature_part, signed_instance_factory
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

from lumoauth_api_client import ApiClient, Configuration
from lumoauth_api_client.exceptions import ApiException, UnauthorizedException

from saml_helpers import (
    NS, children, der_of, inflate_b64, instant, make_keypair, redirect_signature_ok,
    refused_admin, xml,
)
from org_fixtures import own_org_fixtures
from lumo_helpers import (
    REDIRECT_URI, create_oauth_client, create_password_user, error_body, form_action,
    hidden_inputs, pkce_pair, query_of, send, unique, verify_rs256,
)

lumod, api_client, org, oauth, new_org = own_org_fixtures("samlsp", "SAML SP tests")

XMLSEC = "/usr/bin/xmlsec1"
IDPS = "/admin/saml/idps"
IDP_ONE = "/admin/saml/idps/{idpId}"
OWN_IDP = "/admin/saml/idp"
TIMEOUT = 30
SKEW_S = 180

AUTHN = {"class_ref": "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"}
ASSERTION_CLASS = class_name(saml.Assertion())
RESPONSE_CLASS = class_name(samlp.Response())


# --- keys, certificates, XML ------------------------------------------------------------------

def stamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def b64(text) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def without_declaration(document: str) -> str:
    return re.sub(r"^<\?xml[^>]*\?>\s*", "", document)


def unique_address(local: str, domain: str = "corp.test") -> str:
    return f"{local}.{uuid.uuid4().hex[:10]}@{domain}"


# --- the service provider (this org) ----------------------------------------------------------

def sp_of(lumod, api_client, org):
    """The org's SP as published: metadata XML, entity id, ACS, and `~/admin/saml/idp`."""
    base = f"{lumod.base}/orgs/{org}/saml/sp"
    resp = requests.get(base + "/metadata", timeout=TIMEOUT)
    assert resp.status_code == 200, (resp.status_code, resp.text[:2000])
    admin = send(api_client, "GET", OWN_IDP, org)
    assert admin.status_code == 200, admin.raw_data
    return types.SimpleNamespace(
        lumod=lumod, org=org, api_client=api_client, base=base,
        entity_id=base + "/metadata", acs=base + "/acs", login=base + "/login",
        slo=base + "/slo", metadata=resp.text, metadata_response=resp,
        certificate=json.loads(admin.raw_data)["data"]["certificate"])


@pytest.fixture(scope="module")
def sp(lumod, api_client, org):
    return sp_of(lumod, api_client, org)


@pytest.fixture(scope="module")
def foreign_sp(new_org):
    """The SP of another org of the same server (an audience that is not ours)."""
    other = new_org()
    return sp_of(other.lumod, other.client, other.slug)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    directory = tmp_path_factory.mktemp("saml-sp-keys")
    return types.SimpleNamespace(idp=make_keypair(directory, "idp", "idp.example.test"),
                                 other=make_keypair(directory, "intruder", "idp.example.test"))


# --- the upstream identity provider (pysaml2) -------------------------------------------------

class UpstreamIdP:
    """A pysaml2 IdP with one HTTP-Redirect SSO endpoint that knows the SP(s) by metadata.

    `verify_requests` makes pysaml2 itself check the Redirect-binding signature of the
    AuthnRequests (against the SP metadata's certificate)."""

    def __init__(self, keypair, sp_metadata, *, entity_id=None, sso=None,
                 verify_requests=False):
        host = f"idp-{uuid.uuid4().hex[:10]}.example.test"
        self.entity_id = entity_id or f"https://{host}/metadata"
        self.sso = sso or f"https://{host}/sso"
        self.slo = f"https://{host}/slo"
        self.keypair = keypair
        documents = sp_metadata if isinstance(sp_metadata, (list, tuple)) else [sp_metadata]
        self.config = IdPConfig().load({
            "entityid": self.entity_id,
            "service": {"idp": {
                "endpoints": {"single_sign_on_service": [(self.sso, BINDING_HTTP_REDIRECT)],
                              "single_logout_service": [(self.slo, BINDING_HTTP_REDIRECT)]},
                "name_id_format": [NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_PERSISTENT],
                "want_authn_requests_signed": verify_requests,
                # pysaml2 reads these per entity type; at the top level they are ignored
                # and it signs with RSA-SHA1.
                "signing_algorithm": SIG_RSA_SHA256,
                "digest_algorithm": DIGEST_SHA256,
                "policy": {"default": {"lifetime": {"minutes": 5},
                                       "attribute_restrictions": None}},
            }},
            "key_file": keypair.key,
            "cert_file": keypair.cert,
            "xmlsec_binary": XMLSEC,
            "metadata": {"inline": list(documents)},
            "accepted_time_diff": 10,
        })
        self.server = Server(config=self.config)

    def metadata_xml(self) -> str:
        text = create_metadata_string(None, config=self.config, sign=False)
        return text.decode() if isinstance(text, bytes) else text

    def fields(self, **extra) -> dict:
        body = {"name": unique("Upstream IdP"), "entityId": self.entity_id, "ssoUrl": self.sso,
                "certificate": self.keypair.pem}
        body.update(extra)
        return body

    # -- the request --

    def parse(self, location: str, signed=True):
        """The AuthnRequest of a Redirect-binding URL, as pysaml2 parses it."""
        query = {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}
        kwargs = {}
        if signed:
            kwargs = {"relay_state": query.get("RelayState"), "sigalg": query.get("SigAlg"),
                      "signature": query.get("Signature")}
        parsed = self.server.parse_authn_request(query["SAMLRequest"], BINDING_HTTP_REDIRECT,
                                                 **kwargs)
        assert parsed is not None, location
        return parsed

    # -- the answer --

    def answer(self, login, name_id: str, identity=None, *, sign_response=True,
               sign_assertion=True, mutate=None, sp_entity_id=None, destination=None,
               in_response_to=None, encrypt_cert=None, name_id_format=None) -> str:
        """The Response XML for `login`. With `mutate`, pysaml2 builds it unsigned, `mutate`
        changes the `samlp.Response`, and it is signed as pysaml2 would have signed it."""
        identity = identity if identity is not None else {}
        kwargs = dict(
            identity=identity,
            in_response_to=in_response_to or login.request_id,
            destination=destination or login.acs,
            sp_entity_id=sp_entity_id or login.sp.entity_id,
            name_id=NameID(format=name_id_format or NAMEID_FORMAT_EMAILADDRESS, text=name_id),
            authn=AUTHN, sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256)
        if encrypt_cert is not None:
            kwargs.update(encrypt_assertion=True, encrypt_cert_assertion=encrypt_cert)
        if mutate is None:
            made = self.server.create_authn_response(
                sign_response=sign_response, sign_assertion=sign_assertion, **kwargs)
            return made if isinstance(made, str) else str(made)
        response = self.server.create_authn_response(sign_response=False, sign_assertion=False,
                                                     **kwargs)
        assert isinstance(response, samlp.Response), type(response)
        mutate(response)
        return self.sign(response, sign_response=sign_response, sign_assertion=sign_assertion)

    def sign(self, response, *, sign_response=True, sign_assertion=True) -> str:
        to_sign = []
        if sign_assertion:
            response.assertion.signature = pre_signature_part(
                response.assertion.id, self.server.sec.my_cert, 2, sign_alg=SIG_RSA_SHA256,
                digest_alg=DIGEST_SHA256)
            to_sign.append((ASSERTION_CLASS, response.assertion.id))
        if sign_response:
            response.signature = pre_signature_part(
                response.id, self.server.sec.my_cert, 1, sign_alg=SIG_RSA_SHA256,
                digest_alg=DIGEST_SHA256)
            to_sign.append((RESPONSE_CLASS, response.id))
        if not to_sign:
            text = response.to_string()
            return text.decode() if isinstance(text, bytes) else text
        return signed_instance_factory(response, self.server.sec, to_sign)

    def logout_request(self, sp, name_id: str, *, binding=BINDING_HTTP_REDIRECT, sign=True,
                       relay_state="slo-rs", issuer=None):
        """A LogoutRequest for `name_id` to the SP: (request id, URL) for the Redirect binding
        (signed over the query), (request id, form) for the POST one (signed XML)."""
        req_id, request = self.server.create_logout_request(
            destination=sp.slo, issuer_entity_id=sp.entity_id,
            name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text=name_id),
            sign=sign and binding == BINDING_HTTP_POST, sign_alg=SIG_RSA_SHA256,
            digest_alg=DIGEST_SHA256)
        text = request if isinstance(request, str) else str(request)
        if issuer is not None:
            text = text.replace(f">{self.entity_id}<", f">{issuer}<")
        if binding == BINDING_HTTP_POST:
            return req_id, {"SAMLRequest": b64(text), "RelayState": relay_state}
        info = self.server.apply_binding(BINDING_HTTP_REDIRECT, text, destination=sp.slo,
                                         relay_state=relay_state, response=False,
                                         sign=sign, sigalg=SIG_RSA_SHA256 if sign else None)
        return req_id, dict(info["headers"])["Location"]

    def signature_ok(self, document: str, node_class: str, node_id: str) -> bool:
        """Whether xmlsec (through pysaml2) finds the enveloped signature of that node valid
        against this IdP's certificate."""
        try:
            return bool(self.server.sec.verify_signature(
                document, cert_file=self.keypair.cert, node_name=node_class, node_id=node_id))
        except Exception:
            return False


def identity_of(email, given="Grace", family="Hopper") -> dict:
    """What the IdP asserts (pysaml2 names them urn:oid:... with FriendlyName mail etc.)."""
    return {"mail": [email], "givenName": [given], "sn": [family]}


@pytest.fixture(scope="module")
def make_idp(sp, keys):
    def make(keypair=None, **options) -> UpstreamIdP:
        return UpstreamIdP(keypair or keys.idp, sp.metadata, **options)
    return make


# --- the admin API ------------------------------------------------------------------------------

def create_idp(api_client, org, body: dict) -> dict:
    resp = send(api_client, "POST", IDPS, org, body=body)
    assert resp.status_code == 201, (resp.status_code, resp.raw_data)
    return json.loads(resp.raw_data)["data"]


def get_idp(api_client, org, idp_id) -> dict:
    resp = send(api_client, "GET", IDP_ONE, org, path_params={"idpId": str(idp_id)})
    assert resp.status_code == 200, (resp.status_code, resp.raw_data)
    return json.loads(resp.raw_data)["data"]


def update_idp(api_client, org, idp_id, body: dict, method="PATCH") -> dict:
    resp = send(api_client, method, IDP_ONE, org, path_params={"idpId": str(idp_id)},
                body=body)
    assert resp.status_code == 200, (resp.status_code, resp.raw_data)
    return json.loads(resp.raw_data)["data"]


def list_idps(api_client, org) -> dict:
    resp = send(api_client, "GET", IDPS, org)
    assert resp.status_code == 200, (resp.status_code, resp.raw_data)
    page = json.loads(resp.raw_data)
    assert isinstance(page["data"], list), page
    assert "pagination" in page, page.keys()
    return page


def invalid(api_client, org, body: dict, field: str, method="POST", idp_id=None) -> dict:
    path = IDPS if idp_id is None else IDP_ONE
    params = None if idp_id is None else {"idpId": str(idp_id)}
    body_ = refused_admin(lambda: send(api_client, method, path, org, body=body,
                                       path_params=params), 422, "validation_error")
    details = body_.get("details")
    assert isinstance(details, dict) and field in details, (body, body_)
    return details


def registered(api_client, org, upstream: UpstreamIdP, **fields) -> dict:
    return create_idp(api_client, org, upstream.fields(**fields))


def all_users(api_client, org) -> list:
    """(id, email) of every user of the org, sorted."""
    seen, page = [], 1
    while True:
        resp = send(api_client, "GET", "/admin/users", org,
                    query={"page": str(page), "limit": "100"})
        body = json.loads(resp.raw_data)
        seen.extend((u["id"], u["email"]) for u in body["data"])
        meta = body.get("pagination") or body.get("meta")
        if not body["data"] or len(seen) >= meta["total"]:
            return sorted(seen)
        page += 1


def user_by_email(api_client, org, email) -> dict:
    matches = [uid for uid, mail in all_users(api_client, org) if mail == email]
    assert len(matches) == 1, (email, matches)
    resp = send(api_client, "GET", "/admin/users/{userId}", org,
                path_params={"userId": matches[0]})
    assert resp.status_code == 200, resp.raw_data
    return json.loads(resp.raw_data)["data"]


def saml_links(api_client, org, user_id) -> list:
    resp = send(api_client, "GET", "/admin/users/{userId}/identities", org,
                path_params={"userId": user_id})
    assert resp.status_code == 200, (resp.status_code, resp.raw_data)
    data = json.loads(resp.raw_data)["data"]
    return [{"idp_id": b.get("idp_id"), "name_id": b.get("name_id")}
            for b in data["bindings"] if b.get("type") == "saml"]


# --- the browser ------------------------------------------------------------------------------

def raw_query(url: str) -> dict:
    """The query parameters of a URL, values exactly as they appear (still percent-encoded)."""
    out = {}
    for part in urlparse(url).query.split("&"):
        key, _, value = part.partition("=")
        out[key] = value
    return out


def start_login(sp, upstream: UpstreamIdP, idp_id, browser=None, params=None, path=None,
                verify=True):
    """GET ~saml/sp/login/{idpId}: the 302 to the IdP, the cookie, and the AuthnRequest as
    the IdP parses it."""
    browser = browser if browser is not None else requests.Session()
    url = path or f"{sp.login}/{idp_id}"
    resp = browser.get(url, params=params, allow_redirects=False, timeout=TIMEOUT)
    assert resp.status_code == 302, (resp.status_code, resp.headers, resp.text[:2000])
    location = resp.headers["Location"]
    assert location.startswith(upstream.sso + "?"), (location, upstream.sso)
    assert browser.cookies.get("lumo_saml_sp"), resp.headers
    query = {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}
    parsed = upstream.parse(location)
    message = parsed.message
    if verify:
        assert message.issuer.text == sp.entity_id, message.issuer
        assert message.assertion_consumer_service_url == sp.acs, message
        assert message.protocol_binding == BINDING_HTTP_POST, message
        assert message.id, message
    return types.SimpleNamespace(
        browser=browser, location=location, query=query, relay_state=query.get("RelayState"),
        request=message, request_id=message.id, acs=sp.acs, sp=sp, start=resp,
        cookie=browser.cookies.get("lumo_saml_sp"))


def post_acs(login, document: str, relay_state=None, browser=None, saml_response=None):
    """What the IdP's auto-posting form sends to the ACS."""
    browser = browser if browser is not None else login.browser
    form = {"SAMLResponse": saml_response if saml_response is not None else b64(document)}
    state = login.relay_state if relay_state is None else relay_state
    if state:
        form["RelayState"] = state
    return browser.post(login.acs, data=form, allow_redirects=False, timeout=TIMEOUT)


def session_cookies_set(resp: requests.Response) -> list:
    """The non-empty lumo_session values this response sets."""
    values = []
    for header in resp.raw.headers.getlist("Set-Cookie"):
        name, _, rest = header.partition("=")
        value = rest.split(";", 1)[0].strip()
        if name.strip() == "lumo_session" and value:
            values.append(value)
    return values


def assert_refused(sp, resp: requests.Response, browser=None) -> str:
    """No session, and either the login page with login_error= or a 400 page.
    Returns the login_error code (or "400")."""
    assert not session_cookies_set(resp), resp.headers
    if browser is not None:
        assert not browser.cookies.get("lumo_session"), browser.cookies
    if resp.status_code == 400:
        return "400"
    assert resp.status_code in (302, 303), (resp.status_code, resp.headers, resp.text[:2000])
    target = urljoin(sp.lumod.base + "/", resp.headers["Location"])
    assert urlparse(target).netloc == urlparse(sp.lumod.base).netloc, target
    assert urlparse(target).path.startswith(f"/orgs/{sp.org}/"), target
    assert not target.startswith(REDIRECT_URI), target
    query = query_of(target)
    assert query.get("login_error", "").startswith("saml"), target
    assert "code" not in query, target
    return query["login_error"]


def assert_signed_in_page(resp: requests.Response, browser):
    """The ACS's answer without a carried authorization request."""
    assert resp.status_code == 200, (resp.status_code, resp.headers, resp.text[:2000])
    assert "Signed in" in resp.text, resp.text[:2000]
    assert session_cookies_set(resp), resp.headers
    assert browser.cookies.get("lumo_session")


def authorization_params(client, **extra):
    verifier, challenge = pkce_pair()
    params = {"response_type": "code", "client_id": client.client_id,
              "redirect_uri": REDIRECT_URI, "scope": "openid profile email",
              "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8),
              "code_challenge": challenge, "code_challenge_method": "S256"}
    params.update(extra)
    return params, verifier


def continue_authorization(lumod, org, oauth, browser, resp, client, params, verifier) -> dict:
    """From the ACS's redirect to the authorization endpoint, through consent, to the code
    and its tokens; returns the token JSON."""
    assert resp.status_code in (302, 303), (resp.status_code, resp.headers, resp.text[:2000])
    target = urljoin(lumod.base + "/", resp.headers["Location"])
    assert urlparse(target).netloc == urlparse(lumod.base).netloc, target
    assert urlparse(target).path == f"/orgs/{org}/api/v1/oauth/authorize", target
    carried = query_of(target)
    for key in ("client_id", "redirect_uri", "state", "nonce", "code_challenge"):
        assert carried.get(key) == params[key], (key, carried)
    step = browser.get(target, allow_redirects=False, timeout=TIMEOUT)
    if step.status_code == 200:
        assert 'name="consent"' in step.text, step.text[:3000]
        form = hidden_inputs(step.text)
        form["consent"] = "allow"
        step = browser.post(lumod.base + form_action(step.text), data=form,
                            allow_redirects=False, timeout=TIMEOUT)
    assert step.status_code in (302, 303), (step.status_code, step.text[:2000])
    location = step.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?"), location
    query = query_of(location)
    assert query.get("state") == params["state"], query
    assert "code" in query, query
    tokens = oauth.token({"grant_type": "authorization_code", "code": query["code"],
                          "redirect_uri": REDIRECT_URI, "code_verifier": verifier},
                         basic=(client.client_id, client.secret))
    assert tokens.status_code == 200, tokens.text
    return tokens.json()


def jwks(oauth) -> dict:
    resp = requests.get(oauth.url("/.well-known/jwks.json"), timeout=TIMEOUT)
    assert resp.status_code == 200, resp.text
    return resp.json()


def sign_in(sp, upstream, idp_id, name_id, identity, **answer) -> requests.Session:
    """A complete login without an authorization request: the signed-in browser."""
    login = start_login(sp, upstream, idp_id)
    resp = post_acs(login, upstream.answer(login, name_id, identity, **answer))
    assert_signed_in_page(resp, login.browser)
    return login.browser


def session_user(oauth, api_client, org, browser) -> dict:
    """Who the browser's session is: the claims of an ID token it gets for a new client."""
    client = create_oauth_client(api_client, org)
    tokens = oauth.code_tokens(browser, client)
    return verify_rs256(tokens["id_token"], jwks(oauth))


# --- admin API ----------------------------------------------------------------------------------

def test_create_by_fields_defaults_get_list_patch_put_delete(lumod, api_client, org, sp,
                                                             make_idp, keys):
    upstream = make_idp()
    before = datetime.now(timezone.utc) - timedelta(seconds=5)
    idp = registered(api_client, org, upstream)
    assert isinstance(idp["id"], int) and not isinstance(idp["id"], bool) and idp["id"] > 0
    assert (idp["entityId"], idp["ssoUrl"]) == (upstream.entity_id, upstream.sso), idp
    assert idp["certificate"].startswith("-----BEGIN CERTIFICATE-----"), idp
    assert der_of(idp["certificate"]) == keys.idp.der
    assert (idp["jitProvisioning"], idp["trustEmail"], idp["enabled"]) == (True, True, True)
    assert idp["spEntityId"] == sp.entity_id
    assert idp["acsUrl"] == sp.acs
    assert idp["loginUrl"] == f"{sp.login}/{idp['id']}"
    assert "metadataXml" not in idp
    created = instant(idp["createdAt"])
    assert before <= created <= datetime.now(timezone.utc) + timedelta(seconds=5)
    assert instant(idp["updatedAt"]) >= created

    assert get_idp(api_client, org, idp["id"]) == idp
    page = list_idps(api_client, org)
    assert [i for i in page["data"] if i["id"] == idp["id"]] == [idp]

    patched = update_idp(api_client, org, idp["id"], {"name": "Renamed IdP",
                                                       "trustEmail": False})
    assert (patched["name"], patched["trustEmail"]) == ("Renamed IdP", False)
    untouched = {k: v for k, v in idp.items() if k not in ("name", "trustEmail", "updatedAt")}
    assert {k: patched[k] for k in untouched} == untouched
    assert instant(patched["updatedAt"]) >= instant(idp["updatedAt"])
    assert get_idp(api_client, org, idp["id"]) == patched

    # PUT: the fields sent change, the others keep their values.
    mapping = {"email": "corpMail"}
    put = update_idp(api_client, org, idp["id"], {"jitProvisioning": False,
                                                   "attributeMapping": mapping}, method="PUT")
    assert (put["jitProvisioning"], put["attributeMapping"]) == (False, mapping), put
    assert (put["name"], put["trustEmail"], put["entityId"]) == (
        "Renamed IdP", False, upstream.entity_id)
    assert get_idp(api_client, org, idp["id"]) == put

    resp = send(api_client, "DELETE", IDP_ONE, org, path_params={"idpId": str(idp["id"])})
    assert resp.status_code == 200, (resp.status_code, resp.raw_data)
    assert json.loads(resp.raw_data)["message"] == "SAML identity provider deleted"
    for method in ("GET", "DELETE"):
        refused_admin(lambda: send(api_client, method, IDP_ONE, org,
                                   path_params={"idpId": str(idp["id"])}),
                      404, "resource_not_found")
    assert idp["id"] not in [i["id"] for i in list_idps(api_client, org)["data"]]


def test_create_from_idp_metadata(api_client, org, make_idp, keys):
    upstream = make_idp()
    metadata = upstream.metadata_xml()
    assert "IDPSSODescriptor" in metadata and upstream.sso in metadata, metadata
    idp = create_idp(api_client, org, {"name": "From metadata", "metadataXml": metadata})
    assert (idp["entityId"], idp["ssoUrl"]) == (upstream.entity_id, upstream.sso), idp
    assert der_of(idp["certificate"]) == keys.idp.der
    assert "metadataXml" not in idp
    assert get_idp(api_client, org, idp["id"]) == idp

    # The certificate as bare base64 DER is accepted and echoed as PEM.
    other = make_idp(keys.other)
    idp = create_idp(api_client, org, other.fields(
        certificate=base64.b64encode(keys.other.der).decode(), jitProvisioning=False,
        trustEmail=False, enabled=False))
    assert idp["certificate"].startswith("-----BEGIN CERTIFICATE-----"), idp
    assert der_of(idp["certificate"]) == keys.other.der
    assert (idp["jitProvisioning"], idp["trustEmail"], idp["enabled"]) == (False, False, False)


def test_duplicate_entity_id_is_409(api_client, org, make_idp):
    upstream = make_idp()
    first = registered(api_client, org, upstream)
    refused_admin(lambda: send(api_client, "POST", IDPS, org, body=upstream.fields()),
                  409, "duplicate_resource")
    refused_admin(lambda: send(api_client, "POST", IDPS, org, body={
        "name": "Same IdP", "metadataXml": upstream.metadata_xml()}), 409, "duplicate_resource")
    second = registered(api_client, org, make_idp())
    refused_admin(lambda: send(api_client, "PATCH", IDP_ONE, org,
                               path_params={"idpId": str(second["id"])},
                               body={"entityId": upstream.entity_id}), 409, "duplicate_resource")
    assert [i["id"] for i in list_idps(api_client, org)["data"]
            if i["entityId"] == upstream.entity_id] == [first["id"]]


def test_unknown_idp_is_404(api_client, org):
    params = {"idpId": "987654321"}
    for method, body in (("GET", None), ("PATCH", {"name": "x"}), ("PUT", {"name": "x"}),
                         ("DELETE", None)):
        refused_admin(lambda: send(api_client, method, IDP_ONE, org, path_params=params,
                                   body=body), 404, "resource_not_found")


@pytest.mark.parametrize("change, field", [
    ({"name": None}, "name"),
    ({"entityId": None}, "entityId"),
    ({"ssoUrl": None}, "ssoUrl"),
    ({"ssoUrl": "javascript:alert(1)"}, "ssoUrl"),
    ({"ssoUrl": "not a url"}, "ssoUrl"),
    ({"certificate": None}, "certificate"),
    ({"certificate": "not a certificate"}, "certificate"),
    ({"jitProvisioning": "yes"}, "jitProvisioning"),
    ({"trustEmail": 1}, "trustEmail"),
    ({"enabled": "no"}, "enabled"),
    ({"attributeMapping": ["email"]}, "attributeMapping"),
    ({"attributeMapping": {"password_hash": "pw"}}, "attributeMapping"),
])
def test_invalid_bodies_are_422(api_client, org, make_idp, change, field):
    upstream = make_idp()
    body = {k: v for k, v in {**upstream.fields(), **change}.items() if v is not None}
    invalid(api_client, org, body, field)
    assert upstream.entity_id not in {i["entityId"] for i in list_idps(api_client, org)["data"]}


def test_bad_metadata_is_422(api_client, org, make_idp, sp):
    upstream = make_idp()
    body_xml = without_declaration(upstream.metadata_xml())
    root_tag = re.match(r"<([\w:]+)", body_xml).group(1)
    doctype = (f'<?xml version="1.0"?>\n<!DOCTYPE {root_tag} [\n  <!ENTITY x "y">\n]>\n'
               + body_xml)
    external = (f'<?xml version="1.0"?>\n<!DOCTYPE {root_tag} [\n'
                f'  <!ENTITY x SYSTEM "file:///etc/passwd">\n]>\n' + body_xml)
    for metadata in (doctype, external, "<md:EntityDescriptor", "not xml at all",
                     '<foo xmlns="urn:example"/>',
                     sp.metadata):  # an SP's metadata: no IDPSSODescriptor
        invalid(api_client, org, {"name": "Bad metadata", "metadataXml": metadata},
                "metadataXml")
    assert upstream.entity_id not in {i["entityId"] for i in list_idps(api_client, org)["data"]}


def test_patch_with_wrong_types_is_422(api_client, org, make_idp):
    idp = registered(api_client, org, make_idp())
    invalid(api_client, org, {"enabled": "yes"}, "enabled", "PATCH", idp["id"])
    invalid(api_client, org, {"certificate": "garbage"}, "certificate", "PATCH", idp["id"])
    assert get_idp(api_client, org, idp["id"]) == idp


def test_without_credential_is_401(lumod, api_client, org, make_idp):
    idp = registered(api_client, org, make_idp())
    anonymous = ApiClient(Configuration(host=lumod.base))
    params = {"idpId": str(idp["id"])}
    for method, path, p, body in (
            ("GET", IDPS, None, None), ("POST", IDPS, None, make_idp().fields()),
            ("GET", IDP_ONE, params, None), ("PATCH", IDP_ONE, params, {"name": "x"}),
            ("PUT", IDP_ONE, params, {"name": "x"}), ("DELETE", IDP_ONE, params, None)):
        with pytest.raises(UnauthorizedException) as info:
            send(anonymous, method, path, org, path_params=p, body=body, auth=())
        assert error_body(info.value)["status"] == 401
    assert get_idp(api_client, org, idp["id"]) == idp


def test_another_orgs_key_cannot_see_the_idp(api_client, org, make_idp, new_org):
    upstream = make_idp()
    idp = registered(api_client, org, upstream)
    other = new_org()
    params = {"idpId": str(idp["id"])}
    for method, path, p, body in (("GET", IDP_ONE, params, None), ("GET", IDPS, None, None),
                                  ("PATCH", IDP_ONE, params, {"name": "stolen"}),
                                  ("DELETE", IDP_ONE, params, None)):
        with pytest.raises(ApiException) as info:
            send(other.client, method, path, org, path_params=p, body=body)
        assert info.value.status in (401, 403, 404), (info.value.status, info.value.body)
        error_body(info.value)
    # Through its own org the key finds no such IdP, and may register the same entityId.
    refused_admin(lambda: send(other.client, "GET", IDP_ONE, other.slug, path_params=params),
                  404, "resource_not_found")
    assert list_idps(other.client, other.slug)["data"] == []
    theirs = create_idp(other.client, other.slug, upstream.fields())
    assert theirs["entityId"] == upstream.entity_id
    assert theirs["spEntityId"] == f"{other.lumod.base}/orgs/{other.slug}/saml/sp/metadata"
    assert get_idp(api_client, org, idp["id"]) == idp


# --- SP metadata ------------------------------------------------------------------------------

def test_sp_metadata_loads_in_pysaml2(lumod, org, sp, make_idp):
    resp = sp.metadata_response
    assert resp.headers["Content-Type"].split(";")[0].strip() == "application/samlmetadata+xml"
    root = xml(resp.content)
    assert root.tag == f"{{{NS['md']}}}EntityDescriptor", root.tag
    assert root.get("entityID") == sp.entity_id == f"{lumod.base}/orgs/{org}/saml/sp/metadata"
    descriptors = children(root, "md:SPSSODescriptor")
    assert len(descriptors) == 1, resp.text
    assert descriptors[0].get("AuthnRequestsSigned") == "true", descriptors[0].attrib
    assert descriptors[0].get("WantAssertionsSigned") == "true", descriptors[0].attrib

    # pysaml2 (an IdP that loaded it) knows the entity as a service provider.
    mds = make_idp().server.metadata
    assert sp.entity_id in mds.service_providers()
    acs = mds.assertion_consumer_service(sp.entity_id, BINDING_HTTP_POST)
    assert [a["location"] for a in acs] == [sp.acs], acs
    descriptor = mds[sp.entity_id]["spsso_descriptor"][0]
    assert str(descriptor.get("authn_requests_signed")).lower() == "true", descriptor
    certs = mds.certs(sp.entity_id, "spsso", use="signing")
    assert certs, certs
    # The signing certificate is the org's SAML certificate (~/admin/saml/idp).
    assert {der_of(c[1]) for c in certs} == {der_of(sp.certificate)}


# --- the login redirect -----------------------------------------------------------------------

def test_login_redirect_is_a_signed_authn_request(api_client, org, sp, make_idp):
    upstream = make_idp(verify_requests=True)
    idp = registered(api_client, org, upstream)
    login = start_login(sp, upstream, idp["id"])  # pysaml2 verified the signature too
    location = login.location
    assert set(login.query) == {"SAMLRequest", "RelayState", "SigAlg", "Signature"}, location
    assert login.query["SigAlg"] == SIG_RSA_SHA256
    assert login.relay_state
    assert redirect_signature_ok(location, sp.certificate), location
    # The signature covers the RelayState: another one does not verify.
    raw = raw_query(location)
    forged = location.replace(f"RelayState={raw['RelayState']}",
                              f"RelayState={raw['RelayState']}x")
    assert forged != location and not redirect_signature_ok(forged, sp.certificate)

    request = xml(inflate_b64(login.query["SAMLRequest"]))
    assert request.tag == f"{{{NS['samlp']}}}AuthnRequest", request.tag
    assert [i.text for i in children(request, "saml:Issuer")] == [sp.entity_id]
    assert request.get("AssertionConsumerServiceURL") == sp.acs
    assert request.get("ProtocolBinding") == BINDING_HTTP_POST
    assert request.get("ID") == login.request_id
    assert not children(request, "ds:Signature")  # Redirect binding: signed in the query
    issued = instant(request.get("IssueInstant"))
    assert abs((datetime.now(timezone.utc) - issued).total_seconds()) < 60

    # Every login is a new request with a new RelayState and cookie.
    again = start_login(sp, upstream, idp["id"])
    assert again.request_id != login.request_id
    assert again.relay_state != login.relay_state
    assert again.cookie != login.cookie


def test_login_with_the_only_idp_and_with_the_idp_parameter(lumod, new_org, keys):
    other = new_org()
    other_sp = sp_of(other.lumod, other.client, other.slug)
    upstream = UpstreamIdP(keys.idp, other_sp.metadata)
    idp = registered(other.client, other.slug, upstream)
    # A disabled second IdP does not count: the only enabled one is chosen.
    registered(other.client, other.slug, UpstreamIdP(keys.idp, other_sp.metadata),
               enabled=False)
    login = start_login(other_sp, upstream, idp["id"], path=other_sp.login)
    assert login.request.issuer.text == other_sp.entity_id
    login = start_login(other_sp, upstream, idp["id"], path=other_sp.login,
                        params={"idp": str(idp["id"])})
    email = unique_address("only")
    resp = post_acs(login, upstream.answer(login, email, identity_of(email)))
    assert_signed_in_page(resp, login.browser)


def test_login_with_an_unknown_or_disabled_idp_is_refused(lumod, api_client, org, sp,
                                                         make_idp):
    client = create_oauth_client(api_client, org)
    params, _ = authorization_params(client)
    disabled = registered(api_client, org, make_idp(), enabled=False)
    for idp_id in ("987654321", str(disabled["id"])):
        # With an authorization request to go back to: the login page with login_error.
        browser = requests.Session()
        resp = browser.get(f"{sp.login}/{idp_id}", params=params, allow_redirects=False,
                           timeout=TIMEOUT)
        assert resp.status_code == 302, (resp.status_code, resp.text[:2000])
        assert assert_refused(sp, resp, browser) != "400"
        target = query_of(urljoin(lumod.base + "/", resp.headers["Location"]))
        assert target.get("client_id") == client.client_id, target
        # Without one: a 400 page, or the login page.
        resp = requests.get(f"{sp.login}/{idp_id}", allow_redirects=False, timeout=TIMEOUT)
        assert_refused(sp, resp)


# --- signing in -------------------------------------------------------------------------------

def test_jit_login_carries_the_authorization_request_to_a_code(lumod, api_client, org, oauth,
                                                               sp, make_idp):
    upstream = make_idp()
    idp = registered(api_client, org, upstream)
    client = create_oauth_client(api_client, org)
    email = unique_address("grace")
    before = all_users(api_client, org)
    assert email not in {mail for _, mail in before}

    params, verifier = authorization_params(client)
    login = start_login(sp, upstream, idp["id"], params=params)
    document = upstream.answer(login, email, identity_of(email, "Grace", "Hopper"))
    resp = post_acs(login, document)
    assert session_cookies_set(resp), (resp.status_code, resp.headers, resp.text[:2000])
    tokens = continue_authorization(lumod, org, oauth, login.browser, resp, client, params,
                                    verifier)
    claims = verify_rs256(tokens["id_token"], jwks(oauth))
    assert claims["email"] == email
    assert claims["nonce"] == params["nonce"]
    assert claims["iss"] == oauth.issuer

    # Provisioned: one new user with the asserted attributes, linked to (IdP, NameID).
    after = all_users(api_client, org)
    assert len(after) == len(before) + 1
    user = user_by_email(api_client, org, email)
    assert claims["sub"] == user["id"]
    assert (user["givenName"], user["familyName"]) == ("Grace", "Hopper"), user
    assert saml_links(api_client, org, user["id"]) == [{"idp_id": idp["id"],
                                                        "name_id": email}]

    # A second login (a new browser) with the same NameID is the same user.
    params, verifier = authorization_params(client)
    login = start_login(sp, upstream, idp["id"], params=params)
    resp = post_acs(login, upstream.answer(login, email, identity_of(email, "Grace", "Hopper")))
    tokens = continue_authorization(lumod, org, oauth, login.browser, resp, client, params,
                                    verifier)
    assert verify_rs256(tokens["id_token"], jwks(oauth))["sub"] == user["id"]
    assert all_users(api_client, org) == after


@pytest.mark.parametrize("sign_response, sign_assertion", [
    (True, True), (True, False), (False, True)])
def test_signing_flags_without_an_authorization_request(api_client, org, oauth, sp, make_idp,
                                                        sign_response, sign_assertion):
    upstream = make_idp()
    idp = registered(api_client, org, upstream)
    email = unique_address("flags")
    login = start_login(sp, upstream, idp["id"])
    document = upstream.answer(login, email, identity_of(email), sign_response=sign_response,
                               sign_assertion=sign_assertion)
    root = xml(document)
    assert bool(children(root, "ds:Signature")) == sign_response
    assert bool(children(children(root, "saml:Assertion")[0], "ds:Signature")) == sign_assertion
    resp = post_acs(login, document)
    assert_signed_in_page(resp, login.browser)
    # The session is the provisioned user's.
    assert session_user(oauth, api_client, org, login.browser)["email"] == email


def test_existing_user_is_linked_by_email_then_found_by_name_id(api_client, org, oauth, sp,
                                                                make_idp):
    upstream = make_idp()
    idp = registered(api_client, org, upstream)
    assert idp["trustEmail"] is True
    user = create_password_user(api_client, org, email=unique_address("ada", "example.com"),
                                givenName="Ada", familyName="Lovelace")
    before = all_users(api_client, org)
    name_id = "corp-" + uuid.uuid4().hex
    browser = sign_in(sp, upstream, idp["id"], name_id, identity_of(user.email),
                      name_id_format=NAMEID_FORMAT_PERSISTENT)
    assert session_user(oauth, api_client, org, browser)["sub"] == user.id
    assert all_users(api_client, org) == before
    assert saml_links(api_client, org, user.id) == [{"idp_id": idp["id"], "name_id": name_id}]

    # Next time the NameID finds the user, whatever address is asserted.
    browser = sign_in(sp, upstream, idp["id"], name_id,
                      identity_of(unique_address("renamed", "example.com")),
                      name_id_format=NAMEID_FORMAT_PERSISTENT)
    assert session_user(oauth, api_client, org, browser)["sub"] == user.id
    assert all_users(api_client, org) == before


def test_trust_email_off_refuses_an_existing_address(api_client, org, oauth, sp, make_idp):
    upstream = make_idp()
    idp = registered(api_client, org, upstream, trustEmail=False)
    user = create_password_user(api_client, org, email=unique_address("tom", "example.com"))
    before = all_users(api_client, org)
    login = start_login(sp, upstream, idp["id"])
    resp = post_acs(login, upstream.answer(login, "corp-" + uuid.uuid4().hex,
                                           identity_of(user.email),
                                           name_id_format=NAMEID_FORMAT_PERSISTENT))
    assert_refused(sp, resp, login.browser)
    assert all_users(api_client, org) == before
    assert saml_links(api_client, org, user.id) == []

    # With trustEmail on, the same assertion links the user.
    update_idp(api_client, org, idp["id"], {"trustEmail": True})
    name_id = "corp-" + uuid.uuid4().hex
    browser = sign_in(sp, upstream, idp["id"], name_id, identity_of(user.email),
                      name_id_format=NAMEID_FORMAT_PERSISTENT)
    assert session_user(oauth, api_client, org, browser)["sub"] == user.id
    assert saml_links(api_client, org, user.id) == [{"idp_id": idp["id"], "name_id": name_id}]


def test_jit_off_refuses_an_unknown_user_but_links_a_known_one(api_client, org, oauth, sp,
                                                               make_idp):
    upstream = make_idp()
    idp = registered(api_client, org, upstream, jitProvisioning=False)
    before = all_users(api_client, org)
    email = unique_address("nobody")
    login = start_login(sp, upstream, idp["id"])
    resp = post_acs(login, upstream.answer(login, email, identity_of(email)))
    assert_refused(sp, resp, login.browser)
    assert all_users(api_client, org) == before

    user = create_password_user(api_client, org, email=unique_address("known", "example.com"))
    browser = sign_in(sp, upstream, idp["id"], user.email, identity_of(user.email))
    assert session_user(oauth, api_client, org, browser)["sub"] == user.id
    assert saml_links(api_client, org, user.id) == [{"idp_id": idp["id"],
                                                     "name_id": user.email}]


def test_attribute_mapping(api_client, org, sp, make_idp):
    upstream = make_idp()
    mapping = {"email": "corpMail", "given_name": "first", "family_name": "last",
               "name": "full"}
    idp = registered(api_client, org, upstream, attributeMapping=mapping)
    assert idp["attributeMapping"] == mapping
    email = unique_address("mapped")
    decoy = unique_address("decoy")

    def attributes(response):
        def attribute(name, value):
            return saml.Attribute(name=name, name_format=saml.NAME_FORMAT_BASIC,
                                  attribute_value=[saml.AttributeValue(text=value)])
        statement = response.assertion.attribute_statement[0]
        # The default names carry other values: the mapping decides.
        statement.attribute = [attribute("corpMail", email), attribute("first", "Katherine"),
                               attribute("last", "Johnson"), attribute("full", "K. Johnson"),
                               attribute("mail", decoy), attribute("givenName", "Decoy")]

    login = start_login(sp, upstream, idp["id"])
    document = upstream.answer(login, "emp-" + uuid.uuid4().hex, identity_of(decoy),
                               name_id_format=NAMEID_FORMAT_PERSISTENT, mutate=attributes)
    assert "corpMail" in document
    assert_signed_in_page(post_acs(login, document), login.browser)
    user = user_by_email(api_client, org, email)
    assert (user["givenName"], user["familyName"], user["name"]) == (
        "Katherine", "Johnson", "K. Johnson"), user
    assert decoy not in {mail for _, mail in all_users(api_client, org)}


def test_deleting_the_idp_removes_its_links(api_client, org, sp, make_idp):
    upstream = make_idp()
    idp = registered(api_client, org, upstream)
    email = unique_address("gone")
    sign_in(sp, upstream, idp["id"], email, identity_of(email))
    user = user_by_email(api_client, org, email)
    assert saml_links(api_client, org, user["id"]) == [{"idp_id": idp["id"], "name_id": email}]
    resp = send(api_client, "DELETE", IDP_ONE, org, path_params={"idpId": str(idp["id"])})
    assert resp.status_code == 200, resp.raw_data
    assert saml_links(api_client, org, user["id"]) == []
    # The IdP is gone: its login does not start.
    assert_refused(sp, requests.get(f"{sp.login}/{idp['id']}", allow_redirects=False,
                                    timeout=TIMEOUT))


# --- responses the ACS refuses ------------------------------------------------------------------

def shift_times(seconds: int):
    """A mutation moving every instant of the response by `seconds`."""
    def shift(value):
        return stamp(instant(value) + timedelta(seconds=seconds)) if value else value

    def mutate(response):
        response.issue_instant = shift(response.issue_instant)
        assertion = response.assertion
        assertion.issue_instant = shift(assertion.issue_instant)
        assertion.conditions.not_before = shift(assertion.conditions.not_before)
        assertion.conditions.not_on_or_after = shift(assertion.conditions.not_on_or_after)
        for confirmation in assertion.subject.subject_confirmation:
            data = confirmation.subject_confirmation_data
            data.not_on_or_after = shift(data.not_on_or_after)
            data.not_before = shift(data.not_before)
        for statement in assertion.authn_statement:
            statement.authn_instant = shift(statement.authn_instant)
    return mutate


def set_issuer(value):
    def mutate(response):
        response.issuer.text = value
        response.assertion.issuer.text = value
    return mutate


def set_destination(value):
    def mutate(response):
        response.destination = value
    return mutate


def set_recipient(value):
    def mutate(response):
        for confirmation in response.assertion.subject.subject_confirmation:
            confirmation.subject_confirmation_data.recipient = value
    return mutate


def set_in_response_to(value):
    def mutate(response):
        response.in_response_to = value
        for confirmation in response.assertion.subject.subject_confirmation:
            confirmation.subject_confirmation_data.in_response_to = value
    return mutate


def set_status_failed(response):
    response.status = samlp.Status(status_code=samlp.StatusCode(
        value=samlp.STATUS_RESPONDER,
        status_code=samlp.StatusCode(value=samlp.STATUS_AUTHN_FAILED)))


def signature_wrapping(upstream, login, name_id, identity, victim_email):
    """A signed assertion (unsigned Response) preceded by an unsigned copy naming the
    victim: an SP reading the first assertion would sign the victim in."""
    document = upstream.answer(login, name_id, identity, sign_response=False,
                               sign_assertion=True)
    match = re.search(r"<(ns\d+):Assertion\b.*?</\1:Assertion>", document, re.S)
    assert match, document
    signed = match.group(0)
    evil = re.sub(r"<(ns\d+):Signature\b.*?</\1:Signature>", "", signed, flags=re.S)
    assert evil != signed
    evil = re.sub(r'\bID="[^"]+"', f'ID="_evil{uuid.uuid4().hex}"', evil, count=1)
    evil = evil.replace(f">{name_id}<", f">{victim_email}<").replace(
        f">{identity['mail'][0]}<", f">{victim_email}<")
    assert victim_email in evil
    wrapped = document.replace(signed, evil + signed)
    assert upstream.signature_ok(wrapped, ASSERTION_CLASS,
                                 re.search(r'\bID="([^"]+)"', signed).group(1))
    return wrapped


# Each builds, for a fresh login, a response that must be refused:
# (upstream, login, name_id, identity, ctx) -> XML text.
BAD_RESPONSES = {
    "unsigned": lambda u, l, n, i, c: u.answer(l, n, i, sign_response=False,
                                               sign_assertion=False),
    "signed_by_another_key": lambda u, l, n, i, c: c.intruder.answer(l, n, i),
    "signed_by_another_key_assertion_only": lambda u, l, n, i, c: c.intruder.answer(
        l, n, i, sign_response=False),
    "wrong_audience": lambda u, l, n, i, c: u.answer(l, n, i,
                                                     sp_entity_id=c.foreign_sp.entity_id),
    "expired": lambda u, l, n, i, c: u.answer(l, n, i, mutate=shift_times(-900)),
    "not_yet_valid": lambda u, l, n, i, c: u.answer(l, n, i, mutate=shift_times(600)),
    "wrong_issuer": lambda u, l, n, i, c: u.answer(
        l, n, i, mutate=set_issuer("https://other-idp.example.test/metadata")),
    "wrong_destination": lambda u, l, n, i, c: u.answer(
        l, n, i, mutate=set_destination(c.foreign_sp.acs)),
    "wrong_destination_and_recipient": lambda u, l, n, i, c: u.answer(
        l, n, i, destination=c.foreign_sp.acs),
    "wrong_recipient": lambda u, l, n, i, c: u.answer(
        l, n, i, mutate=set_recipient("https://evil.example.test/acs")),
    "wrong_in_response_to": lambda u, l, n, i, c: u.answer(
        l, n, i, in_response_to="_" + uuid.uuid4().hex),
    "status_not_success": lambda u, l, n, i, c: u.answer(l, n, i, mutate=set_status_failed),
    "encrypted_assertion": lambda u, l, n, i, c: u.answer(l, n, i,
                                                          encrypt_cert=c.sp.certificate),
    "signature_wrapping": lambda u, l, n, i, c: signature_wrapping(u, l, n, i, c.victim.email),
    "tampered_name_id": lambda u, l, n, i, c: u.answer(l, n, i).replace(
        f">{n}<", f">{c.victim.email}<"),
}


@pytest.fixture
def bad_context(api_client, org, sp, foreign_sp, keys):
    victim = create_password_user(api_client, org, email=unique_address("victim", "example.com"))
    return types.SimpleNamespace(sp=sp, foreign_sp=foreign_sp, victim=victim, keys=keys)


@pytest.mark.parametrize("case", sorted(BAD_RESPONSES))
def test_bad_responses_are_refused(api_client, org, oauth, sp, foreign_sp, keys, bad_context,
                                   case):
    upstream = UpstreamIdP(keys.idp, [sp.metadata, foreign_sp.metadata])
    bad_context.intruder = UpstreamIdP(keys.other, [sp.metadata, foreign_sp.metadata],
                                       entity_id=upstream.entity_id, sso=upstream.sso)
    idp = registered(api_client, org, upstream)
    email = unique_address(case.replace("_", "-"))
    identity = identity_of(email)
    before = all_users(api_client, org)

    login = start_login(sp, upstream, idp["id"])
    document = BAD_RESPONSES[case](upstream, login, email, identity, bad_context)
    if case == "tampered_name_id":
        assert bad_context.victim.email in document
    if case == "encrypted_assertion":
        assert "EncryptedAssertion" in document and email not in document
    resp = post_acs(login, document)
    assert_refused(sp, resp, login.browser)
    assert all_users(api_client, org) == before
    assert saml_links(api_client, org, bad_context.victim.id) == []

    # Control: the same IdP and user, answered properly, sign in.
    browser = sign_in(sp, upstream, idp["id"], email, identity)
    assert session_user(oauth, api_client, org, browser)["email"] == email


def test_clock_skew_within_tolerance_is_accepted(api_client, org, sp, make_idp):
    upstream = make_idp()
    idp = registered(api_client, org, upstream)
    email = unique_address("skew")
    login = start_login(sp, upstream, idp["id"])
    # An IdP clock two minutes ahead: NotBefore is 120 s in the future, within 180 s.
    document = upstream.answer(login, email, identity_of(email), mutate=shift_times(120))
    assert_signed_in_page(post_acs(login, document), login.browser)


def test_replayed_response_is_refused(api_client, org, oauth, sp, make_idp):
    upstream = make_idp()
    idp = registered(api_client, org, upstream)
    email = unique_address("replay")
    login = start_login(sp, upstream, idp["id"])
    document = upstream.answer(login, email, identity_of(email))
    assert_signed_in_page(post_acs(login, document), login.browser)
    users = all_users(api_client, org)
    assertion_id = children(xml(document), "saml:Assertion")[0].get("ID")

    # The same POST again, from the same (signed-in) browser and from another one that has
    # the login cookie.
    assert_refused(sp, post_acs(login, document))
    again = requests.Session()
    again.cookies.update({"lumo_saml_sp": login.cookie})
    assert_refused(sp, post_acs(login, document, browser=again), again)

    # A new login, answered with the old response.
    second = start_login(sp, upstream, idp["id"])
    assert_refused(sp, post_acs(second, document), second.browser)

    # A new login, answered with a fresh, correctly bound and signed response that reuses
    # the assertion ID.
    third = start_login(sp, upstream, idp["id"])

    def reuse_id(response):
        response.assertion.id = assertion_id
    replayed = upstream.answer(third, email, identity_of(email), mutate=reuse_id)
    assert children(xml(replayed), "saml:Assertion")[0].get("ID") == assertion_id
    assert_refused(sp, post_acs(third, replayed), third.browser)
    assert all_users(api_client, org) == users

    # Control: a new assertion ID is accepted.
    fourth = start_login(sp, upstream, idp["id"])
    assert_signed_in_page(post_acs(fourth, upstream.answer(fourth, email, identity_of(email))),
                          fourth.browser)


def test_comment_injected_into_the_name_id_is_refused(api_client, org, oauth, sp, make_idp):
    upstream = make_idp()
    idp = registered(api_client, org, upstream)
    tag = uuid.uuid4().hex[:8]
    victim = f"alice.{tag}@evil.test"
    attacker = f"alice.{tag}@evil.test.corp.test"
    # The victim is known by NameID through this IdP (a first, legitimate login).
    sign_in(sp, upstream, idp["id"], victim, identity_of(victim))
    victim_user = user_by_email(api_client, org, victim)
    before = all_users(api_client, org)

    login = start_login(sp, upstream, idp["id"])
    document = upstream.answer(login, attacker, identity_of(attacker))
    injected = document.replace(f">{attacker}<", f">alice.{tag}@evil.test<!---->.corp.test<")
    assert injected != document and "<!---->" in injected
    # Comments are outside exclusive c14n: the signatures still verify.
    root = xml(document)
    assert upstream.signature_ok(injected, RESPONSE_CLASS, root.get("ID"))
    assert upstream.signature_ok(injected, ASSERTION_CLASS,
                                 children(root, "saml:Assertion")[0].get("ID"))
    resp = post_acs(login, injected)
    assert_refused(sp, resp, login.browser)
    assert all_users(api_client, org) == before
    assert saml_links(api_client, org, victim_user["id"]) == [{"idp_id": idp["id"],
                                                               "name_id": victim}]


def doctype_documents(document: str, entity_file: str) -> dict:
    """A signed Response with a DOCTYPE: an unused internal entity (signatures intact), an
    external entity and a billion laughs in an attribute value."""
    body = without_declaration(document)
    root_tag = re.match(r"<([\w:]+)", body).group(1)
    value = re.search(r"<(ns\d+):AttributeValue\b[^>]*>([^<]*)<", body)
    assert value, body
    head = f'<?xml version="1.0"?>\n<!DOCTYPE {root_tag} [\n'
    internal = head + '  <!ENTITY unused "x">\n]>\n' + body
    external = (head + f'  <!ENTITY ext SYSTEM "file://{entity_file}">\n]>\n'
                + body.replace(value.group(0), value.group(0)[:-(len(value.group(2)) + 1)]
                               + "&ext;<", 1))
    lol = ['  <!ENTITY lol0 "lollollollollollollollollollol">']
    for i in range(1, 10):
        lol.append(f'  <!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">')
    laughs = (head + "\n".join(lol) + "\n]>\n"
              + body.replace(value.group(0), value.group(0)[:-(len(value.group(2)) + 1)]
                             + "&lol9;<", 1))
    return {"internal": internal, "external": external, "laughs": laughs}


def test_doctype_and_entities_are_refused_without_hanging(lumod, api_client, org, oauth, sp,
                                                          make_idp, tmp_path):
    upstream = make_idp()
    idp = registered(api_client, org, upstream)
    email = unique_address("xxe")
    entity_file = tmp_path / "entity.txt"
    entity_file.write_text(email)
    before = all_users(api_client, org)
    for name in ("internal", "external", "laughs"):
        login = start_login(sp, upstream, idp["id"])
        document = upstream.answer(login, email, identity_of(email))
        payload = doctype_documents(document, str(entity_file))[name]
        assert "<!DOCTYPE" in payload
        started = time.monotonic()
        resp = post_acs(login, payload)
        assert time.monotonic() - started < 10, name
        assert_refused(sp, resp, login.browser)
        assert "lollollol" not in resp.text, name
    assert all_users(api_client, org) == before
    # Still serving, and the same kind of response without a DOCTYPE signs in.
    assert requests.get(sp.entity_id, timeout=TIMEOUT).status_code == 200
    browser = sign_in(sp, upstream, idp["id"], email, identity_of(email))
    assert session_user(oauth, api_client, org, browser)["email"] == email


def test_login_cookie_is_required_and_bound(api_client, org, oauth, sp, make_idp):
    upstream = make_idp()
    idp = registered(api_client, org, upstream)
    email = unique_address("cookie")
    before = all_users(api_client, org)

    def answered():
        login = start_login(sp, upstream, idp["id"])
        return login, upstream.answer(login, email, identity_of(email))

    # Each time a new login, answered correctly, posted by the wrong browser:
    # one without the cookie,
    login, document = answered()
    stranger = requests.Session()
    assert_refused(sp, post_acs(login, document, browser=stranger), stranger)
    # one with a forged cookie,
    login, document = answered()
    forged = requests.Session()
    forged.cookies.update({"lumo_saml_sp": secrets.token_urlsafe(24)})
    assert_refused(sp, post_acs(login, document, browser=forged), forged)
    # one with the cookie of a login of its own.
    login, document = answered()
    other = start_login(sp, upstream, idp["id"])
    assert_refused(sp, post_acs(login, document, browser=other.browser), other.browser)
    # The right browser with an unknown RelayState, or none.
    for state in ("unknown-" + uuid.uuid4().hex, ""):
        login, document = answered()
        assert_refused(sp, post_acs(login, document, relay_state=state), login.browser)
    # Garbage instead of a SAMLResponse.
    for garbage in ("%%%not base64%%%", b64("not xml at all"), b64('<foo xmlns="urn:x"/>'), ""):
        login, _ = answered()
        assert_refused(sp, post_acs(login, "", saml_response=garbage), login.browser)
    assert all_users(api_client, org) == before

    # Control: the right browser with its own RelayState signs in.
    login, document = answered()
    assert_signed_in_page(post_acs(login, document), login.browser)
    assert session_user(oauth, api_client, org, login.browser)["email"] == email


def test_disabled_idp_is_refused(api_client, org, sp, make_idp):
    upstream = make_idp()
    idp = registered(api_client, org, upstream)
    email = unique_address("disabled")
    before = all_users(api_client, org)
    login = start_login(sp, upstream, idp["id"])
    document = upstream.answer(login, email, identity_of(email))
    update_idp(api_client, org, idp["id"], {"enabled": False})
    assert_refused(sp, post_acs(login, document), login.browser)
    assert all_users(api_client, org) == before
    # Disabled, the login does not start either; enabled again, it works.
    assert_refused(sp, requests.get(f"{sp.login}/{idp['id']}", allow_redirects=False,
                                    timeout=TIMEOUT))
    update_idp(api_client, org, idp["id"], {"enabled": True})
    sign_in(sp, upstream, idp["id"], email, identity_of(email))



# --- single logout (IdP-initiated, at the SP) ---------------------------------------------------

def test_idp_initiated_logout_ends_the_users_sessions(lumod, api_client, org, oauth, sp,
                                                      make_idp, keys):
    upstream = make_idp()
    metadata = upstream.metadata_xml()
    idp = create_idp(api_client, org, {"name": unique("SLO IdP"), "metadataXml": metadata})
    assert idp["sloUrl"] == upstream.slo, idp
    assert idp["spSloUrl"] == sp.slo, idp
    assert 'SingleLogoutService' in sp.metadata and sp.slo in sp.metadata
    email = unique_address("lou", "example.com")
    browser = sign_in(sp, upstream, idp["id"], email, identity_of(email))
    user = session_user(oauth, api_client, org, browser)
    other = sign_in(sp, upstream, idp["id"], email, identity_of(email))
    sessions = send(api_client, "GET", "/admin/sessions", org, query={"userId": user["sub"]})
    assert len(json.loads(sessions.raw_data)["data"]) >= 2, sessions.raw_data

    # The IdP's signed Redirect request through the first browser.
    req_id, url = upstream.logout_request(sp, email)
    resp = browser.get(url, allow_redirects=False, timeout=TIMEOUT)
    assert resp.status_code == 302, (resp.status_code, resp.text[:2000])
    location = resp.headers["Location"]
    assert location.startswith(upstream.slo + "?SAMLResponse="), location
    assert redirect_signature_ok(location, sp.certificate)
    query = {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}
    assert query["RelayState"] == "slo-rs"
    answer = xml(inflate_b64(query["SAMLResponse"]))
    assert answer.get("InResponseTo") == req_id
    assert answer.get("Destination") == upstream.slo
    status = children(children(answer, "samlp:Status")[0], "samlp:StatusCode")[0]
    assert status.get("Value") == "urn:oasis:names:tc:SAML:2.0:status:Success"
    assert "lumo_session=;" in resp.headers.get("Set-Cookie", "").replace(" ", ""), resp.headers
    # Every session of the user ended (the other browser's too).
    sessions = send(api_client, "GET", "/admin/sessions", org, query={"userId": user["sub"]})
    assert json.loads(sessions.raw_data)["data"] == [], sessions.raw_data
    client = create_oauth_client(api_client, org)
    params, _ = authorization_params(client)
    again = other.get(oauth.url("/oauth/authorize"), params=params, allow_redirects=False,
                      timeout=TIMEOUT)
    assert again.status_code == 200 and "password" in again.text, (again.status_code,
                                                                   again.headers)

    # The POST binding with a signed XML request; a NameID nobody holds is still answered.
    _, form = upstream.logout_request(sp, "nobody-" + uuid.uuid4().hex, binding=BINDING_HTTP_POST)
    resp = requests.post(sp.slo, data=form, allow_redirects=False, timeout=TIMEOUT)
    assert resp.status_code == 302, (resp.status_code, resp.text[:2000])
    assert resp.headers["Location"].startswith(upstream.slo + "?SAMLResponse=")


def test_logout_requests_must_be_signed_by_the_idp(lumod, api_client, org, oauth, sp,
                                                   make_idp, keys):
    upstream = make_idp()
    idp = registered(api_client, org, upstream)
    assert idp["sloUrl"] is None
    email = unique_address("sig", "example.com")
    browser = sign_in(sp, upstream, idp["id"], email, identity_of(email))
    user = session_user(oauth, api_client, org, browser)
    impostor = make_idp(keypair=keys.other, entity_id=upstream.entity_id)
    stranger = make_idp()
    cases = [
        upstream.logout_request(sp, email, sign=False)[1],
        upstream.logout_request(sp, email, binding=BINDING_HTTP_POST, sign=False)[1],
        impostor.logout_request(sp, email)[1],
        impostor.logout_request(sp, email, binding=BINDING_HTTP_POST)[1],
        stranger.logout_request(sp, email)[1],
    ]
    for case in cases:
        if isinstance(case, dict):
            resp = requests.post(sp.slo, data=case, allow_redirects=False, timeout=TIMEOUT)
        else:
            resp = requests.get(case, allow_redirects=False, timeout=TIMEOUT)
        assert resp.status_code == 400, (resp.status_code, resp.text[:1000])
    for garbage in ["", "SAMLRequest=not-base64!!", "SAMLRequest=" + b64("<x/>")]:
        resp = requests.get(f"{sp.slo}?{garbage}", allow_redirects=False, timeout=TIMEOUT)
        assert resp.status_code == 400, (garbage, resp.status_code)
    sessions = send(api_client, "GET", "/admin/sessions", org, query={"userId": user["sub"]})
    assert json.loads(sessions.raw_data)["data"], "refused requests ended nothing"

    # Signed, from an IdP without a logout URL: the signed-out page.
    _, url = upstream.logout_request(sp, email)
    resp = browser.get(url, allow_redirects=False, timeout=TIMEOUT)
    assert resp.status_code == 200, (resp.status_code, resp.text[:1000])
    assert "signed out" in resp.text
    sessions = send(api_client, "GET", "/admin/sessions", org, query={"userId": user["sub"]})
    assert json.loads(sessions.raw_data)["data"] == [], sessions.raw_data
