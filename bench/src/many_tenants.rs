//! The many-tenants figure (PostgreSQL): the same small tenant's latency, the cost of creating
//! a tenant and of starting a server, first on the fresh database, then after it has grown to
//! N tenants of M process instances each.
//!
//! One tenant is seeded through the service layer (its tickets each start their process:
//! instance, step, history, event log); the others are copies of all its rows made by SQL, every
//! id remapped per copy, so that growing to 1,000 x 1,000 takes minutes, not hours.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use uuid::Uuid;

use bpaas::app::SharedApp;
use bpaas::config::Config;
use bpaas::support::tickets;

use crate::{Args, Bench, Stats, Workload};

/// Tenants copied per transaction.
const COPIES_PER_TRANSACTION: usize = 20;

/// Measures tenant creation and a start on the database as it is, grows it, runs the
/// workloads again and prints both sizes side by side.
pub async fn run(
    app: &SharedApp,
    bench: &Arc<Bench>,
    args: &Args,
    config: &Config,
    before: Vec<(Workload, Stats)>,
) -> Result<(), String> {
    let (creation_before, startup_before) = measure_platform(app, config).await?;
    grow(app, args).await?;
    app.db
        .execute_unprepared("ANALYZE")
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "after growing by {} tenants x {} process instances:",
        args.many_tenants, args.instances_per_tenant
    );
    let after = crate::run_workloads(bench, args).await;
    let (creation_after, startup_after) = measure_platform(app, config).await?;
    println!(
        "{:<28} {:>18} {:>18} {:>8}",
        "small tenant", "p50 ms before/after", "p99 ms before/after", "p50 x"
    );
    for ((workload, small), (_, grown)) in before.iter().zip(&after) {
        println!(
            "{:<28} {:>8.2} / {:<8.2} {:>8.2} / {:<8.2} {:>8.2}",
            workload.name(),
            small.percentile_ms(0.5),
            grown.percentile_ms(0.5),
            small.percentile_ms(0.99),
            grown.percentile_ms(0.99),
            grown.percentile_ms(0.5) / small.percentile_ms(0.5).max(1e-3)
        );
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "create a tenant (median of 5)  {:>8.1} / {:<8.1} ms",
        ms(creation_before),
        ms(creation_after)
    );
    println!(
        "start a server                 {:>8.1} / {:<8.1} ms",
        ms(startup_before),
        ms(startup_after)
    );
    Ok(())
}

/// Times tenant creation (median of five) and a second server's start on the same database.
async fn measure_platform(
    app: &SharedApp,
    config: &Config,
) -> Result<(Duration, Duration), String> {
    let mut creations = Vec::new();
    for _ in 0..5 {
        let slug = format!("probe-{}", Uuid::now_v7().simple());
        let started = Instant::now();
        crate::new_tenant(app, &slug).await?;
        creations.push(started.elapsed());
    }
    creations.sort_unstable();
    let started = Instant::now();
    let (_, second) = bpaas::server::spawn(config).await?;
    let startup = started.elapsed();
    let _ = second.shutdown.send(true);
    Ok((creations[creations.len() / 2], startup))
}

