//! Who is calling: roles, the verified principal, tokens and passwords.

pub mod api_keys;
pub mod cache;
pub mod password;
pub mod secrets;
pub mod throttle;
pub mod token;

use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::modules::Module;
use crate::permissions::{Access, Grant};
use crate::tenancy::TenantScope;

/// What a user may do is granted by roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Admin,
    Manager,
    Sales,
    Support,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Manager,
        Role::Sales,
        Role::Support,
        Role::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Sales => "sales",
            Role::Support => "support",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// Reads the stored comma-separated form; unknown names are ignored.
    pub fn parse_list(stored: &str) -> Vec<Role> {
        let mut roles: Vec<Role> = stored
            .split(',')
            .filter_map(|s| Role::parse(s.trim()))
            .collect();
        roles.sort();
        roles.dedup();
        roles
    }

    pub fn join(roles: &[Role]) -> String {
        roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// The verified caller of a request. Built only from a verified token whose user is active.
#[derive(Clone, Debug)]
pub struct Principal {
    pub user_id: Uuid,
    pub tenant_id: Uuid,
    pub roles: Vec<Role>,
    /// What the roles allow, per module, resolved once when the request is authenticated.
    pub grants: Vec<Grant>,
}

impl Principal {
    /// The engine itself acting in a tenant (timers): every right, and the nil user id.
    pub fn system(tenant_id: Uuid) -> Principal {
        Principal {
            user_id: Uuid::nil(),
            tenant_id,
            roles: vec![Role::Admin],
            grants: Module::ALL
                .into_iter()
                .map(|module| Grant {
                    role: Role::Admin,
                    module,
                    read: true,
                    write: true,
                })
                .collect(),
        }
    }

    /// The data scope of the caller's tenant: the only door to tenant-owned data.
    pub fn scope(&self) -> TenantScope {
        TenantScope::new(self.tenant_id)
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Fails with FORBIDDEN unless one of the caller's roles grants `access` to `module`.
    pub fn require(&self, module: Module, access: Access) -> AppResult<()> {
        let allowed = self.grants.iter().any(|g| {
            g.module == module
                && match access {
                    Access::Read => g.read,
                    Access::Write => g.write,
                }
        });
        if allowed {
            return Ok(());
        }
        let verb = match access {
            Access::Read => "read",
            Access::Write => "change",
        };
        Err(AppError::Forbidden(format!(
            "your roles may not {verb} {}",
            module.as_str()
        )))
    }

    pub fn require_admin(&self) -> AppResult<()> {
        if self.has_role(Role::Admin) {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "only administrators may do this".into(),
            ))
        }
    }
}
