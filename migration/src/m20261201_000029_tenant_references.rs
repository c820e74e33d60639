//! A record can refer only to a record of its own tenant, and the database itself says so:
//! every reference between records becomes a composite key `(tenant_id, column)` onto the
//! target's `(tenant_id, id)`. That is also what a table distributed by tenant (Citus) needs.
//!
//! PostgreSQL gets real foreign keys (`ON DELETE SET NULL (column)` needs PostgreSQL 15). SQLite
//! cannot add a foreign key to an existing table without rebuilding it, so there triggers do the
//! same: they refuse a reference to a missing or another tenant's record and carry out the
//! delete action. Every reference is served by an index led by `(tenant_id, column)` (the new
//! ones partial: only rows that refer to something), so that deleting a target does not scan
//! the referring table.
//!
//! References to users as authors (`owner_id`, `actor_id`, `created_by`, ...) are left out:
//! they name who did something, the system's own actions use the nil id, and users are never
//! deleted. References that may point into several tables (`related_id`, `record_id`,
//! `document_id`, `item_id`) are checked by the application.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// What deleting the target does to a record that refers to it.
#[derive(Clone, Copy, PartialEq)]
enum OnDelete {
    /// The reference is emptied.
    SetNull,
    /// The referring record is a part of the target and goes with it.
    Cascade,
    /// The target cannot be deleted while referred to.
    Restrict,
}

/// Whether a reference's `(tenant_id, column)` already leads an index.
#[derive(Clone, Copy, PartialEq)]
enum ColumnIndex {
    Exists,
    /// A new one, partial: only rows that refer to something are in it.
    Add,
}

use ColumnIndex::{Add, Exists};
use OnDelete::{Cascade, Restrict, SetNull};

/// Every reference between records: table, column, target table, on delete, index.
#[rustfmt::skip]
const REFERENCES: &[(&str, &str, &str, OnDelete, ColumnIndex)] = &[
    ("accounts",          "parent_id",               "accounts",           SetNull, Exists),
    ("contacts",          "account_id",              "accounts",           SetNull, Exists),
    ("contacts",          "reports_to_id",           "contacts",           SetNull, Add),
    ("opportunities",     "account_id",              "accounts",           SetNull, Exists),
    ("opportunities",     "contact_id",              "contacts",           SetNull, Add),
    ("leads",             "converted_account_id",    "accounts",           SetNull, Add),
    ("leads",             "converted_contact_id",    "contacts",           SetNull, Add),
    ("leads",             "converted_opportunity_id", "opportunities",     SetNull, Add),
    ("tickets",           "account_id",              "accounts",           SetNull, Exists),
    ("tickets",           "contact_id",              "contacts",           SetNull, Exists),
    ("quotes",            "account_id",              "accounts",           SetNull, Exists),
    ("quotes",            "contact_id",              "contacts",           SetNull, Add),
    ("quotes",            "vendor_id",               "vendors",            SetNull, Add),
    ("quotes",            "opportunity_id",          "opportunities",      SetNull, Add),
    ("quotes",            "tax_class_id",            "tax_classes",        SetNull, Add),
    ("sales_orders",      "account_id",              "accounts",           SetNull, Exists),
    ("sales_orders",      "contact_id",              "contacts",           SetNull, Add),
    ("sales_orders",      "vendor_id",               "vendors",            SetNull, Add),
    ("sales_orders",      "opportunity_id",          "opportunities",      SetNull, Add),
    ("sales_orders",      "quote_id",                "quotes",             SetNull, Exists),
    ("sales_orders",      "tax_class_id",            "tax_classes",        SetNull, Add),
    ("invoices",          "account_id",              "accounts",           SetNull, Exists),
    ("invoices",          "contact_id",              "contacts",           SetNull, Add),
    ("invoices",          "vendor_id",               "vendors",            SetNull, Add),
    ("invoices",          "opportunity_id",          "opportunities",      SetNull, Add),
    ("invoices",          "quote_id",                "quotes",             SetNull, Exists),
    ("invoices",          "sales_order_id",          "sales_orders",       SetNull, Exists),
    ("invoices",          "tax_class_id",            "tax_classes",        SetNull, Add),
    ("purchase_orders",   "account_id",              "accounts",           SetNull, Exists),
    ("purchase_orders",   "contact_id",              "contacts",           SetNull, Add),
    ("purchase_orders",   "vendor_id",               "vendors",            SetNull, Add),
    ("purchase_orders",   "opportunity_id",          "opportunities",      SetNull, Add),
    ("purchase_orders",   "quote_id",                "quotes",             SetNull, Exists),
    ("purchase_orders",   "sales_order_id",          "sales_orders",       SetNull, Exists),
    ("purchase_orders",   "tax_class_id",            "tax_classes",        SetNull, Add),
    ("document_lines",    "product_id",              "products",           SetNull, Add),
    ("document_lines",    "service_id",              "services",           SetNull, Add),
    ("document_lines",    "tax_class_id",            "tax_classes",        SetNull, Add),
    ("payments",          "invoice_id",              "invoices",           Cascade, Exists),
    ("quote_links",       "quote_id",                "quotes",             Cascade, Exists),
    ("products",          "tax_class_id",            "tax_classes",        SetNull, Add),
    ("products",          "vendor_id",               "vendors",            SetNull, Add),
    ("services",          "tax_class_id",            "tax_classes",        SetNull, Add),
    ("price_book_entries","price_book_id",           "price_books",        Cascade, Exists),
    ("stock_movements",   "product_id",              "products",           Cascade, Exists),
    ("process_instances", "definition_id",           "process_definitions",Restrict,Add),
    ("process_steps",     "instance_id",             "process_instances",  Cascade, Exists),
    ("process_timers",    "instance_id",             "process_instances",  Cascade, Exists),
    ("payslips",          "pay_run_id",              "pay_runs",           Cascade, Exists),
    ("payslips",          "employee_id",             "employees",          Restrict,Exists),
    ("salary_assignments","employee_id",             "employees",          Cascade, Exists),
    ("additional_pays",   "employee_id",             "employees",          Cascade, Exists),
    ("employees",         "user_id",                 "users",              SetNull, Exists),
    ("employees",         "contact_id",              "contacts",           SetNull, Add),
    ("api_keys",          "user_id",                 "users",              Cascade, Exists),
    ("event_invitees",    "event_id",                "events",             Cascade, Exists),
    ("event_invitees",    "user_id",                 "users",              Cascade, Add),
    ("event_invitees",    "contact_id",              "contacts",           Cascade, Add),
    ("comments",          "parent_id",               "comments",           Cascade, Add),
    ("report_schedules",  "report_id",               "reports",            Cascade, Add),
    ("report_snapshots",  "report_id",               "reports",            Cascade, Exists),
    ("report_snapshots",  "schedule_id",             "report_schedules",   SetNull, Add),
    ("report_versions",   "report_id",               "reports",            Cascade, Exists),
    ("webhook_deliveries","webhook_id",              "webhooks",           Cascade, Exists),
];

