//! Outbound SCIM (`ScimSettings.outbound`): Lumo pushes its users and groups to a downstream
//! SCIM 2.0 service. The push rides on the webhook outbox: saving the settings keeps one hidden
//! webhook of kind [`SCIM_KIND`] subscribed to the user and group events the switches ask for,
//! so every change gets a delivery in the same Raft entry; the webhook dispatcher hands that
//! webhook's deliveries to [`push::Pusher`] instead of POSTing them. A delivery names the
//! resource, and the pusher sends its *current* state (create, replace or delete), so retries
//! and replays converge instead of replaying stale bodies. Downstream ids are remembered in
//! `Table::ScimOutboundLink` through Raft (`Op::RecordScimPushes`).

mod client;
mod push;
mod resource;

pub use crate::model::{
    BATCH_EVENT, SCIM_KIND, ScimResourceKind, ScimTarget as Target, is_enabled, scim_link_key,
    scim_target_of as target_of, subscribed_events,
};
pub use client::ScimClient;
pub use push::{BatchWork, Pusher};
pub use resource::{group_resource, set_path, user_resource};
