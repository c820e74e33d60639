//! Hardening: inputs that used to panic, hang or slip past a check, and the limits that hold
//! under abuse. Each test fails on the code before its fix.

use std::time::{Duration, Instant};

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::common::ws::{Received, WsClient};
use crate::common::{JWT_SECRET, TestServer, error_code, error_field};

const ME: &str = "{ me { id email } }";
const PUBLISH: &str = "mutation($key: String!, $body: JSON!) { publishProcessDefinition(key: $key, name: \"Hardening\", body: $body) {
    definition { key version } problems { path message } } }";

fn two_states(timer_after: &str, due_in_days: u64) -> Value {
    json!({
        "states": [{ "name": "Open", "initial": true }, { "name": "Done", "final": true }],
        "transitions": [{ "name": "finish", "from": ["Open"], "to": "Done",
            "actions": [{ "createTask": { "subject": "'follow up'", "dueInDays": due_in_days } }] }],
        "timers": [{ "state": "Open", "after": timer_after, "transition": "finish" }]
    })
}

fn problem_paths(response: &Value) -> Vec<String> {
    response["data"]["publishProcessDefinition"]["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("no problems list: {response}"))
        .iter()
        .map(|p| p["path"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn durations_and_due_days_out_of_range_are_refused_at_publish() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let huge = server
        .gql(
            Some(&acme.token),
            PUBLISH,
            json!({ "key": "huge", "body": two_states("P100000000D", 100_000) }),
        )
        .await;
    assert_eq!(
        problem_paths(&huge),
        vec![
            "transitions[0].actions[0].createTask.dueInDays",
            "timers[0].after"
        ],
        "{huge}"
    );
    // The bound itself is allowed, and starting such a process works.
    let bound = server
        .gql(
            Some(&acme.token),
            PUBLISH,
            json!({ "key": "bound", "body": two_states("P3660D", 3660) }),
        )
        .await;
    assert_eq!(problem_paths(&bound), Vec::<String>::new(), "{bound}");
    let started = server
        .gql(
            Some(&acme.token),
            "mutation { startProcess(key: \"bound\") { state } }",
            json!({}),
        )
        .await;
    assert_eq!(
        started["data"]["startProcess"]["state"], "Open",
        "{started}"
    );
}

#[tokio::test]
async fn amounts_too_large_to_compute_are_bad_input_not_a_dropped_connection() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let revenue = server
        .gql(
            Some(&acme.token),
            "mutation($r: Decimal!) { createAccount(input: { name: \"Big\", annualRevenue: $r }) { id } }",
            json!({ "r": "79228162514264337593543950335" }),
        )
        .await;
    assert_eq!(error_code(&revenue), "BAD_USER_INPUT", "{revenue}");
    assert_eq!(error_field(&revenue), "annualRevenue");

    let account = server
        .gql(
            Some(&acme.token),
            "mutation { createAccount(input: { name: \"Toko\" }) { id } }",
            json!({}),
        )
        .await["data"]["createAccount"]["id"]
        .clone();
    let product = server
        .gql(
            Some(&acme.token),
            "mutation { createProduct(input: { code: \"P1\", name: \"P1\", unitPrice: \"1\" }) { id } }",
            json!({}),
        )
        .await["data"]["createProduct"]["id"]
        .clone();
    // Each value fits, their product does not fit any decimal.
    let quote = server
        .gql(
            Some(&acme.token),
            "mutation($input: SalesDocumentInput!) { createSalesDocument(kind: QUOTE, input: $input) { id } }",
            json!({ "input": { "subject": "Too much", "accountId": account, "lines": [
                { "productId": product, "quantity": "900000000000000", "listPrice": "900000000000000" }
            ] } }),
        )
        .await;
    assert_eq!(error_code(&quote), "BAD_USER_INPUT", "{quote}");
    assert_eq!(error_field(&quote), "lines.0.quantity");
    let count = server
        .gql(
            Some(&acme.token),
            "{ salesDocuments(kind: QUOTE) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(count["data"]["salesDocuments"]["totalCount"], 0, "{count}");
}

#[tokio::test]
async fn a_cursor_at_the_end_of_the_range_gives_an_empty_page() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    server
        .gql(
            Some(&acme.token),
            "mutation { createAccount(input: { name: \"Last\" }) { id } }",
            json!({}),
        )
        .await;
    const PAGE: &str = "query($after: String) { accounts(after: $after) { totalCount nodes { id } pageInfo { hasNextPage endCursor } } }";
    let all = server.gql(Some(&acme.token), PAGE, json!({})).await;
    let cursor = all["data"]["accounts"]["pageInfo"]["endCursor"].clone();
    assert!(cursor.is_string(), "{all}");
    let response = server
        .gql(Some(&acme.token), PAGE, json!({ "after": cursor }))
        .await;
    assert_eq!(
        response["data"]["accounts"]["nodes"],
        json!([]),
        "{response}"
    );
    assert_eq!(
        response["data"]["accounts"]["pageInfo"]["hasNextPage"],
        false
    );
    // A cursor made up by hand is refused, not followed.
    let made_up = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!(r#"{{"o":"id","i":"{}"}}"#, u64::MAX));
    let response = server
        .gql(Some(&acme.token), PAGE, json!({ "after": made_up }))
        .await;
    assert_eq!(error_code(&response), "BAD_USER_INPUT", "{response}");
}

#[tokio::test]
async fn nul_characters_are_refused_with_the_field_and_change_nothing() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    // In a variable, also where no sign-in is needed.
    let login = server
        .gql(
            None,
            "mutation($t: String!, $e: String!, $p: String!) { login(tenant: $t, email: $e, password: $p) { token } }",
            json!({ "t": "acme\u{0}", "e": "admin@acme.example.com", "p": "x" }),
        )
        .await;
    assert_eq!(error_code(&login), "BAD_USER_INPUT", "{login}");
    assert_eq!(error_field(&login), "t");
    // Nested in an input object variable.
    let nested = server
        .gql(
            Some(&acme.token),
            "mutation($input: CreateAccountInput!) { createAccount(input: $input) { id } }",
            json!({ "input": { "name": "Acme", "billingAddress": { "city": "Ban\u{0}dung" } } }),
        )
        .await;
    assert_eq!(error_code(&nested), "BAD_USER_INPUT", "{nested}");
    assert_eq!(error_field(&nested), "input.billingAddress.city");
    // Written into the document as a literal escape.
    let literal = server
        .gql(
            Some(&acme.token),
            r#"mutation { createAccount(input: { name: "a\u0000b" }) { id } }"#,
            json!({}),
        )
        .await;
    assert_eq!(error_code(&literal), "BAD_USER_INPUT", "{literal}");
    assert_eq!(error_field(&literal), "input.name");
    let count = server
        .gql(Some(&acme.token), "{ accounts { totalCount } }", json!({}))
        .await;
    assert_eq!(count["data"]["accounts"]["totalCount"], 0, "{count}");
}

#[tokio::test]
async fn converting_a_lead_refuses_another_tenants_account_for_the_opportunity() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let globex = server.tenant("globex").await;
    let foreign = server
        .gql(
            Some(&globex.token),
            "mutation { createAccount(input: { name: \"Globex own\" }) { id } }",
            json!({}),
        )
        .await["data"]["createAccount"]["id"]
        .clone();
    let lead = server
        .gql(
            Some(&acme.token),
            "mutation { createLead(input: { lastName: \"Hartono\", company: \"PT Sinar\" }) { id } }",
            json!({}),
        )
        .await["data"]["createLead"]["id"]
        .clone();
    let converted = server
        .gql(
            Some(&acme.token),
            "mutation($id: ID!, $input: ConvertLeadInput!) { convertLead(id: $id, input: $input) { lead { converted } } }",
            json!({ "id": lead, "input": { "version": 1, "opportunity": { "name": "Deal", "accountId": foreign } } }),
        )
        .await;
    assert_eq!(error_code(&converted), "NOT_FOUND", "{converted}");
    assert_eq!(error_field(&converted), "opportunity.accountId");
    let counts = server
        .gql(
            Some(&acme.token),
            "{ accounts { totalCount } contacts { totalCount } opportunities { totalCount } leads { nodes { converted } } }",
            json!({}),
        )
        .await;
    assert_eq!(counts["data"]["accounts"]["totalCount"], 0, "{counts}");
    assert_eq!(counts["data"]["contacts"]["totalCount"], 0);
    assert_eq!(counts["data"]["opportunities"]["totalCount"], 0);
    assert_eq!(counts["data"]["leads"]["nodes"][0]["converted"], false);
}

async fn me_code(server: &TestServer, token: &str) -> Option<String> {
    let response = server.gql(Some(token), ME, json!({})).await;
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .map(str::to_owned)
}

#[tokio::test]
async fn changing_the_password_revokes_every_earlier_token() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (_, first) = server.user(&acme, "sam@acme.example.com", &["SALES"]).await;
    let second = server
        .login("acme", "sam@acme.example.com", "user-password-1")
        .await;
    let changed = server
        .gql(
            Some(&first),
            "mutation { changePassword(currentPassword: \"user-password-1\", newPassword: \"user-password-2\") }",
            json!({}),
        )
        .await;
    assert_eq!(changed["data"]["changePassword"], true, "{changed}");
    for token in [&first, &second] {
        assert_eq!(
            me_code(&server, token).await.as_deref(),
            Some("UNAUTHENTICATED")
        );
    }
    let fresh = server
        .login("acme", "sam@acme.example.com", "user-password-2")
        .await;
    assert_eq!(me_code(&server, &fresh).await, None);
    // The administrator's own token is untouched.
    assert_eq!(me_code(&server, &acme.token).await, None);
}

