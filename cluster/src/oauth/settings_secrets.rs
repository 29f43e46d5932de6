//! Settings changes that carry usable secrets (the outbound SCIM credentials, the SMTP
//! password), made on the leader where the master key is: each secret is hashed as every
//! settings secret is, and also sealed under the master key so the server can use it later.

use serde_json::Value;

use crate::access::{authenticate as authenticate_credential, authorize_access};
use crate::caller::Credential;
use crate::command::Op;
use crate::error::{ClusterError, Result};
use crate::model::Family;
use crate::protocol::ProtocolReply;
use crate::query::{Query, Reply};
use crate::settings::{SettingsSection, seal_secrets, secret_context, usable_secrets};

use super::runtime::ProtocolCtx;

pub(super) async fn update(
    ctx: &ProtocolCtx,
    credential: &Credential,
    section: SettingsSection,
    patch: &str,
) -> Result<ProtocolReply> {
    let principal = authenticate_credential(&ctx.reader(), credential, ctx.now)?;
    authorize_access(&principal, Family::Settings, true)?;
    let mut patch: Value = serde_json::from_str(patch)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| ClusterError::invalid("body", "must be a JSON object"))?;
    let usable = usable_secrets(section, &patch);
    let secrets = seal_secrets(section, &mut patch, ctx.now)?;
    let mut sealed = Vec::with_capacity(usable.len());
    for (path, plain) in usable {
        let context = secret_context(section, &path);
        let ciphertext = ctx
            .runtime
            .seal_secret(ctx.org, &context, plain.as_bytes())?;
        sealed.push((path, ciphertext));
    }
    let op = Op::UpdateSettingsSealed {
        section,
        patch: patch.to_string(),
        secrets,
        sealed,
    };
    ctx.propose(principal.kind.clone(), op).await?;
    match crate::read::run_query(
        &ctx.reader(),
        &Query::Settings(section),
        &principal,
        ctx.now,
    )? {
        Reply::Json(text) => Ok(ProtocolReply::Document(
            serde_json::from_str(&text).map_err(ClusterError::internal)?,
        )),
        other => Err(ClusterError::internal(format!(
            "settings answered {other:?}"
        ))),
    }
}
