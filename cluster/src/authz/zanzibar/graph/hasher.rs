//! A small, fast multiplicative hasher for integer keys (interned symbols).
//!
//! Only used for maps keyed by symbols that the graph assigns itself (sequential `u32`s), so
//! hash flooding through chosen strings is not possible; string keys use the std hasher.

use std::hash::{BuildHasher, Hasher};

const SEED: u64 = 0x9e37_79b9_7f4a_7c15;

/// Builds [`SymHasher`]s; zero-sized so it adds no bytes to each map.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SymHashBuilder;

impl BuildHasher for SymHashBuilder {
    type Hasher = SymHasher;
    fn build_hasher(&self) -> SymHasher {
        SymHasher { hash: 0 }
    }
}

/// Rotate-xor-multiply hasher with a final rotation so the high-quality bits land low.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SymHasher {
    hash: u64,
}

impl SymHasher {
    fn add(&mut self, v: u64) {
        self.hash = (self.hash.rotate_left(5) ^ v).wrapping_mul(SEED);
    }
}

impl Hasher for SymHasher {
    fn finish(&self) -> u64 {
        self.hash.rotate_left(26)
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            for (d, s) in buf.iter_mut().zip(chunk) {
                *d = *s;
            }
            self.add(u64::from_le_bytes(buf));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
}
