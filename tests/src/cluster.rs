//! Multi-node clusters in one test process: real nodes (each with its own RocksDB, Raft groups
//! and listeners on ephemeral loopback ports) that join each other over the internal RPC.

use std::time::{Duration, Instant};

use lumo_cluster::Role;
use lumo_node::{Config, RunningNode};
use reqwest::Method;
use serde_json::Value;
use tempfile::TempDir;

use crate::http::{Reply, raw_request};
use crate::{ADMIN_KEY, Api, ORG};

/// The cluster token of test clusters.
pub const CLUSTER_TOKEN: &str = "test-cluster-token-0123456789";

/// One member of a [`TestCluster`].
pub struct Member {
    pub node: Option<RunningNode>,
    pub dir: TempDir,
    pub http: String,
    pub admin: String,
    pub rpc: String,
    pub id: u64,
}

/// Several in-process nodes forming one cluster.
pub struct TestCluster {
    pub members: Vec<Member>,
}

fn config(dir: &TempDir, join: Option<&str>, region: Option<&str>, zone: Option<&str>) -> Config {
    let mut config = Config::for_tests(dir.path());
    config.cluster_token = Some(CLUSTER_TOKEN.to_string());
    config.fault_injection = true;
    config.node_down_after = Duration::from_secs(2);
    config.region = region.map(str::to_string);
    config.zone = zone.map(str::to_string);
    match join {
        Some(seed) => config.join = vec![seed.to_string()],
        None => {
            config.bootstrap_org = Some(ORG.to_string());
            config.bootstrap_api_key = Some(ADMIN_KEY.to_string());
        }
    }
    config
}

fn member(node: RunningNode, dir: TempDir) -> Member {
    Member {
        http: format!("http://{}", node.http_addr),
        admin: format!("http://{}", node.admin_addr),
        rpc: node.rpc_addr.map(|a| a.to_string()).unwrap_or_default(),
        id: node.service.node_id().0,
        node: Some(node),
        dir,
    }
}

impl TestCluster {
    /// `n` nodes in one region (zones a, b, c, ...), the first bootstrapping org [`ORG`]; waits
    /// until every shard has `min(n, 3)` voters.
    pub async fn start(n: usize) -> anyhow::Result<TestCluster> {
        Self::start_in(n, Some("us")).await
    }

    /// Like [`TestCluster::start`], with every node in `region`.
    pub async fn start_in(n: usize, region: Option<&str>) -> anyhow::Result<TestCluster> {
        let mut cluster = TestCluster {
            members: Vec::new(),
        };
        for i in 0..n {
            let zone = format!("zone-{}", (b'a' + i as u8) as char);
            cluster.add(region, Some(&zone)).await?;
        }
        cluster
            .wait_replicated(n.min(3), Duration::from_secs(60))
            .await?;
        Ok(cluster)
    }

    /// Adds a node that joins through the first member.
    pub async fn add(&mut self, region: Option<&str>, zone: Option<&str>) -> anyhow::Result<usize> {
        self.add_with(region, zone, |_| {}).await
    }

    /// Like [`TestCluster::add`], with the node's configuration adjusted first.
    pub async fn add_with(
        &mut self,
        region: Option<&str>,
        zone: Option<&str>,
        adjust: impl FnOnce(&mut Config),
    ) -> anyhow::Result<usize> {
        let dir = tempfile::tempdir()?;
        let seed = self.members.first().map(|m| m.rpc.clone());
        let mut config = config(&dir, seed.as_deref(), region, zone);
        adjust(&mut config);
        let node = lumo_node::start(config).await?;
        self.members.push(member(node, dir));
        Ok(self.members.len() - 1)
    }

    /// A stateless frontend joined to the first member.
    pub async fn frontend(&self) -> anyhow::Result<RunningNode> {
        let mut config = Config::for_tests(std::path::Path::new("/nonexistent-frontend"));
        config.cluster_token = Some(CLUSTER_TOKEN.to_string());
        config.role = Role::Frontend;
        config.join = vec![self.members[0].rpc.clone()];
        lumo_node::start(config).await
    }

    /// An admin API client through member `i`.
    pub fn api(&self, i: usize) -> Api {
        Api::new(&self.members[i].http, ORG, ADMIN_KEY)
    }

