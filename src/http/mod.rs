//! The HTTP surface: GraphQL over HTTP, the WebSocket endpoint, the playground and health checks.

mod exports;
mod graphql;
mod imports;
mod playground;
mod ws;

use std::net::{IpAddr, SocketAddr};
use std::panic::AssertUnwindSafe;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::FutureExt;
use serde_json::json;
use tracing::Instrument;
use uuid::Uuid;

use crate::app::SharedApp;
use crate::auth::Principal;
use crate::error::AppError;
use crate::graphql::{Api, Session};

#[derive(Clone)]
struct HttpState {
    app: SharedApp,
    api: Api,
}

pub fn router(app: SharedApp) -> Router {
    let state = HttpState {
        api: Api::new(app.clone()),
        app: app.clone(),
    };
    Router::new()
        .route(
            "/graphql",
            get(graphql::get_handler).post(graphql::post_handler),
        )
        .route("/graphql/ws", get(ws::handler))
        .route("/export/{file}", get(exports::module_csv))
        .route(
            "/import/{module}",
            post(imports::module_csv).layer(DefaultBodyLimit::max(app.limits.import_bytes)),
        )
        .route("/payroll/pay-runs/{id}/{file}", get(exports::pay_run_file))
        .route("/reports/{file}", get(exports::report_file))
        .route("/processes/{file}", get(exports::process_diagram))
        .route("/reports/{id}/{file}", get(exports::report_chart))
        .route(
            "/reports/{id}/snapshots/{file}",
            get(exports::report_snapshot),
        )
        .route("/graphql/assets/{name}", get(playground::asset))
        .route("/favicon.ico", get(playground::favicon))
        .route("/metrics", get(metrics))
        .route_layer(middleware::from_fn_with_state(app.clone(), count_request))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .layer(DefaultBodyLimit::max(app.limits.body_bytes))
        .layer(middleware::from_fn(catch_panics))
        .layer(middleware::from_fn(request_context))
        .with_state(state)
}

/// Counts a routed request under its route template, with its status and latency.
async fn count_request(
    State(app): State<SharedApp>,
    route: MatchedPath,
    request: Request,
    next: Next,
) -> Response {
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    app.metrics.request(
        route.as_str(),
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// The Prometheus scrape (see [`crate::metrics`]).
async fn metrics(State(state): State<HttpState>) -> Response {
    match crate::metrics::render(&state.app).await {
        Ok(text) => {
            let mut response = text.into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            response
        }
        Err(err) => json_error_response(&err),
    }
}

/// The header that names a request: the caller's (a proxy's) when it is a sensible one, else
/// one we make. It comes back on the response and with INTERNAL errors, and every log line of
/// the request carries it.
pub(crate) const REQUEST_ID: &str = "x-request-id";

/// Gives every request an id and a span (`request` with its id, method and path; the tenant,
/// user and operation once known), and returns the id as a header.
async fn request_context(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| sensible_request_id(v))
        .map(str::to_owned)
        .unwrap_or_else(|| Uuid::now_v7().to_string());
    let header = HeaderValue::from_str(&id).ok();
    if let Some(header) = &header {
        request.headers_mut().insert(REQUEST_ID, header.clone());
    }
    let span = tracing::info_span!(
        "request",
        id = %id,
        method = %request.method(),
        path = %request.uri().path(),
        tenant = tracing::field::Empty,
        user = tracing::field::Empty,
        operation = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
    );
    crate::telemetry::continue_trace(&span, request.headers());
    let started = std::time::Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    span.record("http.response.status_code", response.status().as_u16());
    if response.status().is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    // The access log, at debug: at info it would cost every request a line.
    span.in_scope(|| {
        tracing::debug!(
            status = response.status().as_u16(),
            ms = started.elapsed().as_secs_f64() * 1000.0,
            "request finished"
        );
    });
    if let Some(header) = header {
        response.headers_mut().insert(REQUEST_ID, header);
    }
    response
}

/// Up to 64 letters, digits, `-`, `_` or `.`: anything else could forge log lines.
fn sensible_request_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The id [`request_context`] gave a request.
pub(crate) fn request_id(headers: &HeaderMap) -> Option<&str> {
    headers.get(REQUEST_ID).and_then(|v| v.to_str().ok())
}

/// A bug that panics costs one request, not the connection: the client gets INTERNAL with a
/// request id, and the log has the panic under the same id.
pub async fn catch_panics(request: Request, next: Next) -> Response {
    let id = request_id(request.headers()).map(str::to_owned);
    match AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(panic) => internal_error_response(&panic_message(panic.as_ref()), id),
    }
}

/// The text of a caught panic, for the log.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic with a non-text payload".to_owned())
}

/// Logs a panic under the request's id (a fresh one without) and returns the GraphQL error
/// clients see.
pub(crate) fn internal_error(cause: &str, request_id: Option<String>) -> serde_json::Value {
    let request_id = request_id.unwrap_or_else(|| Uuid::now_v7().to_string());
    tracing::error!(%request_id, %cause, "request panicked");
    json!({
        "message": "internal server error",
        "extensions": { "code": "INTERNAL", "requestId": request_id.to_string() }
    })
}

