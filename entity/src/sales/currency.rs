use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A currency the tenant trades in besides its base currency, with its conversion rate.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "currencies")]
#[serde(rename_all = "camelCase")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// ISO 4217, e.g. EUR.
    pub code: String,
    pub name: String,
    pub symbol: Option<String>,
    /// Units of this currency per unit of the base currency, as 1/10 000.
    pub conversion_rate: i64,
    pub active: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
