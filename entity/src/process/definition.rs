use sea_orm::entity::prelude::*;

/// One published version of a tenant's process definition.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "process_definitions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub key: String,
    pub version: i32,
    pub name: String,
    /// The definition itself: states and transitions (see `docs/process-definition.md`).
    pub body: Json,
    /// The module whose records start an instance and mirror its state.
    pub bound_module: Option<String>,
    pub published_by: Uuid,
    pub published_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
