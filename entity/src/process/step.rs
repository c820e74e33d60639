use sea_orm::entity::prelude::*;

/// One step of an instance's history: started, a transition, or cancelled.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "process_steps")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub instance_id: Uuid,
    /// The transition's name, or `start` / `cancel`.
    pub transition: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub actor_id: Uuid,
    pub input: Json,
    /// The variables the step set, with their new values.
    pub variables: Json,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
