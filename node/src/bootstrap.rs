//! First-start bootstrap: the configured organization and its admin key, created once.

use anyhow::Context;
use lumo_cluster::model::OrgState;
use lumo_cluster::{NewOrg, Service};

use crate::config::Config;
use crate::secrets_file;

/// File (in the data dir) that receives a generated bootstrap key.
pub const KEY_FILE: &str = "bootstrap-admin.key";

/// What bootstrap did.
#[derive(Debug, PartialEq, Eq)]
pub enum Bootstrap {
    /// No bootstrap org configured.
    Skipped,
    /// The org already existed; nothing was created.
    AlreadyDone,
    /// The org was created; `generated_key` is set when the key was generated here.
    Created { generated_key: Option<String> },
}

/// Creates the bootstrap org on first start; never a second org or key on restarts.
pub async fn run(service: &Service, config: &Config) -> anyhow::Result<Bootstrap> {
    let Some(slug) = &config.bootstrap_org else {
        return Ok(Bootstrap::Skipped);
    };
    let key_file = config.data_dir.join(KEY_FILE);
    // Right after a restart the meta group may still be electing: retry for a bounded time.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let existing = loop {
        match service.org_entry(slug).await {
            Ok(entry) => break entry,
            Err(
                lumo_cluster::ClusterError::Unavailable { .. }
                | lumo_cluster::ClusterError::NotLeader { .. },
            ) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            Err(e) => return Err(e.into()),
        }
    };
    if let Some(entry) = &existing
        && entry.state == OrgState::Active
    {
        return Ok(Bootstrap::AlreadyDone);
    }
    // The key is fixed (from config, or generated and saved) before anything is proposed, so a
    // crash at any step resumes with the same key.
    let (key, generated) = match &config.bootstrap_api_key {
        Some(key) => (key.clone(), false),
        None => match secrets_file::read(&key_file)? {
            Some(key) => (key, true),
            None => {
                let key = format!("lmk_{}", secrets_file::random_token(32));
                secrets_file::write_private(&key_file, &key)
                    .with_context(|| format!("writing {}", key_file.display()))?;
                (key, true)
            }
        },
    };
    match existing {
        Some(entry) => {
            service.finish_org(entry, &key).await?;
        }
        None => {
            let name = config
                .bootstrap_org_name
                .clone()
                .unwrap_or_else(|| slug.clone());
            service
                .create_org(NewOrg {
                    slug: slug.clone(),
                    name,
                    region: config.region.clone(),
                    admin_key: Some(key.clone()),
                })
                .await?;
        }
    }
    Ok(Bootstrap::Created {
        generated_key: generated.then_some(key),
    })
}
