use sea_orm::entity::prelude::*;
use serde::Serialize;

/// One line of a sales document: a product or service, how many, at what price, with its
/// discount and tax. Amounts and quantities in units of 1/10 000.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "document_lines")]
#[serde(rename_all = "camelCase")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// The quote, sales order, invoice or purchase order (ids are unique across them).
    pub document_id: Uuid,
    pub position: i32,
    pub product_id: Option<Uuid>,
    pub service_id: Option<Uuid>,
    pub description: Option<String>,
    pub quantity: i64,
    pub list_price: i64,
    pub discount_percent: Option<i64>,
    pub discount_amount: Option<i64>,
    /// Individual tax mode: the line's tax class and its rate (percent) when saved.
    pub tax_class_id: Option<Uuid>,
    pub tax_rate: i64,
    /// Computed: quantity × list price − discount.
    pub net: i64,
    pub tax: i64,
    pub total: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
