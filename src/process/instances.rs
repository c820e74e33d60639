//! Process instances: starting one, firing a transition, cancelling, and reading instances and
//! their steps.
//!
//! Firing a transition is one transaction: check the expected version, the caller's role and
//! the guard, set the variables, move the state, write the step and the event log entry. The
//! state change is a conditional update on the version, so of two concurrent fires of one
//! instance exactly one wins; the other gets CONFLICT.

use chrono::Utc;
use futures_util::future::BoxFuture;
use sea_orm::DatabaseExecutor;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, QueryFilter, QueryOrder,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use entity::process::{definition, instance, step};

use super::actions::run_actions;
use super::definition::{Body, Transition};
use super::guards::{
    cel_context, evaluate, guard_allows, record_json, role_allows, settings_json, to_json,
};
use super::published::{body_by_id, body_of, latest};
use super::timers::{clear_timers, schedule_timers};
use crate::auth::Principal;
use crate::config::Limits;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::filters::{self, IdFilter, StringFilter};
use crate::modules::{self, Declaration, Module};
use crate::news::RelatedRecord;
use crate::pagination::Slice;
use crate::pagination::{Page, PageArgs, paginate};
use crate::permissions::Access;
use crate::records;
use crate::reports::sources::{Computed, FieldKind, Formula, Source, source_of};
use crate::search::Hit;
use crate::tenancy::TenantScope;

pub const ACTIVE: &str = "active";

pub const COMPLETED: &str = "completed";

pub const CANCELLED: &str = "cancelled";

/// Starts an instance of the latest version of `key`, optionally about a record.
pub async fn start(
    db: &DatabaseConnection,
    actor: &Principal,
    key: &str,
    record: Option<RelatedRecord>,
    variables: Map<String, Value>,
) -> AppResult<instance::Model> {
    actor.require(Module::Processes, Access::Write)?;
    let scope = actor.scope();
    let txn = records::begin_write(db, &actor.scope()).await?;
    let definition =
        latest(&txn, &scope, key)
            .await?
            .ok_or_else(|| AppError::ReferenceNotFound {
                field: "key".into(),
                what: "process definition",
            })?;
    if let Some(r) = record {
        actor.require(r.module, Access::Read)?;
        records::require_related(&txn, &scope, "recordId", r.module, r.id).await?;
    }
    let started = start_in(&txn, actor, &definition, record, variables).await?;
    txn.commit().await?;
    Ok(started)
}

pub(super) async fn start_in(
    txn: &impl Conn,
    actor: &Principal,
    definition: &definition::Model,
    record: Option<RelatedRecord>,
    variables: Map<String, Value>,
) -> AppResult<instance::Model> {
    let scope = actor.scope();
    let body = body_of(definition)?;
    let initial = body
        .initial()
        .ok_or_else(|| AppError::internal("published definition without initial state"))?;
    let now = Utc::now();
    let id = Uuid::now_v7();
    let started = instance::ActiveModel {
        id: Set(id),
        tenant_id: scope.owner(),
        definition_id: Set(definition.id),
        definition_key: Set(definition.key.clone()),
        definition_version: Set(definition.version),
        record_module: Set(record.map(|r| r.module.as_str().to_owned())),
        record_id: Set(record.map(|r| r.id)),
        state: Set(initial.name.clone()),
        status: Set(ACTIVE.to_owned()),
        variables: Set(Value::Object(variables.clone())),
        sla_breached: Set(false),
        version: Set(1),
        started_by: Set(actor.user_id),
        started_at: Set(now),
        updated_at: Set(now),
        ended_at: Set(None),
    }
    .insert(txn)
    .await?;
    schedule_timers(
        txn,
        actor,
        &body,
        &started,
        &started.variables,
        &initial.name,
    )
    .await?;
    write_step(
        txn,
        actor,
        id,
        "start",
        None,
        &initial.name,
        Value::Object(Map::new()),
        Value::Object(variables),
    )
    .await?;
    records::append_event(txn, actor, Module::Processes, id, "started", &["state"]).await?;
    Ok(started)
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn write_step(
    txn: &impl Conn,
    actor: &Principal,
    instance_id: Uuid,
    transition: &str,
    from: Option<&str>,
    to: &str,
    input: Value,
    variables: Value,
) -> AppResult<()> {
    step::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: actor.scope().owner(),
        instance_id: Set(instance_id),
        transition: Set(transition.to_owned()),
        from_state: Set(from.map(str::to_owned)),
        to_state: Set(to.to_owned()),
        actor_id: Set(actor.user_id),
        input: Set(input),
        variables: Set(variables),
        at: Set(Utc::now()),
    }
    .insert(txn)
    .await?;
    Ok(())
}

