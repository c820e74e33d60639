use sea_orm::entity::prelude::*;
use serde::Serialize;

/// A person, usually working at an account.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "contacts")]
#[serde(rename_all = "camelCase")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// CON-00001, per tenant.
    pub contact_no: String,
    pub first_name: Option<String>,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub title: Option<String>,
    pub department: Option<String>,
    pub account_id: Option<Uuid>,
    pub reports_to_id: Option<Uuid>,
    pub lead_source: Option<String>,
    pub mailing_street: Option<String>,
    pub mailing_city: Option<String>,
    pub mailing_state: Option<String>,
    pub mailing_postal_code: Option<String>,
    pub mailing_country: Option<String>,
    pub birthday: Option<Date>,
    pub email_opt_out: bool,
    pub do_not_call: bool,
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
