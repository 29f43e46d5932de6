//! Manual benchmark: `cargo test --release -- --ignored --nocapture bench_1m`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stdout
)]

use std::time::{Duration, Instant};

use super::super::schema::tests::EXAMPLE;
use super::super::{ObjectRef, Schema, SubjectRef, Tuple, TupleGraph, check};

const USERS: u64 = 100_000;
const TEAMS: u64 = 10_000;
const FOLDERS: u64 = 50_000;
const DOCS: u64 = 140_000;
/// Length of team chains and of folder parent chains.
const CHAIN: u64 = 5;

struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn user(i: u64) -> SubjectRef {
    SubjectRef::new("user", format!("u{i}"))
}

fn add(g: &mut TupleGraph, o: (&str, String), rel: &str, s: SubjectRef) {
    g.insert(&Tuple::new(ObjectRef::new(o.0, o.1), rel, s));
}

fn build(rng: &mut Lcg) -> TupleGraph {
    let mut g = TupleGraph::new();
    for t in 0..TEAMS {
        for _ in 0..10 {
            add(
                &mut g,
                ("team", format!("t{t}")),
                "member",
                user(rng.below(USERS)),
            );
        }
        if t % CHAIN != CHAIN - 1 {
            let next = SubjectRef::userset("team", format!("t{}", t + 1), "member");
            add(&mut g, ("team", format!("t{t}")), "member", next);
        }
    }
    for f in 0..FOLDERS {
        if f % CHAIN != CHAIN - 1 {
            let parent = SubjectRef::new("folder", format!("f{}", f + 1));
            add(&mut g, ("folder", format!("f{f}")), "parent", parent);
        }
        let team = SubjectRef::userset("team", format!("t{}", rng.below(TEAMS)), "member");
        add(&mut g, ("folder", format!("f{f}")), "viewer", team);
        for _ in 0..2 {
            add(
                &mut g,
                ("folder", format!("f{f}")),
                "viewer",
                user(rng.below(USERS)),
            );
        }
    }
    for d in 0..DOCS {
        let o = || ("document", format!("d{d}"));
        let folder = SubjectRef::new("folder", format!("f{}", rng.below(FOLDERS)));
        add(&mut g, o(), "parent", folder);
        add(&mut g, o(), "owner", user(rng.below(USERS)));
        add(&mut g, o(), "editor", user(rng.below(USERS)));
        let team = SubjectRef::userset("team", format!("t{}", rng.below(TEAMS)), "member");
        add(&mut g, o(), "viewer", team);
        add(&mut g, o(), "viewer", user(rng.below(USERS)));
        if d % 10 == 0 {
            add(&mut g, o(), "banned", user(rng.below(USERS)));
        }
    }
    g
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[test]
#[ignore = "benchmark; run in release with --ignored --nocapture"]
fn bench_1m() {
    let schema = Schema::parse(EXAMPLE).unwrap();
    let mut rng = Lcg(42);
    let start = Instant::now();
    let graph = build(&mut rng);
    let build_time = start.elapsed();
    let bytes = graph.approx_heap_bytes();
    println!(
        "tuples: {}  build: {:.2?}  approx_heap_bytes: {} ({:.1} MiB, {:.0} B/tuple)",
        graph.len(),
        build_time,
        bytes,
        bytes as f64 / (1024.0 * 1024.0),
        bytes as f64 / graph.len() as f64
    );
    for (label, relation) in [("view", "view"), ("edit", "edit")] {
        let mut times = Vec::new();
        let mut allowed = 0;
        for _ in 0..20_000 {
            let doc = ObjectRef::new("document", format!("d{}", rng.below(DOCS)));
            let subject = user(rng.below(USERS));
            let t = Instant::now();
            if check(&schema, &graph, &doc, relation, &subject).unwrap() {
                allowed += 1;
            }
            times.push(t.elapsed());
        }
        times.sort_unstable();
        println!(
            "check {label} (random user, {allowed} allowed of {}): p50 {:.2?}  p99 {:.2?}  max {:.2?}",
            times.len(),
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            times[times.len() - 1]
        );
    }
    let mut times = Vec::new();
    for d in 0..20_000 {
        let doc = ObjectRef::new("document", format!("d{d}"));
        let owner = graph.subjects_of(&doc, "owner").remove(0);
        let t = Instant::now();
        assert!(check(&schema, &graph, &doc, "view", &owner).unwrap() || d % 10 == 0);
        times.push(t.elapsed());
    }
    times.sort_unstable();
    println!(
        "check view (owner, allowed): p50 {:.2?}  p99 {:.2?}",
        percentile(&times, 0.5),
        percentile(&times, 0.99)
    );
}
