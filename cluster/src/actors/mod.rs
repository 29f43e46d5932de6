//! Org actors (ractor): one per active org on the shard leader; a serialization and admission
//! point in front of Raft. They start on first use and stop when idle.

mod exec;
mod org;
mod registry;

pub use registry::{ActorRegistry, ActorSettings};
