use sea_orm::entity::prelude::*;

/// A bonus, THR, overtime or instalment for one employee, paid in every pay run whose period
/// overlaps `starts_on..=ends_on` (the same day for a one-off).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "additional_pays")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub employee_id: Uuid,
    pub component_code: String,
    pub amount: i64,
    pub starts_on: Date,
    pub ends_on: Date,
    pub description: Option<String>,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
