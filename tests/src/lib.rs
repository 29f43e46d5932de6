//! Test harness: real nodes (in-process via `lumo_node::start`, or the `lumod` binary as a child
//! process) on ephemeral loopback ports with RocksDB in temp dirs, and a small HTTP client.

pub mod cluster;
pub mod email;
pub mod http;
pub mod oauth;
pub mod passkey;
pub mod process;
pub mod wait;

use std::sync::Arc;

use lumo_cluster::clock::Clock;
use lumo_node::{Config, RunningNode};
use tempfile::TempDir;

pub use http::{Api, Reply};

/// The admin key every test node's bootstrap org gets.
pub const ADMIN_KEY: &str = "lmk_test_admin_key_0123456789abcdef";
/// The bootstrap org of test nodes.
pub const ORG: &str = "acme-corp";

/// An in-process node with a bootstrap org, stopped when dropped... or explicitly.
pub struct TestNode {
    pub node: Option<RunningNode>,
    pub dir: TempDir,
    pub http: String,
    pub admin: String,
}

impl TestNode {
    /// A fresh node with org [`ORG`] and admin key [`ADMIN_KEY`].
    pub async fn start() -> anyhow::Result<TestNode> {
        Self::start_with(|_| {}).await
    }

    /// A fresh node, after `adjust` changed its config.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> anyhow::Result<TestNode> {
        let dir = tempfile::tempdir()?;
        let mut config = test_config(&dir);
        adjust(&mut config);
        let node = lumo_node::start(config).await?;
        Ok(Self::wrap(node, dir))
    }

    /// A fresh node with an injected clock.
    pub async fn start_with_clock(clock: Arc<dyn Clock>) -> anyhow::Result<TestNode> {
        let dir = tempfile::tempdir()?;
        let node = lumo_node::start_with_clock(test_config(&dir), clock).await?;
        Ok(Self::wrap(node, dir))
    }

    fn wrap(node: RunningNode, dir: TempDir) -> TestNode {
        TestNode {
            http: format!("http://{}", node.http_addr),
            admin: format!("http://{}", node.admin_addr),
            node: Some(node),
            dir,
        }
    }

    /// A client of the bootstrap org with the admin key.
    pub fn api(&self) -> Api {
        Api::new(&self.http, ORG, ADMIN_KEY)
    }

    /// A client of `org` with `key`.
    pub fn api_for(&self, org: &str, key: &str) -> Api {
        Api::new(&self.http, org, key)
    }

    /// Creates another org through the cluster admin API; returns its admin key.
    pub async fn create_org(&self, slug: &str) -> anyhow::Result<String> {
        let token = self.cluster_token();
        let reply = http::raw_request(
            reqwest::Method::POST,
            &format!("{}/cluster/v1/orgs", self.admin),
            &[("Authorization", &format!("Bearer {token}"))],
            Some(serde_json::json!({"slug": slug, "name": slug})),
        )
        .await?;
        anyhow::ensure!(
            reply.status == 201,
            "create org {slug}: {} {}",
            reply.status,
            reply.body
        );
        reply.body["data"]["apiKey"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow::anyhow!("no apiKey in {}", reply.body))
    }

    /// The cluster admin token.
    pub fn cluster_token(&self) -> String {
        self.node
            .as_ref()
            .map(|n| n.cluster_token.clone())
            .unwrap_or_default()
    }

    /// Stops the node cleanly.
    pub async fn stop(mut self) -> anyhow::Result<TempDir> {
        if let Some(node) = self.node.take() {
            node.shutdown().await?;
        }
        Ok(self.dir)
    }
}

/// The configuration of a test node in `dir`.
pub fn test_config(dir: &TempDir) -> Config {
    let mut config = Config::for_tests(dir.path());
    config.bootstrap_org = Some(ORG.to_string());
    config.bootstrap_org_name = Some("Acme Corp".to_string());
    config.bootstrap_api_key = Some(ADMIN_KEY.to_string());
    config
}

/// A self-signed X.509 certificate (base64 DER) for registering SAML peers in tests; its key
/// was thrown away, so nothing it would verify can be forged with it.
pub const TEST_CERTIFICATE: &str = "MIIDETCCAfmgAwIBAgIUOcN8C9epRMXIJT5SfB3B30KJRvYwDQYJKoZIhvcNAQELBQAwGDEWMBQGA1UEAwwNTHVtbyB0ZXN0IElkUDAeFw0yNjEyMDcwMTMxMTBaFw0zNjEyMDQwMTMxMTBaMBgxFjAUBgNVBAMMDUx1bW8gdGVzdCBJZFAwggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQCyZ56QYvtskm6uUUomhL6qMZeP918OVWbPuxId3K3KZXP29I018EKuK8JZoqhAk/etH3v3pu3fAD4D4JCZAMP/R9b7BLq9UfpJ0nZuCP095F535zenPwQRw2IxQ9CrqwP/xTgTAd1a/WsX9WyXXAY3GJ6E18RgRpySzKKoWx6ssqMQ82nUkXfzfMomR5Px3yRmJ1jj6TMK/27s3Bc7hkcj1KcrQugPcRBAgyIomnqWJQ8fJBj4+acMjbaaMWwTXBoviShVdbDX3GmR4Rv8fckLOWwfLN6Q+oYKH9Hdnf7zDznk2H6vxl6V3Ojbc5pwBSe7jgttKIBt1VMadw48IuCnAgMBAAGjUzBRMB0GA1UdDgQWBBS3VcofA6tjyMl90wxGxX1/lenN1zAfBgNVHSMEGDAWgBS3VcofA6tjyMl90wxGxX1/lenN1zAPBgNVHRMBAf8EBTADAQH/MA0GCSqGSIb3DQEBCwUAA4IBAQBiYPxG2PWiO+y2/peehZ/9l5Nmj4oDebvn1OK6nXjCAfYBHZaTOrdwueDATZHctmCjRXejYLO/7R7mnbGSb8NukltonydmqidEOUPIeySGqkq2Zz0jSrl97rBRaLYdhdQi67uGYaeeCIDO0JxF/bO4KFTvV/by1RSCuMZzhWYilGhGuuFRZYWkMU4XBMsD7trvVamGP53e98CcFkhOyhsHAWR8WWT+4yY2K/8IBZKUb6FPTQJk2leS7Xe+FAuQYIL3UQ3reG1lt5iPb4LKXL6lduNfzou2Ay3QHZ2ceV8XKOkr1aDjtn87wCHjFikRvOMcRrC+aFOIiMXd1te/Vy9q";