#[tokio::test]
async fn a_password_reset_and_a_deactivation_revoke_tokens_for_good() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (id, token) = server.user(&acme, "sam@acme.example.com", &["SALES"]).await;
    let update = "mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { version } }";
    let reset = server
        .gql(
            Some(&acme.token),
            update,
            json!({ "id": id, "input": { "version": 1, "password": "reset-password-1" } }),
        )
        .await;
    assert_eq!(reset["data"]["updateUser"]["version"], 2, "{reset}");
    assert_eq!(
        me_code(&server, &token).await.as_deref(),
        Some("UNAUTHENTICATED")
    );

    let token = server
        .login("acme", "sam@acme.example.com", "reset-password-1")
        .await;
    for (version, active) in [(2, false), (3, true)] {
        let response = server
            .gql(
                Some(&acme.token),
                update,
                json!({ "id": id, "input": { "version": version, "active": active } }),
            )
            .await;
        assert!(response["errors"].is_null(), "{response}");
    }
    // Deactivated, then active again: the token from before stays dead.
    assert_eq!(
        me_code(&server, &token).await.as_deref(),
        Some("UNAUTHENTICATED")
    );
}

#[tokio::test]
async fn logout_everywhere_revokes_the_callers_tokens_only() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (_, sam) = server.user(&acme, "sam@acme.example.com", &["SALES"]).await;
    let other_device = server
        .login("acme", "sam@acme.example.com", "user-password-1")
        .await;
    let mut socket = WsClient::connect_authenticated(&server, &other_device).await;
    let response = server
        .gql(Some(&sam), "mutation { logoutEverywhere }", json!({}))
        .await;
    assert_eq!(response["data"]["logoutEverywhere"], true, "{response}");
    for token in [&sam, &other_device] {
        assert_eq!(
            me_code(&server, token).await.as_deref(),
            Some("UNAUTHENTICATED")
        );
    }
    assert_eq!(socket.close_code().await, Some(4403));
    assert_eq!(me_code(&server, &acme.token).await, None);
}

