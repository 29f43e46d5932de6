//! Waiting for what a node does in the background (deliveries, emails), bounded in time.

use std::time::Duration;

use lumo_chaos::smtp_sink::{Received, SmtpSink};

/// Polls `check` every 100 ms for up to 20 s until it answers `Some`.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Option<T>>>,
{
    for _ in 0..200 {
        if let Some(found) = check().await? {
            return Ok(found);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("timed out waiting for {what}")
}

/// The `nth` (from 0) email `sink` received for `to`.
pub async fn mail_to(sink: &SmtpSink, to: &str, nth: usize) -> anyhow::Result<Received> {
    eventually(&format!("email {nth} to {to}"), || async {
        Ok(sink
            .received()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == to))
            .nth(nth))
    })
    .await
}
