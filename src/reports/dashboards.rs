//! Dashboards: a named, shared layout of widgets, each a saved report drawn as a chart or a
//! single KPI (a total with its change against the previous period). A dashboard's data is
//! computed with the viewer's rights, widget by widget: a widget the viewer may not read shows
//! its error, the others their data.

use std::time::Duration;

use chrono::Utc;
use futures_util::{Stream, StreamExt};
use rust_decimal::Decimal;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use entity::reports::dashboard::{self, Model};
use entity::reports::report;

use crate::auth::{Principal, Role};
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::events::EventBus;
use crate::modules::Module;
use crate::validation::required_text;

use super::chart::{self, ChartData, ChartKind};
use super::definition::{Condition, Period};
use super::periods;
use super::run::cell_decimal;
use super::saved::{self, Parameters, TenantFacts};
use super::sharing::{self, Sharing};
use super::sources::FieldKind;

/// At most this many widgets on a dashboard.
const MAX_WIDGETS: usize = 20;
/// A dashboard pushes fresh data at most this often.
const DEBOUNCE: Duration = Duration::from_secs(1);

/// A KPI: the report's total over a period of one of its dates, next to the period before.
#[derive(
    async_graphql::SimpleObject, async_graphql::InputObject, Clone, Debug, Serialize, Deserialize,
)]
#[graphql(name = "KpiSpec", input_name = "KpiSpecInput")]
#[serde(rename_all = "camelCase")]
pub struct KpiSpec {
    /// A date or time field of the report's source (`expectedCloseDate`).
    pub date_field: String,
    /// The current period: `THIS_MONTH`, `THIS_QUARTER`, `YEAR_TO_DATE`, `LAST_N_DAYS`…
    pub period: Period,
    /// With `LAST_N_DAYS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<i32>,
}

/// A widget: a saved report as a chart (`chart`) or as a KPI (`kpi`).
#[derive(
    async_graphql::SimpleObject, async_graphql::InputObject, Clone, Debug, Serialize, Deserialize,
)]
#[graphql(name = "DashboardWidget", input_name = "DashboardWidgetInput")]
#[serde(rename_all = "camelCase")]
pub struct Widget {
    pub title: String,
    pub report_id: async_graphql::ID,
    /// How a chart widget draws the report (bars unless said).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<ChartKind>,
    /// The aggregate (or column) shown: `sum:amount`; the report's first otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measure: Option<String>,
    /// Makes the widget a KPI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kpi: Option<KpiSpec>,
}

pub struct DashboardInput {
    pub name: String,
    pub widgets: Vec<Widget>,
    pub sharing: Sharing,
    pub shared_roles: Vec<Role>,
}

/// A KPI's figures. Decimals are exact.
#[derive(async_graphql::SimpleObject, Clone, Debug, PartialEq)]
pub struct Kpi {
    pub label: String,
    pub value: Decimal,
    pub previous: Decimal,
    pub change: Decimal,
    /// Null when the previous period is zero.
    pub change_percent: Option<Decimal>,
    /// The currency, for money.
    pub currency: Option<String>,
}

/// Why a widget shows no data (the viewer may not read its report's module, say).
#[derive(async_graphql::SimpleObject, Clone, Debug, PartialEq)]
#[graphql(name = "WidgetError")]
pub struct WidgetFailure {
    pub code: String,
    pub message: String,
}

/// A widget's data, as the viewer may see it.
#[derive(async_graphql::SimpleObject, Clone, Debug, PartialEq)]
pub struct WidgetData {
    pub title: String,
    pub report_id: async_graphql::ID,
    pub chart_type: Option<ChartKind>,
    pub chart: Option<ChartData>,
    pub kpi: Option<Kpi>,
    pub error: Option<WidgetFailure>,
}

pub fn widgets_of(d: &Model) -> Vec<Widget> {
    serde_json::from_value(d.widgets.clone()).unwrap_or_default()
}

pub async fn list(db: &DatabaseConnection, actor: &Principal) -> AppResult<Vec<Model>> {
    sharing::list::<dashboard::Entity>(db, actor).await
}

pub async fn get(db: &impl Conn, actor: &Principal, id: Uuid) -> AppResult<Model> {
    sharing::get::<dashboard::Entity>(db, actor, id).await
}

