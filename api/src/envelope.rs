//! The LumoAuth success envelopes.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lumo_cluster::query::Page;
use serde::Serialize;
use serde_json::{Value, json};

/// `{"data": ...}`, serialized straight from `T` (no `Value` tree in between).
#[derive(Serialize)]
struct Data<T> {
    data: T,
}

/// `{"data": ..., "message": ...}`.
#[derive(Serialize)]
struct DataMessage<'a, T> {
    data: T,
    message: &'a str,
}

/// `200 {"data": ...}`.
pub fn data(value: impl Serialize) -> Response {
    Json(Data { data: value }).into_response()
}

/// `200 {"data": ..., "message": ...}`.
pub fn data_message(value: impl Serialize, message: &str) -> Response {
    Json(DataMessage {
        data: value,
        message,
    })
    .into_response()
}

/// `201 {"data": ..., "message": ...}`.
pub fn created(value: impl Serialize, message: &str) -> Response {
    (
        StatusCode::CREATED,
        Json(DataMessage {
            data: value,
            message,
        }),
    )
        .into_response()
}

/// `200 {"message": ...}`.
pub fn message(message: &str) -> Response {
    Json(json!({"message": message})).into_response()
}

/// The six pagination fields the client requires.
pub fn pagination<T>(page: &Page<T>) -> Value {
    let limit = page.limit.max(1);
    let total_pages = page.total.div_ceil(limit);
    json!({
        "total": page.total,
        "page": page.page,
        "limit": page.limit,
        "totalPages": total_pages,
        "hasNextPage": page.page < total_pages,
        "hasPreviousPage": page.page > 1,
    })
}

/// How a list is wrapped.
#[derive(Clone, Copy)]
pub enum ListShape {
    /// `{data, pagination}` (sub-lists).
    Pagination,
    /// `{data, meta, pagination}` with `meta` = `pagination`.
    Meta,
    /// `{data, meta, pagination, resourceType}`.
    Resource(&'static str),
}

/// A list response.
pub fn list<T, D: Serialize>(page: &Page<T>, items: Vec<D>, shape: ListShape) -> Response {
    let pagination = pagination(page);
    let body = match shape {
        ListShape::Pagination => json!({"data": items, "pagination": pagination}),
        ListShape::Meta => json!({"data": items, "meta": pagination, "pagination": pagination}),
        ListShape::Resource(kind) => {
            json!({"data": items, "meta": pagination, "pagination": pagination, "resourceType": kind})
        }
    };
    Json(body).into_response()
}
