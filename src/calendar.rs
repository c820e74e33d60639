//! The corporate calendar: events (meetings and calls, with invitees, a related record, a
//! reminder and an optional RFC 5545 recurrence rule) and tasks. `occurrences` expands
//! recurring events over a window.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use futures_util::future::BoxFuture;
use rrule::{RRule, Tz, Unvalidated};
use sea_orm::DatabaseExecutor;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, DatabaseConnection, QueryFilter,
    QueryOrder,
};
use uuid::Uuid;

use entity::calendar::{event, event_invitee, task};
use entity::crm::contact;
use entity::platform::user;

use crate::auth::Principal;
use crate::config::Limits;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::filters::{self, IdFilter, RangeFilter, StringFilter};
use crate::modules::{Declaration, Module};
use crate::news::RelatedRecord;
use crate::pagination::{Page, PageArgs, paginate};
use crate::permissions::Access;
use crate::picklists;
use crate::records;
use crate::records::require_owner;
use crate::search::{self, Hit};
use crate::tenancy::TenantScope;
use crate::validation::required_text;
use crate::validation::{Patch, text_patch};

crate::record!(entity::calendar::event, Module::Calendar, |m| m.subject.clone(),
    search: [Subject, Location]);
crate::record!(entity::calendar::task, Module::Calendar, |m| m.subject.clone(),
    search: [Subject]);

/// More occurrences than this in one window means the window is too wide.
pub const MAX_OCCURRENCES: u16 = 1000;
/// A week: the longest reminder that makes sense.
const MAX_REMINDER_MINUTES: i32 = 7 * 24 * 60;

/// Who is invited: users of the tenant and contacts.
#[derive(Clone, Debug, Default)]
pub struct Invitees {
    pub users: Vec<Uuid>,
    pub contacts: Vec<Uuid>,
}

#[derive(Default)]
pub struct EventFields {
    pub subject: Option<String>,
    pub event_type: Option<String>,
    pub start_at: Option<DateTime<Utc>>,
    pub end_at: Option<DateTime<Utc>>,
    pub all_day: Option<bool>,
    pub location: Patch<String>,
    pub status: Option<String>,
    pub related: Patch<RelatedRecord>,
    pub reminder_minutes: Patch<i32>,
    pub recurrence: Patch<String>,
    pub owner_id: Option<Uuid>,
    pub description: Patch<String>,
    /// Replaces the invitees when given.
    pub invitees: Option<Invitees>,
}

#[derive(Default)]
pub struct TaskFields {
    pub subject: Option<String>,
    pub due_date: Patch<NaiveDate>,
    pub priority: Patch<String>,
    pub status: Option<String>,
    pub related: Patch<RelatedRecord>,
    pub owner_id: Option<Uuid>,
    pub description: Patch<String>,
}

/// Parses an RRULE value against the event's start; refuses what the RFC does not allow.
fn rule(recurrence: &str, start: DateTime<Utc>) -> AppResult<rrule::RRuleSet> {
    let invalid =
        |e: rrule::RRuleError| AppError::bad_input("recurrence", format!("not a valid RRULE: {e}"));
    let text = recurrence.trim().trim_start_matches("RRULE:");
    let parsed: RRule<Unvalidated> = text.parse().map_err(invalid)?;
    // RFC 5545: INTERVAL is a positive integer; the crate lets 0 through.
    if parsed.get_interval() == 0 {
        return Err(AppError::bad_input(
            "recurrence",
            "INTERVAL must be at least 1",
        ));
    }
    parsed.build(start.with_timezone(&Tz::UTC)).map_err(invalid)
}

/// When the last occurrence of a rule ends: from UNTIL, or by expanding a COUNT. `None` when
/// the rule never ends or has more occurrences than the calendar expands.
fn last_occurrence_end(set: rrule::RRuleSet, length: Duration) -> Option<DateTime<Utc>> {
    let rrule = set.get_rrule().first()?;
    let last_start = if let Some(until) = rrule.get_until() {
        until.with_timezone(&Utc)
    } else if rrule.get_count().is_some() {
        let expanded = set.all(MAX_OCCURRENCES);
        if expanded.limited {
            return None;
        }
        expanded.dates.last()?.with_timezone(&Utc)
    } else {
        return None;
    };
    last_start.checked_add_signed(length)
}

