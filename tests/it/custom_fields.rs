use serde_json::{Value, json};

use crate::common::{TestServer, error_code, error_field};

const DEFINE: &str = "mutation($input: DefineCustomFieldInput!) { defineCustomField(input: $input) { id name kind options required active } }";
const CREATE: &str =
    "mutation($input: CreateAccountInput!) { createAccount(input: $input) { id customFields } }";

async fn define(server: &TestServer, token: &str, input: Value) -> Value {
    let response = server
        .gql(Some(token), DEFINE, json!({ "input": input }))
        .await;
    let field = response["data"]["defineCustomField"].clone();
    assert!(field.is_object(), "{response}");
    field
}

async fn define_account_fields(server: &TestServer, token: &str) -> Value {
    let npwp = define(server, token, json!({ "module": "ACCOUNTS", "name": "npwp", "label": "Tax number", "kind": "TEXT", "required": true })).await;
    define(server, token, json!({ "module": "ACCOUNTS", "name": "tier", "label": "Tier", "kind": "PICKLIST", "options": ["Gold", "Silver"] })).await;
    define(server, token, json!({ "module": "ACCOUNTS", "name": "creditLimit", "label": "Credit limit", "kind": "DECIMAL" })).await;
    define(
        server,
        token,
        json!({ "module": "ACCOUNTS", "name": "vip", "label": "VIP", "kind": "BOOLEAN" }),
    )
    .await;
    define(
        server,
        token,
        json!({ "module": "ACCOUNTS", "name": "since", "label": "Customer since", "kind": "DATE" }),
    )
    .await;
    define(
        server,
        token,
        json!({ "module": "ACCOUNTS", "name": "seats", "label": "Seats", "kind": "NUMBER" }),
    )
    .await;
    npwp
}

#[tokio::test]
async fn admins_add_fields_that_records_fill_and_lists_filter_on() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    define_account_fields(&server, &acme.token).await;

    let gold = server
        .gql(
            Some(&acme.token),
            CREATE,
            json!({ "input": { "name": "Gold Co", "customFields": {
                "npwp": "01.234.567.8-901.000", "tier": "Gold", "creditLimit": "1000.50", "vip": true, "since": "2019-04-01", "seats": 10 } } }),
        )
        .await;
    let gold = &gold["data"]["createAccount"];
    assert_eq!(
        gold["customFields"],
        json!({ "npwp": "01.234.567.8-901.000", "tier": "Gold", "creditLimit": "1000.5", "vip": true, "since": "2019-04-01", "seats": 10 }),
        "{gold}"
    );
    server
        .gql(Some(&acme.token), CREATE, json!({ "input": { "name": "Silver Co", "customFields": { "npwp": "2", "tier": "Silver", "vip": false, "seats": 3 } } }))
        .await;

    const LIST: &str = "query($f: [CustomFieldFilter!]) { accounts(filter: { customFields: $f }) { nodes { name } } }";
    for (conditions, expected) in [
        (
            json!([{ "name": "tier", "equals": "Gold" }]),
            json!([{ "name": "Gold Co" }]),
        ),
        (
            json!([{ "name": "vip", "equals": false }]),
            json!([{ "name": "Silver Co" }]),
        ),
        (
            json!([{ "name": "seats", "equals": 10 }]),
            json!([{ "name": "Gold Co" }]),
        ),
        (
            json!([{ "name": "tier", "equals": "Silver" }, { "name": "seats", "equals": 10 }]),
            json!([]),
        ),
    ] {
        let found = server
            .gql(Some(&acme.token), LIST, json!({ "f": conditions }))
            .await;
        assert_eq!(
            found["data"]["accounts"]["nodes"], expected,
            "{conditions}: {found}"
        );
    }

    // Update merges; null removes a value; history shows the change.
    let updated = server
        .gql(
            Some(&acme.token),
            "mutation($id: ID!) { updateAccount(id: $id, input: { version: 1, customFields: { tier: null, seats: 12 } }) { customFields history { action changes { field } } } }",
            json!({ "id": gold["id"] }),
        )
        .await;
    let account = &updated["data"]["updateAccount"];
    assert_eq!(account["customFields"]["seats"], 12, "{updated}");
    assert!(account["customFields"].get("tier").is_none());
    assert_eq!(
        account["history"][1]["changes"],
        json!([{ "field": "customFields" }])
    );
}

