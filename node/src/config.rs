//! Node configuration: one validated struct built from defaults, an optional TOML file, `LUMO_*`
//! environment variables and command-line flags (later sources win).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use lumo_cluster::Role;
use serde::Deserialize;

/// Flags (and their `LUMO_*` environment variables) of `lumod serve` and `validate-config`.
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArgs {
    /// TOML config file (keys are the flag names with `_`, e.g. `data_dir`).
    #[arg(long, env = "LUMO_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where RocksDB and node files live.
    #[arg(long, env = "LUMO_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Public HTTP listener (LumoAuth API, health). Port 0 picks a free port.
    #[arg(long, env = "LUMO_HTTP_ADDR")]
    pub http_addr: Option<String>,
    /// Cluster admin listener (`/cluster/v1/...`, needs the cluster token).
    #[arg(long, env = "LUMO_ADMIN_ADDR")]
    pub admin_addr: Option<String>,
    /// Internal RPC listener (Raft and request forwarding between nodes).
    #[arg(long, env = "LUMO_RPC_ADDR")]
    pub rpc_addr: Option<String>,
    /// RPC address of a node of the cluster to join (repeat or comma-separate for several);
    /// without it a fresh data dir starts a new cluster.
    #[arg(long, env = "LUMO_JOIN", value_delimiter = ',')]
    pub join: Vec<String>,
    /// `data` (hosts replicas and serves the API; `all` is an alias) or `frontend` (serves
    /// the API only, holds no data, needs --join).
    #[arg(long, env = "LUMO_ROLE")]
    pub role: Option<String>,
    /// Accept fault rules (partitions, delays) through the cluster admin API. Tests only.
    #[arg(long, env = "LUMO_FAULT_INJECTION")]
    pub fault_injection: Option<bool>,
    /// Replicas per shard (fewer while fewer nodes exist).
    #[arg(long, env = "LUMO_REPLICATION_FACTOR")]
    pub replication_factor: Option<usize>,
    /// Milliseconds between placement driver steps.
    #[arg(long, env = "LUMO_PLACEMENT_INTERVAL_MS")]
    pub placement_interval_ms: Option<u64>,
    /// Seconds a node may stay unreachable before its replicas are rebuilt elsewhere.
    #[arg(long, env = "LUMO_NODE_DOWN_AFTER_SECS")]
    pub node_down_after_secs: Option<u64>,
    /// Region label of this node (e.g. `eu`, `us`).
    #[arg(long, env = "LUMO_REGION")]
    pub region: Option<String>,
    /// Zone label of this node.
    #[arg(long, env = "LUMO_ZONE")]
    pub zone: Option<String>,
    /// Create this organization on first start.
    #[arg(long, env = "LUMO_BOOTSTRAP_ORG")]
    pub bootstrap_org: Option<String>,
    /// Display name of the bootstrap organization (defaults to the slug).
    #[arg(long, env = "LUMO_BOOTSTRAP_ORG_NAME")]
    pub bootstrap_org_name: Option<String>,
    /// Exact admin API key of the bootstrap organization (`lmk_...`); generated when absent.
    #[arg(long, env = "LUMO_BOOTSTRAP_API_KEY", hide_env_values = true)]
    pub bootstrap_api_key: Option<String>,
    /// Token of the cluster admin API; generated into DATA_DIR/cluster-token when absent.
    #[arg(long, env = "LUMO_CLUSTER_TOKEN", hide_env_values = true)]
    pub cluster_token: Option<String>,
    /// Log filter (e.g. `info`, `lumo_api=debug`).
    #[arg(long, env = "LUMO_LOG")]
    pub log: Option<String>,
    /// Log format: `text` or `json`.
    #[arg(long, env = "LUMO_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Largest request body in bytes.
    #[arg(long, env = "LUMO_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Trust `X-Forwarded-For` for client addresses (only behind a load balancer).
    #[arg(long, env = "LUMO_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: Option<bool>,
    /// Record per-request HTTP metrics (default true; the other metrics are always kept).
    #[arg(long, env = "LUMO_HTTP_METRICS")]
    pub http_metrics: Option<bool>,
    /// Enforce the orgs' rate limits (default true; test and benchmark harnesses turn it off).
    #[arg(long, env = "LUMO_RATE_LIMITS")]
    pub rate_limits: Option<bool>,
    /// KiB of snapshot per message when a replica is brought up to date (default 1024,
    /// 1 to 65536).
    #[arg(long, env = "LUMO_SNAPSHOT_CHUNK_KIB")]
    pub snapshot_chunk_kib: Option<usize>,
    /// Let webhooks call http:// and loopback/private addresses (development only).
    #[arg(long, env = "LUMO_WEBHOOKS_ALLOW_PRIVATE")]
    pub webhooks_allow_private: Option<bool>,
    /// Drop outgoing mail (one-time codes) as JSON files into this directory.
    #[arg(long, env = "LUMO_MAIL_DIR")]
    pub mail_dir: Option<PathBuf>,
    /// Stop an org's actor after this many idle seconds.
    #[arg(long, env = "LUMO_ACTOR_IDLE_SECS")]
    pub actor_idle_secs: Option<u64>,
    /// Requests one org may have in flight before 429.
    #[arg(long, env = "LUMO_MAX_IN_FLIGHT")]
    pub max_in_flight: Option<usize>,
    /// Seconds between audit retention compactions.
    #[arg(long, env = "LUMO_AUDIT_COMPACTION_SECS")]
    pub audit_compaction_secs: Option<u64>,
    /// Master key sealing token signing keys (32 bytes, base64url or hex); the same on every
    /// data node. Without it a data node keeps one in DATA_DIR/master.key (generated by the
    /// first node, handed to nodes that join).
    #[arg(long, env = "LUMO_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<String>,
    /// Public base URL clients reach the API at (e.g. https://id.example.com); issuers are
    /// PUBLIC_URL/orgs/{org}/api/v1. Without it, the request's Host header is used.
    #[arg(long, env = "LUMO_PUBLIC_URL")]
    pub public_url: Option<String>,
}

