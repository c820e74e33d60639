use sea_orm::entity::prelude::*;

/// A pending timer of an instance: due at `due_at`, it fires a transition or marks an SLA
/// breach. Stored, so that it survives a restart; claimed by one replica only.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "process_timers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub instance_id: Uuid,
    /// The state the instance must still be in for the timer to act.
    pub state: String,
    pub due_at: DateTimeUtc,
    pub transition: Option<String>,
    pub sla_breach: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
