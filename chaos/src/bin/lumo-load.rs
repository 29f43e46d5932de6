//! `lumo-load`: measures a Lumo node under load and, in the same run, an axum "hello" route as
//! the HTTP ceiling of this machine. By default it starts both servers in this process (a real
//! node: Raft + RocksDB in a temp dir); `--target` measures a running node instead.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use lumo_chaos::aauth_bench;
use lumo_chaos::authz_bench::{self, Dataset, Sizes};
use lumo_chaos::email_bench;
use lumo_chaos::load::run;
use lumo_chaos::oauth_bench::{self, BenchClient, Bounds, Issuer, OauthScenarios};
use lumo_chaos::procs::{ADMIN_KEY, ORG, ProcCluster};
use lumo_chaos::saml_bench;
use lumo_chaos::scim_bench;
use lumo_chaos::scim_push_bench;
use lumo_chaos::stats::{ScenarioStats, markdown};
use lumo_chaos::webhook_bench;
use serde_json::json;

#[derive(Parser)]
#[command(about = "Benchmark a Lumo node against the HTTP ceiling of this machine")]
struct Args {
    /// Seconds per scenario.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent client connections.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Upper bound on operations per scenario.
    #[arg(long, default_value_t = 2_000_000)]
    max_ops: u64,
    /// Comma-separated scenarios: hello, argon2 (the hashing limit: argon2id hashes/s with one
    /// hash per core), get-user, list-users, create-user, create-user-password; OAuth:
    /// cc-rs256, cc-es256, cc-eddsa (client_credentials tokens signed with that algorithm),
    /// introspect, login (password sign-ins), refresh (rotations), cc-baseline (client
    /// credentials at --baseline-token-url); authorization: authz-check (RBAC checks of users
    /// whose roles come through a group, half allowed), zanzibar-check (relation checks over
    /// nested teams and folder chains, see --zanzibar-scale); agents: cc-agent (an agent's
    /// client_credentials tokens, budget counted), agent-ask (Ask API decisions, each audited);
    /// AAuth: aauth-verify (signed-request verifications in this process, no HTTP, one worker
    /// per core), aauth-signed (a resource's signed token verifications over HTTP: signature
    /// checked and nonce spent through Raft on the node); webhooks: webhook-events (user
    /// creations with a webhook subscribed, and their events' delivery to a receiver in this
    /// process, end to end; a --target node must allow private webhook targets); SAML:
    /// saml-sso (SP-initiated sign-ons of a signed-in browser, each answered with a response
    /// and assertion signed with RSA-SHA256); SCIM: scim-create (users through POST ~/scim/v2/Users), scim-bulk (users through Bulk requests
    /// of 1000 operations, counted per user), scim-push (user creations with outbound SCIM
    /// on, and their arrival at a SCIM service in this process, end to end); email:
    /// email-outbox (a user create and its verification email request, reported as
    /// email-request, and each email's arrival at an SMTP sink in this process, reported as
    /// emails), invite (invitations to one B2B organization, each emailed).
    #[arg(
        long,
        default_value = "hello,argon2,get-user,list-users,create-user,create-user-password,authz-check,zanzibar-check"
    )]
    scenarios: String,
    /// Base URL of a running node (default: start one in-process).
    #[arg(long)]
    target: Option<String>,
    /// Start a cluster of this many `lumod` processes (from --lumod) and load node 0 of it,
    /// instead of one node in this process.
    #[arg(long)]
    processes: Option<usize>,
    /// The lumod binary for --processes (default: next to this binary).
    #[arg(long)]
    lumod: Option<std::path::PathBuf>,
    /// Org slug on the target.
    #[arg(long, default_value = "bench")]
    org: String,
    /// Admin API key on the target.
    #[arg(long, default_value = "lmk_benchmark_admin_key_0123456789")]
    key: String,
    /// Per-request HTTP metrics on the in-process node (`false` measures their cost).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    http_metrics: bool,
    /// Users created before the read scenarios.
    #[arg(long, default_value_t = 1000)]
    seed_users: usize,
    /// Users (all members of one group holding two roles) asked about in `authz-check`.
    #[arg(long, default_value_t = 100)]
    authz_users: usize,
    /// Size of the `zanzibar-check` data set: 1.0 is about a million tuples (see
    /// `lumo-authz-bench`); the default 0.01 writes about 10 000.
    #[arg(long, default_value_t = 0.01)]
    zanzibar_scale: f64,
    /// Token endpoint of a baseline OAuth server for the `cc-baseline` scenario.
    #[arg(long)]
    baseline_token_url: Option<String>,
    /// Client id at the baseline server.
    #[arg(long, default_value = "bench-client")]
    baseline_client_id: String,
    /// Client secret at the baseline server.
    #[arg(long, default_value = "bench-secret-0123456789")]
    baseline_client_secret: String,
    /// Scope asked of the baseline server.
    #[arg(long)]
    baseline_scope: Option<String>,
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

