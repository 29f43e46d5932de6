//! Zanzibar schema and tuple writes: validated against the schema here (so every replica
//! decides the same), recorded in the change feed, audited in the same entry.

use serde_json::json;

use crate::authz::ConsistencyToken;
use crate::authz::zanzibar::{Schema, Tuple};
use crate::authz::{load_schema, relation_error};
use crate::command::{CommandMeta, TupleWrite};
use crate::error::{AuthzCode, ClusterError, Result};
use crate::model::{AuditEvent, StoredSchema, StoredTuple, TupleChange, TupleChangeKind};
use crate::query::Outcome;
use crate::tables::{OrgTx, Table};

use super::Applied;

/// Most tuple changes (writes + deletes + preconditions) one command may carry.
pub const MAX_TUPLE_CHANGES: usize = 1000;
/// How many changes the feed keeps.
pub const CHANGE_FEED_LENGTH: u64 = 10_000;

fn token(tx: &OrgTx) -> ConsistencyToken {
    let (group, index) = tx.position();
    ConsistencyToken { group, index }
}

pub(super) fn write_schema(tx: &mut OrgTx, meta: &CommandMeta, text: &str) -> Result<Applied> {
    let schema = Schema::parse(text).map_err(relation_error)?;
    let mut orphan: Option<String> = None;
    let mut orphans = 0u64;
    tx.reader().scan_keys(Table::RelationTuple, &[], |key| {
        let text = String::from_utf8_lossy(key).to_string();
        let fits = Tuple::parse(&text)
            .ok()
            .is_some_and(|tuple| schema.validate_tuple(&tuple).is_ok());
        if !fits {
            orphans += 1;
            orphan.get_or_insert(text);
        }
        true
    })?;
    if let Some(example) = orphan {
        return Err(ClusterError::authz(
            AuthzCode::SchemaConflict,
            format!(
                "the schema would no longer admit {orphans} existing tuple(s), e.g. {example}; delete them first"
            ),
        ));
    }
    let (_, revision) = tx.position();
    let stored = StoredSchema {
        text: text.to_string(),
        updated_at: meta.at,
        revision,
    };
    tx.put(Table::RelationSchema, &[], &stored)?;
    let types = schema.object_types().join(", ");
    let event = AuditEvent::new(
        "authorization",
        "zanzibar.schema.updated",
        format!("relation schema updated ({types})"),
    )
    .target("zanzibar_schema", "schema", "relation schema")
    .new_value(json!({"definitions": schema.object_types(), "bytes": text.len()}));
    Ok((
        Outcome::RelationsWritten {
            token: token(tx),
            written: 0,
            deleted: 0,
        },
        vec![event],
    ))
}

fn parse_all(schema: &Schema, texts: &[String]) -> Result<Vec<Tuple>> {
    texts
        .iter()
        .map(|text| {
            let tuple = Tuple::parse(text).map_err(relation_error)?;
            schema.validate_tuple(&tuple).map_err(relation_error)?;
            Ok(tuple)
        })
        .collect()
}

/// The change feed of one command: the sequence counter read once, each change recorded,
/// the counter written back once.
struct ChangeFeed {
    seq: u64,
}

impl ChangeFeed {
    fn open(tx: &OrgTx) -> Result<ChangeFeed> {
        Ok(ChangeFeed {
            seq: tx.get::<u64>(Table::RelationChangeSeq, &[])?.unwrap_or(0),
        })
    }

    fn record(
        &mut self,
        tx: &mut OrgTx,
        meta: &CommandMeta,
        kind: TupleChangeKind,
        tuple: String,
    ) -> Result<()> {
        self.seq += 1;
        let (_, revision) = tx.position();
        let change = TupleChange {
            seq: self.seq,
            revision,
            at: meta.at,
            kind,
            tuple,
        };
        tx.put(Table::RelationChange, &self.seq.to_be_bytes(), &change)?;
        if self.seq > CHANGE_FEED_LENGTH {
            tx.delete(
                Table::RelationChange,
                &(self.seq - CHANGE_FEED_LENGTH).to_be_bytes(),
            );
        }
        Ok(())
    }

    fn close(self, tx: &mut OrgTx) -> Result<()> {
        tx.put(Table::RelationChangeSeq, &[], &self.seq)
    }
}

pub(super) fn write_tuples(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    write: &TupleWrite,
) -> Result<Applied> {
    let Some(schema) = load_schema(tx.reader())? else {
        return Err(ClusterError::authz(
            AuthzCode::SchemaRequired,
            "this organization has no relation schema yet: PUT ~/zanzibar/schema first",
        ));
    };
    let changes = write.writes.len() + write.deletes.len() + write.preconditions.len();
    if changes > MAX_TUPLE_CHANGES {
        return Err(ClusterError::authz(
            AuthzCode::InvalidTuple,
            format!("at most {MAX_TUPLE_CHANGES} tuple changes per request, got {changes}"),
        ));
    }
    let writes = parse_all(&schema, &write.writes)?;
    let deletes = parse_all(&schema, &write.deletes)?;
    for condition in &write.preconditions {
        let tuple = Tuple::parse(&condition.tuple).map_err(relation_error)?;
        let exists = tx.exists(Table::RelationTuple, tuple.to_string().as_bytes())?;
        if exists != condition.must_exist {
            let state = if condition.must_exist {
                "must exist"
            } else {
                "must not exist"
            };
            return Err(ClusterError::authz(
                AuthzCode::PreconditionFailed,
                format!("precondition failed: {tuple} {state}; nothing was written"),
            ));
        }
    }
    let (_, revision) = tx.position();
    let mut feed = ChangeFeed::open(tx)?;
    let mut deleted = 0u64;
    for tuple in &deletes {
        let key = tuple.to_string();
        if tx.exists(Table::RelationTuple, key.as_bytes())? {
            tx.delete(Table::RelationTuple, key.as_bytes());
            feed.record(tx, meta, TupleChangeKind::Delete, key)?;
            deleted += 1;
        }
    }
    let mut written = 0u64;
    for tuple in &writes {
        let key = tuple.to_string();
        if !tx.exists(Table::RelationTuple, key.as_bytes())? {
            let stored = StoredTuple {
                written_at: meta.at,
                revision,
            };
            tx.put(Table::RelationTuple, key.as_bytes(), &stored)?;
            feed.record(tx, meta, TupleChangeKind::Write, key)?;
            written += 1;
        }
    }
    feed.close(tx)?;
    let sample: Vec<String> = writes
        .iter()
        .chain(deletes.iter())
        .take(10)
        .map(ToString::to_string)
        .collect();
    let event = AuditEvent::new(
        "authorization",
        "zanzibar.tuples.written",
        format!("relation tuples changed: {written} written, {deleted} deleted"),
    )
    .target("zanzibar_tuples", "tuples", "relation tuples")
    .changes(json!({"written": written, "deleted": deleted, "tuples": sample}));
    Ok((
        Outcome::RelationsWritten {
            token: token(tx),
            written,
            deleted,
        },
        vec![event],
    ))
}