async fn check_related(
    db: &impl Conn,
    actor: &Principal,
    related: Option<RelatedRecord>,
) -> AppResult<()> {
    if let Some(r) = related {
        actor.require(r.module, Access::Read)?;
        records::require_related(db, &actor.scope(), "relatedId", r.module, r.id).await?;
    }
    Ok(())
}

async fn replace_invitees(
    txn: &impl Conn,
    scope: &TenantScope,
    event_id: Uuid,
    invitees: Invitees,
) -> AppResult<()> {
    for id in &invitees.users {
        let active = scope
            .by_id::<user::Entity>(*id)
            .filter(user::Column::Active.eq(true))
            .one(txn)
            .await?
            .is_some();
        if !active {
            return Err(AppError::ReferenceNotFound {
                field: "invitees.users".into(),
                what: "active user",
            });
        }
    }
    for id in &invitees.contacts {
        records::require_reference::<contact::Entity>(txn, scope, "invitees.contacts", *id).await?;
    }
    scope
        .delete::<event_invitee::Entity>()
        .filter(event_invitee::Column::EventId.eq(event_id))
        .exec(txn)
        .await?;
    let users = invitees.users.iter().map(|id| (Some(*id), None));
    let contacts = invitees.contacts.iter().map(|id| (None, Some(*id)));
    for (user_id, contact_id) in users.chain(contacts) {
        event_invitee::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: scope.owner(),
            event_id: Set(event_id),
            user_id: Set(user_id),
            contact_id: Set(contact_id),
        }
        .insert(txn)
        .await?;
    }
    Ok(())
}

/// Validates the fields of an event; `current` is the stored event on update.
async fn apply_event(
    db: &impl Conn,
    actor: &Principal,
    current: Option<&event::Model>,
    fields: EventFields,
    row: &mut event::ActiveModel,
) -> AppResult<()> {
    let scope = actor.scope();
    if let Some(subject) = fields.subject {
        row.subject = Set(required_text("subject", &subject, 255)?);
    }
    if let Some(kind) = fields.event_type {
        picklists::check(db, &scope, "eventType", "eventType", Some(&kind)).await?;
        row.event_type = Set(kind);
    }
    if let Some(status) = fields.status {
        picklists::check(db, &scope, "eventStatus", "status", Some(&status)).await?;
        row.status = Set(status);
    }
    let start = fields.start_at.or(current.map(|e| e.start_at));
    let end = fields.end_at.or(current.map(|e| e.end_at));
    let (Some(start), Some(end)) = (start, end) else {
        return Err(AppError::bad_input(
            "startAt",
            "an event needs a start and an end",
        ));
    };
    if end < start {
        return Err(AppError::bad_input("endAt", "must not be before startAt"));
    }
    row.start_at = Set(start);
    row.end_at = Set(end);
    if let Some(all_day) = fields.all_day {
        row.all_day = Set(all_day);
    }
    if let Some(location) = text_patch("location", fields.location, 255)? {
        row.location = Set(location);
    }
    if let Some(related) = fields.related {
        check_related(db, actor, related).await?;
        row.related_module = Set(related.map(|r| r.module.as_str().to_owned()));
        row.related_id = Set(related.map(|r| r.id));
    }
    if let Some(minutes) = fields.reminder_minutes {
        if minutes.is_some_and(|m| !(0..=MAX_REMINDER_MINUTES).contains(&m)) {
            return Err(AppError::bad_input(
                "reminderMinutes",
                format!("must be between 0 and {MAX_REMINDER_MINUTES}"),
            ));
        }
        row.reminder_minutes = Set(minutes);
    }
    let recurrence = match fields.recurrence {
        Some(value) => text_patch("recurrence", Some(value), 500)?.flatten(),
        None => current.and_then(|e| e.recurrence.clone()),
    };
    // Checked against the (possibly new) start, whichever of the two changed.
    let ends_at = match &recurrence {
        Some(rrule) => last_occurrence_end(rule(rrule, start)?, end - start),
        None => None,
    };
    row.recurrence = Set(recurrence);
    row.recurrence_ends_at = Set(ends_at);
    if let Some(owner_id) = fields.owner_id {
        row.owner_id = Set(require_owner(db, &scope, owner_id).await?);
    }
    if let Some(description) = text_patch("description", fields.description, 10_000)? {
        row.description = Set(description);
    }
    Ok(())
}

