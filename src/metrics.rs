//! `GET /metrics` in the Prometheus text format: requests by route and status class with
//! their latency, GraphQL operations by type and outcome and by root field with their latency,
//! the database pools and statements, WebSocket connections, and the backlogs of the
//! background workers. Labels come from a bounded set (route templates, not paths; fields of
//! the schema; no tenant, user or operation names), so that a scrape never grows with the data.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_graphql::parser::types::OperationType;
use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbBackend, EntityTrait, PaginatorTrait, QueryFilter,
    QuerySelect,
};

use entity::integrations::webhook;
use entity::process::timer;
use entity::reports::schedule;

use crate::app::App;
use crate::error::AppResult;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// A histogram of durations.
#[derive(Default)]
pub struct Latency {
    /// Observations at or under each bound (cumulative, as Prometheus wants them).
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

impl Latency {
    pub fn observe(&mut self, seconds: f64) {
        self.count += 1;
        self.sum_seconds += seconds;
        for (bound, count) in BUCKETS.iter().zip(self.buckets.iter_mut()) {
            if seconds <= *bound {
                *count += 1;
            }
        }
    }

    /// The histogram's lines, each with `labels` (may be empty).
    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, count) in BUCKETS.iter().zip(self.buckets) {
            let _ = writeln!(out, r#"{name}_bucket{{{labels}{sep}le="{bound}"}} {count}"#);
        }
        let count = self.count;
        let _ = writeln!(out, r#"{name}_bucket{{{labels}{sep}le="+Inf"}} {count}"#);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum_seconds);
        let _ = writeln!(out, "{name}_count{{{labels}}} {count}");
    }
}

/// What the server counts as it serves.
#[derive(Default)]
pub struct Metrics {
    /// By route template, then status class (`1xx` to `5xx`).
    requests: Mutex<BTreeMap<String, [Latency; 5]>>,
    /// By operation type, then outcome: ok, error.
    graphql: [[AtomicU64; 2]; 3],
    /// By root field of the schema, then outcome: ok, error.
    fields: Mutex<BTreeMap<String, [Latency; 2]>>,
}

impl Metrics {
    pub fn request(&self, route: &str, status: u16, took: Duration) {
        let class = usize::from((status / 100).clamp(1, 5) - 1);
        let seconds = took.as_secs_f64();
        let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        // Looked up by reference: a request allocates nothing to be counted.
        let classes = match requests.get_mut(route) {
            Some(classes) => classes,
            None => requests.entry(route.to_owned()).or_default(),
        };
        classes[class].observe(seconds);
    }

