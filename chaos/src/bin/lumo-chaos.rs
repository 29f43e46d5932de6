//! `lumo-chaos`: runs a cluster of real `lumod` processes under a mixed load (register reads and
//! writes, user creation, OAuth tokens, authorization checks) while a nemesis kills (-9) and
//! restarts shard leaders, partitions nodes, slows a node's disk (the storage sync fail point)
//! and moves the organization between shards. Then it checks that the register history is
//! linearizable and that no acknowledged write was lost, and reports availability per minute.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use lumo_chaos::availability::{Ledger, Served};
use lumo_chaos::checker::check;
use lumo_chaos::history::{History, Kind, Op, Outcome};
use lumo_chaos::lumod::lumod_bin;
use lumo_chaos::procs::{ADMIN_KEY, ORG, ProcCluster};
use rand::Rng;
use serde_json::{Value, json};
use tokio::sync::Mutex;

#[derive(Parser)]
#[command(about = "Kill, partition, slow down and move a Lumo cluster under load, then check")]
struct Args {
    /// Length of the load and faults: seconds, or with a unit (`90s`, `10m`, `1h`).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    duration: Duration,
    /// Concurrent register clients (the linearizability workload).
    #[arg(long, default_value_t = 6)]
    clients: usize,
    /// Concurrent clients asking for tokens and authorization checks.
    #[arg(long, default_value_t = 2)]
    mixed_clients: usize,
    /// Registers (users whose name the clients read and write).
    #[arg(long, default_value_t = 40)]
    keys: usize,
    /// Milliseconds each client waits between operations (keeps histories checkable).
    #[arg(long, default_value_t = 5)]
    think_ms: u64,
    /// Data nodes.
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Faults to inject, in turn: kill (kill -9 the org's shard leader, restart it), partition
    /// (cut a node off), slow-disk (the shard leader's WAL syncs wait --slow-disk-ms) and move
    /// (the org to the other shard).
    #[arg(long, default_value = "kill,partition,slow-disk,move")]
    nemesis: String,
    /// Seconds between the starts of two faults.
    #[arg(long, default_value_t = 6)]
    interval: u64,
    /// Milliseconds every WAL sync of a slowed disk waits.
    #[arg(long, default_value_t = 200)]
    slow_disk_ms: u64,
    /// Seconds per availability figure.
    #[arg(long, default_value_t = 60)]
    bucket_seconds: u64,
    /// The lumod binary (default: LUMOD_BIN, else next to this program).
    #[arg(long)]
    lumod: Option<PathBuf>,
    /// Write the history (JSON) here.
    #[arg(long)]
    history: Option<PathBuf>,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 120, 90s or 10m"))?;
    let seconds = match unit {
        "" | "s" => number,
        "m" => number * 60,
        "h" => number * 3600,
        other => return Err(format!("unknown unit `{other}` (s, m or h)")),
    };
    Ok(Duration::from_secs(seconds))
}

fn email(key: &str) -> String {
    format!("{key}@chaos.example")
}

fn served(status: Option<u16>) -> Served {
    match status {
        Some(200..=499) => Served::Yes,
        _ => Served::No,
    }
}

/// One register operation through `base`, classified for the checker.
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
                (Kind::Read, 200) => match response.json::<Value>().await {
                    Ok(body) => Outcome::Ok(body["data"]["name"].as_str().map(str::to_string)),
                    Err(_) => Outcome::Unknown,
                },
                (Kind::Write(_), 200) => Outcome::Ok(None),
                (_, 400..=499) => Outcome::Failed,
                (Kind::Write(_), 503) => match response.json::<Value>().await {
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

/// What the clients share.
struct Run {
    start: Instant,
    deadline: Instant,
    client: reqwest::Client,
    urls: Vec<String>,
    keys: Vec<String>,
    history: Mutex<Vec<Op>>,
    /// Acknowledged creates, and how many were refused or unknown.
    creates: Mutex<(Vec<String>, usize)>,
    ledger: Ledger,
    /// The OAuth client (id, secret) of the token load.
    oauth_client: (String, String),
    /// A user the authorization checks ask about.
    subject: String,
}

impl Run {
    fn elapsed_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    fn admin_post(&self, node: usize, path: &str, body: Value) -> reqwest::RequestBuilder {
        self.client
            .post(format!("{}/orgs/{ORG}/api/v1{path}", self.urls[node]))
            .header("X-API-Key", ADMIN_KEY)
            .json(&body)
    }

    /// A register client: reads, writes and (one time in five) creates a user.
    async fn register_client(&self, c: usize, think: Duration) {
        let mut seq = 0u64;
        while Instant::now() < self.deadline {
            tokio::time::sleep(think).await;
            seq += 1;
            let (key, node, coin, create) = {
                let mut rng = rand::thread_rng();
                (
                    self.keys[rng.gen_range(0..self.keys.len())].clone(),
                    rng.gen_range(0..self.urls.len()),
                    rng.gen_bool(0.5),
                    rng.gen_range(0..5) == 0,
                )
            };
            let at = self.start.elapsed();
            if create {
                let address = format!("new-{c}-{seq}@chaos.example");
                let reply = self
                    .admin_post(node, "/admin/users", json!({"email": address}))
                    .send()
                    .await;
                let status = reply.as_ref().ok().map(|r| r.status().as_u16());
                self.ledger.record(at, "create", served(status));
                let mut creates = self.creates.lock().await;
                match status {
                    Some(201) => creates.0.push(address),
                    _ => creates.1 += 1,
                }
                continue;
            }
            let kind = if coin {
                Kind::Write(format!("c{c}-{seq}"))
            } else {
                Kind::Read
            };
            let invoke = self.elapsed_ns();
            let outcome = run_op(&self.client, &self.urls[node], &key, &kind).await;
            let ret = self.elapsed_ns();
            let label = if coin { "write" } else { "read" };
            let ok = matches!(outcome, Outcome::Ok(_));
            self.ledger
                .record(at, label, if ok { Served::Yes } else { Served::No });
            self.history.lock().await.push(Op {
                client: c,
                key,
                kind,
                invoke,
                ret,
                outcome,
            });
        }
    }

    /// A mixed client: `client_credentials` tokens and RBAC checks through random nodes.
    async fn mixed_client(&self, think: Duration) {
        let mut turn = 0u64;
        while Instant::now() < self.deadline {
            tokio::time::sleep(think).await;
            turn += 1;
            let node = rand::thread_rng().gen_range(0..self.urls.len());
            let at = self.start.elapsed();
            if turn.is_multiple_of(2) {
                let reply = self
                    .client
                    .post(format!("{}/orgs/{ORG}/api/v1/oauth/token", self.urls[node]))
                    .basic_auth(&self.oauth_client.0, Some(&self.oauth_client.1))
                    .form(&[("grant_type", "client_credentials")])
                    .send()
                    .await;
                let status = reply.ok().map(|r| r.status().as_u16());
                self.ledger.record(at, "token", served(status));
            } else {
                let reply = self
                    .client
                    .post(format!("{}/api/v1/authz/check", self.urls[node]))
                    .header("X-API-Key", ADMIN_KEY)
                    .json(&json!({
                        "permission": "users:read",
                        "subject": {"type": "user", "id": self.subject},
                    }))
                    .send()
                    .await;
                let status = reply.ok().map(|r| r.status().as_u16());
                self.ledger.record(at, "check", served(status));
            }
        }
    }
}

/// Creates the registers, the OAuth client and answers them with the subject of the checks.
async fn set_up(
    client: &reqwest::Client,
    base: &str,
    keys: &[String],
) -> anyhow::Result<((String, String), String)> {
    let post = |path: &str, body: Value| {
        client
            .post(format!("{base}/orgs/{ORG}/api/v1{path}"))
            .header("X-API-Key", ADMIN_KEY)
            .json(&body)
    };
    let mut subject = String::new();
    for key in keys {
        let body = json!({"email": email(key), "name": "v0"});
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let reply = post("/admin/users", body.clone()).send().await;
            if let Ok(reply) = reply
                && reply.status().as_u16() == 201
            {
                if subject.is_empty() {
                    let created: Value = reply.json().await?;
                    subject = created["data"]["id"].as_str().unwrap_or_default().into();
                }
                break;
            }
            anyhow::ensure!(Instant::now() < deadline, "cannot create register {key}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let created: Value = post(
        "/admin/clients",
        json!({"name": "chaos", "grantTypes": ["client_credentials"], "redirectUris": []}),
    )
    .send()
    .await?
    .json()
    .await?;
    let field = |name: &str| {
        created["data"][name]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let oauth_client = (field("clientId"), field("clientSecret"));
    anyhow::ensure!(!oauth_client.0.is_empty(), "no OAuth client: {created}");
    Ok((oauth_client, subject))
}

/// The nemesis: one fault every `interval` seconds, each healed before the next.
async fn nemesis(
    args: &Args,
    run: &Run,
    cluster: &Mutex<ProcCluster>,
    shards: &[u64],
) -> anyhow::Result<Vec<Fault>> {
    let nemeses: Vec<String> = args
        .nemesis
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let mut faults: Vec<Fault> = Vec::new();
    let mut turn = 0usize;
    let log = |what: String| eprintln!("{:>7.1}s {what}", run.start.elapsed().as_secs_f64());
    while !nemeses.is_empty() && Instant::now() + Duration::from_secs(args.interval) < run.deadline
    {
        tokio::time::sleep(Duration::from_secs(args.interval / 2)).await;
        let nemesis = nemeses[turn % nemeses.len()].as_str();
        turn += 1;
        let started = Instant::now();
        let mut procs = cluster.lock().await;
        let at = run.elapsed_ns();
        match nemesis {
            "kill" => {
                if let Some(leader) = procs.shard_leader().await {
                    faults.push(Fault { kind: "kill", at });
                    log(format!("kill -9 node {leader} (shard leader)"));
                    procs.kill(leader)?;
                    drop(procs);
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    cluster.lock().await.launch(leader)?;
                    log(format!("restarted node {leader}"));
                }
            }
            "partition" => {
                let victim = rand::thread_rng().gen_range(0..procs.procs.len());
                faults.push(Fault {
                    kind: "partition",
                    at,
                });
                log(format!("partition node {victim} away"));
                procs.partition(Some(victim)).await?;
                drop(procs);
                tokio::time::sleep(Duration::from_secs(3)).await;
                cluster.lock().await.partition(None).await?;
                log("healed".into());
            }
            "slow-disk" => {
                if let Some(leader) = procs.shard_leader().await {
                    faults.push(Fault {
                        kind: "slow-disk",
                        at,
                    });
                    log(format!(
                        "slow disk on node {leader} (shard leader): {} ms a sync",
                        args.slow_disk_ms
                    ));
                    procs.slow_disk(leader, args.slow_disk_ms).await?;
                    drop(procs);
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    cluster.lock().await.slow_disk(leader, 0).await?;
                    log("disk healed".into());
                }
            }
            "move" => {
                let from = procs.org_shard().await.unwrap_or(shards[0]);
                let to = shards.iter().copied().find(|s| *s != from).unwrap_or(from);
                let through = rand::thread_rng().gen_range(0..procs.procs.len());
                if to != from && procs.alive(through) {
                    faults.push(Fault { kind: "move", at });
                    log(format!("move {ORG} from shard {from} to {to}"));
                    match procs.move_org(through, to).await {
                        Ok(()) => log(format!("moved to shard {to}")),
                        // A refused move (say, a leader change mid-move) leaves the org where it
                        // was; the verdict below still covers every write.
                        Err(e) => log(format!("move refused: {e}")),
                    }
                }
            }
            other => anyhow::bail!("unknown nemesis {other}"),
        }
        let spent = started.elapsed().as_secs();
        tokio::time::sleep(Duration::from_secs(
            args.interval.saturating_sub(args.interval / 2 + spent),
        ))
        .await;
    }
    Ok(faults)
}

fn print_availability(ledger: &Ledger, width: Duration) {
    println!("availability per {}s:", width.as_secs());
    for bucket in ledger.buckets(width) {
        let kinds: Vec<String> = bucket
            .kinds
            .iter()
            .map(|(kind, ops, served)| format!("{kind} {served}/{ops}"))
            .collect();
        println!(
            "  {:>5}s  {:>6.2}%  ({} of {} served; {})",
            bucket.start.as_secs(),
            bucket.availability(),
            bucket.served,
            bucket.ops,
            kinds.join(", ")
        );
    }
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
    let mut shards = vec![cluster.org_shard().await.unwrap_or(1)];
    if args.nemesis.contains("move") {
        shards.push(cluster.add_shard(args.nodes.min(3)).await?);
    }
    let urls: Vec<String> = (0..args.nodes).map(|i| cluster.http(i)).collect();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()?;
    let keys: Vec<String> = (0..args.keys).map(|k| format!("key-{k}")).collect();
    let (oauth_client, subject) = set_up(&client, &urls[0], &keys).await?;
    let start = Instant::now();
    let run = Arc::new(Run {
        start,
        deadline: start + args.duration,
        client: client.clone(),
        urls: urls.clone(),
        keys: keys.clone(),
        history: Mutex::new(Vec::new()),
        creates: Mutex::new((Vec::new(), 0)),
        ledger: Ledger::default(),
        oauth_client,
        subject,
    });
    let cluster = Arc::new(Mutex::new(cluster));
    let think = Duration::from_millis(args.think_ms);
    let mut tasks = Vec::new();
    for c in 0..args.clients {
        let run = run.clone();
        tasks.push(tokio::spawn(
            async move { run.register_client(c, think).await },
        ));
    }
    for _ in 0..args.mixed_clients {
        let run = run.clone();
        tasks.push(tokio::spawn(async move { run.mixed_client(think).await }));
    }
    let faults = nemesis(&args, &run, &cluster, &shards).await?;
    for task in tasks {
        task.await?;
    }

    // Heal, bring every node back, and read every register through every node.
    {
        let mut procs = cluster.lock().await;
        procs.partition(None).await?;
        for i in 0..procs.procs.len() {
            if !procs.alive(i) {
                procs.launch(i)?;
            }
            procs.slow_disk(i, 0).await?;
        }
        procs
            .wait_replicated(args.nodes.min(3), Duration::from_secs(90))
            .await?;
    }
    for (node, base) in urls.iter().enumerate() {
        for key in &keys {
            let invoke = run.elapsed_ns();
            let outcome = run_op(&client, base, key, &Kind::Read).await;
            let ret = run.elapsed_ns();
            run.history.lock().await.push(Op {
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
        ops: run.history.lock().await.clone(),
    };
    if let Some(path) = &args.history {
        std::fs::write(path, serde_json::to_vec_pretty(&history)?)?;
    }

    // Every acknowledged create must exist.
    let (acked, refused) = run.creates.lock().await.clone();
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
        "register operations: {} (ok {}, failed {}, unknown {})",
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
    print_availability(&run.ledger, Duration::from_secs(args.bucket_seconds.max(1)));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_seconds_minutes_and_hours() {
        assert_eq!(parse_duration("120"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("10 minutes").is_err());
        assert!(parse_duration("m").is_err());
    }
}
