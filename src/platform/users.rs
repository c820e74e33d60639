//! Users of a tenant: sign-in, the caller's identity, and administration by admins.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, IntoActiveModel,
    PaginatorTrait, QueryFilter,
};
use uuid::Uuid;

use entity::platform::user;

use std::net::IpAddr;

use crate::auth::cache::TenantCache;
use crate::auth::throttle::LoginThrottle;
use crate::auth::token::TokenKeys;
use crate::auth::{Principal, Role, password};
use crate::config::Limits;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::pagination::{Page, PageArgs, paginate};
use crate::permissions::MatrixCache;
use crate::platform::tenants;
use crate::records;
use crate::tenancy::TenantScope;
use crate::validation::{Email, required_text};

const NAME_MAX: usize = 200;

/// The kind of the event-log entries that say a user changed (not a business module: the
/// changes subscription and webhooks leave them out).
pub const USERS: &str = "users";

/// Records in the tenant's event log, in the caller's transaction, that a user changed, so
/// that `userChanged` subscribers and the user's open WebSockets on every replica learn it.
pub async fn log_change(
    txn: &impl Conn,
    scope: &TenantScope,
    user_id: Uuid,
    action: &str,
) -> AppResult<()> {
    records::append_platform_event(txn, scope, USERS, user_id, action, &[]).await?;
    Ok(())
}

pub struct NewUser {
    pub email: String,
    pub display_name: String,
    pub password: String,
    pub roles: Vec<Role>,
}

/// Fields an administrator may change; `None` leaves a field as it is.
pub struct UserChanges {
    /// The version the caller last read; a different current version is a conflict.
    pub version: i32,
    pub display_name: Option<String>,
    pub roles: Option<Vec<Role>>,
    pub active: Option<bool>,
    /// Sets a new password (an administrator's reset).
    pub password: Option<String>,
}

pub fn roles_of(user: &user::Model) -> Vec<Role> {
    Role::parse_list(&user.roles)
}

/// Where a sign-in attempt comes from, for throttling.
pub struct Attempt<'a> {
    pub throttle: &'a LoginThrottle,
    pub client: Option<IpAddr>,
}

/// Signs a user in. Unknown tenant, unknown user, inactive user and wrong password are
/// indistinguishable, in answer and in timing. Repeated failures make the account and the
/// client address wait (RATE_LIMITED with the wait), even for the right password.
pub async fn login(
    db: &DatabaseConnection,
    tokens: &TokenKeys,
    attempt: Attempt<'_>,
    tenant_slug: &str,
    email: &str,
    password: &str,
) -> AppResult<(String, user::Model)> {
    if let Err(wait) = attempt.throttle.check(tenant_slug, email, attempt.client) {
        return Err(AppError::RateLimited {
            retry_after_secs: wait
                .as_secs()
                .saturating_add(u64::from(wait.subsec_nanos() > 0)),
        });
    }
    let result = verify_credentials(db, tenant_slug, email, password).await;
    match &result {
        Ok(_) => attempt.throttle.succeeded(tenant_slug, email),
        Err(AppError::Unauthenticated(_)) => {
            attempt.throttle.failed(tenant_slug, email, attempt.client)
        }
        Err(_) => {}
    }
    let user = result?;
    let token = issue_token(tokens, &user)?;
    Ok((token, user))
}

async fn verify_credentials(
    db: &DatabaseConnection,
    tenant_slug: &str,
    email: &str,
    password: &str,
) -> AppResult<user::Model> {
    let email = email.trim().to_lowercase();
    let user = match tenants::find_by_slug(db, tenant_slug.trim()).await? {
        Some(tenant) => {
            TenantScope::new(tenant.id)
                .select::<user::Entity>()
                .filter(user::Column::Email.eq(email))
                .filter(tenants::in_enabled_tenant())
                .one(db)
                .await?
        }
        None => None,
    };
    let password = password.to_owned();
    let verified = password::off_the_executor(move || match user {
        Some(user) if user.active && password::verify(&password, &user.password_hash) => Some(user),
        Some(_) => None,
        None => {
            password::verify_against_nothing(&password);
            None
        }
    })
    .await?;
    verified.ok_or(AppError::Unauthenticated("invalid credentials"))
}

