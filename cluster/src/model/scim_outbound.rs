//! Outbound SCIM's vocabulary, shared by `apply` (which keeps the carrier webhook in step and
//! records links) and the pusher (`scim_outbound/`): the carrier webhook's kind and events,
//! what a delivery names, and the kinds of pushed resources.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::{GroupId, UserId};

/// The Lumo user fields an `attribute_mapping` may name (inbound: all but `id`).
pub const SCIM_MAPPABLE_FIELDS: &[&str] = &[
    "id",
    "email",
    "username",
    "name",
    "given_name",
    "family_name",
    "phone_number",
    "picture",
    "locale",
    "zoneinfo",
];

/// The kind of a resource pushed to a downstream SCIM service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ScimResourceKind {
    User,
    Group,
}

impl ScimResourceKind {
    /// The first byte of its link row's key.
    pub fn tag(self) -> u8 {
        match self {
            ScimResourceKind::User => 1,
            ScimResourceKind::Group => 2,
        }
    }

    /// The kind a link row's first byte names.
    pub fn from_tag(tag: u8) -> Option<ScimResourceKind> {
        match tag {
            1 => Some(ScimResourceKind::User),
            2 => Some(ScimResourceKind::Group),
            _ => None,
        }
    }

    /// The SCIM endpoint (`Users`, `Groups`).
    pub fn endpoint(self) -> &'static str {
        match self {
            ScimResourceKind::User => "Users",
            ScimResourceKind::Group => "Groups",
        }
    }
}

/// The key of a link row (`Table::ScimOutboundLink`): kind tag, then the local id.
pub fn scim_link_key(kind: ScimResourceKind, local: &[u8; 16]) -> Vec<u8> {
    let mut key = Vec::with_capacity(17);
    key.push(kind.tag());
    key.extend_from_slice(local);
    key
}

/// The kind of the hidden webhook that carries the outbound SCIM deliveries.
pub const SCIM_KIND: &str = "scim";
/// The event of a full sync (the admin's `sync`, or the batch interval).
pub const BATCH_EVENT: &str = "scim.batch_sync";

const USER_CREATES: &[&str] = &["user.created"];
const USER_UPDATES: &[&str] = &[
    "user.updated",
    "user.blocked",
    "user.unblocked",
    "user.email_verified",
    "user.deactivated",
    "user.soft_deleted",
];
const USER_DELETES: &[&str] = &["user.deleted"];
const GROUP_CHANGES: &[&str] = &[
    "group.created",
    "group.updated",
    "group.deleted",
    "group.user.added",
    "group.user.removed",
    "group.user.replaced",
    "user.group.added",
    "user.group.removed",
    "user.group.replaced",
];
const LOGIN: &str = "user.login.succeeded";

fn switch(outbound: &Value, name: &str) -> bool {
    outbound[name].as_bool().unwrap_or(false)
}

/// The events the hidden webhook subscribes to, from the outbound switches.
pub fn subscribed_events(outbound: &Value) -> Vec<String> {
    let mut events: Vec<&str> = vec![BATCH_EVENT];
    for (name, list) in [
        ("push_user_creates", USER_CREATES),
        ("push_user_updates", USER_UPDATES),
        ("push_user_deletes", USER_DELETES),
        ("push_group_changes", GROUP_CHANGES),
    ] {
        if switch(outbound, name) {
            events.extend_from_slice(list);
        }
    }
    if switch(outbound, "sync_on_login") {
        events.push(LOGIN);
    }
    events.into_iter().map(String::from).collect()
}

/// True when the outbound client is switched on and has somewhere to push to.
pub fn is_enabled(outbound: &Value) -> bool {
    switch(outbound, "enabled")
        && outbound["endpoint_url"]
            .as_str()
            .is_some_and(|u| !u.trim().is_empty())
}

/// What a delivery asks the pusher to bring up to date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScimTarget {
    User(UserId),
    Group(GroupId),
    /// The groups a user was added to or removed from.
    Groups(Vec<GroupId>),
    /// Everything (a full sync).
    Batch,
}

/// The target of a delivery's payload (`{type, data: {object, changes}}`).
pub fn scim_target_of(payload: &Value) -> Option<ScimTarget> {
    let event = payload["type"].as_str()?;
    if event == BATCH_EVENT {
        return Some(ScimTarget::Batch);
    }
    let object = &payload["data"]["object"];
    let id = object["id"].as_str()?;
    if event.starts_with("user.group.") {
        let changes = &payload["data"]["changes"];
        let groups = ["added", "removed"]
            .iter()
            .filter_map(|k| changes[*k].as_array())
            .flatten()
            .filter_map(|g| g.as_str()?.parse().ok())
            .collect();
        return Some(ScimTarget::Groups(groups));
    }
    match object["type"].as_str()? {
        "user" => id.parse().ok().map(ScimTarget::User),
        "group" => id.parse().ok().map(ScimTarget::Group),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn switches_choose_the_events() {
        let all = json!({"push_user_creates": true, "push_user_updates": true,
            "push_user_deletes": true, "push_group_changes": true, "sync_on_login": true});
        let events = subscribed_events(&all);
        for wanted in [
            "user.created",
            "user.deleted",
            "group.user.added",
            LOGIN,
            BATCH_EVENT,
        ] {
            assert!(events.iter().any(|e| e == wanted), "{wanted}");
        }
        let few = subscribed_events(&json!({"push_user_creates": true}));
        assert_eq!(
            few,
            vec![BATCH_EVENT.to_string(), "user.created".to_string()]
        );
    }

    #[test]
    fn targets_come_from_the_payload() {
        let user = UserId::generate();
        let payload = json!({"type": "user.updated", "data": {"object": {"type": "user", "id": user.to_string()}}});
        assert_eq!(scim_target_of(&payload), Some(ScimTarget::User(user)));
        assert_eq!(
            scim_target_of(&json!({"type": BATCH_EVENT})),
            Some(ScimTarget::Batch)
        );
        assert_eq!(scim_target_of(&json!({"type": "user.updated"})), None);
        assert_eq!(
            scim_target_of(
                &json!({"type": "user.updated", "data": {"object": {"type": "user", "id": "nope"}}})
            ),
            None
        );
    }
}