/// Checks a dashboard's input: every widget names a report the caller sees, a KPI a date of it.
async fn check(
    db: &DatabaseConnection,
    actor: &Principal,
    input: &DashboardInput,
) -> AppResult<String> {
    let name = required_text("name", &input.name, 200)?;
    sharing::check(input.sharing, &input.shared_roles)?;
    if input.widgets.len() > MAX_WIDGETS {
        return Err(AppError::bad_input(
            "widgets",
            format!("at most {MAX_WIDGETS} widgets"),
        ));
    }
    for (i, widget) in input.widgets.iter().enumerate() {
        let path = format!("widgets[{i}]");
        required_text(&format!("{path}.title"), &widget.title, 200)?;
        let report_id =
            crate::validation::parse_id(&format!("{path}.reportId"), &widget.report_id)?;
        let report = saved::get(db, actor, report_id)
            .await
            .map_err(|err| match err {
                AppError::NotFound(what) => AppError::ReferenceNotFound {
                    field: format!("{path}.reportId"),
                    what,
                },
                other => other,
            })?;
        if let Some(kpi) = &widget.kpi {
            let counted = matches!(kpi.period, Period::LastNDays | Period::NextNDays);
            if counted != kpi.days.is_some_and(|d| (1..=3660).contains(&d)) {
                return Err(AppError::bad_input(
                    format!("{path}.kpi.days"),
                    "1 to 3660 days, with LAST_N_DAYS or NEXT_N_DAYS only",
                ));
            }
            let definition = saved::definition_of(&report)?;
            let source = super::sources::find(&definition.source);
            let temporal = source
                .and_then(|s| s.field(&kpi.date_field))
                .is_some_and(|f| f.kind.is_temporal());
            if !temporal {
                return Err(AppError::bad_input(
                    format!("{path}.kpi.dateField"),
                    format!(
                        "no date field '{}' in {}",
                        kpi.date_field, definition.source
                    ),
                ));
            }
        }
    }
    Ok(name)
}

fn widgets_json(widgets: &[Widget]) -> serde_json::Value {
    serde_json::to_value(widgets).unwrap_or_default()
}

pub async fn create(
    db: &DatabaseConnection,
    actor: &Principal,
    input: DashboardInput,
) -> AppResult<Model> {
    let name = check(db, actor, &input).await?;
    let now = Utc::now();
    Ok(dashboard::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: actor.scope().owner(),
        name: Set(name),
        widgets: Set(widgets_json(&input.widgets)),
        sharing: Set(input.sharing.as_str().to_owned()),
        shared_roles: Set(Role::join(&input.shared_roles)),
        owner_id: Set(actor.user_id),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?)
}

pub async fn update(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
    version: i32,
    input: DashboardInput,
) -> AppResult<Model> {
    sharing::editable::<dashboard::Entity>(db, actor, id).await?;
    let name = check(db, actor, &input).await?;
    let changes = dashboard::ActiveModel {
        name: Set(name),
        widgets: Set(widgets_json(&input.widgets)),
        sharing: Set(input.sharing.as_str().to_owned()),
        shared_roles: Set(Role::join(&input.shared_roles)),
        ..Default::default()
    };
    sharing::replace::<dashboard::Entity>(db, actor, id, version, changes).await
}

pub async fn delete(db: &DatabaseConnection, actor: &Principal, id: Uuid) -> AppResult<()> {
    sharing::delete::<dashboard::Entity>(db, actor, id).await
}

/// Every widget's data, with the caller's rights.
pub async fn data(
    db: &DatabaseConnection,
    actor: &Principal,
    d: &Model,
) -> AppResult<Vec<WidgetData>> {
    let facts = saved::tenant_facts(db, actor).await?;
    let mut out = Vec::new();
    for widget in widgets_of(d) {
        let computed = widget_data(db, actor, &facts, &widget).await;
        let (chart, kpi, error) = match computed {
            Ok(Shown::Chart(chart)) => (Some(chart), None, None),
            Ok(Shown::Kpi(kpi)) => (None, Some(kpi), None),
            Err(err) => (
                None,
                None,
                Some(WidgetFailure {
                    code: err.code().to_owned(),
                    message: err.message(),
                }),
            ),
        };
        out.push(WidgetData {
            chart_type: widget
                .kpi
                .is_none()
                .then(|| widget.chart.unwrap_or(ChartKind::Bar)),
            title: widget.title,
            report_id: widget.report_id,
            chart,
            kpi,
            error,
        });
    }
    Ok(out)
}

enum Shown {
    Chart(ChartData),
    Kpi(Kpi),
}

/// The saved report a widget shows, if the caller sees it.
async fn report_of(
    db: &DatabaseConnection,
    actor: &Principal,
    widget: &Widget,
) -> AppResult<report::Model> {
    let id = crate::validation::parse_id("reportId", &widget.report_id)?;
    saved::get(db, actor, id).await
}

