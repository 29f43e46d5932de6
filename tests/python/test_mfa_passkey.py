"""Passkeys (WebAuthn) through the official generated client: registration of a software
authenticator, step-up challenges answered with signed assertions, the approved step-up used
as `X-MFA-Challenge`, and what is refused (an IP origin, a replayed assertion, a counter that
did not rise, another origin, an unregistered key, malformed credentials).

`SoftPasskey` is the Python port of the Rust test authenticator (tests/src/passkey.rs): an
ES256 key (the `cryptography` package, which `lumoauth[aauth]` brings), CBOR written by hand,
a "none" attestation, and authenticator data sha256(rpId) | flags | counter
[| aaguid | credential id length | credential id | COSE key], flags UP+UV(+AT).

WebAuthn's relying party is the host the request reached, and an IP address has no RP id, so
every passkey call goes to `http://localhost:PORT` (the port of the fixture's 127.0.0.1 URL),
the users sign in there too, and clientDataJSON names that origin.

The client cannot parse the 201 of `enroll_authenticator` (its oneOf
`EnrollAuthenticator201Response` matches several variants, see test_mfa.py): enrollment reads
the raw response and parses it with the concrete `PasskeyEnrollmentStarted` model.  The
contract names the pending passkey `passkey:pending`; the first test verifies by that name, the
others by the body's `authenticator_id` (the real `mfa_…` id), so each failure points at one
thing.
"""

import base64
import hashlib
import json
import secrets
from datetime import datetime

import pytest

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from lumoauth_api_client import MfaApi
from lumoauth_api_client.exceptions import (
    ApiException, BadRequestException, ConflictException, ForbiddenException, NotFoundException,
    UnprocessableEntityException,
)
from lumoauth_api_client.rest import RESTResponse
from lumoauth_api_client.models import (
    CreateMfaChallengeRequest, EnrollAuthenticatorRequest, ListMyAuthenticatorsResponse,
    MfaAuthenticator, MfaChallenge, PasskeyEnrollmentStarted, TotpEnrollmentStarted,
    VerifyMfaChallengeRequest,
)

from org_fixtures import own_org_fixtures
from lumo_helpers import (
    OAuthHttp, bearer_client, create_oauth_client, create_password_user, error_body, error_of,
    send,
)

lumod, api_client, org, oauth, new_org = own_org_fixtures("passkey", "Passkey tests")

STEP_UP = "X-MFA-Challenge"
PENDING = "passkey:pending"
ES256 = -7

FLAGS_UP_UV = 0x01 | 0x04   # user present, user verified
FLAG_AT = 0x40              # attested credential data included


# --- a software authenticator -----------------------------------------------------------------

def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    text = text.rstrip("=")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def cbor_head(major: int, length: int) -> bytes:
    """A CBOR head (RFC 8949): major type and length/value."""
    if length < 24:
        return bytes([major << 5 | length])
    if length < 0x100:
        return bytes([major << 5 | 24, length])
    return bytes([major << 5 | 25]) + length.to_bytes(2, "big")


def cbor_int(value: int) -> bytes:
    """A small CBOR integer (-24..=23)."""
    return cbor_head(0, value) if value >= 0 else cbor_head(1, -1 - value)


def cbor_text(text: str) -> bytes:
    data = text.encode()
    return cbor_head(3, len(data)) + data


def cbor_bytes(data: bytes) -> bytes:
    return cbor_head(2, len(data)) + data


