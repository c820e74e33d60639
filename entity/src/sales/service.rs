use sea_orm::entity::prelude::*;
use serde::Serialize;

/// Something the company sells that is not kept in stock: work, a subscription…
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "services")]
#[serde(rename_all = "camelCase")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub category: Option<String>,
    /// In units of 1/10 000.
    pub unit_price: i64,
    pub tax_class_id: Option<Uuid>,
    pub usage_unit: Option<String>,
    pub active: bool,
    pub description: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
