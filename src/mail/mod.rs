//! Turning rendered parts into RFC 5322 messages (bytes), signing them, and sending them.

pub mod encode;
pub mod message;

pub use message::{IssueMessage, ListHeaders, MessageHeaders, Recipient, assemble, message_id};
