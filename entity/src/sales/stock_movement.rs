use sea_orm::entity::prelude::*;

/// One line of the stock ledger: a quantity in (positive) or out (negative), and why.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stock_movements")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub product_id: Uuid,
    /// In units of 1/10 000.
    pub quantity: i64,
    /// `adjustment`, `invoice_issued`, `invoice_cancelled`, `purchase_order_received` or
    /// `purchase_order_cancelled`.
    pub cause: String,
    pub reason: Option<String>,
    pub actor_id: Uuid,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
