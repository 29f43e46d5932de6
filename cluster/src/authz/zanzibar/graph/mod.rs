//! [`TupleGraph`]: an interned, incrementally maintained in-memory tuple index.

mod entry;
mod filter;
mod hasher;
mod interner;
mod memory;
mod small_set;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

pub(crate) use self::entry::{ObjKey, RelEntry, RelKey};
pub use self::filter::TupleFilter;
pub(crate) use self::hasher::SymHashBuilder;
use self::interner::Interner;
pub(crate) use self::interner::Sym;
use self::memory::hash_table_bytes;
use super::{ObjectRef, SubjectRef, Tuple};

type SymMap<K, V> = HashMap<K, V, SymHashBuilder>;

/// Counts of ids per type (how many tuples mention each id in that role).
type IdIndex = SymMap<Sym, SymMap<Sym, u32>>;

/// In-memory tuple index.
///
/// Strings are interned to `u32` symbols (never freed). Per (object, relation) it keeps the
/// concrete subjects as a set, userset subjects and wildcard subject types separately.
/// Reverse indexes: object ids per object type, concrete subject ids per subject type.
#[derive(Debug, Clone, Default)]
pub struct TupleGraph {
    interner: Interner,
    relations: SymMap<RelKey, RelEntry>,
    objects: IdIndex,
    subjects: IdIndex,
    len: usize,
}

/// A tuple's subject in symbol form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SubjectKey {
    Direct(ObjKey),
    Userset(RelKey),
    Wildcard(Sym),
}

fn bump(index: &mut IdIndex, ty: Sym, id: Sym) {
    *index.entry(ty).or_default().entry(id).or_insert(0) += 1;
}

fn unbump(index: &mut IdIndex, ty: Sym, id: Sym) {
    if let Some(ids) = index.get_mut(&ty) {
        if let Some(c) = ids.get_mut(&id) {
            *c = c.saturating_sub(1);
            if *c == 0 {
                ids.remove(&id);
            }
        }
        if ids.is_empty() {
            index.remove(&ty);
        }
    }
}

