//! Tenants are created by operators (command line, demo), never through the API.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, Statement,
};
use uuid::Uuid;

use entity::platform::{tenant, user};

use crate::auth::{Role, password};
use crate::error::{AppError, AppResult};
use crate::tenancy::TenantScope;
use crate::validation::{Email, required_text};

pub struct NewTenant {
    pub slug: String,
    pub name: String,
    pub admin_email: String,
    pub admin_password: String,
}

/// Which built-ins (process templates, reports) a tenant has been offered is kept in a column
/// of its row (`built_in_templates`, `built_in_reports`) as sorted, comma-separated keys: a
/// start serves only the tenants whose list differs from the current one, so that a new
/// built-in reaches every tenant once and one a tenant deleted is not given again.
pub mod offered {
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
    use uuid::Uuid;

    use entity::platform::tenant;

    use crate::db::Conn;
    use crate::error::{AppError, AppResult};
    use crate::tenancy::TenantScope;

    /// The list a tenant offered every one of `keys` has.
    pub fn list<'a>(keys: impl IntoIterator<Item = &'a str>) -> String {
        let mut keys: Vec<&str> = keys.into_iter().collect();
        keys.sort_unstable();
        keys.join(",")
    }

    /// The keys the tenant has been offered.
    pub async fn keys(
        db: &impl Conn,
        scope: &TenantScope,
        column: tenant::Column,
    ) -> AppResult<Vec<String>> {
        let offered: Option<String> = tenant::Entity::find_by_id(scope.tenant_id())
            .select_only()
            .column(column)
            .into_tuple::<Option<String>>()
            .one(db)
            .await?
            .ok_or(AppError::NotFound("tenant"))?;
        let offered = offered.unwrap_or_default();
        Ok(offered.split(',').map(str::to_owned).collect())
    }

    /// Records that the tenant has been offered everything in `list`.
    pub async fn record(
        db: &impl Conn,
        scope: &TenantScope,
        column: tenant::Column,
        list: &str,
    ) -> AppResult<()> {
        tenant::Entity::update_many()
            .col_expr(column, Expr::value(list))
            .filter(tenant::Column::Id.eq(scope.tenant_id()))
            .exec(db)
            .await?;
        Ok(())
    }

    /// The tenants whose list is not `list`: one query across tenants, however many.
    pub async fn lacking(
        db: &impl Conn,
        column: tenant::Column,
        list: &str,
    ) -> AppResult<Vec<Uuid>> {
        Ok(tenant::Entity::find()
            .select_only()
            .column(tenant::Column::Id)
            .filter(
                sea_orm::Condition::any()
                    .add(column.is_null())
                    .add(column.ne(list)),
            )
            .into_tuple()
            .all(db)
            .await?)
    }
}

/// Slugs name tenants at login: short, lower-case, URL-safe.
fn validate_slug(slug: &str) -> AppResult<String> {
    let slug = slug.trim().to_owned();
    let valid_chars = slug
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if slug.len() < 2 || slug.len() > 64 || !valid_chars || slug.starts_with('-') {
        return Err(AppError::bad_input(
            "slug",
            "must be 2 to 64 characters of a-z, 0-9 and '-', not starting with '-'",
        ));
    }
    Ok(slug)
}

/// Creates a tenant and its first administrator in one transaction.
pub async fn create_tenant(
    db: &DatabaseConnection,
    new: NewTenant,
) -> AppResult<(tenant::Model, user::Model)> {
    let slug = validate_slug(&new.slug)?;
    let name = required_text("name", &new.name, 200)?;
    let email = Email::parse("adminEmail", &new.admin_email)?;
    password::validate("adminPassword", &new.admin_password)?;
    let password_hash = password::hash_blocking(new.admin_password).await?;

    let txn = crate::db::begin(db).await?;
    let taken = tenant::Entity::find()
        .filter(tenant::Column::Slug.eq(&slug))
        .one(&txn)
        .await?
        .is_some();
    if taken {
        return Err(AppError::Conflict(format!(
            "a tenant with slug '{slug}' already exists"
        )));
    }
    let now = Utc::now();
    let tenant = tenant::ActiveModel {
        id: Set(Uuid::now_v7()),
        slug: Set(slug),
        name: Set(name),
        created_at: Set(now),
        base_currency: Set("USD".into()),
        allow_negative_stock: Set(false),
        purchase_approval_limit: Set(None),
        payroll_separate_approver: Set(false),
        time_zone: Set("UTC".into()),
        disabled_at: Set(None),
        built_in_reports: Set(None),
        built_in_templates: Set(None),
    }
    .insert(&txn)
    .await?;
    let scope = TenantScope::new(tenant.id);
    let admin = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: scope.owner(),
        email: Set(email.into_string()),
        display_name: Set("Administrator".into()),
        password_hash: Set(password_hash),
        roles: Set(Role::join(&[Role::Admin])),
        active: Set(true),
        token_epoch: Set(0),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    crate::process::templates::install(&txn, &scope, admin.id).await?;
    crate::reports::builtin::install(&txn, &scope, admin.id).await?;
    txn.commit().await?;
    Ok((tenant, admin))
}

