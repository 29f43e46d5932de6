//! Symbol keys and the per-(object, relation) subject entry.

use super::interner::Sym;
use super::small_set::{Iter, SmallSet};

/// An interned object `type:id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ObjKey {
    pub(crate) ty: Sym,
    pub(crate) id: Sym,
}

/// An interned `type:id#relation` (a tuple's object side, or a userset subject).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct RelKey {
    pub(crate) obj: ObjKey,
    pub(crate) rel: Sym,
}

/// Rarely used parts of an entry, boxed so plain entries stay small.
#[derive(Debug, Clone, Default)]
struct Extra {
    usersets: SmallSet<RelKey>,
    wildcards: Vec<Sym>,
}

/// Subjects of one (object, relation): concrete subjects, usersets and wildcard types.
#[derive(Debug, Clone, Default)]
pub(crate) struct RelEntry {
    direct: SmallSet<ObjKey>,
    extra: Option<Box<Extra>>,
}

impl RelEntry {
    pub(crate) fn contains_direct(&self, s: &ObjKey) -> bool {
        self.direct.contains(s)
    }

    pub(crate) fn direct(&self) -> Iter<'_, ObjKey> {
        self.direct.iter()
    }

    pub(crate) fn contains_userset(&self, u: &RelKey) -> bool {
        self.extra.as_ref().is_some_and(|e| e.usersets.contains(u))
    }

    pub(crate) fn usersets(&self) -> impl Iterator<Item = RelKey> + '_ {
        self.extra.iter().flat_map(|e| e.usersets.iter())
    }

    pub(crate) fn has_wildcard(&self, ty: Sym) -> bool {
        self.wildcards().contains(&ty)
    }

    pub(crate) fn wildcards(&self) -> &[Sym] {
        self.extra.as_ref().map_or(&[], |e| &e.wildcards)
    }

    pub(crate) fn insert_direct(&mut self, s: ObjKey) -> bool {
        self.direct.insert(s)
    }

    pub(crate) fn remove_direct(&mut self, s: &ObjKey) -> bool {
        self.direct.remove(s)
    }

    pub(crate) fn insert_userset(&mut self, u: RelKey) -> bool {
        self.extra.get_or_insert_default().usersets.insert(u)
    }

    pub(crate) fn remove_userset(&mut self, u: &RelKey) -> bool {
        let removed = self.extra.as_mut().is_some_and(|e| e.usersets.remove(u));
        self.compact();
        removed
    }

    pub(crate) fn insert_wildcard(&mut self, ty: Sym) -> bool {
        let e = self.extra.get_or_insert_default();
        if e.wildcards.contains(&ty) {
            return false;
        }
        e.wildcards.push(ty);
        true
    }

    pub(crate) fn remove_wildcard(&mut self, ty: Sym) -> bool {
        let removed = self.extra.as_mut().is_some_and(|e| {
            let before = e.wildcards.len();
            e.wildcards.retain(|w| *w != ty);
            e.wildcards.len() != before
        });
        self.compact();
        removed
    }

    fn compact(&mut self) {
        if self
            .extra
            .as_ref()
            .is_some_and(|e| e.usersets.is_empty() && e.wildcards.is_empty())
        {
            self.extra = None;
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.direct.is_empty() && self.extra.is_none()
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.direct.heap_bytes()
            + self.extra.as_ref().map_or(0, |e| {
                std::mem::size_of::<Extra>()
                    + e.usersets.heap_bytes()
                    + e.wildcards.capacity() * std::mem::size_of::<Sym>()
            })
    }
}
