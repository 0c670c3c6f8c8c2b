//! What every `serve`d service shares: request metrics, `/healthz` and
//! `/readyz`, the admin listener with `/metrics`, and a graceful stop that
//! turns unready at once, stops accepting, and drains in-flight requests for
//! at most the configured time.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::sync::watch;
use tracing::Instrument as _;

/// HTTP request latency by `service`, `method`, `route` and `status`.
pub const HTTP_DURATION: &str = "sigstack_http_request_duration_seconds";
/// gRPC request latency by `service`, `method` and `code`.
pub const GRPC_DURATION: &str = "sigstack_grpc_request_duration_seconds";

/// How long one readiness check may take before it counts as failing.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

type CheckFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// One named readiness check.
pub trait ReadinessCheck: Send + Sync {
    fn check(&self) -> CheckFuture<'static>;
}

/// A readiness check from an async closure.
pub struct CheckFn<F>(pub F);

impl<F, Fut> ReadinessCheck for CheckFn<F>
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    fn check(&self) -> CheckFuture<'static> {
        Box::pin((self.0)())
    }
}

/// The checks `/readyz` runs, and whether the service is stopping.
pub struct Readiness {
    checks: Vec<(&'static str, Arc<dyn ReadinessCheck>)>,
    stopping: AtomicBool,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readiness")
            .field(
                "checks",
                &self.checks.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Readiness {
    pub fn new() -> Self {
        Self {
            checks: Vec::new(),
            stopping: AtomicBool::new(false),
        }
    }

    #[must_use]
    pub fn with(mut self, name: &'static str, check: impl ReadinessCheck + 'static) -> Self {
        self.checks.push((name, Arc::new(check)));
        self
    }

    /// Runs every check at once. The answer names each check `ok` or
    /// `failing`; why one fails goes to the log only (the body is public on
    /// the API listener).
    async fn report(&self) -> (StatusCode, axum::Json<serde_json::Value>) {
        let stopping = self.stopping.load(Ordering::Acquire);
        let mut running = tokio::task::JoinSet::new();
        for (i, (name, check)) in self.checks.iter().enumerate() {
            let (name, check) = (*name, Arc::clone(check));
            running.spawn(async move {
                let result = match tokio::time::timeout(CHECK_TIMEOUT, check.check()).await {
                    Ok(result) => result,
                    Err(_) => Err(format!("no answer within {CHECK_TIMEOUT:?}")),
                };
                if let Err(why) = &result {
                    tracing::warn!(check = name, error = %why, "readiness check failing");
                }
                (i, name, result.is_ok())
            });
        }
        let mut results = running.join_all().await;
        results.sort_by_key(|(i, _, _)| *i);
        let results: Vec<(&str, bool)> = results.into_iter().map(|(_, n, ok)| (n, ok)).collect();
        let ready = !stopping && results.iter().all(|(_, ok)| *ok);
        let mut checks = serde_json::Map::new();
        for (name, ok) in results {
            checks.insert(name.into(), (if ok { "ok" } else { "failing" }).into());
        }
        if stopping {
            checks.insert("shutdown".into(), "stopping".into());
        }
        let status = if ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        let body = serde_json::json!({
            "status": if ready { "ready" } else { "unready" },
            "checks": checks,
        });
        (status, axum::Json(body))
    }
}

impl Default for Readiness {
    fn default() -> Self {
        Self::new()
    }
}

/// `/healthz` (alive) and `/readyz` over `readiness`.
pub fn health_routes(readiness: Arc<Readiness>) -> Router {
    Router::new()
        .route(
            "/healthz",
            get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/readyz", get(move || readyz(Arc::clone(&readiness))))
}

/// The `/readyz` answer.
pub async fn readyz(readiness: Arc<Readiness>) -> (StatusCode, axum::Json<serde_json::Value>) {
    readiness.report().await
}

/// The `/metrics` answer: the Prometheus text format.
pub fn metrics_text(
    metrics: &PrometheusHandle,
) -> ([(header::HeaderName, HeaderValue); 1], String) {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        metrics.render(),
    )
}

/// The admin listener's routes: health and `/metrics`.
pub fn admin_router(readiness: Arc<Readiness>, metrics: PrometheusHandle) -> Router {
    health_routes(readiness).route(
        "/metrics",
        get(move || std::future::ready(metrics_text(&metrics))),
    )
}

/// Records each request's latency under `service`: gRPC calls (by method
/// and status code) apart from HTTP ones (by matched route and status).
pub fn with_request_metrics(router: Router, service: &'static str) -> Router {
    router.layer(axum::middleware::from_fn_with_state(service, track))
}

async fn track(State(service): State<&'static str>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let grpc = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"));
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    // The path only for gRPC, where it names the method.
    let grpc_method = grpc.then(|| grpc_method(request.uri().path()));
    let method = method_label(request.method());
    // Route and method only: never the query, a header or the body, where
    // tokens and proofs travel.
    let span = tracing::info_span!(
        "request",
        service,
        method,
        route = %route,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    );
    let response = next.run(request).instrument(span.clone()).await;
    let seconds = started.elapsed().as_secs_f64();
    span.record("status", response.status().as_u16());
    span.record("latency_ms", seconds * 1000.0);
    span.in_scope(|| {
        if response.status().is_server_error() {
            tracing::warn!("request failed");
        } else {
            tracing::debug!("request");
        }
    });
    if let Some(grpc_method) = grpc_method {
        // Errors are trailers-only responses (grpc-status in the headers);
        // a unary success carries it in the trailers: 0.
        let code = response
            .headers()
            .get("grpc-status")
            .and_then(|v| v.to_str().ok())
            .map_or_else(|| "0".to_owned(), str::to_owned);
        metrics::histogram!(GRPC_DURATION, "service" => service, "method" => grpc_method, "code" => code)
            .record(seconds);
    } else {
        metrics::histogram!(HTTP_DURATION, "service" => service, "method" => method, "route" => route, "status" => response.status().as_u16().to_string())
            .record(seconds);
    }
    response
}

/// A known method name, so a client cannot mint label values.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

fn grpc_method(path: &str) -> &'static str {
    sigstack_ca::grpc::METHODS
        .iter()
        .find(|m| **m == path)
        .copied()
        .unwrap_or("other")
}

/// One listener of a service.
#[derive(Debug)]
pub struct Listener {
    pub address: SocketAddr,
    pub router: Router,
    pub what: &'static str,
}

/// Binds every listener first (a taken port fails the start before any
/// serves), then serves them and the admin listener until SIGTERM/Ctrl-C;
/// then turns unready, stops accepting and waits for in-flight requests for
/// at most `drain`. The caller commits open batches after this returns.
///
/// # Errors
/// A listener cannot be bound, or a server fails.
pub async fn serve_until_stopped(
    listeners: Vec<Listener>,
    admin: Option<(SocketAddr, Router)>,
    readiness: Arc<Readiness>,
    metrics: Option<PrometheusHandle>,
    drain: Duration,
) -> anyhow::Result<()> {
    let mut bound = Vec::new();
    for listener in listeners {
        let socket = tokio::net::TcpListener::bind(listener.address)
            .await
            .with_context(|| format!("binding {}", listener.address))?;
        bound.push((socket, listener.router, listener.what));
    }
    if let Some((address, router)) = admin {
        let socket = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("binding the admin listener {address}"))?;
        bound.push((socket, router, "admin (metrics, health)"));
    }
    if let Some(handle) = metrics {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                handle.run_upkeep();
            }
        });
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut servers = tokio::task::JoinSet::new();
    for (socket, router, what) in bound {
        let address = socket.local_addr()?;
        tracing::info!(listen = %address, "{what} serving");
        let mut stop = stop_rx.clone();
        servers.spawn(async move {
            axum::serve(no_delay(socket), router)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await
                .with_context(|| format!("{what} on {address}"))
        });
    }
    // A signal, or a server that ended on its own: either way the others stop too.
    let ended = tokio::select! {
        () = shutdown_signal() => {
            tracing::info!(drain_secs = drain.as_secs(), "stopping: unready, draining in-flight requests");
            None
        }
        Some(ended) = servers.join_next() => Some(ended),
    };
    readiness.stopping.store(true, Ordering::Release);
    let _ = stop_tx.send(true);
    drain_servers(&mut servers, drain).await;
    match ended {
        Some(ended) => ended.context("a server task")?,
        None => Ok(()),
    }
}

