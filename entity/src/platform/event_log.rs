use sea_orm::entity::prelude::*;

/// The durable log of changes: every record change of a tenant, numbered by a per-tenant,
/// gap-free sequence and written in the same transaction as the change. Subscriptions read it,
/// so a client that resumes from the last sequence it saw misses nothing.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "event_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub sequence: i64,
    pub id: Uuid,
    pub module: String,
    pub record_id: Uuid,
    /// `created`, `updated`, `deleted`, `restored`.
    pub action: String,
    pub actor_id: Uuid,
    pub at: DateTimeUtc,
    /// The names of the fields that changed (JSON array).
    pub changed_fields: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
