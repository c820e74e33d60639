//! The HTTP surface: GraphQL over HTTP, the WebSocket endpoint, the playground and health checks.

mod graphql;
mod playground;
mod ws;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::get;

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
        .route("/graphql/assets/{name}", get(playground::asset))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .layer(DefaultBodyLimit::max(app.limits.body_bytes))
        .with_state(state)
}

async fn ready(State(state): State<HttpState>) -> (StatusCode, &'static str) {
    match state.app.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(err) => {
            tracing::warn!(%err, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}

/// Resolves a bearer token (header value or `connection_init` field) into a session.
/// A missing or bad token gives an anonymous session that remembers why; only `login` works then.
async fn session_for(app: &SharedApp, authorization: Option<&str>) -> Result<Session, AppError> {
    let Some(value) = authorization else {
        return Ok(Session::anonymous());
    };
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .unwrap_or(value)
        .trim();
    match users::authenticate(&app.db, &app.tokens, token).await {
        Ok(principal) => Ok(Session::signed_in(principal)),
        Err(AppError::Unauthenticated(reason)) => Ok(Session::rejected(reason)),
        Err(other) => Err(other),
    }
}

fn authorization_header(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}
