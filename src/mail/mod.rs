//! Turning rendered parts into RFC 5322 messages (bytes), signing them, and sending them.

pub mod dkim;
pub mod encode;
pub mod message;
pub mod outbox;
pub mod pem;
pub mod send_failure;
mod smtp_data;
mod smtp_session;
pub mod smtp_target;
pub mod transport;

pub use message::{
    IssueMessage, ListHeaders, MessageError, MessageHeaders, Recipient, assemble, message_id,
    parse_message_id,
};
pub use smtp_session::SessionCheck;
