//! openraft glue: the type config, the state machine over storage, the network, and starting a
//! group.

mod calls;
mod group;
mod network;
mod read_batch;
mod snapshot_file;
pub mod snapshot_transfer;
mod state_machine;
mod types;
pub mod wire;

pub use calls::write_error;
pub use group::{GroupHandle, GroupKind, raft_config, start_group};
pub use network::{Network, NetworkFactory};
pub use snapshot_file::SnapshotFile;
pub use state_machine::{LAST_APPLIED_META, StateMachine};
pub use types::{ApplyResult, NodeInfo, Raft, TypeConfig};