/// The same keys, as read from the TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    http_addr: Option<String>,
    admin_addr: Option<String>,
    rpc_addr: Option<String>,
    #[serde(default)]
    join: Vec<String>,
    role: Option<String>,
    fault_injection: Option<bool>,
    replication_factor: Option<usize>,
    placement_interval_ms: Option<u64>,
    node_down_after_secs: Option<u64>,
    region: Option<String>,
    zone: Option<String>,
    bootstrap_org: Option<String>,
    bootstrap_org_name: Option<String>,
    bootstrap_api_key: Option<String>,
    cluster_token: Option<String>,
    log: Option<String>,
    log_format: Option<String>,
    max_body_bytes: Option<usize>,
    trust_forwarded_for: Option<bool>,
    http_metrics: Option<bool>,
    rate_limits: Option<bool>,
    snapshot_chunk_kib: Option<usize>,
    webhooks_allow_private: Option<bool>,
    mail_dir: Option<PathBuf>,
    actor_idle_secs: Option<u64>,
    max_in_flight: Option<usize>,
    audit_compaction_secs: Option<u64>,
    master_key: Option<String>,
    public_url: Option<String>,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The validated configuration of a node.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub http_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    pub rpc_addr: SocketAddr,
    pub join: Vec<String>,
    pub role: Role,
    pub fault_injection: bool,
    pub replication_factor: usize,
    pub placement_interval: Duration,
    pub node_down_after: Duration,
    pub region: Option<String>,
    pub zone: Option<String>,
    pub bootstrap_org: Option<String>,
    pub bootstrap_org_name: Option<String>,
    pub bootstrap_api_key: Option<String>,
    pub cluster_token: Option<String>,
    pub log: String,
    pub log_format: LogFormat,
    pub max_body_bytes: usize,
    pub trust_forwarded_for: bool,
    /// Per-request HTTP metrics are recorded.
    pub http_metrics: bool,
    /// The orgs' rate limits are enforced.
    pub rate_limits: bool,
    /// Bytes of snapshot per message to a peer.
    pub snapshot_chunk_bytes: usize,
    /// Webhooks may call http:// and non-public addresses.
    pub webhooks_allow_private: bool,
    /// Where outgoing mail is dropped; none: email codes are not offered.
    pub mail_dir: Option<PathBuf>,
    pub actor_idle: Duration,
    pub max_in_flight: usize,
    pub audit_compaction: Duration,
    pub master_key: Option<lumo_cluster::crypto::MasterKey>,
    pub public_url: Option<String>,
}

