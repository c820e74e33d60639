//! Reports: their sources, saved definitions, and running them.

use async_graphql::{
    ComplexObject, Context, ID, InputObject, Json, Object, Result, SimpleObject, Subscription,
};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use serde_json::Value;

use entity::reports::{dashboard, report, schedule, version};

use crate::permissions::Access;
use crate::reports::dashboards::{self, DashboardInput, Widget, WidgetData};
use crate::reports::definition::{Condition, ReportDefinition};
use crate::reports::run::{Column, Outcome, Total};
use crate::reports::saved::{self, Parameters, ReportInput};
use crate::reports::schedules::{self, Frequency, ScheduleInput};
use crate::reports::sharing::Sharing;
use crate::reports::snapshots;
use crate::reports::sources::{self, FieldKind};

use super::platform::{RoleValue, domain_roles};
use super::process::DefinitionProblem;
use super::{ContextExt, parse_id};

/// A saved report.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Report {
    pub id: ID,
    pub name: String,
    pub description: Option<String>,
    /// The built-in report this is the tenant's copy of (`pipeline-by-stage`).
    pub built_in: Option<String>,
    pub definition: ReportDefinition,
    pub sharing: Sharing,
    pub shared_roles: Vec<RoleValue>,
    pub owner_id: ID,
    /// Give it back when updating: a report changed meanwhile is a CONFLICT.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<report::Model> for Report {
    type Error = crate::error::AppError;

    fn try_from(r: report::Model) -> Result<Self, Self::Error> {
        Ok(Self {
            id: ID(r.id.to_string()),
            definition: saved::definition_of(&r)?,
            sharing: Sharing::parse(&r.sharing),
            shared_roles: RoleValue::list(&r.shared_roles),
            owner_id: ID(r.owner_id.to_string()),
            name: r.name,
            description: r.description,
            built_in: r.built_in,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[ComplexObject]
impl Report {
    /// When it runs by itself, if it does.
    async fn schedule(&self, ctx: &Context<'_>) -> Result<Option<ReportSchedule>> {
        let id = parse_id("id", &self.id)?;
        let found = schedules::of_report(&ctx.app().db, ctx.principal()?, id).await?;
        Ok(found.map(Into::into))
    }

    /// Every saved version, newest first: what it reported on before it was changed.
    async fn versions(&self, ctx: &Context<'_>) -> Result<Vec<ReportVersion>> {
        let id = parse_id("id", &self.id)?;
        let found = saved::versions(&ctx.app().db, ctx.principal()?, id).await?;
        Ok(found
            .into_iter()
            .map(ReportVersion::try_from)
            .collect::<Result<_, _>>()?)
    }

    /// Its latest snapshots, newest first (it keeps 30).
    async fn snapshots(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 10)] first: u32,
    ) -> Result<Vec<ReportSnapshot>> {
        let id = parse_id("id", &self.id)?;
        let found = snapshots::list(&ctx.app().db, ctx.principal()?, id, u64::from(first)).await?;
        Ok(found.into_iter().map(Into::into).collect())
    }
}

/// A report as it was saved once.
#[derive(SimpleObject)]
pub struct ReportVersion {
    pub version: i32,
    pub name: String,
    pub definition: ReportDefinition,
    pub saved_by: ID,
    pub saved_at: DateTime<Utc>,
}

impl TryFrom<version::Model> for ReportVersion {
    type Error = crate::error::AppError;

    fn try_from(v: version::Model) -> Result<Self, Self::Error> {
        Ok(Self {
            definition: saved::definition_from(v.report_id, &v.definition)?,
            version: v.version,
            name: v.name,
            saved_by: ID(v.saved_by.to_string()),
            saved_at: v.saved_at,
        })
    }
}

/// When a report runs by itself, and as whom.
#[derive(SimpleObject)]
pub struct ReportSchedule {
    pub id: ID,
    pub report_id: ID,
    pub frequency: Frequency,
    /// The schedule as a five-field cron expression, in the tenant's time zone.
    pub cron: String,
    /// In words, e.g. "At 08:00 on Monday".
    pub description: String,
    pub active: bool,
    /// When it runs next, while active.
    pub next_run_at: DateTime<Utc>,
    pub last_run_at: Option<DateTime<Utc>>,
    /// Who set it: runs use this user's rights as they are at the time.
    pub owner_id: ID,
    /// Give it back when changing the schedule: one changed meanwhile is a CONFLICT.
    pub version: i32,
}

impl From<schedule::Model> for ReportSchedule {
    fn from(s: schedule::Model) -> Self {
        Self {
            id: ID(s.id.to_string()),
            report_id: ID(s.report_id.to_string()),
            frequency: Frequency::parse(&s.frequency),
            description: schedules::describe(&s.cron),
            cron: s.cron,
            active: s.active,
            next_run_at: s.next_run_at,
            last_run_at: s.last_run_at,
            owner_id: ID(s.owner_id.to_string()),
            version: s.version,
        }
    }
}

#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotStatus {
    Ready,
    /// The report could not run; `error` says why.
    Failed,
}

