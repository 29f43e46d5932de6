//! Outgoing connections: one multiplexed connection per peer (plus one for snapshots), created on
//! demand, re-created with jittered backoff after failures.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use sha2::{Digest, Sha256};
use tokio::net::TcpStream;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_util::codec::Framed;

use super::faults::Faults;
use super::frame::{self, Kind};
use super::message::{Rpc, RpcReply};

/// Why a call did not get an answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TransportError {
    #[error("peer {0} is unreachable: {1}")]
    Unreachable(u64, String),
    #[error("peer {0} did not answer within {1:?}")]
    Timeout(u64, Duration),
    #[error("peer {0} sent a malformed answer: {1}")]
    Protocol(u64, String),
    #[error("peer {0} refused the connection: {1}")]
    Refused(u64, String),
}

type Pending = Arc<std::sync::Mutex<HashMap<u64, oneshot::Sender<Bytes>>>>;

struct Conn {
    tx: mpsc::Sender<Bytes>,
    pending: Pending,
    next_id: AtomicU64,
    closed: Arc<std::sync::atomic::AtomicBool>,
}

impl Conn {
    fn is_open(&self) -> bool {
        !self.closed.load(Ordering::SeqCst)
    }
}

#[derive(Default)]
struct PeerState {
    conn: Option<Arc<Conn>>,
    failures: u32,
    retry_at: Option<Instant>,
}

/// Connections to the other nodes.
pub struct Peers {
    self_id: AtomicU64,
    token_sha256: String,
    faults: Arc<Faults>,
    peers: Mutex<HashMap<(String, bool), PeerState>>,
    /// The latest RPC address of each node as the meta group records it: a node restarted on
    /// another address is reached there, whatever address its Raft memberships still carry.
    addresses: std::sync::RwLock<HashMap<u64, String>>,
    /// Bytes of snapshot per message to a peer.
    snapshot_chunk: usize,
}

/// Bytes of snapshot per message unless configured.
pub const DEFAULT_SNAPSHOT_CHUNK: usize = 1 << 20;

/// Jittered exponential backoff: 50 ms doubling up to 2 s.
fn backoff(failures: u32) -> Duration {
    let base = 50u64.saturating_mul(1 << failures.min(6)).min(2_000);
    let jitter = rand::random::<u64>() % (base / 2 + 1);
    Duration::from_millis(base / 2 + jitter)
}

impl Peers {
    /// Connections speaking for node `self_id` with the cluster `token`.
    pub fn new(self_id: u64, token: &str, faults: Arc<Faults>) -> Self {
        Peers {
            self_id: AtomicU64::new(self_id),
            token_sha256: hex::encode(Sha256::digest(token.as_bytes())),
            faults,
            peers: Mutex::new(HashMap::new()),
            addresses: std::sync::RwLock::new(HashMap::new()),
            snapshot_chunk: DEFAULT_SNAPSHOT_CHUNK,
        }
    }

    /// Sends snapshots in chunks of `bytes` (at most a quarter of the frame limit).
    pub fn with_snapshot_chunk(mut self, bytes: usize) -> Self {
        self.snapshot_chunk = bytes.clamp(1, super::frame::MAX_FRAME / 4);
        self
    }

    /// Bytes of snapshot per message.
    pub fn snapshot_chunk(&self) -> usize {
        self.snapshot_chunk
    }

    /// Records the current RPC addresses of nodes (from the meta group's node records).
    pub fn learn_addresses(&self, nodes: impl IntoIterator<Item = (u64, String)>) {
        if let Ok(mut addresses) = self.addresses.write() {
            for (node, addr) in nodes {
                if !addr.is_empty() {
                    addresses.insert(node, addr);
                }
            }
        }
    }

    /// Where `target` is reached: its recorded address, else `fallback` (the caller's).
    fn address_of(&self, target: u64, fallback: &str) -> String {
        self.addresses
            .read()
            .ok()
            .and_then(|addresses| addresses.get(&target).cloned())
            .unwrap_or_else(|| fallback.to_string())
    }

    /// Sets this node's id once it is known (after joining).
    pub fn set_self_id(&self, id: u64) {
        self.self_id.store(id, Ordering::SeqCst);
    }

    /// The fault rules this node applies.
    pub fn faults(&self) -> &Arc<Faults> {
        &self.faults
    }

    async fn connection(
        &self,
        target: u64,
        addr: &str,
        bulk: bool,
    ) -> Result<Arc<Conn>, TransportError> {
        let mut peers = self.peers.lock().await;
        let state = peers.entry((addr.to_string(), bulk)).or_default();
        if let Some(conn) = &state.conn
            && conn.is_open()
        {
            return Ok(conn.clone());
        }
        if let Some(at) = state.retry_at
            && Instant::now() < at
        {
            return Err(TransportError::Unreachable(
                target,
                "backing off after a failed connection".into(),
            ));
        }
        match self.connect(target, addr).await {
            Ok(conn) => {
                state.failures = 0;
                state.retry_at = None;
                state.conn = Some(conn.clone());
                Ok(conn)
            }
            Err(e) => {
                state.failures = state.failures.saturating_add(1);
                state.retry_at = Some(Instant::now() + backoff(state.failures));
                state.conn = None;
                Err(e)
            }
        }
    }

