//! Starting a server: replicas that start together on one database, and a start whose work
//! does not grow with the number of tenants.

use std::sync::atomic::Ordering;

use bpaas::config::Config;
use bpaas::platform::tenants::{self, NewTenant};
use entity::platform::tenant;
use entity::process::definition;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect};

use crate::common::{JWT_SECRET, TestDb, TestServer};

fn config(url: &str) -> Config {
    let mut config = Config::new("127.0.0.1:0", url);
    config.auth.jwt_secret = Some(JWT_SECRET.into());
    config
}

async fn add_tenants(server: &TestServer, from: usize, to: usize) {
    for n in from..to {
        tenants::create_tenant(
            &server.app.db,
            NewTenant {
                slug: format!("tenant-{n}"),
                name: format!("Tenant {n}"),
                admin_email: format!("admin@tenant-{n}.test"),
                admin_password: "admin-password-1".into(),
            },
        )
        .await
        .map_err(|e| e.message())
        .expect("tenant created");
    }
}

#[tokio::test]
async fn a_start_does_the_same_work_for_one_tenant_or_many() {
    let server = TestServer::start().await;
    add_tenants(&server, 0, 1).await;
    let one = server.replica().await;
    add_tenants(&server, 1, 25).await;
    let many = server.replica().await;
    let statements = |s: &TestServer| s.app.statements.load(Ordering::Relaxed);
    assert_eq!(
        statements(&one),
        statements(&many),
        "the statements a start sends do not grow with the tenants"
    );
}

#[tokio::test]
async fn replicas_starting_together_take_turns_to_migrate_and_install() {
    let db = TestDb::create().await;
    if !matches!(db, TestDb::Postgres { .. }) {
        return; // Replicas share PostgreSQL; SQLite is one process's database.
    }
    let url = db.url().to_owned();
    let (one, other) = (config(&url), config(&url));
    // An empty database: both would create the same tables.
    let (a, b) = tokio::join!(bpaas::server::spawn(&one), bpaas::server::spawn(&other));
    let (_, first) = a.expect("the first replica starts");
    let (_, second) = b.expect("the second replica starts");
    first.shutdown.send_replace(true);
    second.shutdown.send_replace(true);

    // An upgrade that brings a template the tenants lack: both would install it.
    let server = TestServer::start_on(&url).await;
    add_tenants(&server, 0, 3).await;
    let template = definition::Column::Key.eq("ticket-lifecycle");
    definition::Entity::delete_many()
        .filter(template.clone())
        .exec(&server.app.db)
        .await
        .unwrap();
    let before_upgrade = "lead-qualification,opportunity-pipeline,order-to-cash-invoice,\
        order-to-cash-order,order-to-cash-quote,payroll-run,procure-to-pay";
    tenant::Entity::update_many()
        .col_expr(
            tenant::Column::BuiltInTemplates,
            Expr::value(before_upgrade),
        )
        .exec(&server.app.db)
        .await
        .unwrap();
    let (a, b) = tokio::join!(bpaas::server::spawn(&one), bpaas::server::spawn(&other));
    a.expect("the first replica starts");
    b.expect("the second replica starts");
    let installed = definition::Entity::find()
        .filter(template)
        .count(&server.app.db)
        .await
        .unwrap();
    assert_eq!(installed, 3, "once per tenant");
}

#[tokio::test]
async fn a_start_offers_new_built_in_reports_and_never_deleted_ones_again() {
    use entity::reports::report;
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let built_ins = |server: &TestServer| {
        let token = acme.token.clone();
        let server_url = server.url("/graphql");
        let http = server.http().clone();
        async move {
            let response: serde_json::Value = http
                .post(server_url)
                .bearer_auth(token)
                .json(&serde_json::json!({ "query": "{ reports { id builtIn } }" }))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            response["data"]["reports"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|r| Some((r["builtIn"].as_str()?.to_owned(), r["id"].clone())))
                .collect::<std::collections::BTreeMap<String, serde_json::Value>>()
        }
    };
    let before = built_ins(&server).await;
    // The tenant deletes one.
    let deleted = server
        .gql(
            Some(&acme.token),
            "mutation($id: ID!) { deleteReport(id: $id) }",
            serde_json::json!({ "id": before["won-revenue-by-month"] }),
        )
        .await;
    assert_eq!(deleted["data"]["deleteReport"], true, "{deleted}");
    // As before an upgrade that brings "process-time-in-state": not offered, not there.
    let offered = tenant::Entity::find_by_id(acme.id)
        .one(&server.app.db)
        .await
        .unwrap()
        .unwrap()
        .built_in_reports
        .unwrap();
    let older: Vec<&str> = offered
        .split(',')
        .filter(|k| *k != "process-time-in-state")
        .collect();
    tenant::Entity::update_many()
        .col_expr(tenant::Column::BuiltInReports, Expr::value(older.join(",")))
        .filter(tenant::Column::Id.eq(acme.id))
        .exec(&server.app.db)
        .await
        .unwrap();
    report::Entity::delete_many()
        .filter(report::Column::BuiltIn.eq("process-time-in-state"))
        .exec(&server.app.db)
        .await
        .unwrap();

    let upgraded = server.replica().await;
    let after = built_ins(&upgraded).await;
    assert!(
        after.contains_key("process-time-in-state"),
        "the new one arrives: {after:?}"
    );
    assert!(
        !after.contains_key("won-revenue-by-month"),
        "the deleted one stays deleted"
    );
    assert_eq!(after.len(), before.len() - 1);
}

#[tokio::test]
async fn the_upgrade_that_records_offered_templates_finds_the_tenants_that_have_them_all() {
    use migration::MigratorTrait;
    let server = TestServer::start().await;
    add_tenants(&server, 0, 2).await;
    let db = &server.app.db;
    crate::common::migrate_to_before(db, "m20261202_000031_built_in_templates_offered").await;
    // One tenant lost a template before the upgrade: the next start gives it back.
    let lost = definition::Entity::find()
        .filter(definition::Column::Key.eq("payroll-run"))
        .one(db)
        .await
        .unwrap()
        .expect("a payroll template");
    definition::Entity::delete_by_id(lost.id)
        .exec(db)
        .await
        .unwrap();
    migration::Migrator::up(db, None).await.unwrap();

    let offered: Vec<(uuid::Uuid, Option<String>)> = tenant::Entity::find()
        .select_only()
        .column(tenant::Column::Id)
        .column(tenant::Column::BuiltInTemplates)
        .into_tuple()
        .all(db)
        .await
        .unwrap();
    assert_eq!(offered.len(), 2);
    for (id, keys) in &offered {
        if *id == lost.tenant_id {
            assert_eq!(
                *keys, None,
                "the one lacking a template is served at the start"
            );
        } else {
            assert_eq!(keys.as_deref().map(|k| k.split(',').count()), Some(8));
        }
    }
    let replica = server.replica().await;
    let restored = definition::Entity::find()
        .filter(definition::Column::Key.eq("payroll-run"))
        .filter(definition::Column::TenantId.eq(lost.tenant_id))
        .count(&replica.app.db)
        .await
        .unwrap();
    assert_eq!(restored, 1);
}
