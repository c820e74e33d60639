use sea_orm::entity::prelude::*;
use serde::Serialize;

/// The list price of one product or service in a price book.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "price_book_entries")]
#[serde(rename_all = "camelCase")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub price_book_id: Uuid,
    /// A product's or a service's id.
    pub item_id: Uuid,
    /// In units of 1/10 000.
    pub list_price: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