/// A configuration problem, reported before anything starts.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

/// KiB of snapshot per message unless configured.
const DEFAULT_SNAPSHOT_CHUNK_KIB: usize = 1024;

fn snapshot_chunk_kib(value: Option<usize>) -> Result<usize, ConfigError> {
    match value.unwrap_or(DEFAULT_SNAPSHOT_CHUNK_KIB) {
        kib @ 1..=65536 => Ok(kib << 10),
        other => Err(ConfigError(format!(
            "snapshot_chunk_kib {other} must be between 1 and 65536"
        ))),
    }
}

fn addr(name: &str, value: &str) -> Result<SocketAddr, ConfigError> {
    value.parse().map_err(|_| {
        ConfigError(format!(
            "{name} '{value}' is not a HOST:PORT address (e.g. 127.0.0.1:8080)"
        ))
    })
}

fn label(name: &str, value: Option<String>) -> Result<Option<String>, ConfigError> {
    match value {
        Some(v)
            if v.is_empty()
                || v.len() > 32
                || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') =>
        {
            Err(ConfigError(format!(
                "{name} '{v}' must be 1-32 characters of letters, digits and '-'"
            )))
        }
        other => Ok(other),
    }
}

/// A public base URL: `http(s)://host[:port][/prefix]`, no query or fragment, no trailing `/`.
fn public_url(value: &str) -> Result<String, ConfigError> {
    let trimmed = value.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.contains(['?', '#', ' ']) => {
            Ok(trimmed.to_string())
        }
        _ => Err(ConfigError(format!(
            "public_url '{value}' must be an http(s)://host[:port] URL without query or fragment"
        ))),
    }
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("cannot read config file {}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| ConfigError(format!("config file {}: {e}", path.display())))
}

