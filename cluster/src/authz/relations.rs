//! One org's Zanzibar state in memory: the parsed schema and the tuple graph, loaded from
//! storage once and then changed tuple by tuple as writes are applied.

use super::relation_error;
use super::zanzibar::{Schema, Tuple, TupleGraph};
use crate::command::Op;
use crate::error::Result;
use crate::model::StoredSchema;
use crate::tables::{OrgReader, Table};

/// The org's schema, parsed (`None` before the first schema write).
pub fn load_schema(reader: &OrgReader) -> Result<Option<Schema>> {
    match reader.get::<StoredSchema>(Table::RelationSchema, &[])? {
        Some(stored) => Schema::parse(&stored.text)
            .map(Some)
            .map_err(relation_error),
        None => Ok(None),
    }
}

/// The schema and the tuples of one org.
#[derive(Default)]
pub struct Relations {
    schema: Option<Schema>,
    graph: TupleGraph,
}

impl Relations {
    /// Reads the schema and every tuple of the org.
    pub(super) fn load(reader: &OrgReader) -> Result<Relations> {
        let schema = load_schema(reader)?;
        let mut graph = TupleGraph::new();
        if schema.is_some() {
            reader.scan_keys(Table::RelationTuple, &[], |key| {
                if let Ok(tuple) = Tuple::parse(&String::from_utf8_lossy(key)) {
                    graph.insert(&tuple);
                }
                true
            })?;
        }
        Ok(Relations { schema, graph })
    }

    /// The schema, if one was written.
    pub fn schema(&self) -> Option<&Schema> {
        self.schema.as_ref()
    }

    /// The tuples.
    pub fn graph(&self) -> &TupleGraph {
        &self.graph
    }

    /// Applies a write `apply` accepted (so every tuple in it parses and fits the schema).
    pub(super) fn on_applied(&mut self, op: &Op) {
        match op {
            Op::WriteRelationSchema { text } => {
                self.schema = Schema::parse(text).ok();
            }
            Op::WriteRelationTuples(write) => {
                for text in &write.deletes {
                    if let Ok(tuple) = Tuple::parse(text) {
                        self.graph.remove(&tuple);
                    }
                }
                for text in &write.writes {
                    if let Ok(tuple) = Tuple::parse(text) {
                        self.graph.insert(&tuple);
                    }
                }
            }
            _ => {}
        }
    }
}