/// Signed-in users as their last read found them (active, in an enabled tenant), per replica,
/// so that a request on PostgreSQL does not read its user row. A change to a tenant's users
/// forgets the tenant's entries here at once (`App::credentials_changed`, after the change
/// committed) and on the other replicas through their notice, as the command line's tenant
/// commands do; an entry also expires after `USER_TTL`, in case a notice was lost. On SQLite
/// the read costs microseconds and another process (the command line) cannot send notices,
/// so every request reads the row.
pub struct UserCache {
    enabled: bool,
    users: TenantCache<Uuid, Known>,
}

/// What a request needs of a user's row.
#[derive(Clone)]
struct Known {
    token_epoch: i32,
    roles: Vec<Role>,
}

const USER_TTL: std::time::Duration = std::time::Duration::from_secs(30);

impl UserCache {
    /// A cache that keeps users when `enabled` (on PostgreSQL), or reads them every time.
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            users: TenantCache::new(USER_TTL),
        }
    }

    /// The tenant's users changed: read them again next time.
    pub fn invalidate(&self, tenant_id: Uuid) {
        self.users.invalidate(tenant_id);
    }

    /// Notices may have been lost: read every user again.
    pub fn invalidate_all(&self) {
        self.users.invalidate_all();
    }

    /// Reads the user again next time: a WebSocket's checks see the row as it is now, even
    /// before another replica's notice has arrived.
    pub fn forget(&self, user_id: Uuid) {
        self.users.forget(&user_id);
    }
}

/// A token for `user`, in the user's current token epoch.
pub fn issue_token(tokens: &TokenKeys, user: &user::Model) -> AppResult<String> {
    tokens.issue(user.id, user.tenant_id, &roles_of(user), user.token_epoch)
}

/// The caller a token names, and when the token expires. The user's row (active, in an
/// enabled tenant, the token's epoch, the roles) comes from `users`, which every change to
/// the tenant's users empties, so that a deactivation, a revoked token or a revoked role
/// counts from the next request; the permission matrix comes from `matrix`.
pub async fn authenticate(
    db: &DatabaseConnection,
    tokens: &TokenKeys,
    users: &UserCache,
    matrix: &MatrixCache,
    bearer: &str,
) -> AppResult<(Principal, Option<DateTime<Utc>>)> {
    const INVALID: AppError = AppError::Unauthenticated("invalid or expired token");
    let claims = tokens.verify(bearer)?;
    let known = match users.users.fresh(&claims.sub) {
        Ok((tenant_id, known)) if tenant_id == claims.tid => known,
        // A token naming another tenant than its user's.
        Ok(_) => return Err(INVALID),
        Err(generation) => {
            let user = TenantScope::new(claims.tid)
                .by_id::<user::Entity>(claims.sub)
                .filter(tenants::in_enabled_tenant())
                .one(db)
                .await?
                .filter(|u| u.active)
                .ok_or(INVALID)?;
            let known = Known {
                token_epoch: user.token_epoch,
                roles: roles_of(&user),
            };
            if users.enabled {
                let tenant_id = user.tenant_id;
                users
                    .users
                    .keep(user.id, tenant_id, known.clone(), generation);
            }
            known
        }
    };
    if claims.ep.is_some_and(|epoch| epoch != known.token_epoch) {
        return Err(INVALID);
    }
    let scope = TenantScope::new(claims.tid);
    let principal = Principal {
        user_id: claims.sub,
        tenant_id: claims.tid,
        grants: matrix.grants_for(db, &scope, &known.roles).await?,
        roles: known.roles,
    };
    Ok((principal, DateTime::from_timestamp(claims.exp, 0)))
}

