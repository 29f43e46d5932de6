"""MFA through the official generated client: a user's own authenticators (TOTP enrollment,
challenges, recovery codes, step-up), the administrators' policy, coverage report,
authenticators and temporary access codes, and what is refused.  Every response is parsed
by the client's models.

TOTP codes are computed here (RFC 6238: HMAC-SHA1, 6 digits, 30 s steps).  The server takes
steps current-1..current+1 and each step only once, so `TotpApp.code` hands out increasing,
unused steps.

The client cannot parse the 201 of `enroll_authenticator`: its `EnrollAuthenticator201Response`
is a oneOf whose SMS, email and push variants (all fields optional) match a TOTP body as well,
so deserializing raises "Multiple matches".  Enrollment therefore reads the raw response and
parses it with the concrete `TotpEnrollmentStarted` model.
"""

import base64
import hashlib
import hmac
import re
import struct
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote

import pytest

from lumoauth_api_client import AdminMfaApi, MfaApi
from lumoauth_api_client.exceptions import (
    BadRequestException, ForbiddenException, NotFoundException, ServiceException,
    UnprocessableEntityException,
)
from lumoauth_api_client.models import (
    CreateMfaChallengeRequest, DeleteUserAuthenticatorResponse, EnrollAuthenticatorRequest,
    GenerateRecoveryCodesResponse, GetMfaCoverageReportResponse, GetMfaPolicyResponse,
    GetRecoveryCodeStatusResponse, IssueTemporaryAccessCodeRequest,
    IssueTemporaryAccessCodeResponse, ListMyAuthenticatorsResponse, ListTrustedDevicesResponse,
    ListUserAuthenticatorsResponse, MfaAuthenticator, MfaChallenge, MfaCoverageReport, MfaPolicy,
    TotpEnrollmentStarted, UpdateAuthenticatorRequest, UpdateMfaPolicyResponse,
    VerifyMfaChallengeRequest,
)

from org_fixtures import own_org_fixtures
from lumo_helpers import (
    bearer_client, create_oauth_client, create_password_user, error_of, send,
)

lumod, api_client, org, oauth, new_org = own_org_fixtures("mfa", "MFA tests")

STEP_UP = "X-MFA-Challenge"
RECOVERY_CODE = re.compile(r"^[0-9A-Z]{5}-[0-9A-Z]{5}$")


class TotpApp:
    """An authenticator app: the key, and the last step it showed (each step is used once)."""

    def __init__(self, secret: str):
        secret = secret.replace(" ", "")
        self.key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
        self.last = None

    def at(self, step: int) -> str:
        digest = hmac.new(self.key, struct.pack(">Q", step), hashlib.sha1).digest()
        offset = digest[-1] & 0x0F
        value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
        return f"{value % 1_000_000:06d}"

    def code(self) -> str:
        """A code of a step not used before, inside the server's window of one step either way
        (current-1 only when that step is not about to leave the window); waits for the next
        step when all three are used."""
        while True:
            now = time.time()
            current = int(now) // 30
            floor = current - 1 if now % 30 < 27 else current
            step = floor if self.last is None else max(self.last + 1, floor)
            if step <= current + 1:
                self.last = step
                return self.at(step)
            time.sleep(30 - now % 30 + 0.2)

    def stale(self) -> str:
        """A code far outside the window: always refused."""
        return self.at(7)



@pytest.fixture(scope="module")
def app_client(api_client, org):
    """An authorization-code client the users sign in through."""
    return create_oauth_client(api_client, org)


@pytest.fixture
def person(lumod, api_client, org, oauth, app_client):
    """A new password user and a generated `MfaApi` authenticated with their fresh user token
    (hosted sign-in + code exchange, so auth_time is now)."""
    user = create_password_user(api_client, org)
    tokens = oauth.code_tokens(oauth.login(user.email), app_client)
    return user, MfaApi(bearer_client(lumod.base, tokens["access_token"]))


def start_totp(mfa: MfaApi, org: str) -> TotpEnrollmentStarted:
    """POST ~/me/authenticators/totp/enroll through the generated client's transport; the body
    is parsed with `TotpEnrollmentStarted` (see the module docstring)."""
    raw = mfa.enroll_authenticator_without_preload_content(org, "totp", EnrollAuthenticatorRequest())
    assert raw.status == 201, (raw.status, raw.data)
    started = TotpEnrollmentStarted.from_json(raw.data.decode())
    assert started.state == "pending" and started.id and started.secret, started
    return started


def approved_step_up(mfa: MfaApi, org: str, code: str) -> str:
    """Starts a step-up challenge and answers it; returns the approved challenge id."""
    challenge = mfa.create_mfa_challenge(org, CreateMfaChallengeRequest(purpose="step_up"))
    assert isinstance(challenge, MfaChallenge) and challenge.status == "issued", challenge
    answered = mfa.verify_mfa_challenge(org, challenge.id, VerifyMfaChallengeRequest(code=code))
    assert isinstance(answered, MfaChallenge) and answered.status == "approved", answered
    return challenge.id


