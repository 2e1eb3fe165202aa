//! The transaction coordinator: `coordinator.rs` is the pure state machine (time passed
//! in, no I/O); `service.rs` is its async face, which persists its records, writes the
//! markers it asks for and applies transactional offsets.

mod coordinator;
mod service;
#[cfg(test)]
mod tests;

pub use coordinator::{
    Completion, End, Init, ListFilter, TxnConfig, TxnCoordinator, TxnError, DEFAULT_MAX_TIMEOUT_MS,
};
pub use service::{TxnFailure, TxnService};

/// Rill is the only transaction coordinator and never changes: its markers carry epoch 0.
pub const COORDINATOR_EPOCH: i32 = 0;
