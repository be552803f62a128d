//! Every metric's name and labels, written once: the worker, the HTTP routes and the
//! feedback paths call these, docs/metrics.md describes them, and the Grafana dashboard and
//! alert rules (deploy/) query them. A label value is always drawn from a bounded set
//! (outcomes, routes, code classes, the top recipient domains plus `other`, the relays of
//! the configuration, the issues sent).

use metrics::{counter, gauge, histogram};

pub const DELIVERIES: &str = "morningpost_deliveries_total";
pub const SMTP_REPLIES: &str = "morningpost_smtp_replies_total";
pub const SMTP_CONNECT: &str = "morningpost_smtp_connect_seconds";
pub const SMTP_TRANSACTION: &str = "morningpost_smtp_transaction_seconds";
pub const RELAY_UP: &str = "morningpost_relay_up";
pub const RELAY_RATE_LIMIT: &str = "morningpost_relay_rate_limit_per_second";
pub const RELAY_THROTTLED: &str = "morningpost_relay_throttled_total";
pub const FEEDBACK: &str = "morningpost_feedback_total";
pub const SIGNUPS: &str = "morningpost_signups_total";
pub const SIGNUPS_RELEASED: &str = "morningpost_signups_released_total";
pub const SIGNUPS_HELD: &str = "morningpost_signups_held";
pub const CONFIRMATIONS: &str = "morningpost_confirmations_total";
pub const UNSUBSCRIBES: &str = "morningpost_unsubscribes_total";
pub const HTTP_REQUESTS: &str = "morningpost_http_requests_total";
pub const QUEUE_DEPTH: &str = "morningpost_queue_deliveries";
pub const DATABASE_UP: &str = "morningpost_database_up";
pub const DATABASE_READING_AGE: &str = "morningpost_database_reading_age_seconds";
pub const PAUSED_SENDS: &str = "morningpost_sends_paused";
pub const CONFIRMATIONS_WAITING: &str = "morningpost_confirmations_waiting";
pub const CONFIRMATION_BUDGET: &str = "morningpost_confirmation_budget_per_hour";
pub const BUDGET_EXHAUSTED_SINCE: &str = "morningpost_confirmation_budget_exhausted_since_seconds";
pub const WORKER_SLOTS: &str = "morningpost_worker_slots";
pub const WORKER_IN_FLIGHT: &str = "morningpost_worker_in_flight";
pub const BUILD_INFO: &str = "morningpost_build_info";

/// What one attempt at a delivery came to, as the worker saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The relay accepted the message (250 to its final dot).
    Sent,
    /// A 4xx for this recipient or message: tried again later.
    Retried,
    /// The relay could not be used, or pushed back (throttling): back to the queue, not
    /// counted against the recipient.
    Deferred,
    /// A 5xx for this recipient or message at send time.
    Refused,
    /// Given up: retries exhausted, or the message cannot be built.
    Failed,
    /// Not sent: the reader left, or the send was cancelled.
    Cancelled,
    /// Claimed but handed back unstarted (shutdown, a paused send, a short lease).
    Released,
    /// The relay asked us to slow down: back to the queue as it was.
    Throttled,
}

impl DeliveryOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Retried => "retried",
            Self::Deferred => "deferred",
            Self::Refused => "refused",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Released => "released",
            Self::Throttled => "throttled",
        }
    }
}

/// Where one delivery went: the issue (its slug, or `confirmation`), the recipient's
/// domain label ([`super::DomainLabels`]) and the relay.
pub struct DeliveryLabels<'a> {
    pub issue: &'a str,
    pub domain: &'a str,
    pub relay: &'a str,
}

pub fn delivery(outcome: DeliveryOutcome, at: &DeliveryLabels<'_>) {
    counter!(DELIVERIES,
        "outcome" => outcome.as_str(),
        "issue" => at.issue.to_owned(),
        "domain" => at.domain.to_owned(),
        "relay" => at.relay.to_owned())
    .increment(1);
}

/// An SMTP reply that ended a transaction: its class (`2xx`, `4xx`, `5xx`) and its enhanced
/// status code (RFC 3463), `none` when it has none; replies we did not get (a timeout, a
/// lost connection) are `none` / `none`.
pub fn smtp_reply(relay: &str, reply: &str) {
    // The reply is read for its code only where metrics are served.
    if !super::installed() {
        return;
    }
    let code = crate::domain::reply_code(reply).unwrap_or_default();
    let mut words = code.split(' ');
    let class = match words.next().and_then(|c| c.chars().next()) {
        Some('2') => "2xx",
        Some('4') => "4xx",
        Some('5') => "5xx",
        _ => "none",
    };
    let enhanced = words.next().unwrap_or("none").to_owned();
    counter!(SMTP_REPLIES,
        "relay" => relay.to_owned(),
        "class" => class,
        "enhanced" => enhanced)
    .increment(1);
}