async fn drain_servers(servers: &mut tokio::task::JoinSet<anyhow::Result<()>>, drain: Duration) {
    let drained = tokio::time::timeout(drain, async {
        while let Some(ended) = servers.join_next().await {
            match ended {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(error = %format!("{e:#}"), "server failed"),
                Err(e) => tracing::error!(error = %e, "server task"),
            }
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            drain_secs = drain.as_secs(),
            "in-flight requests still running after the drain time: cut"
        );
        servers.abort_all();
    }
}

/// Answers leave at once: without TCP_NODELAY a response written in two
/// segments waits for the client's delayed ACK.
pub fn no_delay(
    listener: tokio::net::TcpListener,
) -> impl axum::serve::Listener<Addr = std::net::SocketAddr> {
    use axum::serve::ListenerExt as _;
    listener.tap_io(|stream| {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::warn!(error = %e, "TCP_NODELAY");
        }
    })
}

/// Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok() -> impl ReadinessCheck {
        CheckFn(|| std::future::ready(Ok(())))
    }

    #[tokio::test]
    async fn ready_only_when_every_check_passes_and_not_stopping() {
        let readiness = Readiness::new().with("database", ok()).with("keys", ok());
        let (status, body) = readiness.report().await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body.0["status"], "ready");
        assert_eq!(body.0["checks"]["database"], "ok");

        let failing = Readiness::new().with("database", ok()).with(
            "sequencer",
            CheckFn(|| std::future::ready(Err("ended: secret detail".to_owned()))),
        );
        let (status, body) = failing.report().await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body.0["checks"]["sequencer"], "failing");
        assert_eq!(body.0["checks"]["database"], "ok");
        assert!(
            !body.0.to_string().contains("secret detail"),
            "causes stay in the log"
        );

        readiness.stopping.store(true, Ordering::Release);
        let (status, body) = readiness.report().await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body.0["checks"]["shutdown"], "stopping");
    }

    #[tokio::test]
    async fn a_check_that_does_not_answer_fails_within_the_limit() {
        let readiness = Readiness::new().with(
            "database",
            CheckFn(|| async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok(())
            }),
        );
        let started = Instant::now();
        let (status, body) = readiness.report().await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body.0["checks"]["database"], "failing");
        assert!(started.elapsed() < CHECK_TIMEOUT + Duration::from_secs(1));
    }

    #[test]
    fn labels_are_bounded() {
        assert_eq!(
            method_label(&Method::from_bytes(b"BREW").expect("method")),
            "other"
        );
        assert_eq!(method_label(&Method::POST), "POST");
        assert_eq!(grpc_method("/dev.sigstore.fulcio.v2.CA/Anything"), "other");
        assert_eq!(
            grpc_method("/grpc.health.v1.Health/Check"),
            "/grpc.health.v1.Health/Check"
        );
    }
}
