use sea_orm::entity::prelude::*;

/// One allowed value of a tenant's picklist (industry, lead source, …).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "picklist_values")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// The picklist's name, e.g. `industry`.
    pub picklist: String,
    pub value: String,
    pub position: i32,
    /// Retired values stay on old records but cannot be chosen any more.
    pub active: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
