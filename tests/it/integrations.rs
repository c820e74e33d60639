//! API keys, signed webhooks and idempotent mutations, against the real server and a real
//! HTTP receiver started by the test.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::ws::WsClient;
use crate::common::{Tenant, TestServer, error_code, error_field};

const CREATE_KEY: &str = "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id prefix roles personal } } }";
const CREATE_CONTACT: &str =
    "mutation($last: String!) { createContact(input: { lastName: $last }) { id lastName } }";

async fn create_key(server: &TestServer, token: &str, input: Value) -> Value {
    server
        .gql(Some(token), CREATE_KEY, json!({ "input": input }))
        .await
}

pub(crate) async fn tenant_key(
    server: &TestServer,
    tenant: &Tenant,
    roles: &[&str],
) -> (String, String) {
    let created = create_key(
        server,
        &tenant.token,
        json!({ "name": "ERP", "roles": roles }),
    )
    .await;
    let secret = created["data"]["createApiKey"]["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("createApiKey failed: {created}"))
        .to_owned();
    let id = created["data"]["createApiKey"]["apiKey"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (id, secret)
}

#[tokio::test]
async fn an_api_key_signs_a_system_in_with_the_roles_it_was_given() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let created = create_key(
        &server,
        &acme.token,
        json!({ "name": "ERP", "roles": ["SALES"] }),
    )
    .await;
    let key = &created["data"]["createApiKey"];
    let secret = key["secret"].as_str().unwrap();
    assert!(secret.starts_with("bpk_live_"), "{created}");
    assert!(secret.starts_with(key["apiKey"]["prefix"].as_str().unwrap()));
    assert_eq!(key["apiKey"]["roles"], json!(["SALES"]));

    let contact = server
        .gql(Some(secret), CREATE_CONTACT, json!({ "last": "Wijaya" }))
        .await;
    assert_eq!(
        contact["data"]["createContact"]["lastName"], "Wijaya",
        "{contact}"
    );
    // A sales key is not an administrator.
    let forbidden = server
        .gql(
            Some(secret),
            "mutation { createUser(input: { email: \"x@acme.example.com\", displayName: \"X\", password: \"password-123\", roles: [VIEWER] }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&forbidden), "FORBIDDEN");

    // The list shows the prefix and never the secret.
    let listed = server
        .gql(
            Some(&acme.token),
            "{ apiKeys { name prefix lastUsedAt revokedAt } }",
            json!({}),
        )
        .await;
    assert!(!listed.to_string().contains(secret), "{listed}");
    assert_eq!(listed["data"]["apiKeys"][0]["name"], "ERP");

    // HTTP Basic with the key as the password works too (for clients that only speak Basic).
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("erp:{secret}"));
    let me: Value = server
        .http()
        .post(server.url("/graphql"))
        .header("authorization", format!("Basic {basic}"))
        .json(&json!({ "query": "{ me { email } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["data"]["me"]["email"], acme.admin_email.as_str(), "{me}");

    // A made-up key with the right prefix is refused like a bad token.
    let made_up = server
        .gql(
            Some("bpk_live_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            "{ me { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&made_up), "UNAUTHENTICATED");
}

#[tokio::test]
async fn personal_keys_never_exceed_their_users_roles() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (sales_id, sales) = server
        .user(&acme, "sales@acme.example.com", &["SALES"])
        .await;

    let tenant_key = create_key(&server, &sales, json!({ "name": "x", "roles": ["SALES"] })).await;
    assert_eq!(error_code(&tenant_key), "FORBIDDEN");
    let too_much = create_key(
        &server,
        &sales,
        json!({ "name": "mail", "roles": ["ADMIN"], "personal": true }),
    )
    .await;
    assert_eq!(error_code(&too_much), "BAD_USER_INPUT");
    assert_eq!(error_field(&too_much), "roles");
    let past = create_key(
        &server,
        &sales,
        json!({ "name": "mail", "roles": ["SALES"], "personal": true, "expiresAt": "2020-01-01T00:00:00Z" }),
    )
    .await;
    assert_eq!(error_field(&past), "expiresAt");

    let created = create_key(
        &server,
        &sales,
        json!({ "name": "Thunderbird", "roles": ["SALES"], "personal": true }),
    )
    .await;
    let secret = created["data"]["createApiKey"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let me = server.gql(Some(&secret), "{ me { id } }", json!({})).await;
    assert_eq!(me["data"]["me"]["id"], sales_id.as_str());
    // Users see their own keys only; the admin sees them all.
    let own = server
        .gql(Some(&sales), "{ apiKeys { name } }", json!({}))
        .await;
    assert_eq!(own["data"]["apiKeys"], json!([{ "name": "Thunderbird" }]));

    // When the user loses the sales role, the personal key loses it on the next request.
    let version = server
        .gql(
            Some(&acme.token),
            "query($id: ID!) { user(id: $id) { version } }",
            json!({ "id": sales_id }),
        )
        .await["data"]["user"]["version"]
        .clone();
    let demoted = server
        .gql(
            Some(&acme.token),
            "mutation($id: ID!, $v: Int!) { updateUser(id: $id, input: { version: $v, roles: [VIEWER] }) { roles } }",
            json!({ "id": sales_id, "v": version }),
        )
        .await;
    assert_eq!(
        demoted["data"]["updateUser"]["roles"],
        json!(["VIEWER"]),
        "{demoted}"
    );
    let refused = server
        .gql(Some(&secret), CREATE_CONTACT, json!({ "last": "Tan" }))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
}

#[tokio::test]
async fn a_revoked_or_expired_key_stops_working_at_once_also_on_open_websockets() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (key_id, secret) = tenant_key(&server, &acme, &["SALES"]).await;
    let ok = server.gql(Some(&secret), "{ me { id } }", json!({})).await;
    assert!(ok["errors"].is_null(), "{ok}");

    let mut socket = WsClient::connect_authenticated(&server, &secret).await;
    socket
        .subscribe("1", "subscription { changes { sequence } }")
        .await;

    let revoked = server
        .gql(
            Some(&acme.token),
            "mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }",
            json!({ "id": key_id }),
        )
        .await;
    assert!(
        revoked["data"]["revokeApiKey"]["revokedAt"].is_string(),
        "{revoked}"
    );
    let after = server.gql(Some(&secret), "{ me { id } }", json!({})).await;
    assert_eq!(error_code(&after), "UNAUTHENTICATED");
    assert_eq!(socket.close_code().await, Some(4403));

    // A key past its expiry is refused although it was cached as valid.
    let expiry = chrono::Utc::now() + chrono::Duration::seconds(4);
    let expires_at = expiry.to_rfc3339();
    let created = create_key(
        &server,
        &acme.token,
        json!({ "name": "short", "roles": ["VIEWER"], "expiresAt": expires_at }),
    )
    .await;
    let short = created["data"]["createApiKey"]["secret"].as_str().unwrap();
    let now = server.gql(Some(short), "{ me { id } }", json!({})).await;
    assert!(now["errors"].is_null(), "{now}");
    let until_expired = (expiry - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(until_expired + Duration::from_millis(200)).await;
    let later = server.gql(Some(short), "{ me { id } }", json!({})).await;
    assert_eq!(error_code(&later), "UNAUTHENTICATED");
}

#[tokio::test]
async fn keys_and_webhooks_of_another_tenant_are_not_there() {
    let server = TestServer::start_with(allow_private_targets).await;
    let acme = server.tenant("acme").await;
    let globex = server.tenant("globex").await;
    let (key_id, _) = tenant_key(&server, &acme, &["SALES"]).await;
    let hook = create_webhook(&server, &acme, "http://127.0.0.1:9/hook", &["*"]).await;
    let hook_id = hook["id"].as_str().unwrap();

    let keys = server
        .gql(
            Some(&globex.token),
            "{ apiKeys { id } webhooks { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        keys["data"],
        json!({ "apiKeys": [], "webhooks": [] }),
        "{keys}"
    );
    let revoke = server
        .gql(
            Some(&globex.token),
            "mutation($id: ID!) { revokeApiKey(id: $id) { id } }",
            json!({ "id": key_id }),
        )
        .await;
    assert_eq!(error_code(&revoke), "NOT_FOUND");
    for query in [
        "query($id: ID!) { webhook(id: $id) { id } }",
        "mutation($id: ID!) { updateWebhook(id: $id, input: { version: 1, name: \"x\" }) { id } }",
        "mutation($id: ID!) { deleteWebhook(id: $id) }",
        "mutation($id: ID!) { testWebhook(id: $id) { id } }",
    ] {
        let answer = server
            .gql(Some(&globex.token), query, json!({ "id": hook_id }))
            .await;
        assert_eq!(error_code(&answer), "NOT_FOUND", "{query}: {answer}");
    }
    // Only administrators manage webhooks.
    let (_, sales) = server
        .user(&acme, "sales@acme.example.com", &["SALES"])
        .await;
    let listed = server
        .gql(Some(&sales), "{ webhooks { id } }", json!({}))
        .await;
    assert_eq!(error_code(&listed), "FORBIDDEN");
    // Acme's webhook is untouched.
    let still = server
        .gql(
            Some(&acme.token),
            "query($id: ID!) { webhook(id: $id) { name } }",
            json!({ "id": hook_id }),
        )
        .await;
    assert_eq!(still["data"]["webhook"]["name"], "receiver");
}

/// What the test receiver saw, and how it should answer.
#[derive(Default)]
pub(crate) struct Inbox {
    pub(crate) received: Vec<(HeaderMap, String)>,
    /// Answer 500 to this many requests first.
    fail_first: usize,
    /// Wait this long before answering the first request (a timeout).
    stall_first: Option<Duration>,
}

pub(crate) type SharedInbox = Arc<Mutex<Inbox>>;

async fn receive(State(inbox): State<SharedInbox>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let (count, fail_first, stall) = {
        let mut inbox = inbox.lock().unwrap();
        inbox
            .received
            .push((headers, String::from_utf8_lossy(&body).into_owned()));
        let count = inbox.received.len();
        let stall = if count == 1 { inbox.stall_first } else { None };
        (count, inbox.fail_first, stall)
    };
    if let Some(stall) = stall {
        tokio::time::sleep(stall).await;
    }
    if count <= fail_first {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
}

pub(crate) async fn start_receiver(inbox: SharedInbox) -> SocketAddr {
    let router = Router::new()
        .route("/hook", post(receive))
        .with_state(inbox);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

pub(crate) fn allow_private_targets(config: &mut bpaas::config::Config) {
    config.webhooks.allow_private_targets = true;
    config.webhooks.first_retry = Duration::from_millis(100);
    config.webhooks.timeout = Duration::from_secs(1);
}

pub(crate) async fn create_webhook(
    server: &TestServer,
    tenant: &Tenant,
    url: &str,
    types: &[&str],
) -> Value {
    let created = server
        .gql(
            Some(&tenant.token),
            "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { id secret version } }",
            json!({ "input": { "name": "receiver", "url": url, "eventTypes": types } }),
        )
        .await;
    assert!(created["errors"].is_null(), "{created}");
    created["data"]["createWebhook"].clone()
}

/// Waits until the receiver holds `n` requests.
pub(crate) async fn wait_for(inbox: &SharedInbox, n: usize) -> Vec<(HeaderMap, String)> {
    for _ in 0..200 {
        {
            let inbox = inbox.lock().unwrap();
            if inbox.received.len() >= n {
                return inbox.received.clone();
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = inbox.lock().unwrap().received.len();
    panic!("the receiver got {got} requests, expected {n}");
}

/// HMAC-SHA256 written out from its definition (RFC 2104) over plain SHA-256: a check of the
/// server's signatures that shares no code with the server's HMAC.
fn independent_hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

fn verify_signature(secret: &str, headers: &HeaderMap, body: &str) {
    let header = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_owned();
    let signed = format!(
        "{}.{}.{body}",
        header("webhook-id"),
        header("webhook-timestamp")
    );
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let expected =
        base64::engine::general_purpose::STANDARD.encode(independent_hmac(&key, signed.as_bytes()));
    assert_eq!(header("webhook-signature"), format!("v1,{expected}"));
    let timestamp: i64 = header("webhook-timestamp").parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - timestamp).abs() < 60);
}

#[tokio::test]
async fn webhooks_receive_signed_events_in_order_and_only_their_tenants() {
    let server = TestServer::start_with(allow_private_targets).await;
    let acme = server.tenant("acme").await;
    let globex = server.tenant("globex").await;
    let inbox = SharedInbox::default();
    let receiver = start_receiver(inbox.clone()).await;
    let hook = create_webhook(
        &server,
        &acme,
        &format!("http://{receiver}/hook"),
        &["contacts.created"],
    )
    .await;
    let secret = hook["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));

    // Another tenant's contacts and Acme's accounts are not for this webhook.
    server
        .gql(
            Some(&globex.token),
            CREATE_CONTACT,
            json!({ "last": "Globex" }),
        )
        .await;
    server
        .gql(
            Some(&acme.token),
            "mutation { createAccount(input: { name: \"Not a contact\" }) { id } }",
            json!({}),
        )
        .await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let created = server
            .gql(
                Some(&acme.token),
                CREATE_CONTACT,
                json!({ "last": format!("Contact {n}") }),
            )
            .await;
        ids.push(
            created["data"]["createContact"]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{created}"))
                .to_owned(),
        );
    }
    let received = wait_for(&inbox, 5).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        inbox.lock().unwrap().received.len(),
        5,
        "nothing else is delivered"
    );
    let mut sequences = Vec::new();
    for ((headers, body), id) in received.iter().zip(&ids) {
        verify_signature(secret, headers, body);
        let event: Value = serde_json::from_str(body).unwrap();
        assert_eq!(event["type"], "contacts.created");
        assert_eq!(event["data"]["recordId"], id.as_str(), "in commit order");
        assert_eq!(
            event["data"]["record"]["lastName"],
            event_last_name(&ids, id)
        );
        assert!(!body.contains(&acme.id.to_string()), "no tenant id: {body}");
        assert!(!body.contains("Globex"));
        sequences.push(event["data"]["sequence"].as_i64().unwrap());
    }
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");

    let deliveries = server
        .gql(
            Some(&acme.token),
            "query($id: ID!) { webhook(id: $id) { failures deliveries(last: 10) { succeeded statusCode attempt eventType } } }",
            json!({ "id": hook["id"] }),
        )
        .await;
    let log = deliveries["data"]["webhook"]["deliveries"]
        .as_array()
        .unwrap();
    assert_eq!(log.len(), 5, "{deliveries}");
    assert!(
        log.iter()
            .all(|d| d["succeeded"] == true && d["statusCode"] == 204 && d["attempt"] == 1)
    );

    // Deleting the webhook takes its delivery log along.
    let deleted = server
        .gql(
            Some(&acme.token),
            "mutation($id: ID!) { deleteWebhook(id: $id) }",
            json!({ "id": hook["id"] }),
        )
        .await;
    assert_eq!(deleted["data"]["deleteWebhook"], true, "{deleted}");
    use sea_orm::{EntityTrait, PaginatorTrait};
    let left = entity::integrations::webhook_delivery::Entity::find()
        .count(&server.app.db)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

fn event_last_name(ids: &[String], id: &str) -> String {
    let n = ids.iter().position(|i| i == id).unwrap();
    format!("Contact {n}")
}

#[tokio::test]
async fn failed_deliveries_are_retried_in_order_and_logged() {
    let server = TestServer::start_with(allow_private_targets).await;
    let acme = server.tenant("acme").await;
    let inbox = SharedInbox::default();
    {
        let mut inbox = inbox.lock().unwrap();
        inbox.stall_first = Some(Duration::from_secs(2));
        inbox.fail_first = 3;
    }
    let receiver = start_receiver(inbox.clone()).await;
    let hook = create_webhook(
        &server,
        &acme,
        &format!("http://{receiver}/hook"),
        &["contacts.*"],
    )
    .await;
    let first = server
        .gql(
            Some(&acme.token),
            CREATE_CONTACT,
            json!({ "last": "First" }),
        )
        .await;
    let second = server
        .gql(
            Some(&acme.token),
            CREATE_CONTACT,
            json!({ "last": "Second" }),
        )
        .await;
    let first_id = first["data"]["createContact"]["id"].as_str().unwrap();
    let second_id = second["data"]["createContact"]["id"].as_str().unwrap();

    // A timeout, two 500s, then the first event; the second only after it.
    let received = wait_for(&inbox, 5).await;
    let record_of = |i: usize| -> Value {
        serde_json::from_str::<Value>(&received[i].1).unwrap()["data"]["recordId"].clone()
    };
    for i in 0..4 {
        assert_eq!(record_of(i), first_id, "attempt {i} is the first event");
    }
    assert_eq!(record_of(4), second_id);
    // Every retry carries the same webhook-id, so that receivers can de-duplicate.
    let id_of = |i: usize| received[i].0.get("webhook-id").unwrap().clone();
    assert!((1..4).all(|i| id_of(i) == id_of(0)));

    let deliveries = server
        .gql(
            Some(&acme.token),
            "query($id: ID!) { webhook(id: $id) { failures active deliveries(last: 10) { id succeeded statusCode attempt error } } }",
            json!({ "id": hook["id"] }),
        )
        .await;
    let webhook = &deliveries["data"]["webhook"];
    assert_eq!(webhook["failures"], 0);
    let mut log = webhook["deliveries"].as_array().unwrap().clone();
    log.reverse();
    assert_eq!(log.len(), 5, "{deliveries}");
    assert_eq!(log[0]["succeeded"], false);
    assert!(log[0]["statusCode"].is_null());
    assert!(
        log[0]["error"].as_str().unwrap().contains("in time"),
        "{}",
        log[0]
    );
    assert_eq!(log[1]["statusCode"], 500);
    assert_eq!(log[2]["statusCode"], 500);
    assert_eq!(log[3]["statusCode"], 204);
    assert_eq!(
        log.iter()
            .map(|d| d["attempt"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 1]
    );

    // An earlier delivery can be sent again on demand, and a test message at any time.
    let again = server
        .gql(
            Some(&acme.token),
            "mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { succeeded sequence eventType } }",
            json!({ "id": log[4]["id"] }),
        )
        .await;
    assert_eq!(
        again["data"]["redeliverWebhook"]["succeeded"], true,
        "{again}"
    );
    assert_eq!(
        again["data"]["redeliverWebhook"]["eventType"],
        "contacts.created"
    );
    let test = server
        .gql(
            Some(&acme.token),
            "mutation($id: ID!) { testWebhook(id: $id) { succeeded eventType } }",
            json!({ "id": hook["id"] }),
        )
        .await;
    assert_eq!(
        test["data"]["testWebhook"],
        json!({ "succeeded": true, "eventType": "webhook.test" })
    );
    let received = wait_for(&inbox, 7).await;
    assert_eq!(
        serde_json::from_str::<Value>(&received[6].1).unwrap()["type"],
        "webhook.test"
    );
}

#[tokio::test]
async fn a_webhook_that_keeps_failing_is_disabled_and_can_be_turned_on_again() {
    let server = TestServer::start_with(|config| {
        allow_private_targets(config);
        config.webhooks.give_up_after = Duration::from_millis(500);
    })
    .await;
    let acme = server.tenant("acme").await;
    let inbox = SharedInbox::default();
    inbox.lock().unwrap().fail_first = usize::MAX;
    let receiver = start_receiver(inbox.clone()).await;
    let hook = create_webhook(
        &server,
        &acme,
        &format!("http://{receiver}/hook"),
        &["contacts.created"],
    )
    .await;
    server
        .gql(
            Some(&acme.token),
            CREATE_CONTACT,
            json!({ "last": "Never" }),
        )
        .await;

    let query = "query($id: ID!) { webhook(id: $id) { active disabledReason version } }";
    let mut webhook = Value::Null;
    for _ in 0..100 {
        webhook = server
            .gql(Some(&acme.token), query, json!({ "id": hook["id"] }))
            .await["data"]["webhook"]
            .clone();
        if webhook["active"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(webhook["active"], false, "{webhook}");
    assert!(
        webhook["disabledReason"]
            .as_str()
            .unwrap()
            .contains("failed attempts")
    );
    let attempts = inbox.lock().unwrap().received.len();
    assert!(attempts >= 2, "retried before giving up: {attempts}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        inbox.lock().unwrap().received.len(),
        attempts,
        "nothing is sent while disabled"
    );

    // Turned on again, the stuck event goes out at once.
    inbox.lock().unwrap().fail_first = 0;
    let on = server
        .gql(
            Some(&acme.token),
            "mutation($id: ID!, $v: Int!) { updateWebhook(id: $id, input: { version: $v, active: true }) { active disabledReason } }",
            json!({ "id": hook["id"], "v": webhook["version"] }),
        )
        .await;
    assert_eq!(
        on["data"]["updateWebhook"],
        json!({ "active": true, "disabledReason": null }),
        "{on}"
    );
    let received = wait_for(&inbox, attempts + 1).await;
    let last: Value = serde_json::from_str(&received[attempts].1).unwrap();
    assert_eq!(last["type"], "contacts.created");
}

#[tokio::test]
async fn webhook_targets_are_checked() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    for (url, types) in [
        ("http://127.0.0.1:8080/hook", json!(["*"])),
        ("http://169.254.169.254/latest", json!(["*"])),
        ("file:///etc/passwd", json!(["*"])),
    ] {
        let refused = server
            .gql(
                Some(&acme.token),
                "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { id } }",
                json!({ "input": { "name": "x", "url": url, "eventTypes": types } }),
            )
            .await;
        assert_eq!(error_field(&refused), "url", "{url}: {refused}");
    }
    let bad_type = server
        .gql(
            Some(&acme.token),
            "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { id } }",
            json!({ "input": { "name": "x", "url": "https://hooks.example.com/x", "eventTypes": ["contacts.created", "bogus"] } }),
        )
        .await;
    assert_eq!(error_field(&bad_type), "eventTypes[1]");
}

#[tokio::test]
async fn a_retried_mutation_with_an_idempotency_key_runs_once() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let body = json!({ "query": CREATE_CONTACT, "variables": { "last": "Once" } });
    let send = |key: &'static str, body: Value| {
        let request = server
            .http()
            .post(server.url("/graphql"))
            .bearer_auth(&acme.token)
            .header("idempotency-key", key)
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let answers =
        futures_util::future::join_all((0..20).map(|_| send("order-42", body.clone()))).await;
    let ids: Vec<&Value> = answers
        .iter()
        .map(|(status, answer)| {
            assert_eq!(*status, 200, "{answer}");
            &answer["data"]["createContact"]["id"]
        })
        .collect();
    assert!(ids[0].is_string(), "{:?}", answers[0]);
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "one contact for all: {ids:?}"
    );
    let count = server
        .gql(
            Some(&acme.token),
            "{ contacts(filter: { name: { equals: \"Once\" } }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(count["data"]["contacts"]["totalCount"], 1, "{count}");

    // The same key for another request is a conflict, and changes nothing.
    let other = json!({ "query": CREATE_CONTACT, "variables": { "last": "Twice" } });
    let (status, conflict) = send("order-42", other.clone()).await;
    assert_eq!(status, 409);
    assert_eq!(error_code(&conflict), "CONFLICT");
    // A new key runs again; a bad key is refused before anything runs.
    let (_, fresh) = send("order-43", other).await;
    assert_ne!(fresh["data"]["createContact"]["id"], *ids[0]);
    let (status, bad) = send("", body.clone()).await;
    assert_eq!(status, 400);
    assert_eq!(error_field(&bad), "Idempotency-Key");

    // A failed mutation keeps no answer: its retry runs again.
    let failing = json!({ "query": CREATE_CONTACT, "variables": { "last": "" } });
    let (_, first) = send("order-44", failing.clone()).await;
    assert_eq!(error_code(&first), "BAD_USER_INPUT");
    let (_, second) = send("order-44", failing).await;
    assert_eq!(error_code(&second), "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_mutation_over_websocket_with_an_idempotency_key_runs_once() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let mut socket = WsClient::connect_authenticated(&server, &acme.token).await;
    let mut ids = Vec::new();
    for operation in ["1", "2"] {
        socket
            .send(json!({ "type": "subscribe", "id": operation, "payload": {
                "query": CREATE_CONTACT,
                "variables": { "last": "Socket" },
                "extensions": { "idempotencyKey": "ws-1" }
            }}))
            .await;
        let next = socket.next_json().await;
        assert_eq!(next["type"], "next", "{next}");
        ids.push(next["payload"]["data"]["createContact"]["id"].clone());
        assert_eq!(socket.next_json().await["type"], "complete");
    }
    assert!(ids[0].is_string() && ids[0] == ids[1], "{ids:?}");
    socket
        .send(json!({ "type": "subscribe", "id": "3", "payload": {
            "query": CREATE_CONTACT,
            "variables": { "last": "Other" },
            "extensions": { "idempotencyKey": "ws-1" }
        }}))
        .await;
    let refused = socket.next_json().await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "CONFLICT");
    let count = server
        .gql(
            Some(&acme.token),
            "{ contacts(filter: { name: { in: [\"Socket\", \"Other\"] } }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(count["data"]["contacts"]["totalCount"], 1, "{count}");
}

#[tokio::test]
async fn webhook_payloads_show_amounts_in_the_currency() {
    let server = TestServer::start_with(allow_private_targets).await;
    let acme = server.tenant("acme").await;
    let inbox = SharedInbox::default();
    let receiver = start_receiver(inbox.clone()).await;
    create_webhook(
        &server,
        &acme,
        &format!("http://{receiver}/hook"),
        &["accounts.created"],
    )
    .await;
    server
        .gql(
            Some(&acme.token),
            "mutation { createAccount(input: { name: \"Maju\", annualRevenue: \"1234567.5\", employees: 12 }) { id } }",
            json!({}),
        )
        .await;
    let received = wait_for(&inbox, 1).await;
    let event: Value = serde_json::from_str(&received[0].1).unwrap();
    let record = &event["data"]["record"];
    assert_eq!(record["annualRevenue"], 1234567.5, "{record}");
    assert_eq!(record["employees"], 12);
    assert!(record.get("tenantId").is_none());
}

#[tokio::test]
async fn a_webhook_filter_narrows_its_events() {
    let server = TestServer::start_with(allow_private_targets).await;
    let acme = server.tenant("acme").await;
    let inbox = SharedInbox::default();
    let receiver = start_receiver(inbox.clone()).await;
    let create =
        "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { id filter } }";
    let bad = server
        .gql(
            Some(&acme.token),
            create,
            json!({ "input": { "name": "x", "url": format!("http://{receiver}/hook"), "eventTypes": ["contacts.*"], "filter": "secret.value > 1" } }),
        )
        .await;
    assert_eq!(error_field(&bad), "filter", "{bad}");
    let created = server
        .gql(
            Some(&acme.token),
            create,
            json!({ "input": {
                "name": "VIPs", "url": format!("http://{receiver}/hook"), "eventTypes": ["contacts.*"],
                "filter": "event.action == 'created' && record.lastName.startsWith('VIP')"
            } }),
        )
        .await;
    assert!(created["errors"].is_null(), "{created}");
    for last in ["Plain", "VIP Santoso", "Also plain"] {
        server
            .gql(Some(&acme.token), CREATE_CONTACT, json!({ "last": last }))
            .await;
    }
    let received = wait_for(&inbox, 1).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(inbox.lock().unwrap().received.len(), 1, "only the VIP");
    let event: Value = serde_json::from_str(&received[0].1).unwrap();
    assert_eq!(event["data"]["record"]["lastName"], "VIP Santoso");
}

#[tokio::test]
async fn an_idempotency_key_holds_across_replicas() {
    let first = TestServer::start().await;
    let second = first.replica().await;
    let acme = first.tenant("acme").await;
    let body = json!({ "query": CREATE_CONTACT, "variables": { "last": "Replicated" } });
    let send = |server: &TestServer| {
        let request = server
            .http()
            .post(server.url("/graphql"))
            .bearer_auth(&acme.token)
            .header("idempotency-key", "replicated-1")
            .json(&body);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let answers = futures_util::future::join_all(
        (0..10).map(|n| send(if n % 2 == 0 { &first } else { &second })),
    )
    .await;
    let ids: Vec<&Value> = answers
        .iter()
        .map(|a| &a["data"]["createContact"]["id"])
        .collect();
    assert!(ids[0].is_string(), "{:?}", answers[0]);
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
}
