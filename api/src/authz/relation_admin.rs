//! The Zanzibar configuration under `~/zanzibar` (our documented extension): the schema
//! (`GET`/`PUT schema`), tuples (`POST tuples` writes and deletes with preconditions,
//! `DELETE tuples`, `GET tuples` by filter) and the change feed (`GET changes`). Every write
//! answers the consistency token later checks can present.

use axum::Json;
use axum::response::{IntoResponse, Response};
use lumo_cluster::authz::zanzibar::Tuple;
use lumo_cluster::command::{Op, TuplePrecondition, TupleWrite};
use lumo_cluster::model::TupleChangeKind;
use lumo_cluster::query::{Outcome, Query, RelationTupleFilter, Reply};
use lumo_cluster::{AuthzCode, ClusterError, MAX_TUPLE_CHANGES};
use serde_json::{Map, Value, json};

use super::question::refuse;
use crate::envelope::{ListShape, list};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Ctx, JsonBody, ListQuery};

fn written(reply: Reply, message: &str) -> ApiResult<Response> {
    let Reply::Done(Outcome::RelationsWritten {
        token,
        written,
        deleted,
    }) = reply
    else {
        return Err(ApiError::unexpected(reply));
    };
    Ok(Json(json!({
        "message": message,
        "written": written,
        "deleted": deleted,
        "consistency_token": token.to_string(),
    }))
    .into_response())
}

/// `PUT ~/zanzibar/schema` with `{"schema": "<text>"}`.
pub async fn put_schema(ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult<Response> {
    let text = match body.get("schema") {
        Some(Value::String(text)) if !text.trim().is_empty() => text.clone(),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err(refuse(
                AuthzCode::MissingFields,
                "schema is required (the schema text)",
            ));
        }
        Some(_) => return Err(refuse(AuthzCode::InvalidSchema, "schema must be a string")),
    };
    // Refused before it reaches the log when it cannot parse; the replicas validate again.
    lumo_cluster::authz::zanzibar::Schema::parse(&text)
        .map_err(|e| ApiError::Cluster(lumo_cluster::authz::relation_error(e)))?;
    let reply = ctx.write(Op::WriteRelationSchema { text }).await?;
    written(reply, "Relation schema updated")
}

/// `GET ~/zanzibar/schema`.
pub async fn get_schema(ctx: Ctx) -> ApiResult<Response> {
    let reply = ctx.read(Query::RelationSchema).await?;
    let Reply::RelationSchema(stored) = reply else {
        return Err(ApiError::unexpected(reply));
    };
    let stored = stored.ok_or_else(|| ClusterError::not_found("relation schema", "schema"))?;
    let definitions = lumo_cluster::authz::zanzibar::Schema::parse(&stored.text)
        .map(|schema| serde_json::to_value(&schema).unwrap_or(Value::Null))
        .unwrap_or(Value::Null);
    Ok(Json(json!({"data": {
        "schema": stored.text,
        "definitions": definitions,
        "updatedAt": stored.updated_at.to_rfc3339(),
        "revision": stored.revision,
    }}))
    .into_response())
}

/// One tuple from a string (`document:1#viewer@user:bob`) or an object
/// `{object, relation, subject|user}`, checked for syntax.
fn tuple(value: &Value, field: &str) -> ApiResult<String> {
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Object(map) => {
            let part = |names: &[&str]| {
                names
                    .iter()
                    .find_map(|n| map.get(*n).and_then(Value::as_str))
                    .map(str::to_string)
                    .ok_or_else(|| {
                        refuse(
                            AuthzCode::InvalidTuple,
                            format!("{field}: each tuple needs {}", names[0]),
                        )
                    })
            };
            format!(
                "{}#{}@{}",
                part(&["object"])?,
                part(&["relation"])?,
                part(&["subject", "user"])?
            )
        }
        _ => {
            return Err(refuse(
                AuthzCode::InvalidTuple,
                format!("{field}: each tuple is a string or {{object, relation, subject}}"),
            ));
        }
    };
    let parsed = Tuple::parse(&text)
        .map_err(|e| ApiError::Cluster(lumo_cluster::authz::relation_error(e)))?;
    Ok(parsed.to_string())
}

fn tuples(body: &Map<String, Value>, field: &str) -> ApiResult<Vec<String>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(|item| tuple(item, field)).collect(),
        Some(_) => Err(refuse(
            AuthzCode::InvalidTuple,
            format!("{field} must be a list of tuples"),
        )),
    }
}