pub async fn get(db: &impl Conn, actor: &Principal, id: Uuid) -> AppResult<instance::Model> {
    actor.require(Module::Processes, Access::Read)?;
    actor
        .scope()
        .by_id::<instance::Entity>(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("process instance"))
}

#[derive(async_graphql::InputObject, Default)]
#[graphql(name = "ProcessInstanceFilter")]
pub struct InstanceFilter {
    pub definition_key: Option<StringFilter>,
    pub state: Option<StringFilter>,
    /// active, completed, cancelled.
    pub status: Option<StringFilter>,
    pub record_id: Option<IdFilter>,
    /// Only instances whose SLA was (or was not) breached.
    pub sla_breached: Option<bool>,
}

pub async fn list(
    db: &DatabaseConnection,
    actor: &Principal,
    filter: &InstanceFilter,
    args: &PageArgs,
    limits: &Limits,
) -> AppResult<Page<instance::Model>> {
    actor.require(Module::Processes, Access::Read)?;
    let mut select = actor.scope().select::<instance::Entity>();
    select = filters::text(
        select,
        instance::Column::DefinitionKey,
        filter.definition_key.as_ref(),
    );
    select = filters::text(select, instance::Column::State, filter.state.as_ref());
    if let Some(breached) = filter.sla_breached {
        select = select.filter(instance::Column::SlaBreached.eq(breached));
    }
    select = filters::text(select, instance::Column::Status, filter.status.as_ref());
    let record_id = filter.record_id.as_ref();
    select = filters::id(
        select,
        instance::Column::RecordId,
        record_id,
        "filter.recordId",
    )?;
    paginate(
        db,
        select,
        Some((instance::Column::StartedAt, sea_orm::Order::Desc)),
        args,
        limits,
    )
    .await
}

pub async fn steps(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
    slice: Slice,
) -> AppResult<Vec<step::Model>> {
    get(db, actor, id).await?;
    Ok(slice
        .apply(actor.scope().select::<step::Entity>())
        .filter(step::Column::InstanceId.eq(id))
        .order_by_asc(step::Column::At)
        .order_by_asc(step::Column::Id)
        .all(db)
        .await?)
}

/// Fires `transition` on an instance the caller last saw at `expected_version`.
pub async fn fire(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
    transition_name: &str,
    input: Map<String, Value>,
    expected_version: i32,
) -> AppResult<instance::Model> {
    actor.require(Module::Processes, Access::Write)?;
    let scope = actor.scope();
    let txn = records::begin_write(db, &actor.scope()).await?;
    let current = get(&txn, actor, id).await?;
    if current.version != expected_version {
        return Err(stale());
    }
    // A completed instance may be reopened by a transition out of its final state.
    if current.status == CANCELLED {
        return Err(AppError::Conflict("the process is cancelled".into()));
    }
    let body = body_by_id(&txn, &scope, current.definition_id).await?;
    let updated = fire_in(&txn, actor, &current, &body, transition_name, input).await?;
    txn.commit().await?;
    Ok(updated)
}

/// Fires a transition of an instance already loaded, in the caller's transaction: checks the
/// transition leaves the current state, the caller's roles, the required input and the guard.
pub(super) async fn fire_in(
    txn: &impl Conn,
    actor: &Principal,
    current: &instance::Model,
    body: &Body,
    transition_name: &str,
    input: Map<String, Value>,
) -> AppResult<instance::Model> {
    let scope = actor.scope();
    let transition = body
        .transition(transition_name)
        .filter(|t| t.from.contains(&current.state))
        .ok_or_else(|| {
            AppError::bad_input(
                "transition",
                format!(
                    "'{transition_name}' cannot be fired from state '{}'",
                    current.state
                ),
            )
        })?;
    if !role_allows(transition, actor) {
        return Err(AppError::Forbidden(format!(
            "your roles may not fire '{transition_name}'"
        )));
    }
    for required in &transition.requires {
        if input.get(required).is_none_or(Value::is_null) {
            return Err(AppError::bad_input(
                format!("input.{required}"),
                "is required by this transition",
            ));
        }
    }
    let input = Value::Object(input);
    if transition.guard.is_none() && transition.set_variables.is_empty() {
        // Nothing to evaluate: the record and the settings need not be read.
        return move_instance(txn, actor, current, body, transition, input, Map::new()).await;
    }
    let record = record_json(txn, &scope, current).await?;
    let settings = settings_json(txn, &scope).await?;
    let context = cel_context(&record, &current.variables, &input, actor, &settings)?;
    match guard_allows(transition, &context) {
        Ok(true) => {}
        Ok(false) => {
            let message = transition
                .guard_message
                .clone()
                .unwrap_or_else(|| format!("the conditions for '{transition_name}' are not met"));
            return Err(AppError::bad_input("input", message));
        }
        Err(problem) => {
            return Err(AppError::bad_input(
                "input",
                format!("the guard could not be evaluated: {problem}"),
            ));
        }
    }
    let mut changed = Map::new();
    for (name, expression) in &transition.set_variables {
        let value = evaluate(expression, &context).map_err(|e| {
            AppError::bad_input(
                "input",
                format!("variable {name} could not be computed: {e}"),
            )
        })?;
        changed.insert(name.clone(), to_json(&value));
    }
    move_instance(txn, actor, current, body, transition, input, changed).await
}