fn hs256(claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn a_token_that_is_not_valid_yet_is_refused() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let now = chrono::Utc::now().timestamp();
    let claims = |nbf: i64| {
        json!({ "sub": acme.admin_id, "tid": acme.id, "roles": ["admin"], "iat": now,
                "exp": now + 3600, "nbf": nbf, "ep": 0 })
    };
    assert_eq!(
        me_code(&server, &hs256(&claims(now + 3600)))
            .await
            .as_deref(),
        Some("UNAUTHENTICATED")
    );
    assert_eq!(me_code(&server, &hs256(&claims(now - 10))).await, None);
}

#[tokio::test]
async fn external_tokens_must_carry_the_configured_issuer_and_audience() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/fixtures");
    let public_pem = std::fs::read_to_string(format!("{fixtures}/idp_ec_public.pem")).unwrap();
    let private_pem = std::fs::read(format!("{fixtures}/idp_ec_private.pem")).unwrap();
    let server = TestServer::start_with(|config| {
        config.auth.jwt_public_key = Some(public_pem);
        config.auth.jwt_issuer = Some("https://idp.example.com".into());
        config.auth.jwt_audience = Some("bpaas".into());
    })
    .await;
    let acme = server.tenant("acme").await;
    let key = EncodingKey::from_ec_pem(&private_pem).unwrap();
    let now = chrono::Utc::now().timestamp();
    let token = |iss: Option<&str>, aud: Option<&str>| {
        let mut claims = json!({ "sub": acme.admin_id, "tid": acme.id, "roles": ["admin"],
                                 "iat": now, "exp": now + 600 });
        if let Some(iss) = iss {
            claims["iss"] = json!(iss);
        }
        if let Some(aud) = aud {
            claims["aud"] = json!(aud);
        }
        jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &key).unwrap()
    };
    let good = token(Some("https://idp.example.com"), Some("bpaas"));
    assert_eq!(me_code(&server, &good).await, None);
    for bad in [
        token(Some("https://evil.example.com"), Some("bpaas")),
        token(Some("https://idp.example.com"), Some("another-app")),
        token(None, Some("bpaas")),
        token(Some("https://idp.example.com"), None),
    ] {
        assert_eq!(
            me_code(&server, &bad).await.as_deref(),
            Some("UNAUTHENTICATED")
        );
    }
    // bpaas's own tokens carry neither and keep working.
    assert_eq!(me_code(&server, &acme.token).await, None);
}

async fn login_attempt(server: &TestServer, email: &str, password: &str) -> Value {
    server
        .gql(
            None,
            "mutation($e: String!, $p: String!) { login(tenant: \"acme\", email: $e, password: $p) { token } }",
            json!({ "e": email, "p": password }),
        )
        .await
}