class SoftPasskey:
    """An ES256 platform authenticator with user verification. `counter` is the signature
    counter of the last assertion; `assert_as` lets a test send what a real authenticator must
    not (an old counter: a clone; another origin: a phishing page)."""

    def __init__(self, origin: str):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = secrets.token_bytes(32)
        self.counter = 0
        self.origin = origin
        self.user_handle = None

    @property
    def id(self) -> str:
        return b64(self.credential_id)

    def cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return (cbor_head(5, 5)
                + cbor_int(1) + cbor_int(2)        # kty: EC2
                + cbor_int(3) + cbor_int(ES256)    # alg: ES256
                + cbor_int(-1) + cbor_int(1)       # crv: P-256
                + cbor_int(-2) + cbor_bytes(numbers.x.to_bytes(32, "big"))
                + cbor_int(-3) + cbor_bytes(numbers.y.to_bytes(32, "big")))

    @staticmethod
    def client_data(kind: str, challenge: str, origin: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin,
                           "crossOrigin": False}, separators=(",", ":")).encode()

    def register(self, options: dict) -> dict:
        """The answer to PublicKeyCredentialCreationOptions (JSON): a "none" attestation."""
        self.user_handle = unb64(options["user"]["id"])
        auth_data = (hashlib.sha256(options["rp"]["id"].encode()).digest()
                     + bytes([FLAGS_UP_UV | FLAG_AT])
                     + self.counter.to_bytes(4, "big")
                     + bytes(16)                                   # AAGUID
                     + len(self.credential_id).to_bytes(2, "big")
                     + self.credential_id
                     + self.cose_key())
        attestation = (cbor_head(5, 3)
                       + cbor_text("fmt") + cbor_text("none")
                       + cbor_text("attStmt") + cbor_head(5, 0)
                       + cbor_text("authData") + cbor_bytes(auth_data))
        client_data = self.client_data("webauthn.create", options["challenge"], self.origin)
        return {
            "id": self.id,
            "rawId": self.id,
            "type": "public-key",
            "extensions": {},
            "response": {
                "attestationObject": b64(attestation),
                "clientDataJSON": b64(client_data),
            },
        }

    def assertion(self, options: dict) -> dict:
        """An assertion answering PublicKeyCredentialRequestOptions with the next counter."""
        self.counter += 1
        return self.assert_as(options, self.counter, self.origin)

    def assert_as(self, options: dict, counter: int, origin: str) -> dict:
        auth_data = (hashlib.sha256(options["rpId"].encode()).digest()
                     + bytes([FLAGS_UP_UV])
                     + counter.to_bytes(4, "big"))
        client_data = self.client_data("webauthn.get", options["challenge"], origin)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(),
                                  ec.ECDSA(hashes.SHA256()))
        return {
            "id": self.id,
            "rawId": self.id,
            "type": "public-key",
            "extensions": {},
            "response": {
                "authenticatorData": b64(auth_data),
                "clientDataJSON": b64(client_data),
                "signature": b64(signature),
                "userHandle": b64(self.user_handle) if self.user_handle is not None else None,
            },
        }


# --- fixtures and steps ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def local(lumod) -> str:
    """The public listener reached by name: http://localhost:PORT."""
    assert lumod.base.startswith("http://127.0.0.1:"), lumod.base
    return lumod.base.replace("127.0.0.1", "localhost", 1)


@pytest.fixture(scope="module")
def app_client(api_client, org):
    """An authorization-code client the users sign in through."""
    return create_oauth_client(api_client, org)


class Person:
    def __init__(self, user, token: str, local: str, ip: str):
        self.user = user
        self.token = token
        self.client = bearer_client(local, token)
        self.mfa = MfaApi(self.client)                          # http://localhost:PORT
        self.by_ip = MfaApi(bearer_client(ip, token))           # http://127.0.0.1:PORT


@pytest.fixture
def person(lumod, api_client, org, app_client, local):
    """A new password user signed in at http://localhost:PORT (hosted sign-in + code exchange,
    so the token is fresh and its issuer names the host the passkey calls reach)."""
    user = create_password_user(api_client, org)
    at_localhost = OAuthHttp(local, org)
    tokens = at_localhost.code_tokens(at_localhost.login(user.email), app_client)
    return Person(user, tokens["access_token"], local, lumod.base)