    /// A cluster admin request to member `i`.
    pub async fn admin(
        &self,
        i: usize,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Reply> {
        raw_request(
            method,
            &format!("{}{path}", self.members[i].admin),
            &[("Authorization", &format!("Bearer {CLUSTER_TOKEN}"))],
            body,
        )
        .await
    }

    /// `GET /cluster/v1/status` through the first live member.
    pub async fn status(&self) -> anyhow::Result<Value> {
        for (i, m) in self.members.iter().enumerate() {
            if m.node.is_none() {
                continue;
            }
            let reply = self
                .admin(i, Method::GET, "/cluster/v1/status", None)
                .await?;
            if reply.status == 200 {
                return Ok(reply.body["data"].clone());
            }
        }
        anyhow::bail!("no member answers cluster status")
    }

    /// Waits until every shard reports `voters` voters and a leader.
    pub async fn wait_replicated(&self, voters: usize, timeout: Duration) -> anyhow::Result<Value> {
        self.wait_for(timeout, |status| {
            status["shards"].as_array().is_some_and(|shards| {
                !shards.is_empty()
                    && shards.iter().all(|s| {
                        s["leader"].is_u64()
                            && s["voters"].as_array().is_some_and(|v| v.len() == voters)
                    })
            })
        })
        .await
    }

    /// Polls cluster status until `done` holds (at most `timeout`).
    pub async fn wait_for(
        &self,
        timeout: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        let deadline = Instant::now() + timeout;
        let mut last = Value::Null;
        while Instant::now() < deadline {
            if let Ok(status) = self.status().await {
                if done(&status) {
                    return Ok(status);
                }
                last = status;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        anyhow::bail!("condition not reached in {timeout:?}; last status: {last}")
    }

    /// The member index of node `id`.
    pub fn index_of(&self, id: u64) -> Option<usize> {
        self.members.iter().position(|m| m.id == id)
    }

    /// Sets fault rules on member `i` (needs fault injection, which test clusters enable).
    pub async fn isolate(&self, i: usize, from: &[u64]) -> anyhow::Result<()> {
        let body = serde_json::json!({"isolate_from": from, "delay_ms": 0});
        let reply = self
            .admin(i, Method::PUT, "/cluster/v1/faults", Some(body))
            .await?;
        anyhow::ensure!(reply.status == 200, "set faults: {}", reply.text);
        Ok(())
    }

    /// Adds `ms` of delay to every message every running member sends (0 removes it).
    pub async fn delay_all(&self, ms: u64) -> anyhow::Result<()> {
        for (i, m) in self.members.iter().enumerate() {
            if m.node.is_none() {
                continue;
            }
            let body = serde_json::json!({"isolate_from": [], "delay_ms": ms});
            let reply = self
                .admin(i, Method::PUT, "/cluster/v1/faults", Some(body))
                .await?;
            anyhow::ensure!(reply.status == 200, "set faults: {}", reply.text);
        }
        Ok(())
    }

    /// Cuts member `i` off from every other member (both directions), or heals with `false`.
    pub async fn partition(&self, i: usize, cut: bool) -> anyhow::Result<()> {
        let me = self.members[i].id;
        let others: Vec<u64> = self
            .members
            .iter()
            .map(|m| m.id)
            .filter(|id| *id != me)
            .collect();
        for (j, m) in self.members.iter().enumerate() {
            if m.node.is_none() {
                continue;
            }
            let rule: Vec<u64> = match (cut, j == i) {
                (false, _) => Vec::new(),
                (true, true) => others.clone(),
                (true, false) => vec![me],
            };
            self.isolate(j, &rule).await?;
        }
        Ok(())
    }

    /// Stops member `i` cleanly (its data dir stays for a restart).
    pub async fn stop(&mut self, i: usize) -> anyhow::Result<()> {
        if let Some(node) = self.members[i].node.take() {
            node.shutdown().await?;
        }
        Ok(())
    }

    /// Restarts a stopped member on its data dir (new HTTP ports, the same RPC address; it
    /// announces them).
    pub async fn restart(&mut self, i: usize) -> anyhow::Result<()> {
        self.restart_with(i, false).await
    }

    /// Restarts a stopped member on its data dir with a new RPC address too.
    pub async fn restart_elsewhere(&mut self, i: usize) -> anyhow::Result<()> {
        self.restart_with(i, true).await
    }

    async fn restart_with(&mut self, i: usize, new_rpc_addr: bool) -> anyhow::Result<()> {
        let member = &mut self.members[i];
        anyhow::ensure!(member.node.is_none(), "member {i} is running");
        let seed = None::<&str>;
        let mut config = config(&member.dir, seed, Some("us"), None);
        config.bootstrap_org = None;
        config.bootstrap_api_key = None;
        if !new_rpc_addr {
            config.rpc_addr = member.rpc.parse()?;
        }
        let node = lumo_node::start(config).await?;
        member.http = format!("http://{}", node.http_addr);
        member.admin = format!("http://{}", node.admin_addr);
        member.rpc = node.rpc_addr.map(|a| a.to_string()).unwrap_or_default();
        member.node = Some(node);
        Ok(())
    }

    /// Stops every member.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        for i in (0..self.members.len()).rev() {
            self.stop(i).await?;
        }
        Ok(())
    }
}