/// A report's rows as they were when it ran.
#[derive(SimpleObject)]
pub struct ReportSnapshot {
    pub id: ID,
    pub report_id: ID,
    /// The version of the report it ran.
    pub report_version: i32,
    /// Taken by its schedule (rather than by hand).
    pub scheduled: bool,
    /// Whose rights it was computed with.
    pub taken_by: ID,
    pub status: SnapshotStatus,
    pub error: Option<String>,
    pub row_count: i64,
    pub created_at: DateTime<Utc>,
    /// Where to download it as CSV, with the same credentials as the API.
    pub download_url: Option<String>,
}

impl From<snapshots::Summary> for ReportSnapshot {
    fn from(s: snapshots::Summary) -> Self {
        let ready = s.status == snapshots::READY;
        Self {
            id: ID(s.id.to_string()),
            report_id: ID(s.report_id.to_string()),
            report_version: s.report_version,
            scheduled: s.schedule_id.is_some(),
            taken_by: ID(s.taken_by.to_string()),
            status: if ready {
                SnapshotStatus::Ready
            } else {
                SnapshotStatus::Failed
            },
            error: s.error,
            row_count: s.row_count,
            created_at: s.created_at,
            download_url: ready.then(|| snapshots::download_path(s.report_id, s.id)),
        }
    }
}

#[derive(InputObject)]
pub struct ReportInputObject {
    pub name: String,
    pub description: Option<String>,
    pub definition: ReportDefinition,
    #[graphql(default_with = "Sharing::Private")]
    pub sharing: Sharing,
    /// With `ROLES`: who besides the owner sees it.
    #[graphql(default)]
    pub shared_roles: Vec<RoleValue>,
}

impl From<ReportInputObject> for ReportInput {
    fn from(input: ReportInputObject) -> Self {
        Self {
            name: input.name,
            description: input.description,
            definition: input.definition,
            sharing: input.sharing,
            shared_roles: domain_roles(input.shared_roles),
        }
    }
}

#[derive(SimpleObject)]
pub struct SaveReportPayload {
    /// Null when the definition has problems (then nothing was saved).
    pub report: Option<Report>,
    pub problems: Vec<DefinitionProblem>,
}

impl SaveReportPayload {
    fn from(
        saved: Result<report::Model, Vec<crate::process::definition::Problem>>,
    ) -> Result<Self> {
        Ok(match saved {
            Ok(report) => Self {
                report: Some(report.try_into()?),
                problems: Vec::new(),
            },
            Err(problems) => Self {
                report: None,
                problems: problems.into_iter().map(Into::into).collect(),
            },
        })
    }
}

