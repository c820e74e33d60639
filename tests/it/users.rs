use serde_json::{Value, json};

use crate::common::{TestServer, error_code, error_field};

const CREATE: &str = "mutation($input: CreateUserInput!) { createUser(input: $input) { id email displayName roles active version } }";
const UPDATE: &str = "mutation($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { id displayName roles active version } }";
const COUNT: &str = "{ users { totalCount } }";

fn new_user(email: &str) -> Value {
    json!({ "email": email, "displayName": "Dewi Lestari", "password": "long-enough-1", "roles": ["SALES"] })
}

#[tokio::test]
async fn an_admin_creates_and_updates_users() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let created = server
        .gql(
            Some(&acme.token),
            CREATE,
            json!({ "input": new_user("Dewi@Acme.example.com") }),
        )
        .await;
    let user = &created["data"]["createUser"];
    assert_eq!(user["email"], "dewi@acme.example.com");
    assert_eq!(user["roles"], json!(["SALES"]));
    assert_eq!(user["active"], true);
    assert_eq!(user["version"], 1);

    let updated = server
        .gql(
            Some(&acme.token),
            UPDATE,
            json!({ "id": user["id"], "input": { "version": 1, "displayName": "Dewi L.", "roles": ["MANAGER", "SUPPORT"] } }),
        )
        .await;
    let user = &updated["data"]["updateUser"];
    assert_eq!(user["displayName"], "Dewi L.");
    assert_eq!(user["roles"], json!(["MANAGER", "SUPPORT"]));
    assert_eq!(user["version"], 2);

    // The new roles count from the next request on.
    let token = server
        .login("acme", "dewi@acme.example.com", "long-enough-1")
        .await;
    let me = server
        .gql(Some(&token), "{ me { roles } }", json!({}))
        .await;
    assert_eq!(me["data"]["me"]["roles"], json!(["MANAGER", "SUPPORT"]));
}

#[tokio::test]
async fn a_stale_version_is_a_conflict_and_changes_nothing() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (id, _) = server.user(&acme, "rio@acme.example.com", &["SALES"]).await;
    let first = server
        .gql(
            Some(&acme.token),
            UPDATE,
            json!({ "id": id, "input": { "version": 1, "displayName": "First" } }),
        )
        .await;
    assert_eq!(first["data"]["updateUser"]["version"], 2);
    let second = server
        .gql(
            Some(&acme.token),
            UPDATE,
            json!({ "id": id, "input": { "version": 1, "displayName": "Second" } }),
        )
        .await;
    assert_eq!(error_code(&second), "CONFLICT");
    let read = server
        .gql(
            Some(&acme.token),
            "query($id: ID!) { user(id: $id) { displayName version } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        read["data"]["user"],
        json!({ "displayName": "First", "version": 2 })
    );
}

#[tokio::test]
async fn concurrent_updates_of_one_version_have_exactly_one_winner() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (id, _) = server.user(&acme, "rio@acme.example.com", &["SALES"]).await;
    let attempts = (0..8).map(|n| {
        let (server, token, id) = (&server, acme.token.clone(), id.clone());
        async move {
            server
                .gql(Some(&token), UPDATE, json!({ "id": id, "input": { "version": 1, "displayName": format!("Writer {n}") } }))
                .await
        }
    });
    let results = futures_util::future::join_all(attempts).await;
    let winners = results
        .iter()
        .filter(|r| r["data"]["updateUser"].is_object())
        .count();
    let conflicts = results
        .iter()
        .filter(|r| r["errors"][0]["extensions"]["code"] == "CONFLICT")
        .count();
    assert_eq!((winners, conflicts), (1, 7), "{results:?}");
}

#[tokio::test]
async fn only_admins_manage_users() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (_, manager_token) = server
        .user(&acme, "mia@acme.example.com", &["MANAGER"])
        .await;
    let response = server
        .gql(
            Some(&manager_token),
            CREATE,
            json!({ "input": new_user("x@acme.example.com") }),
        )
        .await;
    assert_eq!(error_code(&response), "FORBIDDEN");
    let response = server
        .gql(
            Some(&manager_token),
            UPDATE,
            json!({ "id": acme.admin_id.to_string(), "input": { "version": 1, "roles": ["VIEWER"] } }),
        )
        .await;
    assert_eq!(error_code(&response), "FORBIDDEN");
    // Everyone may read the people they work with.
    let users = server.gql(Some(&manager_token), COUNT, json!({})).await;
    assert_eq!(users["data"]["users"]["totalCount"], 2);
}

