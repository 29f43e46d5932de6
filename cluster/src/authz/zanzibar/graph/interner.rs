//! String interning: every distinct string gets a dense `u32` symbol.

use std::collections::HashMap;

use super::memory::{hash_table_bytes, string_bytes};

/// An interned string.
pub(crate) type Sym = u32;

/// Maps strings to symbols and back. Symbols are never freed (removing tuples keeps them).
#[derive(Debug, Default, Clone)]
pub(crate) struct Interner {
    map: HashMap<Box<str>, Sym>,
    strings: Vec<Box<str>>,
}

impl Interner {
    /// Returns the symbol for `s`, creating it if needed (None only if 2^32 symbols exist).
    pub(crate) fn intern(&mut self, s: &str) -> Option<Sym> {
        if let Some(&sym) = self.map.get(s) {
            return Some(sym);
        }
        let sym = Sym::try_from(self.strings.len()).ok()?;
        self.strings.push(s.into());
        self.map.insert(s.into(), sym);
        Some(sym)
    }

    /// Returns the symbol for `s` if it was interned.
    pub(crate) fn get(&self, s: &str) -> Option<Sym> {
        self.map.get(s).copied()
    }

    /// Returns the string of a symbol.
    pub(crate) fn resolve(&self, sym: Sym) -> Option<&str> {
        self.strings.get(sym as usize).map(|s| &**s)
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        let text: usize = self.strings.iter().map(|s| 2 * string_bytes(s.len())).sum();
        text + self.strings.capacity() * std::mem::size_of::<Box<str>>()
            + hash_table_bytes(self.map.capacity(), std::mem::size_of::<(Box<str>, Sym)>())
    }
}
