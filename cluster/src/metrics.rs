//! The node's Prometheus metrics (`prometheus-client`): what the api records per HTTP request,
//! what Raft writes take, and gauges read at scrape time from the hosted groups and the org
//! actors. One `Metrics` per node (held by the `Service`), so nodes in one test process keep
//! their own numbers.

use std::sync::{Arc, Mutex};

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// A label value shared instead of copied per request (route families, methods).
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct Shared(pub Arc<str>);

impl EncodeLabelValue for Shared {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
        self.0.as_ref().encode(encoder)
    }
}

/// An HTTP request: its route family (`admin_users`, `oauth_token`, ...), method and status.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub family: Shared,
    pub method: Shared,
    pub status: u16,
}

/// A hosted Raft group: its id and kind (`meta`, `shard`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GroupLabels {
    pub group: String,
    pub kind: String,
}

/// A kind of group, for latencies (ids would multiply the series).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

/// A snapshot's making (`build`) or taking in (`install`), by group kind.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SnapshotLabels {
    pub kind: String,
    pub op: String,
}

/// A rate-limit class (`admin_read`, `token`, ...).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ClassLabels {
    pub class: &'static str,
}

/// What a group's replica reports at scrape time.
#[derive(Clone, Copy, Debug, Default)]
pub struct GroupReading {
    pub last_log_index: u64,
    pub applied_index: u64,
    pub term: u64,
    pub is_leader: bool,
    pub snapshot_index: u64,
}

fn latency_histogram() -> Histogram {
    // 100 µs to ~6.5 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 17))
}