/// What a run adds to a report: conditions, and which rows to return.
#[derive(InputObject, Default)]
#[graphql(name = "ReportParameters")]
pub struct ReportParametersInput {
    /// Added to the report's own conditions.
    #[graphql(default)]
    pub filters: Vec<Condition>,
    /// Rows to return (default 100, at most 1000).
    pub first: Option<i32>,
    /// Rows to skip.
    #[graphql(default)]
    pub offset: i32,
}

impl TryFrom<ReportParametersInput> for Parameters {
    type Error = crate::error::AppError;

    fn try_from(input: ReportParametersInput) -> Result<Self, Self::Error> {
        let offset = u64::try_from(input.offset)
            .map_err(|_| crate::error::AppError::bad_input("offset", "must not be negative"))?;
        let limit = input
            .first
            .map(u64::try_from)
            .transpose()
            .map_err(|_| crate::error::AppError::bad_input("first", "must not be negative"))?;
        Ok(Self {
            filters: input.filters,
            offset,
            limit,
        })
    }
}

/// A report's result: typed cells (decimals as strings so that no digit is lost, dates and
/// times as ISO text), aligned with `columns`.
#[derive(SimpleObject)]
pub struct ReportResult {
    pub columns: Vec<Column>,
    pub rows: Vec<Json<Vec<Value>>>,
    /// Summary reports with two groupings: a row per first-level group, with its totals.
    pub subtotals: Vec<Json<Vec<Value>>>,
    /// Matrix reports: each column's totals, as a row.
    pub column_totals: Option<Json<Vec<Value>>>,
    /// The aggregates over every row the report covers.
    pub totals: Vec<Total>,
    /// Rows (tabular), groups (summary) or matrix rows in all, across pages.
    pub total_rows: u64,
}

impl From<Outcome> for ReportResult {
    fn from(o: Outcome) -> Self {
        Self {
            columns: o.columns,
            rows: o.rows.into_iter().map(Json).collect(),
            subtotals: o.subtotals.into_iter().map(Json).collect(),
            column_totals: o.column_totals.map(Json),
            totals: o.totals,
            total_rows: o.total_rows,
        }
    }
}

/// Something a report can be about, and its fields.
#[derive(SimpleObject)]
pub struct ReportSource {
    /// What a definition's `source` names.
    pub name: String,
    pub label: String,
    pub fields: Vec<ReportField>,
}

#[derive(SimpleObject)]
pub struct ReportField {
    pub name: String,
    pub label: String,
    #[graphql(name = "type")]
    pub kind: FieldKind,
    /// The source this field refers to: its fields are reachable as `account.industry` for
    /// `accountId`.
    pub refers_to: Option<String>,
}

/// A named layout of report widgets; `widgetData` computes every widget for the viewer.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Dashboard {
    pub id: ID,
    pub name: String,
    pub widgets: Vec<Widget>,
    pub sharing: Sharing,
    pub shared_roles: Vec<RoleValue>,
    pub owner_id: ID,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    model: dashboard::Model,
}

impl From<dashboard::Model> for Dashboard {
    fn from(d: dashboard::Model) -> Self {
        Self {
            id: ID(d.id.to_string()),
            name: d.name.clone(),
            widgets: dashboards::widgets_of(&d),
            sharing: Sharing::parse(&d.sharing),
            shared_roles: RoleValue::list(&d.shared_roles),
            owner_id: ID(d.owner_id.to_string()),
            version: d.version,
            created_at: d.created_at,
            updated_at: d.updated_at,
            model: d,
        }
    }
}

#[ComplexObject]
impl Dashboard {
    /// Every widget's data, in one request: a chart's categories and series, or a KPI with its
    /// change; a widget the viewer may not read carries its error instead.
    async fn widget_data(&self, ctx: &Context<'_>) -> Result<Vec<WidgetData>> {
        Ok(dashboards::data(&ctx.app().db, ctx.principal()?, &self.model).await?)
    }
}

