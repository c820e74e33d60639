//! Idempotent mutations: a client that sends `Idempotency-Key` may retry a mutation safely.
//! The first request with a key claims it (an insert that only one replica can win) and runs;
//! its answer, when successful, is kept for 24 hours and replayed to every retry of the same
//! request. A concurrent retry waits for the first to finish; the same key with a different
//! request (or from another user) is a CONFLICT.

use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};

use entity::integrations::idempotency_key;

use crate::error::{AppError, AppResult};
use crate::tenancy::TenantScope;

/// How long an answer is replayed.
pub const KEEP_FOR: chrono::Duration = chrono::Duration::hours(24);
/// A claim without an answer this old belongs to a request that died: it may be taken over.
const ABANDONED_AFTER: chrono::Duration = chrono::Duration::minutes(2);
/// How long a retry waits for the first request to finish.
const WAIT_AT_MOST: Duration = Duration::from_secs(30);
const WAIT_STEP: Duration = Duration::from_millis(50);
const KEY_MAX: usize = 255;

/// What a request with a key should do.
pub enum Claim {
    /// Run it, then [`finish`].
    Run,
    /// Answer with this stored response instead.
    Replay(String),
}

/// A fingerprint of the request: who sent it and what it asks.
pub fn fingerprint(user: uuid::Uuid, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(user.as_bytes());
    hash.update(body);
    crate::auth::secrets::hex(&hash.finalize())
}

/// Claims `key` for a request, or says to replay an earlier answer.
pub async fn begin(
    db: &DatabaseConnection,
    scope: &TenantScope,
    key: &str,
    fingerprint: &str,
) -> AppResult<Claim> {
    if key.is_empty() || key.len() > KEY_MAX || !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(AppError::bad_input(
            "Idempotency-Key",
            format!("must be 1 to {KEY_MAX} visible ASCII characters"),
        ));
    }
    let waited = tokio::time::Instant::now();
    loop {
        let claim = idempotency_key::ActiveModel {
            tenant_id: scope.owner(),
            key: Set(key.to_owned()),
            request_hash: Set(fingerprint.to_owned()),
            response: Set(None),
            created_at: Set(Utc::now()),
        };
        let inserted = idempotency_key::Entity::insert(claim)
            .on_conflict(
                OnConflict::columns([
                    idempotency_key::Column::TenantId,
                    idempotency_key::Column::Key,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
        if inserted == 1 {
            return Ok(Claim::Run);
        }
        let Some(existing) = find(db, scope, key).await? else {
            continue; // It expired and was removed meanwhile: claim it again.
        };
        let age = Utc::now() - existing.created_at;
        let expired = age >= KEEP_FOR || (existing.response.is_none() && age >= ABANDONED_AFTER);
        if expired {
            remove(db, scope, key).await?;
            continue;
        }
        if existing.request_hash != fingerprint {
            return Err(AppError::Conflict(
                "this Idempotency-Key was used for a different request".into(),
            ));
        }
        if let Some(response) = existing.response {
            return Ok(Claim::Replay(response));
        }
        if waited.elapsed() >= WAIT_AT_MOST {
            return Err(AppError::Conflict(
                "a request with this Idempotency-Key is still running; retry later".into(),
            ));
        }
        tokio::time::sleep(WAIT_STEP).await;
    }
}

/// Ends a claimed request: keeps its answer when it succeeded, otherwise frees the key so
/// that a retry runs again.
pub async fn finish(
    db: &DatabaseConnection,
    scope: &TenantScope,
    key: &str,
    succeeded_with: Option<&str>,
) -> AppResult<()> {
    match succeeded_with {
        Some(response) => {
            scope
                .update::<idempotency_key::Entity>()
                .col_expr(idempotency_key::Column::Response, response.into())
                .filter(idempotency_key::Column::Key.eq(key))
                .exec(db)
                .await?;
        }
        None => remove(db, scope, key).await?,
    }
    Ok(())
}

/// Forgets answers older than [`KEEP_FOR`], across tenants (a housekeeping job).
pub async fn purge_expired(db: &DatabaseConnection) -> AppResult<u64> {
    let result = idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::CreatedAt.lt(Utc::now() - KEEP_FOR))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

async fn find(
    db: &DatabaseConnection,
    scope: &TenantScope,
    key: &str,
) -> AppResult<Option<idempotency_key::Model>> {
    Ok(scope
        .select::<idempotency_key::Entity>()
        .filter(idempotency_key::Column::Key.eq(key))
        .one(db)
        .await?)
}

async fn remove(db: &DatabaseConnection, scope: &TenantScope, key: &str) -> AppResult<()> {
    scope
        .delete::<idempotency_key::Entity>()
        .filter(idempotency_key::Column::Key.eq(key))
        .exec(db)
        .await?;
    Ok(())
}
