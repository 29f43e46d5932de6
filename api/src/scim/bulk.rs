//! SCIM Bulk (RFC 7644 section 3.7): up to 1000 operations and 1 MiB per request, each
//! applied on its own (one Raft entry each) and reported with its status. `bulkId:<id>`
//! anywhere in an operation's data or path stands for the id the operation with that `bulkId`
//! created; an operation waits for the ones it refers to, and references that can never
//! resolve (unknown or circular) fail with 409. `failOnErrors` stops after that many errors.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::discovery::{BULK_MAX_BYTES, BULK_MAX_OPERATIONS};
use super::filter::member;
use super::routes::scim_ctx;
use super::store::Kind;
use super::{ScimError, ScimResult, answer, base};
use crate::error::ApiError;
use crate::extract::Ctx;

const REQUEST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const RESPONSE_URN: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

/// Replaces every `bulkId:<id>` string in `value` with its created id; `None` when one is
/// not known yet (the names that are missing go to `missing`).
fn resolve(value: &Value, ids: &[(String, String)], missing: &mut Vec<String>) -> Value {
    match value {
        Value::String(s) => match s.strip_prefix("bulkId:") {
            Some(name) => match ids.iter().find(|(n, _)| n == name) {
                Some((_, id)) => Value::String(id.clone()),
                None => {
                    missing.push(name.to_string());
                    value.clone()
                }
            },
            None => value.clone(),
        },
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| resolve(v, ids, missing)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), resolve(v, ids, missing)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// One operation's answer.
fn result(
    method: &str,
    bulk_id: Option<&str>,
    status: StatusCode,
    location: Option<&str>,
    response: Option<Value>,
) -> Value {
    let mut out = json!({"method": method, "status": status.as_u16().to_string()});
    if let Some(b) = bulk_id {
        out["bulkId"] = json!(b);
    }
    if let Some(l) = location {
        out["location"] = json!(l);
    }
    if let Some(r) = response {
        out["response"] = r;
    }
    out
}

/// Runs one operation; answers its status and response body.
async fn run(
    ctx: &Ctx,
    base: &str,
    method: &str,
    path: &str,
    data: &Value,
    version: Option<String>,
) -> ScimResult<(StatusCode, Option<Value>)> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (kind, id) = match parts.as_slice() {
        [name] => (Kind::of(name), None),
        [name, id] => (Kind::of(name), Some(*id)),
        _ => (None, None),
    };
    let unsupported = || {
        ScimError::bad(
            "invalidPath",
            format!("{method} {path} is not a Bulk operation this server runs"),
        )
    };
    let kind = kind.ok_or_else(unsupported)?;
    match (method, id) {
        ("POST", None) => Ok((
            StatusCode::CREATED,
            Some(kind.create(ctx, base, data).await?),
        )),
        ("PUT", Some(id)) => Ok((
            StatusCode::OK,
            Some(kind.replace(ctx, base, id, data, version).await?),
        )),
        ("PATCH", Some(id)) => Ok((
            StatusCode::OK,
            Some(kind.patch(ctx, base, id, data, version).await?),
        )),
        ("DELETE", Some(id)) => {
            kind.remove(ctx, id, version, false).await?;
            Ok((StatusCode::NO_CONTENT, None))
        }
        _ => Err(unsupported()),
    }
}

