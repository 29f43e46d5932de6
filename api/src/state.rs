//! What every handler can reach.

use std::sync::Arc;

use lumo_cluster::Service;

/// Shared state of the routers.
#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    pub config: Arc<ApiConfig>,
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
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            max_body_bytes: 1 << 20,
            cluster_token: String::new(),
            trust_forwarded_for: false,
        }
    }
}
