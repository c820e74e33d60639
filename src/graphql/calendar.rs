//! The calendar: events, tasks and the expanded `calendar(from, to)` view.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};

use entity::calendar::{event, event_invitee, task};
use entity::crm::contact;
use entity::platform::user;

use crate::calendar::{self, EventFields, Invitees, Occurrence, TaskFields, TaskFilter};
use crate::error::AppError;
use crate::modules::Module;
use crate::news::RelatedRecord;
use crate::records;

use super::loaders::{ById, Children, EventsOfRecord, InviteesOfEvent, TasksOfRecord};
use super::pagination::{Connected, connection, page_args};
use super::platform::User;
use super::{ContextExt, parse_id};
use crate::filters::{IdFilter, RangeFilter, StringFilter};
use crate::graphql::crm::contacts::Contact;
use crate::graphql::records::{id, optional_id, patch, record_mutations, record_object};

/// A record a calendar entry is about.
#[derive(InputObject)]
pub struct RelatedRecordInput {
    pub module: Module,
    pub id: ID,
}

fn related_patch(
    value: MaybeUndefined<RelatedRecordInput>,
) -> Result<crate::validation::Patch<RelatedRecord>, AppError> {
    patch(value)
        .map(|r| {
            r.map(|r| {
                Ok(RelatedRecord {
                    module: r.module,
                    id: parse_id("relatedId", &r.id)?,
                })
            })
            .transpose()
        })
        .transpose()
}

fn ids(field: &str, values: Vec<ID>) -> Result<Vec<uuid::Uuid>, AppError> {
    values.iter().map(|v| parse_id(field, v)).collect()
}

#[derive(InputObject)]
pub struct InviteesInput {
    #[graphql(default)]
    pub users: Vec<ID>,
    #[graphql(default)]
    pub contacts: Vec<ID>,
}

impl InviteesInput {
    fn into_domain(self) -> Result<Invitees, AppError> {
        Ok(Invitees {
            users: ids("invitees.users", self.users)?,
            contacts: ids("invitees.contacts", self.contacts)?,
        })
    }
}

/// A meeting or call.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Event {
    pub id: ID,
    pub subject: String,
    /// A value of the `eventType` picklist: Meeting, Call.
    pub event_type: String,
    /// The first occurrence's start.
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    pub all_day: bool,
    pub location: Option<String>,
    /// A value of the `eventStatus` picklist: Planned, Held, Not Held.
    pub status: String,
    pub related_module: Option<Module>,
    pub related_id: Option<ID>,
    pub reminder_minutes: Option<i32>,
    /// RFC 5545 RRULE, e.g. `FREQ=WEEKLY;BYDAY=MO;COUNT=10`.
    pub recurrence: Option<String>,
    /// When the last occurrence ends; null for a one-off event or a rule without end.
    pub recurrence_ends_at: Option<DateTime<Utc>>,
    pub owner_id: ID,
    pub description: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    model: event::Model,
}

impl From<event::Model> for Event {
    fn from(m: event::Model) -> Self {
        Self {
            id: id(m.id),
            subject: m.subject.clone(),
            event_type: m.event_type.clone(),
            start_at: m.start_at,
            end_at: m.end_at,
            all_day: m.all_day,
            location: m.location.clone(),
            status: m.status.clone(),
            related_module: m.related_module.as_deref().and_then(Module::parse),
            related_id: m.related_id.map(id),
            reminder_minutes: m.reminder_minutes,
            recurrence: m.recurrence.clone(),
            recurrence_ends_at: m.recurrence_ends_at,
            owner_id: id(m.owner_id),
            description: m.description.clone(),
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
            model: m,
        }
    }
}

record_object!(Event, id: model.id, owner: model.owner_id {
    /// Invited users.
    async fn invited_users(&self, ctx: &Context<'_>) -> Result<Vec<User>> {
        let invitees = invitees(ctx, &self.model).await?;
        let ids: Vec<_> = invitees.iter().filter_map(|i| i.user_id).collect();
        let users = ctx
            .loader::<ById<user::Entity>>()?
            .load_many(ids.iter().copied())
            .await?;
        Ok(ids
            .iter()
            .filter_map(|id| users.get(id).cloned())
            .map(User::from)
            .collect())
    }

    /// Invited contacts.
    async fn invited_contacts(&self, ctx: &Context<'_>) -> Result<Vec<Contact>> {
        let contacts = ctx.loader::<ById<contact::Entity>>()?;
        let invitees = invitees(ctx, &self.model).await?;
        let ids: Vec<_> = invitees.iter().filter_map(|i| i.contact_id).collect();
        let contacts = contacts.load_many(ids.iter().copied()).await?;
        Ok(ids
            .iter()
            .filter_map(|id| contacts.get(id).cloned())
            .map(Contact::from)
            .collect())
    }
});

