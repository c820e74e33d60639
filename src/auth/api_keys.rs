//! API keys: how systems, partners and mail clients sign in without a password.
//!
//! A key is 256 random bits behind a visible prefix (`bpk_live_…`). Only an HMAC-SHA256 of the
//! key under a server-side secret is stored: a key has too much entropy to guess, so a fast
//! keyed hash is as safe as a slow password hash and costs microseconds per request. Verified
//! keys are cached per replica; a revocation or a change to the key's user forgets the
//! tenant's cached keys here and, through NOTIFY, on every replica.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder,
};
use sha2::Sha256;
use uuid::Uuid;

use entity::integrations::api_key;
use entity::platform::user;

use crate::auth::cache::TenantCache;
use crate::auth::secrets::{hex, random_text};
use crate::auth::{Principal, Role};
use crate::error::{AppError, AppResult};
use crate::permissions::MatrixCache;
use crate::tenancy::TenantScope;
use crate::validation::required_text;

/// Every key starts with this, so that a bearer value is recognised as a key (and secret
/// scanners recognise a leaked one).
pub const KEY_PREFIX: &str = "bpk_live_";
/// How much of a key lists show: the prefix and 8 characters of the secret.
const SHOWN_CHARS: usize = KEY_PREFIX.len() + 8;
/// A verified key is trusted this long without reading it again (revocations do not wait).
const CACHE_TTL: Duration = Duration::from_secs(60);
/// `lastUsedAt` is written at most this often per key and replica.
const LAST_USED_EVERY: Duration = Duration::from_secs(60);

const INVALID: AppError = AppError::Unauthenticated("invalid, expired or revoked API key");

/// Whether a bearer value is an API key rather than a token.
pub fn is_api_key(bearer: &str) -> bool {
    bearer.starts_with(KEY_PREFIX)
}

/// Hashes keys under a secret of the server's: a stolen table of hashes cannot be checked
/// against guesses without it.
pub struct KeyHasher {
    /// Keyed once; each hash starts from a copy.
    mac: Hmac<Sha256>,
}

impl KeyHasher {
    pub fn new(secret: &[u8]) -> Result<Self, String> {
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).map_err(|e| e.to_string())?;
        Ok(Self { mac })
    }

    pub fn hash(&self, key: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(key.as_bytes());
        hex(&mac.finalize().into_bytes())
    }
}

/// What a verified key grants, as cached.
#[derive(Clone)]
struct Verified {
    key_id: Uuid,
    tenant_id: Uuid,
    user_id: Uuid,
    roles: Vec<Role>,
    expires_at: Option<DateTime<Utc>>,
}

/// Verified keys by hash, per replica.
pub struct KeyCache {
    verified: TenantCache<String, Verified>,
    last_used: Mutex<HashMap<Uuid, Instant>>,
}

impl Default for KeyCache {
    fn default() -> Self {
        Self {
            verified: TenantCache::new(CACHE_TTL),
            last_used: Default::default(),
        }
    }
}

impl KeyCache {
    /// Forgets the tenant's keys: one was revoked or its user changed.
    pub fn invalidate(&self, tenant_id: Uuid) {
        self.verified.invalidate(tenant_id);
    }

    /// Notices may have been lost: forget every key.
    pub fn invalidate_all(&self) {
        self.verified.invalidate_all();
    }

