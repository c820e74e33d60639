use sea_orm::entity::prelude::*;

/// One attempt to deliver an event to a webhook.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub webhook_id: Uuid,
    /// The `webhook-id` header: the event log entry's id (a test ping has its own).
    pub event_id: Uuid,
    /// The event log sequence; none for a test ping.
    pub sequence: Option<i64>,
    pub event_type: String,
    /// 1 for the first attempt at this event.
    pub attempt: i32,
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    pub succeeded: bool,
    /// What went wrong without an answer (timeout, refused connection).
    pub error: Option<String>,
    pub response_excerpt: Option<String>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
