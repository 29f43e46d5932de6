//! The internal RPC listener's decoder: every frame a peer (or anyone reaching the RPC port)
//! sends goes through `decode_request` before the token handshake, and the Raft payloads it
//! carries through `raft::wire`.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use lumo_cluster::raft::wire::{self, RaftRpc, SnapshotHeader};
use lumo_cluster::transport::{Rpc, decode_request};

fuzz_target!(|data: &[u8]| {
    let Ok((_, rpc)) = decode_request(BytesMut::from(data)) else {
        return;
    };
    match rpc {
        Rpc::Raft { rpc, .. } => {
            let _ = wire::decode::<RaftRpc>(&rpc);
        }
        Rpc::Snapshot { header, .. } => {
            let _ = wire::decode::<SnapshotHeader>(&header);
        }
        _ => {}
    }
});
