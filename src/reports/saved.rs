//! Saved reports: tenant data, shared with their owner, some roles or the whole tenant, and
//! run with the viewer's rights (a report never shows what the viewer's role may not read).

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use entity::platform::custom_field;
use entity::reports::report::{self, Model};
use entity::reports::version;

use crate::auth::{Principal, Role};
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::modules::Module;
use crate::permissions::Access;
use crate::process::definition::Problem;
use crate::sales::catalogue;
use crate::tenancy::TenantScope;
use crate::validation::required_text;

use super::chart::{self, ChartKind};
use super::definition::{self, Condition, CustomFields, Plan, ReportDefinition};
use super::run::{self, Outcome, Window};
use super::sharing::{self, Sharing};
use super::sql::Setting;

pub struct ReportInput {
    pub name: String,
    pub description: Option<String>,
    pub definition: ReportDefinition,
    pub sharing: Sharing,
    pub shared_roles: Vec<Role>,
}

/// What a run adds to the saved report: extra conditions, and the page.
#[derive(Default)]
pub struct Parameters {
    pub filters: Vec<Condition>,
    pub offset: u64,
    pub limit: Option<u64>,
}

/// Rows a page returns unless asked, and at most.
const DEFAULT_PAGE: u64 = 100;
pub(super) const MAX_PAGE: u64 = 1_000;

/// The reports the caller may see, by name.
pub async fn list(db: &DatabaseConnection, actor: &Principal) -> AppResult<Vec<Model>> {
    sharing::list::<report::Entity>(db, actor).await
}

/// A report the caller may see; NOT_FOUND otherwise (also for another tenant's).
pub async fn get(db: &impl Conn, actor: &Principal, id: Uuid) -> AppResult<Model> {
    sharing::get::<report::Entity>(db, actor, id).await
}

/// The stored definition of a report.
pub fn definition_of(report: &Model) -> AppResult<ReportDefinition> {
    definition_from(report.id, &report.definition)
}

/// A stored definition (of a report, or one of its versions).
pub fn definition_from(id: Uuid, stored: &serde_json::Value) -> AppResult<ReportDefinition> {
    serde_json::from_value(stored.clone())
        .map_err(|_| AppError::internal(format!("report {id} has an unreadable definition")))
}

/// The tenant's custom fields, by module.
pub async fn custom_fields(db: &impl Conn, scope: &TenantScope) -> AppResult<CustomFields> {
    let mut by_module: CustomFields = HashMap::new();
    for field in scope.select::<custom_field::Entity>().all(db).await? {
        if let Some(module) = Module::parse(&field.module) {
            by_module.entry(module).or_default().push(field);
        }
    }
    Ok(by_module)
}

/// The modules a saved report reads (its source's, and those of the records it refers to).
pub fn modules_read(custom: &CustomFields, report: &Model) -> AppResult<Vec<Module>> {
    let definition = definition_of(report)?;
    Ok(definition::plan(&definition, custom)
        .map(|plan| plan.modules())
        .unwrap_or_default())
}

/// What running reports needs to know of the caller's tenant, read once per request however
/// many reports (a dashboard's widgets) or pages (a CSV file) it runs.
pub struct TenantFacts {
    pub custom: CustomFields,
    /// Its time zone and now, for periods and buckets.
    pub setting: Setting,
    /// Its base currency, for charts and KPIs.
    pub currency: String,
}

pub async fn tenant_facts(db: &DatabaseConnection, actor: &Principal) -> AppResult<TenantFacts> {
    let scope = actor.scope();
    let tenant = catalogue::settings(db, &scope).await?;
    Ok(TenantFacts {
        custom: custom_fields(db, &scope).await?,
        setting: Setting {
            backend: db.get_database_backend(),
            tenant_id: actor.tenant_id,
            zone: catalogue::time_zone(&tenant),
            now: Utc::now(),
        },
        currency: tenant.base_currency,
    })
}

/// Checks a definition for the caller's tenant: every problem, or the plan; FORBIDDEN when
/// the caller may not read what it reports on.
fn plan_for(
    actor: &Principal,
    custom: &CustomFields,
    definition: &ReportDefinition,
) -> AppResult<Result<Plan, Vec<Problem>>> {
    let plan = match definition::plan(definition, custom) {
        Ok(plan) => plan,
        Err(problems) => return Ok(Err(problems)),
    };
    for module in plan.modules() {
        actor.require(module, Access::Read)?;
    }
    Ok(Ok(plan))
}

/// Fails unless the caller may run `report` now: FORBIDDEN when it reads what the caller may
/// not, BAD_USER_INPUT when it no longer fits the tenant's fields.
pub fn check_runnable(actor: &Principal, custom: &CustomFields, report: &Model) -> AppResult<()> {
    match plan_for(actor, custom, &definition_of(report)?)? {
        Ok(_) => Ok(()),
        Err(problems) => Err(AppError::bad_input(
            format!("definition.{}", problems[0].path),
            problems[0].message.clone(),
        )),
    }
}

fn checked_input(input: &ReportInput) -> AppResult<(String, Option<String>)> {
    let name = required_text("name", &input.name, 200)?;
    let description = input
        .description
        .as_deref()
        .map(|d| required_text("description", d, 2000))
        .transpose()?;
    sharing::check(input.sharing, &input.shared_roles)?;
    Ok((name, description))
}

