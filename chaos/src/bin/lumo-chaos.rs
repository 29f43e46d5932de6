//! `lumo-chaos`: runs a cluster of real `lumod` processes under a register workload while
//! killing (-9) and restarting shard leaders and partitioning nodes, then checks that the
//! recorded history is linearizable and that no acknowledged write was lost.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use lumo_chaos::checker::check;
use lumo_chaos::history::{History, Kind, Op, Outcome};
use lumo_chaos::procs::{ADMIN_KEY, ORG, ProcCluster};
use rand::Rng;
use serde_json::json;
use tokio::sync::Mutex;

#[derive(Parser)]
#[command(about = "Kill and partition a Lumo cluster under load, then check the history")]
struct Args {
    /// Seconds of load and faults.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 6)]
    clients: usize,
    /// Registers (users whose name the clients read and write).
    #[arg(long, default_value_t = 40)]
    keys: usize,
    /// Milliseconds each client waits between operations (keeps histories checkable).
    #[arg(long, default_value_t = 5)]
    think_ms: u64,
    /// Data nodes.
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Faults to inject, in turn: kill (kill -9 the shard leader, restart it) and partition.
    #[arg(long, default_value = "kill,partition")]
    nemesis: String,
    /// Seconds between the starts of two faults.
    #[arg(long, default_value_t = 6)]
    interval: u64,
    /// The lumod binary (default: LUMOD_BIN, else next to this program).
    #[arg(long)]
    lumod: Option<PathBuf>,
    /// Write the history (JSON) here.
    #[arg(long)]
    history: Option<PathBuf>,
}

fn lumod_bin(arg: Option<PathBuf>) -> PathBuf {
    arg.or_else(|| std::env::var("LUMOD_BIN").ok().map(PathBuf::from))
        .or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(|d| d.join("lumod")))
        })
        .unwrap_or_else(|| PathBuf::from("lumod"))
}

fn email(key: &str) -> String {
    format!("{key}@chaos.example")
}

/// One client operation through `base`, classified for the checker.
async fn run_op(client: &reqwest::Client, base: &str, key: &str, kind: &Kind) -> Outcome {
    let url = format!("{base}/orgs/{ORG}/api/v1/admin/users/{}", email(key));
    let request = match kind {
        Kind::Read => client.get(&url),
        Kind::Write(value) => client.patch(&url).json(&json!({"name": value})),
    };
    match request.header("X-API-Key", ADMIN_KEY).send().await {
        Err(e) if e.is_connect() => Outcome::Failed,
        Err(_) => Outcome::Unknown,
        Ok(response) => {
            let status = response.status().as_u16();
            match (kind, status) {
                (Kind::Read, 200) => match response.json::<serde_json::Value>().await {
                    Ok(body) => Outcome::Ok(body["data"]["name"].as_str().map(str::to_string)),
                    Err(_) => Outcome::Unknown,
                },
                (Kind::Write(_), 200) => Outcome::Ok(None),
                (_, 400..=499) => Outcome::Failed,
                (Kind::Write(_), 503) => match response.json::<serde_json::Value>().await {
                    // The server says when a refused write was certainly not applied.
                    Ok(body) if body["details"]["outcome"] == "not_applied" => Outcome::Failed,
                    _ => Outcome::Unknown,
                },
                _ => Outcome::Unknown,
            }
        }
    }
}