def start_passkey(mfa: MfaApi, org: str, headers=None):
    """POST ~/me/authenticators/passkey/enroll through the generated client's transport.
    Returns (the `PasskeyEnrollmentStarted`, the raw JSON); an error status raises the client's
    exception for it, as generated methods do."""
    raw = mfa.enroll_authenticator_without_preload_content(
        org, "passkey", EnrollAuthenticatorRequest(), _headers=headers)
    if raw.status >= 400:
        response = RESTResponse(raw)
        response.read()
        raise ApiException.from_response(http_resp=response, body=response.data.decode(),
                                         data=None)
    assert raw.status == 201, (raw.status, raw.data)
    body = json.loads(raw.data)
    started = PasskeyEnrollmentStarted.from_dict(body)
    assert (started.id, started.state) == (PENDING, "pending"), body
    assert isinstance(started.public_key, dict), body
    assert isinstance(body.get("authenticator_id"), str), body
    assert body["authenticator_id"].startswith("mfa_"), body
    return started, body


def check_active_passkey(verified, started_body: dict) -> MfaAuthenticator:
    assert isinstance(verified, MfaAuthenticator), verified
    assert verified.id == started_body["authenticator_id"], (verified, started_body)
    assert (verified.type, verified.state, verified.tier) == ("passkey", "active", 1), verified
    assert verified.tier_label == "Strongest" and "hwk" in verified.amr, verified
    assert isinstance(verified.activated_at, datetime)
    return verified


def enroll(mfa: MfaApi, org: str, key: SoftPasskey) -> MfaAuthenticator:
    """Registers `key` as a passkey, verifying it by its real id (`authenticator_id`)."""
    _, body = start_passkey(mfa, org)
    verified = mfa.verify_authenticator(org, body["authenticator_id"], VerifyMfaChallengeRequest(
        credential=key.register(body["public_key"])))
    return check_active_passkey(verified, body)


def passkey_challenge(mfa: MfaApi, org: str, credential_id: str) -> MfaChallenge:
    """A step-up challenge asking for a passkey (tier 1), with its request options."""
    challenge = mfa.create_mfa_challenge(org, CreateMfaChallengeRequest(
        purpose="step_up", min_tier=1))
    assert isinstance(challenge, MfaChallenge), challenge
    assert (challenge.purpose, challenge.status, challenge.delivery) == (
        "step_up", "issued", "webauthn"), challenge
    options = challenge.public_key
    assert isinstance(options, dict) and options.get("challenge"), challenge
    assert options["rpId"] == "localhost", options
    assert [c["id"] for c in options["allowCredentials"]] == [credential_id], options
    assert options["userVerification"] == "required", options
    return challenge


def answer(mfa: MfaApi, org: str, challenge_id: str, credential: dict) -> MfaChallenge:
    return mfa.verify_mfa_challenge(org, challenge_id,
                                    VerifyMfaChallengeRequest(credential=credential))


def raw_verify(person: Person, org: str, path: str, body: dict):
    """POST `path` with a body the client models cannot hold (e.g. a string credential),
    through the generated client's transport."""
    return send(person.client, "POST", path, org, body=body, auth=("BearerAuth",),
                types={"200": "MfaAuthenticator"})


# --- tests ----------------------------------------------------------------------------------

def test_registration_options_and_the_pending_alias(org, person, local):
    mfa = person.mfa
    listed = mfa.list_my_authenticators(org)
    assert isinstance(listed, ListMyAuthenticatorsResponse)
    assert "passkey" in listed.allowed_types, listed

    started, body = start_passkey(mfa, org)
    options = started.public_key
    assert options["rp"]["id"] == "localhost" and options["rp"].get("name"), options
    assert options["user"]["name"] == person.user.email, options
    assert options["user"]["displayName"], options
    assert len(unb64(options["user"]["id"])) == 16, options          # the user id's 128 bits
    assert len(unb64(options["challenge"])) >= 16, options
    assert ES256 in [p["alg"] for p in options["pubKeyCredParams"]], options
    assert all(p["type"] == "public-key" for p in options["pubKeyCredParams"]), options
    selection = options["authenticatorSelection"]
    assert selection["residentKey"] == "preferred", selection
    assert selection["userVerification"] == "required", selection
    assert not options.get("excludeCredentials"), options             # nothing registered yet
    assert isinstance(body.get("expires_at"), str), body

    pending = mfa.list_my_authenticators(org)
    assert pending.status == "at_risk", pending                       # pending is not protection

    # The contract's name for the newest pending passkey verifies it.
    key = SoftPasskey(local)
    verified = mfa.verify_authenticator(org, PENDING, VerifyMfaChallengeRequest(
        credential=key.register(options)))
    check_active_passkey(verified, body)
    assert verified.is_default is True, verified

    listed = mfa.list_my_authenticators(org)
    assert [(a.id, a.type, a.state) for a in listed.authenticators] == [
        (verified.id, "passkey", "active")], listed
    assert listed.default == verified.id and listed.status != "at_risk", listed

    # The registration was spent: the same answer again finds nothing pending by the alias,
    # and the passkey itself is already active.
    again = VerifyMfaChallengeRequest(credential=key.register(options))
    with pytest.raises(NotFoundException) as refused:
        mfa.verify_authenticator(org, PENDING, again)
    error_of(refused.value, 404, "resource_not_found")
    with pytest.raises(ConflictException) as refused:
        mfa.verify_authenticator(org, verified.id, again)
    assert refused.value.status == 409, refused.value.body


