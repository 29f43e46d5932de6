//! Reads of the Zanzibar configuration: the schema, tuples by filter, the change feed.

use crate::error::Result;
use crate::model::{StoredSchema, StoredTuple, TupleChange};
use crate::query::{PageParams, RelationTupleFilter, Reply};
use crate::tables::{OrgReader, Table};

use super::page::paginate;

pub(super) fn schema(reader: &OrgReader) -> Result<Reply> {
    Ok(Reply::RelationSchema(
        reader.get::<StoredSchema>(Table::RelationSchema, &[])?,
    ))
}

/// The key prefix the filter pins down (object type, then id, then relation).
fn prefix(filter: &RelationTupleFilter) -> String {
    let Some(object_type) = &filter.object_type else {
        return String::new();
    };
    let Some(object_id) = &filter.object_id else {
        return format!("{object_type}:");
    };
    match &filter.relation {
        Some(relation) => format!("{object_type}:{object_id}#{relation}@"),
        None => format!("{object_type}:{object_id}#"),
    }
}

pub(super) fn tuples(
    reader: &OrgReader,
    filter: &RelationTupleFilter,
    page: PageParams,
) -> Result<Reply> {
    let mut found: Vec<(String, StoredTuple)> = Vec::new();
    let start = prefix(filter);
    reader.scan::<StoredTuple>(Table::RelationTuple, start.as_bytes(), false, |key, row| {
        let text = format!("{start}{}", String::from_utf8_lossy(key));
        let (head, subject) = text.split_once('@').unwrap_or((text.as_str(), ""));
        let relation_ok = filter
            .relation
            .as_ref()
            .is_none_or(|r| head.rsplit_once('#').is_some_and(|(_, rel)| rel == r));
        let subject_ok = filter.subject.as_ref().is_none_or(|s| s == subject);
        if relation_ok && subject_ok {
            found.push((text, row));
        }
        true
    })?;
    Ok(Reply::RelationTuples(paginate(found, page)))
}

pub(super) fn changes(reader: &OrgReader, after: u64, limit: u64) -> Result<Reply> {
    let mut changes: Vec<TupleChange> = Vec::new();
    let start = after.saturating_add(1);
    let last = reader
        .get::<u64>(Table::RelationChangeSeq, &[])?
        .unwrap_or(0);
    reader.scan::<TupleChange>(Table::RelationChange, &[], false, |_, change| {
        if change.seq >= start {
            changes.push(change);
        }
        changes.len() < usize::try_from(limit).unwrap_or(usize::MAX)
    })?;
    Ok(Reply::RelationChanges { changes, last })
}
