//! What OAuth protocol handlers run with on the shard leader: the master key, the decrypted
//! signing keys, device-poll pacing, and a context that reads behind a linearizable barrier and
//! proposes writes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::caller::RequestContext;
use crate::clock::Timestamp;
use crate::command::{Command, CommandMeta, NewSigningKey, Op, RaftCommand};
use crate::crypto::{JwsAlg, MasterKey, SigningMaterial, generate_signing_key};
use crate::error::{ClusterError, Result};
use crate::ids::OrgId;
use crate::model::{Principal, PrincipalKind, SigningKeyRecord, SigningKeyState};
use crate::query::Outcome;
use crate::raft::GroupHandle;
use crate::tables::{OrgReader, Table};

/// How long a replaced signing key stays published (longer than any token it signed lives).
pub const KEY_OVERLAP_MS: i64 = 48 * 3_600_000;

/// Node-wide OAuth state that is not replicated (derived or advisory).
pub struct OAuthRuntime {
    master_key: Option<MasterKey>,
    /// Which webhook receivers this node may call.
    webhook_targets: crate::webhooks::TargetPolicy,
    /// Where one-time codes are sent (none: email codes are not offered).
    mailer: Option<Arc<dyn crate::mail::Mailer>>,
    keys: Mutex<HashMap<(OrgId, String), Arc<SigningMaterial>>>,
    /// Last token poll per device code / CIBA request (for `slow_down`).
    polls: Mutex<HashMap<String, Timestamp>>,
}

impl OAuthRuntime {
    /// A runtime that seals and opens signing keys with `master_key` (data nodes).
    pub fn new(
        master_key: Option<MasterKey>,
        webhook_targets: crate::webhooks::TargetPolicy,
        mailer: Option<Arc<dyn crate::mail::Mailer>>,
    ) -> Self {
        OAuthRuntime {
            master_key,
            webhook_targets,
            mailer,
            keys: Mutex::new(HashMap::new()),
            polls: Mutex::new(HashMap::new()),
        }
    }

    /// Which webhook receivers this node may call.
    pub fn webhook_targets(&self) -> crate::webhooks::TargetPolicy {
        self.webhook_targets
    }

    /// The mail sender, if this node has one.
    pub fn mailer(&self) -> Option<&dyn crate::mail::Mailer> {
        self.mailer.as_deref()
    }

    fn master(&self) -> Result<&MasterKey> {
        self.master_key.as_ref().ok_or_else(|| {
            ClusterError::internal("this node has no master key, so it cannot sign tokens")
        })
    }

    /// Seals a secret of `org` under the master key, bound to `context`.
    pub fn seal_secret(&self, org: OrgId, context: &str, plain: &[u8]) -> Result<String> {
        self.master()?
            .seal(plain, &secret_context(org, context))
            .map_err(|e| ClusterError::internal(format!("sealing: {e}")))
    }

    /// The tag that signs an emailed link of `org` (`message` names what the link does).
    pub fn link_tag(&self, org: OrgId, message: &str) -> Result<[u8; 32]> {
        Ok(self.master()?.mac(
            format!("lumo-email-link:{org}").as_bytes(),
            message.as_bytes(),
        ))
    }

    /// Opens what [`Self::seal_secret`] sealed.
    pub fn open_secret(&self, org: OrgId, context: &str, sealed: &str) -> Result<Vec<u8>> {
        self.master()?
            .open(sealed, &secret_context(org, context))
            .map_err(|e| ClusterError::internal(format!("opening a sealed secret: {e}")))
    }

    /// Records a poll of `id` at `now`; true when it came sooner than `interval_secs` after
    /// the previous one.
    pub fn polled_too_fast(&self, id: &str, now: Timestamp, interval_secs: u64) -> bool {
        let Ok(mut polls) = self.polls.lock() else {
            return false;
        };
        if polls.len() > 100_000 {
            polls.retain(|_, at| now.0 - at.0 < 600_000);
        }
        let previous = polls.insert(id.to_string(), now);
        previous.is_some_and(|at| now.0 - at.0 < (interval_secs as i64) * 1000)
    }

    fn cached(&self, org: OrgId, kid: &str) -> Option<Arc<SigningMaterial>> {
        self.keys
            .lock()
            .ok()
            .and_then(|keys| keys.get(&(org, kid.to_string())).cloned())
    }

    /// The usable form of a stored key (decrypted once per node).
    pub fn material(&self, org: OrgId, record: &SigningKeyRecord) -> Result<Arc<SigningMaterial>> {
        if let Some(material) = self.cached(org, &record.kid) {
            return Ok(material);
        }
        let private = self
            .master()?
            .open(&record.sealed_private, &seal_context(org, &record.kid))
            .map_err(|e| ClusterError::internal(format!("signing key {}: {e}", record.kid)))?;
        let material = Arc::new(
            SigningMaterial::new(&record.kid, record.alg, &private, &record.public_jwk)
                .map_err(ClusterError::internal)?,
        );
        if let Ok(mut keys) = self.keys.lock() {
            keys.insert((org, record.kid.clone()), material.clone());
        }
        Ok(material)
    }

