use sea_orm::entity::prelude::*;

/// One change of one record (Vtiger's ModTracker): who, when, what, and each field's old and
/// new value.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "record_history")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub module: String,
    pub record_id: Uuid,
    /// `created`, `updated`, `deleted` or `restored`.
    pub action: String,
    pub actor_id: Uuid,
    pub at: DateTimeUtc,
    /// JSON array of `{"field", "old", "new"}`.
    pub changes: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
