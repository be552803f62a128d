//! One small message through the transport the settings name, as a worker slot would send
//! it: the tests of how a server's answers are classified.

use lettre::address::Envelope;
use morningpost::config::Settings;
use morningpost::mail::transport::{SendFailure, Transport};

/// The failure, or the server's reply to the final dot.
pub fn send_one(settings: &Settings) -> Result<String, SendFailure> {
    let transport = Transport::from_settings(settings).expect("transport");
    let envelope = Envelope::new(
        Some("morning@example.com".parse().expect("from")),
        vec!["reader@example.com".parse().expect("to")],
    )
    .expect("envelope");
    let message = b"From: <morning@example.com>\r\nTo: <reader@example.com>\r\nSubject: hi\r\nMessage-ID: <1@example.com>\r\n\r\nHello.\r\n";
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async {
            let mut sender = transport.sender(0);
            let result = sender.send(&envelope, "<1@example.com>", message).await;
            sender.close().await;
            result
        })
}
