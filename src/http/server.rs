//! The accept loop, on hyper's HTTP/1 with our own limits: every connection holds a slot
//! (slots.rs), must send its request head within the header timeout, is closed after the idle
//! timeout between requests, and request bodies have their own deadline (read_body.rs). A
//! connection past the cap is answered 503, not left in the kernel's queue. On SIGTERM the
//! listener closes, idle connections close, and requests in progress get until the shutdown
//! deadline.

use std::future::pending;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::ServiceExt;

use super::open_files;
use super::slots::{Slot, Slots};
use crate::config::Settings;

/// How long to wait after `accept` fails for want of a file descriptor or memory: the
/// failure repeats at once, and a loop that retries at once only burns the CPU.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// At most one log line per this long about failing accepts.
const ACCEPT_LOG_EVERY: Duration = Duration::from_secs(10);
/// Connections being told "503" at once (each has a file descriptor until it is told).
pub const BUSY_ANSWERS: usize = 32;
/// How long a closing connection without a request may take to send a response's last bytes.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// How long telling a connection "503" may take.
const BUSY_ANSWER_TIME: Duration = Duration::from_secs(1);

const BUSY_RESPONSE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Length: 43\r\n\
Retry-After: 1\r\n\
X-Content-Type-Options: nosniff\r\n\
Connection: close\r\n\
\r\n\
The server is busy: try again in a moment.\n";

/// The connection limits `serve` works within.
#[derive(Debug, Clone)]
pub struct Limits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    pub shutdown_timeout: Duration,
}

impl Limits {
    /// From the settings, with the connection cap lowered to what the open-file limit allows.
    pub fn from_settings(settings: &Settings) -> Self {
        let http = &settings.http;
        let wanted = http.max_connections;
        let budget = open_files::connections_allowed(wanted, settings.database.pool_size);
        if budget.connections < wanted {
            tracing::warn!(
                "http_max_connections is {wanted} but the open-file limit is {}: serving at most \
                 {} connections at once; raise LimitNOFILE (ulimit -n) to serve more",
                budget.limit.unwrap_or_default(),
                budget.connections,
            );
        }
        Self {
            header_timeout: http.header_timeout,
            idle_timeout: http.idle_timeout,
            max_connections: budget.connections,
            shutdown_timeout: http.shutdown_timeout,
        }
    }
}

/// Resolves once `shutdown` turns true; never if its sender is gone without saying so.
async fn stop_requested(shutdown: &mut watch::Receiver<bool>) {
    if shutdown.wait_for(|stop| *stop).await.is_err() {
        pending::<()>().await;
    }
}

/// Serves until `shutdown` turns true, then lets requests in progress finish until the
/// shutdown deadline, and closes what is left.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    mut shutdown: watch::Receiver<bool>,
    limits: Limits,
) {
    let slots = Slots::new(limits.max_connections);
    let busy_answers = Arc::new(Semaphore::new(BUSY_ANSWERS));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let http = Arc::new(http);
    let mut connections = JoinSet::new();
    let mut answering = JoinSet::new();
    let mut failing_accepts = AcceptFailures::default();
    loop {
        reap(&mut connections);
        reap(&mut answering);
        let accepted = tokio::select! {
            () = stop_requested(&mut shutdown) => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            // The client gave up before we took it: nothing to do.
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                failing_accepts.log(&e);
                // An idle connection's descriptor is worth more to the next client.
                slots.close_oldest_idle();
                tokio::select! {
                    () = stop_requested(&mut shutdown) => break,
                    () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                }
            }
        };
        let _ = stream.set_nodelay(true);
        match slots.admit().await {
            Some(slot) => {
                connections.spawn(connection(
                    slot,
                    stream,
                    peer,
                    app.clone(),
                    Arc::clone(&http),
                    limits.idle_timeout,
                ));
            }
            None => match Arc::clone(&busy_answers).try_acquire_owned() {
                Ok(permit) => {
                    answering.spawn(async move {
                        let _permit = permit;
                        answer_busy(stream).await;
                    });
                }
                // Too many to tell: closing is the answer.
                Err(_) => drop(stream),
            },
        }
    }
    drop(listener);
    slots.close_all();
    let open = slots.open();
    if open > 0 {
        tracing::info!(
            "stopping: {open} connection(s) open, waiting up to {} s for requests in progress",
            limits.shutdown_timeout.as_secs()
        );
    }
    let drained = tokio::time::timeout(limits.shutdown_timeout, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            "closing {} connection(s) with requests still in progress after the shutdown \
             deadline (http_shutdown_timeout_seconds = {})",
            connections.len(),
            limits.shutdown_timeout.as_secs()
        );
    }
    connections.shutdown().await;
    answering.shutdown().await;
}