/// The single-column foreign keys of earlier migrations, replaced by composite ones.
const SINGLE_COLUMN_KEYS: &[(&str, &str)] = &[
    ("event_invitees", "event_id"),
    ("report_schedules", "report_id"),
    ("report_snapshots", "report_id"),
    ("report_versions", "report_id"),
    ("webhook_deliveries", "webhook_id"),
];

fn index_name(table: &str, column: &str) -> String {
    format!("ix_{table}_tenant_{column}")
}

fn constraint_name(table: &str, column: &str) -> String {
    format!("fk_{table}_{column}_same_tenant")
}

/// The rows of `table` whose `column` points nowhere or into another tenant.
fn missing(table: &str, column: &str, target: &str) -> String {
    format!(
        "{column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {target} t \
         WHERE t.tenant_id = {table}.tenant_id AND t.id = {table}.{column})"
    )
}

/// The statements that prepare the data: references that point nowhere (or to another tenant)
/// are emptied or, for parts, removed, as their target's deletion would have done. Records
/// that must keep their reference (payslips whose employee was purged before this release)
/// are kept as they are; see [`postgres_keys`].
fn repairs() -> Vec<String> {
    REFERENCES
        .iter()
        .filter_map(|&(table, column, target, on_delete, _)| {
            let missing = missing(table, column, target);
            match on_delete {
                SetNull => Some(format!(
                    "UPDATE {table} SET {column} = NULL WHERE {missing}"
                )),
                Cascade => Some(format!("DELETE FROM {table} WHERE {missing}")),
                Restrict => None,
            }
        })
        .collect()
}

/// Of the references whose records must keep them, those with records that refer to nothing.
async fn orphaned(
    db: &SchemaManagerConnection<'_>,
) -> Result<Vec<(&'static str, &'static str)>, DbErr> {
    let mut orphaned = Vec::new();
    for &(table, column, target, on_delete, _) in REFERENCES {
        if on_delete != Restrict {
            continue;
        }
        let query = format!(
            "SELECT 1 FROM {table} WHERE {} LIMIT 1",
            missing(table, column, target)
        );
        let statement = Statement::from_string(db.get_database_backend(), query);
        if db.query_one_raw(statement).await?.is_some() {
            orphaned.push((table, column));
        }
    }
    Ok(orphaned)
}

fn indexes() -> Vec<String> {
    REFERENCES
        .iter()
        .filter(|r| r.4 == Add)
        .map(|&(table, column, ..)| {
            format!(
                "CREATE INDEX {} ON {table} (tenant_id, {column}) WHERE {column} IS NOT NULL",
                index_name(table, column)
            )
        })
        .collect()
}

fn targets() -> Vec<&'static str> {
    let mut targets: Vec<&str> = REFERENCES.iter().map(|r| r.2).collect();
    targets.sort_unstable();
    targets.dedup();
    targets
}

