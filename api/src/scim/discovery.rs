//! SCIM discovery (RFC 7643 sections 5-7, RFC 7644 section 4): `ServiceProviderConfig` (no
//! credential needed), `ResourceTypes` and `Schemas`, describing exactly what this server
//! keeps: the core User and Group, the enterprise User extension, and the LumoAuth SoftDelete
//! and Password extensions.

use serde_json::{Value, json};

use super::resources::{ENTERPRISE, GROUP, PASSWORD, SOFT_DELETE, USER};

pub const SCHEMA_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
pub const RESOURCE_TYPE_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const SPC_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

/// Operations and bytes one Bulk request may carry.
pub const BULK_MAX_OPERATIONS: usize = 1000;
pub const BULK_MAX_BYTES: usize = 1 << 20;
/// Largest page of a list.
pub const MAX_RESULTS: usize = 200;

/// One attribute definition.
struct Attr {
    name: &'static str,
    kind: &'static str,
    multi: bool,
    required: bool,
    mutability: &'static str,
    returned: &'static str,
    uniqueness: &'static str,
    sub: Vec<Attr>,
    references: &'static [&'static str],
    canonical: &'static [&'static str],
}

fn attr(name: &'static str, kind: &'static str) -> Attr {
    Attr {
        name,
        kind,
        multi: false,
        required: false,
        mutability: "readWrite",
        returned: "default",
        uniqueness: "none",
        sub: Vec::new(),
        references: &[],
        canonical: &[],
    }
}

impl Attr {
    fn multi(mut self) -> Attr {
        self.multi = true;
        self
    }
    fn required(mut self) -> Attr {
        self.required = true;
        self
    }
    fn read_only(mut self) -> Attr {
        self.mutability = "readOnly";
        self
    }
    fn write_only(mut self) -> Attr {
        self.mutability = "writeOnly";
        self.returned = "never";
        self
    }
    fn unique(mut self) -> Attr {
        self.uniqueness = "server";
        self
    }
    fn with(mut self, sub: Vec<Attr>) -> Attr {
        self.kind = "complex";
        self.sub = sub;
        self
    }
    fn refs(mut self, references: &'static [&'static str]) -> Attr {
        self.references = references;
        self
    }
    fn canonical(mut self, values: &'static [&'static str]) -> Attr {
        self.canonical = values;
        self
    }

    fn json(&self) -> Value {
        let mut out = json!({
            "name": self.name,
            "type": self.kind,
            "multiValued": self.multi,
            "description": format!("{} ({})", self.name, self.kind),
            "required": self.required,
            "caseExact": false,
            "mutability": self.mutability,
            "returned": self.returned,
            "uniqueness": self.uniqueness,
        });
        if !self.sub.is_empty() {
            out["subAttributes"] = self.sub.iter().map(Attr::json).collect();
        }
        if !self.references.is_empty() {
            out["referenceTypes"] = json!(self.references);
        }
        if !self.canonical.is_empty() {
            out["canonicalValues"] = json!(self.canonical);
        }
        out
    }
}

/// `value`, `display`, `type`, `primary` of a multi-valued attribute.
fn multi_valued(
    name: &'static str,
    value_kind: &'static str,
    types: &'static [&'static str],
) -> Attr {
    attr(name, "complex").multi().with(vec![
        attr("value", value_kind),
        attr("display", "string"),
        attr("type", "string").canonical(types),
        attr("primary", "boolean"),
    ])
}

fn user_attributes() -> Vec<Attr> {
    vec![
        attr("userName", "string").required().unique(),
        attr("name", "complex").with(vec![
            attr("formatted", "string"),
            attr("familyName", "string"),
            attr("givenName", "string"),
            attr("middleName", "string"),
            attr("honorificPrefix", "string"),
            attr("honorificSuffix", "string"),
        ]),
        attr("displayName", "string"),
        attr("nickName", "string"),
        attr("profileUrl", "reference").refs(&["external"]),
        attr("title", "string"),
        attr("userType", "string"),
        attr("preferredLanguage", "string"),
        attr("locale", "string"),
        attr("timezone", "string"),
        attr("active", "boolean"),
        attr("password", "string").write_only(),
        multi_valued("emails", "string", &["work", "home", "other"]),
        multi_valued(
            "phoneNumbers",
            "string",
            &["work", "home", "mobile", "fax", "pager", "other"],
        ),
        multi_valued(
            "ims",
            "string",
            &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
        ),
        multi_valued("photos", "reference", &["photo", "thumbnail"]),
        attr("addresses", "complex").multi().with(vec![
            attr("formatted", "string"),
            attr("streetAddress", "string"),
            attr("locality", "string"),
            attr("region", "string"),
            attr("postalCode", "string"),
            attr("country", "string"),
            attr("type", "string").canonical(&["work", "home", "other"]),
            attr("primary", "boolean"),
        ]),
        attr("groups", "complex").multi().read_only().with(vec![
            attr("value", "string").read_only(),
            attr("$ref", "reference")
                .read_only()
                .refs(&["User", "Group"]),
            attr("display", "string").read_only(),
            attr("type", "string")
                .read_only()
                .canonical(&["direct", "indirect"]),
        ]),
        multi_valued("entitlements", "string", &[]),
        multi_valued("roles", "string", &[]),
        multi_valued("x509Certificates", "binary", &[]),
    ]
}

