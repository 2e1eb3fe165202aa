//! Raw request/response tests per API and version, against a real `rill serve`.

#[macro_use]
mod common;

mod acls;
mod admin;
mod api_versions;
mod bad_input;
mod bench;
mod configs;
mod groups;
mod idempotence;
mod list_offsets;
mod metadata;
mod metrics;
mod ops;
mod produce_fetch;
mod quotas;
mod replicas;
mod restart;
mod sasl;
mod transactions;