pub async fn create_event(
    db: &DatabaseConnection,
    actor: &Principal,
    mut fields: EventFields,
) -> AppResult<event::Model> {
    actor.require(Module::Calendar, Access::Write)?;
    if fields.subject.is_none() {
        return Err(AppError::bad_input("subject", "must not be empty"));
    }
    fields
        .event_type
        .get_or_insert_with(|| "Meeting".to_owned());
    fields.status.get_or_insert_with(|| "Planned".to_owned());
    let invitees = fields.invitees.take();
    let scope = actor.scope();
    let txn = records::begin_write(db, &actor.scope()).await?;
    let now = Utc::now();
    let mut row = event::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: scope.owner(),
        all_day: Set(false),
        location: Set(None),
        related_module: Set(None),
        related_id: Set(None),
        reminder_minutes: Set(None),
        owner_id: Set(actor.user_id),
        description: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        ..Default::default()
    };
    apply_event(&txn, actor, None, fields, &mut row).await?;
    let created = records::insert::<event::Entity>(&txn, actor, row).await?;
    if let Some(invitees) = invitees {
        replace_invitees(&txn, &scope, created.id, invitees).await?;
    }
    txn.commit().await?;
    Ok(created)
}

pub async fn update_event(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
    version: i32,
    mut fields: EventFields,
) -> AppResult<event::Model> {
    actor.require(Module::Calendar, Access::Write)?;
    let invitees = fields.invitees.take();
    let scope = actor.scope();
    let txn = records::begin_write(db, &actor.scope()).await?;
    let before = records::get::<event::Entity>(&txn, &scope, id).await?;
    let mut changes = <event::ActiveModel as Default>::default();
    apply_event(&txn, actor, Some(&before), fields, &mut changes).await?;
    let updated = records::update::<event::Entity>(&txn, actor, before, version, changes).await?;
    if let Some(invitees) = invitees {
        replace_invitees(&txn, &scope, id, invitees).await?;
    }
    txn.commit().await?;
    Ok(updated)
}

/// One occurrence of an event, or a task due that day.
pub enum Occurrence {
    Event {
        event: event::Model,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
    Task(task::Model),
}

/// Everything on the calendar between `from` and `to`: event occurrences that overlap the
/// window (recurring events expanded) and tasks due in it, in time order.
pub async fn occurrences(
    db: &DatabaseConnection,
    actor: &Principal,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    owner_id: Option<Uuid>,
) -> AppResult<Vec<Occurrence>> {
    actor.require(Module::Calendar, Access::Read)?;
    if to <= from {
        return Err(AppError::bad_input("to", "must be after from"));
    }
    if to - from > Duration::days(366) {
        return Err(AppError::bad_input(
            "to",
            "the window can span at most a year",
        ));
    }
    let scope = actor.scope();
    // An event whose last occurrence ended before the window cannot show in it: leave it in
    // the database rather than expanding its rule.
    let mut events = records::live::<event::Entity>(&scope)
        .filter(event::Column::StartAt.lt(to))
        .filter(
            Condition::any().add(event::Column::EndAt.gte(from)).add(
                Condition::all()
                    .add(event::Column::Recurrence.is_not_null())
                    .add(
                        Condition::any()
                            .add(event::Column::RecurrenceEndsAt.is_null())
                            .add(event::Column::RecurrenceEndsAt.gte(from)),
                    ),
            ),
        );
    let mut tasks = records::live::<task::Entity>(&scope)
        .filter(task::Column::DueDate.gte(from.date_naive()))
        .filter(task::Column::DueDate.lte(to.date_naive()));
    if let Some(owner_id) = owner_id {
        events = events.filter(event::Column::OwnerId.eq(owner_id));
        tasks = tasks.filter(task::Column::OwnerId.eq(owner_id));
    }
    let events = events.order_by_asc(event::Column::StartAt).all(db).await?;
    let mut found = Vec::new();
    for event in events {
        let length = event.end_at - event.start_at;
        let starts = match &event.recurrence {
            None if event.end_at >= from => vec![event.start_at],
            None => Vec::new(),
            Some(recurrence) => {
                // An occurrence overlaps the window if it starts before `to` and ends after `from`.
                let earliest = from
                    .checked_sub_signed(length)
                    .ok_or_else(|| AppError::bad_input("from", "out of range"))?;
                let set = rule(recurrence, event.start_at)?
                    .after(earliest.with_timezone(&Tz::UTC))
                    .before(to.with_timezone(&Tz::UTC));
                let result = set.all(MAX_OCCURRENCES);
                if result.limited && result.dates.len() >= MAX_OCCURRENCES as usize {
                    return Err(AppError::bad_input(
                        "to",
                        "too many occurrences; ask for a shorter window",
                    ));
                }
                result
                    .dates
                    .into_iter()
                    .map(|d| d.with_timezone(&Utc))
                    .filter(|d| *d < to)
                    .collect()
            }
        };
        for start in starts {
            let end = start
                .checked_add_signed(length)
                .unwrap_or(DateTime::<Utc>::MAX_UTC);
            found.push(Occurrence::Event {
                event: event.clone(),
                start,
                end,
            });
        }
    }
    found.extend(tasks.all(db).await?.into_iter().map(Occurrence::Task));
    found.sort_by_key(|o| match o {
        Occurrence::Event { start, .. } => *start,
        Occurrence::Task(t) => t
            .due_date
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc())
            .unwrap_or(from),
    });
    Ok(found)
}

