use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A complaint or service request, tracked from opening to resolution (Vtiger's HelpDesk).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "tickets")]
#[serde(rename_all = "camelCase")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// TT-00001, per tenant.
    pub ticket_no: String,
    pub title: String,
    pub description: Option<String>,
    pub account_id: Option<Uuid>,
    pub contact_id: Option<Uuid>,
    /// Free text until the product catalogue exists.
    pub product: Option<String>,
    pub priority: Option<String>,
    pub severity: Option<String>,
    pub category: Option<String>,
    pub status: String,
    /// The user working on the ticket.
    pub owner_id: Uuid,
    pub resolution: Option<String>,
    pub resolved_at: Option<DateTimeUtc>,
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