#[tokio::test]
async fn repeated_wrong_passwords_make_the_account_wait_even_for_the_right_one() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    server.user(&acme, "sam@acme.example.com", &["SALES"]).await;
    for _ in 0..5 {
        let wrong = login_attempt(&server, &acme.admin_email, "wrong-password").await;
        assert_eq!(error_code(&wrong), "UNAUTHENTICATED", "{wrong}");
    }
    let held = login_attempt(&server, &acme.admin_email, crate::common::ADMIN_PASSWORD).await;
    assert_eq!(error_code(&held), "RATE_LIMITED", "{held}");
    let wait = held["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .unwrap_or_else(|| panic!("no retryAfter: {held}"));
    assert!((1..=30).contains(&wait), "{held}");
    // Another account from the same address is not held back.
    let other = login_attempt(&server, "sam@acme.example.com", "user-password-1").await;
    assert!(other["data"]["login"]["token"].is_string(), "{other}");
    // After the wait the right password works, and clears the account's failures.
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let right = login_attempt(&server, &acme.admin_email, crate::common::ADMIN_PASSWORD).await;
    assert!(right["data"]["login"]["token"].is_string(), "{right}");
}

#[tokio::test]
async fn list_page_sizes_count_toward_the_query_cost() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let query = |first: u32| {
        format!(
            "{{ a: accounts(first: {first}) {{ nodes {{ contacts {{ notes {{ id }} }} }} }} b: accounts(first: {first}) {{ nodes {{ contacts {{ notes {{ id }} }} }} }} }}"
        )
    };
    let big = server.gql(Some(&acme.token), &query(100), json!({})).await;
    assert_eq!(error_code(&big), "GRAPHQL_VALIDATION_FAILED", "{big}");
    assert!(
        big["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("too complex"),
        "{big}"
    );
    let small = server.gql(Some(&acme.token), &query(10), json!({})).await;
    assert!(small["errors"].is_null(), "{small}");
    // A page size in a variable counts the same.
    let variable = server
        .gql(
            Some(&acme.token),
            "query($n: Int) { a: accounts(first: $n) { nodes { contacts { notes { id } } } } b: accounts(first: $n) { nodes { contacts { notes { id } } } } }",
            json!({ "n": 100 }),
        )
        .await;
    assert_eq!(
        error_code(&variable),
        "GRAPHQL_VALIDATION_FAILED",
        "{variable}"
    );
}

#[tokio::test]
async fn aliases_per_document_are_capped() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let aliased = |n: usize| {
        let fields: Vec<String> = (0..n).map(|i| format!("a{i}: me {{ id }}")).collect();
        format!("{{ {} }}", fields.join(" "))
    };
    let many = server
        .gql(Some(&acme.token), &aliased(101), json!({}))
        .await;
    assert_eq!(error_code(&many), "GRAPHQL_VALIDATION_FAILED", "{many}");
    assert!(
        many["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("aliases"),
        "{many}"
    );
    let fine = server
        .gql(Some(&acme.token), &aliased(100), json!({}))
        .await;
    assert!(fine["errors"].is_null(), "{fine}");
}

/// graphql-js's `getIntrospectionQuery()` with every option on, as GraphiQL sends it.
const INTROSPECTION: &str = include_str!("fixtures/introspection.graphql");

#[tokio::test]
async fn the_standard_introspection_query_runs_with_default_limits() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let response = server
        .http()
        .post(server.url("/graphql"))
        .bearer_auth(&acme.token)
        .json(&json!({ "query": INTROSPECTION, "operationName": "IntrospectionQuery" }))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert!(response["errors"].is_null(), "{}", response["errors"]);
    let types = response["data"]["__schema"]["types"].as_array().unwrap();
    assert!(types.iter().any(|t| t["name"] == "Account"));
}

#[tokio::test]
async fn the_playground_subscribes_over_the_websocket_and_has_an_icon() {
    let server = TestServer::start().await;
    let page = server
        .http()
        .get(server.url("/graphql"))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("subscriptionUrl"), "{page}");
    assert!(page.contains("/graphql/ws"));
    assert!(page.contains("rel=\"icon\""));
    let icon = server
        .http()
        .get(server.url("/favicon.ico"))
        .send()
        .await
        .unwrap();
    assert_eq!(icon.status(), 200);
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
    assert!(icon.text().await.unwrap().starts_with("<svg"));
}

/// An administrator deactivates the user (at version 1) through `server`.
async fn deactivate(server: &TestServer, admin_token: &str, id: &str) {
    let response = server
        .gql(
            Some(admin_token),
            "mutation($id: ID!) { updateUser(id: $id, input: { version: 1, active: false }) { active } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        response["data"]["updateUser"]["active"], false,
        "{response}"
    );
}

