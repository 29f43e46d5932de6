//! The authorization side of the benchmarks: RBAC checks (`authz-check` in `lumo-load`), and a
//! generated Zanzibar data set (users in teams nested in chains, folders in parent chains,
//! documents in folders) with a list of checks whose answers are known, used by
//! `zanzibar-check` in `lumo-load` and by `lumo-authz-bench` (and its SpiceDB driver,
//! `scripts/authz-driver.py`, through the files [`Dataset::write_files`] writes).
//!
//! Every check op compares the server's answer with the expected one: a wrong answer counts as
//! an error, so a benchmark run is also a correctness run.

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};

/// The schema of the data set: the example of the design notes, in SpiceDB's language (the
/// same text is written to SpiceDB).
pub const SCHEMA: &str = r#"definition user {}

definition team {
  relation member: user | team#member
}

definition folder {
  relation parent: folder
  relation viewer: user | user:* | team#member
  permission view = viewer + parent->view
}

definition document {
  relation parent: folder
  relation owner: user
  relation editor: user | team#member
  relation viewer: user | team#member
  relation banned: user
  permission edit = editor + owner
  permission view = (viewer + edit + parent->view) - banned
  permission audit = viewer & editor
}
"#;

/// Length of the team chains (`team:tN#member@team:tN+1#member`) and of the folder parent
/// chains: a check that walks a whole folder chain and then a whole team chain is nested
/// `CHAIN` deep twice.
pub const CHAIN: u32 = 5;
/// User members of every team.
const TEAM_USERS: usize = 10;
/// Most tuple changes one write request may carry (the server's limit).
pub const MAX_BATCH: usize = 1000;

/// A 64-bit LCG (deterministic data sets without a seeded RNG dependency).
#[derive(Clone)]
pub struct Lcg(pub u64);

impl Lcg {
    /// A number in `0..n`.
    pub fn below(&mut self, n: u32) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % u64::from(n.max(1))) as u32
    }
}

/// How many of each object the data set has.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub users: u32,
    pub teams: u32,
    pub folders: u32,
    pub docs: u32,
}

impl Sizes {
    /// `scale` 1.0 is 100 000 users, 10 000 teams, 50 000 folders and 140 000 documents:
    /// about 1.01 million tuples (the evaluator's own `bench_1m` shape).
    pub fn scaled(scale: f64) -> Sizes {
        let n = |base: f64, multiple: u32| {
            let v = ((base * scale) as u32).max(multiple);
            v - v % multiple
        };
        Sizes {
            users: n(100_000.0, 1).max(TEAM_USERS as u32 * 2),
            teams: n(10_000.0, CHAIN),
            folders: n(50_000.0, CHAIN),
            docs: n(140_000.0, 1),
        }
    }
}

/// One document's tuples.
#[derive(Debug, Clone, Copy)]
struct Doc {
    folder: u32,
    owner: u32,
    editor: u32,
    viewer_team: u32,
    viewer: u32,
    banned: Option<u32>,
}

/// The generated relations, kept structured so the expected answer of any check is known.
pub struct Dataset {
    pub sizes: Sizes,
    team_users: Vec<[u32; TEAM_USERS]>,
    folder_team: Vec<u32>,
    folder_users: Vec<[u32; 2]>,
    docs: Vec<Doc>,
}

/// One check with its expected answer.
#[derive(Debug, Clone)]
pub struct Check {
    pub object: String,
    pub relation: &'static str,
    pub subject: String,
    pub expected: bool,
    /// The JSON body of `POST /api/v1/authz/zanzibar/check`.
    pub body: String,
}

impl Check {
    fn new(object: String, relation: &'static str, subject: String, expected: bool) -> Check {
        let body = json!({"object": object, "relation": relation, "subject": subject}).to_string();
        Check {
            object,
            relation,
            subject,
            expected,
            body,
        }
    }
}

