use sea_orm::entity::prelude::*;

/// A key a system (or a user's mail client) signs in with. Only a keyed hash of the secret is
/// stored; the secret is shown once, when the key is created.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// The user the key acts as: its creator.
    pub user_id: Uuid,
    pub name: String,
    /// The start of the key, shown in lists so that people recognise it (`bpk_live_AbCd1234`).
    pub prefix: String,
    /// HMAC-SHA256 of the whole key (hex), under a server-side key.
    pub secret_hash: String,
    /// Comma-separated role names.
    pub roles: String,
    /// A user's own key ("app password"): it never has more than the user's current roles.
    pub personal: bool,
    pub expires_at: Option<DateTimeUtc>,
    pub last_used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
