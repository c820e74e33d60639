use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A deal in the pipeline (Vtiger's "potential").
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "opportunities")]
#[serde(rename_all = "camelCase")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// POT-00001, per tenant.
    pub opportunity_no: String,
    pub name: String,
    pub account_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    /// In units of 1/10 000.
    pub amount: Option<i64>,
    /// ISO 4217 code.
    pub currency: String,
    pub expected_close_date: Option<Date>,
    pub sales_stage: String,
    /// Percent, 0 to 100.
    pub probability: i32,
    pub lead_source: Option<String>,
    pub next_step: Option<String>,
    pub owner_id: Uuid,
    pub description: Option<String>,
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