fn internal_error_response(cause: &str, request_id: Option<String>) -> Response {
    let body = json!({ "errors": [internal_error(cause, request_id)] });
    let mut response = (StatusCode::INTERNAL_SERVER_ERROR, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

/// Ready when the database answers within the acquire timeout and the timer worker runs.
async fn ready(State(state): State<HttpState>) -> (StatusCode, &'static str) {
    let limit = state.app.limits.db_acquire_timeout;
    match tokio::time::timeout(limit, state.app.db.ping()).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => {
            tracing::warn!(%err, "readiness check failed");
            return (StatusCode::SERVICE_UNAVAILABLE, "database unreachable");
        }
        Err(_) => {
            tracing::warn!("readiness check timed out");
            return (StatusCode::SERVICE_UNAVAILABLE, "database unreachable");
        }
    }
    if !state.app.workers.timers_healthy() {
        return (StatusCode::SERVICE_UNAVAILABLE, "timer worker not running");
    }
    (StatusCode::OK, "ready")
}

/// An error as GraphQL shows it: the message, and `extensions` with the code (and the field,
/// for bad input).
pub(crate) fn error_json(err: &AppError) -> serde_json::Value {
    let mut extensions = json!({ "code": err.code() });
    if let Some(field) = err.field() {
        extensions["field"] = json!(field);
    }
    json!({ "message": err.message(), "extensions": extensions })
}

/// An error as the GraphQL layer would show it, with the HTTP status it means, in a body of
/// the given media type.
pub(crate) fn error_response(err: &AppError, content_type: HeaderValue) -> Response {
    let status = match err {
        AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::NotFound(_) | AppError::ReferenceNotFound { .. } => StatusCode::NOT_FOUND,
        AppError::BadInput { .. } => StatusCode::BAD_REQUEST,
        AppError::Conflict(_) => StatusCode::CONFLICT,
        AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        AppError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let body = json!({ "errors": [error_json(err)] });
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

/// [`error_response`] as JSON, for the routes that are not GraphQL.
pub(crate) fn json_error_response(err: &AppError) -> Response {
    error_response(
        err,
        HeaderValue::from_static("application/json; charset=utf-8"),
    )
}

/// Resolves a bearer token or API key (header value or `connection_init` field) into a
/// session. A missing or bad credential gives an anonymous session that remembers why; only
/// `login` works then.
async fn session_for(
    app: &SharedApp,
    authorization: Option<&str>,
    client: IpAddr,
) -> Result<Session, AppError> {
    let Some(value) = authorization else {
        return Ok(Session::anonymous(client));
    };
    match app.authenticate(&credential(value)).await {
        Ok((principal, expires_at)) => Ok(Session::signed_in(principal, expires_at, client)),
        Err(AppError::Unauthenticated(reason)) => Ok(Session::rejected(reason, client)),
        Err(other) => Err(other),
    }
}

/// The token or key of an `Authorization` value: `Bearer <token>`, the bare token, or HTTP
/// Basic with an API key as the password (for clients that only speak Basic: mail and
/// calendar clients, spreadsheet imports). The user name of Basic is not used.
fn credential(value: &str) -> String {
    use base64::Engine;
    let value = value.trim();
    let basic = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
        .and_then(|encoded| {
            base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
        })
        .and_then(|decoded| String::from_utf8(decoded).ok())
        .and_then(|pair| {
            pair.split_once(':')
                .map(|(_, password)| password.to_owned())
        });
    basic.unwrap_or_else(|| bearer_token(value).to_owned())
}

fn bearer_token(value: &str) -> &str {
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .unwrap_or(value)
        .trim()
}

fn authorization_header(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

/// The signed-in caller of a route beside GraphQL (files), with the same credentials as the
/// API; without one the route answers UNAUTHENTICATED.
struct Caller(Principal);

impl FromRequestParts<HttpState> for Caller {
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &HttpState) -> Result<Self, HttpError> {
        let client = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |info| info.0.ip());
        let session = session_for(&state.app, authorization_header(&parts.headers), client).await?;
        Ok(Caller(session.require_principal()?.clone()))
    }
}

/// An error of a route beside GraphQL, answered as JSON with its code and status.
struct HttpError(AppError);

impl From<AppError> for HttpError {
    fn from(err: AppError) -> Self {
        HttpError(err)
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        json_error_response(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_come_from_bearer_or_basic() {
        assert_eq!(credential("Bearer abc.def"), "abc.def");
        assert_eq!(credential("abc.def"), "abc.def");
        // "anything:bpk_live_x" in base64.
        assert_eq!(
            credential("Basic YW55dGhpbmc6YnBrX2xpdmVfeA=="),
            "bpk_live_x"
        );
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_internal_with_a_request_id() {
        let router = Router::new()
            .route(
                "/boom",
                get(|| async {
                    if true {
                        panic!("deliberate");
                    }
                    "unreachable"
                }),
            )
            .route("/fine", get(|| async { "fine" }))
            .layer(middleware::from_fn(catch_panics))
            .layer(middleware::from_fn(request_context));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        let client = reqwest::Client::new();
        let response = client
            .get(format!("http://{addr}/boom"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 500);
        let id = response.headers()[REQUEST_ID].to_str().unwrap().to_owned();
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "INTERNAL");
        assert_eq!(body["errors"][0]["extensions"]["requestId"], id.as_str());
        assert!(!body.to_string().contains("deliberate"), "{body}");
        // The same connection pool keeps serving.
        let fine = client
            .get(format!("http://{addr}/fine"))
            .send()
            .await
            .unwrap();
        assert_eq!(fine.text().await.unwrap(), "fine");
    }
}
