use std::time::Duration;

use serde_json::json;

use crate::common::TestServer;
use crate::common::ws::{Received, WsClient};

const USER_CHANGED: &str = "subscription { userChanged { email displayName } }";

async fn rename(server: &TestServer, token: &str, id: &str, name: &str) {
    let response = server
        .gql(
            Some(token),
            "mutation($id: ID!, $name: String!) { updateUser(id: $id, input: { version: 1, displayName: $name }) { id } }",
            json!({ "id": id, "name": name }),
        )
        .await;
    assert!(response["data"]["updateUser"].is_object(), "{response}");
}

#[tokio::test]
async fn a_subscriber_sees_changes_of_its_own_tenant_only() {
    let server = TestServer::start().await;
    let a = server.tenant("tenant-a").await;
    let b = server.tenant("tenant-b").await;
    let (a_user, _) = server.user(&a, "ana@a.example.com", &["SALES"]).await;
    let (b_user, _) = server.user(&b, "ben@b.example.com", &["SALES"]).await;

    let mut a_client = WsClient::connect_authenticated(&server, &a.token).await;
    let mut b_client = WsClient::connect_authenticated(&server, &b.token).await;
    a_client.subscribe("a1", USER_CHANGED).await;
    b_client.subscribe("b1", USER_CHANGED).await;
    // Let both subscriptions register before the changes happen.
    tokio::time::sleep(Duration::from_millis(200)).await;

    rename(&server, &b.token, &b_user, "Ben B.").await;
    rename(&server, &a.token, &a_user, "Ana A.").await;

    let message = a_client.next_json().await;
    assert_eq!(message["type"], "next");
    assert_eq!(message["id"], "a1");
    assert_eq!(
        message["payload"]["data"]["userChanged"],
        json!({ "email": "ana@a.example.com", "displayName": "Ana A." })
    );
    let message = b_client.next_json().await;
    assert_eq!(
        message["payload"]["data"]["userChanged"],
        json!({ "email": "ben@b.example.com", "displayName": "Ben B." })
    );
    // Neither saw the other tenant's change.
    assert_eq!(a_client.receive(Duration::from_millis(300)).await, None);
    assert_eq!(b_client.receive(Duration::from_millis(300)).await, None);

    // `complete` stops the stream.
    a_client
        .send(json!({ "type": "complete", "id": "a1" }))
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    rename_again(&server, &a.token, &a_user).await;
    assert_eq!(a_client.receive(Duration::from_millis(300)).await, None);
}

async fn rename_again(server: &TestServer, token: &str, id: &str) {
    let response = server
        .gql(
            Some(token),
            "mutation($id: ID!) { updateUser(id: $id, input: { version: 2, displayName: \"Again\" }) { id } }",
            json!({ "id": id }),
        )
        .await;
    assert!(response["data"]["updateUser"].is_object(), "{response}");
}

#[tokio::test]
async fn connection_init_without_a_valid_token_is_forbidden() {
    let server = TestServer::start().await;
    let mut client = WsClient::connect(&server).await;
    client.init(None).await;
    assert_eq!(client.close_code().await, Some(4403));

    let mut client = WsClient::connect(&server).await;
    client.init(Some("forged.token.value")).await;
    assert_eq!(client.close_code().await, Some(4403));
}

#[tokio::test]
async fn protocol_violations_close_with_the_protocol_codes() {
    let server = TestServer::start_with(|config| {
        config.limits.ws_init_timeout = Duration::from_millis(300);
    })
    .await;
    let acme = server.tenant("acme").await;

    // Subscribe before the connection is acknowledged.
    let mut client = WsClient::connect(&server).await;
    client.subscribe("1", USER_CHANGED).await;
    assert_eq!(client.close_code().await, Some(4401));

    // No connection_init in time.
    let mut client = WsClient::connect(&server).await;
    assert_eq!(client.close_code().await, Some(4408));

    // Not a protocol message.
    let mut client = WsClient::connect(&server).await;
    client.send_raw("{\"type\": \"shout\"}").await;
    assert_eq!(client.close_code().await, Some(4400));

    // Two live subscriptions with one id.
    let mut client = WsClient::connect_authenticated(&server, &acme.token).await;
    client.subscribe("dup", USER_CHANGED).await;
    client.subscribe("dup", USER_CHANGED).await;
    assert_eq!(client.close_code().await, Some(4409));

    // A second connection_init.
    let mut client = WsClient::connect_authenticated(&server, &acme.token).await;
    client.init(Some(&acme.token)).await;
    assert_eq!(client.close_code().await, Some(4429));

    // A client that does not speak graphql-transport-ws.
    let mut client = WsClient::connect_with_protocol(&server, None).await;
    assert_eq!(client.close_code().await, Some(4406));
}

#[tokio::test]
async fn ping_is_answered_and_invalid_operations_get_an_error_message() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let mut client = WsClient::connect_authenticated(&server, &acme.token).await;
    client.send(json!({ "type": "ping" })).await;
    assert_eq!(client.next_json().await["type"], "pong");

    client
        .subscribe("bad", "subscription { noSuchField }")
        .await;
    let message = client.next_json().await;
    assert_eq!(message["type"], "error");
    assert_eq!(message["id"], "bad");
    assert_eq!(
        message["payload"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );

    // Queries work over the socket too, and complete.
    client.subscribe("q", "{ me { email } }").await;
    let message = client.next_json().await;
    assert_eq!(message["payload"]["data"]["me"]["email"], acme.admin_email);
    assert_eq!(
        client.next_json().await,
        json!({ "type": "complete", "id": "q" })
    );
    assert!(matches!(
        client.receive(Duration::from_millis(100)).await,
        None | Some(Received::Json(_))
    ));
}

#[tokio::test]
async fn a_message_larger_than_a_request_body_may_be_closes_the_connection() {
    let server = TestServer::start_with(|config| {
        config.limits.body_bytes = 64 * 1024;
    })
    .await;
    let acme = server.tenant("acme").await;
    let mut client = WsClient::connect_authenticated(&server, &acme.token).await;
    // Below the limit: answered, although it is many times the read buffer.
    let padding = " ".repeat(48 * 1024);
    client
        .subscribe("small", &format!("{{ me {{ email }} {padding} }}"))
        .await;
    assert_eq!(client.next_json().await["type"], "next");
    assert_eq!(client.next_json().await["type"], "complete");
    let padding = " ".repeat(100 * 1024);
    client
        .subscribe("large", &format!("{{ me {{ email }} {padding} }}"))
        .await;
    // 1009: message too big.
    assert_eq!(client.close_code().await, Some(1009));
}