#[tokio::test]
async fn a_deactivated_users_websocket_is_closed_with_4403() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (id, token) = server.user(&acme, "sam@acme.example.com", &["SALES"]).await;
    let mut socket = WsClient::connect_authenticated(&server, &token).await;
    socket
        .subscribe("s", "subscription { changes { module } }")
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    deactivate(&server, &acme.token, &id).await;
    assert_eq!(socket.close_code().await, Some(4403));
}

#[tokio::test]
async fn a_user_deactivated_on_another_replica_is_closed_out_at_once() {
    // The recheck interval is far away: only the event log can tell this replica in time.
    let server = TestServer::start_with(|config| {
        config.limits.ws_recheck_interval = Duration::from_secs(3600);
    })
    .await;
    if !server.on_postgres() {
        // Replicas share a PostgreSQL database; on SQLite one process is the supported mode.
        return;
    }
    let replica = server.replica().await;
    let acme = server.tenant("acme").await;
    let (id, token) = server.user(&acme, "sam@acme.example.com", &["SALES"]).await;
    let mut socket = WsClient::connect_authenticated(&server, &token).await;
    let mut watcher = WsClient::connect_authenticated(&server, &acme.token).await;
    watcher
        .subscribe("u", "subscription { userChanged { email active } }")
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    deactivate(&replica, &acme.token, &id).await;
    assert_eq!(socket.close_code().await, Some(4403));
    let changed = watcher.next_json().await;
    assert_eq!(
        changed["payload"]["data"]["userChanged"],
        json!({ "email": "sam@acme.example.com", "active": false })
    );
}

#[tokio::test]
async fn an_operation_on_a_websocket_whose_user_was_deactivated_elsewhere_is_refused() {
    let server = TestServer::start().await;
    // Another replica on the same database: its change reaches this one only through the
    // database, so the check before each operation is what stops the user.
    let replica = server.replica().await;
    let acme = server.tenant("acme").await;
    let (id, token) = server.user(&acme, "sam@acme.example.com", &["SALES"]).await;
    let mut socket = WsClient::connect_authenticated(&server, &token).await;
    deactivate(&replica, &acme.token, &id).await;
    socket
        .subscribe(
            "m",
            "mutation { createAccount(input: { name: \"After deactivation\" }) { id } }",
        )
        .await;
    assert_eq!(socket.close_code().await, Some(4403));
    let count = server
        .gql(Some(&acme.token), "{ accounts { totalCount } }", json!({}))
        .await;
    assert_eq!(count["data"]["accounts"]["totalCount"], 0, "{count}");
}

