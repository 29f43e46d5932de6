//! A cluster of real `lumod` processes on loopback, for chaos runs: start, kill -9, restart on
//! the same ports and data dir, partition through the fault-injection admin endpoint.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::lumod;

/// The org, admin key and cluster token of chaos clusters.
pub const ORG: &str = "chaos-org";
pub const ADMIN_KEY: &str = "lmk_chaos_admin_key_0123456789abcdef";
pub const TOKEN: &str = "chaos-cluster-token-0123456789";

/// How long a process may take to print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// One `lumod` process and the ports it keeps across restarts.
pub struct Proc {
    pub data_dir: PathBuf,
    pub http: u16,
    pub admin: u16,
    pub rpc: u16,
    pub child: Option<Child>,
}

/// Several `lumod` processes forming one cluster.
pub struct ProcCluster {
    pub bin: PathBuf,
    pub procs: Vec<Proc>,
    _root: tempfile::TempDir,
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl ProcCluster {
    /// Starts `n` nodes (fault injection on); the first bootstraps [`ORG`].
    pub async fn start(bin: &Path, n: usize) -> anyhow::Result<ProcCluster> {
        let mut root = tempfile::tempdir()?;
        // LUMO_KEEP_DATA_DIRS keeps the data dirs (RocksDB's LOG files hold its stall and
        // compaction statistics) for looking into a run afterwards.
        if std::env::var_os("LUMO_KEEP_DATA_DIRS").is_some() {
            root.disable_cleanup(true);
            eprintln!("data dirs kept in {}", root.path().display());
        }
        let mut cluster = ProcCluster {
            bin: bin.to_path_buf(),
            procs: Vec::new(),
            _root: root,
        };
        for i in 0..n {
            let proc = Proc {
                data_dir: cluster._root.path().join(format!("node-{i}")),
                http: free_port()?,
                admin: free_port()?,
                rpc: free_port()?,
                child: None,
            };
            cluster.procs.push(proc);
            cluster.launch(i)?;
        }
        cluster
            .wait_replicated(n.min(3), Duration::from_secs(90))
            .await?;
        Ok(cluster)
    }

    /// Starts (or restarts) process `i` on its ports and data dir.
    pub fn launch(&mut self, i: usize) -> anyhow::Result<()> {
        let seed = self.procs[0].rpc;
        let proc = &mut self.procs[i];
        let mut command = Command::new(&self.bin);
        command
            .arg("serve")
            .arg("--data-dir")
            .arg(&proc.data_dir)
            .args(["--http-addr", &format!("127.0.0.1:{}", proc.http)])
            .args(["--admin-addr", &format!("127.0.0.1:{}", proc.admin)])
            .args(["--rpc-addr", &format!("127.0.0.1:{}", proc.rpc)])
            .args(["--region", "us", "--zone", &format!("zone-{i}")])
            .env("LUMO_CLUSTER_TOKEN", TOKEN)
            .env("LUMO_FAULT_INJECTION", "true")
            // Test receivers (webhooks) listen on 127.0.0.1.
            .env("LUMO_WEBHOOKS_ALLOW_PRIVATE", "true")
            .env("LUMO_NODE_DOWN_AFTER_SECS", "60");
        // LUMO_PROC_LOG_DIR keeps each process's log (for debugging a failed run).
        match std::env::var("LUMO_PROC_LOG_DIR") {
            Ok(dir) => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(Path::new(&dir).join(format!("node-{i}.log")))?;
                command.env("LUMO_LOG", "info,openraft=info").stderr(file);
            }
            Err(_) => {
                command.env("LUMO_LOG", "error").stderr(Stdio::null());
            }
        }
        if i == 0 {
            command
                .env("LUMO_BOOTSTRAP_ORG", ORG)
                .env("LUMO_BOOTSTRAP_API_KEY", ADMIN_KEY);
        } else {
            command.args(["--join", &format!("127.0.0.1:{seed}")]);
        }
        proc.child = Some(lumod::start(&mut command, READY_TIMEOUT)?.child);
        Ok(())
    }

    /// Starts a stateless frontend joined to the cluster; returns it and its HTTP port.
    pub fn launch_frontend(&self) -> anyhow::Result<(Child, u16)> {
        let http = free_port()?;
        let mut command = Command::new(&self.bin);
        command
            .args(["serve", "--role", "frontend"])
            .args(["--http-addr", &format!("127.0.0.1:{http}")])
            .args(["--admin-addr", &format!("127.0.0.1:{}", free_port()?)])
            .args(["--join", &format!("127.0.0.1:{}", self.procs[0].rpc)])
            .env("LUMO_CLUSTER_TOKEN", TOKEN)
            .env("LUMO_LOG", "error")
            .stderr(Stdio::null());
        let started = lumod::start(&mut command, READY_TIMEOUT)?;
        Ok((started.child, http))
    }

    /// Adds process `n` (joins through process 0) in zone `zone-n`.
    pub fn add_node(&mut self) -> anyhow::Result<usize> {
        let i = self.procs.len();
        self.procs.push(Proc {
            data_dir: self._root.path().join(format!("node-{i}")),
            http: free_port()?,
            admin: free_port()?,
            rpc: free_port()?,
            child: None,
        });
        self.launch(i)?;
        Ok(i)
    }

    /// A cluster admin request to process `i`.
    pub async fn admin(
        &self,
        i: usize,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()?;
        let mut request = client
            .request(method, self.admin_url(i, path))
            .bearer_auth(TOKEN);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let json: Value = response.json().await.unwrap_or_default();
        anyhow::ensure!(status.is_success(), "{path}: {status} {json}");
        Ok(json)
    }

