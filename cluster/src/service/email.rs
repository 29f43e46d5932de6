//! The email sender on the shard leader: the webhook dispatcher hands it the due deliveries of
//! an org's hidden `email` webhook (`service/webhooks.rs`). Per round it reads the email
//! settings, opens the SMTP password, and sends each delivery's message (`mail::compose`) in
//! order; the dispatcher records the round in one Raft entry (`EmailWrite::RecordAttempts`). A
//! message the server refused for good (5xx, an undeliverable address) is dead-lettered at once
//! instead of retried for an hour. A leader that dies after the server accepted a message but
//! before the record commits sends it again from the next leader, with the same `Message-ID`.

use crate::command::{EmailWrite, Op};
use crate::error::Result;
use crate::mail::SmtpAttempt;
use crate::mail::compose::{Compose, compose};
use crate::model::{DirectoryEntry, Webhook, WebhookDelivery};
use crate::oauth::org_mail::{org_sender, stored_email_settings};
use crate::tables::{OrgReader, Table};
use crate::webhooks::Attempt;

use super::Service;
use super::webhooks::recorded;

/// Messages sent at once (each over its own pooled connection): one SMTP dialogue is a
/// handful of round trips, so a single connection caps an org at a few dozen emails a second.
const PARALLEL_SENDS: usize = crate::mail::smtp::POOLED_CONNECTIONS as usize;

impl Service {
    /// Sends deliveries `seqs` of the email webhook in order, stopping at the first transient
    /// failure; returns the record to propose (none when nothing was tried) and whether every
    /// delivery is settled.
    pub(super) async fn send_emails(
        &self,
        entry: &DirectoryEntry,
        reader: &OrgReader,
        webhook: &Webhook,
        seqs: &[u64],
    ) -> Result<Option<(Op, bool)>> {
        let runtime = self.inner.actors.oauth_runtime();
        let stored = stored_email_settings(reader)?;
        let sender = org_sender(&runtime, entry.org_id, &stored)
            .await
            .map(|s| (s.sender, s.domain));
        let mut attempts = Vec::with_capacity(seqs.len());
        let mut give_up = Vec::new();
        let (sender, domain) = match sender {
            Ok(ready) => ready,
            Err(why) => {
                // The first delivery fails with why; the others wait behind it.
                if let Some(&seq) = seqs.first() {
                    let attempt = Attempt::failed(format!("smtp: {why}"));
                    attempts.push(recorded(webhook.id, seq, self.now(), attempt));
                }
                return Ok(record(attempts, give_up, false));
            }
        };
        let sign = |message: &str| runtime.link_tag(entry.org_id, message);
        let mut composed = Vec::with_capacity(seqs.len());
        for &seq in seqs {
            let key = crate::lookup::webhook_delivery_key(webhook.id, seq);
            let Some(delivery) = reader.get::<WebhookDelivery>(Table::WebhookDelivery, &key)?
            else {
                continue;
            };
            composed.push((seq, compose(reader, &delivery, &domain, &sign)?));
        }
        let mut all_ok = true;
        for chunk in composed.chunks(PARALLEL_SENDS) {
            let sends = chunk.iter().map(|(seq, message)| {
                let sender = &sender;
                async move {
                    let sent = match message {
                        Compose::Send(mail) => sender.send(mail).await,
                        Compose::Skip(why) => SmtpAttempt {
                            attempt: Attempt {
                                status_code: None,
                                response_body: Some(format!("not sent: {why}")),
                                error: None,
                            },
                            permanent: false,
                        },
                        Compose::Refuse(why) => SmtpAttempt::permanent(why.clone()),
                    };
                    (*seq, sent)
                }
            });
            for (seq, sent) in futures::future::join_all(sends).await {
                let failed = sent.attempt.error.is_some();
                if failed && sent.permanent {
                    give_up.push(seq);
                } else if failed {
                    all_ok = false;
                }
                attempts.push(recorded(webhook.id, seq, self.now(), sent.attempt));
            }
            if !all_ok {
                // The failed ones wait for their backoff; later ones wait for the next round.
                break;
            }
        }
        Ok(record(attempts, give_up, all_ok))
    }
}

fn record(
    attempts: Vec<crate::command::WebhookAttempt>,
    give_up: Vec<u64>,
    all_ok: bool,
) -> Option<(Op, bool)> {
    if attempts.is_empty() {
        return None;
    }
    Some((
        Op::Email(EmailWrite::RecordAttempts { attempts, give_up }),
        all_ok,
    ))
}