def test_self_service_round_trip(org, person):
    user, mfa = person

    listed = mfa.list_my_authenticators(org)
    assert isinstance(listed, ListMyAuthenticatorsResponse)
    assert listed.status == "at_risk" and listed.authenticators == [], listed
    assert "totp" in listed.allowed_types and listed.recommended_type in listed.allowed_types

    # Enrollment: the secret, the otpauth URI and a QR code; the right code activates.
    started = start_totp(mfa, org)
    assert started.otpauth_uri.startswith("otpauth://totp/"), started.otpauth_uri
    assert user.email in unquote(started.otpauth_uri), started.otpauth_uri
    assert started.secret_grouped.replace(" ", "") == started.secret
    assert started.qr_data_uri.startswith("data:image/")
    assert started.expires_at > datetime.now(timezone.utc)
    app = TotpApp(started.secret)
    verified = mfa.verify_authenticator(org, started.id, VerifyMfaChallengeRequest(code=app.code()))
    assert isinstance(verified, MfaAuthenticator)
    assert (verified.id, verified.type, verified.state) == (started.id, "totp", "active")
    assert verified.is_default is True and verified.tier == 2 and verified.tier_label == "Strong"
    assert "otp" in verified.amr and isinstance(verified.activated_at, datetime)

    renamed = mfa.update_authenticator(org, started.id,
                                       UpdateAuthenticatorRequest(display_name="Work phone"))
    assert isinstance(renamed, MfaAuthenticator) and renamed.display_name == "Work phone"

    # A challenge, read back and approved with the next TOTP step.
    challenge = mfa.create_mfa_challenge(org, CreateMfaChallengeRequest(
        purpose="step_up", action_description="pytest round trip"))
    assert isinstance(challenge, MfaChallenge)
    assert (challenge.purpose, challenge.status, challenge.delivery) == (
        "step_up", "issued", "code_expected")
    assert challenge.attempts_remaining == 5 and isinstance(challenge.expires_at, datetime)
    shown = mfa.get_mfa_challenge(org, challenge.id)
    assert isinstance(shown, MfaChallenge) and shown.status == "issued"
    assert shown.authenticator.id == started.id and shown.authenticator.type == "totp"
    assert isinstance(shown.alternatives, list)
    approved = mfa.verify_mfa_challenge(org, challenge.id,
                                        VerifyMfaChallengeRequest(code=app.code()))
    assert isinstance(approved, MfaChallenge) and approved.status == "approved"
    assert mfa.get_mfa_challenge(org, challenge.id).status == "approved"

    # Recovery codes: ten, shown once; replacing them needs a step-up (here by a recovery code).
    codes = mfa.generate_recovery_codes(org)
    assert isinstance(codes, GenerateRecoveryCodesResponse)
    assert len(codes.codes) == 10 and all(RECOVERY_CODE.match(c) for c in codes.codes), codes
    assert codes.remaining == 10 and isinstance(codes.generated_at, datetime)
    status = mfa.get_recovery_code_status(org)
    assert isinstance(status, GetRecoveryCodeStatusResponse)
    assert (status.remaining, status.low) == (10, False)
    with pytest.raises(ForbiddenException) as refused:
        mfa.generate_recovery_codes(org)
    error_of(refused.value, 403, "step_up_required")
    by_recovery = approved_step_up(mfa, org, codes.codes[0])
    # generate_recovery_codes declares no X-MFA-Challenge parameter: passed as a header.
    replaced = mfa.generate_recovery_codes(org, _headers={STEP_UP: by_recovery})
    assert isinstance(replaced, GenerateRecoveryCodesResponse) and replaced.remaining == 10
    assert set(replaced.codes).isdisjoint(codes.codes)

    devices = mfa.list_trusted_devices(org)
    assert isinstance(devices, ListTrustedDevicesResponse) and devices.data == []

    listed = mfa.list_my_authenticators(org)
    assert listed.status == "protected" and listed.default == started.id
    assert [a.id for a in listed.authenticators] == [started.id]
    assert listed.recovery_codes.remaining == 10

    # Removing needs an approved step-up.
    with pytest.raises(ForbiddenException) as refused:
        mfa.delete_authenticator(org, started.id)
    error_of(refused.value, 403, "step_up_required")
    fresh = approved_step_up(mfa, org, app.code())
    assert mfa.delete_authenticator(org, started.id, x_mfa_challenge=fresh) is None
    assert mfa.list_my_authenticators(org).authenticators == []


