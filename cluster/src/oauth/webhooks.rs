//! Webhooks on the leader, where the master key is: sealing a new or rotated secret, opening
//! the secrets a delivery is signed with, and the admin's synchronous test delivery.

use serde_json::json;

use crate::access::{authenticate as authenticate_credential, authorize_access};
use crate::caller::Credential;
use crate::clock::Timestamp;
use crate::command::Op;
use crate::error::{ClusterError, Result};
use crate::ids::{OrgId, WebhookId};
use crate::model::{Family, Webhook};
use crate::protocol::{ProtocolReply, WebhookSecretChange};
use crate::query::Outcome;
use crate::webhooks::{SendLimits, send, signature_headers};

use super::runtime::{OAuthRuntime, ProtocolCtx};

const SEAL_CONTEXT: &str = "webhook-secret";

/// The secrets deliveries of `webhook` are signed with at `now`, newest first.
pub fn signing_secrets(
    runtime: &OAuthRuntime,
    org: OrgId,
    webhook: &Webhook,
    now: Timestamp,
) -> Result<Vec<String>> {
    let open = |sealed: &str| -> Result<String> {
        let plain = runtime.open_secret(org, SEAL_CONTEXT, sealed)?;
        String::from_utf8(plain).map_err(|_| ClusterError::internal("a webhook secret is not text"))
    };
    let mut secrets = vec![open(&webhook.sealed_secret)?];
    if let (Some(previous), Some(until)) = (&webhook.previous_sealed_secret, webhook.previous_until)
        && until > now
    {
        secrets.push(open(previous)?);
    }
    Ok(secrets)
}

pub(super) async fn save_secret(
    ctx: &ProtocolCtx,
    credential: &Credential,
    change: WebhookSecretChange,
) -> Result<ProtocolReply> {
    let principal = authenticate_credential(&ctx.reader(), credential, ctx.now)?;
    authorize_access(&principal, Family::Webhooks, true)?;
    let seal = |secret: &str| {
        ctx.runtime
            .seal_secret(ctx.org, SEAL_CONTEXT, secret.as_bytes())
    };
    let id = match change {
        WebhookSecretChange::Create { fields, secret } => {
            if fields.kind == crate::webhooks::ssf::SSF_KIND {
                // SETs are signed with the org's token key: make sure there is one.
                ctx.signing_key().await?;
            }
            let op = Op::CreateWebhook {
                fields,
                sealed_secret: seal(&secret)?,
            };
            match ctx.propose(principal.kind, op).await? {
                Outcome::Created(id) => id
                    .parse::<u64>()
                    .map(WebhookId)
                    .map_err(|_| ClusterError::internal("a webhook id is not a number"))?,
                other => {
                    return Err(ClusterError::internal(format!(
                        "creating a webhook answered {other:?}"
                    )));
                }
            }
        }
        WebhookSecretChange::Rotate {
            id,
            secret,
            grace_secs,
        } => {
            let grace_ms = i64::try_from(grace_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
            let op = Op::RotateWebhookSecret {
                id,
                sealed_secret: seal(&secret)?,
                grace_until: ctx.now.plus_millis(grace_ms),
            };
            ctx.propose(principal.kind, op).await?;
            id
        }
    };
    Ok(ProtocolReply::Webhook(crate::lookup::webhook(
        &ctx.reader(),
        id,
    )?))
}

/// Sends a `test.webhook` event to the webhook now (not recorded as a delivery).
pub(super) async fn test(
    ctx: &ProtocolCtx,
    credential: &Credential,
    id: WebhookId,
) -> Result<ProtocolReply> {
    let principal = authenticate_credential(&ctx.reader(), credential, ctx.now)?;
    authorize_access(&principal, Family::Webhooks, true)?;
    let webhook = crate::lookup::webhook(&ctx.reader(), id)?;
    if let Some(owner) = crate::model::hidden_owner(&webhook.kind) {
        return Err(ClusterError::conflict(
            "webhookId",
            format!("this webhook carries {owner}"),
        ));
    }
    if webhook.kind == crate::model::TUNNEL_KIND {
        // Nothing to POST to: a tunnel's events wait for its stream.
        return Err(ClusterError::conflict(
            "webhookId",
            "this webhook is a development tunnel: its events appear on the tunnel's stream",
        ));
    }
    let secrets = signing_secrets(&ctx.runtime, ctx.org, &webhook, ctx.now)?;
    let event_id = format!("evt_test_{}", ulid::Ulid::new().to_string().to_lowercase());
    let body = json!({
        "id": event_id,
        "type": "test.webhook",
        "timestamp": ctx.now.to_rfc3339(),
        "data": {"webhookId": id.0, "message": "A test event from Lumo"},
    });
    let bytes = serde_json::to_vec(&body)?;
    let headers = signature_headers(&secrets, &event_id, ctx.now.0 / 1000, &bytes);
    let attempt = send(
        &webhook.url,
        &headers,
        bytes,
        ctx.runtime.webhook_targets(),
        SendLimits::default(),
    )
    .await;
    Ok(ProtocolReply::WebhookTest {
        status_code: attempt.status_code,
        error: attempt.error,
    })
}

/// The signed SET (RFC 8417) an SSF stream receives for an outbox `payload`, with the org's
/// active token signing key (published in its JWKS).
pub fn security_event_token(
    runtime: &OAuthRuntime,
    reader: &crate::tables::OrgReader,
    org: OrgId,
    stream: &Webhook,
    payload: &serde_json::Value,
    now: Timestamp,
) -> Result<String> {
    let config = stream.configuration.clone().unwrap_or_default();
    let (iss, aud) = (
        config["ssf"]["iss"].as_str().unwrap_or_default(),
        config["ssf"]["aud"].as_str().unwrap_or_default(),
    );
    let claims = crate::webhooks::ssf::set_claims(iss, aud, now.0 / 1000, payload)
        .ok_or_else(|| ClusterError::internal("an SSF stream was handed a non-security event"))?;
    let record = super::runtime::active_key(reader)?
        .ok_or_else(|| ClusterError::internal("the org has no signing key for SETs"))?;
    runtime
        .material(org, &record)?
        .sign(&claims, "secevent+jwt")
        .map_err(ClusterError::internal)
}
