//! Rate limits: how many requests of a class one caller may make per window.
//!
//! Counted where an org's request is served: the shard leader for reads, writes and protocol
//! requests (every frontend forwards those there, so the count is the cluster's), the answering
//! replica for authorization questions (any replica answers them, so a caller spreading
//! questions over `n` replicas can get up to `n` times the limit: the documented
//! approximation). The serving node hands the caller's [`Quota`] back with the reply, and the
//! frontend turns it into `X-RateLimit-*` headers ([`slot`]).

mod class;
mod limits;
mod slot;
mod windows;

pub use class::{RateClass, Subject};
pub use limits::OrgLimits;
pub use slot::{Quota, QuotaSlot, current_slot, record, with_slot};
pub use windows::Limiter;
