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
pub mod group;
pub mod handlers;
pub mod kafka_env;
pub mod kafka_tools;
pub mod listener;
pub mod log;
pub mod meta;
pub mod quota;
pub mod server;
pub mod testing;
pub mod tls;
pub mod txn;
mod walls;
