"""The SAML 2.0 identity provider, driven by pysaml2 acting as a real service provider.

Every service provider here is a `saml2.client.Saml2Client` with a key and self-signed
certificate of its own (made with `openssl`), configured with the IdP metadata the server
publishes; it builds the AuthnRequests and LogoutRequests (HTTP-Redirect and HTTP-POST
bindings, signed and unsigned) and parses and verifies what the IdP answers (signatures
against the certificate of the metadata, audience, recipient, InResponseTo, times).  A
`requests.Session` plays the browser: it signs in on the hosted login form and carries the
answer the IdP's auto-posting form would post to the SP.

Covered: the IdP metadata and `~/admin/saml/idp`; the admin API of apps (create from fields
and from SP metadata, get, list, PATCH, PUT, delete, 401/404/409/422, another org);
SP-initiated SSO over both bindings (with the login page, then the established session),
signed AuthnRequests, IdP-initiated SSO, the NameID formats, attribute mappings and signing
flags; single logout; the requests the IdP must refuse (unknown SP, unregistered ACS URL,
malformed and DOCTYPE/entity XML, missing or bad signatures, a disabled app), none of which
may reach the SP; the `/t/{org}` spelling.
"""

import base64
import json
import re
import time
import types
import uuid
import zlib
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from urllib.parse import parse_qs, quote, unquote, urljoin, urlparse

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from saml2 import BINDING_HTTP_ARTIFACT, BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import create_metadata_string
from saml2.response import UnsolicitedResponse
from saml2.saml import (
    NAMEID_FORMAT_EMAILADDRESS, NAMEID_FORMAT_PERSISTENT, NAMEID_FORMAT_TRANSIENT,
    NAMEID_FORMAT_UNSPECIFIED,
)
from saml2.samlp import STATUS_SUCCESS
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

from lumoauth_api_client import ApiClient, Configuration
from lumoauth_api_client.exceptions import ApiException, UnauthorizedException

from saml_helpers import (
    NS, children, der_of, inflate_b64, instant, make_keypair, redirect_signature_ok,
    refused_admin, xml,
)
from org_fixtures import own_org_fixtures
from lumo_helpers import (
    PASSWORD, create_group, create_password_user, error_body, error_of, form_action,
    hidden_inputs, send, unique, unique_email,
)

lumod, api_client, org, oauth, new_org = own_org_fixtures("saml", "SAML IdP tests")

XMLSEC = "/usr/bin/xmlsec1"
APPS = "/admin/saml/apps"
APP = "/admin/saml/apps/{appId}"
IDP = "/admin/saml/idp"
TIMEOUT = 30

BASIC = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
FORMAT_URI = {
    "emailAddress": NAMEID_FORMAT_EMAILADDRESS,
    "persistent": NAMEID_FORMAT_PERSISTENT,
    "transient": NAMEID_FORMAT_TRANSIENT,
    "unspecified": NAMEID_FORMAT_UNSPECIFIED,
}
DEFAULT_MAPPING = {"email": "email", "givenName": "given_name", "surname": "family_name",
                   "displayName": "name"}


# --- keys, certificates, XML ------------------------------------------------------------------

def b64_der(cert_pem: str) -> str:
    return base64.b64encode(der_of(cert_pem)).decode()


def deflate_b64(data: bytes) -> str:
    """What the HTTP-Redirect binding carries: raw DEFLATE, then base64."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(packer.compress(data) + packer.flush()).decode()


# --- HTML -------------------------------------------------------------------------------------

class _Forms(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action"),
                               "method": (attrs.get("method") or "get").lower(), "inputs": {}})
        elif tag == "input" and self.forms and attrs.get("name"):
            self.forms[-1]["inputs"][attrs["name"]] = attrs.get("value") or ""


def forms_of(page: str) -> list:
    parser = _Forms()
    parser.feed(page)
    parser.close()
    return parser.forms


def saml_post_form(resp: requests.Response):
    """The IdP's auto-posting page: (action, {SAMLResponse, RelayState?})."""
    assert resp.status_code == 200, (resp.status_code, resp.headers, resp.text[:3000])
    assert "text/html" in resp.headers.get("Content-Type", ""), resp.headers
    forms = [f for f in forms_of(resp.text) if "SAMLResponse" in f["inputs"]]
    assert len(forms) == 1, resp.text[:3000]
    form = forms[0]
    assert form["method"] == "post", form
    assert form["inputs"]["SAMLResponse"], form
    return form["action"], form["inputs"]


def is_login_page(resp: requests.Response, org: str) -> bool:
    return (resp.status_code == 200 and 'name="password"' in resp.text
            and f'action="/orgs/{org}/api/v1/oauth/login/submit"' in resp.text)


def assert_refused(resp: requests.Response, sp=None):
    """A 400 HTML error page: nothing redirects or posts to a service provider."""
    assert resp.status_code == 400, (resp.status_code, resp.headers, resp.text[:3000])
    assert "Location" not in resp.headers, resp.headers
    assert "text/html" in resp.headers.get("Content-Type", ""), resp.headers
    assert "SAMLResponse" not in resp.text, resp.text[:3000]
    if sp is not None:
        assert not any(f["action"] and f["action"].startswith(sp.origin)
                       for f in forms_of(resp.text)), resp.text[:3000]


# --- the identity provider, service providers, apps -------------------------------------------

@pytest.fixture(scope="module")
def idp(lumod, api_client, org):
    """The IdP as published: its metadata XML and `~/admin/saml/idp`."""
    base = f"{lumod.base}/orgs/{org}/saml/idp"
    resp = requests.get(base + "/metadata", timeout=TIMEOUT)
    assert resp.status_code == 200, (resp.status_code, resp.text[:2000])
    admin = send(api_client, "GET", IDP, org)
    assert admin.status_code == 200, admin.raw_data
    return types.SimpleNamespace(
        base=base, metadata_url=base + "/metadata", sso=base + "/sso", slo=base + "/slo",
        init=base + "/init", entity_id=base + "/metadata", metadata=resp.text,
        metadata_response=resp, admin=json.loads(admin.raw_data)["data"])


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    directory = tmp_path_factory.mktemp("saml-keys")
    return types.SimpleNamespace(main=make_keypair(directory, "sp", "sp.example.test"),
                                 other=make_keypair(directory, "intruder", "sp.example.test"))