impl Config {
    /// Builds and validates the configuration.
    pub fn load(args: ConfigArgs) -> Result<Config, ConfigError> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let http = args
            .http_addr
            .or(file.http_addr)
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        let admin = args
            .admin_addr
            .or(file.admin_addr)
            .unwrap_or_else(|| "127.0.0.1:8090".into());
        let rpc = args
            .rpc_addr
            .or(file.rpc_addr)
            .unwrap_or_else(|| "127.0.0.1:9080".into());
        let join: Vec<String> = if args.join.is_empty() {
            file.join
        } else {
            args.join
        }
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
        for seed in &join {
            addr("join", seed)?;
        }
        let role = match args.role.or(file.role).as_deref() {
            None | Some("data") | Some("all") => Role::Data,
            Some("frontend") => Role::Frontend,
            Some(other) => {
                return Err(ConfigError(format!(
                    "role '{other}' must be data, all or frontend"
                )));
            }
        };
        if role == Role::Frontend && join.is_empty() {
            return Err(ConfigError(
                "a frontend needs --join with the RPC address of a data node".into(),
            ));
        }
        let replication_factor = args
            .replication_factor
            .or(file.replication_factor)
            .unwrap_or(3);
        if !(1..=7).contains(&replication_factor) {
            return Err(ConfigError(
                "replication_factor must be between 1 and 7".into(),
            ));
        }
        let placement_ms = args
            .placement_interval_ms
            .or(file.placement_interval_ms)
            .unwrap_or(1000);
        if !(50..=600_000).contains(&placement_ms) {
            return Err(ConfigError(
                "placement_interval_ms must be between 50 and 600000".into(),
            ));
        }
        let log_format = match args.log_format.or(file.log_format).as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError(format!(
                    "log_format '{other}' must be text or json"
                )));
            }
        };
        let bootstrap_org = args.bootstrap_org.or(file.bootstrap_org);
        if let Some(slug) = &bootstrap_org {
            lumo_cluster::validate_slug(slug)
                .map_err(|e| ConfigError(format!("bootstrap_org: {e}")))?;
        }
        let bootstrap_api_key = args.bootstrap_api_key.or(file.bootstrap_api_key);
        if let Some(key) = &bootstrap_api_key {
            let ok = key.starts_with("lmk_")
                && (24..=256).contains(&key.len())
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !ok {
                return Err(ConfigError(
                    "bootstrap_api_key must start with lmk_ and be 24-256 characters of letters, digits, '_' and '-'"
                        .into(),
                ));
            }
            if bootstrap_org.is_none() {
                return Err(ConfigError("bootstrap_api_key needs bootstrap_org".into()));
            }
        }
        let cluster_token = args.cluster_token.or(file.cluster_token);
        if !join.is_empty() && cluster_token.is_none() {
            return Err(ConfigError(
                "joining a cluster needs its token (LUMO_CLUSTER_TOKEN / --cluster-token)".into(),
            ));
        }
        if cluster_token.as_ref().is_some_and(|t| t.len() < 16) {
            return Err(ConfigError(
                "cluster_token must be at least 16 characters".into(),
            ));
        }
        let max_body_bytes = args
            .max_body_bytes
            .or(file.max_body_bytes)
            .unwrap_or(1 << 20);
        if !(1024..=64 << 20).contains(&max_body_bytes) {
            return Err(ConfigError(
                "max_body_bytes must be between 1024 and 67108864".into(),
            ));
        }
        let max_in_flight = args.max_in_flight.or(file.max_in_flight).unwrap_or(2048);
        if max_in_flight == 0 {
            return Err(ConfigError("max_in_flight must be at least 1".into()));
        }
        let idle = args.actor_idle_secs.or(file.actor_idle_secs).unwrap_or(300);
        let compaction = args
            .audit_compaction_secs
            .or(file.audit_compaction_secs)
            .unwrap_or(3600);
        if idle == 0 || compaction == 0 {
            return Err(ConfigError(
                "actor_idle_secs and audit_compaction_secs must be at least 1".into(),
            ));
        }
        let master_key = match args.master_key.or(file.master_key) {
            Some(text) => Some(
                lumo_cluster::crypto::MasterKey::parse(&text)
                    .map_err(|e| ConfigError(format!("master_key: {e}")))?,
            ),
            None => None,
        };
        let public_url = match args.public_url.or(file.public_url) {
            Some(url) => Some(public_url(&url)?),
            None => None,
        };
        Ok(Config {
            master_key,
            public_url,
            data_dir: args
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("data")),
            http_addr: addr("http_addr", &http)?,
            admin_addr: addr("admin_addr", &admin)?,
            rpc_addr: addr("rpc_addr", &rpc)?,
            join,
            role,
            fault_injection: args
                .fault_injection
                .or(file.fault_injection)
                .unwrap_or(false),
            replication_factor,
            placement_interval: Duration::from_millis(placement_ms),
            node_down_after: Duration::from_secs(
                args.node_down_after_secs
                    .or(file.node_down_after_secs)
                    .unwrap_or(30)
                    .max(1),
            ),
            region: label("region", args.region.or(file.region))?,
            zone: label("zone", args.zone.or(file.zone))?,
            bootstrap_org_name: args.bootstrap_org_name.or(file.bootstrap_org_name),
            bootstrap_org,
            bootstrap_api_key,
            cluster_token,
            log: args
                .log
                .or(file.log)
                .unwrap_or_else(|| "info,openraft=warn".into()),
            log_format,
            max_body_bytes,
            trust_forwarded_for: args
                .trust_forwarded_for
                .or(file.trust_forwarded_for)
                .unwrap_or(false),
            http_metrics: args.http_metrics.or(file.http_metrics).unwrap_or(true),
            rate_limits: args.rate_limits.or(file.rate_limits).unwrap_or(true),
            snapshot_chunk_bytes: snapshot_chunk_kib(
                args.snapshot_chunk_kib.or(file.snapshot_chunk_kib),
            )?,
            webhooks_allow_private: args
                .webhooks_allow_private
                .or(file.webhooks_allow_private)
                .unwrap_or(false),
            mail_dir: args.mail_dir.clone().or(file.mail_dir),
            actor_idle: Duration::from_secs(idle),
            max_in_flight,
            audit_compaction: Duration::from_secs(compaction),
        })
    }

    /// A copy safe to print: secrets replaced.
    pub fn redacted(&self) -> Config {
        let mask = |v: &Option<String>| v.as_ref().map(|_| "***".to_string());
        Config {
            bootstrap_api_key: mask(&self.bootstrap_api_key),
            cluster_token: mask(&self.cluster_token),
            master_key: None,
            ..self.clone()
        }
    }

    /// A configuration for tests: temp data dir, ephemeral loopback ports.
    pub fn for_tests(data_dir: &Path) -> Config {
        Config {
            data_dir: data_dir.to_path_buf(),
            http_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            rpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            join: Vec::new(),
            role: Role::Data,
            fault_injection: false,
            replication_factor: 3,
            placement_interval: Duration::from_millis(300),
            node_down_after: Duration::from_secs(5),
            region: None,
            zone: None,
            bootstrap_org: None,
            bootstrap_org_name: None,
            bootstrap_api_key: None,
            cluster_token: Some("test-cluster-token-0123456789".into()),
            log: "warn".into(),
            log_format: LogFormat::Text,
            max_body_bytes: 1 << 20,
            trust_forwarded_for: false,
            http_metrics: true,
            // Suites make far more requests a minute than the contract's limits allow; the
            // rate-limit tests turn them on.
            rate_limits: false,
            snapshot_chunk_bytes: DEFAULT_SNAPSHOT_CHUNK_KIB << 10,
            // Test receivers listen on 127.0.0.1.
            webhooks_allow_private: true,
            mail_dir: None,
            actor_idle: Duration::from_secs(300),
            max_in_flight: 2048,
            audit_compaction: Duration::from_secs(3600),
            master_key: None,
            public_url: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_file_and_bad_values_fail_fast() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("lumo.toml");
        std::fs::write(&file, "http_addr = \"127.0.0.1:9999\"\nregion = \"eu\"\n").expect("write");
        let args = ConfigArgs {
            config: Some(file.clone()),
            http_addr: Some("127.0.0.1:7777".into()),
            ..ConfigArgs::default()
        };
        let config = Config::load(args).expect("valid");
        assert_eq!(config.http_addr.port(), 7777);
        assert_eq!(config.region.as_deref(), Some("eu"));

        let bad = ConfigArgs {
            http_addr: Some("localhost".into()),
            ..ConfigArgs::default()
        };
        let err = Config::load(bad).expect_err("bad addr");
        assert!(err.to_string().contains("http_addr"));

        std::fs::write(&file, "htp_addr = \"x\"\n").expect("write");
        let typo = ConfigArgs {
            config: Some(file),
            ..ConfigArgs::default()
        };
        assert!(
            Config::load(typo)
                .expect_err("unknown key")
                .to_string()
                .contains("unknown field")
        );
    }
}