    /// Whether `lastUsedAt` of the key is due to be written, remembering that it now is.
    fn last_used_due(&self, key_id: Uuid) -> bool {
        let mut last_used = lock(&self.last_used);
        match last_used.get(&key_id) {
            Some(at) if at.elapsed() < LAST_USED_EVERY => false,
            _ => {
                last_used.insert(key_id, Instant::now());
                true
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the map half-written: use it as it is.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The caller an API key names, and when the key expires. The key must exist, be neither
/// revoked nor expired, and its user must be active; a personal key never has more than the
/// user's current roles.
pub async fn authenticate(
    db: &DatabaseConnection,
    hasher: &KeyHasher,
    cache: &KeyCache,
    matrix: &MatrixCache,
    key: &str,
) -> AppResult<(Principal, Option<DateTime<Utc>>)> {
    let hash = hasher.hash(key);
    let verified = match cache.verified.fresh(&hash) {
        Ok((_, verified)) => verified,
        Err(generation) => {
            let loaded = load(db, &hash).await?;
            let tenant_id = loaded.tenant_id;
            cache
                .verified
                .keep(hash, tenant_id, loaded.clone(), generation);
            loaded
        }
    };
    if verified.expires_at.is_some_and(|at| at <= Utc::now()) {
        return Err(INVALID);
    }
    if cache.last_used_due(verified.key_id) {
        touch(db.clone(), verified.tenant_id, verified.key_id);
    }
    let scope = TenantScope::new(verified.tenant_id);
    let principal = Principal {
        user_id: verified.user_id,
        tenant_id: verified.tenant_id,
        grants: matrix.grants_for(db, &scope, &verified.roles).await?,
        roles: verified.roles,
    };
    Ok((principal, verified.expires_at))
}

async fn load(db: &DatabaseConnection, hash: &str) -> AppResult<Verified> {
    // The one lookup that is not scoped by tenant: the key is what names the tenant.
    let key = api_key::Entity::find()
        .filter(api_key::Column::SecretHash.eq(hash))
        .filter(api_key::Column::RevokedAt.is_null())
        .one(db)
        .await?
        .ok_or(INVALID)?;
    let owner = TenantScope::new(key.tenant_id)
        .by_id::<user::Entity>(key.user_id)
        .filter(crate::platform::tenants::in_enabled_tenant())
        .one(db)
        .await?
        .filter(|u| u.active)
        .ok_or(INVALID)?;
    let mut roles = Role::parse_list(&key.roles);
    if key.personal {
        let own = Role::parse_list(&owner.roles);
        roles.retain(|r| own.contains(r));
    }
    Ok(Verified {
        key_id: key.id,
        tenant_id: key.tenant_id,
        user_id: key.user_id,
        roles,
        expires_at: key.expires_at,
    })
}

/// Records that a key was used, without making the request wait for the write.
fn touch(db: DatabaseConnection, tenant_id: Uuid, key_id: Uuid) {
    tokio::spawn(async move {
        let result = TenantScope::new(tenant_id)
            .update::<api_key::Entity>()
            .col_expr(api_key::Column::LastUsedAt, Utc::now().into())
            .filter(api_key::Column::Id.eq(key_id))
            .exec(&db)
            .await;
        if let Err(err) = result {
            tracing::debug!(%err, "could not record an API key's use");
        }
    });
}

/// What a new key is for.
pub struct NewKey {
    pub name: String,
    pub roles: Vec<Role>,
    pub expires_at: Option<DateTime<Utc>>,
    /// A user's own key (an app password) rather than a tenant's key for a system.
    pub personal: bool,
}

/// Creates a key and returns it with its secret, which is never shown again. Tenant keys are
/// for administrators to make; anyone may make a personal key with roles they hold.
pub async fn create(
    db: &DatabaseConnection,
    hasher: &KeyHasher,
    actor: &Principal,
    new: NewKey,
) -> AppResult<(api_key::Model, String)> {
    if !new.personal {
        actor.require_admin()?;
    }
    let name = required_text("name", &new.name, 200)?;
    if new.roles.is_empty() {
        return Err(AppError::bad_input("roles", "give at least one role"));
    }
    if new.personal && new.roles.iter().any(|r| !actor.has_role(*r)) {
        return Err(AppError::bad_input(
            "roles",
            "a personal key can only have roles you hold",
        ));
    }
    if new.expires_at.is_some_and(|at| at <= Utc::now()) {
        return Err(AppError::bad_input("expiresAt", "must be in the future"));
    }
    let mut roles = new.roles;
    roles.sort();
    roles.dedup();
    let secret = format!("{KEY_PREFIX}{}", random_text(32));
    let key = api_key::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: actor.scope().owner(),
        user_id: Set(actor.user_id),
        name: Set(name),
        prefix: Set(secret[..SHOWN_CHARS].to_owned()),
        secret_hash: Set(hasher.hash(&secret)),
        roles: Set(Role::join(&roles)),
        personal: Set(new.personal),
        expires_at: Set(new.expires_at),
        last_used_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    Ok((key, secret))
}

/// The keys the caller may see: an administrator every key of the tenant, anyone else their own.
pub async fn list(db: &DatabaseConnection, actor: &Principal) -> AppResult<Vec<api_key::Model>> {
    let mut keys = actor.scope().select::<api_key::Entity>();
    if !actor.has_role(Role::Admin) {
        keys = keys.filter(api_key::Column::UserId.eq(actor.user_id));
    }
    Ok(keys
        .order_by_asc(api_key::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Revokes a key at once. Administrators revoke any key of the tenant; others only their own.
/// The caller must then forget the tenant's cached keys (`App::credentials_changed`).
pub async fn revoke(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
) -> AppResult<api_key::Model> {
    let key = actor
        .scope()
        .by_id::<api_key::Entity>(id)
        .one(db)
        .await?
        .filter(|k| actor.has_role(Role::Admin) || k.user_id == actor.user_id)
        .ok_or(AppError::NotFound("API key"))?;
    if key.revoked_at.is_some() {
        return Ok(key);
    }
    let scope = actor.scope();
    let txn = crate::records::begin_write(db, &scope).await?;
    let user_id = key.user_id;
    let mut row: api_key::ActiveModel = key.into();
    row.revoked_at = Set(Some(Utc::now()));
    let revoked = row.update(&txn).await?;
    // WebSockets signed in with the key close: they watch their user's changes.
    crate::platform::users::log_change(&txn, &scope, user_id, "apiKeyRevoked").await?;
    txn.commit().await?;
    Ok(revoked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_keyed_and_stable() {
        let a = KeyHasher::new(b"first server secret").unwrap();
        let b = KeyHasher::new(b"other server secret").unwrap();
        let key = "bpk_live_abc";
        assert_eq!(a.hash(key), a.hash(key));
        assert_ne!(a.hash(key), b.hash(key));
        assert_eq!(a.hash(key).len(), 64);
        // RFC 4231 test case 2.
        let rfc = KeyHasher::new(b"Jefe").unwrap();
        assert_eq!(
            rfc.hash("what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn keys_are_recognised_by_their_prefix() {
        let key = format!("{KEY_PREFIX}{}", random_text(32));
        assert!(is_api_key(&key));
        assert_eq!(key.len(), KEY_PREFIX.len() + 43);
        assert!(!is_api_key("eyJhbGciOiJIUzI1NiJ9.e30.x"));
    }
}