class SP:
    """A pysaml2 service provider with ACS (HTTP-POST) and SLS (HTTP-Redirect) endpoints."""

    def __init__(self, idp, keypair, entity_id=None, *, allow_unsolicited=False,
                 want_response_signed=True, want_assertions_signed=True,
                 authn_requests_signed=False, extra_acs=(), name_id_format=None,
                 other_endpoints=False, encryption_keypair=None):
        host = f"sp-{uuid.uuid4().hex[:10]}.example.test"
        self.origin = f"https://{host}"
        self.entity_id = entity_id or f"{self.origin}/metadata"
        self.acs = f"{self.origin}/acs"
        self.acs_urls = [self.acs] + [f"{self.origin}{path}" for path in extra_acs]
        self.sls = f"{self.origin}/sls"
        self.keypair = keypair
        self.idp = idp
        acs = [(url, BINDING_HTTP_POST) for url in self.acs_urls]
        sls = [(self.sls, BINDING_HTTP_REDIRECT)]
        if other_endpoints:
            # Endpoints of other bindings, listed first: an Artifact ACS and a POST SLS.
            acs.insert(0, (f"{self.origin}/acs-artifact", BINDING_HTTP_ARTIFACT))
            sls.insert(0, (f"{self.origin}/sls-post", BINDING_HTTP_POST))
        sp = {
            "endpoints": {"assertion_consumer_service": acs, "single_logout_service": sls},
            "want_response_signed": want_response_signed,
            "want_assertions_signed": want_assertions_signed,
            "want_assertions_or_response_signed": True,
            "authn_requests_signed": authn_requests_signed,
            "allow_unsolicited": allow_unsolicited,
            # pysaml2 reads these per entity type ("sp"); at the top level they are ignored
            # and it signs with RSA-SHA1.
            "signing_algorithm": SIG_RSA_SHA256,
            "digest_algorithm": DIGEST_SHA256,
        }
        if name_id_format:
            sp["name_id_format"] = [name_id_format]
        config = {
            "entityid": self.entity_id,
            "service": {"sp": sp},
            "key_file": keypair.key,
            "cert_file": keypair.cert,
            "xmlsec_binary": XMLSEC,
            "metadata": {"inline": [idp.metadata]},
            "allow_unknown_attributes": True,
            "accepted_time_diff": 10,
        }
        if encryption_keypair:
            config["encryption_keypairs"] = [{"key_file": encryption_keypair.key,
                                              "cert_file": encryption_keypair.cert}]
        self.config = SPConfig().load(config)
        self.client = Saml2Client(config=self.config)

    def metadata_xml(self) -> str:
        text = create_metadata_string(None, config=self.config, sign=False)
        return text.decode() if isinstance(text, bytes) else text

    # -- requests --

    def redirect_request(self, relay_state="rs-123", sign=None, **kw):
        """An AuthnRequest over HTTP-Redirect: (request id, URL for the browser)."""
        req_id, info = self.client.prepare_for_authenticate(
            entityid=self.idp.entity_id, relay_state=relay_state,
            binding=BINDING_HTTP_REDIRECT, sign=sign,
            sigalg=SIG_RSA_SHA256 if sign else None, **kw)
        location = dict(info["headers"])["Location"]
        assert location.startswith(self.idp.sso + "?SAMLRequest="), location
        return req_id, location

    def post_request(self, relay_state="rs-post", sign=None, **kw):
        """An AuthnRequest over HTTP-POST: (request id, form action, form fields)."""
        req_id, info = self.client.prepare_for_authenticate(
            entityid=self.idp.entity_id, relay_state=relay_state, binding=BINDING_HTTP_POST,
            sign=sign, **kw)
        forms = forms_of(info["data"])
        assert len(forms) == 1, info["data"]
        assert forms[0]["action"] == self.idp.sso, forms
        fields = forms[0]["inputs"]
        assert fields.get("SAMLRequest"), fields
        return req_id, forms[0]["action"], fields

    # -- answers --

    def parse(self, saml_response: str, req_id=None):
        """pysaml2 checks the Response (signatures, audience, recipient, InResponseTo, times)."""
        outstanding = {req_id: "/"} if req_id else None
        resp = self.client.parse_authn_request_response(saml_response, BINDING_HTTP_POST,
                                                        outstanding=outstanding)
        assert resp is not None, "pysaml2 did not accept the response"
        return resp


@pytest.fixture(scope="module")
def make_sp(idp, keys):
    def make(keypair=None, **options) -> SP:
        return SP(idp, keypair or keys.main, **options)
    return make


def app_body(sp: SP, **fields) -> dict:
    body = {"name": unique("SAML app"), "entityId": sp.entity_id, "acsUrls": sp.acs_urls,
            "sloUrl": sp.sls}
    body.update(fields)
    return body


def create_app(api_client, org, body: dict) -> dict:
    resp = send(api_client, "POST", APPS, org, body=body)
    assert resp.status_code == 201, (resp.status_code, resp.raw_data)
    return json.loads(resp.raw_data)["data"]


def get_app(api_client, org, app_id) -> dict:
    resp = send(api_client, "GET", APP, org, path_params={"appId": str(app_id)})
    assert resp.status_code == 200, (resp.status_code, resp.raw_data)
    return json.loads(resp.raw_data)["data"]


def update_app(api_client, org, app_id, body: dict, method="PATCH") -> dict:
    resp = send(api_client, method, APP, org, path_params={"appId": str(app_id)}, body=body)
    assert resp.status_code == 200, (resp.status_code, resp.raw_data)
    return json.loads(resp.raw_data)["data"]


def list_apps(api_client, org) -> dict:
    resp = send(api_client, "GET", APPS, org)
    assert resp.status_code == 200, (resp.status_code, resp.raw_data)
    page = json.loads(resp.raw_data)
    assert isinstance(page["data"], list), page
    assert "meta" in page or "pagination" in page, page.keys()
    return page


def invalid(api_client, org, body: dict, field: str, method="POST", app_id=None) -> dict:
    path = APPS if app_id is None else APP
    params = None if app_id is None else {"appId": str(app_id)}
    body_ = refused_admin(lambda: send(api_client, method, path, org, body=body,
                                       path_params=params), 422, "validation_error")
    details = body_.get("details")
    assert isinstance(details, dict) and field in details, (body, body_)
    return details


def registered(api_client, org, sp: SP, **fields) -> dict:
    return create_app(api_client, org, app_body(sp, **fields))


@pytest.fixture
def user(api_client, org):
    return create_password_user(api_client, org, email=unique_email("saml"),
                                name="Ada Lovelace", givenName="Ada", familyName="Lovelace",
                                username=unique("ada"))


# --- the browser ------------------------------------------------------------------------------

def sign_in(lumod, org, browser: requests.Session, page: requests.Response, user,
            back_path: str) -> requests.Response:
    """Signs in on the hosted login page, checks it sends the browser back to `back_path`,
    and returns what that answers."""
    assert is_login_page(page, org), (page.status_code, page.text[:3000])
    prefix = f"/orgs/{org}/api/v1"
    assert form_action(page.text) == prefix + "/oauth/login/submit", page.text[:3000]
    login = hidden_inputs(page.text)
    assert login.get("_csrf") and login.get("return_to"), login
    login.update(email=user.email, password=PASSWORD)
    signed_in = browser.post(lumod.base + form_action(page.text), data=login,
                             allow_redirects=False, timeout=TIMEOUT)
    assert signed_in.status_code in (302, 303), (signed_in.status_code, signed_in.text[:2000])
    assert browser.cookies.get("lumo_session"), signed_in.headers
    back = urljoin(lumod.base + "/", signed_in.headers["Location"])
    assert back == urljoin(lumod.base + "/", login["return_to"]), (back, login)
    assert urlparse(back).netloc == urlparse(lumod.base).netloc, back
    assert urlparse(back).path == back_path, back
    return browser.get(back, allow_redirects=False, timeout=TIMEOUT)


def signed_in_browser(oauth, user) -> requests.Session:
    return oauth.login(user.email)


def decoded(saml_response: str):
    return xml(base64.b64decode(saml_response))


def sso_redirect(lumod, org, idp, sp, user, browser=None, relay_state="rs-123", **kw):
    """SP-initiated SSO over HTTP-Redirect, signing in when the login page is shown.
    Returns (request id, form action, form fields, pysaml2 AuthnResponse, browser)."""
    browser = browser if browser is not None else requests.Session()
    req_id, url = sp.redirect_request(relay_state=relay_state, **kw)
    first = browser.get(url, allow_redirects=False, timeout=TIMEOUT)
    if is_login_page(first, org):
        first = sign_in(lumod, org, browser, first, user, urlparse(idp.sso).path)
    action, fields = saml_post_form(first)
    return req_id, action, fields, sp.parse(fields["SAMLResponse"], req_id), browser


# --- metadata -------------------------------------------------------------------------------

def test_idp_metadata_loads_in_pysaml2_and_matches_the_admin_view(lumod, org, idp, make_sp):
    resp = idp.metadata_response
    assert resp.headers["Content-Type"].split(";")[0].strip() == "application/samlmetadata+xml"
    root = xml(resp.content)
    assert root.tag == f"{{{NS['md']}}}EntityDescriptor", root.tag
    assert root.get("entityID") == idp.metadata_url == f"{lumod.base}/orgs/{org}/saml/idp/metadata"
    descriptors = children(root, "md:IDPSSODescriptor")
    assert len(descriptors) == 1
    formats = {e.text.strip() for e in children(descriptors[0], "md:NameIDFormat")}
    assert set(FORMAT_URI.values()) <= formats, formats

    # pysaml2 loads it and finds the endpoints and the signing certificate.
    mds = make_sp().client.metadata
    assert idp.entity_id in mds.identity_providers()
    for binding in (BINDING_HTTP_REDIRECT, BINDING_HTTP_POST):
        sso = mds.single_sign_on_service(idp.entity_id, binding)
        assert [s["location"] for s in sso] == [idp.sso], (binding, sso)
        slo = mds.single_logout_service(idp.entity_id, binding, "idpsso")
        assert [s["location"] for s in slo] == [idp.slo], (binding, slo)
    certs = mds.certs(idp.entity_id, "idpsso", use="signing")
    assert len(certs) >= 1, certs
    metadata_der = {der_of(c[1]) for c in certs}

    # ~/admin/saml/idp: the same certificate (PEM) and URLs.
    admin = idp.admin
    assert admin["entityId"] == admin["metadataUrl"] == idp.metadata_url, admin
    assert (admin["ssoUrl"], admin["sloUrl"]) == (idp.sso, idp.slo), admin
    assert admin["certificate"].startswith("-----BEGIN CERTIFICATE-----"), admin
    assert der_of(admin["certificate"]) in metadata_der
    cert = x509.load_der_x509_certificate(der_of(admin["certificate"]))
    assert isinstance(cert.public_key(), rsa.RSAPublicKey)
    assert cert.public_key().key_size == 2048
    assert cert.signature_hash_algorithm.name == "sha256"
    not_after = instant(admin["certificateNotAfter"])
    assert abs((not_after - cert.not_valid_after_utc).total_seconds()) < 2, (
        admin["certificateNotAfter"], cert.not_valid_after_utc)
    assert not_after > datetime.now(timezone.utc) + timedelta(days=300)


