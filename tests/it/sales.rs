use serde_json::{Value, json};

use crate::common::{Tenant, TestServer, error_code, error_field};

const CREATE: &str = "mutation($input: CreateProductInput!) { createProduct(input: $input) { id code unitPrice quantityInStock } }";
const ADJUST: &str = "mutation($id: ID!, $q: Decimal!, $r: String!) { adjustStock(productId: $id, quantity: $q, reason: $r) { quantityInStock } }";

async fn product(server: &TestServer, tenant: &Tenant, code: &str) -> Value {
    let response = server
        .gql(Some(&tenant.token), CREATE, json!({ "input": { "code": code, "name": "Printer X200", "unitPrice": "1499000.50", "reorderLevel": "8" } }))
        .await;
    let product = response["data"]["createProduct"].clone();
    assert!(product.is_object(), "{response}");
    product
}

#[tokio::test]
async fn stock_moves_only_through_the_ledger_and_never_below_zero() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let created = product(&server, &acme, "PRN-200").await;
    assert_eq!(created["unitPrice"], "1499000.5");
    assert_eq!(created["quantityInStock"], "0");
    let id = created["id"].clone();
    let duplicate = server
        .gql(
            Some(&acme.token),
            CREATE,
            json!({ "input": { "code": "PRN-200", "name": "Other", "unitPrice": "1" } }),
        )
        .await;
    assert_eq!(error_field(&duplicate), "code");

    for (quantity, expected) in [("10", "10"), ("-3", "7")] {
        let moved = server
            .gql(
                Some(&acme.token),
                ADJUST,
                json!({ "id": id, "q": quantity, "r": "stock count" }),
            )
            .await;
        assert_eq!(
            moved["data"]["adjustStock"]["quantityInStock"], expected,
            "{moved}"
        );
    }
    let too_much = server
        .gql(
            Some(&acme.token),
            ADJUST,
            json!({ "id": id, "q": "-8", "r": "shipped" }),
        )
        .await;
    assert_eq!(error_field(&too_much), "quantity");
    assert!(
        too_much["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("only 7 in stock")
    );
    let no_reason = server
        .gql(
            Some(&acme.token),
            ADJUST,
            json!({ "id": id, "q": "1", "r": " " }),
        )
        .await;
    assert_eq!(error_field(&no_reason), "reason");

    let view = server
        .gql(Some(&acme.token), "query($id: ID!) { product(id: $id) { quantityInStock stockLedger { quantity cause reason actor { email } } } stockAlerts { code } }", json!({ "id": id }))
        .await;
    let ledger = view["data"]["product"]["stockLedger"].as_array().unwrap();
    assert_eq!(ledger.len(), 2);
    assert_eq!(
        ledger[0],
        json!({ "quantity": "-3", "cause": "adjustment", "reason": "stock count", "actor": { "email": acme.admin_email } })
    );
    let sum: f64 = ledger
        .iter()
        .map(|l| l["quantity"].as_str().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(sum, 7.0, "the quantity is the ledger's sum");
    assert_eq!(
        view["data"]["stockAlerts"],
        json!([{ "code": "PRN-200" }]),
        "7 is at or below the reorder level of 8"
    );
}

#[tokio::test]
async fn two_takers_cannot_both_have_the_last_unit() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let id = product(&server, &acme, "LAST-1").await["id"].clone();
    server
        .gql(
            Some(&acme.token),
            ADJUST,
            json!({ "id": id, "q": "1", "r": "received" }),
        )
        .await;
    let takers = (0..10).map(|_| {
        let (server, token, id) = (&server, acme.token.clone(), id.clone());
        async move {
            server
                .gql(
                    Some(&token),
                    ADJUST,
                    json!({ "id": id, "q": "-1", "r": "taken" }),
                )
                .await
        }
    });
    let results = futures_util::future::join_all(takers).await;
    let winners = results
        .iter()
        .filter(|r| r["data"]["adjustStock"].is_object())
        .count();
    assert_eq!(winners, 1, "{results:?}");
    assert!(
        results
            .iter()
            .filter(|r| r["data"]["adjustStock"].is_null())
            .all(|r| error_field(r) == "quantity"),
        "{results:?}"
    );
    let left = server
        .gql(
            Some(&acme.token),
            "query($id: ID!) { product(id: $id) { quantityInStock stockLedger { quantity } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(left["data"]["product"]["quantityInStock"], "0");
    assert_eq!(
        left["data"]["product"]["stockLedger"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn managers_keep_the_catalogue_and_tenants_their_own() {
    let server = TestServer::start().await;
    let a = server.tenant("tenant-a").await;
    let b = server.tenant("tenant-b").await;
    let (_, sales) = server.user(&a, "sam@a.example.com", &["SALES"]).await;
    let refused = server
        .gql(
            Some(&sales),
            CREATE,
            json!({ "input": { "code": "X", "name": "X", "unitPrice": "1" } }),
        )
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    let id = product(&server, &a, "PRN-200").await["id"].clone();
    let read = server
        .gql(Some(&sales), "{ products { totalCount } }", json!({}))
        .await;
    assert_eq!(read["data"]["products"]["totalCount"], 1);

    for (query, variables) in [
        (
            "query($id: ID!) { product(id: $id) { code } }",
            json!({ "id": id }),
        ),
        (ADJUST, json!({ "id": id, "q": "5", "r": "x" })),
        (
            "mutation($id: ID!) { updateProduct(id: $id, input: { version: 1, name: \"x\" }) { id } }",
            json!({ "id": id }),
        ),
        (
            "mutation($id: ID!) { deleteProduct(id: $id) }",
            json!({ "id": id }),
        ),
    ] {
        let response = server.gql(Some(&b.token), query, variables).await;
        assert_eq!(error_code(&response), "NOT_FOUND", "{query}: {response}");
    }
    let lists = server
        .gql(
            Some(&b.token),
            "{ products { totalCount } stockAlerts { code } search(text: \"PRN\") { label } }",
            json!({}),
        )
        .await;
    assert_eq!(
        lists["data"],
        json!({ "products": { "totalCount": 0 }, "stockAlerts": [], "search": [] })
    );
    // The same code is free in another tenant.
    product(&server, &b, "PRN-200").await;
}
