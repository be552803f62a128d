//! morningpost: an email newsletter delivery pipeline.
//!
//! issue file → [`issue`] (parse) → [`render`] (HTML + text, once per issue) →
//! [`mail`] (per-recipient message) → transport. See `DESIGN.md` for the whole picture.

pub mod cli;
pub mod config;
pub mod demo;
pub mod domain;
pub mod http;
pub mod issue;
pub mod mail;
pub mod queue;
pub mod render;
pub mod store;