def test_t_spelling_redirects_to_the_orgs_path(lumod, org, idp):
    resp = requests.get(f"{lumod.base}/t/{org}/saml/idp/metadata", allow_redirects=False,
                        timeout=TIMEOUT)
    assert resp.status_code == 307, (resp.status_code, resp.text[:500])
    assert urljoin(lumod.base + "/", resp.headers["Location"]) == idp.metadata_url, resp.headers
    # The query of a request is kept (a Redirect-binding request reached through /t/).
    resp = requests.get(f"{lumod.base}/t/{org}/saml/idp/sso", params={"SAMLRequest": "abc",
                                                                      "RelayState": "r"},
                        allow_redirects=False, timeout=TIMEOUT)
    assert resp.status_code == 307, (resp.status_code, resp.text[:500])
    target = urlparse(urljoin(lumod.base + "/", resp.headers["Location"]))
    assert target.path == urlparse(idp.sso).path, resp.headers
    assert parse_qs(target.query) == {"SAMLRequest": ["abc"], "RelayState": ["r"]}
    # POST (the HTTP-POST binding) keeps its method with a 307.
    resp = requests.post(f"{lumod.base}/t/{org}/saml/idp/sso", data={"SAMLRequest": "abc"},
                         allow_redirects=False, timeout=TIMEOUT)
    assert resp.status_code == 307, (resp.status_code, resp.text[:500])
    assert urlparse(urljoin(lumod.base + "/", resp.headers["Location"])).path == \
        urlparse(idp.sso).path


# --- admin API ------------------------------------------------------------------------------

def test_create_by_fields_defaults_get_list_patch_put(api_client, org, make_sp, keys):
    sp = make_sp(extra_acs=("/acs2",))
    before = datetime.now(timezone.utc) - timedelta(seconds=5)
    app = registered(api_client, org, sp, spCertificate=b64_der(keys.main.pem))
    assert isinstance(app["id"], int) and not isinstance(app["id"], bool) and app["id"] > 0
    assert app["entityId"] == sp.entity_id
    assert app["acsUrls"] == sp.acs_urls and len(app["acsUrls"]) == 2
    assert app["sloUrl"] == sp.sls
    assert app["nameIdFormat"] == "emailAddress"
    assert (app["signResponse"], app["signAssertion"], app["wantAuthnRequestsSigned"],
            app["allowIdpInitiated"], app["enabled"]) == (True, True, False, False, True)
    assert app["defaultRelayState"] is None
    assert app["attributeMapping"] == DEFAULT_MAPPING
    # base64 DER in, PEM out.
    assert app["spCertificate"].startswith("-----BEGIN CERTIFICATE-----"), app
    assert der_of(app["spCertificate"]) == keys.main.der
    assert "metadataXml" not in app
    created = instant(app["createdAt"])
    assert before <= created <= datetime.now(timezone.utc) + timedelta(seconds=5)
    assert instant(app["updatedAt"]) >= created

    assert get_app(api_client, org, app["id"]) == app
    page = list_apps(api_client, org)
    assert [a for a in page["data"] if a["id"] == app["id"]] == [app]

    patched = update_app(api_client, org, app["id"], {"name": "Renamed app",
                                                       "allowIdpInitiated": True})
    assert (patched["name"], patched["allowIdpInitiated"]) == ("Renamed app", True)
    untouched = {k: v for k, v in app.items()
                 if k not in ("name", "allowIdpInitiated", "updatedAt")}
    assert {k: patched[k] for k in untouched} == untouched
    assert instant(patched["updatedAt"]) >= instant(app["updatedAt"])
    assert get_app(api_client, org, app["id"]) == patched

    # PUT has the same merge semantics: absent fields keep their values.
    put = update_app(api_client, org, app["id"], {"nameIdFormat": "persistent",
                                                   "defaultRelayState": "/home"}, method="PUT")
    assert (put["nameIdFormat"], put["defaultRelayState"]) == ("persistent", "/home")
    assert (put["name"], put["allowIdpInitiated"], put["acsUrls"]) == (
        "Renamed app", True, sp.acs_urls)
    assert get_app(api_client, org, app["id"]) == put


def test_create_from_sp_metadata(api_client, org, make_sp, keys):
    sp = make_sp(authn_requests_signed=True, name_id_format=NAMEID_FORMAT_PERSISTENT)
    metadata = sp.metadata_xml()
    assert "AuthnRequestsSigned=\"true\"" in metadata, metadata
    app = create_app(api_client, org, {"name": "From metadata", "metadataXml": metadata})
    assert app["entityId"] == sp.entity_id
    assert app["acsUrls"] == [sp.acs]
    assert app["sloUrl"] == sp.sls
    assert der_of(app["spCertificate"]) == keys.main.der
    assert app["wantAuthnRequestsSigned"] is True
    assert app["nameIdFormat"] == "persistent"
    assert "metadataXml" not in app
    assert get_app(api_client, org, app["id"]) == app

    # Only HTTP-POST ACS URLs are taken; the Redirect-binding SLS URL is preferred.
    mixed = make_sp(other_endpoints=True)
    metadata = mixed.metadata_xml()
    assert "/acs-artifact" in metadata and "/sls-post" in metadata, metadata
    app = create_app(api_client, org, {"name": "Mixed bindings", "metadataXml": metadata})
    assert (app["acsUrls"], app["sloUrl"]) == ([mixed.acs], mixed.sls), app

    # Explicit body fields win over what the metadata says.
    other = make_sp(name_id_format=NAMEID_FORMAT_PERSISTENT)
    app = create_app(api_client, org, {
        "name": "Metadata with overrides", "metadataXml": other.metadata_xml(),
        "nameIdFormat": "transient", "acsUrls": ["https://override.example.test/acs"]})
    assert app["entityId"] == other.entity_id
    assert (app["nameIdFormat"], app["acsUrls"]) == (
        "transient", ["https://override.example.test/acs"])
    assert app["sloUrl"] == other.sls and app["wantAuthnRequestsSigned"] is False


def test_duplicate_entity_id_is_409(api_client, org, make_sp):
    sp = make_sp()
    first = registered(api_client, org, sp)
    refused_admin(lambda: send(api_client, "POST", APPS, org, body=app_body(sp)),
                  409, "duplicate_resource")
    refused_admin(lambda: send(api_client, "POST", APPS, org,
                               body={"name": "Same SP", "metadataXml": sp.metadata_xml()}),
                  409, "duplicate_resource")
    second = registered(api_client, org, make_sp())
    refused_admin(lambda: send(api_client, "PATCH", APP, org,
                               path_params={"appId": str(second["id"])},
                               body={"entityId": sp.entity_id}), 409, "duplicate_resource")
    assert [a["id"] for a in list_apps(api_client, org)["data"]
            if a["entityId"] == sp.entity_id] == [first["id"]]


def test_unknown_app_is_404(api_client, org):
    params = {"appId": "987654321"}
    for method, body in (("GET", None), ("PATCH", {"name": "x"}), ("PUT", {"name": "x"}),
                         ("DELETE", None)):
        refused_admin(lambda: send(api_client, method, APP, org, path_params=params, body=body),
                      404, "resource_not_found")


