//! What nodes say to each other.

use serde::{Deserialize, Serialize};

use crate::caller::{Credential, RequestContext};
use crate::model::{GroupKind, GroupStatus, NodeInfo};

/// One node's view of itself, for cluster status.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeStatus {
    pub node: u64,
    pub info: NodeInfo,
    pub groups: Vec<GroupStatus>,
}

/// A request from one node to another.
#[derive(Debug, Serialize, Deserialize)]
pub enum Rpc {
    /// First message of a connection: proves the sender knows the cluster token.
    Hello { token_sha256: String, from: u64 },
    /// A Raft message for `group` (bincode, encoded and decoded by `raft::wire`).
    Raft { group: u64, rpc: Vec<u8> },
    /// A snapshot for `group` whose bytes all came in [`Rpc::SnapshotChunk`]s: its vote and
    /// meta (bincode, `raft::wire`), the transfer's name, length and checksum. The receiver
    /// checks them, then installs.
    Snapshot {
        group: u64,
        header: Vec<u8>,
        transfer: String,
        len: u64,
        checksum: [u8; 32],
    },
    /// A node asks to join; answered with its id (the same id again for the same nonce).
    Join { nonce: String, info: NodeInfo },
    /// Serve an org-scoped request here (JSON-encoded `Request`; answers JSON `Reply`).
    Forward {
        slug: String,
        credential: Credential,
        ctx: RequestContext,
        request: Vec<u8>,
        /// The W3C `traceparent` of the forwarding span, when traces are exported.
        trace: Option<String>,
    },
    /// Propose a command to `group` on its leader (bincode `RaftCommand`).
    Propose { group: u64, command: Vec<u8> },
    /// Start hosting `group`: an empty replica to be filled by its leader, or with `bootstrap`
    /// a new group whose only voter is this node.
    HostGroup {
        group: u64,
        kind: GroupKind,
        bootstrap: bool,
    },
    /// Linearizable read of a directory entry, with where its shard lives (meta leader answers).
    Lookup { slug: String },
    /// Nodes, shards and orgs of the cluster (meta leader answers).
    MetaState,
    /// On the leader of `group`: add `add` as a voter (learner first, then promoted) and/or
    /// remove `remove` from the voters.
    ChangeMembership {
        group: u64,
        add: Option<(u64, NodeInfo)>,
        remove: Option<u64>,
    },
    /// On the leader of `group`: hand leadership to node `to`.
    TransferLeader { group: u64, to: u64 },
    /// On the leader of `group`: every row of `org` (for a move), bincode-encoded.
    ExportOrg { group: u64, org: crate::ids::OrgId },
    /// Stop hosting `group` and delete its data (the node is no longer a member).
    DropGroup { group: u64 },
    /// This node's groups, leaders and log positions.
    Status,
    /// Run up to `max_steps` placement steps (meta leader answers, JSON `Result<Vec<String>>`).
    Rebalance { max_steps: usize },
    /// Mark a node without replicas as removed (meta leader answers, JSON
    /// `Result<NodeRecord>`).
    RemoveNode { node: u64 },
    /// Bytes of a snapshot of `group` (a file of `len` bytes) to be written at `offset` of
    /// the transfer's file (none: only asking); answered with the bytes the receiver holds
    /// (`raft::wire`).
    SnapshotChunk {
        group: u64,
        transfer: String,
        len: u64,
        offset: u64,
        data: Vec<u8>,
    },
}

/// Answers to [`Rpc`].
#[derive(Debug, Serialize, Deserialize)]
pub enum RpcReply {
    Hello,
    /// bincode answer to a Raft message (`raft::wire`).
    Raft(Vec<u8>),
    Joined {
        node_id: u64,
        cluster_id: String,
        /// The cluster's master key (base64url), so the new node can open signing keys.
        master_key: Option<String>,
    },
    /// JSON `Result<Reply, ClusterError>`, and the caller's rate-limit quota when the serving
    /// node counted the request.
    Forwarded {
        answer: Vec<u8>,
        quota: Option<crate::rate_limit::Quota>,
    },
    /// JSON `Result<Outcome, ClusterError>`.
    Proposed(Vec<u8>),
    /// Done (host, membership change, transfer, drop).
    Done,
    /// JSON `LookupAnswer`.
    Entry(Vec<u8>),
    /// JSON `MetaSnapshot`.
    Meta(Vec<u8>),
    /// JSON `NodeStatus`.
    Status(Vec<u8>),
    /// bincode rows of an org.
    Rows(Vec<u8>),
    /// JSON `Result<_, ClusterError>` of a placement request.
    Placed(Vec<u8>),
    /// The request was refused; JSON `ClusterError`.
    Error(Vec<u8>),
}