/// Which tasks to list.
#[derive(Default)]
pub struct TaskFilter {
    pub owner_id: Option<IdFilter>,
    pub status: Option<StringFilter>,
    pub due_date: Option<RangeFilter<NaiveDate>>,
    pub related_id: Option<IdFilter>,
}

/// Tasks by due date (undated last), then creation.
pub async fn list_tasks(
    db: &DatabaseConnection,
    actor: &Principal,
    filter: &TaskFilter,
    args: &PageArgs,
    limits: &Limits,
) -> AppResult<Page<task::Model>> {
    actor.require(Module::Calendar, Access::Read)?;
    let mut select = records::live::<task::Entity>(&actor.scope());
    select = filters::id(
        select,
        task::Column::OwnerId,
        filter.owner_id.as_ref(),
        "ownerId",
    )?;
    select = filters::text(select, task::Column::Status, filter.status.as_ref());
    select = filters::range(select, task::Column::DueDate, filter.due_date.as_ref());
    let related_id = filter.related_id.as_ref();
    select = filters::id(select, task::Column::RelatedId, related_id, "relatedId")?;
    // Tasks without a due date come last: paginate puts NULL above every value.
    paginate(
        db,
        select,
        Some((task::Column::DueDate, sea_orm::Order::Asc)),
        args,
        limits,
    )
    .await
}

async fn apply_task(
    db: &impl Conn,
    actor: &Principal,
    fields: TaskFields,
    row: &mut task::ActiveModel,
) -> AppResult<()> {
    let scope = actor.scope();
    if let Some(subject) = fields.subject {
        row.subject = Set(required_text("subject", &subject, 255)?);
    }
    if let Some(due) = fields.due_date {
        row.due_date = Set(due);
    }
    if let Some(priority) = fields.priority {
        picklists::check(db, &scope, "taskPriority", "priority", priority.as_deref()).await?;
        row.priority = Set(priority);
    }
    if let Some(status) = fields.status {
        picklists::check(db, &scope, "taskStatus", "status", Some(&status)).await?;
        row.status = Set(status);
    }
    if let Some(related) = fields.related {
        check_related(db, actor, related).await?;
        row.related_module = Set(related.map(|r| r.module.as_str().to_owned()));
        row.related_id = Set(related.map(|r| r.id));
    }
    if let Some(owner_id) = fields.owner_id {
        row.owner_id = Set(require_owner(db, &scope, owner_id).await?);
    }
    if let Some(description) = text_patch("description", fields.description, 10_000)? {
        row.description = Set(description);
    }
    Ok(())
}

pub async fn create_task(
    db: &DatabaseConnection,
    actor: &Principal,
    fields: TaskFields,
) -> AppResult<task::Model> {
    let txn = records::begin_write(db, &actor.scope()).await?;
    let created = create_task_in(&txn, actor, fields).await?;
    txn.commit().await?;
    Ok(created)
}

