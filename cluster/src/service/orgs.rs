//! Creating organizations, admitting credentials early, and audit retention.

use serde::{Deserialize, Serialize};

use super::Service;
use crate::access::{authenticate, authorize_access};
use crate::api_key;
use crate::caller::Credential;
use crate::command::{Command, CommandMeta, MetaOp, Op, RaftCommand};
use crate::directory::validate_slug;
use crate::error::{ClusterError, Result};
use crate::ids::OrgId;
use crate::lookup::check_org_here;
use crate::model::{AuditRetention, DirectoryEntry, Family, OrgState, Principal, PrincipalKind};
use crate::query::{Outcome, Request};
use crate::tables::{OrgReader, Table};

/// A new organization.
#[derive(Debug, Clone)]
pub struct NewOrg {
    pub slug: String,
    pub name: String,
    pub region: Option<String>,
    /// Use this exact admin API key instead of generating one.
    pub admin_key: Option<String>,
}

/// A created organization and its first admin key (shown once).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreatedOrg {
    pub entry: DirectoryEntry,
    pub api_key: String,
}

fn system_principal(org: OrgId) -> Principal {
    Principal {
        org,
        kind: PrincipalKind::System,
        scopes: vec!["admin".into()],
        acting_agent: None,
        grant_only: false,
    }
}

fn validate_explicit_key(key: &str) -> Result<()> {
    let ok = key.starts_with("lmk_")
        && (24..=256).contains(&key.len())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ClusterError::invalid(
            "api_key",
            "must start with lmk_ and be 24-256 characters of letters, digits, '_' and '-'",
        ))
    }
}

impl Service {
    pub(crate) fn system_command(&self, entry: &DirectoryEntry, op: Op) -> RaftCommand {
        RaftCommand::Org(Command {
            org: entry.org_id,
            epoch: entry.epoch,
            meta: CommandMeta {
                at: self.now(),
                actor: system_principal(entry.org_id),
                ip: None,
                user_agent: None,
                request_id: None,
            },
            op,
        })
    }

    /// Creates an org: reserve the slug in the meta group, initialize it in its shard with its
    /// first admin key, then activate it.
    pub async fn create_org(&self, new: NewOrg) -> Result<CreatedOrg> {
        self.create_org_with_id(new, OrgId::generate()).await
    }

    /// [`Service::create_org`] with the org's id chosen by the caller.
    pub(crate) async fn create_org_with_id(&self, new: NewOrg, org: OrgId) -> Result<CreatedOrg> {
        validate_slug(&new.slug)?;
        if new.name.trim().is_empty() || new.name.len() > 200 {
            return Err(ClusterError::invalid("name", "must be 1-200 characters"));
        }
        let key = match &new.admin_key {
            Some(explicit) => {
                validate_explicit_key(explicit)?;
                explicit.clone()
            }
            None => api_key::generate(org, "admin", vec!["admin".into()], None).secret,
        };
        let key_route = new.admin_key.as_ref().map(|k| api_key::hash_key(k));
        let register = MetaOp::RegisterOrg {
            org,
            slug: new.slug.clone(),
            name: new.name.clone(),
            region: new.region.clone(),
            key_route,
        };
        let entry = match self.propose_meta(register).await? {
            Outcome::Directory(entry) => entry,
            other => {
                return Err(ClusterError::internal(format!(
                    "unexpected meta outcome {other:?}"
                )));
            }
        };
        let entry = self.finish_org(entry, &key).await?;
        // The org's first signing key, so its JWKS is ready before the first token. Should
        // this fail, the key is made on first use instead.
        let first_key = Request::Protocol(crate::protocol::ProtocolRequest::Jwks);
        if let Err(e) = self
            .call(&entry.slug, Credential::None, first_key, Default::default())
            .await
        {
            tracing::warn!(org = %entry.slug, error = %e, "first signing key not created yet");
        }
        Ok(CreatedOrg {
            entry,
            api_key: key,
        })
    }

    /// Initializes a registered (provisioning) org in its shard with `admin_key` and activates
    /// it. Safe to repeat after a crash.
    pub async fn finish_org(
        &self,
        entry: DirectoryEntry,
        admin_key: &str,
    ) -> Result<DirectoryEntry> {
        let generated = api_key::describe(admin_key, "admin", vec!["admin".into()], None);
        let init = Op::InitOrg {
            number: entry.number,
            slug: entry.slug.clone(),
            name: entry.name.clone(),
            region: entry.region.clone(),
            admin_key: generated.record,
        };
        self.propose_to(entry.shard.0, self.system_command(&entry, init))
            .await?;
        match self
            .propose_meta(MetaOp::ActivateOrg { org: entry.org_id })
            .await?
        {
            Outcome::Directory(active) => {
                self.inner.directory.remember(active.clone());
                Ok(active)
            }
            other => Err(ClusterError::internal(format!(
                "unexpected meta outcome {other:?}"
            ))),
        }
    }

