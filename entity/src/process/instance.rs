use sea_orm::entity::prelude::*;

/// A running (or finished) process, pinned to the definition version it started with.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "process_instances")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub definition_id: Uuid,
    pub definition_key: String,
    pub definition_version: i32,
    /// The record the process is about, if any.
    pub record_module: Option<String>,
    pub record_id: Option<Uuid>,
    pub state: String,
    /// `active`, `completed` or `cancelled`.
    pub status: String,
    pub variables: Json,
    /// Set when an SLA timer ran out before the instance left its state.
    pub sla_breached: bool,
    /// Optimistic concurrency: every transition bumps it.
    pub version: i32,
    pub started_by: Uuid,
    pub started_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub ended_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