fn preconditions(body: &Map<String, Value>) -> ApiResult<Vec<TuplePrecondition>> {
    let items = match body.get("preconditions") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(refuse(
                AuthzCode::InvalidTuple,
                "preconditions must be a list",
            ));
        }
    };
    items
        .iter()
        .map(|item| {
            let must_exist = match item.get("operation").and_then(Value::as_str) {
                None | Some("must_exist") => true,
                Some("must_not_exist") => false,
                Some(other) => {
                    return Err(refuse(
                        AuthzCode::InvalidTuple,
                        format!("precondition operation must be must_exist or must_not_exist, not {other}"),
                    ));
                }
            };
            let target = item.get("tuple").unwrap_or(item);
            Ok(TuplePrecondition {
                tuple: tuple(target, "preconditions")?,
                must_exist,
            })
        })
        .collect()
}

async fn write_tuples(ctx: Ctx, write: TupleWrite) -> ApiResult<Response> {
    let changes = write.writes.len() + write.deletes.len() + write.preconditions.len();
    if changes == 0 {
        return Err(refuse(
            AuthzCode::MissingFields,
            "nothing to write: give writes or deletes",
        ));
    }
    if changes > MAX_TUPLE_CHANGES {
        return Err(refuse(
            AuthzCode::InvalidTuple,
            format!("at most {MAX_TUPLE_CHANGES} tuple changes per request, got {changes}"),
        ));
    }
    if let Some(both) = write.writes.iter().find(|t| write.deletes.contains(t)) {
        return Err(refuse(
            AuthzCode::InvalidTuple,
            format!("{both} is both written and deleted"),
        ));
    }
    let reply = ctx.write(Op::WriteRelationTuples(write)).await?;
    written(reply, "Relation tuples updated")
}

/// `POST ~/zanzibar/tuples` with `{writes?, deletes?, preconditions?}`.
pub async fn post_tuples(ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult<Response> {
    let write = TupleWrite {
        writes: tuples(&body, "writes")?,
        deletes: tuples(&body, "deletes")?,
        preconditions: preconditions(&body)?,
    };
    write_tuples(ctx, write).await
}

/// `DELETE ~/zanzibar/tuples` with `{tuples, preconditions?}`.
pub async fn delete_tuples(ctx: Ctx, JsonBody(body): JsonBody) -> ApiResult<Response> {
    let write = TupleWrite {
        writes: Vec::new(),
        deletes: tuples(&body, "tuples")?,
        preconditions: preconditions(&body)?,
    };
    write_tuples(ctx, write).await
}

/// `GET ~/zanzibar/tuples?object_type&object_id&relation&subject&page&limit`.
pub async fn list_tuples(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let filter = RelationTupleFilter {
        object_type: query.get("object_type").map(str::to_string),
        object_id: query.get("object_id").map(str::to_string),
        relation: query.get("relation").map(str::to_string),
        subject: query.get("subject").map(str::to_string),
    };
    if filter.object_id.is_some() && filter.object_type.is_none() {
        return Err(ApiError::BadRequest("object_id needs object_type".into()));
    }
    let reply = ctx
        .read(Query::RelationTuples {
            filter,
            page: query.page()?,
        })
        .await?;
    let Reply::RelationTuples(page) = reply else {
        return Err(ApiError::unexpected(reply));
    };
    let items: Vec<Value> = page
        .items
        .iter()
        .filter_map(|(text, stored)| {
            let tuple = Tuple::parse(text).ok()?;
            Some(json!({
                "tuple": text,
                "object": tuple.object.to_string(),
                "relation": tuple.relation,
                "subject": tuple.subject.to_string(),
                "writtenAt": stored.written_at.to_rfc3339(),
                "revision": stored.revision,
            }))
        })
        .collect();
    Ok(list(&page, items, ListShape::Pagination))
}

/// `GET ~/zanzibar/changes?after=<seq>&limit=<n>`: the change feed, oldest first.
pub async fn changes(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let after = match query.get("after") {
        None => 0,
        Some(text) => text
            .parse::<u64>()
            .map_err(|_| ApiError::BadRequest("after must be a change sequence number".into()))?,
    };
    let limit = u64::from(query.int("limit", 1, 1000)?.unwrap_or(100));
    let reply = ctx.read(Query::RelationChanges { after, limit }).await?;
    let Reply::RelationChanges { changes, last } = reply else {
        return Err(ApiError::unexpected(reply));
    };
    let cursor = changes.last().map_or(last.max(after).min(last), |c| c.seq);
    let items: Vec<Value> = changes
        .iter()
        .map(|c| {
            json!({
                "seq": c.seq,
                "operation": match c.kind { TupleChangeKind::Write => "write", TupleChangeKind::Delete => "delete" },
                "tuple": c.tuple,
                "at": c.at.to_rfc3339(),
                "revision": c.revision,
            })
        })
        .collect();
    Ok(Json(json!({"data": items, "cursor": cursor, "last": last})).into_response())
}
