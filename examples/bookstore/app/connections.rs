//! Accepting and serving connections: HTTP/1.1 with a header timeout, a cap on concurrent
//! connections with a reserve for `/health`, and a graceful shutdown.
//!
//! `axum::serve` sets no timer on hyper, so a client could hold a connection open forever by
//! sending its request head a byte at a time, or by never sending one; this serves with hyper
//! directly instead.

use std::convert::Infallible;
use std::io;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::{Service, ServiceExt};

use super::error::ApiError;
use super::pages::HEALTH_PATH;

/// Connections beyond [`ConnectionLimits::max_connections`] that are served `GET /health` and
/// nothing else (503 for the rest), one request each. At the cap the app is busy, not dead: a
/// load balancer or orchestrator that saw its health check refused would take it out of rotation
/// or restart it, and so turn a burst of traffic into an outage. A few slots are enough for the
/// probes; past them a connection is closed at once.
const HEALTH_RESERVE: usize = 8;

/// How long and how many connections may stay open.
#[derive(Clone, Debug)]
pub(crate) struct ConnectionLimits {
    /// A connection is closed when it hasn't sent a whole request head this long after it
    /// opened or after its last answer. hyper runs one timer for both: `State::idle` restarts
    /// the header read, and with it the timeout, as soon as an answer is written (hyper 1.x,
    /// `proto/h1/conn.rs`), so a keep-alive connection can't idle past it either.
    pub(crate) header_timeout: Duration,
    /// Connections served at once; beyond them see [`HEALTH_RESERVE`].
    pub(crate) max_connections: NonZeroUsize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(30),
            max_connections: const { NonZeroUsize::new(1024).expect("not zero") },
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting and waits for the
/// open connections: requests in flight finish, idle connections close.
///
/// HTTP/1.1 only: HTTP/2 has no request-head timeout, so a cleartext HTTP/2 client could hold
/// connections idle; put a TLS proxy in front for HTTP/2.
pub(crate) async fn serve<S>(
    listener: TcpListener,
    app: S,
    limits: &ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) where
    S: Service<Request<Incoming>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let mut reserve_http = http.clone();
    reserve_http.keep_alive(false);
    let slots = Arc::new(Semaphore::new(limits.max_connections.get()));
    let reserve = Arc::new(Semaphore::new(HEALTH_RESERVE));
    let graceful = GracefulShutdown::new();

    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    accept_failed(err).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Ok(slot) = Arc::clone(&slots).try_acquire_owned() {
            spawn(&http, &graceful, stream, app.clone(), slot);
        } else if let Ok(slot) = Arc::clone(&reserve).try_acquire_owned() {
            tracing::debug!("at the connection cap: serving /health only");
            spawn(
                &reserve_http,
                &graceful,
                stream,
                health_only(app.clone()),
                slot,
            );
        } else {
            tracing::debug!("at the connection cap and its reserve: connection closed");
        }
    }
    // New connections are refused from here on, not queued.
    drop(listener);
    graceful.shutdown().await;
}

/// Serves one connection on its own task; its slot frees when the connection closes.
fn spawn<S>(
    http: &http1::Builder,
    graceful: &GracefulShutdown,
    stream: TcpStream,
    service: S,
    slot: OwnedSemaphorePermit,
) where
    S: Service<Request<Incoming>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let connection = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
    let connection = graceful.watch(connection);
    tokio::spawn(async move {
        // A client that went away or timed out: nothing for the log above debug.
        if let Err(err) = connection.await {
            tracing::debug!(error = %err, "connection ended with an error");
        }
        drop(slot);
    });
}

/// `app` for `GET /health`; a 503 for anything else.
fn health_only<S>(
    app: S,
) -> impl Service<Request<Incoming>, Response = Response, Error = Infallible, Future: Send>
+ Clone
+ Send
+ 'static
where
    S: Service<Request<Incoming>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    tower::service_fn(move |req: Request<Incoming>| {
        let app = app.clone();
        async move {
            let health = matches!(*req.method(), Method::GET | Method::HEAD)
                && req.uri().path() == HEALTH_PATH;
            if health {
                app.oneshot(req).await
            } else {
                Ok(ApiError::over_capacity().into_response())
            }
        }
    })
}

/// What `axum::serve` does: a connection reset before it was accepted is nothing; anything else
/// (out of file descriptors) is logged and waited out, so the loop doesn't spin.
async fn accept_failed(err: io::Error) {
    if matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!("accept error: {err}");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
