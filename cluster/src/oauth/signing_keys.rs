//! The org's signing keys as the protocol shows and changes them: the published JWKS, and
//! rotation.

use crate::access::{authenticate as authenticate_credential, authorize_access};
use crate::caller::Credential;
use crate::command::Op;
use crate::crypto::JwsAlg;
use crate::error::Result;
use crate::model::{Family, SigningKeyRecord};
use crate::protocol::ProtocolReply;
use crate::tables::Table;

use super::runtime::{KEY_OVERLAP_MS, ProtocolCtx};

/// The published public keys.
pub(super) fn jwks(ctx: &ProtocolCtx) -> Result<ProtocolReply> {
    let mut keys = Vec::new();
    ctx.reader()
        .scan::<SigningKeyRecord>(Table::SigningKey, &[], true, |_, key| {
            if key.published(ctx.now) {
                keys.push(key.public_jwk);
            }
            true
        })?;
    Ok(ProtocolReply::Jwks(keys))
}

/// Replaces the org's signing key (an admin extension); the old one stays published for
/// [`KEY_OVERLAP_MS`].
pub(super) async fn rotate_signing_key(
    ctx: &ProtocolCtx,
    credential: &Credential,
    alg: JwsAlg,
) -> Result<ProtocolReply> {
    let principal = authenticate_credential(&ctx.reader(), credential, ctx.now)?;
    authorize_access(&principal, Family::Settings, true)?;
    let key = ctx.runtime.new_key(ctx.org, alg, ctx.now)?;
    ctx.propose(
        principal.kind,
        Op::AddSigningKey {
            key,
            only_if_none: false,
            retain_old_until: ctx.now.plus_millis(KEY_OVERLAP_MS),
        },
    )
    .await?;
    jwks(ctx)
}
