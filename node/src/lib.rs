//! `lumod`: configuration, startup and shutdown of a node. [`start`] runs a whole node
//! in-process (tests use it with ephemeral ports and a temp data dir).

pub mod bootstrap;
pub mod config;
mod secrets_file;
pub mod telemetry;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use lumo_api::{ApiConfig, AppState};
use lumo_cluster::clock::{Clock, SystemClock};
use lumo_cluster::raft::NodeInfo;
use lumo_cluster::{ActorSettings, Role, Service, ServiceConfig};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The allocator of every program that runs a node (`lumod`, `lumo-load`'s in-process node, the
/// test harness): mimalloc instead of glibc's malloc. A request allocates dozens of small
/// buffers, and glibc's arenas took about a sixth of a request's CPU under load (BENCHMARKS.md,
/// "The read path").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub use bootstrap::Bootstrap;
pub use config::{Config, ConfigArgs, ConfigError, LogFormat};

/// File (in the data dir) that receives a generated cluster admin token.
pub const CLUSTER_TOKEN_FILE: &str = "cluster-token";

/// A node that is serving.
pub struct RunningNode {
    pub http_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    /// The internal RPC address (data nodes only).
    pub rpc_addr: Option<SocketAddr>,
    pub service: Service,
    pub bootstrap: Bootstrap,
    pub cluster_token: String,
    stop: watch::Sender<bool>,
    servers: Vec<JoinHandle<std::io::Result<()>>>,
}

fn cluster_token(config: &Config) -> anyhow::Result<String> {
    if let Some(token) = &config.cluster_token {
        return Ok(token.clone());
    }
    let path = config.data_dir.join(CLUSTER_TOKEN_FILE);
    if let Some(token) = secrets_file::read(&path)? {
        return Ok(token);
    }
    let token = secrets_file::random_token(32);
    secrets_file::write_private(&path, &token)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(token)
}

async fn serve(
    listener: TcpListener,
    router: axum::Router,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let _ = stop.wait_for(|stopped| *stopped).await;
    })
    .await
}

/// Starts a node: storage, Raft groups, bootstrap, then both listeners.
pub async fn start(config: Config) -> anyhow::Result<RunningNode> {
    start_with_clock(config, Arc::new(SystemClock)).await
}

/// [`start`] with an injected clock.
pub async fn start_with_clock(
    config: Config,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<RunningNode> {
    if config.role == Role::Data {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating data dir {}", config.data_dir.display()))?;
    }
    let http = TcpListener::bind(config.http_addr)
        .await
        .with_context(|| format!("binding http_addr {}", config.http_addr))?;
    let admin = TcpListener::bind(config.admin_addr)
        .await
        .with_context(|| format!("binding admin_addr {}", config.admin_addr))?;
    let http_addr = http.local_addr()?;
    let admin_addr = admin.local_addr()?;
    let rpc = match config.role {
        Role::Data => Some(
            TcpListener::bind(config.rpc_addr)
                .await
                .with_context(|| format!("binding rpc_addr {}", config.rpc_addr))?,
        ),
        Role::Frontend => None,
    };
    let rpc_addr = rpc.as_ref().map(|l| l.local_addr()).transpose()?;
    let token = cluster_token(&config)?;
    let service = Service::open(
        ServiceConfig {
            data_dir: config.data_dir.clone(),
            node: NodeInfo {
                rpc_addr: rpc_addr.map(|a| a.to_string()).unwrap_or_default(),
                http_addr: http_addr.to_string(),
                region: config.region.clone(),
                zone: config.zone.clone(),
            },
            role: config.role,
            join: config.join.clone(),
            cluster_token: token.clone(),
            fault_injection: config.fault_injection,
            actors: ActorSettings {
                idle_after: config.actor_idle,
                max_in_flight: config.max_in_flight,
            },
            compaction_interval: config.audit_compaction,
            placement_interval: config.placement_interval,
            replication_factor: config.replication_factor,
            down_after: config.node_down_after,
            master_key: config.master_key.clone(),
            webhook_targets: lumo_cluster::webhooks::TargetPolicy {
                allow_private: config.webhooks_allow_private,
            },
            mail_dir: config.mail_dir.clone(),
            rate_limits: config.rate_limits,
            snapshot_chunk_bytes: config.snapshot_chunk_bytes,
        },
        clock,
        rpc,
    )
    .await
    .context("starting the cluster service")?;
    let bootstrap = bootstrap::run(&service, &config)
        .await
        .context("bootstrapping")?;
    let state = AppState::new(
        service.clone(),
        ApiConfig {
            max_body_bytes: config.max_body_bytes,
            cluster_token: token.clone(),
            trust_forwarded_for: config.trust_forwarded_for,
            http_metrics: config.http_metrics,
            public_url: config.public_url.clone(),
            cimd_allow_loopback: config.fault_injection,
        },
    );
    let (stop, stopped) = watch::channel(false);
    let servers = vec![
        tokio::spawn(serve(
            http,
            lumo_api::public_router(state.clone()),
            stopped.clone(),
        )),
        tokio::spawn(serve(admin, lumo_api::cluster_admin_router(state), stopped)),
    ];
    Ok(RunningNode {
        http_addr,
        admin_addr,
        rpc_addr,
        service,
        bootstrap,
        cluster_token: token,
        stop,
        servers,
    })
}

impl RunningNode {
    /// Stops accepting requests, finishes in-flight ones, stops Raft and flushes storage.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        for server in self.servers {
            server.await??;
        }
        self.service.shutdown().await;
        Ok(())
    }
}

/// Runs a node until `shutdown` completes.
pub async fn run(
    config: Config,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let node = start(config).await?;
    shutdown.await;
    node.shutdown().await
}
