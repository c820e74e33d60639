use std::time::Duration;

use serde_json::{Value, json};

use crate::common::TestServer;
use crate::common::ws::WsClient;

const CHANGES: &str =
    "subscription { changes { sequence module action changedFields actor { email } } }";

async fn create_account(server: &TestServer, token: &str, name: &str) -> Value {
    let response = server
        .gql(
            Some(token),
            "mutation($n: String!) { createAccount(input: { name: $n }) { id } }",
            json!({ "n": name }),
        )
        .await;
    response["data"]["createAccount"]["id"].clone()
}

async fn next_change(client: &mut WsClient, field: &str) -> Value {
    let message = client.next_json().await;
    assert_eq!(message["type"], "next", "{message}");
    message["payload"]["data"][field].clone()
}

#[tokio::test]
async fn subscribers_see_their_own_tenants_changes_in_order_after_commit() {
    let server = TestServer::start().await;
    let a = server.tenant("tenant-a").await;
    let b = server.tenant("tenant-b").await;
    let mut a_client = WsClient::connect_authenticated(&server, &a.token).await;
    let mut b_client = WsClient::connect_authenticated(&server, &b.token).await;
    a_client.subscribe("a", CHANGES).await;
    b_client.subscribe("b", CHANGES).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let account = create_account(&server, &a.token, "Acme").await;
    server
        .gql(Some(&a.token), "mutation($a: ID!) { createContact(input: { lastName: \"Lim\", accountId: $a }) { id } }", json!({ "a": account }))
        .await;
    create_account(&server, &b.token, "Beta").await;
    // A rejected change commits nothing and takes no number.
    server
        .gql(
            Some(&a.token),
            "mutation { createAccount(input: { name: \" \" }) { id } }",
            json!({}),
        )
        .await;
    server
        .gql(Some(&a.token), "mutation($id: ID!) { updateAccount(id: $id, input: { version: 1, phone: \"022 123\" }) { id } }", json!({ "id": account }))
        .await;

    let first = next_change(&mut a_client, "changes").await;
    assert_eq!(first["sequence"], 1);
    assert_eq!(first["module"], "ACCOUNTS");
    assert_eq!(first["action"], "created");
    assert_eq!(first["actor"]["email"], a.admin_email);
    let second = next_change(&mut a_client, "changes").await;
    assert_eq!(
        (second["sequence"].clone(), second["module"].clone()),
        (json!(2), json!("CONTACTS"))
    );
    let third = next_change(&mut a_client, "changes").await;
    assert_eq!(third["sequence"], 3);
    assert_eq!(third["changedFields"], json!(["phone"]));

    let b_first = next_change(&mut b_client, "changes").await;
    assert_eq!(
        (b_first["sequence"].clone(), b_first["action"].clone()),
        (json!(1), json!("created"))
    );
    // Nothing of A reached B, and nothing more reached A.
    assert_eq!(b_client.receive(Duration::from_millis(300)).await, None);
    assert_eq!(a_client.receive(Duration::from_millis(300)).await, None);
}

#[tokio::test]
async fn a_client_that_resumes_misses_nothing_and_sees_nothing_twice() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    for name in ["One", "Two", "Three"] {
        create_account(&server, &acme.token, name).await;
    }
    let mut client = WsClient::connect_authenticated(&server, &acme.token).await;
    client
        .subscribe(
            "r",
            "subscription { changes(afterSequence: 1) { sequence } }",
        )
        .await;
    assert_eq!(next_change(&mut client, "changes").await["sequence"], 2);
    assert_eq!(next_change(&mut client, "changes").await["sequence"], 3);
    create_account(&server, &acme.token, "Four").await;
    assert_eq!(next_change(&mut client, "changes").await["sequence"], 4);
    assert_eq!(client.receive(Duration::from_millis(300)).await, None);
}

#[tokio::test]
async fn record_changed_follows_one_record_and_respects_permissions() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (_, viewer) = server
        .user(&acme, "vic@acme.example.com", &["VIEWER"])
        .await;
    let watched = create_account(&server, &acme.token, "Watched").await;
    let other = create_account(&server, &acme.token, "Other").await;

    let mut client = WsClient::connect_authenticated(&server, &viewer).await;
    client
        .send(json!({ "type": "subscribe", "id": "w", "payload": {
            "query": "subscription($id: ID!) { recordChanged(module: ACCOUNTS, id: $id) { action changedFields } }",
            "variables": { "id": watched } } }))
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    for id in [&other, &watched] {
        server
            .gql(Some(&acme.token), "mutation($id: ID!) { updateAccount(id: $id, input: { version: 1, employees: 7 }) { id } }", json!({ "id": id }))
            .await;
    }
    let change = next_change(&mut client, "recordChanged").await;
    assert_eq!(
        change,
        json!({ "action": "updated", "changedFields": ["employees"] })
    );
    assert_eq!(client.receive(Duration::from_millis(300)).await, None);

    // Without read access to contacts, contact changes do not arrive.
    server
        .gql(Some(&acme.token), "mutation { setPermission(role: VIEWER, module: CONTACTS, read: false, write: false) { read } }", json!({}))
        .await;
    let viewer = server
        .login("acme", "vic@acme.example.com", "user-password-1")
        .await;
    let mut client = WsClient::connect_authenticated(&server, &viewer).await;
    client
        .subscribe("c", "subscription { changes { module } }")
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    server
        .gql(
            Some(&acme.token),
            "mutation { createContact(input: { lastName: \"Hidden\" }) { id } }",
            json!({}),
        )
        .await;
    create_account(&server, &acme.token, "Visible").await;
    assert_eq!(
        next_change(&mut client, "changes").await,
        json!({ "module": "ACCOUNTS" })
    );
}

