//! A tenant as a portable archive, to move it between clusters (`bpaas tenant export` and
//! `bpaas tenant import`): every row of every table with a `tenant_id`, as JSON Lines.
//!
//! The first line says what the archive is: `{"archive": "bpaas-tenant", "format": 1,
//! "schema": <the last migration>, "tenant": <the tenants row>}`; each further line is one
//! row, `{"table": ..., "row": {column: value, ...}}`. PostgreSQL writes and reads the rows
//! itself (`row_to_json`, `json_populate_recordset`), so every type comes back exactly as it
//! was: ids, times, decimals, JSON. Both ends must run the same release (the same schema).
//! PostgreSQL only: it is what clusters run.

use std::io::{BufRead, Write};

use futures_util::TryStreamExt;
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseConnection, DbBackend, IsolationLevel, Statement,
    StreamTrait, TransactionTrait,
};
use serde_json::Value;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

const ARCHIVE: &str = "bpaas-tenant";
const FORMAT: u64 = 1;
/// Rows one INSERT carries on import.
const BATCH: usize = 500;

/// Rows written or read, per table.
pub type Counts = std::collections::BTreeMap<String, u64>;

fn postgres_only(db: &DatabaseConnection) -> AppResult<()> {
    if db.get_database_backend() == DbBackend::Postgres {
        Ok(())
    } else {
        Err(AppError::bad_input(
            "database-url",
            "tenant archives need PostgreSQL",
        ))
    }
}