/// Saves a new report owned by the caller; its problems instead when the definition has some.
pub async fn create(
    db: &DatabaseConnection,
    actor: &Principal,
    input: ReportInput,
) -> AppResult<Result<Model, Vec<Problem>>> {
    let (name, description) = checked_input(&input)?;
    let custom = custom_fields(db, &actor.scope()).await?;
    if let Err(problems) = plan_for(actor, &custom, &input.definition)? {
        return Ok(Err(problems));
    }
    let now = Utc::now();
    let created = report::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: actor.scope().owner(),
        built_in: Set(None),
        name: Set(name),
        description: Set(description),
        definition: Set(definition_json(&input.definition)),
        sharing: Set(input.sharing.as_str().to_owned()),
        shared_roles: Set(Role::join(&input.shared_roles)),
        owner_id: Set(actor.user_id),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let txn = crate::db::begin(db).await?;
    let created = created.insert(&txn).await?;
    keep_version(&txn, &created, actor.user_id).await?;
    txn.commit().await?;
    Ok(Ok(created))
}

/// Keeps a report as it was just saved among its versions, in the caller's transaction.
pub(super) async fn keep_version(txn: &impl Conn, saved: &Model, by: Uuid) -> AppResult<()> {
    version::ActiveModel {
        report_id: Set(saved.id),
        version: Set(saved.version),
        tenant_id: Set(saved.tenant_id),
        name: Set(saved.name.clone()),
        definition: Set(saved.definition.clone()),
        saved_by: Set(by),
        saved_at: Set(saved.updated_at),
    }
    .insert(txn)
    .await?;
    Ok(())
}

/// Every saved version of a report the caller sees, newest first.
pub async fn versions(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
) -> AppResult<Vec<version::Model>> {
    get(db, actor, id).await?;
    Ok(actor
        .scope()
        .select::<version::Entity>()
        .filter(version::Column::ReportId.eq(id))
        .order_by_desc(version::Column::Version)
        .all(db)
        .await?)
}

fn definition_json(definition: &ReportDefinition) -> serde_json::Value {
    serde_json::to_value(definition).unwrap_or_default()
}

/// Replaces a report's name, sharing and definition, if `version` is still current (its owner
/// or an administrator).
pub async fn update(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
    version: i32,
    input: ReportInput,
) -> AppResult<Result<Model, Vec<Problem>>> {
    let (name, description) = checked_input(&input)?;
    sharing::editable::<report::Entity>(db, actor, id).await?;
    let custom = custom_fields(db, &actor.scope()).await?;
    if let Err(problems) = plan_for(actor, &custom, &input.definition)? {
        return Ok(Err(problems));
    }
    let changes = report::ActiveModel {
        name: Set(name),
        description: Set(description),
        definition: Set(definition_json(&input.definition)),
        sharing: Set(input.sharing.as_str().to_owned()),
        shared_roles: Set(Role::join(&input.shared_roles)),
        ..Default::default()
    };
    let txn = crate::db::begin(db).await?;
    let updated = sharing::replace::<report::Entity>(&txn, actor, id, version, changes).await?;
    keep_version(&txn, &updated, actor.user_id).await?;
    txn.commit().await?;
    Ok(Ok(updated))
}

/// Deletes a report for good (its owner or an administrator).
pub async fn delete(db: &DatabaseConnection, actor: &Principal, id: Uuid) -> AppResult<()> {
    sharing::delete::<report::Entity>(db, actor, id).await
}

/// Runs a saved report the caller may see, with the caller's rights.
pub async fn run_saved(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
    parameters: Parameters,
) -> AppResult<Outcome> {
    let report = get(db, actor, id).await?;
    let definition = definition_of(&report)?;
    run_definition(db, actor, definition, parameters).await
}

/// Runs a definition (saved or not), with `parameters`' conditions added to its own.
pub async fn run_definition(
    db: &DatabaseConnection,
    actor: &Principal,
    definition: ReportDefinition,
    parameters: Parameters,
) -> AppResult<Outcome> {
    let facts = tenant_facts(db, actor).await?;
    run_with(db, actor, &facts, definition, parameters).await
}

/// [`run_definition`] with the tenant's facts already read.
pub async fn run_with(
    db: &DatabaseConnection,
    actor: &Principal,
    facts: &TenantFacts,
    mut definition: ReportDefinition,
    parameters: Parameters,
) -> AppResult<Outcome> {
    let own = definition.filters.len();
    definition.filters.extend(parameters.filters);
    let plan = plan_for(actor, &facts.custom, &definition)?.map_err(|problems| {
        let first = &problems[0];
        // Extra conditions are reported where the caller gave them.
        let path = match first.path.strip_prefix("filters[") {
            Some(rest) => match rest.split_once(']') {
                Some((i, tail)) => match i.parse::<usize>() {
                    Ok(i) if i >= own => format!("parameters.filters[{}]{tail}", i - own),
                    _ => format!("definition.{}", first.path),
                },
                None => format!("definition.{}", first.path),
            },
            None => format!("definition.{}", first.path),
        };
        AppError::bad_input(path, first.message.clone())
    })?;
    let limit = parameters.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(AppError::bad_input(
            "first",
            format!("must be 1 to {MAX_PAGE}"),
        ));
    }
    let window = Window {
        offset: parameters.offset,
        limit,
    };
    run::run(db, &plan, &facts.setting, window).await
}

/// A report drawn as an SVG chart of `kind`, over its first rows (see [`chart::data`]).
pub async fn chart_svg(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
    kind: ChartKind,
    measure: Option<&str>,
) -> AppResult<String> {
    let report = get(db, actor, id).await?;
    let definition = definition_of(&report)?;
    let report_kind = definition.kind;
    let parameters = Parameters {
        limit: Some(chart::MAX_CATEGORIES),
        ..Parameters::default()
    };
    let facts = tenant_facts(db, actor).await?;
    let outcome = run_with(db, actor, &facts, definition, parameters).await?;
    let data = chart::data(report_kind, &outcome, kind, measure, &facts.currency)?;
    chart::svg(&data, kind, &report.name)
}
