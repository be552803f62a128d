//! The subscriber list as data (docs/architecture.md decision 29): imports that never
//! revive an address, lossless export and restore, migration from other tools' exports,
//! the suppression list and erasure. The CLI calls these and prints; an admin API could too.

pub mod backlog;
pub mod backup;
pub mod cells;
pub mod confirmations;
pub mod import;
mod input;
pub mod intake;
pub mod sources;
pub mod times;

pub use import::{ImportOptions, ImportReport, import_file};
pub use sources::Format;