def test_admin_policy_coverage_authenticators_and_access_codes(api_client, org, person):
    user, mfa = person
    admin = AdminMfaApi(api_client)

    policy = admin.get_mfa_policy(org)
    assert isinstance(policy, GetMfaPolicyResponse) and isinstance(policy.data, MfaPolicy)
    assert "totp" in policy.data.allowed_factors and "totp" in policy.effective_allowed_factors
    requirement = policy.data.requirement

    # A full update through the client (the policy as read, one field changed) ...
    wanted = policy.data
    wanted.trusted_device_days = 45
    updated = admin.update_mfa_policy(org, wanted)
    assert isinstance(updated, UpdateMfaPolicyResponse) and isinstance(updated.data, MfaPolicy)
    assert updated.data.trusted_device_days == 45 and updated.data.requirement == requirement
    # ... and a partial one out of range (the client model refuses 999): clamped to 180.
    clamped = send(api_client, "PUT", "/admin/policies/mfa", org,
                   body={"trusted_device_days": 999}, types={"200": "UpdateMfaPolicyResponse"})
    assert isinstance(clamped.data, UpdateMfaPolicyResponse), clamped.raw_data
    assert clamped.data.data.trusted_device_days == 180
    assert clamped.data.data.requirement == requirement
    assert admin.get_mfa_policy(org).data.trusted_device_days == 180

    # A user with an active authenticator app.
    started = start_totp(mfa, org)
    mfa.verify_authenticator(org, started.id,
                             VerifyMfaChallengeRequest(code=TotpApp(started.secret).code()))

    factors = admin.list_user_authenticators(org, user.id)
    assert isinstance(factors, ListUserAuthenticatorsResponse)
    assert [a.id for a in factors.data] == [started.id]
    assert all(isinstance(a, MfaAuthenticator) for a in factors.data)
    assert factors.data[0].state == "active" and factors.default == started.id
    assert factors.status == "add_backup"

    report = admin.get_mfa_coverage_report(org)
    assert isinstance(report, GetMfaCoverageReportResponse)
    assert isinstance(report.data, MfaCoverageReport)
    assert report.data.total_users >= report.data.enrolled_users >= 1, report.data
    assert report.data.by_type.get("totp", 0) >= 1 and report.data.requirement == requirement
    assert 0 < report.data.enrolled_pct <= 100 and isinstance(report.data.generated_at, datetime)

    tap = admin.issue_temporary_access_code(org, user.id, IssueTemporaryAccessCodeRequest(
        reason="lost phone", ttl_minutes=30))
    assert isinstance(tap, IssueTemporaryAccessCodeResponse)
    assert tap.data.id and tap.data.code and tap.data.single_use is True
    left = tap.data.expires_at - datetime.now(timezone.utc)
    assert timedelta(minutes=28) < left <= timedelta(minutes=31), left

    removed = admin.delete_user_authenticator(org, user.id, started.id)
    assert isinstance(removed, DeleteUserAuthenticatorResponse)
    assert isinstance(removed.data, MfaAuthenticator) and removed.data.id == started.id
    assert isinstance(removed.message, str) and removed.message
    with pytest.raises(NotFoundException):
        admin.delete_user_authenticator(org, user.id, started.id)
    assert mfa.list_my_authenticators(org).authenticators == []


def test_wrong_codes_api_keys_and_bad_input_are_refused(api_client, org, person):
    user, mfa = person
    admin = AdminMfaApi(api_client)

    # Nothing enrolled: no challenge; passkeys need a domain name and this client reaches the
    # server by IP address (test_mfa_passkey.py enrolls them through localhost).
    with pytest.raises(NotFoundException) as refused:
        mfa.create_mfa_challenge(org, CreateMfaChallengeRequest(purpose="step_up"))
    error_of(refused.value, 404, "no_factor_enrolled")
    with pytest.raises(UnprocessableEntityException) as refused:
        mfa.enroll_authenticator(org, "passkey", EnrollAuthenticatorRequest())
    error_of(refused.value, 422, "validation_error")
    assert "domain name" in str(refused.value.body)

    # A wrong code counts against the enrollment and says how many attempts are left.
    started = start_totp(mfa, org)
    with pytest.raises(BadRequestException) as refused:
        mfa.verify_authenticator(org, started.id,
                                 VerifyMfaChallengeRequest(code=TotpApp(started.secret).stale()))
    body = error_of(refused.value, 400, "invalid_code")
    left = body.get("details", {}).get("attempts_remaining")
    assert isinstance(left, int) and not isinstance(left, bool), body

    with pytest.raises(NotFoundException):
        mfa.get_mfa_challenge(org, "mfc_unknown")
    with pytest.raises(NotFoundException):
        mfa.revoke_trusted_device(org, "tdv_unknown")

    # API keys are not people: the self-service family wants a user token.
    as_key = MfaApi(api_client)
    with pytest.raises(ForbiddenException) as refused:
        as_key.list_my_authenticators(org)
    error_of(refused.value, 403, "user_token_required")
    with pytest.raises(ForbiddenException) as refused:
        as_key.create_mfa_challenge(org, CreateMfaChallengeRequest())
    error_of(refused.value, 403, "user_token_required")

    # A temporary access code needs a reason (the client model requires it: sent raw).
    with pytest.raises(UnprocessableEntityException) as refused:
        send(api_client, "POST", "/admin/users/{userId}/temporary-access-code", org,
             path_params={"userId": user.id}, body={},
             types={"201": "IssueTemporaryAccessCodeResponse"})
    error_of(refused.value, 422, "validation_error")
    with pytest.raises(NotFoundException):
        admin.list_user_authenticators(org, "nobody@example.com")