/// Creates a task inside the caller's transaction (process actions use it).
pub async fn create_task_in(
    txn: &impl Conn,
    actor: &Principal,
    mut fields: TaskFields,
) -> AppResult<task::Model> {
    actor.require(Module::Calendar, Access::Write)?;
    if fields.subject.is_none() {
        return Err(AppError::bad_input("subject", "must not be empty"));
    }
    fields
        .status
        .get_or_insert_with(|| "Not Started".to_owned());
    let scope = actor.scope();
    let now = Utc::now();
    let mut row = task::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: scope.owner(),
        due_date: Set(None),
        priority: Set(None),
        related_module: Set(None),
        related_id: Set(None),
        owner_id: Set(actor.user_id),
        description: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        ..Default::default()
    };
    apply_task(txn, actor, fields, &mut row).await?;
    records::insert::<task::Entity>(txn, actor, row).await
}

pub async fn update_task(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
    version: i32,
    fields: TaskFields,
) -> AppResult<task::Model> {
    actor.require(Module::Calendar, Access::Write)?;
    let txn = records::begin_write(db, &actor.scope()).await?;
    let before = records::get::<task::Entity>(&txn, &actor.scope(), id).await?;
    let mut changes = <task::ActiveModel as Default>::default();
    apply_task(&txn, actor, fields, &mut changes).await?;
    let updated = records::update::<task::Entity>(&txn, actor, before, version, changes).await?;
    txn.commit().await?;
    Ok(updated)
}

/// The calendar module holds two kinds of records: events and tasks.
pub static DECLARATION: CalendarModule = CalendarModule;

pub struct CalendarModule;

impl Declaration for CalendarModule {
    fn module(&self) -> Module {
        Module::Calendar
    }

    fn load_json<'a>(
        &'a self,
        db: &'a DatabaseExecutor<'a>,
        scope: &'a TenantScope,
        id: Uuid,
    ) -> BoxFuture<'a, AppResult<Option<serde_json::Value>>> {
        Box::pin(async move {
            match records::find_json::<event::Entity>(db, scope, id).await? {
                Some(event) => Ok(Some(event)),
                None => records::find_json::<task::Entity>(db, scope, id).await,
            }
        })
    }

    fn search<'a>(
        &'a self,
        db: &'a DatabaseConnection,
        actor: &'a Principal,
        text: &'a str,
        limit: u64,
    ) -> BoxFuture<'a, AppResult<Vec<Hit>>> {
        Box::pin(async move {
            let mut found = search::search_in::<event::Entity>(db, actor, text, limit).await?;
            found.extend(search::search_in::<task::Entity>(db, actor, text, limit).await?);
            Ok(found)
        })
    }

    /// Deleted events; tasks are done or deleted for good.
    fn recycle_bin<'a>(
        &'a self,
        db: &'a DatabaseConnection,
        actor: &'a Principal,
        args: &'a PageArgs,
        limits: &'a Limits,
    ) -> BoxFuture<'a, AppResult<Page<records::Recycled>>> {
        Box::pin(records::recycle_bin::<event::Entity>(
            db, actor, args, limits,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn weekly_rule_expands_from_the_start() {
        let set = rule("FREQ=WEEKLY;COUNT=3", at("2026-11-02T09:00:00Z")).unwrap();
        let dates: Vec<_> = set
            .all(10)
            .dates
            .into_iter()
            .map(|d| d.with_timezone(&Utc))
            .collect();
        assert_eq!(
            dates,
            [
                at("2026-11-02T09:00:00Z"),
                at("2026-11-09T09:00:00Z"),
                at("2026-11-16T09:00:00Z")
            ]
        );
    }

    #[test]
    fn nonsense_rules_are_bad_input() {
        for bad in ["FREQ=SOMETIMES", "COUNT=3", "FREQ=DAILY;INTERVAL=0"] {
            let err = rule(bad, at("2026-11-02T09:00:00Z")).unwrap_err();
            assert!(
                matches!(err, AppError::BadInput { ref field, .. } if field == "recurrence"),
                "{bad}"
            );
        }
    }
}