pub async fn bulk(
    ctx: Result<Ctx, ApiError>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ScimResult<Response> {
    let ctx = scim_ctx(ctx, true).await?;
    let too_large = || {
        ScimError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Some("tooLarge"),
            format!("a Bulk request is at most {BULK_MAX_BYTES} bytes"),
        )
    };
    let body = body.map_err(|_| too_large())?;
    if body.len() > BULK_MAX_BYTES {
        return Err(ScimError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Some("tooLarge"),
            format!("a Bulk request is at most {BULK_MAX_BYTES} bytes"),
        ));
    }
    let request: Value = serde_json::from_slice(&body)
        .map_err(|_| ScimError::bad("invalidSyntax", "the body is not JSON"))?;
    if !request
        .get("schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|v| v.as_str() == Some(REQUEST_URN)))
    {
        return Err(ScimError::bad(
            "invalidSyntax",
            format!("a Bulk body's schemas must include {REQUEST_URN}"),
        ));
    }
    let operations = member(&request, "Operations")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| ScimError::bad("invalidSyntax", "a Bulk body needs Operations"))?;
    if operations.len() > BULK_MAX_OPERATIONS {
        return Err(ScimError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Some("tooMany"),
            format!("a Bulk request carries at most {BULK_MAX_OPERATIONS} operations"),
        ));
    }
    let fail_on_errors = member(&request, "failOnErrors")
        .and_then(Value::as_u64)
        .unwrap_or(u64::MAX);
    let base = base(&ctx, &headers);
    let mut ids: Vec<(String, String)> = Vec::new();
    let mut answers: Vec<Option<Value>> = vec![None; operations.len()];
    let mut pending: Vec<usize> = (0..operations.len()).collect();
    let mut errors = 0u64;
    // Rounds: each runs every operation whose references are known; one that made no
    // progress leaves only unresolvable references.
    while !pending.is_empty() && errors < fail_on_errors {
        let mut waiting = Vec::new();
        let mut progressed = false;
        for index in pending {
            if errors >= fail_on_errors {
                waiting.push(index);
                continue;
            }
            let op = &operations[index];
            let method = member(op, "method")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_uppercase();
            let bulk_id = member(op, "bulkId").and_then(Value::as_str);
            let mut missing = Vec::new();
            let path = resolve(
                member(op, "path").unwrap_or(&Value::Null),
                &ids,
                &mut missing,
            );
            let data = resolve(
                member(op, "data").unwrap_or(&Value::Null),
                &ids,
                &mut missing,
            );
            if !missing.is_empty() {
                waiting.push(index);
                continue;
            }
            progressed = true;
            let version = member(op, "version")
                .and_then(Value::as_str)
                .map(str::to_string);
            let outcome = match (method.as_str(), path.as_str()) {
                ("POST", _) if bulk_id.is_none() => Err(ScimError::bad(
                    "invalidValue",
                    "a POST in a Bulk request needs a bulkId",
                )),
                (_, Some(path)) => run(&ctx, &base, &method, path, &data, version).await,
                _ => Err(ScimError::bad(
                    "invalidSyntax",
                    "every operation needs a method and a path",
                )),
            };
            answers[index] = Some(match outcome {
                Ok((status, response)) => {
                    let location = response
                        .as_ref()
                        .and_then(|r| r["meta"]["location"].as_str())
                        .map(str::to_string);
                    if let (Some(b), Some(id)) =
                        (bulk_id, response.as_ref().and_then(|r| r["id"].as_str()))
                    {
                        ids.push((b.to_string(), id.to_string()));
                    }
                    // Successful operations report their location, not the body.
                    result(&method, bulk_id, status, location.as_deref(), None)
                }
                Err(e) => {
                    errors += 1;
                    result(&method, bulk_id, e.status, None, Some(e.body()))
                }
            });
        }
        pending = waiting;
        if !progressed {
            break;
        }
    }
    for index in pending {
        if errors >= fail_on_errors {
            break;
        }
        let op = &operations[index];
        let method = member(op, "method")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_uppercase();
        let error = ScimError::new(
            StatusCode::CONFLICT,
            Some("invalidValue"),
            "a bulkId this operation refers to is unknown or circular",
        );
        answers[index] = Some(result(
            &method,
            member(op, "bulkId").and_then(Value::as_str),
            error.status,
            None,
            Some(error.body()),
        ));
        errors += 1;
    }
    let reported: Vec<Value> = answers.into_iter().flatten().collect();
    Ok(answer(
        StatusCode::OK,
        json!({"schemas": [RESPONSE_URN], "Operations": reported}),
    ))
}
