//! Files over HTTP with the same authentication (bearer token, API key, or Basic with an API
//! key) and tenant scoping as the API: `GET /export/{module}.csv?filter=<JSON>`,
//! `GET /payroll/pay-runs/{id}/bank-transfers.csv` and `…/tax-summary.csv`, `GET /reports/{id}.csv`,
//! `GET /reports/{id}/snapshots/{snapshotId}.csv`, and the charts and diagrams as SVG.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use uuid::Uuid;

use super::{Caller, HttpError, HttpState};
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
    Caller(principal): Caller,
    Path(file): Path<String>,
    Query(query): Query<ExportQuery>,
) -> Result<Response, HttpError> {
    let module = file
        .strip_suffix(".csv")
        .and_then(Module::parse)
        .ok_or(AppError::NotFound("export"))?;
    let filter = query
        .filter
        .map(|f| serde_json::from_str::<serde_json::Value>(&f))
        .transpose()
        .map_err(|_| AppError::bad_input("filter", "is not JSON"))?;
    let csv = modules::declaration(module)?
        .export_csv(&state.app.db, &principal, filter.as_ref())
        .await?;
    let body = Body::from_stream(csv.map(|chunk| {
        chunk.map_err(|err| {
            // The header is gone: the only way left to say so is to cut the body short.
            tracing::warn!(code = err.code(), "CSV export stopped");
            std::io::Error::other(err.message())
        })
    }));
    Ok(csv_file(
        body.into_response(),
        &format!("{}.csv", module.as_str()),
    ))
}

/// Marks a response as a CSV file to save as `filename`.
fn csv_file(response: Response, filename: &str) -> Response {
    attachment(response, "text/csv; charset=utf-8", filename)
}

/// Marks a response as a file of `content_type` to save as `filename`.
fn attachment(mut response: Response, content_type: &'static str, filename: &str) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let disposition = format!("attachment; filename=\"{filename}\"");
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

pub async fn pay_run_file(
    State(state): State<HttpState>,
    Caller(principal): Caller,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, HttpError> {
    let db = &state.app.db;
    let id = parse_id("id", &async_graphql::ID(id))?;
    let (run, csv) = match file.as_str() {
        "bank-transfers.csv" => exports::bank_transfers(db, &principal, id).await?,
        "tax-summary.csv" => exports::tax_summary(db, &principal, id).await?,
        _ => return Err(AppError::NotFound("file").into()),
    };
    Ok(csv_file(
        csv.into_response(),
        &format!("{}-{file}", run.run_no),
    ))
}

/// The id in a file name such as `<id>.csv`.
fn id_of_file(file: &str, extension: &str) -> Result<Uuid, AppError> {
    let id = file
        .strip_suffix(extension)
        .ok_or(AppError::NotFound("file"))?;
    parse_id("id", &async_graphql::ID(id.to_owned()))
}

/// A report's every row as a file: `GET /reports/{id}.csv` or `GET /reports/{id}.xlsx`.
pub async fn report_file(
    State(state): State<HttpState>,
    Caller(principal): Caller,
    Path(file): Path<String>,
) -> Result<Response, HttpError> {
    let (id, extension) = file.rsplit_once('.').ok_or(AppError::NotFound("file"))?;
    if !matches!(extension, "csv" | "xlsx") {
        return Err(AppError::NotFound("file").into());
    }
    let id = parse_id("id", &async_graphql::ID(id.to_owned()))?;
    let (report, table) = reports::files::table(&state.app.db, &principal, id).await?;
    let stem = report_filename(&report.name);
    if extension == "csv" {
        let csv = reports::files::csv(&table);
        return Ok(csv_file(csv.into_response(), &format!("{stem}.csv")));
    }
    let workbook = reports::files::xlsx(&table, &report.name)?;
    Ok(attachment(
        workbook.into_response(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &format!("{stem}.xlsx"),
    ))
}

/// A stored snapshot of a report: `GET /reports/{id}/snapshots/{snapshotId}.csv`.
pub async fn report_snapshot(
    State(state): State<HttpState>,
    Caller(principal): Caller,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, HttpError> {
    let report_id = parse_id("id", &async_graphql::ID(id))?;
    let id = id_of_file(&file, ".csv")?;
    let (report, snapshot, csv) =
        reports::snapshots::file(&state.app.db, &principal, report_id, id).await?;
    let taken = snapshot.created_at.format("%Y-%m-%dT%H%MZ");
    let name = format!("{}-{taken}.csv", report_filename(&report.name));
    Ok(csv_file(csv.into_response(), &name))
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
    Caller(principal): Caller,
    Path((id, file)): Path<(String, String)>,
    Query(query): Query<ChartQuery>,
) -> Result<Response, HttpError> {
    if file != "chart.svg" {
        return Err(AppError::NotFound("file").into());
    }
    let id = parse_id("id", &async_graphql::ID(id))?;
    let kind = query.kind.as_deref().unwrap_or("bar");
    let kind = ChartKind::parse(kind)
        .ok_or_else(|| AppError::bad_input("type", "bar, line, pie or funnel"))?;
    let measure = query.measure.as_deref();
    let svg = reports::saved::chart_svg(&state.app.db, &principal, id, kind, measure).await?;
    Ok(svg_response(svg))
}

#[derive(serde::Deserialize)]
pub struct DiagramQuery {
    version: Option<i32>,
}

/// A process definition as a state diagram with its live instances:
/// `GET /processes/{key}.svg?version=N`.
pub async fn process_diagram(
    State(state): State<HttpState>,
    Caller(principal): Caller,
    Path(file): Path<String>,
    Query(query): Query<DiagramQuery>,
) -> Result<Response, HttpError> {
    let key = file
        .strip_suffix(".svg")
        .ok_or(AppError::NotFound("file"))?;
    let svg = diagram::for_definition(&state.app.db, &principal, key, query.version).await?;
    Ok(svg_response(svg))
}

fn svg_response(svg: String) -> Response {
    let mut response = svg.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml; charset=utf-8"),
    );
    response
}

/// A report's name as a file name stem: letters, digits and dashes.
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
    if stem.is_empty() {
        "report".to_owned()
    } else {
        stem
    }
}