#[tokio::test]
async fn bad_input_on_create_user_names_the_field_and_creates_nothing() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let cases = [
        (json!({ "email": "not-an-email" }), "email"),
        (json!({ "email": "admin@acme.example.com" }), "email"),
        (json!({ "displayName": "   " }), "displayName"),
        (json!({ "displayName": "x".repeat(201) }), "displayName"),
        (json!({ "password": "short" }), "password"),
        (json!({ "roles": [] }), "roles"),
    ];
    for (change, field) in cases {
        let mut input = new_user("new@acme.example.com");
        for (key, value) in change.as_object().unwrap() {
            input[key] = value.clone();
        }
        let response = server
            .gql(Some(&acme.token), CREATE, json!({ "input": input }))
            .await;
        assert_eq!(
            error_code(&response),
            "BAD_USER_INPUT",
            "{field}: {response}"
        );
        assert_eq!(error_field(&response), field, "{response}");
    }
    let bad_role = server
        .gql(Some(&acme.token), CREATE, json!({ "input": { "email": "a@b.co", "displayName": "A", "password": "long-enough-1", "roles": ["KING"] } }))
        .await;
    assert_eq!(error_code(&bad_role), "BAD_USER_INPUT", "{bad_role}");
    assert_eq!(error_field(&bad_role), "input.roles.0");
    let count = server.gql(Some(&acme.token), COUNT, json!({})).await;
    assert_eq!(count["data"]["users"]["totalCount"], 1);
}

#[tokio::test]
async fn bad_input_on_update_user_names_the_field_and_changes_nothing() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (id, _) = server.user(&acme, "rio@acme.example.com", &["SALES"]).await;
    let admin_id = acme.admin_id.to_string();
    let cases = [
        (
            id.as_str(),
            json!({ "version": 1, "displayName": "" }),
            "displayName",
        ),
        (id.as_str(), json!({ "version": 1, "roles": [] }), "roles"),
        (
            id.as_str(),
            json!({ "version": 1, "password": "short" }),
            "password",
        ),
        ("not-a-uuid", json!({ "version": 1 }), "id"),
        // The last active administrator cannot lock the tenant out.
        (
            admin_id.as_str(),
            json!({ "version": 1, "roles": ["SALES"] }),
            "roles",
        ),
        (
            admin_id.as_str(),
            json!({ "version": 1, "active": false }),
            "active",
        ),
    ];
    for (target, input, field) in cases {
        let response = server
            .gql(
                Some(&acme.token),
                UPDATE,
                json!({ "id": target, "input": input }),
            )
            .await;
        assert_eq!(
            error_code(&response),
            "BAD_USER_INPUT",
            "{field}: {response}"
        );
        assert_eq!(error_field(&response), field, "{response}");
    }
    let missing = server
        .gql(
            Some(&acme.token),
            UPDATE,
            json!({ "id": uuid::Uuid::now_v7().to_string(), "input": { "version": 1 } }),
        )
        .await;
    assert_eq!(error_code(&missing), "NOT_FOUND");
    let read = server
        .gql(
            Some(&acme.token),
            "query($id: ID!) { user(id: $id) { displayName roles version } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        read["data"]["user"],
        json!({ "displayName": "rio@acme.example.com", "roles": ["SALES"], "version": 1 })
    );
    let me = server
        .gql(Some(&acme.token), "{ me { roles active } }", json!({}))
        .await;
    assert_eq!(
        me["data"]["me"],
        json!({ "roles": ["ADMIN"], "active": true })
    );
}

#[tokio::test]
async fn users_change_their_own_password() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (_, token) = server.user(&acme, "rio@acme.example.com", &["SALES"]).await;
    const CHANGE: &str = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }";

    let wrong = server
        .gql(
            Some(&token),
            CHANGE,
            json!({ "c": "not-my-password", "n": "a-new-password" }),
        )
        .await;
    assert_eq!(error_code(&wrong), "BAD_USER_INPUT");
    assert_eq!(error_field(&wrong), "currentPassword");
    let short = server
        .gql(
            Some(&token),
            CHANGE,
            json!({ "c": "user-password-1", "n": "short" }),
        )
        .await;
    assert_eq!(error_field(&short), "newPassword");

    let ok = server
        .gql(
            Some(&token),
            CHANGE,
            json!({ "c": "user-password-1", "n": "a-new-password" }),
        )
        .await;
    assert_eq!(ok["data"]["changePassword"], true, "{ok}");
    let old = server
        .gql(None, "mutation { login(tenant: \"acme\", email: \"rio@acme.example.com\", password: \"user-password-1\") { token } }", json!({}))
        .await;
    assert_eq!(error_code(&old), "UNAUTHENTICATED");
    server
        .login("acme", "rio@acme.example.com", "a-new-password")
        .await;
}