/// `N` distinct numbers below `n` (`n` must exceed `N`).
fn distinct<const N: usize>(rng: &mut Lcg, n: u32) -> [u32; N] {
    let mut out = [0; N];
    let mut i = 0;
    while i < N {
        let v = rng.below(n);
        if !out[..i].contains(&v) || n as usize <= N {
            out[i] = v;
            i += 1;
        }
    }
    out
}

fn chained(t: u32) -> bool {
    t % CHAIN != CHAIN - 1
}

impl Dataset {
    /// The data set of `sizes` (the same for the same `seed`). No tuple appears twice
    /// (SpiceDB refuses a request that names one twice).
    pub fn generate(sizes: Sizes, seed: u64) -> Dataset {
        let mut rng = Lcg(seed);
        let team_users = (0..sizes.teams)
            .map(|_| distinct(&mut rng, sizes.users))
            .collect();
        let mut folder_team = Vec::with_capacity(sizes.folders as usize);
        let mut folder_users = Vec::with_capacity(sizes.folders as usize);
        for _ in 0..sizes.folders {
            folder_team.push(rng.below(sizes.teams));
            folder_users.push(distinct(&mut rng, sizes.users));
        }
        let docs = (0..sizes.docs)
            .map(|d| Doc {
                folder: rng.below(sizes.folders),
                owner: rng.below(sizes.users),
                editor: rng.below(sizes.users),
                viewer_team: rng.below(sizes.teams),
                viewer: rng.below(sizes.users),
                banned: (d % 10 == 0).then(|| rng.below(sizes.users)),
            })
            .collect();
        Dataset {
            sizes,
            team_users,
            folder_team,
            folder_users,
            docs,
        }
    }

    /// Calls `f` with every tuple, teams first, then folders, then documents.
    pub fn for_each_tuple(&self, mut f: impl FnMut(String)) {
        for (t, users) in self.team_users.iter().enumerate() {
            for u in users {
                f(format!("team:t{t}#member@user:u{u}"));
            }
            if chained(t as u32) {
                f(format!("team:t{t}#member@team:t{}#member", t + 1));
            }
        }
        for (f_id, (team, users)) in self.folder_team.iter().zip(&self.folder_users).enumerate() {
            if chained(f_id as u32) {
                f(format!("folder:f{f_id}#parent@folder:f{}", f_id + 1));
            }
            f(format!("folder:f{f_id}#viewer@team:t{team}#member"));
            for u in users {
                f(format!("folder:f{f_id}#viewer@user:u{u}"));
            }
        }
        for (d, doc) in self.docs.iter().enumerate() {
            f(format!("document:d{d}#parent@folder:f{}", doc.folder));
            f(format!("document:d{d}#owner@user:u{}", doc.owner));
            f(format!("document:d{d}#editor@user:u{}", doc.editor));
            f(format!(
                "document:d{d}#viewer@team:t{}#member",
                doc.viewer_team
            ));
            f(format!("document:d{d}#viewer@user:u{}", doc.viewer));
            if let Some(banned) = doc.banned {
                f(format!("document:d{d}#banned@user:u{banned}"));
            }
        }
    }

    /// Every tuple, in batches of at most `batch`.
    pub fn batches(&self, batch: usize) -> Vec<Vec<String>> {
        let mut out: Vec<Vec<String>> = Vec::new();
        let mut current = Vec::with_capacity(batch);
        self.for_each_tuple(|t| {
            current.push(t);
            if current.len() == batch {
                out.push(std::mem::replace(&mut current, Vec::with_capacity(batch)));
            }
        });
        if !current.is_empty() {
            out.push(current);
        }
        out
    }

    /// Whether `u` is a member of team `t` (directly or through the teams chained after it).
    fn in_team(&self, mut t: u32, u: u32) -> bool {
        loop {
            if self.team_users[t as usize].contains(&u) {
                return true;
            }
            if !chained(t) {
                return false;
            }
            t += 1;
        }
    }

    /// Whether `u` may view folder `f` (its viewers, or its parents' viewers).
    fn folder_view(&self, mut f: u32, u: u32) -> bool {
        loop {
            if self.folder_users[f as usize].contains(&u)
                || self.in_team(self.folder_team[f as usize], u)
            {
                return true;
            }
            if !chained(f) {
                return false;
            }
            f += 1;
        }
    }