struct Target {
    base: String,
    org: String,
    key: String,
    client: reqwest::Client,
}

impl Target {
    fn url(&self, path: &str) -> String {
        format!("{}/orgs/{}/api/v1{path}", self.base, self.org)
    }

    async fn create_user(&self, email: String, password: bool) -> Option<String> {
        let mut body = json!({"email": email, "name": "Bench User"});
        if password {
            body["password"] = json!("bench-password-123");
        }
        let response = self
            .client
            .post(self.url("/admin/users"))
            .header("X-API-Key", &self.key)
            .json(&body)
            .send()
            .await
            .ok()?;
        if response.status().as_u16() != 201 {
            return None;
        }
        let json: serde_json::Value = response.json().await.ok()?;
        json["data"]["id"].as_str().map(str::to_string)
    }

    async fn get_ok(&self, url: &str) -> bool {
        match self
            .client
            .get(url)
            .header("X-API-Key", &self.key)
            .send()
            .await
        {
            Ok(response) => response.status().is_success() && response.bytes().await.is_ok(),
            Err(_) => false,
        }
    }
}

/// The authorization benchmarks' view of the target.
fn authz_server(target: &Target) -> authz_bench::Server {
    authz_bench::Server {
        base: target.base.clone(),
        org: target.org.clone(),
        key: target.key.clone(),
        http: target.client.clone(),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let duration = Duration::from_secs(args.seconds);
    let _dir;
    let mut node = None;
    let mut procs = None;
    let mut args = args;
    let base = match (&args.target, args.processes) {
        (Some(url), _) => url.trim_end_matches('/').to_string(),
        (None, Some(n)) => {
            let bin = args.lumod.clone().unwrap_or_else(|| {
                std::env::current_exe()
                    .ok()
                    .and_then(|exe| exe.parent().map(|dir| dir.join("lumod")))
                    .unwrap_or_default()
            });
            let cluster = ProcCluster::start(&bin, n).await?;
            let base = cluster.http(0);
            args.org = ORG.to_string();
            args.key = ADMIN_KEY.to_string();
            procs = Some(cluster);
            base
        }
        (None, None) => {
            let dir = tempfile::tempdir()?;
            let mut config = lumo_node::Config::for_tests(dir.path());
            config.bootstrap_org = Some(args.org.clone());
            config.bootstrap_api_key = Some(args.key.clone());
            config.http_metrics = args.http_metrics;
            let running = lumo_node::start(config).await?;
            let base = format!("http://{}", running.http_addr);
            node = Some(running);
            _dir = dir;
            base
        }
    };
    let hello = hello_server().await?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency * 2)
        .build()?;
    let target = Arc::new(Target {
        base,
        org: args.org.clone(),
        key: args.key.clone(),
        client,
    });
    let mut oauth = OauthScenarios::new(Issuer {
        issuer: target.url(""),
        admin_key: args.key.clone(),
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(args.concurrency * 2)
            .redirect(reqwest::redirect::Policy::none())
            .build()?,
    });
    let bounds = Bounds {
        concurrency: args.concurrency,
        duration,
        max_ops: args.max_ops,
    };
    let run_id = std::process::id();
    let mut seeded: Vec<String> = Vec::new();
    let mut results: Vec<ScenarioStats> = Vec::new();
    let scenarios: Vec<&'static str> = args
        .scenarios
        .split(',')
        .map(|s| -> &'static str { Box::leak(s.trim().to_string().into_boxed_str()) })
        .collect();
    // Cores other processes used during each scenario (this machine may be shared; with
    // --target, the target node is one of them).
    let mut others: Vec<(String, f64)> = Vec::new();
    for scenario in scenarios {
        let t = target.clone();
        let busy_before = authz_bench::cpu::machine_busy().unwrap_or(0);
        let own_before = authz_bench::cpu::process(std::process::id()).unwrap_or(0);
        let started = std::time::Instant::now();
        let stats = match scenario {
            "hello" => {
                let url = format!("http://{hello}/hello");
                run(
                    scenario,
                    args.concurrency,
                    duration,
                    args.max_ops,
                    move |_, _| {
                        let (t, url) = (t.clone(), url.clone());
                        async move { t.get_ok(&url).await }
                    },
                )
                .await
            }
            "argon2" => {
                let cores = std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(1);
                run(scenario, cores, duration, args.max_ops, |_, _| async {
                    lumo_api::password::hash("bench-password-123".into())
                        .await
                        .is_ok()
                })
                .await
            }
            "create-user" | "create-user-password" => {
                let password = scenario == "create-user-password";
                run(
                    scenario,
                    args.concurrency,
                    duration,
                    args.max_ops,
                    move |_, seq| {
                        let t = t.clone();
                        async move {
                            t.create_user(
                                format!("{scenario}-{run_id}-{seq}@bench.example"),
                                password,
                            )
                            .await
                            .is_some()
                        }
                    },
                )
                .await
            }
            "get-user" | "list-users" => {
                if seeded.is_empty() {
                    for i in 0..args.seed_users {
                        if let Some(id) = target
                            .create_user(format!("seed-{run_id}-{i}@bench.example"), false)
                            .await
                        {
                            seeded.push(id);
                        }
                    }
                    anyhow::ensure!(
                        !seeded.is_empty(),
                        "could not create any user on the target"
                    );
                }
                let urls: Arc<Vec<String>> = Arc::new(if scenario == "get-user" {
                    seeded
                        .iter()
                        .map(|id| target.url(&format!("/admin/users/{id}")))
                        .collect()
                } else {
                    vec![target.url("/admin/users?limit=25")]
                });
                run(
                    scenario,
                    args.concurrency,
                    duration,
                    args.max_ops,
                    move |_, seq| {
                        let (t, urls) = (t.clone(), urls.clone());
                        async move { t.get_ok(&urls[(seq as usize) % urls.len()]).await }
                    },
                )
                .await
            }
            "authz-check" => {
                let server = authz_server(&target);
                let checks =
                    Arc::new(authz_bench::setup_rbac(&server, args.authz_users, run_id).await?);
                anyhow::ensure!(!checks.checks.is_empty(), "authz-check needs --authz-users");
                let server = Arc::new(server);
                run(
                    scenario,
                    args.concurrency,
                    duration,
                    args.max_ops,
                    move |_, seq| {
                        let (server, checks) = (server.clone(), checks.clone());
                        async move {
                            let (body, expected) =
                                &checks.checks[(seq as usize) % checks.checks.len()];
                            server.rbac_check(body.clone()).await == Some(*expected)
                        }
                    },
                )
                .await
            }
            "zanzibar-check" => {
                let server = authz_server(&target);
                let data = Dataset::generate(Sizes::scaled(args.zanzibar_scale), 42);
                authz_bench::setup_zanzibar(&server, &data).await?;
                let checks = Arc::new(data.checks(10_000, 7));
                let server = Arc::new(server);
                run(
                    scenario,
                    args.concurrency,
                    duration,
                    args.max_ops,
                    move |_, seq| {
                        let (server, checks) = (server.clone(), checks.clone());
                        async move {
                            let check = &checks[(seq as usize) % checks.len()];
                            server.zanzibar_check(check.body.clone()).await == Some(check.expected)
                        }
                    },
                )
                .await
            }
            name if oauth_bench::SCENARIOS.contains(&name) => oauth.run(name, bounds).await?,
            webhook_bench::SCENARIO => {
                let (creates, events) =
                    webhook_bench::run(oauth.issuer.clone(), bounds, run_id).await?;
                results.push(creates);
                events
            }
            saml_bench::SCENARIO => saml_bench::run(oauth.issuer.clone(), bounds, run_id).await?,
            scim_push_bench::SCENARIO => {
                let (creates, pushes) =
                    scim_push_bench::run(oauth.issuer.clone(), bounds, run_id).await?;
                results.push(creates);
                pushes
            }
            name if email_bench::SCENARIOS.contains(&name) => {
                let mut stats =
                    email_bench::run(name, oauth.issuer.clone(), bounds, run_id).await?;
                let last = stats.pop().ok_or_else(|| anyhow::anyhow!("no stats"))?;
                results.extend(stats);
                last
            }
            name if scim_bench::SCENARIOS.contains(&name) => {
                scim_bench::run(name, oauth.issuer.clone(), bounds, run_id).await?
            }
            name if aauth_bench::SCENARIOS.contains(&name) => {
                aauth_bench::run(name, oauth.issuer.clone(), bounds).await?
            }
            "cc-baseline" => {
                let url = args
                    .baseline_token_url
                    .clone()
                    .ok_or_else(|| anyhow::anyhow!("cc-baseline needs --baseline-token-url"))?;
                let client = BenchClient {
                    id: args.baseline_client_id.clone(),
                    secret: args.baseline_client_secret.clone(),
                };
                oauth_bench::external_client_credentials(
                    target.client.clone(),
                    url,
                    client,
                    args.baseline_scope.clone(),
                    bounds,
                )
                .await
            }
            other => anyhow::bail!("unknown scenario {other}"),
        };
        let busy = authz_bench::cpu::machine_busy()
            .unwrap_or(0)
            .saturating_sub(busy_before);
        let own = authz_bench::cpu::process(std::process::id())
            .unwrap_or(0)
            .saturating_sub(own_before);
        let other = busy.saturating_sub(own) as f64
            / authz_bench::cpu::HZ
            / started.elapsed().as_secs_f64().max(1e-9);
        eprintln!(
            "{}: {:.0} ops/s, p50 {:.2} ms, p99 {:.2} ms ({} ok, {} errors; other processes used {:.2} cores)",
            stats.name,
            stats.throughput(),
            stats.percentile_ms(50.0),
            stats.percentile_ms(99.0),
            stats.ok,
            stats.errors,
            other
        );
        others.push((stats.name.clone(), other));
        results.push(stats);
    }
    println!("{}", markdown(&results));
    let shown: Vec<String> = others
        .iter()
        .map(|(name, cores)| format!("{name} {cores:.2}"))
        .collect();
    println!(
        "cores used by other processes (of {}): {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        shown.join(", ")
    );
    let find = |name: &str| {
        results
            .iter()
            .find(|r| r.name == name)
            .map(ScenarioStats::throughput)
    };
    if let (Some(get), Some(hello)) = (find("get-user"), find("hello"))
        && hello > 0.0
    {
        println!("get-user / hello ceiling = {:.2}", get / hello);
    }
    for (what, over) in [
        ("authz-check", "hello"),
        ("zanzibar-check", "hello"),
        ("authz-check", "get-user"),
        ("login", "argon2"),
        ("create-user-password", "argon2"),
        ("agent-ask", "authz-check"),
        ("cc-agent", "cc-rs256"),
        ("cc-es256", "cc-rs256"),
        ("cc-eddsa", "cc-rs256"),
        ("cc-rs256", "cc-baseline"),
        ("cc-es256", "cc-baseline"),
        ("create-user-webhook", "create-user"),
        ("scim-create", "create-user"),
        ("scim-bulk", "create-user"),
        ("saml-sso", "hello"),
        ("saml-sso", "create-user"),
        ("webhook-events", "create-user-webhook"),
        ("create-user-scim", "create-user"),
        ("scim-push", "create-user-scim"),
        ("scim-push", "webhook-events"),
        ("emails", "create-user"),
        ("email-request", "create-user"),
        ("invite", "create-user"),
        ("aauth-signed", "cc-rs256"),
        ("aauth-signed", "cc-eddsa"),
        ("aauth-signed", "create-user"),
        ("aauth-signed", "hello"),
    ] {
        if let (Some(a), Some(b)) = (find(what), find(over))
            && b > 0.0
        {
            println!("{what} / {over} = {:.2}", a / b);
        }
    }
    if let Some(mut cluster) = procs {
        cluster.stop_all();
    }
    if let Some(node) = node {
        let stats = node
            .service
            .db()
            .map(|db| db.wal_sync_stats())
            .unwrap_or_default();
        println!(
            "group commit: {} WAL fsyncs covered {} log appends ({:.1} appends per fsync)",
            stats.syncs,
            stats.appends,
            stats.appends as f64 / stats.syncs.max(1) as f64
        );
        node.shutdown().await?;
    }
    Ok(())
}