#[tokio::test]
async fn a_change_through_one_replica_reaches_a_subscriber_on_another() {
    let replica_a = TestServer::start().await;
    if !replica_a.on_postgres() {
        // On SQLite a single process is the supported mode; CI runs this on PostgreSQL.
        return;
    }
    let replica_b = replica_a.replica().await;
    let acme = replica_a.tenant("acme").await;
    let mut client = WsClient::connect_authenticated(&replica_b, &acme.token).await;
    client
        .subscribe("r", "subscription { changes { sequence module } }")
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    create_account(&replica_a, &acme.token, "Made on A").await;
    assert_eq!(
        next_change(&mut client, "changes").await,
        json!({ "sequence": 1, "module": "ACCOUNTS" })
    );
}

/// Moves every log entry of a tenant `days` into the past.
async fn age_log(server: &TestServer, tenant: uuid::Uuid, days: i64) {
    use entity::platform::event_log;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let then = chrono::Utc::now() - chrono::Duration::days(days);
    event_log::Entity::update_many()
        .col_expr(event_log::Column::At, Expr::value(then))
        .filter(event_log::Column::TenantId.eq(tenant))
        .exec(&server.app.db)
        .await
        .unwrap();
}

async fn kept_sequences(server: &TestServer, tenant: uuid::Uuid) -> Vec<i64> {
    use entity::platform::event_log;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    event_log::Entity::find()
        .filter(event_log::Column::TenantId.eq(tenant))
        .order_by_asc(event_log::Column::Sequence)
        .all(&server.app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.sequence)
        .collect()
}

#[tokio::test]
async fn the_log_keeps_what_its_retention_webhooks_and_resuming_subscribers_need() {
    let server = TestServer::start_with(crate::integrations::allow_private_targets).await;
    let acme = server.tenant("acme").await;
    let globex = server.tenant("globex").await;
    for n in 0..3 {
        create_account(&server, &acme.token, &format!("Old {n}")).await;
        create_account(&server, &globex.token, &format!("Old {n}")).await;
    }
    // A webhook that cannot be reached: what it has not received must stay.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    crate::integrations::create_webhook(&server, &acme, &url, &["*"]).await;
    for n in 0..2 {
        create_account(&server, &acme.token, &format!("New {n}")).await;
    }
    let acme_before = kept_sequences(&server, acme.id).await;
    assert_eq!(acme_before.len(), 5, "{acme_before:?}");
    age_log(&server, acme.id, 40).await;
    age_log(&server, globex.id, 40).await;
    let purged = bpaas::events::purge_expired(
        &server.app.db,
        chrono::Utc::now() - chrono::Duration::days(30),
    )
    .await
    .map_err(|e| e.message())
    .unwrap();
    assert_eq!(purged, 3 + 2);
    assert_eq!(
        kept_sequences(&server, acme.id).await,
        acme_before[3..],
        "the webhook's undelivered entries stay"
    );
    let globex_after = kept_sequences(&server, globex.id).await;
    assert_eq!(
        globex_after.len(),
        1,
        "the newest entry stays: {globex_after:?}"
    );

    // Resuming from before what is kept is refused, with where the log now starts.
    let mut client = WsClient::connect_authenticated(&server, &acme.token).await;
    let first_kept = acme_before[3];
    client
        .subscribe(
            "old",
            "subscription { changes(afterSequence: 1) { sequence } }",
        )
        .await;
    let refused = client.next_json().await;
    let error = &refused["payload"]["errors"][0];
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{refused}");
    assert_eq!(error["extensions"]["field"], "afterSequence");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("up to {}", first_kept - 1)),
        "{message}"
    );
    assert_eq!(
        client.next_json().await["type"],
        "complete",
        "the subscription ends"
    );
    // From just before the oldest kept entry, nothing is missing.
    client
        .subscribe(
            "kept",
            &format!(
                "subscription {{ changes(afterSequence: {}) {{ sequence }} }}",
                first_kept - 1
            ),
        )
        .await;
    assert_eq!(
        next_change(&mut client, "changes").await["sequence"],
        first_kept
    );
}

#[tokio::test]
async fn a_tenants_subscribers_share_one_feed_that_metrics_report() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let globex = server.tenant("globex").await;
    let mut first = WsClient::connect_authenticated(&server, &acme.token).await;
    let mut second = WsClient::connect_authenticated(&server, &acme.token).await;
    first
        .subscribe("a", "subscription { changes { sequence } }")
        .await;
    second
        .subscribe(
            "b",
            "subscription { changes(modules: [ACCOUNTS]) { sequence } }",
        )
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // One feed for acme (both connections and both subscriptions), none for globex.
    assert_eq!(server.app.events.tenants_followed(), 1);
    create_account(&server, &acme.token, "Shared").await;
    create_account(&server, &globex.token, "Elsewhere").await;
    assert_eq!(
        next_change(&mut first, "changes").await,
        json!({ "sequence": 1 })
    );
    assert_eq!(
        next_change(&mut second, "changes").await,
        json!({ "sequence": 1 })
    );

    let metrics = server.metrics().await;
    let sample = |name: &str| {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|value| value.parse::<f64>().ok())
    };
    assert_eq!(sample("bpaas_tenants_followed"), Some(1.0), "{metrics}");
    // Acme's feed read its entry once (however many subscribers); globex has no feed.
    assert_eq!(
        sample("bpaas_event_log_lag_seconds_count{}"),
        Some(1.0),
        "{metrics}"
    );

    drop(first);
    drop(second);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.app.events.tenants_followed(), 0);
}
