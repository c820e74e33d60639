use serde_json::json;

use crate::common::{TestServer, error_code};

#[tokio::test]
async fn tenant_a_admin_can_neither_see_nor_change_tenant_b_users() {
    let server = TestServer::start().await;
    let a = server.tenant("tenant-a").await;
    let b = server.tenant("tenant-b").await;
    let (b_user, _) = server.user(&b, "bea@b.example.com", &["SALES"]).await;

    for id in [b_user.clone(), b.admin_id.to_string()] {
        let read = server
            .gql(
                Some(&a.token),
                "query($id: ID!) { user(id: $id) { email } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(error_code(&read), "NOT_FOUND", "{read}");

        let update = server
            .gql(
                Some(&a.token),
                "mutation($id: ID!) { updateUser(id: $id, input: { version: 1, displayName: \"pwned\", active: false }) { id } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(error_code(&update), "NOT_FOUND", "{update}");
    }

    let list = server
        .gql(
            Some(&a.token),
            "{ users { totalCount nodes { email } } }",
            json!({}),
        )
        .await;
    assert_eq!(list["data"]["users"]["totalCount"], 1);
    assert_eq!(
        list["data"]["users"]["nodes"],
        json!([{ "email": "admin@tenant-a.example.com" }])
    );

    // Tenant B is untouched.
    let b_view = server
        .gql(
            Some(&b.token),
            "query($id: ID!) { user(id: $id) { displayName active version } }",
            json!({ "id": b_user }),
        )
        .await;
    assert_eq!(
        b_view["data"]["user"],
        json!({ "displayName": "bea@b.example.com", "active": true, "version": 1 })
    );
}

#[tokio::test]
async fn the_same_email_may_exist_in_two_tenants_and_signs_in_to_each_separately() {
    let server = TestServer::start().await;
    let a = server.tenant("tenant-a").await;
    let b = server.tenant("tenant-b").await;
    let (a_id, a_token) = server.user(&a, "shared@example.com", &["SALES"]).await;
    let (b_id, b_token) = server.user(&b, "shared@example.com", &["SUPPORT"]).await;
    assert_ne!(a_id, b_id);
    let me_a = server
        .gql(Some(&a_token), "{ me { id roles } }", json!({}))
        .await;
    let me_b = server
        .gql(Some(&b_token), "{ me { id roles } }", json!({}))
        .await;
    assert_eq!(
        me_a["data"]["me"],
        json!({ "id": a_id, "roles": ["SALES"] })
    );
    assert_eq!(
        me_b["data"]["me"],
        json!({ "id": b_id, "roles": ["SUPPORT"] })
    );
}
