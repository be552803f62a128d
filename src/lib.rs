//! morningpost: an email newsletter delivery pipeline.
//!
//! issue file → [`issue`] (parse) → [`render`] (HTML + text, once per issue) →
//! [`mail`] (per-recipient message) → transport, through the [`store`]'s queue and the
//! [`queue`] worker; [`http`] serves the reader's pages. `docs/architecture.md` has the
//! whole picture, the layering and the decisions.

pub mod bounce;
pub mod cli;
pub mod clock;
pub mod config;
pub mod dns;
pub mod doctor;
pub mod domain;
pub mod feedback;
pub mod group_commit;
pub mod http;
pub mod issue;
pub mod logging;
pub mod mail;
pub mod mailbox;
pub mod metrics;
pub mod preview;
pub mod queue;
pub mod render;
pub mod report;
pub mod secret;
pub mod send;
pub mod serve;
pub mod store;
pub mod subscribers;
