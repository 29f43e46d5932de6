//! Load generation and (later) fault injection for Lumo: the `lumo-load` benchmark runner
//! and its latency statistics.

pub mod load;
pub mod stats;