/// A user as a background job acting for them sees them (a scheduled report runs with its
/// owner's rights as they are now); `None` when the user is gone or deactivated.
pub async fn acting_as(
    db: &DatabaseConnection,
    matrix: &MatrixCache,
    scope: &TenantScope,
    user_id: Uuid,
) -> AppResult<Option<Principal>> {
    let user = scope
        .by_id::<user::Entity>(user_id)
        .filter(tenants::in_enabled_tenant())
        .one(db)
        .await?;
    match user {
        Some(user) if user.active => Ok(Some(principal_of(db, matrix, &user).await?)),
        _ => Ok(None),
    }
}

async fn principal_of(
    db: &DatabaseConnection,
    matrix: &MatrixCache,
    user: &user::Model,
) -> AppResult<Principal> {
    let roles = roles_of(user);
    let scope = TenantScope::new(user.tenant_id);
    Ok(Principal {
        user_id: user.id,
        tenant_id: user.tenant_id,
        grants: matrix.grants_for(db, &scope, &roles).await?,
        roles,
    })
}

pub async fn get(db: &impl Conn, scope: &TenantScope, id: Uuid) -> AppResult<user::Model> {
    scope
        .by_id::<user::Entity>(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("user"))
}

pub async fn list(
    db: &DatabaseConnection,
    scope: &TenantScope,
    args: &PageArgs,
    limits: &Limits,
) -> AppResult<Page<user::Model>> {
    paginate(db, scope.select::<user::Entity>(), None, args, limits).await
}

fn validate_roles(roles: &[Role]) -> AppResult<String> {
    if roles.is_empty() {
        return Err(AppError::bad_input("roles", "give at least one role"));
    }
    let mut roles = roles.to_vec();
    roles.sort();
    roles.dedup();
    Ok(Role::join(&roles))
}

pub async fn create(
    db: &DatabaseConnection,
    actor: &Principal,
    new: NewUser,
) -> AppResult<user::Model> {
    actor.require_admin()?;
    let email = Email::parse("email", &new.email)?;
    let display_name = required_text("displayName", &new.display_name, NAME_MAX)?;
    let roles = validate_roles(&new.roles)?;
    password::validate("password", &new.password)?;
    let password_hash = password::hash_blocking(new.password).await?;

    let scope = actor.scope();
    let taken = scope
        .select::<user::Entity>()
        .filter(user::Column::Email.eq(email.as_str()))
        .count(db)
        .await?
        > 0;
    if taken {
        return Err(AppError::bad_input(
            "email",
            "a user with this e-mail already exists",
        ));
    }
    let now = Utc::now();
    let txn = records::begin_write(db, &scope).await?;
    let created = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: scope.owner(),
        email: Set(email.into_string()),
        display_name: Set(display_name),
        password_hash: Set(password_hash),
        roles: Set(roles),
        active: Set(true),
        token_epoch: Set(0),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    log_change(&txn, &scope, created.id, "created").await?;
    txn.commit().await?;
    Ok(created)
}

