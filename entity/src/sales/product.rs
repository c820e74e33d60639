use sea_orm::entity::prelude::*;
use serde::Serialize;

/// Something the company sells and keeps in stock.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "products")]
#[serde(rename_all = "camelCase")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// Unique per tenant.
    pub code: String,
    pub name: String,
    pub category: Option<String>,
    pub manufacturer: Option<String>,
    /// Money and quantities in units of 1/10 000.
    pub unit_price: i64,
    pub cost_price: Option<i64>,
    pub usage_unit: Option<String>,
    pub tax_class_id: Option<Uuid>,
    /// Where the product is bought.
    pub vendor_id: Option<Uuid>,
    /// Always the sum of the product's stock movements.
    pub quantity_in_stock: i64,
    pub reorder_level: i64,
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