/// Moves an instance along a transition already allowed: sets the variables, changes the
/// state (only if the instance is still at the version read), replaces its timers, and
/// records the step and the event-log entry. The caller commits.
pub(super) async fn move_instance(
    txn: &impl Conn,
    actor: &Principal,
    current: &instance::Model,
    body: &Body,
    transition: &Transition,
    input: Value,
    changed: Map<String, Value>,
) -> AppResult<instance::Model> {
    let scope = actor.scope();
    let mut variables = current.variables.as_object().cloned().unwrap_or_default();
    variables.extend(changed.clone());
    let variables_after = Value::Object(variables.clone());
    let finished = body.state(&transition.to).is_some_and(|s| s.is_final);
    let now = Utc::now();
    let mut moved = scope
        .update::<instance::Entity>()
        .col_expr(instance::Column::State, transition.to.clone().into())
        .col_expr(instance::Column::Variables, Value::Object(variables).into())
        .col_expr(
            instance::Column::Status,
            if finished { COMPLETED } else { ACTIVE }.into(),
        )
        .col_expr(instance::Column::EndedAt, finished.then_some(now).into())
        .col_expr(instance::Column::Version, (current.version + 1).into())
        .col_expr(instance::Column::UpdatedAt, now.into())
        .filter(instance::Column::Id.eq(current.id))
        .filter(instance::Column::Version.eq(current.version))
        .exec_with_returning(txn)
        .await?;
    // What follows changes other rows only: the instance as returned is the one to give back.
    let (Some(moved), true) = (moved.pop(), moved.is_empty()) else {
        return Err(stale());
    };
    if let (Some(module), Some(record_id)) = (
        current.record_module.as_deref().and_then(Module::parse),
        current.record_id,
    ) && body.binding.as_deref() == Some(module.as_str())
        && let Some(subject) = modules::subject(module)
    {
        let txn = txn.executor();
        (subject.mirror_state(&txn, actor, record_id, &transition.to)).await?;
    }
    run_actions(txn, actor, current, transition, &input, &variables_after).await?;
    // Timers come only from the definition's: without any, there are none to clear.
    if !body.timers.is_empty() {
        clear_timers(txn, &scope, current.id).await?;
    }
    if !finished {
        schedule_timers(txn, actor, body, current, &variables_after, &transition.to).await?;
    }
    write_step(
        txn,
        actor,
        current.id,
        &transition.name,
        Some(&current.state),
        &transition.to,
        input,
        Value::Object(changed),
    )
    .await?;
    let action = if finished { COMPLETED } else { "transitioned" };
    records::append_event(
        txn,
        actor,
        Module::Processes,
        current.id,
        action,
        &["state"],
    )
    .await?;
    Ok(moved)
}

pub(super) fn stale() -> AppError {
    AppError::Conflict("the process moved on since you read it; reload and retry".into())
}

/// The transitions the caller may fire now: from the current state, allowed to their roles,
/// and with a guard that does not already say no (guards that need input count as possible).
pub async fn available(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
) -> AppResult<Vec<Transition>> {
    let current = get(db, actor, id).await?;
    if current.status == CANCELLED || actor.require(Module::Processes, Access::Write).is_err() {
        return Ok(Vec::new());
    }
    let scope = actor.scope();
    let body = body_by_id(db, &scope, current.definition_id).await?;
    let record = record_json(db, &scope, &current).await?;
    let settings = settings_json(db, &scope).await?;
    let context = cel_context(&record, &current.variables, &json!({}), actor, &settings)?;
    Ok(body
        .transitions
        .iter()
        .filter(|t| t.from.contains(&current.state) && role_allows(t, actor))
        .filter(|t| guard_allows(t, &context).unwrap_or(true))
        .cloned()
        .collect())
}