    /// The answer of `document:d#relation@user:u` for `edit` and `view`.
    pub fn expected(&self, d: u32, relation: &str, u: u32) -> bool {
        let doc = &self.docs[d as usize];
        let edit = doc.editor == u || doc.owner == u;
        match relation {
            "edit" => edit,
            _ => {
                let reached = edit
                    || doc.viewer == u
                    || self.in_team(doc.viewer_team, u)
                    || self.folder_view(doc.folder, u);
                reached && doc.banned != Some(u)
            }
        }
    }

    /// The user at the end of the longest path to `d`: the first member of the last team in
    /// the chain of the viewer team of the last folder in the chain of `d`'s folder.
    fn deep_user(&self, d: u32) -> u32 {
        let folder = self.docs[d as usize].folder;
        let top = folder + (CHAIN - 1 - folder % CHAIN);
        let team = self.folder_team[top as usize];
        let last = team + (CHAIN - 1 - team % CHAIN);
        self.team_users[last as usize][0]
    }

    /// `n` checks in four kinds taken in turn: `view` by a random user (mostly denied, so the
    /// whole graph below the document is walked), `view` by the owner (allowed at once),
    /// `view` by the user at the end of the deepest path (folder chain then team chain), `edit`
    /// by a random user.
    pub fn checks(&self, n: usize, seed: u64) -> Vec<Check> {
        let mut rng = Lcg(seed);
        (0..n)
            .map(|i| {
                let d = rng.below(self.sizes.docs);
                let (relation, u) = match i % 4 {
                    0 => ("view", rng.below(self.sizes.users)),
                    1 => ("view", self.docs[d as usize].owner),
                    2 => ("view", self.deep_user(d)),
                    _ => ("edit", rng.below(self.sizes.users)),
                };
                Check::new(
                    format!("document:d{d}"),
                    relation,
                    format!("user:u{u}"),
                    self.expected(d, relation, u),
                )
            })
            .collect()
    }

    /// Writes `schema.zed`, `tuples.txt` (one tuple a line) and `checks.tsv` (object,
    /// relation, subject, expected 0/1) into `dir`, for a driver of another engine.
    pub fn write_files(&self, dir: &Path, checks: &[Check]) -> anyhow::Result<()> {
        std::fs::write(dir.join("schema.zed"), SCHEMA)?;
        let mut tuples = std::io::BufWriter::new(std::fs::File::create(dir.join("tuples.txt"))?);
        let mut failed = None;
        self.for_each_tuple(|t| {
            if failed.is_none()
                && let Err(e) = writeln!(tuples, "{t}")
            {
                failed = Some(e);
            }
        });
        if let Some(e) = failed {
            return Err(e.into());
        }
        tuples.flush()?;
        let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join("checks.tsv"))?);
        for c in checks {
            writeln!(
                out,
                "{}\t{}\t{}\t{}",
                c.object,
                c.relation,
                c.subject,
                u8::from(c.expected)
            )?;
        }
        out.flush()?;
        Ok(())
    }
}

/// Where to send requests: the node's base URL, the org and an admin key of it.
#[derive(Clone)]
pub struct Server {
    pub base: String,
    pub org: String,
    pub key: String,
    pub http: reqwest::Client,
}

impl Server {
    /// `{base}/orgs/{org}/api/v1{path}`.
    pub fn org_url(&self, path: &str) -> String {
        format!("{}/orgs/{}/api/v1{path}", self.base, self.org)
    }

    async fn send(
        &self,
        method: reqwest::Method,
        url: String,
        body: Value,
    ) -> anyhow::Result<Value> {
        let response = self
            .http
            .request(method, &url)
            .header("X-API-Key", &self.key)
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        anyhow::ensure!(status.is_success(), "{url}: {status} {text}");
        Ok(serde_json::from_str(&text)?)
    }