@pytest.mark.parametrize("change, field", [
    ({"name": None}, "name"),
    ({"name": "x" * 101}, "name"),
    ({"entityId": None}, "entityId"),
    ({"acsUrls": None}, "acsUrls"),
    ({"acsUrls": []}, "acsUrls"),
    ({"acsUrls": ["javascript:alert(1)"]}, "acsUrls"),
    ({"nameIdFormat": "kerberos"}, "nameIdFormat"),
    ({"attributeMapping": {"mail": "password_hash"}}, "attributeMapping"),
    ({"attributeMapping": ["email"]}, "attributeMapping"),
    ({"signResponse": "yes"}, "signResponse"),
    ({"spCertificate": "not a certificate"}, "spCertificate"),
])
def test_invalid_bodies_are_422(api_client, org, make_sp, change, field):
    sp = make_sp()
    body = {k: v for k, v in {**app_body(sp), **change}.items() if v is not None}
    invalid(api_client, org, body, field)
    assert sp.entity_id not in {a["entityId"] for a in list_apps(api_client, org)["data"]}


def test_signed_requests_need_a_certificate(api_client, org, make_sp):
    sp = make_sp()
    with pytest.raises(ApiException) as info:
        send(api_client, "POST", APPS, org, body=app_body(sp, wantAuthnRequestsSigned=True))
    details = error_of(info.value, 422, "validation_error").get("details")
    assert isinstance(details, dict) and (
        "spCertificate" in details or "wantAuthnRequestsSigned" in details), details
    app = registered(api_client, org, sp)
    with pytest.raises(ApiException) as info:
        send(api_client, "PATCH", APP, org, path_params={"appId": str(app["id"])},
             body={"wantAuthnRequestsSigned": True})
    error_of(info.value, 422, "validation_error")
    assert get_app(api_client, org, app["id"])["wantAuthnRequestsSigned"] is False


def test_bad_metadata_is_422(api_client, org, make_sp):
    sp = make_sp()
    good = sp.metadata_xml()
    body_xml = re.sub(r"^<\?xml[^>]*\?>\s*", "", good)
    doctype = ('<?xml version="1.0"?>\n<!DOCTYPE md:EntityDescriptor [\n'
               '  <!ENTITY x "y">\n]>\n' + body_xml)
    external = ('<?xml version="1.0"?>\n<!DOCTYPE md:EntityDescriptor [\n'
                '  <!ENTITY x SYSTEM "file:///etc/passwd">\n]>\n' + body_xml)
    for metadata in (doctype, external, "<md:EntityDescriptor", "not xml at all",
                     '<foo xmlns="urn:example"/>'):
        invalid(api_client, org, {"name": "Bad metadata", "metadataXml": metadata},
                "metadataXml")
    # Metadata without an entityID (and none in the body).
    with pytest.raises(ApiException) as info:
        send(api_client, "POST", APPS, org, body={
            "name": "No entity", "metadataXml": good.replace(sp.entity_id, "")})
    details = error_of(info.value, 422, "validation_error").get("details")
    assert isinstance(details, dict) and (
        "metadataXml" in details or "entityId" in details), details
    assert sp.entity_id not in {a["entityId"] for a in list_apps(api_client, org)["data"]}


def test_without_credential_is_401(lumod, api_client, org, make_sp):
    app = registered(api_client, org, make_sp())
    anonymous = ApiClient(Configuration(host=lumod.base))
    for method, path, params, body in (
            ("GET", APPS, None, None), ("POST", APPS, None, app_body(make_sp())),
            ("GET", APP, {"appId": str(app["id"])}, None),
            ("PATCH", APP, {"appId": str(app["id"])}, {"name": "x"}),
            ("DELETE", APP, {"appId": str(app["id"])}, None), ("GET", IDP, None, None)):
        with pytest.raises(UnauthorizedException) as info:
            send(anonymous, method, path, org, path_params=params, body=body, auth=())
        assert error_body(info.value)["status"] == 401
    assert get_app(api_client, org, app["id"]) == app


def test_another_orgs_key_cannot_see_the_app(api_client, org, make_sp, new_org):
    sp = make_sp()
    app = registered(api_client, org, sp)
    other = new_org()
    params = {"appId": str(app["id"])}
    for method, path, p, body in (("GET", APP, params, None), ("GET", APPS, None, None),
                                  ("PATCH", APP, params, {"name": "stolen"}),
                                  ("DELETE", APP, params, None)):
        with pytest.raises(ApiException) as info:
            send(other.client, method, path, org, path_params=p, body=body)
        assert info.value.status in (401, 403, 404), (info.value.status, info.value.body)
        error_body(info.value)
    # In its own org the key finds no such app, and may register the same entityId.
    refused_admin(lambda: send(other.client, "GET", APP, other.slug, path_params=params),
                  404, "resource_not_found")
    assert list_apps(other.client, other.slug)["data"] == []
    theirs = create_app(other.client, other.slug, app_body(sp))
    assert theirs["entityId"] == sp.entity_id
    assert get_app(api_client, org, app["id"]) == app


def test_delete_then_404_and_sso_is_refused(lumod, api_client, org, idp, make_sp, oauth,
                                            user):
    sp = make_sp()
    app = registered(api_client, org, sp)
    browser = signed_in_browser(oauth, user)
    _, url = sp.redirect_request()
    saml_post_form(browser.get(url, allow_redirects=False, timeout=TIMEOUT))

    resp = send(api_client, "DELETE", APP, org, path_params={"appId": str(app["id"])})
    # Like every admin family: 200 with a message.
    assert resp.status_code == 200, (resp.status_code, resp.raw_data)
    assert json.loads(resp.raw_data)["message"] == "SAML app deleted", resp.raw_data
    for method in ("GET", "DELETE"):
        refused_admin(lambda: send(api_client, method, APP, org,
                                   path_params={"appId": str(app["id"])}),
                      404, "resource_not_found")
    assert app["id"] not in [a["id"] for a in list_apps(api_client, org)["data"]]
    _, url = sp.redirect_request()
    assert_refused(browser.get(url, allow_redirects=False, timeout=TIMEOUT), sp)


# --- SP-initiated SSO -------------------------------------------------------------------------

def check_response_xml(root, sp, acs, req_id, idp):
    """What the contract says of a Response beyond what pysaml2 verifies."""
    assert root.tag == f"{{{NS['samlp']}}}Response", root.tag
    assert root.get("Destination") == acs
    if req_id:
        assert root.get("InResponseTo") == req_id
    else:
        assert root.get("InResponseTo") is None
    assert [i.text for i in children(root, "saml:Issuer")] == [idp.entity_id]
    status = children(children(root, "samlp:Status")[0], "samlp:StatusCode")[0]
    assert status.get("Value") == STATUS_SUCCESS
    assertions = children(root, "saml:Assertion")
    assert len(assertions) == 1
    assertion = assertions[0]
    issued = instant(assertion.get("IssueInstant"))
    assert abs((datetime.now(timezone.utc) - issued).total_seconds()) < 60
    conditions = children(assertion, "saml:Conditions")[0]
    not_before, not_after = instant(conditions.get("NotBefore")), instant(
        conditions.get("NotOnOrAfter"))
    assert not_before <= issued + timedelta(seconds=1), (conditions.attrib, issued)
    assert issued < not_after <= issued + timedelta(minutes=5, seconds=5), (
        conditions.attrib, issued)
    audiences = [a.text for r in children(conditions, "saml:AudienceRestriction")
                 for a in children(r, "saml:Audience")]
    assert audiences == [sp.entity_id]
    subject = children(assertion, "saml:Subject")[0]
    data = children(children(subject, "saml:SubjectConfirmation")[0],
                    "saml:SubjectConfirmationData")[0]
    assert data.get("Recipient") == acs
    assert data.get("InResponseTo") == req_id
    assert instant(data.get("NotOnOrAfter")) <= issued + timedelta(minutes=5, seconds=5)
    statements = children(assertion, "saml:AuthnStatement")
    assert len(statements) == 1 and statements[0].get("SessionIndex"), statements
    for attribute in assertion.iter(f"{{{NS['saml']}}}Attribute"):
        assert attribute.get("NameFormat") == BASIC, attribute.attrib
    return assertion


