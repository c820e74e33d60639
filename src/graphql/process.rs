//! The process engine's API: definitions, instances, transitions, and their subscription.

use async_graphql::{ComplexObject, Context, ID, Json, Object, Result, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use serde_json::{Map, Value};
use uuid::Uuid;

use entity::process::{definition, instance, step};

use crate::events;
use crate::modules::Module;
use crate::news::RelatedRecord;
use crate::pagination::Slice;
use crate::permissions::Access;
use crate::process::definition::Transition;
use crate::process::instances::{self, InstanceFilter};
use crate::process::metrics;
use crate::process::published;

use super::pagination::{Connected, connection, page_args};
use super::platform::User;
use super::{ContextExt, parse_id};
use crate::graphql::records::{id, owner};

/// One published version of a process definition.
#[derive(SimpleObject)]
pub struct ProcessDefinition {
    pub id: ID,
    pub key: String,
    pub version: i32,
    pub name: String,
    /// States and transitions, as published (see docs/process-definition.md).
    pub body: Json<Value>,
    pub published_at: DateTime<Utc>,
}

impl From<definition::Model> for ProcessDefinition {
    fn from(d: definition::Model) -> Self {
        Self {
            id: id(d.id),
            key: d.key,
            version: d.version,
            name: d.name,
            body: Json(d.body),
            published_at: d.published_at,
        }
    }
}

/// Something wrong with a definition, and where in its body.
#[derive(SimpleObject)]
pub struct DefinitionProblem {
    pub path: String,
    pub message: String,
}

impl From<crate::process::definition::Problem> for DefinitionProblem {
    fn from(p: crate::process::definition::Problem) -> Self {
        Self {
            path: p.path,
            message: p.message,
        }
    }
}

#[derive(SimpleObject)]
pub struct PublishProcessDefinitionPayload {
    /// The new version; null when there are problems (then nothing was published).
    pub definition: Option<ProcessDefinition>,
    pub problems: Vec<DefinitionProblem>,
}

/// A transition the caller may fire now.
#[derive(SimpleObject)]
pub struct AvailableTransition {
    pub name: String,
    pub to: String,
    /// Input fields it needs.
    pub requires: Vec<String>,
}

impl From<Transition> for AvailableTransition {
    fn from(t: Transition) -> Self {
        Self {
            name: t.name,
            to: t.to,
            requires: t.requires,
        }
    }
}

/// A running or finished process.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ProcessInstance {
    pub id: ID,
    pub definition_key: String,
    /// The definition version it runs; publishing a new one does not change it.
    pub definition_version: i32,
    pub record_module: Option<Module>,
    pub record_id: Option<ID>,
    pub state: String,
    /// active, completed or cancelled.
    pub status: String,
    pub variables: Json<Value>,
    /// An SLA timer ran out while the instance was in its state.
    pub sla_breached: bool,
    /// Send it back as `expectedVersion` when firing a transition.
    pub version: i32,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    uuid: Uuid,
}

impl From<instance::Model> for ProcessInstance {
    fn from(i: instance::Model) -> Self {
        Self {
            id: id(i.id),
            uuid: i.id,
            definition_key: i.definition_key,
            definition_version: i.definition_version,
            record_module: i.record_module.as_deref().and_then(Module::parse),
            record_id: i.record_id.map(id),
            state: i.state,
            status: i.status,
            variables: Json(i.variables),
            sla_breached: i.sla_breached,
            version: i.version,
            started_at: i.started_at,
            updated_at: i.updated_at,
            ended_at: i.ended_at,
        }
    }
}

#[ComplexObject]
impl ProcessInstance {
    /// Every step, oldest first: the start, each transition (with actor, input and the
    /// variables it set), a cancellation.
    async fn steps(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most this many (default and most: the largest page size).")]
        limit: Option<i32>,
        #[graphql(desc = "Skip this many first.")] offset: Option<i32>,
    ) -> Result<Vec<ProcessStep>> {
        let app = ctx.app();
        let slice = Slice::new(limit, offset, &app.limits)?;
        let steps = instances::steps(&app.db, ctx.principal()?, self.uuid, slice).await?;
        Ok(steps.into_iter().map(Into::into).collect())
    }

    /// What the caller may fire now, to draw the buttons.
    async fn available_transitions(&self, ctx: &Context<'_>) -> Result<Vec<AvailableTransition>> {
        let found = instances::available(&ctx.app().db, ctx.principal()?, self.uuid).await?;
        Ok(found.into_iter().map(Into::into).collect())
    }
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ProcessStep {
    /// The transition's name, or start / cancel.
    pub transition: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub input: Json<Value>,
    /// The variables the step set.
    pub variables: Json<Value>,
    pub at: DateTime<Utc>,
    #[graphql(skip)]
    actor_id: Uuid,
}

impl From<step::Model> for ProcessStep {
    fn from(s: step::Model) -> Self {
        Self {
            transition: s.transition,
            from_state: s.from_state,
            to_state: s.to_state,
            input: Json(s.input),
            variables: Json(s.variables),
            at: s.at,
            actor_id: s.actor_id,
        }
    }
}

#[ComplexObject]
impl ProcessStep {
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        owner(ctx, self.actor_id).await
    }
}

