//! GraphQL over HTTP, following the GraphQL-over-HTTP specification: `Accept` negotiation
//! (`application/graphql-response+json` and `application/json`), 4xx for requests that are
//! malformed or fail to parse or validate (for the new media type), and mutations refused
//! over GET.

use async_graphql::parser::types::OperationType;
use async_graphql::{Request, ServerError};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::net::{IpAddr, SocketAddr};

use super::{HttpState, authorization_header, error_response, playground, request_id, session_for};
use crate::graphql::{
    CODE_PARSE_FAILED, ensure_error_codes, is_request_error, operation_type, root_fields,
};
use crate::integrations::idempotency::{self, Claim};

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// The media type the client accepts for the answer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Media {
    GraphqlResponseJson,
    Json,
}

impl Media {
    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Media::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            Media::Json => "application/json; charset=utf-8",
        })
    }

    /// Status for a request that failed before execution: the new media type says so with a
    /// 4xx, the legacy one answers 200.
    fn request_error_status(self) -> StatusCode {
        match self {
            Media::GraphqlResponseJson => StatusCode::BAD_REQUEST,
            Media::Json => StatusCode::OK,
        }
    }
}

fn media_types(value: &str) -> impl Iterator<Item = String> + '_ {
    value.split(',').map(|part| {
        part.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    })
}

/// No `Accept` header means `application/json`, as legacy clients expect.
fn negotiate(headers: &HeaderMap) -> Option<Media> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(Media::Json);
    };
    let accepted: Vec<String> = media_types(accept).collect();
    if accepted.iter().any(|m| m == GRAPHQL_RESPONSE_JSON) {
        Some(Media::GraphqlResponseJson)
    } else if accepted
        .iter()
        .any(|m| m == JSON || m == "application/*" || m == "*/*")
    {
        Some(Media::Json)
    } else {
        None
    }
}

/// A response carrying only request errors (no `data`).
fn errors_response(status: StatusCode, media: Media, code: &str, message: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, media.content_type());
    response
}

fn not_acceptable() -> Response {
    errors_response(
        StatusCode::NOT_ACCEPTABLE,
        Media::Json,
        "NOT_ACCEPTABLE",
        "accept application/graphql-response+json or application/json",
    )
}

pub async fn get_handler(
    State(state): State<HttpState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    if playground::wanted(&headers, &query) {
        return playground::page();
    }
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    let mut request = match async_graphql::http::parse_query_string(&query) {
        Ok(request) => request,
        Err(err) => {
            return errors_response(
                StatusCode::BAD_REQUEST,
                media,
                "BAD_REQUEST",
                &format!("malformed GraphQL request: {err}"),
            );
        }
    };
    let kind = match operation_type(&mut request) {
        Err(err) => return parse_failed(media, err),
        Ok(Some(OperationType::Mutation)) => {
            let mut response = errors_response(
                StatusCode::METHOD_NOT_ALLOWED,
                media,
                "METHOD_NOT_ALLOWED",
                "mutations are only accepted with POST",
            );
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            return response;
        }
        Ok(kind) => kind,
    };
    execute(&state, &headers, client.ip(), request, kind, media, None).await
}

pub async fn post_handler(
    State(state): State<HttpState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(media) = negotiate(&headers) else {
        return not_acceptable();
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let status = rejection.status();
            let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "request body too large"
            } else {
                "could not read the request body"
            };
            return errors_response(status, media, "BAD_REQUEST", message);
        }
    };
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| media_types(ct).any(|m| m == JSON));
    if !is_json {
        return errors_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            "BAD_REQUEST",
            "send the request as application/json",
        );
    }
    let mut request: Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => {
            return errors_response(
                StatusCode::BAD_REQUEST,
                media,
                "BAD_REQUEST",
                &format!("malformed GraphQL request body: {err}"),
            );
        }
    };
    if request.query.trim().is_empty() {
        return errors_response(
            StatusCode::BAD_REQUEST,
            media,
            "BAD_REQUEST",
            "query is required",
        );
    }
    let kind = match operation_type(&mut request) {
        Ok(kind) => kind,
        Err(err) => return parse_failed(media, err),
    };
    let body = (kind == Some(OperationType::Mutation)).then_some(&body[..]);
    execute(&state, &headers, client.ip(), request, kind, media, body).await
}

fn parse_failed(media: Media, err: ServerError) -> Response {
    errors_response(
        media.request_error_status(),
        media,
        CODE_PARSE_FAILED,
        &err.message,
    )
}