async fn widget_data(
    db: &DatabaseConnection,
    actor: &Principal,
    facts: &TenantFacts,
    widget: &Widget,
) -> AppResult<Shown> {
    let report = report_of(db, actor, widget).await?;
    let definition = saved::definition_of(&report)?;
    let Some(spec) = &widget.kpi else {
        let kind = widget.chart.unwrap_or(ChartKind::Bar);
        let parameters = Parameters {
            limit: Some(chart::MAX_CATEGORIES),
            ..Parameters::default()
        };
        let report_kind = definition.kind;
        let outcome = saved::run_with(db, actor, facts, definition, parameters).await?;
        let data = chart::data(
            report_kind,
            &outcome,
            kind,
            widget.measure.as_deref(),
            &facts.currency,
        )?;
        return Ok(Shown::Chart(data));
    };
    let setting = &facts.setting;
    let today = setting.today();
    let (from, to) = periods::range(spec.period, spec.days.unwrap_or(0), today)
        .ok_or_else(|| AppError::bad_input("kpi.period", "is out of range"))?;
    let (before_from, before_to) = periods::previous(spec.period, from, to)
        .ok_or_else(|| AppError::bad_input("kpi.period", "is out of range"))?;
    let kind = super::sources::find(&definition.source)
        .and_then(|s| s.field(&spec.date_field))
        .map_or(FieldKind::Date, |f| f.kind);
    let mut figures = Vec::new();
    for (start, end) in [(from, to), (before_from, before_to)] {
        let bound = |day: chrono::NaiveDate, last: bool| -> serde_json::Value {
            if kind == FieldKind::DateTime {
                let mut at = periods::start_of(day, setting.zone);
                if last {
                    at -= chrono::Duration::microseconds(1);
                }
                serde_json::Value::from(at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            } else {
                let day = if last {
                    day.pred_opt().unwrap_or(day)
                } else {
                    day
                };
                serde_json::Value::from(day.to_string())
            }
        };
        let condition = Condition {
            field: spec.date_field.clone(),
            min: Some(async_graphql::Json(bound(start, false))),
            max: Some(async_graphql::Json(bound(end, true))),
            ..Condition::default()
        };
        let parameters = Parameters {
            filters: vec![condition],
            limit: Some(1),
            ..Parameters::default()
        };
        let outcome = saved::run_with(db, actor, facts, definition.clone(), parameters).await?;
        let total = match &widget.measure {
            Some(m) => outcome.totals.iter().find(|t| t.name == *m),
            None => outcome.totals.first(),
        }
        .ok_or_else(|| AppError::bad_input("measure", "the report has no such aggregate"))?;
        let value = cell_decimal(&total.value.0).unwrap_or_default();
        figures.push((total.label.clone(), total.name.clone(), total.kind, value));
    }
    let (label, name, kind, value) = figures[0].clone();
    let previous = figures[1].3;
    let change = value - previous;
    let change_percent = (change * Decimal::from(100))
        .checked_div(previous)
        .map(|p| p.round_dp(1));
    Ok(Shown::Kpi(Kpi {
        label,
        value,
        previous,
        change,
        change_percent,
        currency: chart::is_money(&name, kind).then(|| facts.currency.clone()),
    }))
}

/// The modules a dashboard's widgets read: a change to one of them may change its data.
async fn modules_of(
    db: &DatabaseConnection,
    actor: &Principal,
    d: &Model,
) -> AppResult<Vec<Module>> {
    let custom = saved::custom_fields(db, &actor.scope()).await?;
    let mut modules = Vec::new();
    for widget in widgets_of(d) {
        // A widget the caller cannot see or run changes nothing it is shown.
        let Ok(report) = report_of(db, actor, &widget).await else {
            continue;
        };
        modules.extend(saved::modules_read(&custom, &report).unwrap_or_default());
    }
    Ok(modules)
}

/// The dashboard's data each time records of its widgets' modules change, at most once per
/// second (changes in between are folded into the next push).
pub async fn follow(
    db: DatabaseConnection,
    bus: &EventBus,
    actor: Principal,
    id: Uuid,
) -> AppResult<impl Stream<Item = AppResult<Vec<WidgetData>>> + Send + 'static> {
    let d = get(&db, &actor, id).await?;
    let watched: Vec<&'static str> = modules_of(&db, &actor, &d)
        .await?
        .into_iter()
        .map(Module::as_str)
        .collect();
    let mut changes = crate::events::follow_log_from(db.clone(), bus, actor.scope(), None)
        .await?
        .filter(move |e| std::future::ready(watched.contains(&e.module.as_str())))
        .boxed();
    // The log is read by its own task, always to the end of each read: a read left half-done
    // while the data is computed would hold a pooled connection the computation waits for.
    let (latest, seen) = tokio::sync::watch::channel(0_i64);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = latest.closed() => break,
                entry = changes.next() => match entry {
                    Some(entry) => latest.send_replace(entry.sequence),
                    None => break,
                },
            };
        }
    });
    let start = tokio::time::Instant::now().checked_sub(DEBOUNCE);
    Ok(futures_util::stream::unfold(
        (seen, db, actor, start),
        move |(mut seen, db, actor, last)| async move {
            seen.changed().await.ok()?;
            if let Some(last) = last {
                tokio::time::sleep_until(last + DEBOUNCE).await;
            }
            // What changed meanwhile is in this push too.
            seen.mark_unchanged();
            let data = match get(&db, &actor, id).await {
                Ok(d) => data(&db, &actor, &d).await,
                Err(err) => Err(err),
            };
            let pushed = Some(tokio::time::Instant::now());
            Some((data, (seen, db, actor, pushed)))
        },
    ))
}
