use sea_orm::entity::prelude::*;

/// A tenant's subscription of a URL to event types. Deliveries follow the tenant's event log in
/// order: `cursor` is the last sequence handled.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub url: String,
    /// Event type patterns (JSON array): `contacts.created`, `processes.*`, `*`.
    pub event_types: Json,
    /// A CEL expression over `event` and `record` that an event must satisfy as well.
    pub filter: Option<String>,
    /// The signing secret, `whsec_` and base64 (Standard Webhooks).
    pub secret: String,
    pub active: bool,
    /// Why the server disabled it, after a run of failures.
    pub disabled_reason: Option<String>,
    pub cursor: i64,
    /// Failed attempts in a row at the event after `cursor`.
    pub failures: i32,
    pub failing_since: Option<DateTimeUtc>,
    pub next_attempt_at: DateTimeUtc,
    /// A delivery worker holds it until then.
    pub locked_until: Option<DateTimeUtc>,
    pub version: i32,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