impl TupleGraph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of tuples.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no tuples.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn intern_key(&mut self, t: &Tuple) -> Option<(RelKey, SubjectKey)> {
        let i = &mut self.interner;
        let obj = ObjKey {
            ty: i.intern(&t.object.object_type)?,
            id: i.intern(&t.object.object_id)?,
        };
        let key = RelKey {
            obj,
            rel: i.intern(&t.relation)?,
        };
        let s = &t.subject;
        let ty = i.intern(&s.subject_type)?;
        let subject = if s.is_wildcard() {
            SubjectKey::Wildcard(ty)
        } else {
            let so = ObjKey {
                ty,
                id: i.intern(&s.subject_id)?,
            };
            match &s.relation {
                Some(r) => SubjectKey::Userset(RelKey {
                    obj: so,
                    rel: i.intern(r)?,
                }),
                None => SubjectKey::Direct(so),
            }
        };
        Some((key, subject))
    }

    fn lookup_key(&self, t: &Tuple) -> Option<(RelKey, SubjectKey)> {
        let i = &self.interner;
        let obj = ObjKey {
            ty: i.get(&t.object.object_type)?,
            id: i.get(&t.object.object_id)?,
        };
        let key = RelKey {
            obj,
            rel: i.get(&t.relation)?,
        };
        let s = &t.subject;
        let ty = i.get(&s.subject_type)?;
        let subject = if s.is_wildcard() {
            SubjectKey::Wildcard(ty)
        } else {
            let so = ObjKey {
                ty,
                id: i.get(&s.subject_id)?,
            };
            match &s.relation {
                Some(r) => SubjectKey::Userset(RelKey {
                    obj: so,
                    rel: i.get(r)?,
                }),
                None => SubjectKey::Direct(so),
            }
        };
        Some((key, subject))
    }

    /// Inserts a tuple; false if it was already present (or the symbol space is exhausted).
    /// The tuple is not validated here: use [`super::Schema::validate_tuple`] first.
    pub fn insert(&mut self, t: &Tuple) -> bool {
        let Some((key, subject)) = self.intern_key(t) else {
            return false;
        };
        let entry = self.relations.entry(key).or_default();
        let added = match subject {
            SubjectKey::Direct(s) => entry.insert_direct(s),
            SubjectKey::Userset(u) => entry.insert_userset(u),
            SubjectKey::Wildcard(ty) => entry.insert_wildcard(ty),
        };
        if added {
            self.len += 1;
            bump(&mut self.objects, key.obj.ty, key.obj.id);
            if let SubjectKey::Direct(s) = subject {
                bump(&mut self.subjects, s.ty, s.id);
            }
        }
        added
    }

    /// Removes a tuple; false if it was absent.
    pub fn remove(&mut self, t: &Tuple) -> bool {
        let Some((key, subject)) = self.lookup_key(t) else {
            return false;
        };
        let Some(entry) = self.relations.get_mut(&key) else {
            return false;
        };
        let removed = match subject {
            SubjectKey::Direct(s) => entry.remove_direct(&s),
            SubjectKey::Userset(u) => entry.remove_userset(&u),
            SubjectKey::Wildcard(ty) => entry.remove_wildcard(ty),
        };
        if entry.is_empty() {
            self.relations.remove(&key);
        }
        if removed {
            self.len -= 1;
            unbump(&mut self.objects, key.obj.ty, key.obj.id);
            if let SubjectKey::Direct(s) = subject {
                unbump(&mut self.subjects, s.ty, s.id);
            }
        }
        removed
    }

    /// True when the tuple is present.
    pub fn contains(&self, t: &Tuple) -> bool {
        let Some((key, subject)) = self.lookup_key(t) else {
            return false;
        };
        self.relations.get(&key).is_some_and(|e| match subject {
            SubjectKey::Direct(s) => e.contains_direct(&s),
            SubjectKey::Userset(u) => e.contains_userset(&u),
            SubjectKey::Wildcard(ty) => e.has_wildcard(ty),
        })
    }

    /// Best-effort estimate of the heap bytes held by the graph.
    pub fn approx_heap_bytes(&self) -> usize {
        let entry_size = std::mem::size_of::<(RelKey, RelEntry)>();
        let relations = hash_table_bytes(self.relations.capacity(), entry_size)
            + self
                .relations
                .values()
                .map(RelEntry::heap_bytes)
                .sum::<usize>();
        let index = |idx: &IdIndex| {
            hash_table_bytes(
                idx.capacity(),
                std::mem::size_of::<(Sym, SymMap<Sym, u32>)>(),
            ) + idx
                .values()
                .map(|m| hash_table_bytes(m.capacity(), std::mem::size_of::<(Sym, u32)>()))
                .sum::<usize>()
        };
        self.interner.heap_bytes() + relations + index(&self.objects) + index(&self.subjects)
    }

    /// Tuples matching the filter, sorted (object, relation, subject) for stable pagination.
    pub fn tuples_matching(&self, filter: &TupleFilter) -> impl Iterator<Item = Tuple> + use<> {
        let mut out = Vec::new();
        if let (Some(t), Some(id), Some(rel)) =
            (&filter.object_type, &filter.object_id, &filter.relation)
        {
            let key = (|| {
                Some(RelKey {
                    obj: ObjKey {
                        ty: self.sym(t)?,
                        id: self.sym(id)?,
                    },
                    rel: self.sym(rel)?,
                })
            })();
            if let Some((k, e)) = key.and_then(|k| self.relations.get_key_value(&k)) {
                self.push_tuples(*k, e, filter, &mut out);
            }
        } else {
            for (k, e) in &self.relations {
                if self.key_matches(k, filter) {
                    self.push_tuples(*k, e, filter, &mut out);
                }
            }
        }
        out.sort_unstable();
        out.into_iter()
    }

    fn key_matches(&self, k: &RelKey, f: &TupleFilter) -> bool {
        let is = |filter: &Option<String>, sym: Sym| {
            filter
                .as_ref()
                .is_none_or(|v| self.interner.resolve(sym) == Some(v.as_str()))
        };
        is(&f.object_type, k.obj.ty) && is(&f.object_id, k.obj.id) && is(&f.relation, k.rel)
    }

    fn push_tuples(&self, k: RelKey, e: &RelEntry, f: &TupleFilter, out: &mut Vec<Tuple>) {
        let Some(object) = self.object_ref(k.obj) else {
            return;
        };
        let relation = self.str(k.rel).to_string();
        for s in self.subjects_of_entry(e) {
            let t = Tuple::new(object.clone(), relation.clone(), s);
            if f.matches(&t) {
                out.push(t);
            }
        }
    }

    /// All subjects of one entry, as subject references (unsorted).
    fn subjects_of_entry(&self, e: &RelEntry) -> Vec<SubjectRef> {
        let mut out = Vec::new();
        for s in e.direct() {
            out.push(SubjectRef::new(self.str(s.ty), self.str(s.id)));
        }
        for u in e.usersets() {
            out.push(SubjectRef::userset(
                self.str(u.obj.ty),
                self.str(u.obj.id),
                self.str(u.rel),
            ));
        }
        for w in e.wildcards() {
            out.push(SubjectRef::wildcard(self.str(*w)));
        }
        out
    }

    /// Sorted subjects stored for `object#relation`.
    pub fn subjects_of(&self, object: &ObjectRef, relation: &str) -> Vec<SubjectRef> {
        let mut out = self
            .entry_for(object, relation)
            .map(|e| self.subjects_of_entry(e))
            .unwrap_or_default();
        out.sort_unstable();
        out
    }

    /// Sorted ids of every object of `object_type` that appears as a tuple object.
    pub fn object_ids(&self, object_type: &str) -> Vec<&str> {
        self.ids(&self.objects, object_type)
    }

    /// Sorted ids of every concrete subject (no relation, not a wildcard) of `subject_type`.
    pub fn subject_ids(&self, subject_type: &str) -> Vec<&str> {
        self.ids(&self.subjects, subject_type)
    }

    fn ids<'a>(&'a self, index: &IdIndex, ty: &str) -> Vec<&'a str> {
        let mut out: Vec<&str> = self
            .sym(ty)
            .and_then(|t| index.get(&t))
            .map(|ids| ids.keys().map(|id| self.str(*id)).collect())
            .unwrap_or_default();
        out.sort_unstable();
        out
    }

    fn entry_for(&self, object: &ObjectRef, relation: &str) -> Option<&RelEntry> {
        let key = RelKey {
            obj: ObjKey {
                ty: self.sym(&object.object_type)?,
                id: self.sym(&object.object_id)?,
            },
            rel: self.sym(relation)?,
        };
        self.relations.get(&key)
    }

    pub(crate) fn sym(&self, s: &str) -> Option<Sym> {
        self.interner.get(s)
    }

    /// The string of a symbol ("" for an unknown symbol, which cannot come from this graph).
    pub(crate) fn str(&self, sym: Sym) -> &str {
        self.interner.resolve(sym).unwrap_or_default()
    }

    pub(crate) fn object_ref(&self, k: ObjKey) -> Option<ObjectRef> {
        Some(ObjectRef::new(
            self.interner.resolve(k.ty)?,
            self.interner.resolve(k.id)?,
        ))
    }

    pub(crate) fn entry(&self, k: &RelKey) -> Option<&RelEntry> {
        self.relations.get(k)
    }
}
