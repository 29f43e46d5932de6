//! Where the fuzzer's bytes go: every family of network-facing parser, reached the way a client
//! reaches it. Paths are org-scoped (`/orgs/{org}/api/v1` is added) unless they start with
//! `/api/` or `/orgs/`.

/// How a request carries the fuzzed input.
#[derive(Debug, Clone, Copy)]
pub enum Placement {
    /// The raw body, with the admin key.
    JsonBody,
    /// The raw form body, with the client's HTTP Basic credentials.
    FormBody,
    /// A form whose `field` is the text, next to fixed fields, with the client's credentials.
    FormField(&'static str, &'static [(&'static str, &'static str)]),
    /// The whole query string is the text, with the admin key.
    Query,
    /// One query parameter is the text, with the admin key.
    QueryParam(&'static str),
    /// `Authorization: Bearer <text>`: API keys, access tokens and JWTs.
    Bearer,
    /// The text's lines are `Signature-Input`, `Signature` and `Signature-Key`; the body is raw.
    SignatureHeaders,
}

/// One fuzzed route.
#[derive(Debug)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub content_type: &'static str,
    pub placement: Placement,
}

const JSON: &str = "application/json";
const SCIM: &str = "application/scim+json";

const fn json(method: &'static str, path: &'static str) -> Route {
    Route {
        method,
        path,
        content_type: JSON,
        placement: Placement::JsonBody,
    }
}

const fn scim(method: &'static str, path: &'static str) -> Route {
    Route {
        method,
        path,
        content_type: SCIM,
        placement: Placement::JsonBody,
    }
}

const fn with(method: &'static str, path: &'static str, placement: Placement) -> Route {
    Route {
        method,
        path,
        content_type: JSON,
        placement,
    }
}

const TOKEN_EXCHANGE: &[(&str, &str)] = &[
    (
        "grant_type",
        "urn:ietf:params:oauth:grant-type:token-exchange",
    ),
    (
        "subject_token_type",
        "urn:ietf:params:oauth:token-type:access_token",
    ),
];
const CLIENT_ASSERTION: &[(&str, &str)] = &[
    ("grant_type", "client_credentials"),
    (
        "client_assertion_type",
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    ),
];
const JWT_BEARER: &[(&str, &str)] =
    &[("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")];

/// The table; the first byte of an input picks the row (modulo its length).
pub const ROUTES: &[Route] = &[
    // JSON bodies of the admin, authorization, agent and JIT APIs.
    json("POST", "/admin/users"),
    json("PATCH", "/admin/users/{user}"),
    json("POST", "/admin/roles"),
    json("POST", "/admin/groups"),
    json("POST", "/admin/permissions"),
    json("PATCH", "/admin/settings/security"),
    json("POST", "/admin/clients"),
    json("POST", "/admin/webhooks"),
    json("POST", "/admin/agents"),
    json("POST", "/admin/organizations"),
    json("POST", "/admin/api-keys"),
    json("POST", "/abac/policies"),
    json("POST", "/abac/attributes"),
    json("POST", "/abac/check"),
    json("POST", "/check"),
    json("POST", "/zanzibar/check"),
    json("POST", "/zanzibar/tuples"),
    json("PUT", "/zanzibar/schema"),
    json("POST", "/api/v1/authz/check"),
    json("POST", "/api/v1/authz/v1/evaluation"),
    json("POST", "/connect/register"),
    json("POST", "/jit/request"),
    json("POST", "/mfa/challenges"),
    json("POST", "/oauth/login/json"),
    // SCIM bodies and filters.
    scim("POST", "/scim/v2/Users"),
    scim("PATCH", "/scim/v2/Users/{scimUser}"),
    scim("POST", "/scim/v2/Bulk"),
    scim("POST", "/scim/v2/Users/.search"),
    with("GET", "/scim/v2/Users", Placement::QueryParam("filter")),
    with("GET", "/scim/v2/Groups", Placement::QueryParam("filter")),
    // Form bodies of the OAuth endpoints.
    with("POST", "/oauth/token", Placement::FormBody),
    with("POST", "/oauth/introspect", Placement::FormBody),
    with("POST", "/oauth/revoke", Placement::FormBody),
    with("POST", "/oauth/par", Placement::FormBody),
    with("POST", "/oauth/bc-authorize", Placement::FormBody),
    with("POST", "/oauth/device_authorization", Placement::FormBody),
    // JWTs and tokens.
    with(
        "POST",
        "/oauth/token",
        Placement::FormField("client_assertion", CLIENT_ASSERTION),
    ),
    with(
        "POST",
        "/oauth/token",
        Placement::FormField("subject_token", TOKEN_EXCHANGE),
    ),
    with(
        "POST",
        "/oauth/token",
        Placement::FormField("assertion", JWT_BEARER),
    ),
    with(
        "POST",
        "/oauth/introspect",
        Placement::FormField("token", &[]),
    ),
    with("GET", "/oauth/userinfo", Placement::Bearer),
    with("GET", "/admin/users", Placement::Bearer),
    with("GET", "/agents/me", Placement::Bearer),
    // Query strings: list parameters, the authorization request, SAML.
    with("GET", "/admin/users", Placement::Query),
    with("GET", "/admin/audit-logs", Placement::Query),
    with("GET", "/admin/sessions", Placement::Query),
    with("GET", "/oauth/authorize", Placement::Query),
    with(
        "GET",
        "/orgs/{org}/saml/idp/sso",
        Placement::QueryParam("SAMLRequest"),
    ),
    // AAuth signed requests.
    with("POST", "/aauth/agent/token", Placement::SignatureHeaders),
    with("POST", "/aauth/resource/token", Placement::SignatureHeaders),
];
