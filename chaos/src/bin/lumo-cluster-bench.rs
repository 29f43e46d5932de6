//! `lumo-cluster-bench`: replicated-write and read throughput of a 3-node Lumo cluster through a
//! frontend, against a 3-node etcd cluster on the same machine in the same run (the reference
//! for Raft-replicated writes); failover time after killing the shard leader; and the time to
//! rebalance a node added to a cluster holding many orgs.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use clap::Parser;
use lumo_chaos::load::run;
use lumo_chaos::procs::{ADMIN_KEY, ORG, ProcCluster};
use lumo_chaos::stats::{ScenarioStats, markdown};
use reqwest::Method;
use serde_json::json;

#[derive(Parser)]
#[command(about = "Benchmark a 3-node Lumo cluster against 3-node etcd")]
struct Args {
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Orgs in the cluster before a node is added (rebalance timing).
    #[arg(long, default_value_t = 1000)]
    orgs: usize,
    /// Shards the orgs are spread over.
    #[arg(long, default_value_t = 4)]
    shards: usize,
    /// Leader kills for the failover measurement.
    #[arg(long, default_value_t = 3)]
    kills: usize,
    #[arg(long)]
    lumod: Option<PathBuf>,
    /// The etcd binary.
    #[arg(long, default_value = "etcd")]
    etcd: String,
    /// Skip etcd.
    #[arg(long)]
    no_etcd: bool,
}

fn port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