/// Cancels an active instance.
pub async fn cancel(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
    expected_version: i32,
) -> AppResult<instance::Model> {
    actor.require(Module::Processes, Access::Write)?;
    let txn = records::begin_write(db, &actor.scope()).await?;
    let current = get(&txn, actor, id).await?;
    if current.version != expected_version {
        return Err(stale());
    }
    if current.status != ACTIVE {
        return Err(AppError::Conflict(format!(
            "the process is {}",
            current.status
        )));
    }
    let now = Utc::now();
    let result = actor
        .scope()
        .update::<instance::Entity>()
        .col_expr(instance::Column::Status, CANCELLED.into())
        .col_expr(instance::Column::EndedAt, Some(now).into())
        .col_expr(
            instance::Column::Version,
            expected_version.saturating_add(1).into(),
        )
        .col_expr(instance::Column::UpdatedAt, now.into())
        .filter(instance::Column::Id.eq(id))
        .filter(instance::Column::Version.eq(expected_version))
        .exec(&txn)
        .await?;
    if result.rows_affected != 1 {
        return Err(stale());
    }
    clear_timers(&txn, &actor.scope(), id).await?;
    write_step(
        &txn,
        actor,
        id,
        "cancel",
        Some(&current.state),
        &current.state,
        json!({}),
        json!({}),
    )
    .await?;
    records::append_event(&txn, actor, Module::Processes, id, CANCELLED, &["status"]).await?;
    let cancelled = get(&txn, actor, id).await?;
    txn.commit().await?;
    Ok(cancelled)
}

/// Process instances are records other records and processes may refer to.
pub static DECLARATION: ProcessModule = ProcessModule;

pub struct ProcessModule;

/// What reports compute of a step: whether it entered a state (an SLA mark stays in its
/// state), and the hours its instance then stayed there: until a later step left the state,
/// or until now while the instance is still active. As `processMetrics` reckons stays.
const STEP_FIELDS: &[Computed] = &[
    Computed {
        name: "entersState",
        label: "Enters a state",
        kind: FieldKind::Boolean,
        sql: Formula::Sql("({t}.from_state IS NULL OR {t}.from_state <> {t}.to_state)"),
    },
    Computed {
        name: "hoursInState",
        label: "Hours in state",
        kind: FieldKind::Decimal,
        sql: Formula::HoursBetween(
            "{t}.at",
            "COALESCE(\
               (SELECT MIN(n.at) FROM process_steps n \
                WHERE n.tenant_id = {t}.tenant_id AND n.instance_id = {t}.instance_id \
                  AND n.to_state <> {t}.to_state \
                  AND (n.at > {t}.at OR (n.at = {t}.at AND n.id > {t}.id))), \
               (SELECT CURRENT_TIMESTAMP FROM process_instances i \
                WHERE i.tenant_id = {t}.tenant_id AND i.id = {t}.instance_id \
                  AND i.status = 'active'))",
        ),
    },
];

impl Declaration for ProcessModule {
    fn module(&self) -> Module {
        Module::Processes
    }

    /// Reports read instances (`processes`) and the steps they took (`processSteps`).
    fn report_sources(&self) -> Vec<Source> {
        vec![
            source_of::<instance::Entity>("processes", Module::Processes, &[]),
            source_of::<entity::process::step::Entity>(
                "processSteps",
                Module::Processes,
                STEP_FIELDS,
            )
            .part_of("instanceId", "processes"),
        ]
    }

    fn load_json<'a>(
        &'a self,
        db: &'a DatabaseExecutor<'a>,
        scope: &'a TenantScope,
        id: Uuid,
    ) -> BoxFuture<'a, AppResult<Option<Value>>> {
        Box::pin(async move {
            let found = scope.by_id::<instance::Entity>(id).one(db).await?;
            Ok(found.map(|i| json!({ "id": i.id, "state": i.state, "status": i.status })))
        })
    }

    /// Instances are found through `processInstances`, not by text.
    fn search<'a>(
        &'a self,
        _db: &'a DatabaseConnection,
        _actor: &'a Principal,
        _text: &'a str,
        _limit: u64,
    ) -> BoxFuture<'a, AppResult<Vec<Hit>>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn recycle_bin<'a>(
        &'a self,
        _db: &'a DatabaseConnection,
        _actor: &'a Principal,
        _args: &'a PageArgs,
        _limits: &'a Limits,
    ) -> BoxFuture<'a, AppResult<Page<records::Recycled>>> {
        Box::pin(async {
            let message = "process instances are cancelled, not deleted";
            Err(AppError::bad_input("module", message))
        })
    }
}