def test_step_up_with_a_passkey_and_refused_assertions(org, person, local):
    mfa = person.mfa
    key = SoftPasskey(local)
    passkey = enroll(mfa, org, key)

    # A step-up answered with the passkey; while issued it shows its request options.
    challenge = passkey_challenge(mfa, org, key.id)
    assert challenge.authenticator.id == passkey.id, challenge
    assert challenge.attempts_remaining == 5, challenge
    shown = mfa.get_mfa_challenge(org, challenge.id)
    assert isinstance(shown, MfaChallenge) and shown.status == "issued", shown
    assert shown.delivery == "webauthn", shown
    assert shown.public_key["challenge"] == challenge.public_key["challenge"], shown
    assert shown.authenticator.type == "passkey", shown
    assertion = key.assertion(challenge.public_key)
    approved = answer(mfa, org, challenge.id, assertion)
    assert isinstance(approved, MfaChallenge) and approved.status == "approved", approved
    shown = mfa.get_mfa_challenge(org, challenge.id)
    assert shown.status == "approved" and shown.public_key is None, shown
    used = next(a for a in mfa.list_my_authenticators(org).authenticators if a.id == passkey.id)
    assert isinstance(used.last_used_at, datetime), used

    # The same assertion on a new challenge: what it signed is the old challenge.
    second = passkey_challenge(mfa, org, key.id)
    assert second.public_key["challenge"] != challenge.public_key["challenge"]
    with pytest.raises(BadRequestException) as refused:
        answer(mfa, org, second.id, assertion)
    error_of(refused.value, 400, "invalid_code")
    # A clone of the key (its counter did not rise), another origin, an unregistered key.
    with pytest.raises(BadRequestException) as refused:
        answer(mfa, org, second.id, key.assert_as(second.public_key, key.counter, local))
    error_body(refused.value)
    with pytest.raises(BadRequestException) as refused:
        answer(mfa, org, second.id,
               key.assert_as(second.public_key, key.counter + 1, "http://evil.localhost:1"))
    error_body(refused.value)
    with pytest.raises(BadRequestException) as refused:
        answer(mfa, org, second.id, SoftPasskey(local).assertion(second.public_key))
    error_body(refused.value)
    assert mfa.get_mfa_challenge(org, second.id).status == "issued"
    # The real key still answers (an attempt is left).
    approved = answer(mfa, org, second.id, key.assertion(second.public_key))
    assert approved.status == "approved", approved

    # A second registration needs the step-up; its options exclude the registered key.
    with pytest.raises(ForbiddenException) as refused:
        start_passkey(mfa, org)
    error_of(refused.value, 403, "step_up_required")
    _, again = start_passkey(mfa, org, headers={STEP_UP: second.id})
    assert [c["id"] for c in again["public_key"]["excludeCredentials"]] == [key.id], again

    # Removing the passkey needs an approved step-up (here answered by the passkey itself).
    with pytest.raises(ForbiddenException) as refused:
        mfa.delete_authenticator(org, passkey.id)
    error_of(refused.value, 403, "step_up_required")
    third = passkey_challenge(mfa, org, key.id)
    assert answer(mfa, org, third.id, key.assertion(third.public_key)).status == "approved"
    assert mfa.delete_authenticator(org, passkey.id, x_mfa_challenge=third.id) is None
    assert [a.id for a in mfa.list_my_authenticators(org).authenticators
            if a.state == "active"] == []
    with pytest.raises(NotFoundException) as refused:
        mfa.create_mfa_challenge(org, CreateMfaChallengeRequest(purpose="step_up", min_tier=1))
    error_of(refused.value, 404, "no_factor_enrolled")