fn statement(sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

/// The last migration applied: an archive is read only by the same schema.
async fn schema_version(db: &impl ConnectionTrait) -> AppResult<String> {
    let row = db
        .query_one_raw(statement(
            "SELECT version FROM seaql_migrations ORDER BY version DESC LIMIT 1",
            vec![],
        ))
        .await?
        .ok_or(AppError::Internal)?;
    Ok(row.try_get("", "version")?)
}

/// Every table that holds tenant rows, by name.
async fn tenant_tables(db: &impl ConnectionTrait) -> AppResult<Vec<String>> {
    let rows = db
        .query_all_raw(statement(
            "SELECT table_name::text AS name FROM information_schema.columns \
             WHERE column_name = 'tenant_id' AND table_schema = current_schema() \
             ORDER BY table_name",
            vec![],
        ))
        .await?;
    rows.iter()
        .map(|row| Ok(row.try_get::<String>("", "name")?))
        .collect()
}

/// Writes the tenant's archive, all of it read in one snapshot.
pub async fn export(
    db: &DatabaseConnection,
    slug: &str,
    out: &mut impl Write,
) -> AppResult<Counts> {
    postgres_only(db)?;
    let txn = db
        .begin_with_config(
            Some(IsolationLevel::RepeatableRead),
            Some(AccessMode::ReadOnly),
        )
        .await?;
    // The tenant row is read in the snapshot too, once: its id and its archived form.
    let tenant_row = txn
        .query_one_raw(statement(
            "SELECT id, row_to_json(t)::text AS row FROM tenants t WHERE slug = $1",
            vec![slug.into()],
        ))
        .await?
        .ok_or(AppError::NotFound("tenant"))?;
    let tenant_id: Uuid = tenant_row.try_get("", "id")?;
    let tenant_json: Value = serde_json::from_str(&tenant_row.try_get::<String>("", "row")?)
        .map_err(|_| AppError::Internal)?;
    let header = serde_json::json!({
        "archive": ARCHIVE,
        "format": FORMAT,
        "schema": schema_version(&txn).await?,
        "tenant": tenant_json,
    });
    writeln!(out, "{header}").map_err(write_failed)?;
    let mut counts = Counts::new();
    for table in tenant_tables(&txn).await? {
        // The table name comes from the catalogue, not from input.
        let sql = format!(
            "SELECT json_build_object('table', '{table}', 'row', row_to_json(t))::text AS line \
             FROM {table} t WHERE tenant_id = $1"
        );
        let mut rows = txn
            .stream_raw(statement(&sql, vec![tenant_id.into()]))
            .await?;
        let mut count = 0;
        while let Some(row) = rows.try_next().await? {
            writeln!(out, "{}", row.try_get::<String>("", "line")?).map_err(write_failed)?;
            count += 1;
        }
        drop(rows);
        counts.insert(table, count);
    }
    txn.commit().await?;
    out.flush().map_err(write_failed)?;
    Ok(counts)
}

fn write_failed(err: std::io::Error) -> AppError {
    tracing::error!(%err, "could not write the archive");
    AppError::bad_input("output", format!("cannot write: {err}"))
}

fn bad_archive(line: usize, message: impl Into<String>) -> AppError {
    AppError::bad_input("archive", format!("line {line}: {}", message.into()))
}

/// Reads an archive into this database as a new tenant, in one transaction: all of it or
/// nothing. Refused when the tenant (its id or slug) is already here or the archive comes
/// from another schema.
pub async fn import(db: &DatabaseConnection, input: impl BufRead) -> AppResult<(Uuid, Counts)> {
    postgres_only(db)?;
    let mut lines = input.lines().enumerate();
    let read = |(n, line): (usize, std::io::Result<String>)| {
        line.map(|line| (n + 1, line))
            .map_err(|err| bad_archive(n + 1, format!("cannot read: {err}")))
    };
    let (_, first) = lines
        .next()
        .map(read)
        .transpose()?
        .ok_or_else(|| bad_archive(1, "the archive is empty"))?;
    let header: Value =
        serde_json::from_str(&first).map_err(|_| bad_archive(1, "not an archive header"))?;
    if header["archive"] != ARCHIVE || header["format"] != FORMAT {
        return Err(bad_archive(1, "not a bpaas tenant archive of format 1"));
    }
    let tenant = &header["tenant"];
    let tenant_id = tenant["id"]
        .as_str()
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(|| bad_archive(1, "the tenant has no id"))?;

    let txn = crate::db::begin(db).await?;
    let schema = schema_version(&txn).await?;
    if header["schema"] != schema.as_str() {
        return Err(bad_archive(
            1,
            format!(
                "the archive's schema is {}, this database's is {schema}: import with the release that exported it",
                header["schema"]
            ),
        ));
    }
    let clash = txn
        .query_one_raw(statement(
            "SELECT slug FROM tenants WHERE id = $1 OR slug = $2",
            vec![
                tenant_id.into(),
                tenant["slug"].as_str().unwrap_or_default().into(),
            ],
        ))
        .await?;
    if clash.is_some() {
        return Err(AppError::Conflict(
            "a tenant with this id or slug already exists here".into(),
        ));
    }
    // Rows refer to rows of tables that come later in the archive (and to each other).
    txn.execute_unprepared("SET CONSTRAINTS ALL DEFERRED")
        .await?;
    insert_rows(&txn, "tenants", vec![tenant.clone()]).await?;

    let tables = tenant_tables(&txn).await?;
    let mut counts = Counts::new();
    let mut batch: Vec<Value> = Vec::new();
    let mut batch_table = String::new();
    for item in lines {
        let (n, line) = read(item)?;
        let mut entry: Value =
            serde_json::from_str(&line).map_err(|_| bad_archive(n, "not a JSON object"))?;
        let table = entry["table"].as_str().unwrap_or_default().to_owned();
        if !tables.contains(&table) {
            return Err(bad_archive(n, format!("no tenant table '{table}'")));
        }
        let row = entry["row"].take();
        if row["tenant_id"] != tenant["id"] {
            return Err(bad_archive(n, "the row belongs to another tenant"));
        }
        if table != batch_table || batch.len() == BATCH {
            insert_rows(&txn, &batch_table, std::mem::take(&mut batch)).await?;
            batch_table = table.clone();
        }
        batch.push(row);
        *counts.entry(table).or_default() += 1;
    }
    insert_rows(&txn, &batch_table, batch).await?;
    txn.commit().await?;
    Ok((tenant_id, counts))
}

/// Inserts rows of one table as PostgreSQL's own JSON reading makes them.
async fn insert_rows(txn: &impl ConnectionTrait, table: &str, rows: Vec<Value>) -> AppResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    // `table` is a catalogue name (checked by the caller), never free text.
    let sql = format!(
        "INSERT INTO {table} SELECT * FROM json_populate_recordset(NULL::{table}, $1::json)"
    );
    txn.execute_raw(statement(&sql, vec![Value::Array(rows).to_string().into()]))
        .await?;
    Ok(())
}