fn object(
    field: &str,
    value: Option<Json<Value>>,
) -> Result<Map<String, Value>, crate::error::AppError> {
    match value.map(|j| j.0) {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err(crate::error::AppError::bad_input(
            field,
            "must be a JSON object",
        )),
    }
}

/// How the instances of a definition are doing.
#[derive(SimpleObject)]
pub struct ProcessMetrics {
    pub key: String,
    pub instances: u64,
    pub active: u64,
    pub completed: u64,
    pub cancelled: u64,
    pub sla_breaches: u64,
    /// Per state, in name order.
    pub states: Vec<StateMetrics>,
}

#[derive(SimpleObject)]
pub struct StateMetrics {
    pub state: String,
    /// Active instances in this state now.
    pub active: u64,
    /// Stays measured: finished ones, and the ongoing stays of active instances.
    pub stays: u64,
    pub median_seconds: f64,
    pub p95_seconds: f64,
}

#[derive(Default)]
pub struct ProcessQuery;

#[Object]
impl ProcessQuery {
    /// The latest version of every process definition.
    async fn process_definitions(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most this many (default and most: the largest page size).")]
        limit: Option<i32>,
        #[graphql(desc = "Skip this many first.")] offset: Option<i32>,
    ) -> Result<Vec<ProcessDefinition>> {
        let app = ctx.app();
        let slice = Slice::new(limit, offset, &app.limits)?;
        let found = published::definitions(&app.db, ctx.principal()?, slice).await?;
        Ok(found.into_iter().map(Into::into).collect())
    }

    /// One definition: its latest version, or the one asked for.
    async fn process_definition(
        &self,
        ctx: &Context<'_>,
        key: String,
        version: Option<i32>,
    ) -> Result<ProcessDefinition> {
        Ok(
            published::definition(&ctx.app().db, ctx.principal()?, &key, version)
                .await?
                .into(),
        )
    }

    /// Instances per state, time in state (median, 95th percentile) and SLA breaches.
    async fn process_metrics(&self, ctx: &Context<'_>, key: String) -> Result<ProcessMetrics> {
        let m = metrics::for_definition(&ctx.app().db, ctx.principal()?, &key).await?;
        Ok(ProcessMetrics {
            key,
            instances: m.instances,
            active: m.active,
            completed: m.completed,
            cancelled: m.cancelled,
            sla_breaches: m.sla_breaches,
            states: m
                .states
                .into_iter()
                .map(|s| StateMetrics {
                    state: s.state,
                    active: s.active,
                    stays: s.stays,
                    median_seconds: s.median_seconds,
                    p95_seconds: s.p95_seconds,
                })
                .collect(),
        })
    }

    /// What the caller may fire on an instance now, to draw the buttons.
    async fn available_transitions(
        &self,
        ctx: &Context<'_>,
        instance_id: ID,
    ) -> Result<Vec<AvailableTransition>> {
        let id = parse_id("instanceId", &instance_id)?;
        let found = instances::available(&ctx.app().db, ctx.principal()?, id).await?;
        Ok(found.into_iter().map(Into::into).collect())
    }

    async fn process_instance(&self, ctx: &Context<'_>, id: ID) -> Result<ProcessInstance> {
        let id = parse_id("id", &id)?;
        Ok(instances::get(&ctx.app().db, ctx.principal()?, id)
            .await?
            .into())
    }

    /// Instances, most recently started first.
    async fn process_instances(
        &self,
        ctx: &Context<'_>,
        filter: Option<InstanceFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connected<ProcessInstance>> {
        let app = ctx.app();
        let filter = filter.unwrap_or_default();
        let args = page_args(first, after, None, None);
        let page = instances::list(&app.db, ctx.principal()?, &filter, &args, &app.limits).await?;
        Ok(connection(page, ProcessInstance::from))
    }
}

#[derive(Default)]
pub struct ProcessMutation;

#[Object]
impl ProcessMutation {
    /// Validates a definition and publishes it as the next version of `key` (admins only).
    /// With problems, nothing is published and every problem is listed with its path.
    async fn publish_process_definition(
        &self,
        ctx: &Context<'_>,
        key: String,
        name: String,
        body: Json<Value>,
    ) -> Result<PublishProcessDefinitionPayload> {
        let published =
            published::publish(&ctx.app().db, ctx.principal()?, &key, &name, body.0).await?;
        Ok(match published {
            Ok(definition) => PublishProcessDefinitionPayload {
                definition: Some(definition.into()),
                problems: Vec::new(),
            },
            Err(problems) => PublishProcessDefinitionPayload {
                definition: None,
                problems: problems.into_iter().map(Into::into).collect(),
            },
        })
    }

