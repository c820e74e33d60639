use sea_orm::entity::prelude::*;

/// When a report runs by itself, and as whom (see `bpaas::reports::schedules`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "report_schedules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub report_id: Uuid,
    /// The user who set the schedule: runs are made with this user's rights.
    pub owner_id: Uuid,
    /// `daily`, `weekly`, `monthly` or `cron`: how the schedule was given.
    pub frequency: String,
    /// The schedule as a five-field cron expression, in the tenant's time zone.
    pub cron: String,
    pub active: bool,
    pub next_run_at: DateTimeUtc,
    pub last_run_at: Option<DateTimeUtc>,
    /// While a replica runs it: no other replica claims it before then.
    pub locked_until: Option<DateTimeUtc>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