    async fn connect(&self, target: u64, addr: &str) -> Result<Arc<Conn>, TransportError> {
        let unreachable =
            |e: &dyn std::fmt::Display| TransportError::Unreachable(target, e.to_string());
        let stream = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(addr))
            .await
            .map_err(|_| {
                TransportError::Unreachable(target, format!("connect to {addr} timed out"))
            })?
            .map_err(|e| unreachable(&e))?;
        stream.set_nodelay(true).map_err(|e| unreachable(&e))?;
        let (mut sink, mut stream) = Framed::new(stream, frame::codec()).split();
        let pending: Pending = Arc::new(std::sync::Mutex::new(HashMap::new()));
        let closed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (tx, mut rx) = mpsc::channel::<Bytes>(1024);
        let writer_closed = closed.clone();
        tokio::spawn(async move {
            while let Some(bytes) = rx.recv().await {
                if sink.send(bytes).await.is_err() {
                    break;
                }
            }
            writer_closed.store(true, Ordering::SeqCst);
        });
        let reader_pending = pending.clone();
        let reader_closed = closed.clone();
        tokio::spawn(async move {
            while let Some(Ok(bytes)) = stream.next().await {
                let Ok(frame) = frame::decode(bytes) else {
                    break;
                };
                if frame.kind != Kind::Response {
                    break;
                }
                let waiter = reader_pending
                    .lock()
                    .ok()
                    .and_then(|mut p| p.remove(&frame.id));
                if let Some(waiter) = waiter {
                    let _ = waiter.send(frame.body);
                }
            }
            reader_closed.store(true, Ordering::SeqCst);
            // Fail every call still waiting on this connection.
            if let Ok(mut p) = reader_pending.lock() {
                p.clear();
            }
        });
        let conn = Arc::new(Conn {
            tx,
            pending,
            next_id: AtomicU64::new(1),
            closed,
        });
        let hello = Rpc::Hello {
            token_sha256: self.token_sha256.clone(),
            from: self.self_id.load(Ordering::SeqCst),
        };
        match send(&conn, target, &hello, Duration::from_secs(5)).await? {
            RpcReply::Hello => Ok(conn),
            RpcReply::Error(e) => Err(TransportError::Refused(
                target,
                String::from_utf8_lossy(&e).into_owned(),
            )),
            other => Err(TransportError::Protocol(
                target,
                format!("unexpected hello answer {other:?}"),
            )),
        }
    }

    /// Sends `rpc` to node `target` at `addr` and waits at most `timeout` for the answer.
    /// `bulk` uses a separate connection (snapshots) so large transfers never delay heartbeats.
    pub async fn call(
        &self,
        target: u64,
        addr: &str,
        rpc: &Rpc,
        timeout: Duration,
        bulk: bool,
    ) -> Result<RpcReply, TransportError> {
        if self.faults.blocks(target) {
            return Err(TransportError::Unreachable(
                target,
                "partitioned by fault injection".into(),
            ));
        }
        if let Some(delay) = self.faults.delay() {
            tokio::time::sleep(delay).await;
        }
        let addr = self.address_of(target, addr);
        if addr.is_empty() {
            return Err(TransportError::Unreachable(
                target,
                "no address known".into(),
            ));
        }
        let conn = self.connection(target, &addr, bulk).await?;
        let result = send(&conn, target, rpc, timeout).await;
        if matches!(result, Err(TransportError::Unreachable(..))) {
            conn.closed.store(true, Ordering::SeqCst);
        }
        result
    }
}

async fn send(
    conn: &Conn,
    target: u64,
    rpc: &Rpc,
    timeout: Duration,
) -> Result<RpcReply, TransportError> {
    let id = conn.next_id.fetch_add(1, Ordering::Relaxed);
    let body = frame::to_bytes(rpc).map_err(|e| TransportError::Protocol(target, e))?;
    let (tx, rx) = oneshot::channel();
    if let Ok(mut pending) = conn.pending.lock() {
        pending.insert(id, tx);
    }
    let sent = conn.tx.send(frame::encode(Kind::Request, id, &body)).await;
    if sent.is_err() {
        if let Ok(mut pending) = conn.pending.lock() {
            pending.remove(&id);
        }
        return Err(TransportError::Unreachable(
            target,
            "connection closed".into(),
        ));
    }
    match tokio::time::timeout(timeout, rx).await {
        Ok(Ok(bytes)) => frame::from_bytes(&bytes).map_err(|e| TransportError::Protocol(target, e)),
        Ok(Err(_)) => Err(TransportError::Unreachable(
            target,
            "connection closed".into(),
        )),
        Err(_) => {
            if let Ok(mut pending) = conn.pending.lock() {
                pending.remove(&id);
            }
            Err(TransportError::Timeout(target, timeout))
        }
    }
}
