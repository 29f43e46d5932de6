//! Internal RPC between nodes (DESIGN.md section 7): raw TCP, length-delimited frames with a
//! version byte and a request id for multiplexing, bincode bodies, `TCP_NODELAY`, per-call
//! deadlines, reconnect with jittered backoff, a token handshake, and fault injection (only when
//! a node is started with it enabled, for tests and chaos runs).

mod client;
mod faults;
mod frame;
mod message;
mod server;

pub use client::{Peers, TransportError};
pub use faults::{FaultRule, Faults};
pub use frame::{PROTOCOL_VERSION, decode_request, from_bytes, to_bytes};
pub use message::{NodeStatus, Rpc, RpcReply};
pub use server::{RpcHandler, serve};
