//! The tests groups and roles share: both are named entities (`name`, unique `slug`,
//! `description`, `isSystem`) with the same CRUD. Each function runs one test against an org
//! for the entity described by a [`NamedKind`]; `groups_api.rs` and `roles_api.rs` call them
//! and keep what is particular to their entity.

use lumo_tests::Api;
use serde_json::{Value, json};

use super::*;

/// A named entity as the admin API serves it.
pub struct NamedKind {
    /// Its collection: `/admin/groups`.
    pub path: &'static str,
    /// The noun of its success messages: `Group` in "Group created".
    pub noun: &'static str,
    /// Every field of its detail model.
    pub detail_fields: &'static [&'static str],
    /// Its counts, 0 on a new entity.
    pub counts: &'static [&'static str],
    /// Its lists of related entities (detail model), empty on a new entity.
    pub lists: &'static [&'static str],
    /// How many every org starts with (the system ones).
    pub system_count: u64,
}

impl NamedKind {
    /// The path of one entity, by id or slug.
    pub fn at(&self, key: &str) -> String {
        format!("{}/{key}", self.path)
    }
}

/// Creates an entity (expects 201) and returns `data`.
pub async fn new_named(
    api: &Api,
    kind: &NamedKind,
    name: &str,
    slug: &str,
) -> anyhow::Result<Value> {
    let reply = api
        .post(kind.path, json!({"name": name, "slug": slug}))
        .await?
        .expect(201);
    Ok(reply.data().clone())
}

/// Asserts a detail model without any relation: every count 0, every list empty.
#[track_caller]
pub fn assert_fresh(kind: &NamedKind, entity: &Value) {
    for count in kind.counts {
        assert_eq!(entity[*count], 0, "{count} of {entity}");
    }
    for list in kind.lists {
        assert_eq!(entity[*list], json!([]), "{list} of {entity}");
    }
}

pub async fn create_returns_201_with_the_model(api: &Api, kind: &NamedKind) -> anyhow::Result<()> {
    let reply = api
        .post(
            kind.path,
            json!({"name": "Engineering", "slug": "engineering", "description": "Builders"}),
        )
        .await?
        .expect(201);
    assert_data_message(&reply);
    assert_eq!(reply.body["message"], format!("{} created", kind.noun));
    let entity = reply.data();
    assert_eq!(keys(entity), set(kind.detail_fields), "{entity}");
    assert_uuid(&text(&entity["id"]));
    assert_eq!(entity["name"], "Engineering");
    assert_eq!(entity["slug"], "engineering");
    assert_eq!(entity["description"], "Builders");
    assert_eq!(entity["isSystem"], false);
    assert_fresh(kind, entity);
    assert_time(&entity["createdAt"]);

    // Without a slug, one is made from the name; without a description it is null.
    let derived = api
        .post(kind.path, json!({"name": "Billing Team!"}))
        .await?
        .expect(201);
    assert_eq!(derived.data()["slug"], "billing-team");
    assert_eq!(derived.data()["description"], Value::Null);
    assert_eq!(total(api, kind.path).await?, kind.system_count + 2);
    Ok(())
}

pub async fn get_by_id_and_by_slug_return_the_same(
    api: &Api,
    kind: &NamedKind,
) -> anyhow::Result<()> {
    let entity = new_named(api, kind, "Research", "research").await?;
    let by_id = api.get(&kind.at(&text(&entity["id"]))).await?.expect(200);
    let by_slug = api.get(&kind.at("research")).await?.expect(200);
    assert_eq!(keys(&by_id.body), set(&["data"]));
    assert_eq!(by_id.body, by_slug.body);
    assert_eq!(by_id.data(), &entity);
    for missing in ["ghost", "00000000-0000-0000-0000-000000000000"] {
        api.get(&kind.at(missing))
            .await?
            .expect_error(404, "resource_not_found");
    }
    Ok(())
}

pub async fn a_duplicate_slug_is_409_on_create_and_on_update(
    api: &Api,
    kind: &NamedKind,
) -> anyhow::Result<()> {
    let first = new_named(api, kind, "Platform", "platform").await?;
    let second = new_named(api, kind, "Infra", "infra").await?;
    let refused = api
        .post(kind.path, json!({"name": "Other", "slug": "platform"}))
        .await?
        .expect_error(409, "duplicate_resource");
    assert_eq!(refused.body["details"], json!({"field": "slug"}));
    // A derived slug clashes too.
    api.post(kind.path, json!({"name": "Platform"}))
        .await?
        .expect_error(409, "duplicate_resource");
    assert_eq!(total(api, kind.path).await?, kind.system_count + 2);

    // Neither PATCH nor PUT may move to a slug in use.
    let infra = kind.at("infra");
    let refusals = [
        api.patch(&infra, json!({"slug": "platform", "name": "Renamed"}))
            .await?,
        api.put(
            &infra,
            json!({"slug": "platform", "description": "changed"}),
        )
        .await?,
    ];
    for refused in refusals {
        let refused = refused.expect_error(409, "duplicate_resource");
        assert_eq!(refused.body["details"], json!({"field": "slug"}));
    }
    assert_eq!(api.get(&infra).await?.expect(200).data(), &second);
    assert_eq!(
        api.get(&kind.at("platform")).await?.expect(200).data(),
        &first
    );
    Ok(())
}

