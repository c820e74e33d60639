use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A meeting or call, possibly recurring (RFC 5545 RRULE).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "events")]
#[serde(rename_all = "camelCase")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub subject: String,
    pub event_type: String,
    pub start_at: DateTimeUtc,
    pub end_at: DateTimeUtc,
    pub all_day: bool,
    pub location: Option<String>,
    pub status: String,
    pub related_module: Option<String>,
    pub related_id: Option<Uuid>,
    /// Minutes before the start to remind the invitees.
    pub reminder_minutes: Option<i32>,
    /// An RRULE value such as `FREQ=WEEKLY;BYDAY=MO;COUNT=10`; the first occurrence is `start_at`.
    pub recurrence: Option<String>,
    /// When the last occurrence ends; `None` for a rule without end (or one with more
    /// occurrences than the calendar expands). Derived from `recurrence` when saved.
    pub recurrence_ends_at: Option<DateTimeUtc>,
    pub owner_id: Uuid,
    pub description: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