def check_signature(element):
    """An enveloped signature, RSA-SHA256 over exclusive c14n, of this element."""
    signatures = children(element, "ds:Signature")
    assert len(signatures) == 1, [c.tag for c in element]
    info = children(signatures[0], "ds:SignedInfo")[0]
    assert children(info, "ds:CanonicalizationMethod")[0].get("Algorithm") == EXC_C14N
    assert children(info, "ds:SignatureMethod")[0].get("Algorithm") == SIG_RSA_SHA256
    reference = children(info, "ds:Reference")[0]
    assert reference.get("URI") == "#" + element.get("ID")
    assert children(reference, "ds:DigestMethod")[0].get("Algorithm") == DIGEST_SHA256


def test_sp_initiated_redirect_binding_with_login_then_session(lumod, api_client, org, idp,
                                                               make_sp, user):
    sp = make_sp()
    registered(api_client, org, sp)
    browser = requests.Session()
    req_id, url = sp.redirect_request(relay_state="rs-123")
    page = browser.get(url, allow_redirects=False, timeout=TIMEOUT)
    assert page.status_code == 200, (page.status_code, page.text[:2000])
    assert not browser.cookies.get("lumo_session")
    answer = sign_in(lumod, org, browser, page, user, urlparse(idp.sso).path)
    action, fields = saml_post_form(answer)
    assert action == sp.acs
    assert fields.get("RelayState") == "rs-123"

    resp = sp.parse(fields["SAMLResponse"], req_id)
    assert resp.name_id.text == user.email
    assert resp.name_id.format == NAMEID_FORMAT_EMAILADDRESS
    assert resp.ava == {"email": [user.email], "givenName": ["Ada"], "surname": ["Lovelace"],
                        "displayName": ["Ada Lovelace"]}, resp.ava
    root = decoded(fields["SAMLResponse"])
    assertion = check_response_xml(root, sp, sp.acs, req_id, idp)
    check_signature(root)
    check_signature(assertion)

    # The session is established: the next request is answered at once.
    req2, url2 = sp.redirect_request(relay_state="second")
    again = browser.get(url2, allow_redirects=False, timeout=TIMEOUT)
    action2, fields2 = saml_post_form(again)
    assert (action2, fields2.get("RelayState")) == (sp.acs, "second")
    resp2 = sp.parse(fields2["SAMLResponse"], req2)
    assert resp2.name_id.text == user.email
    # A response is bound to its request and is not a replay of the first.
    assert resp2.response.id != resp.response.id
    assert resp2.assertion.id != resp.assertion.id


def test_second_registered_acs_url_is_honoured(api_client, org, idp, make_sp, oauth, user):
    sp = make_sp(extra_acs=("/acs-two",))
    registered(api_client, org, sp)
    browser = signed_in_browser(oauth, user)
    second = sp.acs_urls[1]
    req_id, url = sp.redirect_request(assertion_consumer_service_url=second)
    action, fields = saml_post_form(browser.get(url, allow_redirects=False, timeout=TIMEOUT))
    assert action == second
    sp.parse(fields["SAMLResponse"], req_id)
    check_response_xml(decoded(fields["SAMLResponse"]), sp, second, req_id, idp)


def test_sp_initiated_post_binding_signed_request(lumod, api_client, org, idp, make_sp, keys,
                                                  user):
    sp = make_sp(authn_requests_signed=True)
    registered(api_client, org, sp, wantAuthnRequestsSigned=True, spCertificate=keys.main.pem)
    browser = requests.Session()
    req_id, action, form = sp.post_request(relay_state="post-rs", sign=True)
    request_xml = xml(base64.b64decode(form["SAMLRequest"]))
    check_signature(request_xml)  # pysaml2 signed it, RSA-SHA256
    page = browser.post(action, data=form, allow_redirects=False, timeout=TIMEOUT)
    answer = sign_in(lumod, org, browser, page, user, urlparse(idp.sso).path)
    acs, fields = saml_post_form(answer)
    assert (acs, fields.get("RelayState")) == (sp.acs, "post-rs")
    resp = sp.parse(fields["SAMLResponse"], req_id)
    assert resp.name_id.text == user.email
    check_response_xml(decoded(fields["SAMLResponse"]), sp, sp.acs, req_id, idp)

    # Signed-in now: a signed POST request is answered at once, a signed Redirect one too.
    req_id, action, form = sp.post_request(relay_state="again", sign=True)
    acs, fields = saml_post_form(browser.post(action, data=form, allow_redirects=False,
                                              timeout=TIMEOUT))
    assert (acs, fields.get("RelayState")) == (sp.acs, "again")
    sp.parse(fields["SAMLResponse"], req_id)
    req_id, url = sp.redirect_request(relay_state="signed-redirect", sign=True)
    assert "&Signature=" in url and "&SigAlg=" in url, url
    acs, fields = saml_post_form(browser.get(url, allow_redirects=False, timeout=TIMEOUT))
    assert fields.get("RelayState") == "signed-redirect"
    sp.parse(fields["SAMLResponse"], req_id)


def test_unsigned_post_request_without_relay_state(api_client, org, idp, make_sp, oauth, user):
    sp = make_sp()
    registered(api_client, org, sp)
    browser = signed_in_browser(oauth, user)
    req_id, action, form = sp.post_request(relay_state="")
    assert "RelayState" not in form
    acs, fields = saml_post_form(browser.post(action, data=form, allow_redirects=False,
                                              timeout=TIMEOUT))
    assert acs == sp.acs
    assert not fields.get("RelayState"), fields
    sp.parse(fields["SAMLResponse"], req_id)


@pytest.mark.parametrize("sign_response, sign_assertion", [(True, False), (False, True)])
def test_signing_flags(lumod, api_client, org, idp, make_sp, oauth, user, sign_response,
                       sign_assertion):
    sp = make_sp(want_response_signed=sign_response, want_assertions_signed=sign_assertion)
    registered(api_client, org, sp, signResponse=sign_response, signAssertion=sign_assertion)
    browser = signed_in_browser(oauth, user)
    req_id, _, fields, resp, _ = sso_redirect(lumod, org, idp, sp, user, browser=browser)
    assert resp.name_id.text == user.email
    root = decoded(fields["SAMLResponse"])
    assertion = children(root, "saml:Assertion")[0]
    if sign_response:
        check_signature(root)
    else:
        assert not children(root, "ds:Signature")
    if sign_assertion:
        check_signature(assertion)
    else:
        assert not children(assertion, "ds:Signature")


def test_encrypted_assertions_are_read_by_the_sp(lumod, api_client, org, idp, make_sp, keys,
                                                 oauth, user):
    # The SP encrypts with a key of its own (not its signing key), listed in its metadata.
    sp = make_sp(encryption_keypair=keys.other)
    metadata = sp.metadata_xml()
    assert 'use="encryption"' in metadata, metadata
    app = create_app(api_client, org, {"name": unique("Encrypted"), "metadataXml": metadata,
                                       "encryptAssertions": True})
    assert app["encryptAssertions"] is True, app
    assert der_of(app["encryptionCertificate"]) == der_of(keys.other.pem)
    browser = signed_in_browser(oauth, user)
    req_id, _, fields, resp, _ = sso_redirect(lumod, org, idp, sp, user, browser=browser)
    assert resp.name_id.text == user.email
    assert resp.ava["email"] == [user.email], resp.ava
    raw = base64.b64decode(fields["SAMLResponse"])
    assert user.email.encode() not in raw, "the assertion travels encrypted"
    root = xml(raw)
    assert not children(root, "saml:Assertion")
    assert len(children(root, "saml:EncryptedAssertion")) == 1
    check_signature(root)

    # Switched off: the assertion is sent in the clear again.
    plain = update_app(api_client, org, app["id"], {"encryptAssertions": False})
    assert plain["encryptAssertions"] is False and plain["encryptionCertificate"] is None
    _, _, fields, resp, _ = sso_redirect(lumod, org, idp, sp, user, browser=browser)
    assert children(decoded(fields["SAMLResponse"]), "saml:Assertion")
    # Asking for encryption without a certificate is refused.
    invalid(api_client, org, app_body(make_sp(), encryptAssertions=True), "encryptionCertificate")
    invalid(api_client, org, app_body(make_sp(), encryptionCertificate="not a certificate"),
            "encryptionCertificate")


