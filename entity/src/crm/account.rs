use sea_orm::entity::prelude::*;
use serde::Serialize;

/// An organisation: customer, prospect, partner, competitor…
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "accounts")]
#[serde(rename_all = "camelCase")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// ACC-00001, per tenant.
    pub account_no: String,
    pub name: String,
    pub industry: Option<String>,
    pub account_type: Option<String>,
    pub website: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub billing_street: Option<String>,
    pub billing_city: Option<String>,
    pub billing_state: Option<String>,
    pub billing_postal_code: Option<String>,
    pub billing_country: Option<String>,
    pub shipping_street: Option<String>,
    pub shipping_city: Option<String>,
    pub shipping_state: Option<String>,
    pub shipping_postal_code: Option<String>,
    pub shipping_country: Option<String>,
    /// In units of 1/10 000 (four decimal places), so that it is exact and sortable everywhere.
    pub annual_revenue: Option<i64>,
    pub employees: Option<i32>,
    pub parent_id: Option<Uuid>,
    pub owner_id: Uuid,
    pub description: Option<String>,
    /// Values of the tenant's custom fields for this module, by field name.
    pub custom_fields: Json,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Set while the account is in the recycle bin.
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