fn gauge_of(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub struct Metrics {
    registry: Registry,
    http_seconds: Family<HttpLabels, Histogram, fn() -> Histogram>,
    raft_write_seconds: Family<KindLabels, Histogram, fn() -> Histogram>,
    raft_last_log_index: Family<GroupLabels, Gauge>,
    raft_applied_index: Family<GroupLabels, Gauge>,
    raft_apply_lag: Family<GroupLabels, Gauge>,
    raft_term: Family<GroupLabels, Gauge>,
    raft_is_leader: Family<GroupLabels, Gauge>,
    raft_snapshot_index: Family<GroupLabels, Gauge>,
    raft_leader_changes: Family<GroupLabels, Counter>,
    snapshot_seconds: Family<SnapshotLabels, Histogram, fn() -> Histogram>,
    snapshot_bytes: Family<GroupLabels, Gauge>,
    actors_running: Gauge,
    actor_requests_in_flight: Gauge,
    admission_rejections: Counter,
    rate_limited: Family<ClassLabels, Counter>,
    password_hash_slots_free: Gauge,
    outbox_pending: Gauge,
    /// The leader each group had at the last scrape (leader changes are counted from it).
    last_leaders: Mutex<std::collections::HashMap<u64, Option<u64>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("lumo");
        let http_seconds: Family<HttpLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency (its _count: requests served), by route family, method and status",
            http_seconds.clone(),
        );
        let raft_write_seconds: Family<KindLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "raft_write_duration_seconds",
            "From proposing a write to its applied outcome (commit and apply), by group kind",
            raft_write_seconds.clone(),
        );
        let gauge_family = |registry: &mut Registry, name: &str, help: &str| {
            let family = Family::<GroupLabels, Gauge>::default();
            registry.register(name, help, family.clone());
            family
        };
        let raft_last_log_index = gauge_family(
            &mut registry,
            "raft_last_log_index",
            "Last log index of each hosted group's replica",
        );
        let raft_applied_index = gauge_family(
            &mut registry,
            "raft_applied_index",
            "Last applied log index of each hosted group's replica",
        );
        let raft_apply_lag = gauge_family(
            &mut registry,
            "raft_apply_lag_entries",
            "Log entries a replica holds but has not applied yet",
        );
        let raft_term = gauge_family(&mut registry, "raft_term", "Current Raft term");
        let raft_is_leader = gauge_family(
            &mut registry,
            "raft_is_leader",
            "1 when this node leads the group",
        );
        let raft_snapshot_index = gauge_family(
            &mut registry,
            "raft_snapshot_last_index",
            "Last log index covered by the group's newest snapshot",
        );
        let raft_leader_changes = Family::<GroupLabels, Counter>::default();
        registry.register(
            "raft_leader_changes",
            "Leader changes seen between scrapes, per group",
            raft_leader_changes.clone(),
        );
        let snapshot_seconds: Family<SnapshotLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "raft_snapshot_duration_seconds",
            "Time to build a snapshot of a group or install one received from its leader",
            snapshot_seconds.clone(),
        );
        let snapshot_bytes = gauge_family(
            &mut registry,
            "raft_snapshot_bytes",
            "Size of each group's newest snapshot built or installed here",
        );
        let actors_running = Gauge::default();
        registry.register(
            "org_actors_running",
            "Org actors alive on this node",
            actors_running.clone(),
        );
        let actor_requests_in_flight = Gauge::default();
        registry.register(
            "org_actor_requests_in_flight",
            "Requests admitted to org actors and not answered yet (the mailboxes' depth)",
            actor_requests_in_flight.clone(),
        );
        let admission_rejections = Counter::default();
        registry.register(
            "admission_rejections",
            "Requests refused with 429 because an org actor had too many in flight",
            admission_rejections.clone(),
        );
        let rate_limited = Family::<ClassLabels, Counter>::default();
        registry.register(
            "rate_limited",
            "Requests refused with 429 because their caller used up a rate limit, by class",
            rate_limited.clone(),
        );
        let password_hash_slots_free = Gauge::default();
        registry.register(
            "password_hash_slots_free",
            "argon2 hashing slots free now (0: hashes and password checks queue)",
            password_hash_slots_free.clone(),
        );
        let outbox_pending = Gauge::default();
        registry.register(
            "outbox_deliveries_pending",
            "Webhook, email and outbound SCIM deliveries waiting in the outboxes of the orgs this node leads",
            outbox_pending.clone(),
        );
        Metrics {
            registry,
            http_seconds,
            raft_write_seconds,
            raft_last_log_index,
            raft_applied_index,
            raft_apply_lag,
            raft_term,
            raft_is_leader,
            raft_snapshot_index,
            raft_leader_changes,
            snapshot_seconds,
            snapshot_bytes,
            actors_running,
            actor_requests_in_flight,
            admission_rejections,
            rate_limited,
            password_hash_slots_free,
            outbox_pending,
            last_leaders: Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// One served HTTP request.
    pub fn http_request(&self, labels: HttpLabels, seconds: f64) {
        self.http_seconds.get_or_create(&labels).observe(seconds);
    }

    /// One Raft write of a group of `kind`, proposed to applied.
    pub fn raft_write(&self, kind: &str, seconds: f64) {
        self.raft_write_seconds
            .get_or_create(&KindLabels {
                kind: kind.to_string(),
            })
            .observe(seconds);
    }

    /// A snapshot of group `id` was built or installed (`op`) in `seconds`, `bytes` long.
    pub fn snapshot(&self, id: u64, kind: &str, op: &str, seconds: f64, bytes: usize) {
        self.snapshot_seconds
            .get_or_create(&SnapshotLabels {
                kind: kind.to_string(),
                op: op.to_string(),
            })
            .observe(seconds);
        self.snapshot_bytes
            .get_or_create(&GroupLabels {
                group: id.to_string(),
                kind: kind.to_string(),
            })
            .set(gauge_of(bytes as u64));
    }

    /// An org actor refused a request (too many in flight).
    pub fn admission_rejected(&self) {
        self.admission_rejections.inc();
    }

    /// Counts a request refused by a rate limit of `class`.
    pub fn rate_limited(&self, class: &'static str) {
        self.rate_limited
            .get_or_create(&ClassLabels { class })
            .inc();
    }

    /// The gauges of one hosted group at scrape time; `leader` is who leads it now.
    pub fn group(&self, id: u64, kind: &str, reading: GroupReading, leader: Option<u64>) {
        let labels = GroupLabels {
            group: id.to_string(),
            kind: kind.to_string(),
        };
        self.raft_last_log_index
            .get_or_create(&labels)
            .set(gauge_of(reading.last_log_index));
        self.raft_applied_index
            .get_or_create(&labels)
            .set(gauge_of(reading.applied_index));
        self.raft_apply_lag.get_or_create(&labels).set(gauge_of(
            reading.last_log_index.saturating_sub(reading.applied_index),
        ));
        self.raft_term
            .get_or_create(&labels)
            .set(gauge_of(reading.term));
        self.raft_is_leader
            .get_or_create(&labels)
            .set(i64::from(reading.is_leader));
        self.raft_snapshot_index
            .get_or_create(&labels)
            .set(gauge_of(reading.snapshot_index));
        if let Ok(mut last) = self.last_leaders.lock() {
            let changed = last
                .insert(id, leader)
                .is_some_and(|before| before != leader);
            let counter = self.raft_leader_changes.get_or_create(&labels);
            if changed {
                counter.inc();
            }
        }
    }

    /// The actor gauges at scrape time.
    pub fn actors(&self, running: usize, in_flight: usize) {
        self.actors_running.set(gauge_of(running as u64));
        self.actor_requests_in_flight
            .set(gauge_of(in_flight as u64));
    }

    /// The password-hashing slots at scrape time.
    pub fn hashing_slots_free(&self, free: usize) {
        self.password_hash_slots_free.set(gauge_of(free as u64));
    }

    /// The outboxes' backlog, as the dispatcher last counted it.
    pub fn outbox_backlog(&self, pending: usize) {
        self.outbox_pending.set(gauge_of(pending as u64));
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