    /// Counts an operation by type, and, when it passed validation (`root_fields` are then
    /// fields of the schema: a bounded set), its time under each of its root fields.
    pub fn graphql_operation(
        &self,
        kind: OperationType,
        root_fields: Option<&[String]>,
        succeeded: bool,
        took: Duration,
    ) {
        let kind = match kind {
            OperationType::Query => 0,
            OperationType::Mutation => 1,
            OperationType::Subscription => 2,
        };
        let outcome = usize::from(!succeeded);
        self.graphql[kind][outcome].fetch_add(1, Ordering::Relaxed);
        let Some(root_fields) = root_fields else {
            return;
        };
        let mut fields = self.fields.lock().unwrap_or_else(|e| e.into_inner());
        for field in root_fields {
            let outcomes = match fields.get_mut(field.as_str()) {
                Some(outcomes) => outcomes,
                None => fields.entry(field.clone()).or_default(),
            };
            outcomes[outcome].observe(took.as_secs_f64());
        }
    }
}

/// The scrape: what was counted, and what the database says now.
pub async fn render(app: &App) -> AppResult<String> {
    let mut out = String::new();
    let metrics = &app.metrics;
    family(
        &mut out,
        "bpaas_http_requests",
        "histogram",
        "HTTP requests by route template and status class, and how long they took.",
    );
    {
        let requests = metrics.requests.lock().unwrap_or_else(|e| e.into_inner());
        let counted = requests.iter().flat_map(|(route, classes)| {
            CLASSES
                .iter()
                .zip(classes)
                .filter(|(_, latency)| latency.count > 0)
                .map(move |(class, latency)| (route, class, latency))
        });
        for (route, class, latency) in counted {
            let labels = format!(r#"route="{route}",status="{class}""#);
            latency.write(&mut out, "bpaas_http_requests", &labels);
        }
    }
    family(
        &mut out,
        "bpaas_graphql_operations_total",
        "counter",
        "GraphQL operations over HTTP by type and outcome (error: the answer has errors).",
    );
    for (kind, outcomes) in ["query", "mutation", "subscription"]
        .iter()
        .zip(&metrics.graphql)
    {
        for (outcome, count) in ["ok", "error"].iter().zip(outcomes) {
            let count = count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                r#"bpaas_graphql_operations_total{{type="{kind}",outcome="{outcome}"}} {count}"#
            );
        }
    }
    family(
        &mut out,
        "bpaas_graphql_fields",
        "histogram",
        "GraphQL operations over HTTP by root field and outcome, and how long the operation took \
         (an operation with several root fields counts under each).",
    );
    {
        let fields = metrics.fields.lock().unwrap_or_else(|e| e.into_inner());
        for (field, outcomes) in fields.iter() {
            for (outcome, latency) in ["ok", "error"].iter().zip(outcomes) {
                if latency.count > 0 {
                    let labels = format!(r#"field="{field}",outcome="{outcome}""#);
                    latency.write(&mut out, "bpaas_graphql_fields", &labels);
                }
            }
        }
    }
    family(
        &mut out,
        "bpaas_db_statements_total",
        "counter",
        "SQL statements the request pool has run.",
    );
    let _ = writeln!(
        out,
        "bpaas_db_statements_total {}",
        app.statements.load(Ordering::Relaxed)
    );
    family(
        &mut out,
        "bpaas_db_connections",
        "gauge",
        "Open database connections by pool and state.",
    );
    for (pool, db) in [("requests", &app.db), ("jobs", &app.jobs_db)] {
        let (size, idle) = pool_usage(db);
        let busy = size.saturating_sub(idle);
        let _ = writeln!(
            out,
            r#"bpaas_db_connections{{pool="{pool}",state="idle"}} {idle}"#
        );
        let _ = writeln!(
            out,
            r#"bpaas_db_connections{{pool="{pool}",state="busy"}} {busy}"#
        );
    }
    family(
        &mut out,
        "bpaas_websocket_connections",
        "gauge",
        "Open WebSocket connections on this replica.",
    );
    let open: usize = app
        .ws_connections
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .values()
        .sum();
    let _ = writeln!(out, "bpaas_websocket_connections {open}");
    family(
        &mut out,
        "bpaas_tenants_followed",
        "gauge",
        "Tenants with subscribers on this replica (each has one feed reading its log).",
    );
    let _ = writeln!(
        out,
        "bpaas_tenants_followed {}",
        app.events.tenants_followed()
    );
    family(
        &mut out,
        "bpaas_event_log_lag_seconds",
        "histogram",
        "From a log entry's commit to its feed reading it for the subscribers on this replica.",
    );
    app.events
        .lag(|lag| lag.write(&mut out, "bpaas_event_log_lag_seconds", ""));
    backlogs(&mut out, &app.jobs_db).await?;
    Ok(out)
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Connections open in a pool, and how many of them are idle.
fn pool_usage(db: &DatabaseConnection) -> (u32, u32) {
    let idle = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    match db.get_database_backend() {
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), idle(pool.num_idle()))
        }
        _ => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), idle(pool.num_idle()))
        }
    }
}

/// What the background workers have still to do: due timers and how late the oldest is, due
/// report schedules, and webhooks waiting to retry. Counted across tenants, no tenant named.
async fn backlogs(out: &mut String, db: &DatabaseConnection) -> AppResult<()> {
    let now = Utc::now();
    let due_timers = timer::Entity::find()
        .filter(timer::Column::DueAt.lte(now))
        .count(db)
        .await?;
    let oldest: Option<Option<chrono::DateTime<Utc>>> = timer::Entity::find()
        .select_only()
        .column_as(Expr::col(timer::Column::DueAt).min(), "oldest")
        .filter(timer::Column::DueAt.lte(now))
        .into_tuple()
        .one(db)
        .await?;
    let lag = oldest.flatten().map_or(0.0, |at| {
        (now - at).to_std().unwrap_or_default().as_secs_f64()
    });
    let due_schedules = schedule::Entity::find()
        .filter(schedule::Column::Active.eq(true))
        .filter(schedule::Column::NextRunAt.lte(now))
        .count(db)
        .await?;
    let retrying = webhook::Entity::find()
        .filter(webhook::Column::Active.eq(true))
        .filter(webhook::Column::Failures.gt(0))
        .count(db)
        .await?;
    for (name, help, value) in [
        (
            "bpaas_timers_due",
            "Process timers whose time has come and that have not fired yet.",
            due_timers as f64,
        ),
        (
            "bpaas_timers_lag_seconds",
            "How late the oldest due timer is.",
            lag,
        ),
        (
            "bpaas_report_schedules_due",
            "Report schedules whose run is due.",
            due_schedules as f64,
        ),
        (
            "bpaas_webhooks_retrying",
            "Active webhooks whose last delivery failed and that wait to retry.",
            retrying as f64,
        ),
    ] {
        family(out, name, "gauge", help);
        let _ = writeln!(out, "{name} {value}");
    }
    Ok(())
}
