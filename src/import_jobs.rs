//! Import jobs: every CSV import runs as a job, in a task of its own (it finishes even if the
//! client goes away), with its counts updated after each batch and its report kept when it
//! ends. Each step is an `imports.progress` / `imports.done` / `imports.failed` event in the
//! tenant's log, so that `importJobChanged` follows a job on any replica. Mappings of a
//! tenant's columns to fields can be saved by name and reused.

use std::collections::HashMap;

use chrono::Utc;
use futures_util::future::BoxFuture;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use entity::integrations::{import_job, import_mapping};

use crate::app::SharedApp;
use crate::auth::Principal;
use crate::error::{AppError, AppResult};
use crate::imports::{ImportOptions, ImportReport, Progress};
use crate::modules::{self, Module};
use crate::permissions::Access;
use crate::records;
use crate::tenancy::TenantScope;
use crate::validation::required_text;

/// The event kind of import jobs in the log.
pub const IMPORTS: &str = "imports";
pub const RUNNING: &str = "running";
pub const DONE: &str = "done";
pub const FAILED: &str = "failed";

/// Records a new running job; the caller must be allowed to write the module.
pub async fn start(
    db: &DatabaseConnection,
    actor: &Principal,
    module: Module,
    dry_run: bool,
) -> AppResult<import_job::Model> {
    actor.require(module, Access::Write)?;
    Ok(import_job::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: actor.scope().owner(),
        module: Set(module.as_str().to_owned()),
        status: Set(RUNNING.to_owned()),
        dry_run: Set(dry_run),
        rows: Set(0),
        created: Set(0),
        updated: Set(0),
        skipped: Set(0),
        failed: Set(0),
        report: Set(None),
        error: Set(None),
        created_by: Set(actor.user_id),
        started_at: Set(Utc::now()),
        finished_at: Set(None),
    }
    .insert(db)
    .await?)
}

/// Runs a started job to its end and records how it ended.
pub async fn run(
    app: SharedApp,
    actor: Principal,
    job: import_job::Model,
    module: Module,
    csv: Vec<u8>,
    options: ImportOptions,
) -> AppResult<ImportReport> {
    let scope = actor.scope();
    let progress = JobProgress {
        app: app.clone(),
        scope,
        job_id: job.id,
    };
    let result = match modules::declaration(module) {
        Ok(declaration) => {
            declaration
                .import_csv(&app.db, &actor, &csv, &options, &progress)
                .await
        }
        Err(err) => Err(err),
    };
    let result = result.map(|mut report| {
        report.job_id = Some(job.id);
        report
    });
    let ended = match &result {
        Ok(report) => progress.record(Some(report), DONE, None).await,
        // The counts stay those of the last batch that was recorded.
        Err(err) => progress.record(None, FAILED, Some(err.message())).await,
    };
    if let Err(err) = ended {
        tracing::warn!(job = %job.id, code = err.code(), "could not record the end of an import");
    }
    result
}

/// A job of the caller's tenant; only those who may write its module see it.
pub async fn get(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
) -> AppResult<import_job::Model> {
    let job = actor
        .scope()
        .by_id::<import_job::Entity>(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("import job"))?;
    let module = Module::parse(&job.module).ok_or(AppError::NotFound("import job"))?;
    actor.require(module, Access::Write)?;
    Ok(job)
}

struct JobProgress {
    app: SharedApp,
    scope: TenantScope,
    job_id: Uuid,
}

impl JobProgress {
    /// Saves the counts so far (and, at the end, the status with the report or the error) and
    /// appends an event, in a transaction of its own: a dry run's batches roll back, its
    /// progress does not. Then wakes the tenant's subscribers.
    async fn record(
        &self,
        report: Option<&ImportReport>,
        status: &str,
        error: Option<String>,
    ) -> AppResult<()> {
        let txn = records::begin_write(&self.app.db, &self.scope).await?;
        let mut update = self
            .scope
            .update::<import_job::Entity>()
            .col_expr(import_job::Column::Status, status.into());
        if let Some(report) = report {
            let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
            update = update
                .col_expr(import_job::Column::Rows, count(report.rows).into())
                .col_expr(import_job::Column::Created, count(report.created).into())
                .col_expr(import_job::Column::Updated, count(report.updated).into())
                .col_expr(import_job::Column::Skipped, count(report.skipped).into())
                .col_expr(import_job::Column::Failed, count(report.failed).into());
        }
        if status != RUNNING {
            let saved = report.and_then(|r| serde_json::to_value(r).ok());
            update = update
                .col_expr(import_job::Column::Report, saved.into())
                .col_expr(import_job::Column::Error, error.into())
                .col_expr(import_job::Column::FinishedAt, Some(Utc::now()).into());
        }
        update
            .filter(import_job::Column::Id.eq(self.job_id))
            .exec(&txn)
            .await?;
        let action = if status == RUNNING {
            "progress"
        } else {
            status
        };
        records::append_platform_event(&txn, &self.scope, IMPORTS, self.job_id, action, &[])
            .await?;
        txn.commit().await?;
        self.app.log_committed(&self.scope);
        Ok(())
    }
}