# --- IdP-initiated SSO ----------------------------------------------------------------------

def test_idp_initiated(api_client, org, idp, make_sp, oauth, user):
    sp = make_sp(allow_unsolicited=True, extra_acs=("/acs-other",))
    app = registered(api_client, org, sp, allowIdpInitiated=True, defaultRelayState="/home")
    browser = signed_in_browser(oauth, user)
    resp = browser.get(f"{idp.init}/{app['id']}", params={"RelayState": "x"},
                       allow_redirects=False, timeout=TIMEOUT)
    action, fields = saml_post_form(resp)
    assert action == sp.acs  # the first ACS URL is the default
    assert fields.get("RelayState") == "x"
    parsed = sp.parse(fields["SAMLResponse"])
    assert parsed.name_id.text == user.email
    assert parsed.ava["email"] == [user.email]
    root = decoded(fields["SAMLResponse"])
    check_response_xml(root, sp, sp.acs, None, idp)
    check_signature(root)

    # Without a RelayState, the app's defaultRelayState is sent.
    action, fields = saml_post_form(browser.get(f"{idp.init}/{app['id']}",
                                                allow_redirects=False, timeout=TIMEOUT))
    assert (action, fields.get("RelayState")) == (sp.acs, "/home")
    sp.parse(fields["SAMLResponse"])

    # An SP that does not accept unsolicited responses rejects it (pysaml2's own check).
    strict = make_sp(entity_id=sp.entity_id)
    with pytest.raises(UnsolicitedResponse):
        strict.parse(fields["SAMLResponse"])


def test_idp_initiated_needs_the_flag(api_client, org, idp, make_sp, oauth, user):
    sp = make_sp(allow_unsolicited=True)
    app = registered(api_client, org, sp)
    browser = signed_in_browser(oauth, user)
    url = f"{idp.init}/{app['id']}"
    assert_refused(browser.get(url, params={"RelayState": "x"}, allow_redirects=False,
                               timeout=TIMEOUT), sp)
    update_app(api_client, org, app["id"], {"allowIdpInitiated": True})
    action, fields = saml_post_form(browser.get(url, allow_redirects=False, timeout=TIMEOUT))
    assert action == sp.acs
    sp.parse(fields["SAMLResponse"])


# --- NameID formats and attributes ----------------------------------------------------------

def test_persistent_name_id_is_stable_and_opaque(lumod, api_client, org, idp, make_sp, oauth,
                                                 user):
    sp = make_sp()
    registered(api_client, org, sp, nameIdFormat="persistent")
    seen = []
    for browser in (signed_in_browser(oauth, user), None):  # a signed-in one, then a new login
        for _ in range(2):
            _, _, _, resp, browser = sso_redirect(lumod, org, idp, sp, user, browser=browser,
                                                  nameid_format=NAMEID_FORMAT_PERSISTENT)
            assert resp.name_id.format == NAMEID_FORMAT_PERSISTENT
            seen.append(resp.name_id.text)
    assert len(set(seen)) == 1, seen
    assert seen[0] and user.email not in seen[0] and user.id not in seen[0], seen

    # Another user gets another identifier.
    other = create_password_user(api_client, org)
    _, _, _, resp, _ = sso_redirect(lumod, org, idp, sp, other,
                                    nameid_format=NAMEID_FORMAT_PERSISTENT)
    assert resp.name_id.text not in (seen[0], other.email)

    # The identifier is per app and user: another app sees another one for the same user.
    second = make_sp()
    registered(api_client, org, second, nameIdFormat="persistent")
    _, _, _, resp, _ = sso_redirect(lumod, org, idp, second, user, browser=browser,
                                    nameid_format=NAMEID_FORMAT_PERSISTENT)
    assert resp.name_id.format == NAMEID_FORMAT_PERSISTENT
    assert resp.name_id.text not in (seen[0], user.email, user.id), (resp.name_id.text, seen)


def test_transient_name_id_changes_every_time(lumod, api_client, org, idp, make_sp, oauth, user):
    sp = make_sp()
    registered(api_client, org, sp, nameIdFormat="transient")
    browser = signed_in_browser(oauth, user)
    seen = []
    for _ in range(3):
        _, _, _, resp, _ = sso_redirect(lumod, org, idp, sp, user, browser=browser,
                                        nameid_format=NAMEID_FORMAT_TRANSIENT)
        assert resp.name_id.format == NAMEID_FORMAT_TRANSIENT
        seen.append(resp.name_id.text)
    assert len(set(seen)) == 3 and all(seen), seen
    assert user.email not in seen


def test_unspecified_name_id_is_the_email(lumod, api_client, org, idp, make_sp, oauth, user):
    sp = make_sp()
    registered(api_client, org, sp, nameIdFormat="unspecified")
    _, _, _, resp, _ = sso_redirect(lumod, org, idp, sp, user,
                                    browser=signed_in_browser(oauth, user))
    assert resp.name_id.text == user.email
    assert resp.name_id.format == NAMEID_FORMAT_UNSPECIFIED


def test_custom_attribute_mapping(lumod, api_client, org, idp, make_sp, oauth, user):
    groups = [create_group(api_client, org) for _ in range(2)]
    for group in groups:
        added = send(api_client, "POST", "/admin/groups/{groupId}/members", org,
                     path_params={"groupId": group.id}, body={"userIds": [user.id]})
        assert added.status_code == 200, added.raw_data
    sp = make_sp()
    assert user.username
    mapping = {"mail": "email", "uid": "username", "memberOf": "groups", "objectId": "id"}
    app = registered(api_client, org, sp, attributeMapping=mapping)
    assert app["attributeMapping"] == mapping
    _, _, fields, resp, _ = sso_redirect(lumod, org, idp, sp, user,
                                         browser=signed_in_browser(oauth, user))
    assert set(resp.ava) == set(mapping), resp.ava
    assert resp.ava["mail"] == [user.email]
    assert resp.ava["uid"] == [user.username]
    assert resp.ava["objectId"] == [user.id]
    by_slug = sorted(g.slug for g in groups)
    by_name = sorted(g.name for g in groups)
    assert sorted(resp.ava["memberOf"]) in (by_slug, by_name), (resp.ava, by_slug, by_name)
    names = [a.get("Name") for a in decoded(fields["SAMLResponse"]).iter(
        f"{{{NS['saml']}}}Attribute")]
    assert sorted(names) == sorted(mapping), names


# --- single logout --------------------------------------------------------------------------

def signed_in_via_sso(lumod, api_client, org, idp, make_sp, keys, user):
    """A registered SP (with its certificate) and a browser signed in through SSO."""
    sp = make_sp()
    registered(api_client, org, sp, spCertificate=keys.main.pem)
    _, _, _, resp, browser = sso_redirect(lumod, org, idp, sp, user)
    session_cookie = browser.cookies.get("lumo_session")
    assert session_cookie
    session_index = resp.assertion.authn_statement[0].session_index
    assert session_index
    return sp, browser, resp, session_index, session_cookie


def check_logout_answer(answer, org, sp, idp, logout_id, relay_state, browser, cookie):
    """The LogoutResponse: 302 to the SP's SLS URL over the Redirect binding, signed
    (RSA-SHA256) by the IdP, Success, bound to the request; and the session is over."""
    assert answer.status_code == 302, (answer.status_code, answer.text[:2000])
    location = answer.headers["Location"]
    assert location.startswith(sp.sls + "?"), location
    query = {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}
    assert set(query) == {"SAMLResponse", "RelayState", "SigAlg", "Signature"}, query
    assert query["RelayState"] == relay_state
    assert query["SigAlg"] == SIG_RSA_SHA256
    assert redirect_signature_ok(location, idp.admin["certificate"]), location
    forged = location.replace(f"RelayState={relay_state}", f"RelayState={relay_state}x")
    assert forged != location and not redirect_signature_ok(forged, idp.admin["certificate"])

    logout = sp.client.parse_logout_request_response(query["SAMLResponse"],
                                                     BINDING_HTTP_REDIRECT)
    assert logout is not None
    assert logout.response.status.status_code.value == STATUS_SUCCESS
    assert logout.response.in_response_to == logout_id
    assert logout.response.issuer.text == idp.entity_id
    assert logout.response.destination == sp.sls

    # The session is over: the browser, and its old cookie replayed, meet the login page.
    _, url = sp.redirect_request()
    after = browser.get(url, allow_redirects=False, timeout=TIMEOUT)
    assert is_login_page(after, org), (after.status_code, after.text[:2000])
    _, url = sp.redirect_request()
    replayed = requests.get(url, headers={"Cookie": f"lumo_session={cookie}"},
                            allow_redirects=False, timeout=TIMEOUT)
    assert is_login_page(replayed, org), (replayed.status_code, replayed.text[:2000])


