//! Per-tenant number sequences for record numbers (ACC-00001, CON-00001, …).

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};

use entity::platform::sequence;

use crate::error::{AppError, AppResult};
use crate::tenancy::TenantScope;

/// The next number of `name` in the caller's tenant, formatted as `PREFIX-00001`. One atomic
/// upsert, so concurrent transactions never hand out the same number.
pub async fn next_number(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    prefix: &str,
) -> AppResult<String> {
    let upsert = Query::insert()
        .into_table(sequence::Entity)
        .columns([
            sequence::Column::TenantId,
            sequence::Column::Name,
            sequence::Column::LastValue,
        ])
        .values_panic([scope.tenant_id().into(), prefix.into(), 1i64.into()])
        .on_conflict(
            OnConflict::columns([sequence::Column::TenantId, sequence::Column::Name])
                .value(
                    sequence::Column::LastValue,
                    Expr::col((sequence::Entity, sequence::Column::LastValue)).add(1),
                )
                .to_owned(),
        )
        .returning_col(sequence::Column::LastValue)
        .to_owned();
    let row = db
        .query_one(&upsert)
        .await?
        .ok_or_else(|| AppError::internal("sequence upsert returned no row"))?;
    let value: i64 = row.try_get("", "last_value")?;
    Ok(format!("{prefix}-{value:05}"))
}
