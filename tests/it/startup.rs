//! Starting a server: replicas that start together on one database, and a start whose work
//! does not grow with the number of tenants.

use std::sync::atomic::Ordering;

use bpaas::config::Config;
use bpaas::platform::tenants::{self, NewTenant};
use entity::process::definition;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

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