    /// Starts the latest version of a definition, optionally about a record.
    async fn start_process(
        &self,
        ctx: &Context<'_>,
        key: String,
        record_module: Option<Module>,
        record_id: Option<ID>,
        variables: Option<Json<Value>>,
    ) -> Result<ProcessInstance> {
        let record = match (record_module, record_id) {
            (Some(module), Some(id)) => Some(RelatedRecord {
                module,
                id: parse_id("recordId", &id)?,
            }),
            (None, None) => None,
            _ => {
                return Err(crate::error::AppError::bad_input(
                    "recordId",
                    "give both recordModule and recordId, or neither",
                )
                .into());
            }
        };
        let variables = object("variables", variables)?;
        Ok(
            instances::start(&ctx.app().db, ctx.principal()?, &key, record, variables)
                .await?
                .into(),
        )
    }

    /// Fires a transition; `expectedVersion` is the instance version you saw. A guard that says
    /// no is BAD_USER_INPUT with its message; a stale version is CONFLICT.
    async fn fire_transition(
        &self,
        ctx: &Context<'_>,
        instance_id: ID,
        transition: String,
        input: Option<Json<Value>>,
        expected_version: i32,
    ) -> Result<ProcessInstance> {
        let id = parse_id("instanceId", &instance_id)?;
        let input = object("input", input)?;
        Ok(instances::fire(
            &ctx.app().db,
            ctx.principal()?,
            id,
            &transition,
            input,
            expected_version,
        )
        .await?
        .into())
    }

    async fn cancel_process(
        &self,
        ctx: &Context<'_>,
        instance_id: ID,
        expected_version: i32,
    ) -> Result<ProcessInstance> {
        let id = parse_id("instanceId", &instance_id)?;
        Ok(
            instances::cancel(&ctx.app().db, ctx.principal()?, id, expected_version)
                .await?
                .into(),
        )
    }
}

/// A step of a process instance, as the event log numbers it.
#[derive(SimpleObject)]
pub struct ProcessEvent {
    /// Per tenant, increasing without gaps; resume after the last one you saw.
    pub sequence: i64,
    pub instance_id: ID,
    /// started, transitioned, completed, cancelled, sla_breached or emitted.
    pub action: String,
    /// For emitted events, the event's name.
    pub event: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Default)]
pub struct ProcessSubscription;

#[Subscription]
impl ProcessSubscription {
    /// Every event of the instances of one definition after `afterSequence` (default: from
    /// now): those already in the log first, then live ones, without gaps or repeats.
    async fn process_events(
        &self,
        ctx: &Context<'_>,
        definition_key: String,
        after_sequence: Option<i64>,
    ) -> Result<BoxStream<'static, ProcessEvent>> {
        let principal = ctx.principal()?.clone();
        principal.require(Module::Processes, Access::Read)?;
        let app = ctx.app().clone();
        let scope = principal.scope();
        let after = after_sequence.map(|after| after.max(0));
        let db = app.db.clone();
        let keys = std::sync::Arc::new(tokio::sync::Mutex::new(std::collections::HashMap::<
            Uuid,
            String,
        >::new()));
        let stream = events::follow_log_from(app.db.clone(), &app.events, scope, after)
            .await?
            .filter(|e| std::future::ready(e.module == Module::Processes.as_str()))
            .filter_map(move |e| {
                let (db, keys, principal, wanted) = (
                    db.clone(),
                    keys.clone(),
                    principal.clone(),
                    definition_key.clone(),
                );
                async move {
                    // Which definition an instance runs never changes: look it up once.
                    let mut keys = keys.lock().await;
                    if let std::collections::hash_map::Entry::Vacant(slot) = keys.entry(e.record_id)
                    {
                        let instance = instances::get(&db, &principal, e.record_id).await.ok()?;
                        slot.insert(instance.definition_key);
                    }
                    (keys.get(&e.record_id)? == &wanted).then(|| ProcessEvent {
                        sequence: e.sequence,
                        instance_id: id(e.record_id),
                        event: (e.action == "emitted")
                            .then(|| {
                                e.changed_fields
                                    .get(0)
                                    .and_then(|v| v.as_str())
                                    .map(str::to_owned)
                            })
                            .flatten(),
                        action: e.action.clone(),
                        at: e.at,
                    })
                }
            });
        Ok(stream.boxed())
    }

    /// The instance, each time it changes from now on.
    async fn process_instance_changed(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<BoxStream<'static, Result<ProcessInstance>>> {
        let principal = ctx.principal()?.clone();
        principal.require(Module::Processes, Access::Read)?;
        let instance_id = parse_id("id", &id)?;
        let app = ctx.app().clone();
        instances::get(&app.db, &principal, instance_id).await?;
        let scope = principal.scope();
        let stream = events::follow_log_from(app.db.clone(), &app.events, scope, None)
            .await?
            .filter(move |e| {
                std::future::ready(
                    e.record_id == instance_id && e.module == Module::Processes.as_str(),
                )
            })
            .then(move |_| {
                let (app, principal) = (app.clone(), principal.clone());
                async move {
                    Ok(instances::get(&app.db, &principal, instance_id)
                        .await?
                        .into())
                }
            });
        Ok(stream.boxed())
    }
}
