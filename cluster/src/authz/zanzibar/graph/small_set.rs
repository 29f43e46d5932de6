//! A set that is a tight `Vec` while small and a hash set when large.

use std::collections::HashSet;
use std::hash::Hash;

use super::hasher::SymHashBuilder;
use super::memory::hash_table_bytes;

/// Above this many elements the set switches to hashing.
const SMALL_MAX: usize = 8;

/// Set with O(1) membership: linear scan over at most [`SMALL_MAX`] items, else hashed.
#[derive(Debug, Clone)]
pub(crate) enum SmallSet<T> {
    Small(Vec<T>),
    Large(HashSet<T, SymHashBuilder>),
}

impl<T> Default for SmallSet<T> {
    fn default() -> Self {
        Self::Small(Vec::new())
    }
}

impl<T: Copy + Eq + Hash> SmallSet<T> {
    pub(crate) fn contains(&self, v: &T) -> bool {
        match self {
            Self::Small(items) => items.contains(v),
            Self::Large(set) => set.contains(v),
        }
    }

    /// Inserts; false if already present.
    pub(crate) fn insert(&mut self, v: T) -> bool {
        match self {
            Self::Small(items) => {
                if items.contains(&v) {
                    return false;
                }
                if items.len() < SMALL_MAX {
                    items.reserve_exact(1);
                    items.push(v);
                } else {
                    let mut set: HashSet<T, SymHashBuilder> =
                        HashSet::with_capacity_and_hasher(items.len() * 2, SymHashBuilder);
                    set.extend(items.iter().copied());
                    set.insert(v);
                    *self = Self::Large(set);
                }
                true
            }
            Self::Large(set) => set.insert(v),
        }
    }

    /// Removes; false if absent.
    pub(crate) fn remove(&mut self, v: &T) -> bool {
        match self {
            Self::Small(items) => match items.iter().position(|x| x == v) {
                Some(i) => {
                    items.swap_remove(i);
                    items.shrink_to_fit();
                    true
                }
                None => false,
            },
            Self::Large(set) => {
                let removed = set.remove(v);
                if removed && set.len() <= SMALL_MAX / 2 {
                    *self = Self::Small(set.iter().copied().collect());
                }
                removed
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Small(items) => items.len(),
            Self::Large(set) => set.len(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn iter(&self) -> Iter<'_, T> {
        match self {
            Self::Small(items) => Iter::Small(items.iter()),
            Self::Large(set) => Iter::Large(set.iter()),
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            Self::Small(items) => items.capacity() * std::mem::size_of::<T>(),
            Self::Large(set) => hash_table_bytes(set.capacity(), std::mem::size_of::<T>()),
        }
    }
}

/// Iterator over a [`SmallSet`].
pub(crate) enum Iter<'a, T> {
    Small(std::slice::Iter<'a, T>),
    Large(std::collections::hash_set::Iter<'a, T>),
}

impl<T: Copy> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        match self {
            Self::Small(i) => i.next().copied(),
            Self::Large(i) => i.next().copied(),
        }
    }
}
