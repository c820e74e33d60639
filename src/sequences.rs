//! Per-tenant number sequences for record numbers (ACC-00001, CON-00001, …).

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};

use entity::platform::sequence;

use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::tenancy::TenantScope;

/// Adds `step` to the counter `name` of the tenant (creating it at `step`) and returns the new
/// value. One atomic upsert: it holds the counter's row lock until the transaction ends.
async fn advance(db: &impl Conn, scope: &TenantScope, name: &str, step: i64) -> AppResult<i64> {
    let upsert = Query::insert()
        .into_table(sequence::Entity)
        .columns([
            sequence::Column::TenantId,
            sequence::Column::Name,
            sequence::Column::LastValue,
        ])
        .values_panic([scope.tenant_id().into(), name.into(), step.into()])
        .on_conflict(
            OnConflict::columns([sequence::Column::TenantId, sequence::Column::Name])
                .value(
                    sequence::Column::LastValue,
                    Expr::col((sequence::Entity, sequence::Column::LastValue)).add(step),
                )
                .to_owned(),
        )
        .returning_col(sequence::Column::LastValue)
        .to_owned();
    let row = db
        .query_one(&upsert)
        .await?
        .ok_or_else(|| AppError::internal("sequence upsert returned no row"))?;
    Ok(row.try_get("", "last_value")?)
}

/// The next value of the counter `name` in the caller's tenant. Concurrent transactions never
/// get the same value; a rolled-back transaction gives its value back, so the values a tenant
/// sees have no gaps.
pub async fn next_value(db: &impl Conn, scope: &TenantScope, name: &str) -> AppResult<i64> {
    advance(db, scope, name, 1).await
}

/// Locks the counter `name` of the tenant until the transaction ends, without changing it.
pub async fn lock(db: &impl Conn, scope: &TenantScope, name: &str) -> AppResult<()> {
    advance(db, scope, name, 0).await.map(|_| ())
}

/// The next record number of a kind, formatted as `PREFIX-00001`.
pub async fn next_number(db: &impl Conn, scope: &TenantScope, prefix: &str) -> AppResult<String> {
    let value = next_value(db, scope, prefix).await?;
    Ok(format!("{prefix}-{value:05}"))
}