/// Collects the connections that ended; a panic in one is logged, not lost.
fn reap(tasks: &mut JoinSet<()>) {
    while let Some(ended) = tasks.try_join_next() {
        if let Err(e) = ended
            && e.is_panic()
        {
            tracing::error!(error = %e, "a connection's task panicked");
        }
    }
}

/// Errors of one connection that came and went, not of the listener.
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::Interrupted
    )
}

#[derive(Default)]
struct AcceptFailures {
    logged_at: Option<Instant>,
    since: u64,
}

impl AcceptFailures {
    fn log(&mut self, e: &std::io::Error) {
        self.since += 1;
        if self
            .logged_at
            .is_some_and(|at| at.elapsed() < ACCEPT_LOG_EVERY)
        {
            return;
        }
        tracing::error!(
            error = %e,
            failures = self.since,
            "cannot accept connections; closing idle ones and retrying (if this says too many \
             open files, raise LimitNOFILE or lower http_max_connections)"
        );
        self.logged_at = Some(Instant::now());
        self.since = 0;
    }
}

/// One connection, from its first byte to its close.
async fn connection(
    slot: Slot,
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    http: Arc<http1::Builder>,
    idle_timeout: Duration,
) {
    let conn = Arc::clone(&slot.conn);
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let in_progress = conn.request();
        let app = app.clone();
        async move {
            let response = app.oneshot(request).await;
            drop(in_progress);
            response
        }
    });
    let served = http.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(served);
    let conn = &slot.conn;
    loop {
        let idle_deadline = conn.idle_deadline(idle_timeout);
        let idle_over = async {
            match idle_deadline {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => pending().await,
            }
        };
        tokio::select! {
            result = served.as_mut() => return log_end(result, peer),
            () = conn.wake.notified() => if conn.closing() { break },
            () = idle_over => if conn.idle_deadline(idle_timeout).is_some_and(|d| d <= Instant::now()) { break },
        }
    }
    // A connection that never had a request has nothing to finish: a silent socket, or a
    // head still arriving (which hyper's graceful shutdown would wait for). Dropping it closes it.
    if conn.never_served() {
        return;
    }
    // Closes at once when idle; otherwise after the response in progress.
    served.as_mut().graceful_shutdown();
    loop {
        tokio::select! {
            result = served.as_mut() => return log_end(result, peer),
            () = conn.wake.notified() => {}
            // Without a request in progress only a response's last bytes can be left, to a
            // client that is not reading them.
            () = tokio::time::sleep(CLOSE_GRACE) => if conn.idle() { return },
        }
    }
}

fn log_end(result: hyper::Result<()>, peer: SocketAddr) {
    if let Err(e) = result {
        tracing::debug!(error = %e, %peer, "connection ended");
    }
}

/// Tells a client past the cap to come back, then closes once it has read that.
async fn answer_busy(mut stream: TcpStream) {
    let _ = tokio::time::timeout(BUSY_ANSWER_TIME, async {
        stream.write_all(BUSY_RESPONSE).await?;
        stream.shutdown().await?;
        // Read what the client sent until it closes: closing with unread data would reset
        // the connection, and a reset can destroy the 503 before the client reads it.
        let mut sink = [0u8; 1024];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<(), std::io::Error>(())
    })
    .await;
}

/// The 503 body's length is written by hand: keep it right.
#[cfg(test)]
mod tests {
    #[test]
    fn the_busy_response_states_its_length() {
        let text = std::str::from_utf8(super::BUSY_RESPONSE).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(body.len(), length);
    }
}