/// `record.events`: events about a record, by start, batched.
pub(crate) async fn events_of(ctx: &Context<'_>, record_id: uuid::Uuid) -> Result<Vec<Event>> {
    let loader = ctx.loader::<Children<event::Entity, EventsOfRecord>>()?;
    let events = loader.load_one(record_id).await?.unwrap_or_default();
    Ok(events.into_iter().map(Into::into).collect())
}

/// `record.tasks`: tasks about a record, by due date, batched.
pub(crate) async fn tasks_of(ctx: &Context<'_>, record_id: uuid::Uuid) -> Result<Vec<Task>> {
    let loader = ctx.loader::<Children<task::Entity, TasksOfRecord>>()?;
    let tasks = loader.load_one(record_id).await?.unwrap_or_default();
    Ok(tasks.into_iter().map(Into::into).collect())
}

async fn invitees(ctx: &Context<'_>, event: &event::Model) -> Result<Vec<event_invitee::Model>> {
    let loader = ctx.loader::<Children<event_invitee::Entity, InviteesOfEvent>>()?;
    Ok(loader.load_one(event.id).await?.unwrap_or_default())
}

/// A to-do with a due date.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Task {
    pub id: ID,
    pub subject: String,
    pub due_date: Option<NaiveDate>,
    /// A value of the `taskPriority` picklist.
    pub priority: Option<String>,
    /// A value of the `taskStatus` picklist.
    pub status: String,
    pub related_module: Option<Module>,
    pub related_id: Option<ID>,
    /// The assignee.
    pub owner_id: ID,
    pub description: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    model: task::Model,
}

impl From<task::Model> for Task {
    fn from(m: task::Model) -> Self {
        Self {
            id: id(m.id),
            subject: m.subject.clone(),
            due_date: m.due_date,
            priority: m.priority.clone(),
            status: m.status.clone(),
            related_module: m.related_module.as_deref().and_then(Module::parse),
            related_id: m.related_id.map(id),
            owner_id: id(m.owner_id),
            description: m.description.clone(),
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
            model: m,
        }
    }
}

record_object!(Task, id: model.id, owner: model.owner_id {});

/// One entry of the calendar view: an occurrence of an event, or a task due that day.
#[derive(SimpleObject)]
pub struct CalendarItem {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub all_day: bool,
    pub event: Option<Event>,
    pub task: Option<Task>,
}

#[derive(InputObject)]
pub struct CreateEventInput {
    pub subject: String,
    /// Defaults to Meeting.
    pub event_type: Option<String>,
    pub start_at: DateTime<Utc>,
    pub end_at: DateTime<Utc>,
    pub all_day: Option<bool>,
    pub location: Option<String>,
    /// Defaults to Planned.
    pub status: Option<String>,
    pub related: Option<RelatedRecordInput>,
    pub reminder_minutes: Option<i32>,
    pub recurrence: Option<String>,
    pub owner_id: Option<ID>,
    pub description: Option<String>,
    pub invitees: Option<InviteesInput>,
}

#[derive(InputObject)]
pub struct UpdateEventInput {
    pub version: i32,
    pub subject: Option<String>,
    pub event_type: Option<String>,
    pub start_at: Option<DateTime<Utc>>,
    pub end_at: Option<DateTime<Utc>>,
    pub all_day: Option<bool>,
    pub location: MaybeUndefined<String>,
    pub status: Option<String>,
    pub related: MaybeUndefined<RelatedRecordInput>,
    pub reminder_minutes: MaybeUndefined<i32>,
    pub recurrence: MaybeUndefined<String>,
    pub owner_id: Option<ID>,
    pub description: MaybeUndefined<String>,
    /// Replaces every invitee.
    pub invitees: Option<InviteesInput>,
}

#[derive(InputObject)]
pub struct CreateTaskInput {
    pub subject: String,
    pub due_date: Option<NaiveDate>,
    pub priority: Option<String>,
    /// Defaults to Not Started.
    pub status: Option<String>,
    pub related: Option<RelatedRecordInput>,
    /// The assignee; defaults to the caller.
    pub owner_id: Option<ID>,
    pub description: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateTaskInput {
    pub version: i32,
    pub subject: Option<String>,
    pub due_date: MaybeUndefined<NaiveDate>,
    pub priority: MaybeUndefined<String>,
    pub status: Option<String>,
    pub related: MaybeUndefined<RelatedRecordInput>,
    pub owner_id: Option<ID>,
    pub description: MaybeUndefined<String>,
}

#[derive(Default)]
pub struct CalendarQuery;

#[Object]
impl CalendarQuery {
    /// Event occurrences overlapping [from, to) (recurring events expanded) and tasks due in
    /// it, in time order; at most a year at a time. `ownerId` narrows to one user's calendar.
    async fn calendar(
        &self,
        ctx: &Context<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        owner_id: Option<ID>,
    ) -> Result<Vec<CalendarItem>> {
        let owner_id = optional_id("ownerId", owner_id)?;
        let found =
            calendar::occurrences(&ctx.app().db, ctx.principal()?, from, to, owner_id).await?;
        Ok(found
            .into_iter()
            .map(|o| match o {
                Occurrence::Event { event, start, end } => CalendarItem {
                    start,
                    end,
                    all_day: event.all_day,
                    event: Some(event.into()),
                    task: None,
                },
                Occurrence::Task(task) => {
                    let day = task
                        .due_date
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                        .map(|d| d.and_utc())
                        .unwrap_or(from);
                    CalendarItem {
                        start: day,
                        end: day,
                        all_day: true,
                        event: None,
                        task: Some(task.into()),
                    }
                }
            })
            .collect())
    }

