use sea_orm::entity::prelude::*;

/// A tenant's dashboard: a named layout of widgets, each a report drawn as a chart or a KPI.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dashboards")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    /// The widgets, in order (see `bpaas::reports::dashboards`).
    pub widgets: Json,
    /// `private`, `roles` or `tenant`, as for reports.
    pub sharing: String,
    pub shared_roles: String,
    pub owner_id: Uuid,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