    /// `kill -9` of process `i`.
    pub fn kill(&mut self, i: usize) -> anyhow::Result<()> {
        if let Some(mut child) = self.procs[i].child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// True when process `i` runs.
    pub fn alive(&self, i: usize) -> bool {
        self.procs[i].child.is_some()
    }

    /// Base URL of the API of process `i`.
    pub fn http(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.procs[i].http)
    }

    fn admin_url(&self, i: usize, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.procs[i].admin)
    }

    /// Cluster status from the first live process that answers.
    pub async fn status(&self) -> anyhow::Result<Value> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(3))
            .build()?;
        for i in 0..self.procs.len() {
            if !self.alive(i) {
                continue;
            }
            let reply = client
                .get(self.admin_url(i, "/cluster/v1/status"))
                .bearer_auth(TOKEN)
                .send()
                .await;
            if let Ok(reply) = reply
                && reply.status().is_success()
                && let Ok(json) = reply.json::<Value>().await
            {
                return Ok(json["data"].clone());
            }
        }
        anyhow::bail!("no process answers cluster status")
    }

    /// Waits until every shard has `voters` voters and a leader.
    pub async fn wait_replicated(&self, voters: usize, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(status) = self.status().await
                && status["shards"].as_array().is_some_and(|shards| {
                    !shards.is_empty()
                        && shards.iter().all(|s| {
                            s["leader"].is_u64()
                                && s["voters"].as_array().is_some_and(|v| v.len() == voters)
                        })
                })
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        anyhow::bail!("cluster not replicated within {timeout:?}")
    }

    /// Node id behind process `i` (from its data dir).
    pub fn node_id(&self, i: usize) -> Option<u64> {
        let text = std::fs::read_to_string(self.procs[i].data_dir.join("node.json")).ok()?;
        let json: Value = serde_json::from_str(&text).ok()?;
        json["node_id"].as_u64()
    }

    /// The process leading the shard that holds [`ORG`] (shard 1 until the org moves).
    pub async fn shard_leader(&self) -> Option<usize> {
        let status = self.status().await.ok()?;
        let shard = self.org_shard().await.unwrap_or(1);
        let leader = status["shards"]
            .as_array()?
            .iter()
            .find(|s| s["id"].as_u64() == Some(shard))?["leader"]
            .as_u64()?;
        (0..self.procs.len()).find(|i| self.node_id(*i) == Some(leader))
    }

    /// The first live process, for cluster admin calls.
    fn live(&self) -> anyhow::Result<usize> {
        (0..self.procs.len())
            .find(|i| self.alive(*i))
            .ok_or_else(|| anyhow::anyhow!("no process is running"))
    }

    /// The shard that holds [`ORG`].
    pub async fn org_shard(&self) -> Option<u64> {
        let orgs = self
            .admin(
                self.live().ok()?,
                reqwest::Method::GET,
                "/cluster/v1/orgs",
                None,
            )
            .await
            .ok()?;
        orgs["data"].as_array()?.iter().find(|o| o["slug"] == ORG)?["shard"].as_u64()
    }

    /// Adds a shard and waits until it has a leader and `voters` voters; answers its id.
    pub async fn add_shard(&self, voters: usize) -> anyhow::Result<u64> {
        let created = self
            .admin(
                self.live()?,
                reqwest::Method::POST,
                "/cluster/v1/shards",
                // Every process of this cluster runs in region `us`.
                Some(serde_json::json!({"region": "us"})),
            )
            .await?;
        let id = created["data"]["id"]
            .as_u64()
            .ok_or_else(|| anyhow::anyhow!("no shard id in {created}"))?;
        self.wait_replicated(voters, Duration::from_secs(90))
            .await?;
        Ok(id)
    }

    /// Moves [`ORG`] to shard `to` through process `i`.
    pub async fn move_org(&self, i: usize, to: u64) -> anyhow::Result<()> {
        self.admin(
            i,
            reqwest::Method::POST,
            &format!("/cluster/v1/orgs/{ORG}/move"),
            Some(serde_json::json!({ "to": to })),
        )
        .await
        .map(|_| ())
    }

    /// Makes every WAL sync of process `i` wait `delay_ms` (0 heals); the storage fail point.
    pub async fn slow_disk(&self, i: usize, delay_ms: u64) -> anyhow::Result<()> {
        self.admin(
            i,
            reqwest::Method::PUT,
            "/cluster/v1/faults",
            Some(serde_json::json!({ "disk_delay_ms": delay_ms })),
        )
        .await
        .map(|_| ())
    }

    /// Cuts process `i` off from every other process (both directions), or heals everyone.
    pub async fn partition(&self, i: Option<usize>) -> anyhow::Result<()> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(3))
            .build()?;
        let ids: Vec<Option<u64>> = (0..self.procs.len()).map(|j| self.node_id(j)).collect();
        for j in 0..self.procs.len() {
            if !self.alive(j) {
                continue;
            }
            let isolate: Vec<u64> = match i {
                None => Vec::new(),
                Some(i) if i == j => ids
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| *k != i)
                    .filter_map(|(_, id)| *id)
                    .collect(),
                Some(i) => ids[i].into_iter().collect(),
            };
            let body = serde_json::json!({"isolate_from": isolate, "delay_ms": 0});
            let _ = client
                .put(self.admin_url(j, "/cluster/v1/faults"))
                .bearer_auth(TOKEN)
                .json(&body)
                .send()
                .await;
        }
        Ok(())
    }

    /// Kills every process.
    pub fn stop_all(&mut self) {
        for i in 0..self.procs.len() {
            let _ = self.kill(i);
        }
    }
}

impl Drop for ProcCluster {
    fn drop(&mut self) {
        self.stop_all();
    }
}
