//! Who sees a report or a dashboard: its owner and the administrators always; the roles it is
//! shared with, or the whole tenant. Its owner or an administrator changes it. [`Shared`] is
//! what reports and dashboards have in common: listing, reading, changing and deleting them;
//! [`replace`] serves anything [`Versioned`] (report schedules too).

use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, QueryFilter, QueryOrder};
use uuid::Uuid;

use entity::reports::{dashboard, report, schedule};

use crate::auth::{Principal, Role};
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::tenancy::Identified;

/// Who sees a report or dashboard besides its owner and the administrators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
#[graphql(name = "ReportSharing")]
pub enum Sharing {
    /// Its owner (and administrators).
    Private,
    /// The roles it is shared with.
    Roles,
    /// Everyone in the tenant.
    Tenant,
}

impl Sharing {
    pub fn as_str(self) -> &'static str {
        match self {
            Sharing::Private => "private",
            Sharing::Roles => "roles",
            Sharing::Tenant => "tenant",
        }
    }

    pub fn parse(stored: &str) -> Sharing {
        match stored {
            "roles" => Sharing::Roles,
            "tenant" => Sharing::Tenant,
            _ => Sharing::Private,
        }
    }
}

/// Whether the caller sees something owned by `owner`, shared as `sharing` (stored form) with
/// `roles` (comma-separated).
pub fn visible(actor: &Principal, owner: Uuid, sharing: &str, roles: &str) -> bool {
    may_edit(actor, owner)
        || match Sharing::parse(sharing) {
            Sharing::Tenant => true,
            Sharing::Roles => Role::parse_list(roles).iter().any(|r| actor.has_role(*r)),
            Sharing::Private => false,
        }
}

pub fn may_edit(actor: &Principal, owner: Uuid) -> bool {
    actor.has_role(Role::Admin) || owner == actor.user_id
}

/// Sharing with roles names at least one.
pub fn check(sharing: Sharing, roles: &[Role]) -> AppResult<()> {
    if sharing == Sharing::Roles && roles.is_empty() {
        return Err(AppError::bad_input(
            "sharedRoles",
            "name the roles it is shared with",
        ));
    }
    Ok(())
}

/// Something changed only from the version its writer read (see [`replace`]).
pub trait Versioned:
    Identified<Model: Send + Sync, ActiveModel: ActiveModelTrait<Entity = Self> + Send>
{
    /// What one is called in messages: `report`.
    const WHAT: &'static str;
    fn version_column() -> Self::Column;
    fn updated_at_column() -> Self::Column;
}

/// Something kept the way reports and dashboards are: owned, shared, named, versioned.
pub trait Shared: Versioned {
    fn name_column() -> Self::Column;
    fn owner_of(model: &Self::Model) -> Uuid;
    /// The stored sharing and roles.
    fn sharing_of(model: &Self::Model) -> (&str, &str);
}

fn sees<E: Shared>(actor: &Principal, model: &E::Model) -> bool {
    let (sharing, roles) = E::sharing_of(model);
    visible(actor, E::owner_of(model), sharing, roles)
}

/// The ones the caller sees, by name.
pub async fn list<E: Shared>(
    db: &DatabaseConnection,
    actor: &Principal,
) -> AppResult<Vec<E::Model>> {
    let all = actor
        .scope()
        .select::<E>()
        .order_by_asc(E::name_column())
        .order_by_asc(E::id_column())
        .all(db)
        .await?;
    Ok(all.into_iter().filter(|m| sees::<E>(actor, m)).collect())
}

/// One the caller sees; NOT_FOUND otherwise (also for another tenant's).
pub async fn get<E: Shared>(db: &impl Conn, actor: &Principal, id: Uuid) -> AppResult<E::Model> {
    actor
        .scope()
        .by_id::<E>(id)
        .one(db)
        .await?
        .filter(|m| sees::<E>(actor, m))
        .ok_or(AppError::NotFound(E::WHAT))
}

/// One the caller may change: its owner, or an administrator (FORBIDDEN for others who see it).
pub async fn editable<E: Shared>(
    db: &impl Conn,
    actor: &Principal,
    id: Uuid,
) -> AppResult<E::Model> {
    let found = get::<E>(db, actor, id).await?;
    if !may_edit(actor, E::owner_of(&found)) {
        return Err(AppError::Forbidden(format!(
            "only the {}'s owner or an administrator may change it",
            E::WHAT
        )));
    }
    Ok(found)
}

/// Applies `changes` if `version` is still current (CONFLICT otherwise), as the next version.
pub async fn replace<E: Versioned>(
    db: &impl Conn,
    actor: &Principal,
    id: Uuid,
    version: i32,
    mut changes: E::ActiveModel,
) -> AppResult<E::Model> {
    let stale = || {
        AppError::Conflict(format!(
            "the {} was changed by someone else since you read it; reload and retry",
            E::WHAT
        ))
    };
    let next = version.checked_add(1).ok_or_else(stale)?;
    changes.set(E::version_column(), next.into());
    changes.set(E::updated_at_column(), chrono::Utc::now().into());
    let changed = actor
        .scope()
        .update::<E>()
        .set(changes)
        .filter(E::id_column().eq(id))
        .filter(E::version_column().eq(version))
        .exec_with_returning(db)
        .await?;
    changed.into_iter().next().ok_or_else(stale)
}

/// Deletes one for good (its owner or an administrator).
pub async fn delete<E: Shared>(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
) -> AppResult<()> {
    editable::<E>(db, actor, id).await?;
    actor
        .scope()
        .delete::<E>()
        .filter(E::id_column().eq(id))
        .exec(db)
        .await?;
    Ok(())
}

macro_rules! versioned {
    ($entity:ident, $what:literal) => {
        impl Versioned for $entity::Entity {
            const WHAT: &'static str = $what;
            fn version_column() -> $entity::Column {
                $entity::Column::Version
            }
            fn updated_at_column() -> $entity::Column {
                $entity::Column::UpdatedAt
            }
        }
    };
}

versioned!(report, "report");
versioned!(dashboard, "dashboard");
versioned!(schedule, "schedule");

macro_rules! shared {
    ($entity:ident) => {
        impl Shared for $entity::Entity {
            fn name_column() -> $entity::Column {
                $entity::Column::Name
            }
            fn owner_of(model: &$entity::Model) -> Uuid {
                model.owner_id
            }
            fn sharing_of(model: &$entity::Model) -> (&str, &str) {
                (&model.sharing, &model.shared_roles)
            }
        }
    };
}

shared!(report);
shared!(dashboard);
