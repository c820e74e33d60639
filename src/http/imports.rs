//! `POST /import/{module}`: a CSV file in the body becomes records (see [`crate::imports`]).
//! `?dryRun=true` checks without changing anything; `?key=email&onDuplicate=update` finds
//! existing records; `?mapping={"Column": "field"}` overrides how columns are matched. The
//! import runs as a job (see [`crate::import_jobs`]): the answer is its report, or with
//! `?wait=false` at once `202 {"jobId"}` to follow with `importJob` / `importJobChanged`.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{Caller, HttpError, HttpState};
use crate::error::AppError;
use crate::import_jobs;
use crate::imports::{ImportOptions, OnDuplicate};
use crate::modules::Module;

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportQuery {
    dry_run: Option<bool>,
    /// `false`: answer at once with the job's id.
    wait: Option<bool>,
    key: Option<String>,
    on_duplicate: Option<String>,
    /// Column header -> field, as JSON.
    mapping: Option<String>,
    /// A saved mapping (`saveImportMapping`); `mapping` adds to it.
    mapping_name: Option<String>,
}

impl ImportQuery {
    fn options(&self) -> Result<ImportOptions, AppError> {
        let on_duplicate = match self.on_duplicate.as_deref() {
            None => OnDuplicate::default(),
            Some(text) => OnDuplicate::parse(text).ok_or_else(|| {
                AppError::bad_input("onDuplicate", "must be skip, update or create")
            })?,
        };
        let mapping: HashMap<String, String> = match &self.mapping {
            None => HashMap::new(),
            Some(json) => serde_json::from_str(json).map_err(|_| {
                AppError::bad_input("mapping", "must be a JSON object of column -> field")
            })?,
        };
        Ok(ImportOptions {
            dry_run: self.dry_run.unwrap_or(false),
            key: self.key.clone().filter(|k| !k.trim().is_empty()),
            on_duplicate,
            mapping,
        })
    }
}

pub async fn module_csv(
    State(state): State<HttpState>,
    Caller(principal): Caller,
    Path(module): Path<String>,
    Query(query): Query<ImportQuery>,
    body: Bytes,
) -> Result<Response, HttpError> {
    let app = &state.app;
    let module =
        Module::parse(module.trim_end_matches(".csv")).ok_or(AppError::NotFound("import"))?;
    let mut options = query.options()?;
    if let Some(name) = &query.mapping_name {
        let scope = principal.scope();
        let saved = import_jobs::saved_mapping(&app.db, &scope, module, name).await?;
        for (header, field) in saved {
            options.mapping.entry(header).or_insert(field);
        }
    }
    let job = import_jobs::start(&app.db, &principal, module, options.dry_run).await?;
    let job_id = job.id;
    let run = import_jobs::run(app.clone(), principal, job, module, body.to_vec(), options);
    // Its own task: the import finishes even if the client goes away.
    let running = tokio::spawn(run);
    if !query.wait.unwrap_or(true) {
        let accepted = serde_json::json!({ "jobId": job_id });
        return Ok((StatusCode::ACCEPTED, Json(accepted)).into_response());
    }
    match running.await {
        Ok(report) => Ok(Json(report?).into_response()),
        Err(_) => Err(AppError::internal("the import task ended early").into()),
    }
}
