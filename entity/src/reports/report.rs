use sea_orm::entity::prelude::*;

/// A tenant's analytical report: what to count, sum and group (see `bpaas::reports`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reports")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// The key of the built-in report this is the tenant's copy of.
    pub built_in: Option<String>,
    pub name: String,
    pub description: Option<String>,
    /// The report itself: source, columns, filters, groupings, aggregates, order.
    pub definition: Json,
    /// `private` (its owner and admins), `roles` (and the roles in `shared_roles`) or `tenant`.
    pub sharing: String,
    /// Comma-separated role names.
    pub shared_roles: String,
    pub owner_id: Uuid,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
