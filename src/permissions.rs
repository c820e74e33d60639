//! Who may read and write which module: defaults per role, overridable per tenant by admins.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};
use uuid::Uuid;

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
/// Confidential modules (payroll) are read only by those who write them.
pub fn default_grant(role: Role, module: Module) -> Grant {
    let write = match role {
        Role::Admin | Role::Manager => true,
        other => module.default_writers().contains(&other.as_str()),
    };
    Grant {
        role,
        module,
        read: write || !module.confidential(),
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
    Ok(grants_of(roles, &overrides))
}

fn grants_of(roles: &[Role], overrides: &[role_permission::Model]) -> Vec<Grant> {
    roles
        .iter()
        .flat_map(|role| Module::ALL.map(|module| effective(*role, module, overrides)))
        .collect()
}

/// Each tenant's permission overrides, so that a request does not read them. A change drops
/// the tenant's entry here at once and on other replicas through their notices; an entry also
/// expires after `MATRIX_TTL`, in case a notice was lost.
#[derive(Default)]
pub struct MatrixCache {
    tenants: Mutex<HashMap<Uuid, Slot>>,
}

#[derive(Default)]
struct Slot {
    /// Bumped by every invalidation, so that a read that began before it is not stored.
    generation: u64,
    overrides: Option<(Arc<Vec<role_permission::Model>>, Instant)>,
}

impl Slot {
    fn forget(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        self.overrides = None;
    }
}

const MATRIX_TTL: Duration = Duration::from_secs(30);

impl MatrixCache {
    /// What `roles` may do in each module of the tenant, from the cache when it is fresh.
    pub async fn grants_for(
        &self,
        db: &impl Conn,
        scope: &TenantScope,
        roles: &[Role],
    ) -> AppResult<Vec<Grant>> {
        let tenant = scope.tenant_id();
        let generation = {
            let tenants = self.lock();
            let slot = tenants.get(&tenant);
            if let Some((overrides, at)) = slot.and_then(|s| s.overrides.as_ref())
                && at.elapsed() < MATRIX_TTL
            {
                return Ok(grants_of(roles, overrides));
            }
            slot.map_or(0, |s| s.generation)
        };
        let overrides = Arc::new(scope.select::<role_permission::Entity>().all(db).await?);
        let mut tenants = self.lock();
        let slot = tenants.entry(tenant).or_default();
        if slot.generation == generation {
            slot.overrides = Some((overrides.clone(), Instant::now()));
        }
        Ok(grants_of(roles, &overrides))
    }

    /// The tenant's matrix changed: read it again next time.
    pub fn invalidate(&self, tenant_id: Uuid) {
        self.lock().entry(tenant_id).or_default().forget();
    }

    /// Notices may have been lost: read every matrix again.
    pub fn invalidate_all(&self) {
        self.lock().values_mut().for_each(Slot::forget);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Slot>> {
        // A panic while holding the lock cannot leave a slot half-written: use it as it is.
        self.tenants.lock().unwrap_or_else(|e| e.into_inner())
    }
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
