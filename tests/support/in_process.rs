//! The server in the test's own process (zero2prod's `spawn_app`): the library's
//! `serve::run` on a port of its own, against the App's fresh database, with the outbox
//! folder as the transport that records what was sent. No binary to start and no process
//! to wait for, so a behaviour test runs in milliseconds; the end-to-end tests keep the
//! binary for what only a process shows (signals, exit codes, open-file limits).

use std::time::{Duration, Instant};

use morningpost::config::Settings;
use morningpost::http::{AppState, Limits};
use morningpost::queue::Worker;
use morningpost::store::Store;
use tokio::sync::watch;

use super::app::App;
use super::http::get;

pub struct InProcessServer {
    pub port: u16,
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<bool>>,
}

impl InProcessServer {
    /// Serves `app`'s settings (links point at this server); with a worker when asked.
    pub fn start(app: &mut App, with_worker: bool) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        listener.set_nonblocking(true).expect("non-blocking socket");
        let port = listener.local_addr().expect("bound address").port();
        app.set("MORNINGPOST_BIND", &format!("127.0.0.1:{port}"));
        app.set("MORNINGPOST_BASE_URL", &format!("http://127.0.0.1:{port}"));
        let settings = Settings::from_sources(None, &app.env).expect("valid test settings");
        let (stop, shutdown) = watch::channel(false);
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let store = Store::connect_with(settings.database_url.expose(), &settings.database)
                    .await
                    .expect("open the test database");
                let worker = with_worker.then(|| {
                    Worker::from_settings(&settings, &store).expect("a worker from the settings")
                });
                let key = settings.token_key().expect("the test key");
                let state = AppState::new(&settings, store, key)
                    .await
                    .expect("the app state");
                let listener =
                    tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
                morningpost::serve::run(
                    listener,
                    state,
                    Limits::from_settings(&settings),
                    worker,
                    shutdown,
                )
                .await
                .is_ok()
            })
        });
        let server = Self {
            port,
            stop,
            thread: Some(thread),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while get(port, "/healthz").status != 200 {
            assert!(
                Instant::now() < deadline,
                "the in-process server did not come up on port {port}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        server
    }

    /// Stops like SIGTERM would; true when the server and its worker stopped cleanly.
    pub fn stop(mut self) -> bool {
        self.shut_down()
    }

    fn shut_down(&mut self) -> bool {
        let _ = self.stop.send(true);
        self.thread
            .take()
            .is_some_and(|t| t.join().unwrap_or(false))
    }
}

impl Drop for InProcessServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}
