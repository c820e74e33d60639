//! Report snapshots: a report's rows as they were when it ran, on its schedule or by hand,
//! kept as CSV for later download. A snapshot is computed with its taker's rights; whoever
//! downloads it must see the report and still be allowed to read every module it read. Each
//! report keeps its latest [`KEPT`] snapshots. Storing one appends a `reports.snapshot` (or
//! `reports.snapshot_failed`) event to the tenant's log, so that webhooks announce it.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::{Value, json};
use uuid::Uuid;

use entity::reports::{report, snapshot};

use super::files::{self, Table};
use super::sharing;
use crate::auth::Principal;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::modules::Module;
use crate::permissions::Access;
use crate::records;
use crate::tenancy::TenantScope;

/// The event kind of report snapshots in the log.
pub const REPORTS: &str = "reports";
pub const READY: &str = "ready";
pub const FAILED: &str = "failed";
/// Snapshots a report keeps; storing one more drops the oldest.
pub const KEPT: u64 = 30;

/// What running a report for a snapshot came to: the version that ran and its rows, or why
/// there are none.
pub struct Taken(Result<(i32, Table), String>);

impl Taken {
    pub fn failed(why: impl Into<String>) -> Self {
        Taken(Err(why.into()))
    }
}

/// Runs a report as `actor` for a snapshot; a failure is part of the snapshot, not an error.
pub async fn compute(db: &DatabaseConnection, actor: &Principal, report_id: Uuid) -> Taken {
    match files::table(db, actor, report_id).await {
        Ok((report, table)) => Taken(Ok((report.version, table))),
        Err(err) => Taken::failed(err.message()),
    }
}

/// Stores a snapshot with its event, in the caller's transaction (begun with
/// [`records::begin_write`]), and drops the report's oldest beyond [`KEPT`].
pub async fn store(
    txn: &impl Conn,
    scope: &TenantScope,
    report_id: Uuid,
    schedule_id: Option<Uuid>,
    taken_by: Uuid,
    taken: Taken,
) -> AppResult<snapshot::Model> {
    let (version, status, error, rows, modules, content) = match taken.0 {
        Ok((version, table)) => {
            let modules: Vec<&str> = table.modules.iter().map(|m| m.as_str()).collect();
            let rows = i64::try_from(table.data_rows).unwrap_or(i64::MAX);
            let csv = files::csv(&table);
            (version, READY, None, rows, modules.join(","), Some(csv))
        }
        Err(why) => {
            let report = scope.by_id::<report::Entity>(report_id).one(txn).await?;
            let version = report.map_or(1, |r| r.version);
            (version, FAILED, Some(why), 0, String::new(), None)
        }
    };
    let stored = snapshot::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: scope.owner(),
        report_id: Set(report_id),
        report_version: Set(version),
        schedule_id: Set(schedule_id),
        taken_by: Set(taken_by),
        status: Set(status.to_owned()),
        error: Set(error),
        row_count: Set(rows),
        modules: Set(modules),
        content: Set(content),
        created_at: Set(Utc::now()),
    }
    .insert(txn)
    .await?;
    let action = if status == READY {
        "snapshot"
    } else {
        "snapshot_failed"
    };
    records::append_platform_event(txn, scope, REPORTS, stored.id, action, &[]).await?;
    let newest_kept = Query::select()
        .column(snapshot::Column::Id)
        .from(snapshot::Entity)
        .and_where(snapshot::Column::TenantId.eq(scope.tenant_id()))
        .and_where(snapshot::Column::ReportId.eq(report_id))
        .order_by(snapshot::Column::Id, sea_orm::Order::Desc)
        .limit(KEPT)
        .to_owned();
    scope
        .delete::<snapshot::Entity>()
        .filter(snapshot::Column::ReportId.eq(report_id))
        .filter(snapshot::Column::Id.not_in_subquery(newest_kept))
        .exec(txn)
        .await?;
    Ok(stored)
}

/// Takes a snapshot now, with the caller's rights (the report's owner or an administrator).
/// A report that cannot run is the caller's error here, and nothing is stored.
pub async fn take(
    db: &DatabaseConnection,
    actor: &Principal,
    report_id: Uuid,
) -> AppResult<Summary> {
    let report = sharing::editable::<report::Entity>(db, actor, report_id).await?;
    let table = files::table_of(db, actor, &report).await?;
    let scope = actor.scope();
    let txn = records::begin_write(db, &scope).await?;
    let stored = store(
        &txn,
        &scope,
        report_id,
        None,
        actor.user_id,
        Taken(Ok((report.version, table))),
    )
    .await?;
    txn.commit().await?;
    Ok(stored.into())
}