/// Every tenant, oldest first (the operator's `bpaas tenant list`).
pub async fn list(db: &DatabaseConnection) -> AppResult<Vec<tenant::Model>> {
    Ok(tenant::Entity::find()
        .order_by_asc(tenant::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Disables a tenant (no sign-in, token or key of its works) or enables it again.
pub async fn set_disabled(
    db: &DatabaseConnection,
    slug: &str,
    disabled: bool,
) -> AppResult<tenant::Model> {
    let found = find_by_slug(db, slug)
        .await?
        .ok_or(AppError::NotFound("tenant"))?;
    let mut changed: tenant::ActiveModel = found.into();
    changed.disabled_at = Set(disabled.then(Utc::now));
    Ok(changed.update(db).await?)
}

/// The tables a tenant fills fastest, and their key: deleted in batches before the rest.
const BULK_TABLES: [(&str, &str); 4] = [
    ("event_log", "sequence"),
    ("record_history", "id"),
    ("process_steps", "id"),
    ("webhook_deliveries", "id"),
];
/// Rows one statement deletes at most, so that no transaction grows large.
const DELETE_BATCH: u64 = 10_000;

/// Deletes a tenant and everything it owns, for good (the operator's `bpaas tenant delete`).
/// It is disabled first, so that nothing of its is written meanwhile; its fastest-growing
/// tables go in batches, logged; then the tenant row, whose foreign keys take the rest in one
/// transaction. Answers the tenant as it was and the rows deleted per batched table.
pub async fn delete(
    db: &DatabaseConnection,
    slug: &str,
) -> AppResult<(tenant::Model, Vec<(&'static str, u64)>)> {
    let tenant = set_disabled(db, slug, true).await?;
    let backend = db.get_database_backend();
    let mut deleted = Vec::new();
    let tenant_id = crate::db::first_parameter(backend);
    for (table, key) in BULK_TABLES {
        let statement = format!(
            "DELETE FROM {table} WHERE tenant_id = {tenant_id} AND {key} IN \
             (SELECT {key} FROM {table} WHERE tenant_id = {tenant_id} LIMIT {DELETE_BATCH})"
        );
        let mut total = 0;
        loop {
            let done = db
                .execute_raw(Statement::from_sql_and_values(
                    backend,
                    &statement,
                    [tenant.id.into()],
                ))
                .await?
                .rows_affected();
            total += done;
            tracing::info!(tenant = %tenant.slug, table, rows = total, "deleting the tenant");
            if done < DELETE_BATCH {
                break;
            }
        }
        deleted.push((table, total));
    }
    tenant::Entity::delete_by_id(tenant.id).exec(db).await?;
    tracing::info!(tenant = %tenant.slug, "tenant deleted");
    Ok((tenant, deleted))
}

/// A condition on users: their tenant is not disabled. Every way in (sign-in, tokens, API
/// keys, work done for a user) checks it with the user it reads, in the same statement.
pub fn in_enabled_tenant() -> sea_orm::sea_query::SimpleExpr {
    sea_orm::sea_query::Expr::cust(
        "EXISTS (SELECT 1 FROM tenants t WHERE t.id = users.tenant_id AND t.disabled_at IS NULL)",
    )
}

pub async fn find_by_slug(db: &DatabaseConnection, slug: &str) -> AppResult<Option<tenant::Model>> {
    Ok(tenant::Entity::find()
        .filter(tenant::Column::Slug.eq(slug))
        .one(db)
        .await?)
}

/// The demo tenant and its administrator, as `--demo` prints them.
pub struct Demo {
    pub tenant: tenant::Model,
    pub admin: user::Model,
    /// Known only when this call created the tenant.
    pub admin_password: Option<String>,
}

pub const DEMO_SLUG: &str = "demo";
pub const DEMO_ADMIN_EMAIL: &str = "admin@demo.bpaas.dev";
pub const DEMO_ADMIN_PASSWORD: &str = "demo-admin-password";

/// Creates the demo tenant once; later calls return the existing one.
pub async fn ensure_demo(db: &DatabaseConnection) -> AppResult<Demo> {
    if let Some(tenant) = find_by_slug(db, DEMO_SLUG).await? {
        let scope = TenantScope::new(tenant.id);
        let admin = scope
            .select::<user::Entity>()
            .filter(user::Column::Email.eq(DEMO_ADMIN_EMAIL))
            .one(db)
            .await?
            .ok_or(AppError::NotFound("demo administrator"))?;
        return Ok(Demo {
            tenant,
            admin,
            admin_password: None,
        });
    }
    let (tenant, admin) = create_tenant(
        db,
        NewTenant {
            slug: DEMO_SLUG.into(),
            name: "Demo Company".into(),
            admin_email: DEMO_ADMIN_EMAIL.into(),
            admin_password: DEMO_ADMIN_PASSWORD.into(),
        },
    )
    .await?;
    Ok(Demo {
        tenant,
        admin,
        admin_password: Some(DEMO_ADMIN_PASSWORD.into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_url_safe() {
        assert_eq!(validate_slug("acme-2").unwrap(), "acme-2");
        for bad in ["", "a", "Acme", "-acme", "ac me", "acme_co"] {
            assert!(validate_slug(bad).is_err(), "{bad}");
        }
    }
}
