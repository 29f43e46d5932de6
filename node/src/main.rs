//! The `lumod` command.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use lumo_node::{Bootstrap, CLUSTER_TOKEN_FILE, Config, ConfigArgs};

/// Lumo identity platform node.
#[derive(Parser)]
#[command(
    name = "lumod",
    version,
    about = "Lumo identity platform: a LumoAuth-compatible identity cluster node"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a node (a one-node cluster on a fresh data dir).
    Serve(ConfigArgs),
    /// Check a configuration and print it, without starting anything.
    ValidateConfig(ConfigArgs),
    /// Manage organizations through a running node's cluster admin API.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Write a backup (RocksDB checkpoint + metadata) of a running node that holds every group
    /// into DIR on that node's machine.
    Backup {
        /// Absolute path of a directory that does not exist yet.
        #[arg(long)]
        to: PathBuf,
        #[command(flatten)]
        target: AdminTarget,
    },
    /// Restore a backup into an empty data dir, as a fresh single-node cluster (offline: start
    /// `lumod serve --data-dir` on it afterwards).
    Restore {
        /// The backup directory.
        #[arg(long)]
        from: PathBuf,
        /// The new (empty) data dir.
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Inspect and steer the cluster through a node's cluster admin API.
    Cluster {
        #[command(subcommand)]
        command: ClusterCommand,
        #[command(flatten)]
        target: AdminTarget,
    },
}

#[derive(Subcommand)]
enum ClusterCommand {
    /// Nodes, shards, leaders, log positions and lag.
    Status,
    /// Every node with its region, zone, state, shards and leaderships.
    Nodes,
    /// Every shard with its replicas, leader, commit index and lag.
    Shards,
    /// Every organization with its shard.
    Orgs,
    /// Move every replica and leadership off a node.
    Drain { node: u64 },
    /// Remove a drained node for good.
    Remove { node: u64 },
    /// Move an organization to another shard.
    MoveOrg {
        org: String,
        #[arg(long)]
        to: u64,
    },
    /// Hand a shard's leadership to a node holding one of its replicas.
    TransferLeader {
        shard: u64,
        #[arg(long)]
        to: u64,
    },
    /// Run placement steps now until replicas and leaders are balanced.
    Rebalance,
    /// Create another shard (in a region); the placement driver replicates it.
    AddShard {
        #[arg(long)]
        region: Option<String>,
    },
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Create an organization; prints its first admin API key once.
    Create {
        /// Organization slug (2-63 chars of a-z, 0-9, '-').
        slug: String,
        /// Display name (defaults to the slug).
        #[arg(long)]
        name: Option<String>,
        /// Residency region (the org only lives on nodes of this region).
        #[arg(long)]
        region: Option<String>,
        #[command(flatten)]
        target: AdminTarget,
    },
    /// List organizations.
    List {
        #[command(flatten)]
        target: AdminTarget,
    },
}

/// Where the cluster admin API is and how to authenticate.
#[derive(clap::Args)]
struct AdminTarget {
    /// Cluster admin URL of a running node.
    #[arg(long, env = "LUMO_ADMIN_URL", default_value = "http://127.0.0.1:8090")]
    url: String,
    /// Cluster token (default: LUMO_CLUSTER_TOKEN, else DATA_DIR/cluster-token).
    #[arg(long, env = "LUMO_CLUSTER_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Data dir of the node, to read its generated cluster token.
    #[arg(long, env = "LUMO_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
}

impl AdminTarget {
    fn token(&self) -> anyhow::Result<String> {
        if let Some(token) = &self.token {
            return Ok(token.clone());
        }
        let path = self.data_dir.join(CLUSTER_TOKEN_FILE);
        std::fs::read_to_string(&path)
            .map(|t| t.trim().to_string())
            .with_context(|| {
                format!(
                    "no --token / LUMO_CLUSTER_TOKEN, and cannot read {}",
                    path.display()
                )
            })
    }
}

/// Resolves on SIGINT or SIGTERM. Installed before the node announces it is ready, so a signal
/// sent right after the ready line still shuts down cleanly.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

async fn serve(args: ConfigArgs) -> anyhow::Result<()> {
    let config = Config::load(args)?;
    lumo_node::telemetry::init(&config)?;
    let stop = shutdown_signal()?;
    let node = lumo_node::start(config.clone()).await?;
    if let Bootstrap::Created {
        generated_key: Some(key),
    } = &node.bootstrap
    {
        println!(
            "bootstrap organization {} created",
            config.bootstrap_org.as_deref().unwrap_or_default()
        );
        println!(
            "admin API key (shown once, also saved to {}): {key}",
            config
                .data_dir
                .join(lumo_node::bootstrap::KEY_FILE)
                .display()
        );
    }
    println!(
        "lumod ready node={} http={} admin={} rpc={} data_dir={}",
        node.service.node_id().0,
        node.http_addr,
        node.admin_addr,
        node.rpc_addr
            .map(|a| a.to_string())
            .unwrap_or_else(|| "-".into()),
        config.data_dir.display()
    );
    stop.await;
    tracing::info!("shutting down");
    node.shutdown().await?;
    tokio::task::spawn_blocking(lumo_node::telemetry::shutdown).await?;
    println!("lumod stopped");
    Ok(())
}

