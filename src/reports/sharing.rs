//! Who sees a report or a dashboard: its owner and the administrators always; the roles it is
//! shared with, or the whole tenant. Its owner or an administrator changes it.

use crate::auth::{Principal, Role};
use crate::error::{AppError, AppResult};
use uuid::Uuid;

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