def test_single_logout_redirect_binding(lumod, api_client, org, idp, make_sp, keys, user):
    sp, browser, resp, session_index, cookie = signed_in_via_sso(
        lumod, api_client, org, idp, make_sp, keys, user)
    logout_id, request = sp.client.create_logout_request(
        idp.slo, idp.entity_id, name_id=resp.name_id, session_indexes=[session_index],
        sign=False)
    info = sp.client.apply_binding(BINDING_HTTP_REDIRECT, str(request), idp.slo, "slo-rs",
                                   sign=True, sigalg=SIG_RSA_SHA256)
    url = dict(info["headers"])["Location"]
    assert url.startswith(idp.slo + "?SAMLRequest=") and "&Signature=" in url, url
    answer = browser.get(url, allow_redirects=False, timeout=TIMEOUT)
    check_logout_answer(answer, org, sp, idp, logout_id, "slo-rs", browser, cookie)


def test_single_logout_post_binding(lumod, api_client, org, idp, make_sp, keys, user):
    sp, browser, resp, session_index, cookie = signed_in_via_sso(
        lumod, api_client, org, idp, make_sp, keys, user)
    logout_id, request = sp.client.create_logout_request(
        idp.slo, idp.entity_id, name_id=resp.name_id, session_indexes=[session_index],
        sign=True, sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256)
    info = sp.client.apply_binding(BINDING_HTTP_POST, str(request), idp.slo, "slo-post")
    forms = forms_of(info["data"])
    assert len(forms) == 1 and forms[0]["action"] == idp.slo, info["data"]
    fields = forms[0]["inputs"]
    assert children(xml(base64.b64decode(fields["SAMLRequest"])), "ds:Signature")
    answer = browser.post(idp.slo, data=fields, allow_redirects=False, timeout=TIMEOUT)
    check_logout_answer(answer, org, sp, idp, logout_id, "slo-post", browser, cookie)


def test_single_logout_goes_round_the_sessions_other_apps(lumod, api_client, org, idp, make_sp,
                                                          keys, user):
    first, browser, resp, session_index, cookie = signed_in_via_sso(
        lumod, api_client, org, idp, make_sp, keys, user)
    second = make_sp(name_id_format=NAMEID_FORMAT_PERSISTENT)
    registered(api_client, org, second, spCertificate=keys.main.pem, nameIdFormat="persistent")
    _, _, _, resp2, _ = sso_redirect(lumod, org, idp, second, user, browser=browser)
    # An app without a logout URL is left out.
    third = make_sp()
    registered(api_client, org, third, sloUrl=None)
    sso_redirect(lumod, org, idp, third, user, browser=browser)

    logout_id, request = first.client.create_logout_request(
        idp.slo, idp.entity_id, name_id=resp.name_id, session_indexes=[session_index],
        sign=False)
    info = first.client.apply_binding(BINDING_HTTP_REDIRECT, str(request), idp.slo, "round-rs",
                                      sign=True, sigalg=SIG_RSA_SHA256)
    hop = browser.get(dict(info["headers"])["Location"], allow_redirects=False, timeout=TIMEOUT)
    # The session ended at once; the browser is sent to the second app with our request.
    assert hop.status_code == 302, (hop.status_code, hop.text[:2000])
    location = hop.headers["Location"]
    assert location.startswith(second.sls + "?SAMLRequest="), location
    assert redirect_signature_ok(location, idp.admin["certificate"]), location
    query = {k: v[0] for k, v in parse_qs(urlparse(location).query).items()}
    _, url = first.redirect_request()
    replayed = requests.get(url, headers={"Cookie": f"lumo_session={cookie}"},
                            allow_redirects=False, timeout=TIMEOUT)
    assert is_login_page(replayed, org), (replayed.status_code, replayed.text[:2000])

    # pysaml2 (the second app) reads it: its own NameID for the user, our session index.
    asked = second.client.parse_logout_request(query["SAMLRequest"], BINDING_HTTP_REDIRECT)
    assert asked.message.issuer.text == idp.entity_id
    assert asked.message.destination == second.sls
    assert asked.message.name_id.text == resp2.name_id.text
    assert asked.message.name_id.format == NAMEID_FORMAT_PERSISTENT
    assert [i.text for i in asked.message.session_index] == [session_index]

    # A forged or unrelated answer is refused and the round goes on waiting.
    refused = browser.get(f"{idp.slo}?SAMLResponse=x&RelayState=slc_unknown",
                          allow_redirects=False, timeout=TIMEOUT)
    assert refused.status_code == 400, refused.status_code

    # Its answer brings the browser back; the last hop answers the first app.
    answer = second.client.create_logout_response(asked.message, [BINDING_HTTP_REDIRECT])
    info = second.client.apply_binding(BINDING_HTTP_REDIRECT, str(answer), idp.slo,
                                       query["RelayState"], response=True, sign=True,
                                       sigalg=SIG_RSA_SHA256)
    back = browser.get(dict(info["headers"])["Location"], allow_redirects=False, timeout=TIMEOUT)
    check_logout_answer(back, org, first, idp, logout_id, "round-rs", browser, cookie)
    # The round is over: its answer cannot be replayed.
    again = browser.get(dict(info["headers"])["Location"], allow_redirects=False,
                        timeout=TIMEOUT)
    assert again.status_code == 400, again.status_code


# --- requests the IdP refuses ---------------------------------------------------------------

def replace_param(url: str, name: str, value: str) -> str:
    """The URL with one query parameter's raw value replaced (the others byte for byte)."""
    head, query = url.split("?", 1)
    parts = []
    for part in query.split("&"):
        key = part.split("=", 1)[0]
        parts.append(f"{key}={quote(value, safe='')}" if key == name else part)
    return head + "?" + "&".join(parts)


def raw_param(url: str, name: str) -> str:
    for part in urlparse(url).query.split("&"):
        key, _, value = part.partition("=")
        if key == name:
            return unquote(value)
    raise KeyError(name)


@pytest.fixture
def signed_in(oauth, user):
    return signed_in_browser(oauth, user)


def test_unknown_sp_is_refused(api_client, org, make_sp, signed_in):
    stranger = make_sp()
    _, url = stranger.redirect_request()
    assert_refused(signed_in.get(url, allow_redirects=False, timeout=TIMEOUT), stranger)
    _, action, form = stranger.post_request()
    assert_refused(signed_in.post(action, data=form, allow_redirects=False, timeout=TIMEOUT),
                   stranger)
    # Signed out too: no login page for an SP nobody registered.
    _, url = stranger.redirect_request()
    assert_refused(requests.get(url, allow_redirects=False, timeout=TIMEOUT), stranger)


def test_unregistered_acs_url_is_refused(api_client, org, make_sp, signed_in):
    sp = make_sp()
    registered(api_client, org, sp)
    _, url = sp.redirect_request()
    saml_post_form(signed_in.get(url, allow_redirects=False, timeout=TIMEOUT))  # control
    for acs in ("https://evil.example.test/acs", sp.acs + "/../evil", sp.acs + "x",
                sp.acs.replace("https://", "http://")):
        _, url = sp.redirect_request(assertion_consumer_service_url=acs)
        resp = signed_in.get(url, allow_redirects=False, timeout=TIMEOUT)
        assert_refused(resp, sp)
        assert "evil.example.test" not in (resp.headers.get("Location") or "")
        _, action, form = sp.post_request(assertion_consumer_service_url=acs)
        assert_refused(signed_in.post(action, data=form, allow_redirects=False,
                                      timeout=TIMEOUT), sp)


