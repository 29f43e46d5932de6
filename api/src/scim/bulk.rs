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

/// Creations run side by side at most this many at a time.
const CONCURRENT: usize = 16;

/// An operation whose references are all known.
struct Prepared {
    index: usize,
    method: String,
    bulk_id: Option<String>,
    path: Value,
    data: Value,
    version: Option<String>,
}

/// The operation with its `bulkId:` references replaced, or `None` while one is unknown.
fn prepare(op: &Value, index: usize, ids: &[(String, String)]) -> Option<Prepared> {
    let mut missing = Vec::new();
    let path = match member(op, "path") {
        // `/Groups/bulkId:g`: the segment stands for the id.
        Some(Value::String(path)) => Value::String(
            path.split('/')
                .map(|segment| {
                    match resolve(&Value::String(segment.to_string()), ids, &mut missing) {
                        Value::String(s) => s,
                        _ => segment.to_string(),
                    }
                })
                .collect::<Vec<_>>()
                .join("/"),
        ),
        other => other.cloned().unwrap_or(Value::Null),
    };
    let data = resolve(
        member(op, "data").unwrap_or(&Value::Null),
        ids,
        &mut missing,
    );
    missing.is_empty().then(|| Prepared {
        index,
        method: member(op, "method")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_uppercase(),
        bulk_id: member(op, "bulkId")
            .and_then(Value::as_str)
            .map(str::to_string),
        path,
        data,
        version: member(op, "version")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

/// The values of a creation that must be unique (user names and addresses), lowercased.
fn unique_values(data: &Value) -> Vec<String> {
    let mut values: Vec<String> = ["userName", "displayName"]
        .iter()
        .filter_map(|name| member(data, name).and_then(Value::as_str))
        .map(str::to_lowercase)
        .collect();
    if let Some(Value::Array(emails)) = member(data, "emails") {
        values.extend(
            emails
                .iter()
                .filter_map(|e| member(e, "value").and_then(Value::as_str))
                .map(str::to_lowercase),
        );
    }
    values
}

/// Runs a prepared operation.
async fn execute(ctx: &Ctx, base: &str, op: &Prepared) -> ScimResult<(StatusCode, Option<Value>)> {
    match (op.method.as_str(), op.path.as_str()) {
        ("POST", _) if op.bulk_id.is_none() => Err(ScimError::bad(
            "invalidValue",
            "a POST in a Bulk request needs a bulkId",
        )),
        (method, Some(path)) => run(ctx, base, method, path, &op.data, op.version.clone()).await,
        _ => Err(ScimError::bad(
            "invalidSyntax",
            "every operation needs a method and a path",
        )),
    }
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
    // Consecutive creations run side by side (nothing in one can name another except through
    // a bulkId, which waits); anything else, and every operation under `failOnErrors`, runs
    // alone in the order sent.
    let side_by_side = if fail_on_errors == u64::MAX {
        CONCURRENT
    } else {
        1
    };
    // Rounds: each runs, in the order sent, every operation whose references are known by
    // then (one waiting for a later operation's bulkId is deferred to the next round); a
    // round that ran nothing leaves only unresolvable references.
    while !pending.is_empty() && errors < fail_on_errors {
        let mut waiting = Vec::new();
        let mut progressed = false;
        let mut queue = pending.into_iter().peekable();
        while let Some(index) = queue.next() {
            if errors >= fail_on_errors {
                waiting.push(index);
                waiting.extend(queue.by_ref());
                break;
            }
            let Some(first) = prepare(&operations[index], index, &ids) else {
                waiting.push(index);
                continue;
            };
            let mut batch = vec![first];
            if batch[0].method == "POST" {
                // Creations that could collide (a name or address in common) stay in order:
                // the first one sent is the one that wins.
                let mut claimed: std::collections::HashSet<String> =
                    unique_values(&batch[0].data).into_iter().collect();
                while batch.len() < side_by_side {
                    let Some(&next) = queue.peek() else { break };
                    let Some(prepared) = prepare(&operations[next], next, &ids) else {
                        break;
                    };
                    if prepared.method != "POST"
                        || !unique_values(&prepared.data)
                            .into_iter()
                            .all(|v| claimed.insert(v))
                    {
                        break;
                    }
                    queue.next();
                    batch.push(prepared);
                }
            }
            progressed = true;
            let outcomes =
                futures::future::join_all(batch.iter().map(|p| execute(&ctx, &base, p))).await;
            for (prepared, outcome) in batch.iter().zip(outcomes) {
                let (method, bulk_id) = (&prepared.method, prepared.bulk_id.as_deref());
                answers[prepared.index] = Some(match outcome {
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
                        result(method, bulk_id, status, location.as_deref(), None)
                    }
                    Err(e) => {
                        errors += 1;
                        result(method, bulk_id, e.status, None, Some(e.body()))
                    }
                });
            }
        }
        waiting.sort_unstable();
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