fn group_attributes() -> Vec<Attr> {
    vec![
        attr("displayName", "string").required(),
        attr("members", "complex").multi().with(vec![
            attr("value", "string").mutability_immutable(),
            attr("$ref", "reference")
                .mutability_immutable()
                .refs(&["User"]),
            attr("display", "string").read_only(),
            attr("type", "string")
                .mutability_immutable()
                .canonical(&["User"]),
        ]),
    ]
}

impl Attr {
    fn mutability_immutable(mut self) -> Attr {
        self.mutability = "immutable";
        self
    }
}

fn enterprise_attributes() -> Vec<Attr> {
    vec![
        attr("employeeNumber", "string"),
        attr("costCenter", "string"),
        attr("organization", "string"),
        attr("division", "string"),
        attr("department", "string"),
        attr("manager", "complex").with(vec![
            attr("value", "string"),
            attr("$ref", "reference").refs(&["User"]),
            attr("displayName", "string").read_only(),
        ]),
    ]
}

fn soft_delete_attributes() -> Vec<Attr> {
    vec![
        attr("isSoftDeleted", "boolean").read_only(),
        attr("softDeletedAt", "dateTime").read_only(),
    ]
}

fn password_attributes() -> Vec<Attr> {
    vec![attr("password", "string").write_only()]
}

fn schema(id: &str, name: &str, description: &str, attributes: Vec<Attr>, base: &str) -> Value {
    json!({
        "schemas": [SCHEMA_URN],
        "id": id,
        "name": name,
        "description": description,
        "attributes": attributes.iter().map(Attr::json).collect::<Vec<_>>(),
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")},
    })
}

/// Every schema this server serves.
pub fn schemas(base: &str) -> Vec<Value> {
    vec![
        schema(USER, "User", "User Account", user_attributes(), base),
        schema(GROUP, "Group", "Group", group_attributes(), base),
        schema(
            ENTERPRISE,
            "EnterpriseUser",
            "Enterprise User",
            enterprise_attributes(),
            base,
        ),
        schema(
            SOFT_DELETE,
            "SoftDelete",
            "Users a SCIM delete deactivated (LumoAuth)",
            soft_delete_attributes(),
            base,
        ),
        schema(
            PASSWORD,
            "Password",
            "Setting a user's password (LumoAuth)",
            password_attributes(),
            base,
        ),
    ]
}

/// The resource types.
pub fn resource_types(base: &str) -> Vec<Value> {
    vec![
        json!({
            "schemas": [RESOURCE_TYPE_URN],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "User Account",
            "schema": USER,
            // SoftDelete is set by the server (it shows on soft-deleted users) and Password is
            // write-only input: both are described under Schemas and accepted, not extensions
            // a client fills in.
            "schemaExtensions": [
                {"schema": ENTERPRISE, "required": false},
            ],
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")},
        }),
        json!({
            "schemas": [RESOURCE_TYPE_URN],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "Group",
            "schema": GROUP,
            "schemaExtensions": [],
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group")},
        }),
    ]
}

/// What this service provider supports.
pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": [SPC_URN],
        "documentationUri": "https://github.com/lumo/lumo#scim",
        "patch": {"supported": true},
        "bulk": {"supported": true, "maxOperations": BULK_MAX_OPERATIONS, "maxPayloadSize": BULK_MAX_BYTES},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": true},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "SCIM bearer token",
            "description": "The inbound SCIM token of the organization's SCIM settings (~/admin/settings/scim)",
            "primary": true,
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")},
    })
}
