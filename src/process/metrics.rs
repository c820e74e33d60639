//! Metrics per definition: instances per state, time spent in each state (median and 95th
//! percentile), SLA breaches.

use std::collections::BTreeMap;

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbBackend, FromQueryResult, QueryFilter, QuerySelect,
    Statement,
};

use entity::process::instance;

use super::instances::{ACTIVE, CANCELLED, COMPLETED};
use crate::auth::Principal;
use crate::error::AppResult;
use crate::modules::Module;
use crate::permissions::Access;

#[derive(Debug, Default, PartialEq)]
pub struct StateMetrics {
    pub state: String,
    /// Active instances in this state now.
    pub active: u64,
    /// Stays observed (finished ones, and the ongoing stays of active instances).
    pub stays: u64,
    pub median_seconds: f64,
    pub p95_seconds: f64,
}

#[derive(Debug, Default, PartialEq)]
pub struct Metrics {
    pub instances: u64,
    pub active: u64,
    pub completed: u64,
    pub cancelled: u64,
    pub sla_breaches: u64,
    pub states: Vec<StateMetrics>,
}

/// Instances of one definition counted per status, state and breach.
#[derive(FromQueryResult)]
struct InstanceCount {
    status: String,
    state: String,
    sla_breached: bool,
    instances: i64,
}

/// Time in one state, aggregated by the database.
#[derive(FromQueryResult)]
struct StayRow {
    state: String,
    stays: i64,
    median_seconds: Option<f64>,
    p95_seconds: Option<f64>,
}

/// Seconds between two timestamps, in each database's dialect.
fn seconds_between(backend: DbBackend, later: &str, earlier: &str) -> String {
    match backend {
        DbBackend::Postgres => {
            format!("CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) AS DOUBLE PRECISION)")
        }
        _ => format!("((julianday({later}) - julianday({earlier})) * 86400.0)"),
    }
}

/// Stays per state with their median and 95th percentile (nearest rank), computed in SQL so
/// that the answer costs the same for ten instances or a million. A step's stay in its state
/// lasts until the next step that leaves it (a step that stays, such as an SLA mark, does not
/// end it); the last step of an active instance stays until now.
fn stays_statement(backend: DbBackend) -> String {
    let seconds = seconds_between(backend, "COALESCE(next_at, $3)", "at");
    format!(
        "WITH steps AS (
            SELECT s.to_state AS state, s.at, i.status,
                   LEAD(s.at) OVER (PARTITION BY s.instance_id ORDER BY s.at, s.id) AS next_at,
                   LEAD(s.to_state) OVER (PARTITION BY s.instance_id ORDER BY s.at, s.id) AS next_state
            FROM process_steps s
            JOIN process_instances i ON i.id = s.instance_id AND i.tenant_id = s.tenant_id
            WHERE s.tenant_id = $1 AND i.definition_key = $2
        ), stays AS (
            SELECT state, {seconds} AS seconds
            FROM steps
            WHERE (next_at IS NULL AND status = '{ACTIVE}')
               OR (next_at IS NOT NULL AND next_state <> state)
        ), ranked AS (
            SELECT state, seconds,
                   ROW_NUMBER() OVER (PARTITION BY state ORDER BY seconds) AS position,
                   COUNT(*) OVER (PARTITION BY state) AS stays
            FROM stays
        )
        SELECT state, stays,
               MAX(CASE WHEN position = (stays * 50 + 99) / 100 THEN seconds END) AS median_seconds,
               MAX(CASE WHEN position = (stays * 95 + 99) / 100 THEN seconds END) AS p95_seconds
        FROM ranked
        GROUP BY state, stays
        ORDER BY state"
    )
}

pub async fn for_definition(
    db: &DatabaseConnection,
    actor: &Principal,
    key: &str,
) -> AppResult<Metrics> {
    actor.require(Module::Processes, Access::Read)?;
    let scope = actor.scope();
    let counts = scope
        .select::<instance::Entity>()
        .filter(instance::Column::DefinitionKey.eq(key))
        .select_only()
        .column(instance::Column::Status)
        .column(instance::Column::State)
        .column(instance::Column::SlaBreached)
        .column_as(Expr::col(instance::Column::Id).count(), "instances")
        .group_by(instance::Column::Status)
        .group_by(instance::Column::State)
        .group_by(instance::Column::SlaBreached)
        .into_model::<InstanceCount>()
        .all(db)
        .await?;
    // The steps' own tenant condition is the scope's tenant, as in every query of this scope.
    let backend = db.get_database_backend();
    let stays = StayRow::find_by_statement(Statement::from_sql_and_values(
        backend,
        stays_statement(backend),
        [scope.tenant_id().into(), key.into(), Utc::now().into()],
    ))
    .all(db)
    .await?;

    let total = |keep: &dyn Fn(&InstanceCount) -> bool| -> u64 {
        counts
            .iter()
            .filter(|c| keep(c))
            .map(|c| u64::try_from(c.instances).unwrap_or(0))
            .sum()
    };
    let mut active_in: BTreeMap<&str, u64> = BTreeMap::new();
    for count in counts.iter().filter(|c| c.status == ACTIVE) {
        *active_in.entry(count.state.as_str()).or_default() +=
            u64::try_from(count.instances).unwrap_or(0);
    }
    let states = stays
        .into_iter()
        .map(|row| StateMetrics {
            active: active_in.get(row.state.as_str()).copied().unwrap_or(0),
            stays: u64::try_from(row.stays).unwrap_or(0),
            median_seconds: row.median_seconds.unwrap_or(0.0),
            p95_seconds: row.p95_seconds.unwrap_or(0.0),
            state: row.state,
        })
        .collect();
    Ok(Metrics {
        instances: total(&|_| true),
        active: total(&|c| c.status == ACTIVE),
        completed: total(&|c| c.status == COMPLETED),
        cancelled: total(&|c| c.status == CANCELLED),
        sla_breaches: total(&|c| c.sla_breached),
        states,
    })
}