def test_ip_origins_and_malformed_credentials_are_refused(org, person, local):
    # Reached by IP address, WebAuthn has no RP id (the same token works on either host).
    assert person.by_ip.list_my_authenticators(org).authenticators == []
    with pytest.raises(UnprocessableEntityException) as refused:
        start_passkey(person.by_ip, org)
    body = error_of(refused.value, 422, "validation_error")
    assert "domain name" in json.dumps(body), body

    mfa = person.mfa
    started, body = start_passkey(mfa, org)
    pending_id = body["authenticator_id"]
    path = f"/me/authenticators/{pending_id}/verify"

    # A credential that is not an object (the client model cannot hold one: sent raw).
    for bad in ["a string", 7, [1]]:
        with pytest.raises(UnprocessableEntityException) as refused:
            raw_verify(person, org, path, {"credential": bad})
        error_of(refused.value, 422, "validation_error")
    # An object that is no WebAuthn credential.
    with pytest.raises(UnprocessableEntityException) as refused:
        mfa.verify_authenticator(org, pending_id,
                                 VerifyMfaChallengeRequest(credential={"id": "x"}))
    error_of(refused.value, 422, "validation_error")
    # Both a code and a credential.
    with pytest.raises(UnprocessableEntityException) as refused:
        mfa.verify_authenticator(org, pending_id,
                                 VerifyMfaChallengeRequest(code="123456", credential={}))
    error_of(refused.value, 422, "validation_error")

    key = SoftPasskey(local)
    credential = key.register(started.public_key)
    # A registration answer signed for another ceremony does not verify.
    stale = dict(started.public_key, challenge=b64(bytes(32)))
    with pytest.raises(BadRequestException) as refused:
        mfa.verify_authenticator(org, pending_id, VerifyMfaChallengeRequest(
            credential=SoftPasskey(local).register(stale)))
    error_of(refused.value, 400, "invalid_code")
    # A WebAuthn credential for an authenticator app.
    raw = mfa.enroll_authenticator_without_preload_content(org, "totp",
                                                           EnrollAuthenticatorRequest())
    assert raw.status == 201, (raw.status, raw.data)
    app = TotpEnrollmentStarted.from_json(raw.data.decode())
    with pytest.raises(UnprocessableEntityException) as refused:
        mfa.verify_authenticator(org, app.id, VerifyMfaChallengeRequest(credential=credential))
    error_of(refused.value, 422, "validation_error")
    # An unknown id; the real pending passkey still verifies.
    with pytest.raises(NotFoundException):
        mfa.verify_authenticator(org, "mfa_unknown",
                                 VerifyMfaChallengeRequest(credential=credential))
    verified = mfa.verify_authenticator(org, pending_id,
                                        VerifyMfaChallengeRequest(credential=credential))
    check_active_passkey(verified, body)

    # A challenge answered with neither a code nor a credential.
    challenge = passkey_challenge(mfa, org, key.id)
    with pytest.raises(UnprocessableEntityException) as refused:
        mfa.verify_mfa_challenge(org, challenge.id, VerifyMfaChallengeRequest())
    error_of(refused.value, 422, "validation_error")
    with pytest.raises(UnprocessableEntityException) as refused:
        send(person.client, "POST", "/mfa/challenges/{id}/verify", org,
             path_params={"id": challenge.id}, body={"credential": "a string"},
             auth=("BearerAuth",), types={"200": "MfaChallenge"})
    error_of(refused.value, 422, "validation_error")
    assert answer(mfa, org, challenge.id,
                  key.assertion(challenge.public_key)).status == "approved"
