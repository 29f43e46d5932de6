"""Helpers: send bodies/queries the generated client does not declare, through its own
serialization, transport and deserialization, so responses are still parsed by its models."""

import json
import uuid

from lumoauth_api_client import ApiClient
from lumoauth_api_client.exceptions import ApiException

PREFIX = "/orgs/{orgId}/api/v1"


def send(api_client: ApiClient, method: str, path: str, org: str, *, path_params=None,
         body=None, query=None, types=None, headers=None):
    """Calls `PREFIX + path` and deserializes with `types` ({status: model name}).

    Returns the client's ApiResponse (status_code, data, headers, raw_data); raises the
    client's ApiException subclasses on 4xx/5xx exactly like generated methods do.
    """
    params = {"orgId": org}
    params.update(path_params or {})
    header_params = {"Accept": "application/json"}
    if body is not None:
        header_params["Content-Type"] = "application/json"
    header_params.update(headers or {})
    query_params = [(k, v) for k, v in (query or {}).items()] if query else None
    serialized = api_client.param_serialize(
        method=method,
        resource_path=PREFIX + path,
        path_params=params,
        query_params=query_params,
        header_params=header_params,
        body=body,
        auth_settings=["ApiKeyAuth"],
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