struct Etcd {
    children: Vec<Child>,
    client_urls: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Drop for Etcd {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

async fn start_etcd(bin: &str) -> anyhow::Result<Etcd> {
    let dir = tempfile::tempdir()?;
    let peers: Vec<u16> = (0..3).map(|_| port()).collect::<anyhow::Result<_>>()?;
    let clients: Vec<u16> = (0..3).map(|_| port()).collect::<anyhow::Result<_>>()?;
    let initial = (0..3)
        .map(|i| format!("e{i}=http://127.0.0.1:{}", peers[i]))
        .collect::<Vec<_>>()
        .join(",");
    let mut children = Vec::new();
    for i in 0..3 {
        children.push(
            Command::new(bin)
                .args(["--name", &format!("e{i}")])
                .arg("--data-dir")
                .arg(dir.path().join(format!("e{i}")))
                .args([
                    "--listen-client-urls",
                    &format!("http://127.0.0.1:{}", clients[i]),
                ])
                .args([
                    "--advertise-client-urls",
                    &format!("http://127.0.0.1:{}", clients[i]),
                ])
                .args([
                    "--listen-peer-urls",
                    &format!("http://127.0.0.1:{}", peers[i]),
                ])
                .args([
                    "--initial-advertise-peer-urls",
                    &format!("http://127.0.0.1:{}", peers[i]),
                ])
                .args([
                    "--initial-cluster",
                    &initial,
                    "--initial-cluster-state",
                    "new",
                ])
                .args([
                    "--initial-cluster-token",
                    "lumo-bench",
                    "--log-level",
                    "error",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?,
        );
    }
    let etcd = Etcd {
        children,
        client_urls: clients
            .iter()
            .map(|p| format!("http://127.0.0.1:{p}"))
            .collect(),
        _dir: dir,
    };
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ok = client
            .post(format!("{}/v3/kv/put", etcd.client_urls[0]))
            .json(&json!({"key": "cmVhZHk=", "value": "MQ=="}))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ok {
            return Ok(etcd);
        }
        anyhow::ensure!(Instant::now() < deadline, "etcd cluster did not start");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bin = lumo_chaos::lumod::lumod_bin(args.lumod.clone());
    let duration = Duration::from_secs(args.seconds);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency * 2)
        .build()?;
    let mut rows: Vec<ScenarioStats> = Vec::new();

    eprintln!("starting 3 lumod data nodes and a frontend");
    let mut cluster = ProcCluster::start(&bin, 3).await?;
    let (mut frontend, fe_port) = cluster.launch_frontend()?;
    let fe = Arc::new(format!("http://127.0.0.1:{fe_port}/orgs/{ORG}/api/v1"));
    let pid = std::process::id();
    let writes = {
        let (client, fe) = (client.clone(), fe.clone());
        run(
            "lumo: create user (3 replicas, via frontend)",
            args.concurrency,
            duration,
            u64::MAX,
            move |_, seq| {
                let (client, fe) = (client.clone(), fe.clone());
                async move {
                    client
                        .post(format!("{fe}/admin/users"))
                        .header("X-API-Key", ADMIN_KEY)
                        .json(&json!({"email": format!("bench-{pid}-{seq}@example.com")}))
                        .send()
                        .await
                        .is_ok_and(|r| r.status().as_u16() == 201)
                }
            },
        )
        .await
    };
    eprintln!("{}", markdown(std::slice::from_ref(&writes)));
    rows.push(writes);
    let reads = {
        let (client, fe) = (client.clone(), fe.clone());
        run(
            "lumo: get user (linearizable, via frontend)",
            args.concurrency,
            duration,
            u64::MAX,
            move |_, seq| {
                let (client, fe) = (client.clone(), fe.clone());
                async move {
                    client
                        .get(format!(
                            "{fe}/admin/users/bench-{pid}-{}@example.com",
                            seq % 500
                        ))
                        .header("X-API-Key", ADMIN_KEY)
                        .send()
                        .await
                        .is_ok_and(|r| r.status().as_u16() == 200)
                }
            },
        )
        .await
    };
    rows.push(reads);
    let _ = frontend.kill();

    // Failover: kill -9 the shard leader under a light write load, time the first new ack.
    let mut failovers = Vec::new();
    for k in 0..args.kills {
        let leader = cluster
            .shard_leader()
            .await
            .ok_or_else(|| anyhow::anyhow!("no shard leader"))?;
        let others: Vec<String> = (0..3)
            .filter(|i| *i != leader)
            .map(|i| cluster.http(i))
            .collect();
        let killed = Instant::now();
        cluster.kill(leader)?;
        let mut n = 0;
        loop {
            n += 1;
            let url = format!("{}/orgs/{ORG}/api/v1/admin/users", others[n % others.len()]);
            let ok = client
                .post(&url)
                .header("X-API-Key", ADMIN_KEY)
                .json(&json!({"email": format!("failover-{pid}-{k}-{n}@example.com")}))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().as_u16() == 201);
            if ok {
                break;
            }
            anyhow::ensure!(
                killed.elapsed() < Duration::from_secs(30),
                "no failover in 30 s"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        failovers.push(killed.elapsed());
        cluster.launch(leader)?;
        cluster.wait_replicated(3, Duration::from_secs(60)).await?;
    }

    // Rebalance: many orgs over several shards, then a fourth node.
    for _ in 1..args.shards {
        cluster
            .admin(
                0,
                Method::POST,
                "/cluster/v1/shards",
                Some(json!({"region": "us"})),
            )
            .await?;
    }
    cluster.wait_replicated(3, Duration::from_secs(120)).await?;
    let created = Instant::now();
    let orgs: Vec<_> = (0..args.orgs).collect();
    for chunk in orgs.chunks(8) {
        let futures = chunk.iter().map(|o| {
            cluster.admin(
                0,
                Method::POST,
                "/cluster/v1/orgs",
                Some(json!({"slug": format!("tenant-{o}")})),
            )
        });
        for result in futures::future::join_all(futures).await {
            result?;
        }
    }
    let org_time = created.elapsed();
    let added_at = Instant::now();
    cluster.add_node()?;
    let target_new = 3 * args.shards / 4;
    let deadline = Instant::now() + Duration::from_secs(600);
    let rebalance = loop {
        let status = cluster.status().await?;
        let counts: Vec<usize> = status["nodes"]
            .as_array()
            .map(|nodes| {
                nodes
                    .iter()
                    .map(|n| n["shards"].as_array().map(Vec::len).unwrap_or(0))
                    .collect()
            })
            .unwrap_or_default();
        let replicated = status["shards"].as_array().is_some_and(|s| {
            s.iter()
                .all(|sh| sh["voters"].as_array().map(Vec::len) == Some(3))
        });
        let balanced = counts.len() == 4
            && counts.iter().max().copied().unwrap_or(0)
                - counts.iter().min().copied().unwrap_or(0)
                <= 1
            && counts.last().copied().unwrap_or(0) >= target_new.max(1);
        if balanced && replicated {
            break added_at.elapsed();
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "not balanced in 10 min: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    cluster.stop_all();

    if !args.no_etcd {
        eprintln!("starting a 3-member etcd cluster");
        let etcd = start_etcd(&args.etcd).await?;
        let url = Arc::new(etcd.client_urls[0].clone());
        let puts = {
            let (client, url) = (client.clone(), url.clone());
            run("etcd: put (3 members)", args.concurrency, duration, u64::MAX, move |_, seq| {
                let (client, url) = (client.clone(), url.clone());
                async move {
                    let body = json!({"key": b64(&format!("user/{seq}")), "value": b64(&format!("{{\"email\":\"bench-{seq}@example.com\"}}"))});
                    client.post(format!("{url}/v3/kv/put")).json(&body).send().await.is_ok_and(|r| r.status().is_success())
                }
            })
            .await
        };
        rows.push(puts);
        let ranges = {
            let (client, url) = (client.clone(), url.clone());
            run(
                "etcd: range (linearizable)",
                args.concurrency,
                duration,
                u64::MAX,
                move |_, seq| {
                    let (client, url) = (client.clone(), url.clone());
                    async move {
                        let body = json!({"key": b64(&format!("user/{}", seq % 500))});
                        client
                            .post(format!("{url}/v3/kv/range"))
                            .json(&body)
                            .send()
                            .await
                            .is_ok_and(|r| r.status().is_success())
                    }
                },
            )
            .await
        };
        rows.push(ranges);
        drop(etcd);
    }

    println!("{}", markdown(&rows));
    let find = |name: &str| {
        rows.iter()
            .find(|r| r.name.starts_with(name))
            .map(ScenarioStats::throughput)
    };
    if let (Some(lumo), Some(etcd)) = (find("lumo: create"), find("etcd: put")) {
        println!("replicated writes: lumo / etcd = {:.2}", lumo / etcd);
    }
    if let (Some(lumo), Some(etcd)) = (find("lumo: get"), find("etcd: range")) {
        println!("linearizable reads: lumo / etcd = {:.2}", lumo / etcd);
    }
    let mut sorted = failovers.clone();
    sorted.sort();
    println!(
        "failover after kill -9 of the shard leader: {} (median {:?})",
        failovers
            .iter()
            .map(|d| format!("{} ms", d.as_millis()))
            .collect::<Vec<_>>()
            .join(", "),
        sorted.get(sorted.len() / 2)
    );
    println!(
        "{} orgs created in {:.1} s; rebalance after adding a 4th node to {} shards: {:.1} s",
        args.orgs,
        org_time.as_secs_f64(),
        args.shards,
        rebalance.as_secs_f64()
    );
    Ok(())
}