/// Opening a session: TCP, greeting, EHLO, STARTTLS and AUTH.
pub fn connect_seconds(relay: &str, seconds: f64) {
    histogram!(SMTP_CONNECT, "relay" => relay.to_owned()).record(seconds);
}

/// One transaction: MAIL FROM to the reply to the final dot.
pub fn transaction_seconds(relay: &str, seconds: f64) {
    histogram!(SMTP_TRANSACTION, "relay" => relay.to_owned()).record(seconds);
}

/// Whether a relay is in use (1) or taken out after failures (0).
pub fn relay_up(relay: &str, up: bool) {
    gauge!(RELAY_UP, "relay" => relay.to_owned()).set(if up { 1.0 } else { 0.0 });
}

/// The rate a relay is paced at now (its adaptive limit); 0 when it is not paced.
pub fn relay_rate_limit(relay: &str, per_second: f64) {
    gauge!(RELAY_RATE_LIMIT, "relay" => relay.to_owned()).set(per_second);
}

/// A throttling reply from a relay (it slowed us down).
pub fn relay_throttled(relay: &str) {
    counter!(RELAY_THROTTLED, "relay" => relay.to_owned()).increment(1);
}

/// A late report about a delivery, by class: `hard`, `soft`, `refused` (the receiver
/// refused the message, not the address) or `complaint`. Counted where reports are recorded:
/// the SES webhook in `serve`, and `bounces ingest`, whose own process is not scraped.
pub fn feedback(kind: &'static str) {
    counter!(FEEDBACK, "kind" => kind).increment(1);
}

/// A sign-up request, by what came of it: the store's outcome (`created`, `resent`,
/// `too soon`, `reactivated`, `already active`, `bounced`, `blocked`), or refused before
/// it (`invalid`, `cross-site`, `honeypot`, `limited`, and the form's stamp: `too_fast`,
/// `forged_stamp`, `no_stamp`).
pub fn signup(result: &'static str) {
    counter!(SIGNUPS, "result" => result).increment(1);
}

/// A sign-up held in the inbox, stored now, by what came of it.
pub fn signup_released(result: &'static str) {
    counter!(SIGNUPS_RELEASED, "result" => result).increment(1);
}

pub fn confirmation() {
    counter!(CONFIRMATIONS).increment(1);
}

/// `via`: `link`, `one-click` or `mail` (the words of `subscribers.left_via`).
pub fn unsubscribe(via: &'static str) {
    counter!(UNSUBSCRIBES, "via" => via).increment(1);
}

/// One HTTP response: the route's pattern (never the raw path) and the status code.
pub fn http_request(route: &'static str, status: u16) {
    counter!(HTTP_REQUESTS, "route" => route, "status" => status.to_string()).increment(1);
}

/// A worker's size and load, for "workers gone" and "queue not draining".
pub fn worker_slots(slots: usize) {
    gauge!(WORKER_SLOTS).set(slots as f64);
}

pub fn worker_in_flight(delta: f64) {
    gauge!(WORKER_IN_FLIGHT).increment(delta);
}

/// The queue's rows by state, read from the database at the scrape.
pub fn queue_depth(state: &'static str, rows: i64) {
    gauge!(QUEUE_DEPTH, "state" => state).set(rows as f64);
}

/// Sends on hold as paused: their rows are in no queue count.
pub fn paused_sends(sends: i64) {
    gauge!(PAUSED_SENDS).set(sends as f64);
}

/// The sign-up backlog: confirmation mail waiting, the hourly budget, and since when (Unix
/// seconds) it has been exhausted, 0 when it is not.
pub fn confirmation_backlog(
    waiting: i64,
    held: i64,
    per_hour: Option<i64>,
    exhausted_since: Option<i64>,
) {
    gauge!(CONFIRMATIONS_WAITING).set(waiting as f64);
    gauge!(SIGNUPS_HELD).set(held as f64);
    if let Some(per_hour) = per_hour {
        gauge!(CONFIRMATION_BUDGET).set(per_hour as f64);
    }
    gauge!(BUDGET_EXHAUSTED_SINCE).set(exhausted_since.map_or(0.0, |ms| ms as f64 / 1000.0));
}

/// How old the database's gauges are (they are read in the background).
pub fn database_reading_age(age: std::time::Duration) {
    gauge!(DATABASE_READING_AGE).set(age.as_secs_f64());
}

pub fn database_up(up: bool) {
    gauge!(DATABASE_UP).set(if up { 1.0 } else { 0.0 });
}

pub(super) fn build_info() {
    gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
}