/// Runs a request of the operation type `kind` (as the handler read it). `mutation_body` is
/// the raw body of a mutation: with an `Idempotency-Key` header it is what a retry must
/// repeat to get the first answer again.
async fn execute(
    state: &HttpState,
    headers: &HeaderMap,
    client: IpAddr,
    mut request: Request,
    kind: Option<OperationType>,
    media: Media,
    mutation_body: Option<&[u8]>,
) -> Response {
    let started = std::time::Instant::now();
    let session = match session_for(&state.app, authorization_header(headers), client).await {
        Ok(session) => session,
        Err(err) => return error_response(&err, media.content_type()),
    };
    let scope = session.principal().map(|p| p.scope());
    let span = tracing::Span::current();
    if let Some(principal) = session.principal() {
        span.record("tenant", tracing::field::display(principal.tenant_id));
        span.record("user", tracing::field::display(principal.user_id));
    }
    if let Some(operation) = &request.operation_name {
        span.record("operation", operation.as_str());
    }
    let idempotency = match (mutation_body, session.principal(), idempotency_key(headers)) {
        (Some(body), Some(principal), Some(key)) => {
            let fingerprint = idempotency::fingerprint(principal.user_id, body);
            let scope = principal.scope();
            match idempotency::begin(&state.app.db, &scope, &key, &fingerprint).await {
                Ok(Claim::Run) => Some((scope, key)),
                Ok(Claim::Replay(body)) => return replayed(media, body),
                Err(err) => return error_response(&err, media.content_type()),
            }
        }
        _ => None,
    };
    let root_fields = root_fields(&mut request);
    let request = crate::graphql::prepare(request, &state.app, session);
    let mut response = state.api.execute(request).await;
    if let Some(kind) = kind {
        let validated = !is_request_error(&response);
        state.app.metrics.graphql_operation(
            kind,
            validated.then_some(&root_fields[..]),
            response.errors.is_empty(),
            started.elapsed(),
        );
    }
    // The mutation's transactions have committed: wake the tenant's subscribers.
    if let (true, Some(scope)) = (mutation_body.is_some(), scope) {
        state.app.log_committed(&scope);
    }
    ensure_error_codes(&mut response);
    name_the_request(&mut response, request_id(headers));
    // Nothing ran (validation, limits): answer with errors only, no `data`. The body is
    // written straight from the response, so that fields keep the order of the query.
    let (status, body) = if has_code(&response, "SERVICE_UNAVAILABLE") {
        // The database is down: say so in the status too, so that proxies and clients retry.
        (StatusCode::SERVICE_UNAVAILABLE, to_json(&response))
    } else if is_request_error(&response) {
        let errors = json!({ "errors": response.errors });
        (media.request_error_status(), errors.to_string())
    } else {
        (StatusCode::OK, to_json(&response))
    };
    if let Some((scope, key)) = idempotency {
        let succeeded = (status == StatusCode::OK && response.errors.is_empty()).then_some(&*body);
        if let Err(err) = idempotency::finish(&state.app.db, &scope, &key, succeeded).await {
            tracing::warn!(code = err.code(), "could not store an idempotent answer");
        }
    }
    let mut http = (status, body).into_response();
    http.headers_mut()
        .insert(header::CONTENT_TYPE, media.content_type());
    http
}

/// INTERNAL errors carry the request's id: what a client quotes to the operators, who find the
/// cause logged under it.
fn name_the_request(response: &mut async_graphql::Response, id: Option<&str>) {
    let Some(id) = id else {
        return;
    };
    for error in &mut response.errors {
        if code_is(error, "INTERNAL") {
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("requestId", id);
        }
    }
}

fn idempotency_key(headers: &HeaderMap) -> Option<String> {
    let value = headers.get("idempotency-key")?;
    // A value that is not text is refused by `begin` like any other bad key.
    Some(value.to_str().unwrap_or("\u{0}").trim().to_owned())
}

/// The stored answer of the first request with the same key.
fn replayed(media: Media, body: String) -> Response {
    let mut http = (StatusCode::OK, body).into_response();
    let headers = http.headers_mut();
    headers.insert(header::CONTENT_TYPE, media.content_type());
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    http
}

fn to_json(response: &async_graphql::Response) -> String {
    serde_json::to_string(response).unwrap_or_else(|_| {
        json!({ "errors": [{ "message": "internal error", "extensions": { "code": "INTERNAL" } }] })
            .to_string()
    })
}

fn has_code(response: &async_graphql::Response, code: &str) -> bool {
    response.errors.iter().any(|e| code_is(e, code))
}

fn code_is(error: &ServerError, code: &str) -> bool {
    error
        .extensions
        .as_ref()
        .and_then(|x| x.get("code"))
        .is_some_and(|c| *c == async_graphql::Value::from(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn negotiation_prefers_the_graphql_response_type() {
        assert!(negotiate(&HeaderMap::new()) == Some(Media::Json));
        assert!(negotiate(&accept("application/json")) == Some(Media::Json));
        assert!(negotiate(&accept("*/*")) == Some(Media::Json));
        assert!(
            negotiate(&accept(
                "application/json;q=0.9, application/graphql-response+json"
            )) == Some(Media::GraphqlResponseJson)
        );
        assert!(negotiate(&accept("text/plain")).is_none());
    }
}