    /// A `POST` to the org's API; an error unless 2xx.
    pub async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.send(reqwest::Method::POST, self.org_url(path), body)
            .await
    }

    /// Writes [`SCHEMA`] as the org's relation schema.
    pub async fn put_schema(&self) -> anyhow::Result<()> {
        self.send(
            reqwest::Method::PUT,
            self.org_url("/zanzibar/schema"),
            json!({"schema": SCHEMA}),
        )
        .await
        .map(|_| ())
    }

    /// Writes `tuples` in one request; returns its consistency token.
    pub async fn write_tuples(&self, tuples: &[String]) -> anyhow::Result<String> {
        let reply = self
            .post("/zanzibar/tuples", json!({"writes": tuples}))
            .await?;
        Ok(reply["consistency_token"]
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    /// Writes every tuple of `batches`, `parallel` requests at a time.
    pub async fn load(&self, batches: Vec<Vec<String>>, parallel: usize) -> anyhow::Result<()> {
        use futures::StreamExt;
        let mut results = futures::stream::iter(batches)
            .map(|batch| async move { self.write_tuples(&batch).await })
            .buffer_unordered(parallel.max(1));
        while let Some(result) = results.next().await {
            result?;
        }
        Ok(())
    }

    /// `POST /api/v1/authz/zanzibar/check` with `body`; the answer's `allowed`, `None` on
    /// any failure.
    pub async fn zanzibar_check(&self, body: String) -> Option<bool> {
        self.allowed(format!("{}/api/v1/authz/zanzibar/check", self.base), body)
            .await
    }

    /// `POST /api/v1/authz/check` with `body`; the answer's `allowed`.
    pub async fn rbac_check(&self, body: String) -> Option<bool> {
        self.allowed(format!("{}/api/v1/authz/check", self.base), body)
            .await
    }

    async fn allowed(&self, url: String, body: String) -> Option<bool> {
        let response = self
            .http
            .post(url)
            .header("X-API-Key", &self.key)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        let bytes = response.bytes().await.ok()?;
        let text = std::str::from_utf8(&bytes).ok()?;
        if text.contains("\"allowed\":true") {
            Some(true)
        } else if text.contains("\"allowed\":false") {
            Some(false)
        } else {
            None
        }
    }
}

/// The `zanzibar-check` set-up: the schema and every tuple of `dataset` written.
pub async fn setup_zanzibar(server: &Server, dataset: &Dataset) -> anyhow::Result<()> {
    server.put_schema().await?;
    server.load(dataset.batches(MAX_BATCH), 2).await
}

/// RBAC questions with their expected answers: JSON bodies of `POST /api/v1/authz/check`.
pub struct RbacChecks {
    pub checks: Vec<(String, bool)>,
}

/// Permissions of the `authz-check` set-up; the group's roles hold the first half.
const RBAC_PERMISSIONS: usize = 8;

/// The `authz-check` set-up: `RBAC_PERMISSIONS` permissions, two roles holding the first half
/// of them, one group holding both roles, `users` users who are members of the group (so every
/// permission they hold comes through the group's roles). Slugs carry `run` so the set-up can
/// run again on the same org. Every user is asked about every permission: half allowed.
pub async fn setup_rbac(server: &Server, users: usize, run: u32) -> anyhow::Result<RbacChecks> {
    let slug = |what: &str| format!("bench{run}.{what}");
    let permissions: Vec<String> = (0..RBAC_PERMISSIONS)
        .map(|i| slug(&format!("perm{i}")))
        .collect();
    for p in &permissions {
        server
            .post(
                "/admin/permissions",
                json!({"name": p, "slug": p, "description": "benchmark permission"}),
            )
            .await?;
    }
    let half = RBAC_PERMISSIONS / 2;
    let roles = [format!("bench{run}-reader"), format!("bench{run}-writer")];
    for (i, role) in roles.iter().enumerate() {
        server
            .post("/admin/roles", json!({"name": role, "slug": role}))
            .await?;
        let held = &permissions[i * half / 2..(i + 1) * half / 2];
        server
            .post(
                &format!("/admin/roles/{role}/permissions"),
                json!({"permissions": held}),
            )
            .await?;
    }
    let group = format!("bench{run}-group");
    server
        .post("/admin/groups", json!({"name": group, "slug": group}))
        .await?;
    server
        .post(
            &format!("/admin/groups/{group}/roles"),
            json!({"roles": roles}),
        )
        .await?;
    let mut ids = Vec::with_capacity(users);
    for i in 0..users {
        let created = server
            .post(
                "/admin/users",
                json!({"email": format!("authz-{run}-{i}@bench.example"), "name": "Bench User"}),
            )
            .await?;
        let id = created["data"]["id"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("no user id in {created}"))?;
        ids.push(id.to_string());
    }
    for chunk in ids.chunks(100) {
        server
            .post(
                &format!("/admin/groups/{group}/members"),
                json!({"userIds": chunk}),
            )
            .await?;
    }
    let checks = ids
        .iter()
        .flat_map(|id| {
            permissions.iter().enumerate().map(move |(i, p)| {
                let body = json!({"permission": p, "subject": {"type": "user", "id": id}});
                (body.to_string(), i < half)
            })
        })
        .collect();
    Ok(RbacChecks { checks })
}

/// Resident set size of process `pid` in bytes (Linux `/proc`), if readable.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// CPU time in clock ticks (Linux `/proc`, USER_HZ): the whole machine's busy time, and a
/// process's user + system time.
pub mod cpu {
    /// Ticks all CPUs spent busy (everything but idle and iowait) since boot.
    pub fn machine_busy() -> Option<u64> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let fields: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .filter_map(|f| f.parse().ok())
            .collect();
        let total: u64 = fields.iter().sum();
        let idle = fields.get(3)? + fields.get(4).copied().unwrap_or(0);
        Some(total - idle)
    }

    /// Ticks process `pid` spent on a CPU (user + system).
    pub fn process(pid: u32) -> Option<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let after_name = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
    }

    /// Ticks per second (USER_HZ; 100 on every Linux this runs on).
    pub const HZ: f64 = 100.0;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_set_has_about_a_million_tuples_at_scale_one_and_mixed_answers() {
        let sizes = Sizes::scaled(0.01);
        let data = Dataset::generate(sizes, 42);
        let mut n = 0;
        data.for_each_tuple(|_| n += 1);
        // teams 10 users + chain links, folders 2 users + team + links, documents 5 + bans
        let teams =
            sizes.teams as usize * TEAM_USERS + (sizes.teams - sizes.teams / CHAIN) as usize;
        let folders = sizes.folders as usize * 3 + (sizes.folders - sizes.folders / CHAIN) as usize;
        let docs = sizes.docs as usize * 5 + (sizes.docs as usize).div_ceil(10);
        assert_eq!(n, teams + folders + docs);
        let batches = data.batches(MAX_BATCH);
        assert!(batches.iter().all(|b| b.len() <= MAX_BATCH));
        assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), n);
        let checks = data.checks(400, 7);
        let allowed = checks.iter().filter(|c| c.expected).count();
        assert!((100..300).contains(&allowed), "{allowed} of 400 allowed");
        // Owners may view unless banned; the deep user reaches the document.
        assert!(checks[1].expected || checks[1].relation == "view");
        assert!(
            checks
                .iter()
                .skip(2)
                .step_by(4)
                .filter(|c| c.expected)
                .count()
                > 80
        );
    }

    #[test]
    fn cpu_times_are_readable() {
        assert!(cpu::machine_busy().is_some());
        assert!(cpu::process(std::process::id()).is_some());
    }

    #[test]
    fn sizes_keep_whole_chains() {
        let s = Sizes::scaled(1.0);
        assert_eq!(
            (s.users, s.teams, s.folders, s.docs),
            (100_000, 10_000, 50_000, 140_000)
        );
        let small = Sizes::scaled(0.0001);
        assert_eq!(small.teams % CHAIN, 0);
        assert!(small.teams >= CHAIN && small.folders >= CHAIN);
    }
}