pub async fn update(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
    changes: UserChanges,
) -> AppResult<user::Model> {
    actor.require_admin()?;
    // Validate everything before touching the database.
    let display_name = changes
        .display_name
        .as_deref()
        .map(|n| required_text("displayName", n, NAME_MAX))
        .transpose()?;
    let roles = changes.roles.as_deref().map(validate_roles).transpose()?;
    if let Some(new_password) = &changes.password {
        password::validate("password", new_password)?;
    }
    let password_hash = match changes.password {
        Some(p) => Some(password::hash_blocking(p).await?),
        None => None,
    };

    let scope = actor.scope();
    let txn = records::begin_write(db, &actor.scope()).await?;
    let current = get(&txn, &scope, id).await?;
    if current.version != changes.version {
        return Err(stale(current.version));
    }
    let was_admin = current.active && roles_of(&current).contains(&Role::Admin);
    let mut row = current.into_active_model();
    if let Some(display_name) = display_name {
        row.display_name = Set(display_name);
    }
    if let Some(roles) = &roles {
        row.roles = Set(roles.clone());
    }
    // A reset password or a deactivation revokes every token the user holds.
    let revokes = password_hash.is_some() || changes.active == Some(false);
    if revokes {
        row.token_epoch = Set(next_epoch(*row.token_epoch.as_ref()));
    }
    if let Some(active) = changes.active {
        row.active = Set(active);
    }
    if let Some(hash) = password_hash {
        row.password_hash = Set(hash);
    }
    let stays_admin =
        *row.active.as_ref() && Role::parse_list(row.roles.as_ref()).contains(&Role::Admin);
    if was_admin && !stays_admin && count_active_admins(&txn, &scope).await? <= 1 {
        let field = if roles.is_some() { "roles" } else { "active" };
        return Err(AppError::bad_input(
            field,
            "the tenant must keep at least one active administrator",
        ));
    }
    row.version = Set(changes.version + 1);
    row.updated_at = Set(Utc::now());
    // The version condition makes a concurrent update that committed first win, and this one fail.
    let result = scope
        .update::<user::Entity>()
        .set(row)
        .filter(user::Column::Id.eq(id))
        .filter(user::Column::Version.eq(changes.version))
        .exec(&txn)
        .await?;
    if result.rows_affected != 1 {
        return Err(stale(changes.version));
    }
    let updated = get(&txn, &scope, id).await?;
    log_change(&txn, &scope, id, "updated").await?;
    txn.commit().await?;
    Ok(updated)
}

fn stale(version: i32) -> AppError {
    AppError::Conflict(format!(
        "the record was changed by someone else (version {version} is not current); reload and retry"
    ))
}

async fn count_active_admins(db: &impl Conn, scope: &TenantScope) -> AppResult<usize> {
    let active = scope
        .select::<user::Entity>()
        .filter(user::Column::Active.eq(true))
        .all(db)
        .await?;
    Ok(active
        .iter()
        .filter(|u| roles_of(u).contains(&Role::Admin))
        .count())
}

fn next_epoch(epoch: i32) -> i32 {
    epoch.wrapping_add(1)
}

/// Revokes every token of the caller, this one included (signing out on every device).
pub async fn logout_everywhere(db: &DatabaseConnection, actor: &Principal) -> AppResult<()> {
    let scope = actor.scope();
    let txn = records::begin_write(db, &scope).await?;
    let user = get(&txn, &scope, actor.user_id).await?;
    scope
        .update::<user::Entity>()
        .col_expr(
            user::Column::TokenEpoch,
            next_epoch(user.token_epoch).into(),
        )
        .filter(user::Column::Id.eq(actor.user_id))
        .exec(&txn)
        .await?;
    log_change(&txn, &scope, actor.user_id, "signedOut").await?;
    Ok(txn.commit().await?)
}

/// A user changes their own password, proving they know the current one. Every token the
/// user holds is revoked: sign in again with the new password.
pub async fn change_password(
    db: &DatabaseConnection,
    actor: &Principal,
    current_password: String,
    new_password: String,
) -> AppResult<()> {
    password::validate("newPassword", &new_password)?;
    let scope = actor.scope();
    let user = get(db, &scope, actor.user_id).await?;
    let stored = user.password_hash.clone();
    let matches =
        password::off_the_executor(move || password::verify(&current_password, &stored)).await?;
    if !matches {
        return Err(AppError::bad_input(
            "currentPassword",
            "the current password is wrong",
        ));
    }
    let hash = password::hash_blocking(new_password).await?;
    let version = user.version;
    let epoch = user.token_epoch;
    let mut row = user.into_active_model();
    row.password_hash = Set(hash);
    row.token_epoch = Set(next_epoch(epoch));
    row.version = Set(version + 1);
    row.updated_at = Set(Utc::now());
    let txn = records::begin_write(db, &scope).await?;
    let result = scope
        .update::<user::Entity>()
        .set(row)
        .filter(user::Column::Id.eq(actor.user_id))
        .filter(user::Column::Version.eq(version))
        .exec(&txn)
        .await?;
    if result.rows_affected != 1 {
        return Err(stale(version));
    }
    log_change(&txn, &scope, actor.user_id, "signedOut").await?;
    Ok(txn.commit().await?)
}
