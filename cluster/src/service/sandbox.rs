//! Sandbox orgs: spawning one (a new org in the parent's region, seeded with a copy of the
//! parent's configuration), destroying one, and removing expired ones on the compaction tick.

use super::Service;
use super::orgs::NewOrg;
use crate::caller::{Credential, RequestContext};
use crate::clock::Timestamp;
use crate::command::{MetaOp, Op, SandboxWrite};
use crate::crypto::random_token;
use crate::error::{ClusterError, Result};
use crate::model::{DEFAULT_SANDBOX_TTL_HOURS, MAX_SANDBOX_TTL_HOURS, SandboxRecord};
use crate::query::{Reply, Request, SandboxExport};
use crate::tables::{OrgReader, Table};

/// Rows per seeding entry, so one Raft entry stays small.
const SEED_CHUNK: usize = 500;

/// A spawned sandbox and its first admin key (shown once).
#[derive(Debug, Clone)]
pub struct SpawnedSandbox {
    pub record: SandboxRecord,
    pub api_key: String,
}

/// The slug of a sandbox of `parent` named `name`: the parent's slug, `-sbx-`, then the name
/// made slug-like, or a random suffix when no name is given.
fn sandbox_slug(parent: &str, name: Option<&str>) -> String {
    let tail = name.map(crate::model::slugify).unwrap_or_default();
    let tail = if tail.is_empty() {
        random_token("", 8).to_lowercase()
    } else {
        tail
    };
    format!("{parent}-sbx-{tail}")
}

impl Service {
    /// Spawns a sandbox of `parent` for the caller (admitted for `Family::Sandbox` writes).
    pub async fn spawn_sandbox(
        &self,
        parent: &str,
        credential: Credential,
        ctx: RequestContext,
        name: Option<String>,
        ttl_hours: Option<u64>,
    ) -> Result<SpawnedSandbox> {
        let ttl = ttl_hours.unwrap_or(DEFAULT_SANDBOX_TTL_HOURS);
        if !(1..=MAX_SANDBOX_TTL_HOURS).contains(&ttl) {
            return Err(ClusterError::invalid(
                "ttl_hours",
                format!("must be 1-{MAX_SANDBOX_TTL_HOURS}"),
            ));
        }
        if let Some(name) = &name
            && (name.trim().is_empty() || name.chars().count() > 100)
        {
            return Err(ClusterError::invalid("name", "must be 1-100 characters"));
        }
        let export = match self
            .call(
                parent,
                credential.clone(),
                Request::Read(crate::query::Query::SandboxExport),
                ctx.clone(),
            )
            .await?
        {
            Reply::SandboxExport(export) => export,
            other => return Err(ClusterError::internal(format!("unexpected {other:?}"))),
        };
        if export.sandbox_of.is_some() {
            return Err(ClusterError::invalid(
                "organization",
                "a sandbox cannot spawn sandboxes; spawn from its parent",
            ));
        }
        let slug = sandbox_slug(parent, name.as_deref());
        crate::directory::validate_slug(&slug).map_err(|_| {
            ClusterError::invalid("name", "makes a sandbox slug longer than 63 characters")
        })?;
        let name = name.unwrap_or_else(|| format!("Sandbox of {parent}"));
        let org_id = crate::ids::OrgId::generate();
        let expires_at = self.now().plus_millis((ttl as i64) * 3_600_000);
        let reserved = self
            .call(
                parent,
                credential.clone(),
                Request::Write {
                    op: Op::Sandbox(SandboxWrite::Reserve {
                        slug: slug.clone(),
                        name: name.clone(),
                        org_id,
                        expires_at,
                    }),
                    then: Some(crate::query::Query::Sandboxes),
                },
                ctx.clone(),
            )
            .await?;
        let record = match reserved {
            Reply::Sandboxes(list) => list.into_iter().find(|s| s.slug == slug),
            _ => None,
        }
        .ok_or_else(|| ClusterError::internal("the reserved sandbox is not listed"))?;
        match self.build_sandbox(parent, &record, export).await {
            Ok(api_key) => Ok(SpawnedSandbox { record, api_key }),
            Err(e) => {
                // Nothing half-made stays: the reservation goes (and the org made for it).
                if let Err(undo) = self.retire_sandbox(parent, &record, credential, ctx).await {
                    tracing::warn!(sandbox = %slug, error = %undo, "undoing a failed spawn");
                }
                Err(e)
            }
        }
    }