async fn admin_call(
    target: &AdminTarget,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> anyhow::Result<serde_json::Value> {
    let url = format!("{}{path}", target.url.trim_end_matches('/'));
    let mut request = reqwest::Client::new()
        .request(method, &url)
        .bearer_auth(target.token()?);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("cannot reach {url}; is lumod running?"))?;
    let status = response.status();
    let json: serde_json::Value = response.json().await.unwrap_or_default();
    if !status.is_success() {
        bail!(
            "{status}: {}",
            json["message"].as_str().unwrap_or("request failed")
        );
    }
    Ok(json)
}

async fn cluster(command: ClusterCommand, target: AdminTarget) -> anyhow::Result<()> {
    use reqwest::Method;
    let (method, path, body) = match command {
        ClusterCommand::Status => (Method::GET, "/cluster/v1/status".to_string(), None),
        ClusterCommand::Nodes => (Method::GET, "/cluster/v1/nodes".to_string(), None),
        ClusterCommand::Shards => (Method::GET, "/cluster/v1/shards".to_string(), None),
        ClusterCommand::Orgs => (Method::GET, "/cluster/v1/orgs".to_string(), None),
        ClusterCommand::Drain { node } => (
            Method::POST,
            format!("/cluster/v1/nodes/{node}/drain"),
            None,
        ),
        ClusterCommand::Remove { node } => (
            Method::POST,
            format!("/cluster/v1/nodes/{node}/remove"),
            None,
        ),
        ClusterCommand::MoveOrg { org, to } => (
            Method::POST,
            format!("/cluster/v1/orgs/{org}/move"),
            Some(serde_json::json!({"to": to})),
        ),
        ClusterCommand::TransferLeader { shard, to } => (
            Method::POST,
            format!("/cluster/v1/shards/{shard}/transfer-leader"),
            Some(serde_json::json!({"to": to})),
        ),
        ClusterCommand::Rebalance => (Method::POST, "/cluster/v1/rebalance".to_string(), None),
        ClusterCommand::AddShard { region } => (
            Method::POST,
            "/cluster/v1/shards".to_string(),
            Some(serde_json::json!({"region": region})),
        ),
    };
    let json = admin_call(&target, method, &path, body).await?;
    if let Some(message) = json["message"].as_str() {
        println!("{message}");
    }
    if !json["data"].is_null() {
        println!("{}", serde_json::to_string_pretty(&json["data"])?);
    }
    Ok(())
}

async fn org(command: OrgCommand) -> anyhow::Result<()> {
    match command {
        OrgCommand::Create {
            slug,
            name,
            region,
            target,
        } => {
            let body = serde_json::json!({"slug": slug, "name": name, "region": region});
            let json = admin_call(
                &target,
                reqwest::Method::POST,
                "/cluster/v1/orgs",
                Some(body),
            )
            .await?;
            let data = &json["data"];
            println!(
                "organization {} created (id {}, shard {})",
                data["slug"].as_str().unwrap_or_default(),
                data["id"],
                data["shard"]
            );
            println!(
                "admin API key (shown once): {}",
                data["apiKey"].as_str().unwrap_or_default()
            );
        }
        OrgCommand::List { target } => {
            let json = admin_call(&target, reqwest::Method::GET, "/cluster/v1/orgs", None).await?;
            println!("{}", serde_json::to_string_pretty(&json["data"])?);
        }
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = match cli.command {
        Command::Serve(args) => runtime.block_on(serve(args)),
        Command::ValidateConfig(args) => Config::load(args)
            .map(|config| println!("configuration is valid:\n{:#?}", config.redacted()))
            .map_err(anyhow::Error::from),
        Command::Org { command } => runtime.block_on(org(command)),
        Command::Cluster { command, target } => runtime.block_on(cluster(command, target)),
        Command::Backup { to, target } => runtime.block_on(async move {
            let dir = std::path::absolute(&to)?;
            let body = serde_json::json!({"dir": dir});
            let json = admin_call(&target, reqwest::Method::POST, "/cluster/v1/backup", Some(body)).await?;
            println!("{}", json["message"].as_str().unwrap_or("backup written"));
            println!("{}", serde_json::to_string_pretty(&json["data"])?);
            Ok(())
        }),
        Command::Restore { from, data_dir } => lumo_cluster::restore::restore(&from, &data_dir)
            .map(|report| {
                println!(
                    "restored groups {:?} into {} as a new single-node cluster ({}); start it with: lumod serve --data-dir {}",
                    report.groups,
                    data_dir.display(),
                    report.cluster_id,
                    data_dir.display()
                )
            })
            .map_err(anyhow::Error::from),
    };
    // Drop every task (and with them the last handles on RocksDB) before the process exits.
    runtime.shutdown_timeout(std::time::Duration::from_secs(10));
    result
}