#[derive(InputObject)]
pub struct DashboardInputObject {
    pub name: String,
    #[graphql(default)]
    pub widgets: Vec<Widget>,
    #[graphql(default_with = "Sharing::Private")]
    pub sharing: Sharing,
    #[graphql(default)]
    pub shared_roles: Vec<RoleValue>,
}

impl From<DashboardInputObject> for DashboardInput {
    fn from(input: DashboardInputObject) -> Self {
        Self {
            name: input.name,
            widgets: input.widgets,
            sharing: input.sharing,
            shared_roles: domain_roles(input.shared_roles),
        }
    }
}

/// A dashboard's fresh data.
#[derive(SimpleObject)]
pub struct DashboardUpdate {
    pub dashboard_id: ID,
    pub widgets: Vec<WidgetData>,
    pub at: DateTime<Utc>,
}

#[derive(Default)]
pub struct ReportQuery;

#[Object]
impl ReportQuery {
    /// What the caller may report on, with the fields of each (custom fields are named
    /// `customFields.<name>`; see `customFields`).
    async fn report_sources(&self, ctx: &Context<'_>) -> Result<Vec<ReportSource>> {
        let principal = ctx.principal()?;
        Ok(sources::all()
            .iter()
            .filter(|s| {
                s.module
                    .is_none_or(|m| principal.require(m, Access::Read).is_ok())
            })
            .map(|s| ReportSource {
                name: s.name.to_owned(),
                label: s.label.clone(),
                fields: s
                    .fields
                    .iter()
                    .map(|f| ReportField {
                        name: f.name.clone(),
                        label: f.label.clone(),
                        kind: f.kind,
                        refers_to: f.refers_to.map(str::to_owned),
                    })
                    .collect(),
            })
            .collect())
    }

    /// The reports the caller may see: their own, those shared with one of their roles or the
    /// whole tenant (administrators see all), by name.
    async fn reports(&self, ctx: &Context<'_>) -> Result<Vec<Report>> {
        let reports = saved::list(&ctx.app().db, ctx.principal()?).await?;
        Ok(reports
            .into_iter()
            .map(Report::try_from)
            .collect::<Result<_, _>>()?)
    }

    async fn report(&self, ctx: &Context<'_>, id: ID) -> Result<Report> {
        let id = parse_id("id", &id)?;
        Ok(saved::get(&ctx.app().db, ctx.principal()?, id)
            .await?
            .try_into()?)
    }

    /// The dashboards the caller may see, by name.
    async fn dashboards(&self, ctx: &Context<'_>) -> Result<Vec<Dashboard>> {
        let all = dashboards::list(&ctx.app().db, ctx.principal()?).await?;
        Ok(all.into_iter().map(Into::into).collect())
    }

    async fn dashboard(&self, ctx: &Context<'_>, id: ID) -> Result<Dashboard> {
        let id = parse_id("id", &id)?;
        Ok(dashboards::get(&ctx.app().db, ctx.principal()?, id)
            .await?
            .into())
    }

    /// Runs a saved report with the caller's rights: FORBIDDEN when the caller may not read
    /// what it reports on.
    async fn run_report(
        &self,
        ctx: &Context<'_>,
        id: ID,
        parameters: Option<ReportParametersInput>,
    ) -> Result<ReportResult> {
        let id = parse_id("id", &id)?;
        let outcome = saved::run_saved(
            &ctx.app().db,
            ctx.principal()?,
            id,
            parameters.unwrap_or_default().try_into()?,
        )
        .await?;
        Ok(outcome.into())
    }

    /// Runs a definition without saving it (a report builder's preview).
    async fn preview_report(
        &self,
        ctx: &Context<'_>,
        definition: ReportDefinition,
        parameters: Option<ReportParametersInput>,
    ) -> Result<ReportResult> {
        let outcome = saved::run_definition(
            &ctx.app().db,
            ctx.principal()?,
            definition,
            parameters.unwrap_or_default().try_into()?,
        )
        .await?;
        Ok(outcome.into())
    }
}