#[tokio::test]
async fn custom_values_are_checked_and_bad_ones_change_nothing() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let npwp = define_account_fields(&server, &acme.token).await;
    for (custom, field) in [
        (json!({}), "customFields.npwp"),
        (
            json!({ "npwp": "1", "tier": "Bronze" }),
            "customFields.tier",
        ),
        (
            json!({ "npwp": "1", "creditLimit": "lots" }),
            "customFields.creditLimit",
        ),
        (json!({ "npwp": "1", "vip": "yes" }), "customFields.vip"),
        (
            json!({ "npwp": "1", "since": "01/04/2019" }),
            "customFields.since",
        ),
        (json!({ "npwp": "1", "seats": 2.5 }), "customFields.seats"),
        (json!({ "npwp": "1", "nope": 1 }), "customFields.nope"),
    ] {
        let response = server
            .gql(
                Some(&acme.token),
                CREATE,
                json!({ "input": { "name": "X", "customFields": custom } }),
            )
            .await;
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{response}");
        assert_eq!(error_field(&response), field);
    }
    let count = server
        .gql(Some(&acme.token), "{ accounts { totalCount } }", json!({}))
        .await;
    assert_eq!(count["data"]["accounts"]["totalCount"], 0);

    // A retired field is neither required nor writable any more.
    server
        .gql(
            Some(&acme.token),
            "mutation($id: ID!) { setCustomFieldActive(id: $id, active: false) { active } }",
            json!({ "id": npwp["id"] }),
        )
        .await;
    let without = server
        .gql(
            Some(&acme.token),
            CREATE,
            json!({ "input": { "name": "Now fine" } }),
        )
        .await;
    assert!(without["data"]["createAccount"].is_object(), "{without}");
    let with = server
        .gql(
            Some(&acme.token),
            CREATE,
            json!({ "input": { "name": "Y", "customFields": { "npwp": "1" } } }),
        )
        .await;
    assert_eq!(error_field(&with), "customFields.npwp");
}

#[tokio::test]
async fn only_admins_define_fields_and_definitions_are_validated() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (_, sales) = server.user(&acme, "sam@acme.example.com", &["SALES"]).await;
    let input = json!({ "module": "CONTACTS", "name": "hobby", "label": "Hobby", "kind": "TEXT" });
    assert_eq!(
        error_code(
            &server
                .gql(Some(&sales), DEFINE, json!({ "input": input }))
                .await
        ),
        "FORBIDDEN"
    );
    define(&server, &acme.token, input.clone()).await;
    for (input, field) in [
        (input.clone(), "name"),
        (
            json!({ "module": "CONTACTS", "name": "2bad", "label": "x", "kind": "TEXT" }),
            "name",
        ),
        (
            json!({ "module": "CONTACTS", "name": "size", "label": "Size", "kind": "PICKLIST" }),
            "options",
        ),
        (
            json!({ "module": "CONTACTS", "name": "size", "label": "Size", "kind": "TEXT", "options": ["S"] }),
            "options",
        ),
        (
            json!({ "module": "NOTES", "name": "x", "label": "x", "kind": "TEXT" }),
            "module",
        ),
    ] {
        let response = server
            .gql(Some(&acme.token), DEFINE, json!({ "input": input }))
            .await;
        assert_eq!(error_field(&response), field, "{response}");
    }
    let contact = server
        .gql(Some(&sales), "mutation { createContact(input: { lastName: \"Lim\", customFields: { hobby: \"Chess\" } }) { customFields } }", json!({}))
        .await;
    assert_eq!(
        contact["data"]["createContact"]["customFields"],
        json!({ "hobby": "Chess" }),
        "{contact}"
    );
}

#[tokio::test]
async fn custom_fields_belong_to_one_tenant() {
    let server = TestServer::start().await;
    let a = server.tenant("tenant-a").await;
    let b = server.tenant("tenant-b").await;
    let npwp = define_account_fields(&server, &a.token).await;
    let defs = server
        .gql(
            Some(&b.token),
            "{ customFields(module: ACCOUNTS) { name } }",
            json!({}),
        )
        .await;
    assert_eq!(defs["data"]["customFields"], json!([]));
    let retire = server
        .gql(
            Some(&b.token),
            "mutation($id: ID!) { setCustomFieldActive(id: $id, active: false) { active } }",
            json!({ "id": npwp["id"] }),
        )
        .await;
    assert_eq!(error_code(&retire), "NOT_FOUND");
    // B's accounts neither need nor accept A's fields.
    let plain = server
        .gql(
            Some(&b.token),
            CREATE,
            json!({ "input": { "name": "B Co" } }),
        )
        .await;
    assert_eq!(
        plain["data"]["createAccount"]["customFields"],
        json!({}),
        "{plain}"
    );
    let foreign = server
        .gql(
            Some(&b.token),
            CREATE,
            json!({ "input": { "name": "B2", "customFields": { "npwp": "1" } } }),
        )
        .await;
    assert_eq!(error_field(&foreign), "customFields.npwp");
}