    async fn event(&self, ctx: &Context<'_>, id: ID) -> Result<Event> {
        let id = parse_id("id", &id)?;
        Ok(
            records::read::<event::Entity>(&ctx.app().db, ctx.principal()?, id)
                .await?
                .into(),
        )
    }

    /// Tasks by due date (undated last); e.g. one user's open tasks with
    /// `ownerId` and `status: { in: ["Not Started", "In Progress"] }`.
    #[allow(clippy::too_many_arguments)]
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        owner_id: Option<IdFilter>,
        status: Option<StringFilter>,
        due_date: Option<RangeFilter<NaiveDate>>,
        related_id: Option<IdFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connected<Task>> {
        let app = ctx.app();
        let filter = TaskFilter {
            owner_id,
            status,
            due_date,
            related_id,
        };
        let args = page_args(first, after, None, None);
        let page =
            calendar::list_tasks(&app.db, ctx.principal()?, &filter, &args, &app.limits).await?;
        Ok(connection(page, Task::from))
    }

    async fn task(&self, ctx: &Context<'_>, id: ID) -> Result<Task> {
        let id = parse_id("id", &id)?;
        Ok(
            records::read::<task::Entity>(&ctx.app().db, ctx.principal()?, id)
                .await?
                .into(),
        )
    }
}

#[derive(Default)]
pub struct CalendarMutation;

record_mutations!(CalendarMutation {
    event::Entity => Event, "an event": delete_event, restore_event, purge_event;
    task::Entity => Task, "a task": delete_task, restore_task, purge_task;
} {
    async fn create_event(&self, ctx: &Context<'_>, input: CreateEventInput) -> Result<Event> {
        let fields = EventFields {
            subject: Some(input.subject),
            event_type: input.event_type,
            start_at: Some(input.start_at),
            end_at: Some(input.end_at),
            all_day: input.all_day,
            location: Some(input.location),
            status: input.status,
            related: related_patch(Some(input.related).into())?,
            reminder_minutes: Some(input.reminder_minutes),
            recurrence: Some(input.recurrence),
            owner_id: optional_id("ownerId", input.owner_id)?,
            description: Some(input.description),
            invitees: input.invitees.map(InviteesInput::into_domain).transpose()?,
        };
        Ok(
            calendar::create_event(&ctx.app().db, ctx.principal()?, fields)
                .await?
                .into(),
        )
    }

    async fn update_event(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateEventInput,
    ) -> Result<Event> {
        let id = parse_id("id", &id)?;
        let fields = EventFields {
            subject: input.subject,
            event_type: input.event_type,
            start_at: input.start_at,
            end_at: input.end_at,
            all_day: input.all_day,
            location: patch(input.location),
            status: input.status,
            related: related_patch(input.related)?,
            reminder_minutes: patch(input.reminder_minutes),
            recurrence: patch(input.recurrence),
            owner_id: optional_id("ownerId", input.owner_id)?,
            description: patch(input.description),
            invitees: input.invitees.map(InviteesInput::into_domain).transpose()?,
        };
        Ok(
            calendar::update_event(&ctx.app().db, ctx.principal()?, id, input.version, fields)
                .await?
                .into(),
        )
    }

    async fn create_task(&self, ctx: &Context<'_>, input: CreateTaskInput) -> Result<Task> {
        let fields = TaskFields {
            subject: Some(input.subject),
            due_date: Some(input.due_date),
            priority: Some(input.priority),
            status: input.status,
            related: related_patch(Some(input.related).into())?,
            owner_id: optional_id("ownerId", input.owner_id)?,
            description: Some(input.description),
        };
        Ok(
            calendar::create_task(&ctx.app().db, ctx.principal()?, fields)
                .await?
                .into(),
        )
    }

    async fn update_task(&self, ctx: &Context<'_>, id: ID, input: UpdateTaskInput) -> Result<Task> {
        let id = parse_id("id", &id)?;
        let fields = TaskFields {
            subject: input.subject,
            due_date: patch(input.due_date),
            priority: patch(input.priority),
            status: input.status,
            related: related_patch(input.related)?,
            owner_id: optional_id("ownerId", input.owner_id)?,
            description: patch(input.description),
        };
        Ok(
            calendar::update_task(&ctx.app().db, ctx.principal()?, id, input.version, fields)
                .await?
                .into(),
        )
    }
});
