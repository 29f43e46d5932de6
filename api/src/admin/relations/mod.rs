//! Relation endpoints: a user's roles, groups and permissions; group members and roles; role
//! permissions and users. Each relation is one row of [`table::RELATIONS`]; the handlers here
//! serve every row through `Op::Relate` and `Query::Related`.

mod ends;
mod table;

use axum::Router;
use axum::response::Response;
use axum::routing::{MethodRouter, delete, get};
use lumo_cluster::command::{EntityKey, Op, RelateMode};
use lumo_cluster::query::{Query, Reply};

use crate::dto::catalog::PermissionItemDto;
use crate::dto::user::{RefItemDto, UserRefDto};
use crate::envelope::{self, ListShape};
use crate::error::ApiResult;
use crate::extract::{Body, Ctx, JsonBody, ListQuery, in_family};
use crate::reply;
use crate::state::AppState;

use ends::{AnchorKey, Kind};
use table::{Answer, Change, RELATIONS, RelationRoute};

pub fn router() -> Router<AppState> {
    RELATIONS
        .iter()
        .fold(Router::new(), |router, route| router.merge(routes(route)))
}

/// One row's routes, in the scope family of its anchor.
fn routes(route: &'static RelationRoute) -> Router<AppState> {
    Router::new()
        .route(&route.collection_path(), collection(route))
        .route(
            &route.item_path(),
            delete(move |ctx: Ctx| remove(route, ctx)),
        )
        .route_layer(in_family(route.anchor.family()))
}

/// GET, POST and (where the row allows it) PUT of a relation's collection path.
fn collection(route: &'static RelationRoute) -> MethodRouter<AppState> {
    let methods = get(move |ctx: Ctx, query: ListQuery| list(route, ctx, query)).post(
        move |ctx: Ctx, json: JsonBody| change(route, &route.add, RelateMode::Add, ctx, json),
    );
    match &route.replace {
        Some(replace) => methods.put(move |ctx: Ctx, json: JsonBody| {
            change(route, replace, RelateMode::Replace, ctx, json)
        }),
        None => methods,
    }
}

/// One page of the entities related to the anchor.
async fn list(route: &RelationRoute, ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let anchor = route.anchor.key(&ctx)?.entity();
    let page = query.page()?;
    let reply = ctx
        .read(Query::Related {
            anchor,
            relation: route.relation,
            page,
        })
        .await?;
    page_response(route.related, reply)
}

/// Adds (or, replacing, sets exactly) the entities named in the body.
async fn change(
    route: &RelationRoute,
    change: &Change,
    mode: RelateMode,
    ctx: Ctx,
    json: JsonBody,
) -> ApiResult<Response> {
    let allow_empty = mode == RelateMode::Replace;
    let others = || references(json, change.fields, route.related, allow_empty);
    let (anchor, others) = if route.anchor_read_last {
        let others = others()?;
        (route.anchor.key(&ctx)?, others)
    } else {
        (route.anchor.key(&ctx)?, others()?)
    };
    relate(&ctx, route, anchor, others, mode, change.answer).await
}

/// Removes the one entity named in the item path.
async fn remove(route: &RelationRoute, ctx: Ctx) -> ApiResult<Response> {
    let other = || route.related.path_key(&ctx);
    let (anchor, other) = if route.anchor_read_last {
        let other = other()?;
        (route.anchor.key(&ctx)?, other)
    } else {
        (route.anchor.key(&ctx)?, other()?)
    };
    relate(
        &ctx,
        route,
        anchor,
        vec![other],
        RelateMode::Remove,
        route.remove,
    )
    .await
}

/// Reads the referenced ids from the first present of `fields` (each a single id, or a list).
fn references(
    json: JsonBody,
    fields: &[&str],
    kind: Kind,
    allow_empty: bool,
) -> ApiResult<Vec<EntityKey>> {
    let mut body = Body::new(json);
    let Some(field) = body.first_present(fields) else {
        body.problem(fields[0], "is required");
        body.finish()?;
        return Ok(Vec::new());
    };
    let ids = body.id_list(field).unwrap_or_default();
    if ids.is_empty() && !allow_empty {
        body.problem(field, "must name at least one item");
    }
    body.finish()?;
    ids.iter().map(|id| kind.body_key(field, id)).collect()
}

async fn relate(
    ctx: &Ctx,
    route: &RelationRoute,
    anchor: AnchorKey,
    others: Vec<EntityKey>,
    mode: RelateMode,
    answer: Answer,
) -> ApiResult<Response> {
    let op = Op::Relate {
        relation: route.relation,
        anchor: anchor.entity(),
        others,
        mode,
    };
    match answer {
        Answer::Message(message) => {
            ctx.write(op).await?;
            Ok(envelope::message(message))
        }
        Answer::AnchorView(message) => {
            let reply = ctx.write_then(op, anchor.view()).await?;
            anchor.view_response(reply, message)
        }
    }
}

/// A page of related entities: users in the `users` resource envelope, the others as
/// `{data, pagination}`.
fn page_response(related: Kind, reply: Reply) -> ApiResult<Response> {
    match related {
        Kind::User => {
            let page = reply!(reply, Reply::UserRefs);
            let items: Vec<UserRefDto> = page.items.iter().cloned().map(UserRefDto::from).collect();
            Ok(envelope::list(&page, items, ListShape::Resource("users")))
        }
        Kind::Group | Kind::Role => {
            let page = reply!(reply, Reply::Refs);
            let items: Vec<RefItemDto> = page.items.iter().cloned().map(RefItemDto::from).collect();
            Ok(envelope::list(&page, items, ListShape::Pagination))
        }
        Kind::Permission => {
            let page = reply!(reply, Reply::PermissionRefs);
            let items: Vec<PermissionItemDto> = page
                .items
                .iter()
                .cloned()
                .map(PermissionItemDto::from)
                .collect();
            Ok(envelope::list(&page, items, ListShape::Pagination))
        }
    }
}
