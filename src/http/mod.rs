//! The HTTP surface: GraphQL over HTTP, the WebSocket endpoint, the playground and health checks.

mod exports;
mod graphql;
mod playground;
mod ws;

use std::net::IpAddr;
use std::panic::AssertUnwindSafe;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::FutureExt;
use serde_json::json;
use uuid::Uuid;

use crate::app::SharedApp;
use crate::error::AppError;
use crate::graphql::{AppSchema, Session, build_schema};
use crate::platform::users;

#[derive(Clone)]
struct HttpState {
    app: SharedApp,
    schema: AppSchema,
}

pub fn router(app: SharedApp) -> Router {
    let state = HttpState {
        schema: build_schema(app.clone()),
        app: app.clone(),
    };
    Router::new()
        .route(
            "/graphql",
            get(graphql::get_handler).post(graphql::post_handler),
        )
        .route("/graphql/ws", get(ws::handler))
        .route("/payroll/pay-runs/{id}/{file}", get(exports::pay_run_file))
        .route("/graphql/assets/{name}", get(playground::asset))
        .route("/favicon.ico", get(playground::favicon))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .layer(DefaultBodyLimit::max(app.limits.body_bytes))
        .layer(middleware::from_fn(catch_panics))
        .with_state(state)
}

/// A bug that panics costs one request, not the connection: the client gets INTERNAL with a
/// request id, and the log has the panic under the same id.
pub async fn catch_panics(request: Request, next: Next) -> Response {
    match AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(panic) => internal_error_response(&panic_message(panic.as_ref())),
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

/// Logs a panic under a fresh request id and returns the GraphQL error clients see.
pub(crate) fn internal_error(cause: &str) -> serde_json::Value {
    let request_id = Uuid::now_v7();
    tracing::error!(%request_id, %cause, "request panicked");
    json!({
        "message": "internal server error",
        "extensions": { "code": "INTERNAL", "requestId": request_id.to_string() }
    })
}

fn internal_error_response(cause: &str) -> Response {
    let body = json!({ "errors": [internal_error(cause)] });
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

/// Resolves a bearer token (header value or `connection_init` field) into a session.
/// A missing or bad token gives an anonymous session that remembers why; only `login` works then.
async fn session_for(
    app: &SharedApp,
    authorization: Option<&str>,
    client: IpAddr,
) -> Result<Session, AppError> {
    let Some(value) = authorization else {
        return Ok(Session::anonymous(client));
    };
    match users::authenticate(&app.db, &app.tokens, &app.permissions, bearer_token(value)).await {
        Ok(principal) => Ok(Session::signed_in(principal, client)),
        Err(AppError::Unauthenticated(reason)) => Ok(Session::rejected(reason, client)),
        Err(other) => Err(other),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
            .layer(middleware::from_fn(catch_panics));
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
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "INTERNAL");
        assert!(body["errors"][0]["extensions"]["requestId"].is_string());
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
