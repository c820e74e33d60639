//! Files over HTTP with the same authentication (bearer token, API key, or Basic with an API
//! key) and tenant scoping as the API: `GET /export/{module}.csv?filter=<JSON>`,
//! `GET /payroll/pay-runs/{id}/bank-transfers.csv` and `…/tax-summary.csv`, `GET /reports/{id}.csv`.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use super::{HttpState, authorization_header, json_error_response, session_for};
use crate::error::AppError;
use crate::modules::{self, Module};
use crate::payroll::exports;
use crate::process::diagram;
use crate::reports;
use crate::reports::chart::ChartKind;
use crate::validation::parse_id;

#[derive(serde::Deserialize)]
pub struct ExportQuery {
    /// The module's list filter in its GraphQL shape, as JSON.
    filter: Option<String>,
}

/// Every live record of a module the caller may read, streamed as CSV.
pub async fn module_csv(
    State(state): State<HttpState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(file): Path<String>,
    Query(query): Query<ExportQuery>,
) -> Response {
    let app = &state.app;
    let result = async {
        let session = session_for(app, authorization_header(&headers), client.ip()).await?;
        let principal = session.require_principal()?;
        let module = file
            .strip_suffix(".csv")
            .and_then(Module::parse)
            .ok_or(AppError::NotFound("export"))?;
        let filter = query
            .filter
            .map(|f| serde_json::from_str::<serde_json::Value>(&f))
            .transpose()
            .map_err(|_| AppError::bad_input("filter", "is not JSON"))?;
        let declaration = modules::declaration(module)?;
        let csv = declaration
            .export_csv(&app.db, principal, filter.as_ref())
            .await?;
        Ok::<_, AppError>((module, csv))
    }
    .await;
    let (module, csv) = match result {
        Ok(found) => found,
        Err(err) => return json_error_response(&err),
    };
    let body = Body::from_stream(csv.map(|chunk| {
        chunk.map_err(|err| {
            // The header is gone: the only way left to say so is to cut the body short.
            tracing::warn!(code = err.code(), "CSV export stopped");
            std::io::Error::other(err.message())
        })
    }));
    csv_file(body.into_response(), &format!("{}.csv", module.as_str()))
}

/// Marks a response as a CSV file to save as `filename`.
fn csv_file(mut response: Response, filename: &str) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    let disposition = format!("attachment; filename=\"{filename}\"");
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

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
        Ok((run, csv)) => csv_file(csv.into_response(), &format!("{}-{file}", run.run_no)),
        Err(err) => json_error_response(&err),
    }
}

/// A report's every row as CSV: `GET /reports/{id}.csv`.
pub async fn report_csv(
    State(state): State<HttpState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(file): Path<String>,
) -> Response {
    let app = &state.app;
    let result = async {
        let session = session_for(app, authorization_header(&headers), client.ip()).await?;
        let principal = session.require_principal()?;
        let id = file
            .strip_suffix(".csv")
            .ok_or(AppError::NotFound("file"))?;
        let id = parse_id("id", &async_graphql::ID(id.to_owned()))?;
        reports::saved::csv(&app.db, principal, id).await
    }
    .await;
    match result {
        Ok((report, csv)) => csv_file(csv.into_response(), &report_filename(&report.name)),
        Err(err) => json_error_response(&err),
    }
}

#[derive(serde::Deserialize)]
pub struct ChartQuery {
    #[serde(rename = "type")]
    kind: Option<String>,
    /// The aggregate (or column) to draw, e.g. `sum:amount`.
    measure: Option<String>,
}

/// A report drawn as a chart: `GET /reports/{id}/chart.svg?type=bar|line|pie|funnel`.
pub async fn report_chart(
    State(state): State<HttpState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path((id, file)): Path<(String, String)>,
    Query(query): Query<ChartQuery>,
) -> Response {
    let app = &state.app;
    let result = async {
        let session = session_for(app, authorization_header(&headers), client.ip()).await?;
        let principal = session.require_principal()?;
        if file != "chart.svg" {
            return Err(AppError::NotFound("file"));
        }
        let id = parse_id("id", &async_graphql::ID(id))?;
        let kind = query.kind.as_deref().unwrap_or("bar");
        let kind = ChartKind::parse(kind)
            .ok_or_else(|| AppError::bad_input("type", "bar, line, pie or funnel"))?;
        reports::saved::chart_svg(&app.db, principal, id, kind, query.measure.as_deref()).await
    }
    .await;
    match result {
        Ok(svg) => svg_response(svg),
        Err(err) => json_error_response(&err),
    }
}

#[derive(serde::Deserialize)]
pub struct DiagramQuery {
    version: Option<i32>,
}

/// A process definition as a state diagram with its live instances:
/// `GET /processes/{key}.svg?version=N`.
pub async fn process_diagram(
    State(state): State<HttpState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(file): Path<String>,
    Query(query): Query<DiagramQuery>,
) -> Response {
    let app = &state.app;
    let result = async {
        let session = session_for(app, authorization_header(&headers), client.ip()).await?;
        let principal = session.require_principal()?;
        let key = file
            .strip_suffix(".svg")
            .ok_or(AppError::NotFound("file"))?;
        diagram::for_definition(&app.db, principal, key, query.version).await
    }
    .await;
    match result {
        Ok(svg) => svg_response(svg),
        Err(err) => json_error_response(&err),
    }
}

fn svg_response(svg: String) -> Response {
    let mut response = svg.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml; charset=utf-8"),
    );
    response
}

/// A report's name as a file name: letters, digits and dashes.
fn report_filename(name: &str) -> String {
    let stem: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let stem = stem
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    format!("{}.csv", if stem.is_empty() { "report" } else { &stem })
}