struct Fault {
    kind: &'static str,
    at: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bin = lumod_bin(args.lumod.clone());
    anyhow::ensure!(
        bin.exists(),
        "lumod binary not found at {} (build it or pass --lumod)",
        bin.display()
    );
    eprintln!(
        "starting {} lumod processes from {}",
        args.nodes,
        bin.display()
    );
    let cluster = ProcCluster::start(&bin, args.nodes).await?;
    let urls: Vec<String> = (0..args.nodes).map(|i| cluster.http(i)).collect();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()?;
    let keys: Vec<String> = (0..args.keys).map(|k| format!("key-{k}")).collect();
    for key in &keys {
        let body = json!({"email": email(key), "name": "v0"});
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let reply = client
                .post(format!("{}/orgs/{ORG}/api/v1/admin/users", urls[0]))
                .header("X-API-Key", ADMIN_KEY)
                .json(&body)
                .send()
                .await;
            if reply.is_ok_and(|r| r.status().as_u16() == 201) {
                break;
            }
            anyhow::ensure!(Instant::now() < deadline, "cannot create register {key}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let start = Instant::now();
    let deadline = start + Duration::from_secs(args.seconds);
    let history = Arc::new(Mutex::new(Vec::<Op>::new()));
    let creates = Arc::new(Mutex::new((Vec::<String>::new(), 0usize)));
    let cluster = Arc::new(Mutex::new(cluster));
    let running = Arc::new(AtomicBool::new(true));

    let mut tasks = Vec::new();
    for c in 0..args.clients {
        let (client, urls, keys, history, creates) = (
            client.clone(),
            urls.clone(),
            keys.clone(),
            history.clone(),
            creates.clone(),
        );
        let think = args.think_ms;
        tasks.push(tokio::spawn(async move {
            let mut seq = 0u64;
            while Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(think)).await;
                seq += 1;
                let (key, node, coin, create) = {
                    let mut rng = rand::thread_rng();
                    (
                        keys[rng.gen_range(0..keys.len())].clone(),
                        rng.gen_range(0..urls.len()),
                        rng.gen_bool(0.5),
                        rng.gen_range(0..5) == 0,
                    )
                };
                if create {
                    let address = format!("new-{c}-{seq}@chaos.example");
                    let reply = client
                        .post(format!("{}/orgs/{ORG}/api/v1/admin/users", urls[node]))
                        .header("X-API-Key", ADMIN_KEY)
                        .json(&json!({"email": address}))
                        .send()
                        .await;
                    let mut creates = creates.lock().await;
                    match reply {
                        Ok(r) if r.status().as_u16() == 201 => creates.0.push(address),
                        _ => creates.1 += 1,
                    }
                    continue;
                }
                let kind = if coin {
                    Kind::Write(format!("c{c}-{seq}"))
                } else {
                    Kind::Read
                };
                let invoke = start.elapsed().as_nanos() as u64;
                let outcome = run_op(&client, &urls[node], &key, &kind).await;
                let ret = start.elapsed().as_nanos() as u64;
                history.lock().await.push(Op {
                    client: c,
                    key,
                    kind,
                    invoke,
                    ret,
                    outcome,
                });
            }
        }));
    }

    // The nemesis: one fault every `interval` seconds, each healed before the next.
    let nemeses: Vec<String> = args
        .nemesis
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let mut faults: Vec<Fault> = Vec::new();
    let mut turn = 0usize;
    while !nemeses.is_empty() && Instant::now() + Duration::from_secs(args.interval) < deadline {
        tokio::time::sleep(Duration::from_secs(args.interval / 2)).await;
        let nemesis = nemeses[turn % nemeses.len()].as_str();
        turn += 1;
        let mut procs = cluster.lock().await;
        match nemesis {
            "kill" => {
                if let Some(leader) = procs.shard_leader().await {
                    faults.push(Fault {
                        kind: "kill",
                        at: start.elapsed().as_nanos() as u64,
                    });
                    eprintln!(
                        "{:>6.1}s kill -9 node {leader} (shard leader)",
                        start.elapsed().as_secs_f64()
                    );
                    procs.kill(leader)?;
                    drop(procs);
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    let mut procs = cluster.lock().await;
                    procs.launch(leader)?;
                    eprintln!(
                        "{:>6.1}s restarted node {leader}",
                        start.elapsed().as_secs_f64()
                    );
                }
            }
            "partition" => {
                let victim = rand::thread_rng().gen_range(0..procs.procs.len());
                faults.push(Fault {
                    kind: "partition",
                    at: start.elapsed().as_nanos() as u64,
                });
                eprintln!(
                    "{:>6.1}s partition node {victim} away",
                    start.elapsed().as_secs_f64()
                );
                procs.partition(Some(victim)).await?;
                drop(procs);
                tokio::time::sleep(Duration::from_secs(3)).await;
                cluster.lock().await.partition(None).await?;
                eprintln!("{:>6.1}s healed", start.elapsed().as_secs_f64());
            }
            other => anyhow::bail!("unknown nemesis {other}"),
        }
        tokio::time::sleep(Duration::from_secs(
            args.interval.saturating_sub(args.interval / 2 + 3),
        ))
        .await;
    }
    for task in tasks {
        task.await?;
    }
    running.store(false, Ordering::SeqCst);

