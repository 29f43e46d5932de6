//! `lumo-snapshot-bench`: ships a large shard to a new replica and reports the snapshot's
//! build and catch-up times and the peak resident memory of both processes (issue 15's
//! "bounded memory on both sides").
//!
//! A one-node cluster takes enough user writes that a snapshot compacts its log; it is stopped,
//! its shard is padded with `--shard-mib` of incompressible pairs written straight into the
//! shard's key range (under an org id no org has), and it is started again. Then a snapshot is
//! built, a second node joins, and the placement driver adds it to the shard: it can only be
//! caught up by streaming the snapshot. Both replicas are then compared by applied index.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use lumo_chaos::procs::{ADMIN_KEY, ORG, ProcCluster};
use reqwest::Method;
use serde_json::json;

#[derive(Parser)]
#[command(about = "Stream a large shard's snapshot to a new replica; report time and peak RSS")]
struct Args {
    /// MiB of padding written into the shard before the snapshot.
    #[arg(long, default_value_t = 2048)]
    shard_mib: u64,
    /// The lumod binary (default: LUMOD_BIN, else next to this program).
    #[arg(long)]
    lumod: Option<PathBuf>,
    /// Give up waiting for the new replica after this long.
    #[arg(long, default_value_t = 1800)]
    timeout_secs: u64,
}

/// Bytes of one padding value.
const VALUE_BYTES: usize = 4096;

fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("?".into(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
}

async fn metric(admin: u16, name: &str, labels: &[&str]) -> Option<f64> {
    let text = reqwest::get(format!("http://127.0.0.1:{admin}/metrics"))
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .filter(|l| l.starts_with(name) && labels.iter().all(|label| l.contains(label)))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

/// Writes `mib` MiB of incompressible pairs into group 1's range of the stopped node's store.
fn pad(data_dir: &std::path::Path, mib: u64) -> anyhow::Result<u64> {
    let db = lumo_storage::Db::open(&data_dir.join("db"))?;
    let store = lumo_storage::SmStore::new(db, 1);
    let pairs = mib * (1 << 20) / VALUE_BYTES as u64;
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut batch = store.batch();
    for i in 0..pairs {
        let mut key = vec![0xff; 16];
        key.extend_from_slice(b"bench-padding/");
        key.extend_from_slice(&i.to_be_bytes());
        let mut value = Vec::with_capacity(VALUE_BYTES);
        while value.len() < VALUE_BYTES {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            value.extend_from_slice(&state.to_le_bytes());
        }
        batch.put(&key, value);
        if (i + 1) % 1024 == 0 {
            store.write(std::mem::replace(&mut batch, store.batch()))?;
        }
    }
    store.write(batch)?;
    Ok(pairs)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bin = lumo_chaos::lumod::lumod_bin(args.lumod.clone());
    let mut cluster = ProcCluster::start(&bin, 1).await?;
    let api = reqwest::Client::new();
    for i in 0..1_100 {
        let reply = api
            .post(format!("{}/orgs/{ORG}/api/v1/admin/users", cluster.http(0)))
            .header("X-API-Key", ADMIN_KEY)
            .json(&json!({"email": format!("bench-{i}@example.com")}))
            .send()
            .await?;
        anyhow::ensure!(reply.status() == 201, "user {i}: {}", reply.status());
    }
    cluster.kill(0)?;
    let started = Instant::now();
    let pairs = pad(&cluster.procs[0].data_dir, args.shard_mib)?;
    println!(
        "padding: {pairs} pairs, {} MiB, written in {:.1} s",
        args.shard_mib,
        started.elapsed().as_secs_f64()
    );
    cluster.launch(0)?;
    cluster.wait_replicated(1, Duration::from_secs(120)).await?;

    let started = Instant::now();
    let built = cluster
        .admin(0, Method::POST, "/cluster/v1/groups/1/snapshot", None)
        .await?;
    let build_secs = started.elapsed().as_secs_f64();
    let snapshot_bytes = metric(
        cluster.procs[0].admin,
        "lumo_raft_snapshot_bytes",
        &["group=\"1\""],
    )
    .await
    .unwrap_or(0.0);
    println!(
        "snapshot built at index {} in {build_secs:.1} s: {:.0} MiB",
        built["data"]["snapshotLastIndex"],
        snapshot_bytes / (1 << 20) as f64
    );

    let started = Instant::now();
    let added = cluster.add_node()?;
    let deadline = started + Duration::from_secs(args.timeout_secs);
    let (leader_admin, replica_admin) = (cluster.procs[0].admin, cluster.procs[added].admin);
    let applied = ["group=\"1\"", "kind=\"shard\""];
    loop {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the new replica did not catch up"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        let installs = metric(
            replica_admin,
            "lumo_raft_snapshot_duration_seconds_count",
            &["op=\"install\"", "kind=\"shard\""],
        )
        .await;
        let leader = metric(leader_admin, "lumo_raft_applied_index", &applied).await;
        let replica = metric(replica_admin, "lumo_raft_applied_index", &applied).await;
        if installs.unwrap_or(0.0) >= 1.0 && leader.is_some() && leader == replica {
            break;
        }
    }
    let catch_up = started.elapsed().as_secs_f64();
    let pid = |i: usize| cluster.procs[i].child.as_ref().map(|c| c.id());
    let (leader_pid, replica_pid) = (pid(0), pid(added));
    println!("new replica caught up (snapshot streamed and installed) in {catch_up:.1} s");
    for (name, pid) in [("leader", leader_pid), ("new replica", replica_pid)] {
        if let Some(pid) = pid {
            println!(
                "{name}: peak RSS (VmHWM) {}, RSS now {}",
                mib(status_kib(pid, "VmHWM:")),
                mib(status_kib(pid, "VmRSS:"))
            );
        }
    }
    cluster.stop_all();
    Ok(())
}