/// The keys; those in `orphaned` hold for new and changed rows only (`NOT VALID`): their
/// older rows refer to records deleted before the keys existed. They are checked at once
/// but may be deferred to the commit (`DEFERRABLE`): importing a tenant inserts rows in any
/// order.
fn postgres_keys(orphaned: &[(&str, &str)]) -> Vec<String> {
    let mut statements: Vec<String> = SINGLE_COLUMN_KEYS
        .iter()
        .map(|(table, column)| {
            format!("ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {table}_{column}_fkey")
        })
        .collect();
    for target in targets() {
        statements.push(format!(
            "ALTER TABLE {target} ADD CONSTRAINT {target}_tenant_id_id_key UNIQUE (tenant_id, id)"
        ));
    }
    for &(table, column, target, on_delete, _) in REFERENCES {
        let action = match on_delete {
            SetNull => format!("SET NULL ({column})"),
            Cascade => "CASCADE".to_owned(),
            Restrict => "NO ACTION".to_owned(),
        };
        let validity = if orphaned.contains(&(table, column)) {
            " NOT VALID"
        } else {
            ""
        };
        statements.push(format!(
            "ALTER TABLE {table} ADD CONSTRAINT {} FOREIGN KEY (tenant_id, {column}) \
             REFERENCES {target} (tenant_id, id) ON DELETE {action} DEFERRABLE{validity}",
            constraint_name(table, column)
        ));
    }
    statements
}

/// How a refused reference's message starts on SQLite; the server recognises it.
pub const REFERENCE_REFUSED: &str = "FOREIGN KEY constraint failed";
/// The end of the message when the refused statement deletes a record still referred to.
pub const STILL_REFERRED_TO: &str = "still referred to";

fn sqlite_triggers() -> Vec<String> {
    let mut statements = Vec::new();
    for &(table, column, target, on_delete, _) in REFERENCES {
        let name = constraint_name(table, column);
        let check = format!(
            "WHEN NEW.{column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {target} \
             WHERE id = NEW.{column} AND tenant_id = NEW.tenant_id) \
             BEGIN SELECT RAISE(ABORT, '{REFERENCE_REFUSED}'); END"
        );
        statements.push(format!(
            "CREATE TRIGGER {name}_insert BEFORE INSERT ON {table} {check}"
        ));
        statements.push(format!(
            "CREATE TRIGGER {name}_update BEFORE UPDATE OF tenant_id, {column} ON {table} {check}"
        ));
        let referring = format!("tenant_id = OLD.tenant_id AND {column} = OLD.id");
        statements.push(match on_delete {
            SetNull => format!(
                "CREATE TRIGGER {name}_delete AFTER DELETE ON {target} \
                 BEGIN UPDATE {table} SET {column} = NULL WHERE {referring}; END"
            ),
            Cascade => format!(
                "CREATE TRIGGER {name}_delete AFTER DELETE ON {target} \
                 BEGIN DELETE FROM {table} WHERE {referring}; END"
            ),
            // Unless the whole tenant is going (its row is deleted before its records).
            Restrict => format!(
                "CREATE TRIGGER {name}_delete BEFORE DELETE ON {target} \
                 WHEN EXISTS (SELECT 1 FROM {table} WHERE {referring}) \
                 AND EXISTS (SELECT 1 FROM tenants WHERE id = OLD.tenant_id) \
                 BEGIN SELECT RAISE(ABORT, '{REFERENCE_REFUSED}: {STILL_REFERRED_TO}'); END"
            ),
        });
    }
    statements
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let mut statements = repairs();
        statements.extend(indexes());
        statements.extend(match backend {
            DbBackend::Postgres => postgres_keys(&orphaned(db).await?),
            _ => sqlite_triggers(),
        });
        for statement in statements {
            db.execute_unprepared(&statement).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let mut statements = Vec::new();
        for &(table, column, _, _, index) in REFERENCES {
            let name = constraint_name(table, column);
            match backend {
                DbBackend::Postgres => statements.push(format!(
                    "ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name}"
                )),
                _ => {
                    for suffix in ["insert", "update", "delete"] {
                        statements.push(format!("DROP TRIGGER IF EXISTS {name}_{suffix}"));
                    }
                }
            }
            if index == Add {
                statements.push(format!(
                    "DROP INDEX IF EXISTS {}",
                    index_name(table, column)
                ));
            }
        }
        if backend == DbBackend::Postgres {
            for target in targets() {
                statements.push(format!(
                    "ALTER TABLE {target} DROP CONSTRAINT IF EXISTS {target}_tenant_id_id_key"
                ));
            }
            for (table, column) in SINGLE_COLUMN_KEYS {
                let target = REFERENCES
                    .iter()
                    .find(|r| r.0 == *table && r.1 == *column)
                    .map(|r| r.2)
                    .unwrap_or_default();
                statements.push(format!(
                    "ALTER TABLE {table} ADD CONSTRAINT {table}_{column}_fkey \
                     FOREIGN KEY ({column}) REFERENCES {target} (id) ON DELETE CASCADE"
                ));
            }
        }
        for statement in statements {
            db.execute_unprepared(&statement).await?;
        }
        Ok(())
    }
}