def test_garbage_requests_are_refused(lumod, api_client, org, idp, make_sp, signed_in):
    sp = make_sp()
    registered(api_client, org, sp)
    redirect_values = [
        "%%%not-base64%%%",
        base64.b64encode(b"\x00\xffnot deflate at all\x13\x37").decode(),
        deflate_b64(b"this is not xml"),
        deflate_b64(b"<samlp:AuthnRequest xmlns:samlp="),
        deflate_b64(b'<foo xmlns="urn:example:not-saml"/>'),
        "",
    ]
    for value in redirect_values:
        resp = signed_in.get(idp.sso, params={"SAMLRequest": value, "RelayState": "r"},
                             allow_redirects=False, timeout=TIMEOUT)
        assert_refused(resp, sp)
    assert_refused(signed_in.get(idp.sso, allow_redirects=False, timeout=TIMEOUT), sp)
    post_values = [
        "!!!not base64!!!",
        base64.b64encode(b"this is not xml").decode(),
        base64.b64encode(b'<foo xmlns="urn:example:not-saml"/>').decode(),
    ]
    for value in post_values:
        resp = signed_in.post(idp.sso, data={"SAMLRequest": value}, allow_redirects=False,
                              timeout=TIMEOUT)
        assert_refused(resp, sp)
    assert_refused(signed_in.post(idp.sso, data={}, allow_redirects=False, timeout=TIMEOUT), sp)


def doctype_requests(sp: SP, entity_file: str):
    """AuthnRequests of a registered SP carrying a DOCTYPE: entities that, if expanded, would
    make the Issuer right (internal and external), and a billion laughs."""
    _, url = sp.redirect_request()
    request = inflate_b64(raw_param(url, "SAMLRequest")).decode()
    request = re.sub(r"^<\?xml[^>]*\?>\s*", "", request)
    issuer = f">{sp.entity_id}</"
    assert request.count(issuer) == 1, request
    root_tag = re.match(r"<([\w:]+)", request).group(1)

    internal = (f'<?xml version="1.0"?>\n<!DOCTYPE {root_tag} [\n'
                f'  <!ENTITY iss "{sp.entity_id}">\n]>\n'
                + request.replace(issuer, ">&iss;</"))
    external = (f'<?xml version="1.0"?>\n<!DOCTYPE {root_tag} [\n'
                f'  <!ENTITY iss SYSTEM "file://{entity_file}">\n]>\n'
                + request.replace(issuer, ">&iss;</"))
    lol = ['  <!ENTITY lol0 "lollollollollollollollollollol">']
    for i in range(1, 10):
        lol.append(f'  <!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">')
    laughs = (f'<?xml version="1.0"?>\n<!DOCTYPE {root_tag} [\n' + "\n".join(lol) + "\n]>\n"
              + re.sub(r"^<([\w:]+)", r'<\1 ProviderName="&lol9;"', request, count=1))
    return {"internal": internal, "external": external, "laughs": laughs}


def test_doctype_and_entities_are_refused_without_hanging(lumod, api_client, org, idp,
                                                          make_sp, signed_in, tmp_path):
    sp = make_sp()
    registered(api_client, org, sp)
    entity_file = tmp_path / "entity-id.txt"
    entity_file.write_text(sp.entity_id)
    for name, payload in doctype_requests(sp, str(entity_file)).items():
        for binding in ("redirect", "post"):
            started = time.monotonic()
            if binding == "redirect":
                resp = signed_in.get(idp.sso, params={"SAMLRequest": deflate_b64(
                    payload.encode()), "RelayState": "r"}, allow_redirects=False, timeout=20)
            else:
                resp = signed_in.post(idp.sso, data={
                    "SAMLRequest": base64.b64encode(payload.encode()).decode()},
                    allow_redirects=False, timeout=20)
            assert time.monotonic() - started < 10, (name, binding)
            assert_refused(resp, sp)
            assert "lollollol" not in resp.text, (name, binding)
    # Still serving, and the same request without the DOCTYPE is answered.
    assert requests.get(idp.metadata_url, timeout=TIMEOUT).status_code == 200
    _, url = sp.redirect_request()
    saml_post_form(signed_in.get(url, allow_redirects=False, timeout=TIMEOUT))


def test_signature_required_and_checked(api_client, org, idp, make_sp, keys, signed_in):
    sp = make_sp(authn_requests_signed=True)
    registered(api_client, org, sp, wantAuthnRequestsSigned=True, spCertificate=keys.main.pem)

    # Control: a correctly signed request is answered.
    req_id, url = sp.redirect_request(sign=True)
    _, fields = saml_post_form(signed_in.get(url, allow_redirects=False, timeout=TIMEOUT))
    sp.parse(fields["SAMLResponse"], req_id)

    # Unsigned, both bindings.
    _, url = sp.redirect_request(sign=False)
    assert "Signature=" not in url
    assert_refused(signed_in.get(url, allow_redirects=False, timeout=TIMEOUT), sp)
    _, action, form = sp.post_request(sign=False)
    assert_refused(signed_in.post(action, data=form, allow_redirects=False, timeout=TIMEOUT),
                   sp)

    # Redirect: a tampered Signature, a RelayState changed after signing, SigAlg removed.
    _, url = sp.redirect_request(sign=True)
    signature = bytearray(base64.b64decode(raw_param(url, "Signature")))
    signature[len(signature) // 2] ^= 0x01
    tampered = replace_param(url, "Signature", base64.b64encode(bytes(signature)).decode())
    assert_refused(signed_in.get(tampered, allow_redirects=False, timeout=TIMEOUT), sp)
    _, url = sp.redirect_request(relay_state="signed-state", sign=True)
    moved = replace_param(url, "RelayState", "other-state")
    assert_refused(signed_in.get(moved, allow_redirects=False, timeout=TIMEOUT), sp)
    _, url = sp.redirect_request(sign=True)
    no_alg = "&".join(p for p in url.split("&") if not p.startswith("SigAlg="))
    assert_refused(signed_in.get(no_alg, allow_redirects=False, timeout=TIMEOUT), sp)

    # Signed by a key other than the registered certificate's.
    intruder = make_sp(keys.other, entity_id=sp.entity_id, authn_requests_signed=True)
    _, url = intruder.redirect_request(sign=True)
    assert_refused(signed_in.get(url, allow_redirects=False, timeout=TIMEOUT), sp)
    _, action, form = intruder.post_request(sign=True)
    assert_refused(signed_in.post(action, data=form, allow_redirects=False, timeout=TIMEOUT),
                   sp)

    # POST: the signed XML changed after signing.
    _, action, form = sp.post_request(sign=True)
    request = base64.b64decode(form["SAMLRequest"]).decode()
    stamp = re.search(r'IssueInstant="([^"]+)"', request).group(1)
    later = (instant(stamp) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    form["SAMLRequest"] = base64.b64encode(
        request.replace(f'IssueInstant="{stamp}"', f'IssueInstant="{later}"', 1).encode()
    ).decode()
    assert_refused(signed_in.post(action, data=form, allow_redirects=False, timeout=TIMEOUT),
                   sp)


def test_disabled_app_is_refused(api_client, org, idp, make_sp, signed_in):
    sp = make_sp(allow_unsolicited=True)
    app = registered(api_client, org, sp, enabled=False, allowIdpInitiated=True)
    assert app["enabled"] is False
    _, url = sp.redirect_request()
    assert_refused(signed_in.get(url, allow_redirects=False, timeout=TIMEOUT), sp)
    _, action, form = sp.post_request()
    assert_refused(signed_in.post(action, data=form, allow_redirects=False, timeout=TIMEOUT),
                   sp)
    assert_refused(signed_in.get(f"{idp.init}/{app['id']}", allow_redirects=False,
                                 timeout=TIMEOUT), sp)
    update_app(api_client, org, app["id"], {"enabled": True})
    req_id, url = sp.redirect_request()
    _, fields = saml_post_form(signed_in.get(url, allow_redirects=False, timeout=TIMEOUT))
    sp.parse(fields["SAMLResponse"], req_id)