/// A snapshot without its file.
#[derive(FromQueryResult, Clone, Debug)]
pub struct Summary {
    pub id: Uuid,
    pub report_id: Uuid,
    pub report_version: i32,
    pub schedule_id: Option<Uuid>,
    pub taken_by: Uuid,
    pub status: String,
    pub error: Option<String>,
    pub row_count: i64,
    pub created_at: DateTime<Utc>,
}

/// The columns of a [`Summary`]: all but the file.
const SUMMARY: [snapshot::Column; 9] = [
    snapshot::Column::Id,
    snapshot::Column::ReportId,
    snapshot::Column::ReportVersion,
    snapshot::Column::ScheduleId,
    snapshot::Column::TakenBy,
    snapshot::Column::Status,
    snapshot::Column::Error,
    snapshot::Column::RowCount,
    snapshot::Column::CreatedAt,
];

impl From<snapshot::Model> for Summary {
    fn from(s: snapshot::Model) -> Self {
        Self {
            id: s.id,
            report_id: s.report_id,
            report_version: s.report_version,
            schedule_id: s.schedule_id,
            taken_by: s.taken_by,
            status: s.status,
            error: s.error,
            row_count: s.row_count,
            created_at: s.created_at,
        }
    }
}

/// A report's latest snapshots, newest first, for whoever sees the report.
pub async fn list(
    db: &DatabaseConnection,
    actor: &Principal,
    report_id: Uuid,
    limit: u64,
) -> AppResult<Vec<Summary>> {
    sharing::get::<report::Entity>(db, actor, report_id).await?;
    Ok(actor
        .scope()
        .select::<snapshot::Entity>()
        .filter(snapshot::Column::ReportId.eq(report_id))
        .select_only()
        .columns(SUMMARY)
        .order_by_desc(snapshot::Column::Id)
        .limit(limit.min(KEPT))
        .into_model::<Summary>()
        .all(db)
        .await?)
}

/// A snapshot's file, with its report: NOT_FOUND unless the caller sees the report (and for
/// a failed snapshot, which has none); FORBIDDEN when the caller may not read what it holds.
pub async fn file(
    db: &DatabaseConnection,
    actor: &Principal,
    report_id: Uuid,
    id: Uuid,
) -> AppResult<(report::Model, snapshot::Model, String)> {
    let report = sharing::get::<report::Entity>(db, actor, report_id).await?;
    let mut found = actor
        .scope()
        .by_id::<snapshot::Entity>(id)
        .filter(snapshot::Column::ReportId.eq(report_id))
        .one(db)
        .await?
        .ok_or(AppError::NotFound("snapshot"))?;
    for module in found.modules.split(',').filter_map(Module::parse) {
        actor.require(module, Access::Read)?;
    }
    let content = found
        .content
        .take()
        .ok_or(AppError::NotFound("snapshot file"))?;
    Ok((report, found, content))
}

/// Where a snapshot's file is served.
pub fn download_path(report_id: Uuid, id: Uuid) -> String {
    format!("/reports/{report_id}/snapshots/{id}.csv")
}

/// What a webhook receives as the `record` of a snapshot event.
pub async fn event_json(
    db: &DatabaseConnection,
    scope: &TenantScope,
    id: Uuid,
) -> AppResult<Value> {
    let Some(found) = scope
        .by_id::<snapshot::Entity>(id)
        .select_only()
        .columns(SUMMARY)
        .into_model::<Summary>()
        .one(db)
        .await?
    else {
        return Ok(Value::Null);
    };
    let name = scope
        .by_id::<report::Entity>(found.report_id)
        .one(db)
        .await?
        .map(|r| r.name);
    Ok(json!({
        "id": found.id,
        "reportId": found.report_id,
        "reportName": name,
        "reportVersion": found.report_version,
        "scheduleId": found.schedule_id,
        "status": found.status,
        "error": found.error,
        "rowCount": found.row_count,
        "createdAt": found.created_at,
        "download": (found.status == READY).then(|| download_path(found.report_id, found.id)),
    }))
}