    async fn build_sandbox(
        &self,
        parent: &str,
        record: &SandboxRecord,
        export: SandboxExport,
    ) -> Result<String> {
        let new = NewOrg {
            slug: record.slug.clone(),
            name: record.name.clone(),
            region: export.region.clone(),
            admin_key: None,
        };
        let created = self.create_org_with_id(new, record.org_id).await?;
        let mut chunks: Vec<&[(Vec<u8>, Vec<u8>)]> = export.rows.chunks(SEED_CHUNK).collect();
        if chunks.is_empty() {
            chunks.push(&[]);
        }
        for (i, rows) in chunks.into_iter().enumerate() {
            let seed = Op::Sandbox(SandboxWrite::Seed {
                parent: parent.to_string(),
                rows: rows.to_vec(),
                counters: export.counters.clone(),
                first: i == 0,
            });
            self.propose_to(
                created.entry.shard.0,
                self.system_command(&created.entry, seed),
            )
            .await?;
        }
        Ok(created.api_key)
    }

    /// The caller's sandboxes of `parent`.
    pub async fn sandboxes(
        &self,
        parent: &str,
        credential: Credential,
        ctx: RequestContext,
    ) -> Result<Vec<SandboxRecord>> {
        match self
            .call(
                parent,
                credential,
                Request::Read(crate::query::Query::Sandboxes),
                ctx,
            )
            .await?
        {
            Reply::Sandboxes(list) => Ok(list),
            other => Err(ClusterError::internal(format!("unexpected {other:?}"))),
        }
    }

    /// Destroys sandbox `slug` of `parent` (404 when `parent` has no such sandbox).
    pub async fn destroy_sandbox(
        &self,
        parent: &str,
        slug: &str,
        credential: Credential,
        ctx: RequestContext,
    ) -> Result<()> {
        let record = self
            .sandboxes(parent, credential.clone(), ctx.clone())
            .await?
            .into_iter()
            .find(|s| s.slug == slug)
            .ok_or_else(|| ClusterError::not_found("sandbox", slug))?;
        self.retire_sandbox(parent, &record, credential, ctx).await
    }

    /// Drops the sandbox's rows, removes it from the directory, then forgets it in the parent.
    /// Each step is safe to repeat, so a crash part-way is finished by the next attempt.
    async fn retire_sandbox(
        &self,
        parent: &str,
        record: &SandboxRecord,
        credential: Credential,
        ctx: RequestContext,
    ) -> Result<()> {
        self.drop_sandbox_org(record).await?;
        let forget = Request::Write {
            op: Op::Sandbox(SandboxWrite::Forget {
                slug: record.slug.clone(),
            }),
            then: None,
        };
        self.call(parent, credential, forget, ctx).await?;
        Ok(())
    }

    /// Drops the org made for `record` (never another org that took the slug first).
    async fn drop_sandbox_org(&self, record: &SandboxRecord) -> Result<()> {
        let entry = match self.lookup(&record.slug, true).await {
            Ok(answer) => answer.entry,
            Err(ClusterError::OrgNotFound { .. }) => None,
            Err(e) => return Err(e),
        };
        let Some(entry) = entry.filter(|e| e.org_id == record.org_id) else {
            return Ok(());
        };
        match self
            .propose_to(entry.shard.0, self.system_command(&entry, Op::DropOrg))
            .await
        {
            // Already dropped by an earlier attempt.
            Ok(_) | Err(ClusterError::WrongShard) => {}
            Err(e) => return Err(e),
        }
        self.propose_meta(MetaOp::RetireOrg { org: entry.org_id })
            .await?;
        self.inner.directory.forget(&record.slug);
        Ok(())
    }

    /// Destroys the expired sandboxes of every org whose shard this node leads; returns how
    /// many went.
    pub async fn expire_sandboxes(&self) -> Result<u64> {
        let now = self.now();
        let mut removed = 0;
        for (entry, shard) in self.led_orgs("sandbox expiry").await {
            let reader = OrgReader::new(shard.store.clone(), entry.org_id);
            for expired in expired(&reader, now)? {
                self.drop_sandbox_org(&expired).await?;
                let forget = Op::Sandbox(SandboxWrite::Forget {
                    slug: expired.slug.clone(),
                });
                shard.propose(self.system_command(&entry, forget)).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

fn expired(reader: &OrgReader, now: Timestamp) -> Result<Vec<SandboxRecord>> {
    let mut out = Vec::new();
    reader.scan::<SandboxRecord>(Table::Sandbox, &[], false, |_, s| {
        if s.expires_at <= now {
            out.push(s);
        }
        true
    })?;
    Ok(out)
}
