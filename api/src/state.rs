//! What every handler can reach.

use std::sync::Arc;

use lumo_cluster::Service;

/// Shared state of the routers: one `Arc`, since axum clones the state for every request (and
/// every nested router on its way).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] holds.
pub struct Shared {
    pub service: Service,
    pub config: Arc<ApiConfig>,
    /// Password hashes running at once (one per core: argon2id is memory-hard, so more at a
    /// time only thrash memory).
    pub hashing: Arc<tokio::sync::Semaphore>,
    /// Failed sign-ins per source address on this node.
    pub throttle: Arc<crate::oauth::throttle::LoginThrottle>,
    /// One password check at a time per account.
    pub login_gates: Arc<crate::oauth::throttle::LoginGates>,
}

impl AppState {
    /// State for `service` with `config`.
    pub fn new(service: Service, config: ApiConfig) -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        AppState(Arc::new(Shared {
            service,
            config: Arc::new(config),
            hashing: Arc::new(tokio::sync::Semaphore::new(cores)),
            throttle: Arc::default(),
            login_gates: Arc::default(),
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// API settings.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Token of the cluster admin API.
    pub cluster_token: String,
    /// Trust `X-Forwarded-For` for the client address (behind a load balancer).
    pub trust_forwarded_for: bool,
    /// Record per-request HTTP metrics.
    pub http_metrics: bool,
    /// Public base URL (issuers are `public_url/orgs/{org}/api/v1`); `None`: from `Host`.
    pub public_url: Option<String>,
    /// Test clusters only: Client ID Metadata Documents may be fetched over `http` from
    /// loopback (set with `--fault-injection`).
    pub cimd_allow_loopback: bool,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            max_body_bytes: 1 << 20,
            cluster_token: String::new(),
            trust_forwarded_for: false,
            http_metrics: true,
            public_url: None,
            cimd_allow_loopback: false,
        }
    }
}
