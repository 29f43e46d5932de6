//! Load generation, fault injection and verification for Lumo: the `lumo-load` benchmark
//! runner and latency statistics, operation histories and their linearizability checker, and
//! the `lumo-chaos` scenario that kills and partitions real `lumod` processes under load.

pub mod checker;
pub mod history;
pub mod load;
pub mod oauth_bench;
pub mod procs;
pub mod stats;