impl Progress for JobProgress {
    fn batch_done<'a>(&'a self, so_far: &'a ImportReport) -> BoxFuture<'a, AppResult<()>> {
        Box::pin(self.record(Some(so_far), RUNNING, None))
    }
}

/// Saves (or replaces) a named mapping of column headers to fields for a module's imports.
pub async fn save_mapping(
    db: &DatabaseConnection,
    actor: &Principal,
    module: Module,
    name: &str,
    mapping: &serde_json::Value,
) -> AppResult<import_mapping::Model> {
    actor.require(module, Access::Write)?;
    let name = required_text("name", name, 200)?;
    let valid = mapping.as_object().is_some_and(|m| {
        !m.is_empty()
            && m.values()
                .all(|field| field.as_str().is_some_and(|f| !f.trim().is_empty()))
    });
    if !valid {
        return Err(AppError::bad_input(
            "mapping",
            "must be a JSON object of column header -> field name",
        ));
    }
    let scope = actor.scope();
    let existing = mapping_named(db, &scope, module, &name).await?;
    let row = import_mapping::ActiveModel {
        id: Set(existing.as_ref().map_or_else(Uuid::now_v7, |m| m.id)),
        tenant_id: scope.owner(),
        module: Set(module.as_str().to_owned()),
        name: Set(name),
        mapping: Set(mapping.clone()),
        updated_by: Set(actor.user_id),
        updated_at: Set(Utc::now()),
    };
    Ok(match existing {
        Some(_) => row.update(db).await?,
        None => row.insert(db).await?,
    })
}

/// The saved mappings of a module, by name.
pub async fn mappings(
    db: &DatabaseConnection,
    actor: &Principal,
    module: Module,
) -> AppResult<Vec<import_mapping::Model>> {
    actor.require(module, Access::Write)?;
    Ok(actor
        .scope()
        .select::<import_mapping::Entity>()
        .filter(import_mapping::Column::Module.eq(module.as_str()))
        .order_by_asc(import_mapping::Column::Name)
        .all(db)
        .await?)
}

pub async fn delete_mapping(db: &DatabaseConnection, actor: &Principal, id: Uuid) -> AppResult<()> {
    let scope = actor.scope();
    let mapping = scope
        .by_id::<import_mapping::Entity>(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("import mapping"))?;
    let module = Module::parse(&mapping.module).ok_or(AppError::NotFound("import mapping"))?;
    actor.require(module, Access::Write)?;
    scope
        .delete::<import_mapping::Entity>()
        .filter(import_mapping::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// The columns of a saved mapping, for an import (`?mappingName=`).
pub async fn saved_mapping(
    db: &DatabaseConnection,
    scope: &TenantScope,
    module: Module,
    name: &str,
) -> AppResult<HashMap<String, String>> {
    let saved = mapping_named(db, scope, module, name)
        .await?
        .ok_or_else(|| {
            AppError::bad_input("mappingName", format!("no saved mapping is named '{name}'"))
        })?;
    Ok(serde_json::from_value(saved.mapping).unwrap_or_default())
}

async fn mapping_named(
    db: &DatabaseConnection,
    scope: &TenantScope,
    module: Module,
    name: &str,
) -> AppResult<Option<import_mapping::Model>> {
    Ok(scope
        .select::<import_mapping::Entity>()
        .filter(import_mapping::Column::Module.eq(module.as_str()))
        .filter(import_mapping::Column::Name.eq(name.trim()))
        .one(db)
        .await?)
}