#[tokio::test]
async fn users_are_paged_with_cursors() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    for n in 0..4 {
        server
            .user(&acme, &format!("u{n}@acme.example.com"), &["VIEWER"])
            .await;
    }
    const PAGE: &str = "query($first: Int, $after: String, $last: Int, $before: String) {
        users(first: $first, after: $after, last: $last, before: $before) {
            totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { email } } }";
    let emails = |r: &Value| -> Vec<String> {
        r["data"]["users"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["email"].as_str().unwrap().to_owned())
            .collect()
    };

    let first = server
        .gql(Some(&acme.token), PAGE, json!({ "first": 2 }))
        .await;
    assert_eq!(first["data"]["users"]["totalCount"], 5);
    assert_eq!(
        emails(&first),
        ["admin@acme.example.com", "u0@acme.example.com"]
    );
    assert_eq!(first["data"]["users"]["pageInfo"]["hasNextPage"], true);
    let after = first["data"]["users"]["pageInfo"]["endCursor"].clone();

    let second = server
        .gql(
            Some(&acme.token),
            PAGE,
            json!({ "first": 3, "after": after }),
        )
        .await;
    assert_eq!(
        emails(&second),
        [
            "u1@acme.example.com",
            "u2@acme.example.com",
            "u3@acme.example.com"
        ]
    );
    assert_eq!(second["data"]["users"]["pageInfo"]["hasNextPage"], false);

    let last = server
        .gql(Some(&acme.token), PAGE, json!({ "last": 2 }))
        .await;
    assert_eq!(
        emails(&last),
        ["u2@acme.example.com", "u3@acme.example.com"]
    );
    assert_eq!(last["data"]["users"]["pageInfo"]["hasPreviousPage"], true);

    for (variables, field) in [
        (json!({ "first": 101 }), "first"),
        (json!({ "first": -1 }), "first"),
        (json!({ "first": 1, "last": 1 }), "last"),
        (json!({ "after": "garbage!" }), "after"),
    ] {
        let response = server.gql(Some(&acme.token), PAGE, variables).await;
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{response}");
        assert_eq!(error_field(&response), field);
    }
}

/// On PostgreSQL a request does not read its user's row while the replica knows it; a
/// deactivation, a role change or signing out counts from the next request here, and within
/// moments on a replica (its notice). On SQLite every request reads the row.
#[tokio::test]
async fn signed_in_users_are_known_without_a_read_until_they_change() {
    use std::sync::atomic::Ordering;
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (id, token) = server.user(&acme, "sam@acme.example.com", &["SALES"]).await;
    const PING: &str = "{ __typename }";
    const ME: &str = "{ me { email } }";
    server.gql(Some(&token), PING, json!({})).await;
    let before = server.app.statements.load(Ordering::SeqCst);
    let known = server.gql(Some(&token), PING, json!({})).await;
    assert_eq!(known["data"]["__typename"], "Query", "{known}");
    let reads = server.app.statements.load(Ordering::SeqCst) - before;
    assert_eq!(reads, if server.on_postgres() { 0 } else { 1 });

    // A role revoked here counts from the next request.
    const CONTACTS: &str = "{ contacts { totalCount } }";
    let replica = server.replica().await;
    let on_replica = replica.gql(Some(&token), CONTACTS, json!({})).await;
    assert_eq!(
        on_replica["data"]["contacts"]["totalCount"], 0,
        "{on_replica}"
    );
    let user = server
        .gql(
            Some(&acme.token),
            "{ users { nodes { id version } } }",
            json!({}),
        )
        .await;
    let version = user["data"]["users"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == id.as_str())
        .map(|u| u["version"].clone())
        .unwrap();
    let updated = server
        .gql(
            Some(&acme.token),
            UPDATE,
            json!({ "id": id, "input": { "version": version, "roles": ["VIEWER"] } }),
        )
        .await;
    assert_eq!(
        updated["data"]["updateUser"]["roles"],
        json!(["VIEWER"]),
        "{updated}"
    );
    let create = "mutation { createContact(input: { lastName: \"Tan\" }) { id } }";
    let refused = server.gql(Some(&token), create, json!({})).await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");

    // Deactivated on this replica: refused here at once, on the other within moments.
    let deactivated = server
        .gql(
            Some(&acme.token),
            UPDATE,
            json!({ "id": id, "input": { "version": version.as_i64().unwrap() + 1, "active": false } }),
        )
        .await;
    assert_eq!(
        deactivated["data"]["updateUser"]["active"], false,
        "{deactivated}"
    );
    let here = server.gql(Some(&token), ME, json!({})).await;
    assert_eq!(error_code(&here), "UNAUTHENTICATED", "{here}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let there = replica.gql(Some(&token), ME, json!({})).await;
        if error_code(&there) == "UNAUTHENTICATED" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the replica still trusts the token: {there}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // Signing out everywhere revokes the token the replica knows.
    let fresh = server.tenant("globex").await;
    replica.gql(Some(&fresh.token), PING, json!({})).await;
    let out = server
        .gql(
            Some(&fresh.token),
            "mutation { logoutEverywhere }",
            json!({}),
        )
        .await;
    assert_eq!(out["data"]["logoutEverywhere"], true, "{out}");
    let here = server.gql(Some(&fresh.token), ME, json!({})).await;
    assert_eq!(error_code(&here), "UNAUTHENTICATED", "{here}");
}
