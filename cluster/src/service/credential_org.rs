//! The org a credential belongs to, for the routes that carry no org in their path
//! (`/api/v1/authz/*`): an access token names its org's slug in its `org` claim, an API key
//! embeds its org's id. The org's replicas verify the credential itself; this only routes.

use base64::Engine;

use crate::api_key;
use crate::caller::Credential;
use crate::directory::MetaReader;
use crate::error::{ClusterError, Result};
use crate::ids::OrgId;

use super::Service;
use super::membership::META_GROUP;

fn unauthenticated(message: &str) -> ClusterError {
    ClusterError::Unauthenticated {
        message: message.into(),
    }
}

/// The `org` claim of a JWT, read without verifying it (the org verifies it).
fn org_claim(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let org = claims.get("org")?.as_str()?;
    crate::directory::validate_slug(org).ok()?;
    Some(org.to_string())
}

impl Service {
    /// The slug of the org `credential` belongs to.
    pub async fn org_of_credential(&self, credential: &Credential) -> Result<String> {
        match credential {
            Credential::None => Err(unauthenticated(
                "missing credential: send an API key in X-API-Key or a bearer token",
            )),
            Credential::Bearer(token) => org_claim(token)
                .ok_or_else(|| unauthenticated("invalid access token: it names no organization")),
            Credential::ApiKey(key) => match api_key::routed_org(key) {
                Some(org) => self.slug_of_org(org).await,
                None => self.slug_of_key(key).await,
            },
        }
    }

    /// The slug of the org a caller-chosen key was registered for (from this node's meta
    /// replica, else from the meta leader).
    async fn slug_of_key(&self, key: &str) -> Result<String> {
        let hash = api_key::hash_key(key);
        if let Some(meta) = self.group(META_GROUP) {
            let reader = MetaReader::new(meta.store.clone());
            if let Some(org) = reader.key_route(&hash)? {
                return self.slug_of_org(org).await;
            }
        }
        let answer = self.lookup(&format!("#key:{hash}"), true).await?;
        answer
            .entry
            .map(|entry| entry.slug)
            .ok_or_else(|| unauthenticated("invalid API key"))
    }

    async fn slug_of_org(&self, org: OrgId) -> Result<String> {
        if let Some(slug) = self.inner.directory.cached_slug_of(org) {
            return Ok(slug);
        }
        // An org's slug never changes: any meta replica that knows it will do.
        if let Some(meta) = self.group(META_GROUP)
            && let Some(slug) = MetaReader::new(meta.store.clone()).slug_of(org)?
        {
            return Ok(slug);
        }
        let answer = self.lookup(&format!("#{org}"), true).await?;
        answer
            .entry
            .map(|entry| entry.slug)
            .ok_or_else(|| unauthenticated("invalid API key"))
    }
}
