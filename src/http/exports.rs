//! Files over HTTP with the same bearer authentication and tenant scoping as the API:
//! `GET /payroll/pay-runs/{id}/bank-transfers.csv` and `…/tax-summary.csv`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{HttpState, authorization_header, error_json, session_for};
use crate::error::AppError;
use crate::payroll::exports;
use crate::validation::parse_id;

pub async fn pay_run_file(
    State(state): State<HttpState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((id, file)): Path<(String, String)>,
) -> Response {
    let app = &state.app;
    let result = async {
        let session = session_for(app, authorization_header(&headers), client.ip()).await?;
        let principal = session.require_principal()?;
        let id = parse_id("id", &async_graphql::ID(id))?;
        match file.as_str() {
            "bank-transfers.csv" => exports::bank_transfers(&app.db, principal, id).await,
            "tax-summary.csv" => exports::tax_summary(&app.db, principal, id).await,
            _ => Err(AppError::NotFound("file")),
        }
    }
    .await;
    match result {
        Ok((run, csv)) => {
            let disposition = format!("attachment; filename=\"{}-{file}\"", run.run_no);
            let mut response = csv.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            if let Ok(value) = HeaderValue::from_str(&disposition) {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            response
        }
        Err(err) => error_response(&err),
    }
}

/// An error as the GraphQL layer would show it, with the HTTP status it means.
fn error_response(err: &AppError) -> Response {
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
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}
