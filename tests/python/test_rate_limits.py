"""Rate limits as the official clients see them: the generated client's 429 exception with
`Retry-After` and `X-RateLimit-*` headers, and the SDK's `LumoAuthRateLimitError.retry_after`.

Starts its own lumod with rate limits on (the session server runs with them off).
"""

import json
import os
import secrets
import tempfile
import time

import pytest

from lumoauth import LumoAuth, LumoAuthRateLimitError
from lumoauth_api_client.exceptions import ApiException

from conftest import LumodProcess, make_client
from lumo_helpers import create_user, error_body, send


@pytest.fixture(scope="module")
def limited(request):
    key, token = "lmk_" + secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    saved = os.environ.get("LUMO_RATE_LIMITS")
    os.environ["LUMO_RATE_LIMITS"] = "true"
    try:
        with tempfile.TemporaryDirectory(prefix="lumo-rl-") as tmp:
            proc = LumodProcess(os.path.join(tmp, "data"), os.path.join(tmp, "l.log"), key, token)
            try:
                yield proc.server
            finally:
                proc.stop()
    finally:
        if saved is None:
            os.environ.pop("LUMO_RATE_LIMITS", None)
        else:
            os.environ["LUMO_RATE_LIMITS"] = saved


def header(response, name):
    """A response header, whatever case the client keeps names in."""
    return {k.lower(): v for k, v in response.headers.items()}.get(name.lower())


def set_limits(client, org, limits, read_limit):
    """Sets the org's limits and waits until reads report `read_limit` (cached a few seconds),
    starting in a fresh window when the current one is nearly over."""
    send(client, "PUT", "/admin/settings/{section}", org, path_params={"section": "security"},
         body={"rate_limits": limits})
    deadline = time.monotonic() + 70
    while time.monotonic() < deadline:
        resp = send(client, "GET", "/admin/settings/{section}", org,
                    path_params={"section": "security"})
        if header(resp, "X-RateLimit-Limit") == str(read_limit):
            left = int(header(resp, "X-RateLimit-Reset")) - time.time()
            if left < 25:
                time.sleep(max(left, 0) + 1)
            return
        time.sleep(0.5)
    pytest.fail("the rate limits did not take effect")


def test_generated_client_sees_headers_and_429(limited):
    client = make_client(limited.base, limited.api_key)
    set_limits(client, limited.org, {"admin_writes_per_minute": 3, "admin_reads_per_minute": 60}, 60)
    # A key of its own, so the settings change is not in the same count.
    made = send(client, "POST", "/admin/api-keys", limited.org,
                body={"name": "rl", "scopes": ["admin:write", "admin:read"]})
    writer = make_client(limited.base, json.loads(made.raw_data)["data"]["key"])
    seen = []
    for _ in range(3):
        resp = send(writer, "POST", "/admin/users", limited.org,
                    body={"email": f"rl-{secrets.token_hex(4)}@example.com"},
                    types={"201": "CreateUserResponse"})
        seen.append((header(resp, "X-RateLimit-Limit"), header(resp, "X-RateLimit-Remaining")))
        assert int(header(resp, "X-RateLimit-Reset")) > time.time()
    assert seen == [("3", "2"), ("3", "1"), ("3", "0")]
    with pytest.raises(ApiException) as info:
        create_user(writer, limited.org)
    assert info.value.status == 429
    body = error_body(info.value)
    assert body["error"] == "rate_limit_exceeded"
    assert body["retry_after"] == int(header(info.value, "Retry-After")) >= 1
    assert header(info.value, "X-RateLimit-Remaining") == "0"


def test_sdk_raises_rate_limit_error_with_retry_after(limited):
    client = make_client(limited.base, limited.api_key)
    # Writes unlimited here: the first test left the admin key's write window nearly used up.
    set_limits(client, limited.org,
               {"checks_per_minute": 2, "admin_reads_per_minute": 50, "admin_writes_per_minute": 0}, 50)
    user = create_user(client, limited.org)
    sdk = LumoAuth(api_key=limited.api_key, base_url=limited.base, org_id=limited.org)
    assert sdk.permissions.check("document.read", user_id=user.id) is False
    assert sdk.permissions.check("document.read", user_id=user.id) is False
    with pytest.raises(LumoAuthRateLimitError) as info:
        sdk.permissions.check("document.read", user_id=user.id)
    assert info.value.status_code == 429
    assert info.value.retry_after is not None and 1 <= info.value.retry_after <= 60
