//! Turning rendered parts into RFC 5322 messages (bytes), signing them, and sending them.

pub mod dkim;
pub mod encode;
pub mod message;
pub mod transport;

pub use message::{IssueMessage, ListHeaders, MessageHeaders, Recipient, assemble, message_id};
