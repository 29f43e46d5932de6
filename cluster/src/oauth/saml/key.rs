//! The org's SAML signing key: made on first use (RSA-2048, a self-signed certificate valid
//! for three years), its private half sealed under the master key and replicated; the first
//! key committed wins when two requests race.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use samael::idp::{CertificateParams, IdentityProvider, KeyType, Rsa};

use crate::command::{Op, SamlWrite};
use crate::error::{ClusterError, Result};
use crate::model::{PrincipalKind, SAML_CERT_DAYS, SamlIdpKey};
use crate::tables::{Rows, Table};

use super::super::runtime::ProtocolCtx;

const KEY_CONTEXT: &str = "saml-idp-key";

/// The signing key in usable form.
pub(super) struct IdpKey {
    pub record: SamlIdpKey,
    /// The certificate, DER.
    pub certificate: Vec<u8>,
    /// The private key, PKCS#1 DER.
    pub private_der: Vec<u8>,
}

impl IdpKey {
    /// The certificate as PEM.
    pub fn certificate_pem(&self) -> String {
        certificate_pem(&self.record.certificate)
    }
}

/// A certificate given as base64 DER, as PEM.
pub fn certificate_pem(der_base64: &str) -> String {
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in der_base64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

fn generate(ctx: &ProtocolCtx) -> Result<SamlIdpKey> {
    let failed = |e: &dyn std::fmt::Display| {
        ClusterError::internal(format!("making the SAML signing key: {e}"))
    };
    let idp = IdentityProvider::generate_new(KeyType::Rsa(Rsa::Rsa2048)).map_err(|e| failed(&e))?;
    let name = format!("Lumo SAML IdP {}", ctx.org);
    let certificate = idp
        .create_certificate(&CertificateParams {
            common_name: &name,
            issuer_name: &name,
            days_until_expiration: SAML_CERT_DAYS,
        })
        .map_err(|e| failed(&e))?;
    let private = idp.export_private_key_der().map_err(|e| failed(&e))?;
    Ok(SamlIdpKey {
        certificate: STANDARD.encode(certificate.der_data()),
        sealed_private: ctx.runtime.seal_secret(ctx.org, KEY_CONTEXT, &private)?,
        created_at: ctx.now,
        not_after: ctx.now.plus_millis(i64::from(SAML_CERT_DAYS) * 86_400_000),
    })
}

fn open(ctx: &ProtocolCtx, record: SamlIdpKey) -> Result<IdpKey> {
    let private_der = ctx
        .runtime
        .open_secret(ctx.org, KEY_CONTEXT, &record.sealed_private)?;
    let certificate = STANDARD
        .decode(&record.certificate)
        .map_err(|e| ClusterError::internal(format!("the SAML certificate: {e}")))?;
    Ok(IdpKey {
        record,
        certificate,
        private_der,
    })
}

/// The org's signing key, made now if it has none.
pub(super) async fn idp_key(ctx: &ProtocolCtx) -> Result<IdpKey> {
    let stored = |ctx: &ProtocolCtx| ctx.reader().row::<SamlIdpKey>(Table::SamlIdpKey, &[]);
    if let Some(record) = stored(ctx)? {
        return open(ctx, record);
    }
    let fresh = generate(ctx)?;
    ctx.propose(PrincipalKind::System, Op::Saml(SamlWrite::SetIdpKey(fresh)))
        .await?;
    let record = stored(ctx)?
        .ok_or_else(|| ClusterError::internal("the SAML signing key was not stored"))?;
    open(ctx, record)
}