    /// A new key record for `org`, its private half sealed.
    pub fn new_key(&self, org: OrgId, alg: JwsAlg, now: Timestamp) -> Result<NewSigningKey> {
        let kid = ulid::Ulid::from_parts(now.0.max(0) as u64, rand::random())
            .to_string()
            .to_lowercase();
        let generated = generate_signing_key(alg, &kid).map_err(ClusterError::internal)?;
        let sealed = self
            .master()?
            .seal(&generated.private_der, &seal_context(org, &kid))
            .map_err(|e| ClusterError::internal(format!("sealing: {e}")))?;
        Ok(NewSigningKey {
            kid,
            alg,
            public_jwk: generated.public_jwk.to_string(),
            sealed_private: sealed,
        })
    }
}

/// Binds a sealed secret to its org and what it is for.
fn secret_context(org: OrgId, context: &str) -> Vec<u8> {
    format!("lumo-secret:{org}:{context}").into_bytes()
}

/// Binds a sealed private key to its org and key id.
fn seal_context(org: OrgId, kid: &str) -> Vec<u8> {
    let mut context = org.to_bytes().to_vec();
    context.extend_from_slice(kid.as_bytes());
    context
}

/// One protocol request being served on the org's shard leader.
pub struct ProtocolCtx {
    pub shard: GroupHandle,
    pub org: OrgId,
    pub epoch: u64,
    pub now: Timestamp,
    pub request: RequestContext,
    pub runtime: Arc<OAuthRuntime>,
}

impl ProtocolCtx {
    /// Committed state of the org.
    pub fn reader(&self) -> OrgReader {
        OrgReader::new(self.shard.store.clone(), self.org)
    }

    /// Waits until this replica has applied everything committed before the request.
    pub async fn barrier(&self) -> Result<()> {
        self.shard.read_barrier().await
    }

    /// Proposes `op` on behalf of `actor`.
    pub async fn propose(&self, actor: PrincipalKind, op: Op) -> Result<Outcome> {
        self.propose_as(actor, Vec::new(), op).await
    }

    /// Proposes `op` on behalf of `actor`, holding `scopes` (what the caller was found to
    /// hold, for the checks `apply` makes).
    pub async fn propose_as(
        &self,
        actor: PrincipalKind,
        scopes: Vec<String>,
        op: Op,
    ) -> Result<Outcome> {
        let command = Command {
            org: self.org,
            epoch: self.epoch,
            meta: CommandMeta {
                at: self.now,
                actor: Principal {
                    org: self.org,
                    kind: actor,
                    scopes,
                    acting_agent: None,
                    grant_only: false,
                },
                ip: self.request.ip.clone(),
                user_agent: self.request.user_agent.clone(),
                request_id: self.request.request_id.clone(),
            },
            op,
        };
        self.shard.propose(RaftCommand::Org(command)).await
    }

    /// The key new tokens are signed with, creating the org's first key when it has none.
    pub async fn signing_key(&self) -> Result<Arc<SigningMaterial>> {
        if let Some(record) = active_key(&self.reader())? {
            return self.runtime.material(self.org, &record);
        }
        let record = self.runtime.new_key(self.org, JwsAlg::RS256, self.now)?;
        self.propose(
            PrincipalKind::System,
            Op::AddSigningKey {
                key: record,
                only_if_none: true,
                retain_old_until: self.now,
            },
        )
        .await?;
        let record = active_key(&self.reader())?
            .ok_or_else(|| ClusterError::internal("signing key missing after creation"))?;
        self.runtime.material(self.org, &record)
    }

    /// The actor written to audit records for a client.
    pub fn client_actor(client_id: &str, name: &str) -> PrincipalKind {
        PrincipalKind::Client {
            client_id: client_id.to_string(),
            name: name.to_string(),
        }
    }
}

/// The org's active signing key, if it has one.
pub fn active_key(reader: &OrgReader) -> Result<Option<SigningKeyRecord>> {
    let mut active = None;
    reader.scan::<SigningKeyRecord>(Table::SigningKey, &[], true, |_, key| {
        if key.state == SigningKeyState::Active {
            active = Some(key);
            return false;
        }
        true
    })?;
    Ok(active)
}

/// A published key by `kid`.
pub fn published_key(
    reader: &OrgReader,
    kid: &str,
    now: Timestamp,
) -> Result<Option<SigningKeyRecord>> {
    Ok(reader
        .get::<SigningKeyRecord>(Table::SigningKey, kid.as_bytes())?
        .filter(|k| k.published(now)))
}
