//! Many-to-many relations, stored in both directions in the `Edge` table:
//! `edge kind ++ from id ++ to id -> ()`. Ids are fixed-width (16 bytes for users, groups and
//! roles; 8 for permissions), so a prefix scan on `kind ++ from` lists one side.

use crate::command::Relation;
use crate::error::Result;
use crate::tables::{OrgReader, OrgTx, Table};

/// The entity kinds that take part in relations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndKind {
    User,
    Group,
    Role,
    Permission,
}

impl EndKind {
    /// Width of the id bytes.
    pub fn width(self) -> usize {
        match self {
            EndKind::Permission => 8,
            _ => 16,
        }
    }
}

impl Relation {
    /// The kinds at each end, `(from, to)`.
    pub fn ends(self) -> (EndKind, EndKind) {
        match self {
            Relation::UserRole => (EndKind::User, EndKind::Role),
            Relation::UserGroup => (EndKind::User, EndKind::Group),
            Relation::UserPermission => (EndKind::User, EndKind::Permission),
            Relation::GroupRole => (EndKind::Group, EndKind::Role),
            Relation::RolePermission => (EndKind::Role, EndKind::Permission),
        }
    }

    pub(crate) fn tags(self) -> (u8, u8) {
        match self {
            Relation::UserRole => (1, 2),
            Relation::UserGroup => (3, 4),
            Relation::UserPermission => (5, 6),
            Relation::GroupRole => (7, 8),
            Relation::RolePermission => (9, 10),
        }
    }

    /// Every relation.
    pub const ALL: [Relation; 5] = [
        Relation::UserRole,
        Relation::UserGroup,
        Relation::UserPermission,
        Relation::GroupRole,
        Relation::RolePermission,
    ];
}

/// Which way a relation is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the `from` end (e.g. a user's roles).
    Forward,
    /// From the `to` end (e.g. a role's users).
    Backward,
}

/// The id of a relation end as the API shows it.
pub fn display_id(kind: EndKind, id: &[u8]) -> String {
    match kind {
        EndKind::Permission => id
            .try_into()
            .map(|b: [u8; 8]| u64::from_be_bytes(b).to_string())
            .unwrap_or_default(),
        _ => crate::ids::UserId::from_bytes(id)
            .map(|u| u.to_string())
            .unwrap_or_default(),
    }
}

fn edge_key(tag: u8, a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + a.len() + b.len());
    key.push(tag);
    key.extend_from_slice(a);
    key.extend_from_slice(b);
    key
}

fn tag_prefix(tag: u8, a: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + a.len());
    key.push(tag);
    key.extend_from_slice(a);
    key
}

/// Adds `from -> to`; returns false when it already existed.
pub fn link(tx: &mut OrgTx, relation: Relation, from: &[u8], to: &[u8]) -> Result<bool> {
    let (fwd, back) = relation.tags();
    if tx.exists(Table::Edge, &edge_key(fwd, from, to))? {
        return Ok(false);
    }
    tx.put(Table::Edge, &edge_key(fwd, from, to), &())?;
    tx.put(Table::Edge, &edge_key(back, to, from), &())?;
    Ok(true)
}

/// Removes `from -> to`; returns false when it did not exist.
pub fn unlink(tx: &mut OrgTx, relation: Relation, from: &[u8], to: &[u8]) -> Result<bool> {
    let (fwd, back) = relation.tags();
    if !tx.exists(Table::Edge, &edge_key(fwd, from, to))? {
        return Ok(false);
    }
    tx.delete(Table::Edge, &edge_key(fwd, from, to));
    tx.delete(Table::Edge, &edge_key(back, to, from));
    Ok(true)
}

/// The ids at the other end of `id`, in id order (committed state).
pub fn neighbours(
    reader: &OrgReader,
    relation: Relation,
    direction: Direction,
    id: &[u8],
) -> Result<Vec<Vec<u8>>> {
    let (fwd, back) = relation.tags();
    let tag = match direction {
        Direction::Forward => fwd,
        Direction::Backward => back,
    };
    let mut out = Vec::new();
    reader.scan_keys(Table::Edge, &tag_prefix(tag, id), |rest| {
        out.push(rest.to_vec());
        true
    })?;
    Ok(out)
}

/// How many ids are at the other end of `id`.
pub fn degree(
    reader: &OrgReader,
    relation: Relation,
    direction: Direction,
    id: &[u8],
) -> Result<u64> {
    let (fwd, back) = relation.tags();
    let tag = match direction {
        Direction::Forward => fwd,
        Direction::Backward => back,
    };
    reader.count(Table::Edge, &tag_prefix(tag, id))
}

/// Removes every relation touching `id` of kind `kind` (used when the entity is deleted).
pub fn unlink_all(tx: &mut OrgTx, kind: EndKind, id: &[u8]) -> Result<()> {
    for relation in Relation::ALL {
        let (from_kind, to_kind) = relation.ends();
        if from_kind == kind {
            for other in neighbours(tx.reader(), relation, Direction::Forward, id)? {
                unlink(tx, relation, id, &other)?;
            }
        }
        if to_kind == kind {
            for other in neighbours(tx.reader(), relation, Direction::Backward, id)? {
                unlink(tx, relation, &other, id)?;
            }
        }
    }
    Ok(())
}