    /// Every org of the cluster.
    pub async fn orgs(&self) -> Result<Vec<DirectoryEntry>> {
        Ok(self.meta_snapshot().await?.orgs)
    }

    /// Checks, before a request body is even read, that `credential` may read (or write)
    /// `family` in the org `slug`: unknown org 404, another org's key 403, bad key 401,
    /// missing scope 403. The org actor checks again when the request arrives.
    pub async fn admit(
        &self,
        slug: &str,
        credential: &Credential,
        family: Family,
        write: bool,
    ) -> Result<()> {
        let entry = self.active_org(slug).await?;
        self.check_key_org(&entry, credential)?;
        match self.group(entry.shard.0) {
            Some(shard)
                if shard.raft.is_leader()
                    && check_org_here(
                        &OrgReader::new(shard.store.clone(), entry.org_id),
                        entry.epoch,
                    )
                    .is_ok() =>
            {
                let reader = OrgReader::new(shard.store.clone(), entry.org_id);
                let principal = authenticate(&reader, credential, self.now())?;
                authorize_access(&principal, family, write)
            }
            _ => {
                let request = Request::Admit { family, write };
                self.call(slug, credential.clone(), request, Default::default())
                    .await
                    .map(|_| ())
            }
        }
    }

    /// The active orgs whose shard this node leads, with that shard: what a maintenance tick
    /// works on here (none while the directory cannot be read; the next tick tries again).
    pub(crate) async fn led_orgs(
        &self,
        task: &str,
    ) -> Vec<(DirectoryEntry, crate::raft::GroupHandle)> {
        let orgs = match self.meta_snapshot().await {
            Ok(snapshot) => snapshot.orgs,
            Err(e) => {
                tracing::debug!(error = %e, task, "no directory for a maintenance tick");
                return Vec::new();
            }
        };
        orgs.into_iter()
            .filter(|entry| entry.state == OrgState::Active)
            .filter_map(|entry| {
                let shard = self.group(entry.shard.0)?;
                shard.raft.is_leader().then_some((entry, shard))
            })
            .collect()
    }

    /// Applies audit retention to every org whose shard this node leads: removes records
    /// older than the org's retention, in bounded batches.
    pub async fn compact_audit_logs(&self) -> Result<u64> {
        let now = self.now();
        let mut removed_total = 0;
        for (entry, shard) in self.led_orgs("audit compaction").await {
            let reader = OrgReader::new(shard.store.clone(), entry.org_id);
            let retention: AuditRetention =
                reader.get(Table::AuditRetention, &[])?.unwrap_or_default();
            if !retention.auto_delete {
                continue;
            }
            let cutoff = now.minus_days(i64::from(retention.retention_days));
            loop {
                let command = self.system_command(&entry, Op::CompactAudit { cutoff });
                let removed = match shard.propose(command).await? {
                    Outcome::Compacted { removed } => removed,
                    _ => 0,
                };
                removed_total += removed;
                if removed < crate::apply::COMPACTION_BATCH {
                    break;
                }
            }
        }
        Ok(removed_total)
    }

    /// Deletes expired token records, codes and device/CIBA/PAR requests of every org whose
    /// shard this node leads; returns how many rows went.
    pub async fn purge_expired_protocol_state(&self) -> Result<u64> {
        let now = self.now();
        let mut removed = 0;
        for (entry, shard) in self.led_orgs("expiry purge").await {
            removed += self.purge_expired(&entry, &shard, now).await?;
        }
        Ok(removed)
    }

    /// Deletes the org's expired token records, codes and requests, a batch per command.
    async fn purge_expired(
        &self,
        entry: &DirectoryEntry,
        shard: &crate::raft::GroupHandle,
        now: crate::clock::Timestamp,
    ) -> Result<u64> {
        let mut removed_total = 0;
        loop {
            let command = self.system_command(entry, Op::PurgeExpired { cutoff: now });
            let removed = match shard.propose(command).await? {
                Outcome::Compacted { removed } => removed,
                _ => 0,
            };
            removed_total += removed;
            if removed < crate::apply::PURGE_BATCH {
                return Ok(removed_total);
            }
        }
    }

    pub(crate) fn spawn_compaction(&self) {
        self.spawn_every(
            self.inner.config.compaction_interval,
            |service| async move {
                if let Err(e) = service.compact_audit_logs().await {
                    tracing::warn!(error = %e, "audit retention compaction failed");
                }
                if let Err(e) = service.purge_expired_protocol_state().await {
                    tracing::warn!(error = %e, "expired token purge failed");
                }
                if let Err(e) = service.expire_sandboxes().await {
                    tracing::warn!(error = %e, "sandbox expiry failed");
                }
            },
        );
    }
}