#[tokio::test]
async fn a_websocket_closes_when_its_token_expires() {
    let server =
        TestServer::start_with(|config| config.auth.token_ttl = Duration::from_secs(2)).await;
    let acme = server.tenant("acme").await;
    let mut socket = WsClient::connect_authenticated(&server, &acme.token).await;
    socket
        .subscribe("s", "subscription { changes { module } }")
        .await;
    let started = Instant::now();
    match socket.receive(Duration::from_secs(10)).await {
        Some(Received::Closed(code)) => assert_eq!(code, Some(4403)),
        other => panic!("expected a close, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn operations_per_connection_and_connections_per_user_are_capped() {
    let server = TestServer::start_with(|config| {
        config.limits.ws_max_operations = 2;
        config.limits.ws_max_connections_per_user = 2;
    })
    .await;
    let acme = server.tenant("acme").await;
    let mut first = WsClient::connect_authenticated(&server, &acme.token).await;
    for id in ["1", "2", "3"] {
        first
            .subscribe(id, "subscription { changes { module } }")
            .await;
    }
    let refused = first.next_json().await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["id"], "3");
    assert_eq!(refused["payload"][0]["extensions"]["code"], "RATE_LIMITED");

    let _second = WsClient::connect_authenticated(&server, &acme.token).await;
    let mut third = WsClient::connect(&server).await;
    third.init(Some(&acme.token)).await;
    assert_eq!(third.close_code().await, Some(4429));
    // A closed connection gives its slot back.
    drop(first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _again = WsClient::connect_authenticated(&server, &acme.token).await;
}

#[tokio::test]
async fn the_legacy_graphql_ws_protocol_is_told_4406() {
    let server = TestServer::start().await;
    let mut legacy = WsClient::connect_with_protocol(&server, Some("graphql-ws")).await;
    assert_eq!(legacy.close_code().await, Some(4406));
}

#[tokio::test]
async fn a_timer_whose_action_fails_is_recorded_and_the_others_still_fire() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    // The failing one's action divides by zero when it runs.
    let body = |subject: &str| {
        json!({
            "states": [{ "name": "Open", "initial": true }, { "name": "Late", "final": true }],
            "transitions": [{ "name": "expire", "from": ["Open"], "to": "Late",
                "actions": [{ "createTask": { "subject": subject } }] }],
            "timers": [{ "state": "Open", "after": "PT1S", "transition": "expire" }]
        })
    };
    for (key, subject) in [("failing", "string(1 / 0)"), ("working", "'chase it'")] {
        let published = server
            .gql(
                Some(&acme.token),
                PUBLISH,
                json!({ "key": key, "body": body(subject) }),
            )
            .await;
        assert_eq!(
            problem_paths(&published),
            Vec::<String>::new(),
            "{published}"
        );
    }
    let start = |key: &'static str| {
        let server = &server;
        let token = acme.token.clone();
        async move {
            server
                .gql(
                    Some(&token),
                    "mutation($k: String!) { startProcess(key: $k) { id } }",
                    json!({ "k": key }),
                )
                .await["data"]["startProcess"]["id"]
                .clone()
        }
    };
    let failing = start("failing").await;
    let working = start("working").await;
    let instance =
        "query($id: ID!) { processInstance(id: $id) { state steps { transition input } } }";
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let failed = server
            .gql(Some(&acme.token), instance, json!({ "id": failing }))
            .await;
        let fired = server
            .gql(Some(&acme.token), instance, json!({ "id": working }))
            .await;
        let steps = failed["data"]["processInstance"]["steps"]
            .as_array()
            .cloned();
        let recorded = steps
            .iter()
            .flatten()
            .find(|s| s["transition"] == "timer failed");
        if let Some(step) = recorded
            && fired["data"]["processInstance"]["state"] == "Late"
        {
            assert_eq!(step["input"]["timer"], "expire", "{failed}");
            assert!(step["input"]["error"].is_string(), "{failed}");
            assert_eq!(failed["data"]["processInstance"]["state"], "Open");
            break;
        }
        assert!(Instant::now() < deadline, "{failed} {fired}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ready = server
        .http()
        .get(server.url("/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
}

/// A TCP proxy in front of PostgreSQL that the test can cut and restore, to take the database
/// away from a running server the way an outage does.
struct DatabaseLink {
    port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl DatabaseLink {
    async fn open(port: u16, upstream: String) -> DatabaseLink {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("proxy port");
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                connections.spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        DatabaseLink { port, task }
    }

    /// Drops the listener and every proxied connection.
    async fn cut(self) -> u16 {
        self.task.abort();
        let _ = self.task.await;
        self.port
    }
}

#[tokio::test]
async fn a_database_outage_answers_503_within_seconds_and_recovers() {
    let Ok(server_url) = std::env::var("BPAAS_TEST_DATABASE_URL") else {
        // SQLite is a file in the same process: it has no outage to simulate.
        return;
    };
    let db = crate::common::TestDb::create().await;
    let upstream = server_url
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("127.0.0.1:5432")
        .to_owned();
    let link = DatabaseLink::open(0, upstream.clone()).await;
    let proxied = db
        .url()
        .replacen(&upstream, &format!("127.0.0.1:{}", link.port), 1);
    let server = TestServer::start_on(&proxied).await;
    let acme = server.tenant("acme").await;
    assert_eq!(me_code(&server, &acme.token).await, None);

    let port = link.cut().await;
    for (path, body) in [
        ("/graphql", json!({ "query": ME })),
        (
            "/graphql",
            json!({ "query": "mutation { login(tenant: \"acme\", email: \"a@b.c\", password: \"x\") { token } }" }),
        ),
    ] {
        let started = Instant::now();
        let response = server
            .http()
            .post(server.url(path))
            .bearer_auth(&acme.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(response.status(), 503);
        let body: Value = response.json().await.unwrap();
        assert_eq!(error_code(&body), "SERVICE_UNAVAILABLE", "{body}");
    }
    let started = Instant::now();
    let ready = server
        .http()
        .get(server.url("/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    assert!(started.elapsed() < Duration::from_secs(4));

    let _restored = DatabaseLink::open(port, upstream).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while me_code(&server, &acme.token).await.is_some() {
        assert!(Instant::now() < deadline, "the server did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(server);
    drop(db);
}

/// Converting a lead appends to the event log and then updates the lead; an update of the
/// same lead locks the lead and then appends. Before writers took the log lock first, the two
/// could hold each other's lock (a deadlock, answered INTERNAL). Now one wins and the other
/// gets CONFLICT, every time.
#[tokio::test]
async fn concurrent_writers_of_one_record_never_deadlock() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    for round in 0..8 {
        let lead = server
            .gql(
                Some(&acme.token),
                "mutation($n: String!) { createLead(input: { lastName: $n, company: $n }) { id } }",
                json!({ "n": format!("Lead {round}") }),
            )
            .await["data"]["createLead"]["id"]
            .clone();
        let convert = server.gql(
            Some(&acme.token),
            "mutation($id: ID!) { convertLead(id: $id, input: { version: 1, opportunity: { name: \"Deal\" } }) { lead { converted } } }",
            json!({ "id": lead }),
        );
        let update = server.gql(
            Some(&acme.token),
            "mutation($id: ID!) { updateLead(id: $id, input: { version: 1, title: \"Buyer\" }) { version } }",
            json!({ "id": lead }),
        );
        let (converted, updated) = tokio::join!(convert, update);
        let outcomes: Vec<&str> = [&converted, &updated]
            .iter()
            .map(|r| {
                r["errors"][0]["extensions"]["code"]
                    .as_str()
                    .unwrap_or("OK")
            })
            .collect();
        let mut sorted = outcomes.clone();
        sorted.sort();
        assert_eq!(sorted, ["CONFLICT", "OK"], "{converted} {updated}");
    }
}

/// processMetrics is aggregated by the database; the figures are those of the steps.
#[tokio::test]
async fn process_metrics_measure_time_in_state_in_the_database() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let body = json!({
        "states": [{ "name": "Open", "initial": true }, { "name": "Done", "final": true }],
        "transitions": [{ "name": "finish", "from": ["Open"], "to": "Done" }]
    });
    let published = server
        .gql(
            Some(&acme.token),
            PUBLISH,
            json!({ "key": "timed", "body": body }),
        )
        .await;
    assert_eq!(
        problem_paths(&published),
        Vec::<String>::new(),
        "{published}"
    );
    let began = Instant::now();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let started = server
            .gql(
                Some(&acme.token),
                "mutation { startProcess(key: \"timed\") { id } }",
                json!({}),
            )
            .await;
        ids.push(started["data"]["startProcess"]["id"].clone());
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    // Two finish after at least 0.6 s; the third stays open.
    for id in &ids[..2] {
        let fired = server
            .gql(
                Some(&acme.token),
                "mutation($id: ID!) { fireTransition(instanceId: $id, transition: \"finish\", expectedVersion: 1) { state } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(fired["data"]["fireTransition"]["state"], "Done", "{fired}");
    }
    let metrics = server
        .gql(
            Some(&acme.token),
            "{ processMetrics(key: \"timed\") { instances active completed states { state active stays medianSeconds p95Seconds } } }",
            json!({}),
        )
        .await;
    let upper = began.elapsed().as_secs_f64();
    let m = &metrics["data"]["processMetrics"];
    assert_eq!(m["instances"], 3, "{metrics}");
    assert_eq!(m["active"], 1);
    assert_eq!(m["completed"], 2);
    let states = m["states"].as_array().unwrap();
    assert_eq!(states.len(), 1, "{metrics}");
    let open = &states[0];
    assert_eq!(open["state"], "Open");
    assert_eq!(open["active"], 1);
    assert_eq!(open["stays"], 3);
    let median = open["medianSeconds"].as_f64().unwrap();
    let p95 = open["p95Seconds"].as_f64().unwrap();
    assert!(median >= 0.55 && median <= upper, "{median} {upper}");
    assert!(p95 >= median && p95 <= upper, "{p95} {median} {upper}");
}

/// Log-like lists are read a slice at a time, never all at once.
#[tokio::test]
async fn history_and_other_logs_come_in_bounded_slices() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let id = server
        .gql(
            Some(&acme.token),
            "mutation { createAccount(input: { name: \"v1\" }) { id } }",
            json!({}),
        )
        .await["data"]["createAccount"]["id"]
        .clone();
    for version in 1..=3 {
        let updated = server
            .gql(
                Some(&acme.token),
                "mutation($id: ID!, $v: Int!, $n: String!) { updateAccount(id: $id, input: { version: $v, name: $n }) { version } }",
                json!({ "id": id, "v": version, "n": format!("v{}", version + 1) }),
            )
            .await;
        assert!(updated["errors"].is_null(), "{updated}");
    }
    let slice = |limit: i64, offset: i64| {
        let server = &server;
        let token = acme.token.clone();
        let id = id.clone();
        async move {
            server
                .gql(
                    Some(&token),
                    "query($id: ID!, $l: Int, $o: Int) { history(recordId: $id, limit: $l, offset: $o) { action changes { new } } }",
                    json!({ "id": id, "l": limit, "o": offset }),
                )
                .await
        }
    };
    let first = slice(2, 0).await;
    let actions: Vec<&str> = first["data"]["history"]
        .as_array()
        .unwrap_or_else(|| panic!("{first}"))
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["created", "updated"], "{first}");
    let rest = slice(2, 2).await;
    assert_eq!(
        rest["data"]["history"].as_array().unwrap().len(),
        2,
        "{rest}"
    );
    assert_eq!(rest["data"]["history"][1]["changes"][0]["new"], "v4");
    let too_many = slice(101, 0).await;
    assert_eq!(error_code(&too_many), "BAD_USER_INPUT", "{too_many}");
    assert_eq!(error_field(&too_many), "limit");
    let negative = slice(1, -1).await;
    assert_eq!(error_field(&negative), "offset", "{negative}");
}

/// A record's child lists come with at most 100 children each, ranked in the database.
#[tokio::test]
async fn child_lists_of_a_record_are_capped() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let account = server
        .gql(
            Some(&acme.token),
            "mutation { createAccount(input: { name: \"Big\" }) { id } }",
            json!({}),
        )
        .await["data"]["createAccount"]["id"]
        .clone();
    let other = server
        .gql(
            Some(&acme.token),
            "mutation { createAccount(input: { name: \"Small\" }) { id } }",
            json!({}),
        )
        .await["data"]["createAccount"]["id"]
        .clone();
    for i in 0..101 {
        let created = server
            .gql(
                Some(&acme.token),
                "mutation($n: String!, $a: ID) { createContact(input: { lastName: $n, accountId: $a }) { id } }",
                json!({ "n": format!("C{i:03}"), "a": account }),
            )
            .await;
        assert!(created["errors"].is_null(), "{created}");
    }
    let only = server
        .gql(
            Some(&acme.token),
            "mutation($a: ID) { createContact(input: { lastName: \"Only\", accountId: $a }) { id } }",
            json!({ "a": other }),
        )
        .await;
    assert!(only["errors"].is_null(), "{only}");
    let listed = server
        .gql(
            Some(&acme.token),
            "{ accounts { nodes { name contacts { lastName } } } }",
            json!({}),
        )
        .await;
    let nodes = listed["data"]["accounts"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{listed}"));
    let contacts_of = |name: &str| {
        nodes.iter().find(|n| n["name"] == name).unwrap()["contacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["lastName"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let big = contacts_of("Big");
    assert_eq!(big.len(), 100);
    assert_eq!(big.first().map(String::as_str), Some("C000"));
    assert_eq!(big.last().map(String::as_str), Some("C099"));
    assert_eq!(contacts_of("Small"), ["Only"]);
}

/// A recurring event knows when its last occurrence ends, so the calendar leaves ended ones in
/// the database instead of expanding them; what it shows is unchanged.
#[tokio::test]
async fn ended_recurrences_are_known_and_left_out_of_the_calendar() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let create = |subject: &'static str, recurrence: Option<&'static str>| {
        let server = &server;
        let token = acme.token.clone();
        async move {
            let created = server
                .gql(
                    Some(&token),
                    "mutation($s: String!, $r: String) { createEvent(input: { subject: $s, startAt: \"2026-01-05T09:00:00Z\", endAt: \"2026-01-05T10:00:00Z\", recurrence: $r }) { recurrenceEndsAt } }",
                    json!({ "s": subject, "r": recurrence }),
                )
                .await;
            assert!(created["errors"].is_null(), "{created}");
            created["data"]["createEvent"]["recurrenceEndsAt"].clone()
        }
    };
    assert_eq!(
        create("three Mondays", Some("FREQ=WEEKLY;COUNT=3")).await,
        "2026-01-19T10:00:00+00:00"
    );
    assert_eq!(
        create("until February", Some("FREQ=DAILY;UNTIL=20260201T090000Z")).await,
        "2026-02-01T10:00:00+00:00"
    );
    assert_eq!(create("every week", Some("FREQ=WEEKLY")).await, Value::Null);
    assert_eq!(create("once", None).await, Value::Null);
    let december = server
        .gql(
            Some(&acme.token),
            "{ calendar(from: \"2026-12-01T00:00:00Z\", to: \"2026-12-15T00:00:00Z\") { event { subject } } }",
            json!({}),
        )
        .await;
    let subjects: Vec<&str> = december["data"]["calendar"]
        .as_array()
        .unwrap_or_else(|| panic!("{december}"))
        .iter()
        .map(|o| o["event"]["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["every week", "every week"], "{december}");
    let january = server
        .gql(
            Some(&acme.token),
            "{ calendar(from: \"2026-01-12T00:00:00Z\", to: \"2026-01-13T00:00:00Z\") { event { subject } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        january["data"]["calendar"].as_array().unwrap().len(),
        3,
        "{january}"
    );
}

/// Fragments that spread each other twice at every level describe 2^40 fields: the document
/// is refused as too costly at once, without walking each of them.
#[tokio::test]
async fn a_fragment_bomb_is_refused_without_being_expanded() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let mut query = String::from("{ me { ...f0 } }");
    for i in 0..40 {
        query.push_str(&format!(
            " fragment f{i} on User {{ ...f{} ...f{} }}",
            i + 1,
            i + 1
        ));
    }
    query.push_str(" fragment f40 on User { id }");
    let response = tokio::time::timeout(
        Duration::from_secs(10),
        server.gql(Some(&acme.token), &query, json!({})),
    )
    .await
    .expect("answered in time");
    assert_eq!(
        error_code(&response),
        "GRAPHQL_VALIDATION_FAILED",
        "{response}"
    );
}
