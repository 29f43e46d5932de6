//! The RPC listener: checks the token handshake, then serves each request in its own task.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_util::codec::Framed;

use super::faults::Faults;
use super::frame::{self, Kind};
use super::message::{Rpc, RpcReply};

/// What serves incoming requests.
pub trait RpcHandler: Send + Sync + 'static {
    /// Answers one request from node `from`.
    fn handle(
        self: Arc<Self>,
        from: u64,
        rpc: Rpc,
    ) -> Pin<Box<dyn Future<Output = RpcReply> + Send>>;
}

/// Accepts connections until `stop` turns true.
pub async fn serve<H: RpcHandler>(
    listener: TcpListener,
    handler: Arc<H>,
    token: String,
    faults: Arc<Faults>,
    mut stop: watch::Receiver<bool>,
) {
    let token_sha256 = hex::encode(Sha256::digest(token.as_bytes()));
    let connections = stop.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let conn = connection(stream, handler.clone(), token_sha256.clone(), faults.clone(), connections.clone());
                tokio::spawn(conn);
            }
            _ = stop.wait_for(|s| *s) => break,
        }
    }
}

async fn connection<H: RpcHandler>(
    stream: TcpStream,
    handler: Arc<H>,
    token_sha256: String,
    faults: Arc<Faults>,
    mut stop: watch::Receiver<bool>,
) {
    let (mut sink, mut frames) = Framed::new(stream, frame::codec()).split();
    let (tx, mut rx) = mpsc::channel::<Bytes>(1024);
    let writer = tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if sink.send(bytes).await.is_err() {
                break;
            }
        }
    });
    let mut peer: Option<u64> = None;
    loop {
        // A stopped node drops its connections, so peers see it as gone.
        let next = tokio::select! {
            next = frames.next() => next,
            _ = stop.wait_for(|s| *s) => break,
        };
        let Some(Ok(bytes)) = next else { break };
        let Ok((request_id, rpc)) = frame::decode_request(bytes) else {
            break;
        };
        let Some(from) = peer else {
            // The first message must prove the token.
            let Rpc::Hello {
                token_sha256: presented,
                from,
            } = rpc
            else {
                break;
            };
            if !bool::from(presented.as_bytes().ct_eq(token_sha256.as_bytes())) {
                let refusal = RpcReply::Error(b"\"invalid cluster token\"".to_vec());
                if let Ok(body) = frame::to_bytes(&refusal) {
                    let _ = tx
                        .send(frame::encode(Kind::Response, request_id, &body))
                        .await;
                }
                break;
            }
            peer = Some(from);
            if let Ok(body) = frame::to_bytes(&RpcReply::Hello) {
                let _ = tx
                    .send(frame::encode(Kind::Response, request_id, &body))
                    .await;
            }
            continue;
        };
        if faults.blocks(from) {
            // Partitioned: the message is lost.
            continue;
        }
        let handler = handler.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            let reply = handler.handle(from, rpc).await;
            if let Ok(body) = frame::to_bytes(&reply) {
                let _ = tx
                    .send(frame::encode(Kind::Response, request_id, &body))
                    .await;
            }
        });
    }
    drop(tx);
    let _ = writer.await;
}