    // Heal, bring every node back, and read every register through every node.
    {
        let mut procs = cluster.lock().await;
        procs.partition(None).await?;
        for i in 0..procs.procs.len() {
            if !procs.alive(i) {
                procs.launch(i)?;
            }
        }
        procs
            .wait_replicated(args.nodes.min(3), Duration::from_secs(90))
            .await?;
    }
    for (node, base) in urls.iter().enumerate() {
        for key in &keys {
            let invoke = start.elapsed().as_nanos() as u64;
            let outcome = run_op(&client, base, key, &Kind::Read).await;
            let ret = start.elapsed().as_nanos() as u64;
            history.lock().await.push(Op {
                client: 1000 + node,
                key: key.clone(),
                kind: Kind::Read,
                invoke,
                ret,
                outcome,
            });
        }
    }
    let history = History {
        ops: history.lock().await.clone(),
    };
    if let Some(path) = &args.history {
        std::fs::write(path, serde_json::to_vec_pretty(&history)?)?;
    }

    // Every acknowledged create must exist.
    let (acked, refused) = creates.lock().await.clone();
    let mut lost = Vec::new();
    for address in &acked {
        let reply = client
            .get(format!(
                "{}/orgs/{ORG}/api/v1/admin/users/{address}",
                urls[0]
            ))
            .header("X-API-Key", ADMIN_KEY)
            .send()
            .await?;
        if reply.status().as_u16() != 200 {
            lost.push(address.clone());
        }
    }

    let count = |f: &dyn Fn(&Op) -> bool| history.ops.iter().filter(|o| f(o)).count();
    println!(
        "operations: {} (ok {}, failed {}, unknown {})",
        history.ops.len(),
        count(&|o| matches!(o.outcome, Outcome::Ok(_))),
        count(&|o| o.outcome == Outcome::Failed),
        count(&|o| o.outcome == Outcome::Unknown)
    );
    println!(
        "acknowledged register writes: {}",
        history.acknowledged_writes()
    );
    println!(
        "creates: {} acknowledged, {} refused or unknown, {} lost",
        acked.len(),
        refused,
        lost.len()
    );
    for fault in &faults {
        let recovered = history
            .ops
            .iter()
            .filter(|o| {
                matches!(o.kind, Kind::Write(_))
                    && matches!(o.outcome, Outcome::Ok(_))
                    && o.invoke >= fault.at
            })
            .map(|o| o.ret)
            .min();
        match recovered {
            Some(ret) => println!(
                "{} at {:.1}s: next acknowledged write {:.0} ms later",
                fault.kind,
                fault.at as f64 / 1e9,
                (ret - fault.at) as f64 / 1e6
            ),
            None => println!(
                "{} at {:.1}s: no acknowledged write afterwards",
                fault.kind,
                fault.at as f64 / 1e9
            ),
        }
    }
    let verdict = check(&history, &Some("v0".to_string()));
    match &verdict {
        Ok(()) => println!("linearizable: yes ({} registers)", keys.len()),
        Err(v) if v.inconclusive => {
            println!(
                "linearizable: UNDECIDED — the search for register {} gave up ({} operations)",
                v.key,
                v.ops.len()
            );
        }
        Err(v) => {
            println!(
                "linearizable: NO — register {} has no valid order; its {} operations:",
                v.key,
                v.ops.len()
            );
            for op in &v.ops {
                println!(
                    "  client {} {:?} [{}, {}] -> {:?}",
                    op.client, op.kind, op.invoke, op.ret, op.outcome
                );
            }
        }
    }
    for address in &lost {
        println!("LOST acknowledged create: {address}");
    }
    cluster.lock().await.stop_all();
    if verdict.is_err() || !lost.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}
