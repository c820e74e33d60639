//! Running processes: publishing definitions, starting instances, firing transitions.
//!
//! Firing a transition is one transaction: check the expected version, the caller's role and
//! the guard, set the variables, move the state, write the step and the event log entry. The
//! state change is a conditional update on the version, so of two concurrent fires of one
//! instance exactly one wins; the other gets CONFLICT.

use chrono::Utc;
use futures_util::future::BoxFuture;
use sea_orm::DatabaseExecutor;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use entity::process::{definition, instance, step, timer};

use super::definition::{
    Action, Body, Problem, Transition, parse_duration, subject_named, validate,
};
use crate::auth::{Principal, Role};
use crate::calendar::{self, TaskFields};
use crate::config::Limits;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::filters::{self, IdFilter, TextFilter};
use crate::modules::{self, Declaration, Module, Subject};
use crate::news::{self, RelatedRecord};
use crate::pagination::Slice;
use crate::pagination::{Page, PageArgs, paginate};
use crate::permissions::Access;
use crate::picklists;
use crate::records;
use crate::search::Hit;
use crate::tenancy::TenantScope;
use crate::validation::required_text;

pub const ACTIVE: &str = "active";
pub const COMPLETED: &str = "completed";
pub const CANCELLED: &str = "cancelled";

/// Keys name definitions in the API: lower-case letters, digits, `-` and `_`.
fn check_key(key: &str) -> AppResult<()> {
    let ok = !key.is_empty()
        && key.len() <= 64
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(AppError::bad_input(
            "key",
            "use 1 to 64 of a-z, 0-9, - and _",
        ))
    }
}

/// Publishes a new version of a definition, or returns every problem it has (and publishes
/// nothing). Running instances keep the version they started with.
pub async fn publish(
    db: &DatabaseConnection,
    actor: &Principal,
    key: &str,
    name: &str,
    body: Value,
) -> AppResult<Result<definition::Model, Vec<Problem>>> {
    actor.require_admin()?;
    check_key(key)?;
    let name = required_text("name", name, 200)?;
    let parsed = match validate(&body) {
        Ok(parsed) => parsed,
        Err(problems) => return Ok(Err(problems)),
    };
    let scope = actor.scope();
    // A bound definition's states are values of the module's status picklist.
    if let Some(subject) = parsed.binding.as_deref().and_then(subject_named) {
        let picklist = subject.status().picklist;
        let mut problems = Vec::new();
        for (i, state) in parsed.states.iter().enumerate() {
            if picklists::check(db, &scope, picklist, "state", Some(&state.name))
                .await
                .is_err()
            {
                problems.push(Problem {
                    path: format!("states[{i}].name"),
                    message: format!("not a value of the {picklist} picklist"),
                });
            }
        }
        if !problems.is_empty() {
            return Ok(Err(problems));
        }
    }
    let txn = records::begin_write(db, &actor.scope()).await?;
    let version = latest(&txn, &scope, key)
        .await?
        .map_or(1, |d| d.version + 1);
    let published = definition::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: scope.owner(),
        key: Set(key.to_owned()),
        version: Set(version),
        name: Set(name),
        body: Set(body),
        bound_module: Set(parsed.binding.clone()),
        published_by: Set(actor.user_id),
        published_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(Ok(published))
}

async fn latest(
    db: &impl Conn,
    scope: &TenantScope,
    key: &str,
) -> AppResult<Option<definition::Model>> {
    Ok(scope
        .select::<definition::Entity>()
        .filter(definition::Column::Key.eq(key))
        .order_by_desc(definition::Column::Version)
        .one(db)
        .await?)
}

/// The latest version of every definition of the tenant.
/// The latest version of each definition, by key, a slice at a time. Older versions stay in
/// the database: they are not read.
pub async fn definitions(
    db: &DatabaseConnection,
    actor: &Principal,
    slice: Slice,
) -> AppResult<Vec<definition::Model>> {
    actor.require(Module::Processes, Access::Read)?;
    let scope = actor.scope();
    let latest_versions = scope
        .select::<definition::Entity>()
        .select_only()
        .column(definition::Column::Key)
        .column_as(definition::Column::Version.max(), "version")
        .group_by(definition::Column::Key)
        .into_query();
    Ok(slice
        .apply(scope.select::<definition::Entity>())
        .filter(
            Expr::tuple([
                Expr::col(definition::Column::Key),
                Expr::col(definition::Column::Version),
            ])
            .in_subquery(latest_versions),
        )
        .order_by_asc(definition::Column::Key)
        .all(db)
        .await?)
}

