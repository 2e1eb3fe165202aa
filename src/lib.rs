//! Rill: a Kafka wire-protocol-compatible broker in one small binary.
//! See ARCHITECTURE.md for the map of the code.
#![deny(unsafe_code)]

pub mod acl;
pub mod admin;
pub mod auth;
pub mod bench;
pub mod broker;
pub mod cli;
pub mod client;
pub mod config;
#[cfg(feature = "testcontainers")]
pub mod containers;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod group;
pub mod handlers;
pub mod http;
pub mod kafka_env;
pub mod kafka_tools;
pub mod listener;
pub mod log;
pub mod meta;
pub mod metrics;
pub mod quota;
pub mod server;
pub mod testing;
pub mod tls;
pub mod txn;
mod walls;

// Unit tests run on the allocator the binary uses (main.rs): kafka-protocol reserves arrays
// from the counts on the wire, which jemalloc does lazily and the system allocator refuses
// (see ARCHITECTURE.md, "Hostile frames"); the fuzz corpora replayed in `fuzzing` hold such
// frames.
#[cfg(test)]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
