use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A prospect not yet qualified. Converting it creates an account, a contact and optionally an
/// opportunity; a converted lead is kept, read-only, with links to what it became.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "leads")]
#[serde(rename_all = "camelCase")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// LEA-00001, per tenant.
    pub lead_no: String,
    pub first_name: Option<String>,
    pub last_name: String,
    pub company: String,
    pub title: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub website: Option<String>,
    pub lead_source: Option<String>,
    pub lead_status: Option<String>,
    pub rating: Option<String>,
    pub industry: Option<String>,
    /// In units of 1/10 000.
    pub annual_revenue: Option<i64>,
    pub employees: Option<i32>,
    pub street: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub owner_id: Uuid,
    pub description: Option<String>,
    pub converted_at: Option<DateTimeUtc>,
    pub converted_account_id: Option<Uuid>,
    pub converted_contact_id: Option<Uuid>,
    pub converted_opportunity_id: Option<Uuid>,
    /// Values of the tenant's custom fields for this module, by field name.
    pub custom_fields: Json,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