pub async fn definition(
    db: &DatabaseConnection,
    actor: &Principal,
    key: &str,
    version: Option<i32>,
) -> AppResult<definition::Model> {
    actor.require(Module::Processes, Access::Read)?;
    let scope = actor.scope();
    let found = match version {
        None => latest(db, &scope, key).await?,
        Some(v) => {
            scope
                .select::<definition::Entity>()
                .filter(definition::Column::Key.eq(key))
                .filter(definition::Column::Version.eq(v))
                .one(db)
                .await?
        }
    };
    found.ok_or(AppError::NotFound("process definition"))
}

pub(super) fn body_of(definition: &definition::Model) -> AppResult<Body> {
    serde_json::from_value(definition.body.clone()).map_err(AppError::internal)
}

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

async fn start_in(
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

/// The definition bound to `module`, if any: the latest version of the most recently
/// published key that binds it.
async fn bound_definition(
    txn: &impl Conn,
    scope: &TenantScope,
    module: Module,
) -> AppResult<Option<definition::Model>> {
    let Some(candidate) = scope
        .select::<definition::Entity>()
        .filter(definition::Column::BoundModule.eq(module.as_str()))
        .order_by_desc(definition::Column::PublishedAt)
        .one(txn)
        .await?
    else {
        return Ok(None);
    };
    let current = latest(txn, scope, &candidate.key).await?;
    Ok(current.filter(|d| d.bound_module.as_deref() == Some(module.as_str())))
}

/// The state a new record of `module` starts in when a process is bound to the module.
pub async fn bound_initial_state(
    txn: &impl Conn,
    scope: &TenantScope,
    module: Module,
) -> AppResult<Option<String>> {
    Ok(match bound_definition(txn, scope, module).await? {
        Some(definition) => body_of(&definition)?.initial().map(|s| s.name.clone()),
        None => None,
    })
}

/// The error for a new record asking for a status its bound process does not start in.
pub fn starts_in(field: &str, initial: &str) -> AppError {
    AppError::bad_input(
        field,
        format!(
            "follows its process: new records start in '{initial}'; fire transitions to move on"
        ),
    )
}

/// Starts the bound process for a record just created, in the caller's transaction.
pub async fn start_for_record(
    txn: &impl Conn,
    actor: &Principal,
    module: Module,
    record_id: Uuid,
) -> AppResult<()> {
    if let Some(definition) = bound_definition(txn, &actor.scope(), module).await? {
        let record = Some(RelatedRecord {
            module,
            id: record_id,
        });
        start_in(txn, actor, &definition, record, Map::new()).await?;
    }
    Ok(())
}

/// The active instances about one record.
fn active_instances_for(
    scope: &TenantScope,
    module: Module,
    record_id: Uuid,
) -> sea_orm::Select<instance::Entity> {
    scope
        .select::<instance::Entity>()
        .filter(instance::Column::RecordId.eq(record_id))
        .filter(instance::Column::RecordModule.eq(module.as_str()))
        .filter(instance::Column::Status.eq(ACTIVE))
}

/// Completes the active instances bound to a record whose work is done another way (a
/// converted lead), in the caller's transaction.
pub async fn complete_for_record(
    txn: &impl Conn,
    actor: &Principal,
    module: Module,
    record_id: Uuid,
) -> AppResult<()> {
    let scope = actor.scope();
    let running = active_instances_for(&scope, module, record_id)
        .all(txn)
        .await?;
    let now = Utc::now();
    for instance in running {
        let result = scope
            .update::<instance::Entity>()
            .col_expr(instance::Column::Status, COMPLETED.into())
            .col_expr(instance::Column::EndedAt, Some(now).into())
            .col_expr(instance::Column::Version, (instance.version + 1).into())
            .col_expr(instance::Column::UpdatedAt, now.into())
            .filter(instance::Column::Id.eq(instance.id))
            .filter(instance::Column::Version.eq(instance.version))
            .exec(txn)
            .await?;
        if result.rows_affected != 1 {
            return Err(stale());
        }
        clear_timers(txn, &scope, instance.id).await?;
        write_step(
            txn,
            actor,
            instance.id,
            "complete",
            Some(&instance.state),
            &instance.state,
            json!({}),
            json!({}),
        )
        .await?;
        records::append_event(
            txn,
            actor,
            Module::Processes,
            instance.id,
            COMPLETED,
            &["status"],
        )
        .await?;
    }
    Ok(())
}

/// Refuses a direct change of a record's status while a bound process runs it, naming the
/// transitions to use instead. `field` is the status input.
pub async fn refuse_direct_change(
    txn: &impl Conn,
    actor: &Principal,
    module: Module,
    record_id: Uuid,
    field: &str,
) -> AppResult<()> {
    let scope = actor.scope();
    let Some(running) = active_instances_for(&scope, module, record_id)
        .one(txn)
        .await?
    else {
        return Ok(());
    };
    let definition = scope
        .by_id::<definition::Entity>(running.definition_id)
        .one(txn)
        .await?
        .ok_or_else(|| AppError::internal("instance without its definition"))?;
    if definition.bound_module.as_deref() != Some(module.as_str()) {
        return Ok(());
    }
    let body = body_of(&definition)?;
    let names: Vec<&str> = body
        .transitions
        .iter()
        .filter(|t| t.from.contains(&running.state))
        .map(|t| t.name.as_str())
        .collect();
    Err(AppError::bad_input(
        field,
        format!(
            "follows the process '{}'; fire one of its transitions instead: {}",
            definition.key,
            names.join(", ")
        ),
    ))
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

#[derive(Default)]
pub struct InstanceFilter {
    pub definition_key: Option<TextFilter>,
    pub state: Option<TextFilter>,
    pub status: Option<TextFilter>,
    pub record_id: Option<IdFilter>,
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
    select = filters::id(
        select,
        instance::Column::RecordId,
        filter.record_id.as_ref(),
    );
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

/// What guards and variable expressions see.
fn cel_context(
    record: &Value,
    vars: &Value,
    input: &Value,
    actor: &Principal,
    settings: &Value,
) -> AppResult<cel::Context<'static, 'static>> {
    let mut context = cel::Context::default();
    let user = json!({
        "id": actor.user_id.to_string(),
        "roles": actor.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
    });
    for (name, value) in [
        ("record", record),
        ("vars", vars),
        ("input", input),
        ("user", &user),
        ("settings", settings),
    ] {
        context
            .add_variable(name, value.clone())
            .map_err(AppError::internal)?;
    }
    Ok(context)
}

fn evaluate(source: &str, context: &cel::Context) -> Result<cel::Value, String> {
    let program = cel::Program::compile(source).map_err(|e| e.to_string())?;
    program.execute(context).map_err(|e| e.to_string())
}

/// A CEL result as JSON, to store in the instance's variables.
fn to_json(value: &cel::Value) -> Value {
    use cel::Value as V;
    match value {
        V::Null => Value::Null,
        V::Bool(b) => json!(b),
        V::Int(i) => json!(i),
        V::UInt(u) => json!(u),
        V::Float(f) => json!(f),
        V::String(s) => json!(s.as_str()),
        V::List(items) => Value::Array(items.iter().map(to_json).collect()),
        V::Map(map) => Value::Object(
            map.map
                .iter()
                .map(|(key, value)| {
                    let key = match key {
                        cel::objects::Key::String(s) => s.to_string(),
                        cel::objects::Key::Int(i) => i.to_string(),
                        cel::objects::Key::Uint(u) => u.to_string(),
                        cel::objects::Key::Bool(b) => b.to_string(),
                    };
                    (key, to_json(value))
                })
                .collect(),
        ),
        other => json!(format!("{other:?}")),
    }
}

/// Whether the caller's roles allow a transition.
fn role_allows(transition: &Transition, actor: &Principal) -> bool {
    transition.roles.is_empty()
        || actor.has_role(Role::Admin)
        || transition
            .roles
            .iter()
            .filter_map(|r| Role::parse(r))
            .any(|r| actor.has_role(r))
}

/// Guard outcome: `Ok(true)` fire, `Ok(false)` refused, `Err` could not evaluate.
fn guard_allows(transition: &Transition, context: &cel::Context) -> Result<bool, String> {
    match &transition.guard {
        None => Ok(true),
        Some(guard) => match evaluate(guard, context)? {
            cel::Value::Bool(b) => Ok(b),
            other => Err(format!("the guard gave {other:?}, not true or false")),
        },
    }
}

async fn record_json(
    db: &impl Conn,
    scope: &TenantScope,
    instance: &instance::Model,
) -> AppResult<Value> {
    match (
        instance.record_module.as_deref().and_then(Module::parse),
        instance.record_id,
    ) {
        (Some(module), Some(id)) => records::load_related(db, scope, "recordId", module, id).await,
        _ => Ok(Value::Null),
    }
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
    let definition = scope
        .by_id::<definition::Entity>(current.definition_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::internal("instance without its definition"))?;
    let body = body_of(&definition)?;
    let updated = fire_in(&txn, actor, &current, &body, transition_name, input).await?;
    txn.commit().await?;
    Ok(updated)
}

/// Fires a transition of an instance already loaded, in the caller's transaction: checks the
/// transition leaves the current state, the caller's roles, the required input and the guard.
async fn fire_in(
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
    let record = record_json(txn, &scope, current).await?;
    let input = Value::Object(input);
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

/// Moves the bound process of a record to `target` by the transition that leads there from
/// its current state, in the caller's transaction. `Ok(false)` when no bound process runs the
/// record, so the caller sets the status itself.
pub async fn advance_to(
    txn: &impl Conn,
    actor: &Principal,
    module: Module,
    record_id: Uuid,
    target: &str,
) -> AppResult<bool> {
    let scope = actor.scope();
    let Some(running) = active_instances_for(&scope, module, record_id)
        .one(txn)
        .await?
    else {
        return Ok(false);
    };
    let definition = scope
        .by_id::<definition::Entity>(running.definition_id)
        .one(txn)
        .await?
        .ok_or_else(|| AppError::internal("instance without its definition"))?;
    if definition.bound_module.as_deref() != Some(module.as_str()) {
        return Ok(false);
    }
    let body = body_of(&definition)?;
    let Some(transition) = body
        .transitions
        .iter()
        .find(|t| t.to == target && t.from.contains(&running.state))
    else {
        return Err(AppError::bad_input(
            "status",
            format!(
                "the process '{}' has no transition from '{}' to '{target}'",
                definition.key, running.state
            ),
        ));
    };
    Box::pin(fire_in(
        txn,
        actor,
        &running,
        &body,
        &transition.name,
        Map::new(),
    ))
    .await?;
    Ok(true)
}

/// The tenant's settings, as guards see them (`settings.purchaseApprovalLimit`).
async fn settings_json(txn: &impl Conn, scope: &TenantScope) -> AppResult<Value> {
    let tenant = entity::platform::tenant::Entity::find_by_id(scope.tenant_id())
        .one(txn)
        .await?
        .ok_or_else(|| AppError::internal("tenant of a verified caller is missing"))?;
    let mut settings = json!({
        "baseCurrency": tenant.base_currency,
        "allowNegativeStock": tenant.allow_negative_stock,
    });
    if let Some(limit) = tenant.purchase_approval_limit {
        settings["purchaseApprovalLimit"] = crate::money::to_number(limit);
    }
    Ok(settings)
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
    let result = scope
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
        .exec(txn)
        .await?;
    if result.rows_affected != 1 {
        return Err(stale());
    }
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
    clear_timers(txn, &scope, current.id).await?;
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
    get(txn, actor, current.id).await
}

/// Runs a transition's actions in the caller's transaction.
async fn run_actions(
    txn: &impl Conn,
    actor: &Principal,
    instance: &instance::Model,
    transition: &Transition,
    input: &Value,
    variables: &Value,
) -> AppResult<()> {
    if transition.actions.is_empty() {
        return Ok(());
    }
    let scope = actor.scope();
    let record = record_json(txn, &scope, instance).await?;
    let related = match (
        instance.record_module.as_deref().and_then(Module::parse),
        instance.record_id,
    ) {
        (Some(module), Some(id)) => Some(RelatedRecord { module, id }),
        _ => None,
    };
    let settings = settings_json(txn, &scope).await?;
    let context = cel_context(&record, variables, input, actor, &settings)?;
    let failed =
        |what: &str, e: String| AppError::bad_input("input", format!("{what} failed: {e}"));
    for action in &transition.actions {
        match action {
            Action::CreateTask {
                subject,
                due_in_days,
                assignee,
                assignee_role,
            } => {
                let subject =
                    match evaluate(subject, &context).map_err(|e| failed("createTask", e))? {
                        cel::Value::String(s) => s.to_string(),
                        other => format!("{other:?}"),
                    };
                let owner = match assignee {
                    None if assignee_role.is_some() => {
                        let role = assignee_role
                            .as_deref()
                            .and_then(Role::parse)
                            .unwrap_or(Role::Admin);
                        Some(first_with_role(txn, &scope, role).await?)
                    }
                    None if actor.user_id.is_nil() => Some(instance.started_by),
                    None => None,
                    Some(expr) => {
                        match evaluate(expr, &context).map_err(|e| failed("createTask", e))? {
                            cel::Value::String(s) => Some(Uuid::parse_str(&s).map_err(|_| {
                                AppError::bad_input(
                                    "input",
                                    "createTask: the assignee is not a user id",
                                )
                            })?),
                            _ => {
                                return Err(AppError::bad_input(
                                    "input",
                                    "createTask: the assignee is not a user id",
                                ));
                            }
                        }
                    }
                };
                let fields = TaskFields {
                    subject: Some(subject),
                    due_date: Some(due_in_days.and_then(|d| {
                        Utc::now()
                            .date_naive()
                            .checked_add_days(chrono::Days::new(u64::from(d)))
                    })),
                    related: Some(related),
                    owner_id: owner,
                    ..Default::default()
                };
                calendar::create_task_in(txn, actor, fields).await?;
            }
            Action::StartProcess { key } => {
                let definition = latest(txn, &scope, key).await?.ok_or_else(|| {
                    AppError::bad_input(
                        "transition",
                        format!("startProcess: no process definition '{key}'"),
                    )
                })?;
                start_in(txn, actor, &definition, related, Map::new()).await?;
            }
            Action::SetField { field, value } => {
                let value = to_json(&evaluate(value, &context).map_err(|e| failed("setField", e))?);
                let Some((subject, id)) = subject_of(related) else {
                    return Err(AppError::bad_input(
                        "transition",
                        "setField works on processes about a record with settable fields",
                    ));
                };
                let txn = txn.executor();
                subject.set_field(&txn, actor, id, field, &value).await?;
            }
            Action::CreateNote { title, body } => {
                let Some(record) = related else {
                    return Err(AppError::bad_input(
                        "transition",
                        "createNote: the process is about no record",
                    ));
                };
                let text = |source: &str| -> AppResult<String> {
                    Ok(
                        match evaluate(source, &context).map_err(|e| failed("createNote", e))? {
                            cel::Value::String(s) => s.to_string(),
                            other => format!("{other:?}"),
                        },
                    )
                };
                news::create_in(txn, actor, &text(title)?, &text(body)?, Some(record)).await?;
            }
            Action::Convert { to, status } => {
                let (Some((subject, id)), Some(to)) = (subject_of(related), Module::parse(to))
                else {
                    return Err(AppError::bad_input(
                        "transition",
                        "convert works on processes about a quote or sales order",
                    ));
                };
                let txn = txn.executor();
                (subject.convert(&txn, actor, id, to, status.as_deref())).await?;
            }
            Action::Emit { event } => {
                records::append_event(
                    txn,
                    actor,
                    Module::Processes,
                    instance.id,
                    "emitted",
                    &[event.as_str()],
                )
                .await?;
            }
        }
    }
    Ok(())
}

/// How a bound process drives the record a process is about, and its id.
fn subject_of(related: Option<RelatedRecord>) -> Option<(&'static dyn Subject, Uuid)> {
    let related = related?;
    Some((modules::subject(related.module)?, related.id))
}

/// The longest-standing active user with `role`, who gets tasks addressed to the role.
async fn first_with_role(txn: &impl Conn, scope: &TenantScope, role: Role) -> AppResult<Uuid> {
    use entity::platform::user;
    let users = scope
        .select::<user::Entity>()
        .filter(user::Column::Active.eq(true))
        .order_by_asc(user::Column::CreatedAt)
        .all(txn)
        .await?;
    users
        .iter()
        .find(|u| crate::platform::users::roles_of(u).contains(&role))
        .map(|u| u.id)
        .ok_or_else(|| {
            AppError::bad_input(
                "transition",
                format!("createTask: no active user has the role {}", role.as_str()),
            )
        })
}

/// Starts the timers of `state` for an instance that just entered it. Timers `at` a moment
/// read from the record or variables are skipped when that moment is missing.
async fn schedule_timers(
    txn: &impl Conn,
    actor: &Principal,
    body: &Body,
    instance: &instance::Model,
    variables: &Value,
    state: &str,
) -> AppResult<()> {
    let scope = actor.scope();
    let now = Utc::now();
    let timers: Vec<_> = body.timers.iter().filter(|t| t.state == state).collect();
    let context = if timers.iter().any(|t| t.at.is_some()) {
        let record = record_json(txn, &scope, instance).await?;
        let settings = settings_json(txn, &scope).await?;
        Some(cel_context(
            &record,
            variables,
            &json!({}),
            actor,
            &settings,
        )?)
    } else {
        None
    };
    for timer in timers {
        let due_at = match (&timer.after, &timer.at, &context) {
            // Durations are bounded when published; a version published before the bound
            // existed is refused here rather than overflowing.
            (Some(after), _, _) => parse_duration(after)
                .and_then(|after| now.checked_add_signed(after))
                .ok_or_else(|| {
                    AppError::bad_input(
                        "definition",
                        format!("the timer of {state} has a duration out of range ({after})"),
                    )
                })?,
            (None, Some(moment), Some(context)) => {
                match evaluate(moment, context).ok().and_then(|v| moment_of(&v)) {
                    Some(due_at) => due_at,
                    None => continue,
                }
            }
            _ => continue,
        };
        timer::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: scope.owner(),
            instance_id: Set(instance.id),
            state: Set(state.to_owned()),
            due_at: Set(due_at),
            transition: Set(timer.transition.clone()),
            sla_breach: Set(timer.sla_breach),
        }
        .insert(txn)
        .await?;
    }
    Ok(())
}

/// A CEL value as a moment: an RFC 3339 time, or a date meaning midnight UTC.
fn moment_of(value: &cel::Value) -> Option<chrono::DateTime<Utc>> {
    match value {
        cel::Value::String(text) => chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .ok()
            .or_else(|| {
                text.parse::<chrono::NaiveDate>()
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|t| t.and_utc())
            }),
        _ => None,
    }
}

/// Stops every pending timer of an instance (it left the state, or ended).
async fn clear_timers(txn: &impl Conn, scope: &TenantScope, instance_id: Uuid) -> AppResult<()> {
    scope
        .delete::<timer::Entity>()
        .filter(timer::Column::InstanceId.eq(instance_id))
        .exec(txn)
        .await?;
    Ok(())
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
    let definition = scope
        .by_id::<definition::Entity>(current.definition_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal("instance without its definition"))?;
    let body = body_of(&definition)?;
    let record = record_json(db, &scope, &current).await?;
    let settings = settings_json(db, &scope).await?;
    let context = cel_context(&record, &current.variables, &json!({}), actor, &settings)?;
    Ok(body
        .transitions
        .into_iter()
        .filter(|t| t.from.contains(&current.state) && role_allows(t, actor))
        .filter(|t| guard_allows(t, &context).unwrap_or(true))
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

impl Declaration for ProcessModule {
    fn module(&self) -> Module {
        Module::Processes
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