/// Grows the database by `args.many_tenants` tenants of `args.instances_per_tenant`
/// tickets, each with its process instance (PostgreSQL: `main` checked).
async fn grow(app: &SharedApp, args: &Args) -> Result<(), String> {
    let started = Instant::now();
    let slug = format!("grown-{}", Uuid::now_v7().simple());
    let (template, _, token) = crate::new_tenant(app, &slug).await?;
    let actor = crate::principal(app, &token).await?;
    for n in 0..args.instances_per_tenant {
        let fields = tickets::TicketFields {
            title: Some(format!("Ticket {n}")),
            ..Default::default()
        };
        tickets::create(&app.db, &actor, fields)
            .await
            .map_err(|e| e.message())?;
    }
    eprintln!(
        "one tenant of {} tickets through the service layer in {:.1} s; copying it…",
        args.instances_per_tenant,
        started.elapsed().as_secs_f64()
    );
    let copies = copy_statements(app, template.id).await?;
    let mut made = 1;
    while made < args.many_tenants {
        let batch = COPIES_PER_TRANSACTION.min(args.many_tenants - made);
        let new_tenants = (0..batch)
            .map(|k| format!("('{}'::uuid, {})", Uuid::now_v7(), made + k))
            .collect::<Vec<_>>()
            .join(", ");
        let txn = app.db.begin().await.map_err(|e| e.to_string())?;
        // The copies are consistent by construction: no reference checks per row (they
        // would make growing to 1,000 x 1,000 take half an hour).
        txn.execute_unprepared("SET LOCAL session_replication_role = replica")
            .await
            .map_err(|e| e.to_string())?;
        for copy in &copies {
            txn.execute_unprepared(&copy.replace(NEW_TENANTS, &new_tenants))
                .await
                .map_err(|e| format!("{e} in {copy}"))?;
        }
        txn.commit().await.map_err(|e| e.to_string())?;
        made += batch;
        eprint!("\r{made} of {} tenants", args.many_tenants);
    }
    eprintln!(" in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Where a copy statement takes its `(tid, k)` rows: the new tenants' ids and numbers.
const NEW_TENANTS: &str = "{new tenants}";

/// One `INSERT ... SELECT` per table copying the template tenant's rows for every new tenant
/// (`tenants` first): the tenant column set to the copy's, every other id remapped by
/// `md5(copy || id)` (consistently, so references stay inside the copy; the nil id, the
/// system's, stays), numbered columns left to their sequence.
async fn copy_statements(app: &SharedApp, template: Uuid) -> Result<Vec<String>, String> {
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT c.table_name::text AS table_name, c.column_name::text AS column_name, \
             c.data_type::text AS data_type, \
             (COALESCE(c.column_default, '') LIKE 'nextval%' OR c.is_identity = 'YES' \
              OR c.is_generated = 'ALWAYS') AS generated \
             FROM information_schema.columns c JOIN information_schema.tables t \
             ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
             WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
             ORDER BY c.table_name, c.ordinal_position",
        ))
        .await
        .map_err(|e| e.to_string())?;
    let mut tables: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for row in rows {
        let get = |column: &str| row.try_get::<String>("", column).map_err(|e| e.to_string());
        let (table, column, data_type) =
            (get("table_name")?, get("column_name")?, get("data_type")?);
        if row
            .try_get::<bool>("", "generated")
            .map_err(|e| e.to_string())?
        {
            continue;
        }
        match tables.last_mut() {
            Some((last, columns)) if *last == table => columns.push((column, data_type)),
            _ => tables.push((table, vec![(column, data_type)])),
        }
    }
    let mut statements = Vec::new();
    for (table, columns) in &tables {
        let tenant_column = if table == "tenants" {
            "id"
        } else if columns.iter().any(|(column, _)| column == "tenant_id") {
            "tenant_id"
        } else {
            continue;
        };
        let values = columns.iter().map(|(column, data_type)| {
            let source = format!("t.\"{column}\"");
            if column == tenant_column {
                "n.tid".to_owned()
            } else if table == "tenants" && (column == "slug" || column == "name") {
                format!("{source} || '-' || n.k")
            } else if data_type == "uuid" {
                format!(
                    "CASE WHEN {source} = '{nil}' THEN {source} \
                     ELSE md5(n.tid::text || {source}::text)::uuid END",
                    nil = Uuid::nil()
                )
            } else {
                source
            }
        });
        let names = columns.iter().map(|(column, _)| format!("\"{column}\""));
        let statement = format!(
            "INSERT INTO \"{table}\" ({}) SELECT {} FROM \"{table}\" t \
             CROSS JOIN (VALUES {NEW_TENANTS}) AS n(tid, k) WHERE t.\"{tenant_column}\" = '{template}'",
            names.collect::<Vec<_>>().join(", "),
            values.collect::<Vec<_>>().join(", "),
        );
        if table == "tenants" {
            statements.insert(0, statement);
        } else {
            statements.push(statement);
        }
    }
    Ok(statements)
}