pub async fn put_and_patch_change_only_what_is_sent(
    api: &Api,
    kind: &NamedKind,
) -> anyhow::Result<()> {
    let created = api
        .post(
            kind.path,
            json!({"name": "Design", "slug": "design", "description": "Pixels"}),
        )
        .await?
        .expect(201)
        .data()
        .clone();
    let id = text(&created["id"]);
    let by_id = kind.at(&id);

    let patched = api
        .patch(&by_id, json!({"description": "Pixels and type"}))
        .await?
        .expect(200);
    assert_data_message(&patched);
    assert_eq!(patched.body["message"], format!("{} updated", kind.noun));
    let mut expected = created.clone();
    expected["description"] = json!("Pixels and type");
    expected["updatedAt"] = patched.data()["updatedAt"].clone();
    assert_eq!(patched.data(), &expected);

    let renamed = api
        .patch(&by_id, json!({"name": "Design Crew"}))
        .await?
        .expect(200);
    expected["name"] = json!("Design Crew");
    expected["updatedAt"] = renamed.data()["updatedAt"].clone();
    assert_eq!(renamed.data(), &expected);

    let put = api
        .put(&kind.at("design"), json!({"name": "Design Team"}))
        .await?
        .expect(200);
    expected["name"] = json!("Design Team");
    expected["updatedAt"] = put.data()["updatedAt"].clone();
    assert_eq!(put.data(), &expected, "PUT keeps unsent fields");

    let put = api
        .put(&kind.at("design"), json!({"description": null}))
        .await?
        .expect(200);
    expected["description"] = Value::Null;
    expected["updatedAt"] = put.data()["updatedAt"].clone();
    assert_eq!(
        put.data(),
        &expected,
        "PUT is partial; null clears description"
    );

    let described = api
        .patch(&kind.at("design"), json!({"description": "Pixels again"}))
        .await?
        .expect(200);
    expected["description"] = json!("Pixels again");
    expected["updatedAt"] = described.data()["updatedAt"].clone();
    assert_eq!(described.data(), &expected);

    let cleared = api
        .patch(&kind.at("design"), json!({"description": null}))
        .await?
        .expect(200);
    expected["description"] = Value::Null;
    expected["updatedAt"] = cleared.data()["updatedAt"].clone();
    assert_eq!(cleared.data(), &expected, "PATCH with null clears too");

    // Renaming the slug through the old slug (by PATCH, then by PUT) answers the entity under
    // its new slug.
    let moved = api
        .patch(&kind.at("design"), json!({"slug": "ux"}))
        .await?
        .expect(200);
    assert_moved(api, kind, &moved, &id, "design", "ux").await?;
    let moved = api
        .put(&kind.at("ux"), json!({"slug": "studio"}))
        .await?
        .expect(200);
    assert_moved(api, kind, &moved, &id, "ux", "studio").await?;
    // The old slug is free.
    new_named(api, kind, "Design 2", "design").await?;

    // Empty names and bad slugs are 422 and change nothing.
    let bad = api
        .put(
            &kind.at("studio"),
            json!({"name": "", "slug": "Has Spaces"}),
        )
        .await?
        .expect_error(422, "validation_error");
    assert_fields(&bad, &["name", "slug"]);
    let bad = api
        .patch(&by_id, json!({"name": null}))
        .await?
        .expect_error(422, "validation_error");
    assert_fields(&bad, &["name"]);
    assert_eq!(
        api.get(&kind.at("studio")).await?.expect(200).data()["name"],
        "Design Team"
    );
    assert_eq!(
        api.get(&by_id).await?.expect(200).data()["name"],
        "Design Team"
    );
    api.patch(&kind.at("nope"), json!({"name": "x"}))
        .await?
        .expect_error(404, "resource_not_found");
    Ok(())
}

/// Asserts the reply of a slug change `from` -> `to` of entity `id` (named "Design Team"),
/// and that only the new slug finds it.
async fn assert_moved(
    api: &Api,
    kind: &NamedKind,
    moved: &Reply,
    id: &str,
    from: &str,
    to: &str,
) -> anyhow::Result<()> {
    assert_eq!(moved.data()["slug"], to);
    assert_eq!(moved.data()["id"], json!(id));
    assert_eq!(moved.data()["name"], "Design Team");
    api.get(&kind.at(from))
        .await?
        .expect_error(404, "resource_not_found");
    assert_eq!(
        api.get(&kind.at(to)).await?.expect(200).data()["id"],
        json!(id)
    );
    Ok(())
}

/// Deletes entity `id` (a `{message}` reply), then asserts its `slug` is 404 to GET and to
/// DELETE.
pub async fn delete_and_assert_gone(
    api: &Api,
    kind: &NamedKind,
    id: &str,
    slug: &str,
) -> anyhow::Result<()> {
    let deleted = api.delete(&kind.at(id)).await?.expect(200);
    assert_message_only(&deleted);
    assert_eq!(deleted.body["message"], format!("{} deleted", kind.noun));
    api.get(&kind.at(slug))
        .await?
        .expect_error(404, "resource_not_found");
    api.delete(&kind.at(slug))
        .await?
        .expect_error(404, "resource_not_found");
    Ok(())
}

/// Creates an entity reusing a deleted one's `slug` and asserts it inherits nothing.
pub async fn assert_reborn_empty(
    api: &Api,
    kind: &NamedKind,
    name: &str,
    slug: &str,
) -> anyhow::Result<()> {
    let reborn = new_named(api, kind, name, slug).await?;
    assert_fresh(kind, &reborn);
    Ok(())
}
