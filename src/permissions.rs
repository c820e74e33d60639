//! Who may read and write which module: defaults per role, overridable per tenant by admins.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};

use entity::platform::role_permission;

use crate::auth::{Principal, Role};
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::modules::Module;
use crate::tenancy::TenantScope;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// The effective access of one role to one module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grant {
    pub role: Role,
    pub module: Module,
    pub read: bool,
    pub write: bool,
}

/// Viewers read; support writes service modules; sales writes customer, pipeline and sales
/// document modules; managers and admins write everything (the catalogue and purchasing too).
pub fn default_grant(role: Role, module: Module) -> Grant {
    let write = match role {
        Role::Admin | Role::Manager => true,
        other => module.default_writers().contains(&other.as_str()),
    };
    Grant {
        role,
        module,
        read: true,
        write,
    }
}

/// The whole matrix of the caller's tenant.
pub async fn matrix(db: &DatabaseConnection, scope: &TenantScope) -> AppResult<Vec<Grant>> {
    let overrides = scope.select::<role_permission::Entity>().all(db).await?;
    let mut grants = Vec::new();
    for role in Role::ALL {
        for module in Module::ALL {
            grants.push(effective(role, module, &overrides));
        }
    }
    Ok(grants)
}

fn effective(role: Role, module: Module, overrides: &[role_permission::Model]) -> Grant {
    let default = default_grant(role, module);
    if role == Role::Admin {
        // Admins keep every right, so that a tenant cannot lock itself out.
        return default;
    }
    overrides
        .iter()
        .find(|o| o.role == role.as_str() && o.module == module.as_str())
        .map(|o| Grant {
            read: o.can_read,
            write: o.can_write && o.can_read,
            ..default
        })
        .unwrap_or(default)
}

/// What `roles` may do in each module of the tenant: one query.
pub async fn grants_for(
    db: &impl Conn,
    scope: &TenantScope,
    roles: &[Role],
) -> AppResult<Vec<Grant>> {
    let overrides = scope.select::<role_permission::Entity>().all(db).await?;
    Ok(roles
        .iter()
        .flat_map(|role| Module::ALL.map(|module| effective(*role, module, &overrides)))
        .collect())
}

/// An admin changes what a role may do in a module of their tenant.
pub async fn set(
    db: &DatabaseConnection,
    actor: &Principal,
    role: Role,
    module: Module,
    read: bool,
    write: bool,
) -> AppResult<Grant> {
    actor.require_admin()?;
    if role == Role::Admin {
        return Err(AppError::bad_input(
            "role",
            "administrators always have every right",
        ));
    }
    if write && !read {
        return Err(AppError::bad_input("write", "writing needs reading"));
    }
    let row = role_permission::ActiveModel {
        tenant_id: actor.scope().owner(),
        role: Set(role.as_str().to_owned()),
        module: Set(module.as_str().to_owned()),
        can_read: Set(read),
        can_write: Set(write),
    };
    role_permission::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                role_permission::Column::TenantId,
                role_permission::Column::Role,
                role_permission::Column::Module,
            ])
            .update_columns([
                role_permission::Column::CanRead,
                role_permission::Column::CanWrite,
            ])
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(Grant {
        role,
        module,
        read,
        write,
    })
}