#[derive(Default)]
pub struct ReportMutation;

#[Object]
impl ReportMutation {
    /// Saves a report owned by the caller (private unless shared).
    async fn create_report(
        &self,
        ctx: &Context<'_>,
        input: ReportInputObject,
    ) -> Result<SaveReportPayload> {
        let saved = saved::create(&ctx.app().db, ctx.principal()?, input.into()).await?;
        SaveReportPayload::from(saved)
    }

    /// Replaces a report (its owner or an administrator); `version` is the one you read.
    async fn update_report(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        input: ReportInputObject,
    ) -> Result<SaveReportPayload> {
        let id = parse_id("id", &id)?;
        let saved =
            saved::update(&ctx.app().db, ctx.principal()?, id, version, input.into()).await?;
        SaveReportPayload::from(saved)
    }

    /// Saves a dashboard owned by the caller; every widget names a report the caller sees.
    async fn create_dashboard(
        &self,
        ctx: &Context<'_>,
        input: DashboardInputObject,
    ) -> Result<Dashboard> {
        let created = dashboards::create(&ctx.app().db, ctx.principal()?, input.into()).await?;
        Ok(created.into())
    }

    /// Replaces a dashboard (its owner or an administrator); `version` is the one you read.
    async fn update_dashboard(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        input: DashboardInputObject,
    ) -> Result<Dashboard> {
        let id = parse_id("id", &id)?;
        let updated =
            dashboards::update(&ctx.app().db, ctx.principal()?, id, version, input.into()).await?;
        Ok(updated.into())
    }

    async fn delete_dashboard(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let id = parse_id("id", &id)?;
        dashboards::delete(&ctx.app().db, ctx.principal()?, id).await?;
        Ok(true)
    }

    /// Schedules a report (its owner or an administrator) to run by itself and store a
    /// snapshot each time, with the caller's rights; replaces its schedule if it has one
    /// (then give the schedule's `version`).
    async fn schedule_report(
        &self,
        ctx: &Context<'_>,
        id: ID,
        schedule: ScheduleInput,
        version: Option<i32>,
    ) -> Result<ReportSchedule> {
        let id = parse_id("id", &id)?;
        let set = schedules::set(&ctx.app().db, ctx.principal()?, id, version, schedule).await?;
        Ok(set.into())
    }

    /// Stops a report's schedule; its snapshots stay. False when it had none.
    async fn unschedule_report(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let id = parse_id("id", &id)?;
        Ok(schedules::remove(&ctx.app().db, ctx.principal()?, id).await?)
    }

    /// Runs a report now and stores its rows as a snapshot (its owner or an administrator).
    async fn snapshot_report(&self, ctx: &Context<'_>, id: ID) -> Result<ReportSnapshot> {
        let id = parse_id("id", &id)?;
        let taken = snapshots::take(&ctx.app().db, ctx.principal()?, id).await?;
        Ok(taken.into())
    }

    /// Deletes a report (its owner or an administrator).
    async fn delete_report(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let id = parse_id("id", &id)?;
        saved::delete(&ctx.app().db, ctx.principal()?, id).await?;
        Ok(true)
    }
}

#[derive(Default)]
pub struct ReportSubscription;

#[Subscription]
impl ReportSubscription {
    /// A dashboard's data again whenever records its widgets read change, at most once a
    /// second.
    async fn dashboard_changed(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<BoxStream<'static, Result<DashboardUpdate>>> {
        let principal = ctx.principal()?.clone();
        let app = ctx.app();
        let dashboard_id = parse_id("id", &id)?;
        let stream = dashboards::follow(app.db.clone(), &app.events, principal, dashboard_id)
            .await?
            .map(move |data| {
                Ok(DashboardUpdate {
                    dashboard_id: ID(dashboard_id.to_string()),
                    widgets: data?,
                    at: Utc::now(),
                })
            });
        Ok(stream.boxed())
    }
}
