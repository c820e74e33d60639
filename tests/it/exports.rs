//! `GET /export/{module}.csv`: every record a caller may read, read back with a CSV library.

use serde_json::{Value, json};

use crate::common::{Tenant, TestServer};

const CREATE_ACCOUNT: &str =
    "mutation($input: CreateAccountInput!) { createAccount(input: $input) { id accountNo } }";

/// Fetches an export; answers the status and the body.
async fn export(
    server: &TestServer,
    auth: Option<&str>,
    path: &str,
    filter: Option<Value>,
) -> (u16, String) {
    let mut request = server.http().get(server.url(path));
    if let Some(filter) = filter {
        request = request.query(&[("filter", filter.to_string())]);
    }
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    if status == 200 {
        assert_eq!(
            response.headers()["content-type"],
            "text/csv; charset=utf-8"
        );
    }
    (status, response.text().await.unwrap())
}

/// The rows of a CSV file as maps from header to value.
fn read(csv_text: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            headers
                .iter()
                .zip(record.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

fn bearer(tenant: &Tenant) -> String {
    format!("Bearer {}", tenant.token)
}

#[tokio::test]
async fn accounts_export_with_amounts_custom_fields_and_filters() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let globex = server.tenant("globex").await;
    let defined = server
        .gql(
            Some(&acme.token),
            "mutation { defineCustomField(input: { module: ACCOUNTS, name: \"tier\", label: \"Tier\", kind: TEXT }) { id } }",
            json!({}),
        )
        .await;
    assert!(defined["errors"].is_null(), "{defined}");
    for input in [
        json!({ "name": "PT Maju, Tbk", "annualRevenue": "1234567.5", "employees": 40, "customFields": { "tier": "Gold" } }),
        json!({ "name": "=HYPERLINK(\"x\")", "description": "line one\nline \"two\"" }),
        json!({ "name": "CV Maju Jaya", "billingAddress": { "city": "Bandung" } }),
    ] {
        let created = server
            .gql(Some(&acme.token), CREATE_ACCOUNT, json!({ "input": input }))
            .await;
        assert!(created["errors"].is_null(), "{created}");
    }
    server
        .gql(
            Some(&globex.token),
            CREATE_ACCOUNT,
            json!({ "input": { "name": "Globex Maju" } }),
        )
        .await;

    let (status, text) = export(&server, Some(&bearer(&acme)), "/export/accounts.csv", None).await;
    assert_eq!(status, 200, "{text}");
    let rows = read(&text);
    assert_eq!(rows.len(), 3, "{text}");
    let maju = &rows[0];
    assert_eq!(maju["name"], "PT Maju, Tbk");
    assert_eq!(maju["annualRevenue"], "1234567.5");
    assert_eq!(maju["employees"], "40");
    assert_eq!(maju["tier"], "Gold");
    assert!(maju["accountNo"].starts_with("ACC-"));
    assert!(!maju.contains_key("tenantId") && !maju.contains_key("customFields"));
    // A formula is defused; quotes and line breaks survive.
    assert_eq!(rows[1]["name"], "'=HYPERLINK(\"x\")");
    assert_eq!(rows[1]["description"], "line one\nline \"two\"");
    assert_eq!(rows[2]["billingCity"], "Bandung");
    assert_eq!(rows[2]["tier"], "");
    assert!(!text.contains("Globex"));

    // The list filter, in its GraphQL shape.
    let filter = json!({ "name": { "contains": "maju" }, "annualRevenue": { "min": "1000" } });
    let (_, filtered) = export(
        &server,
        Some(&bearer(&acme)),
        "/export/accounts.csv",
        Some(filter),
    )
    .await;
    let names: Vec<String> = read(&filtered)
        .into_iter()
        .map(|r| r["name"].clone())
        .collect();
    assert_eq!(names, ["PT Maju, Tbk"]);
    let (status, body) = export(
        &server,
        Some(&bearer(&acme)),
        "/export/accounts.csv",
        Some(json!({ "colour": { "equals": "red" } })),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let error: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error["errors"][0]["extensions"]["field"], "filter.colour");
}

#[tokio::test]
async fn exports_are_authenticated_permitted_and_paged() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (_, sales) = server
        .user(&acme, "sales@acme.example.com", &["SALES"])
        .await;

    let (status, _) = export(&server, None, "/export/contacts.csv", None).await;
    assert_eq!(status, 401);
    // Pay is confidential: a sales user may not export employees.
    let (status, _) = export(
        &server,
        Some(&format!("Bearer {sales}")),
        "/export/payroll.csv",
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = export(&server, Some(&bearer(&acme)), "/export/nothing.csv", None).await;
    assert_eq!(status, 404);
    let (status, _) = export(&server, Some(&bearer(&acme)), "/export/calendar.csv", None).await;
    assert_eq!(status, 400);
    // A module without records yet gives its header alone; one without list filters says so.
    let (status, text) = export(&server, Some(&bearer(&acme)), "/export/quotes.csv", None).await;
    assert_eq!(status, 200);
    assert!(
        text.starts_with("id,") && text.contains(",subject,"),
        "{text}"
    );
    assert_eq!(read(&text).len(), 0);
    let filter = Some(json!({ "subject": { "contains": "x" } }));
    let (status, _) = export(&server, Some(&bearer(&acme)), "/export/quotes.csv", filter).await;
    assert_eq!(status, 400);

    // More than a page (500) of contacts arrive in order, each once.
    for n in 0..501 {
        let created = server
            .gql(
                Some(&acme.token),
                "mutation($last: String!) { createContact(input: { lastName: $last }) { id } }",
                json!({ "last": format!("Contact {n:03}") }),
            )
            .await;
        assert!(created["errors"].is_null(), "{created}");
    }
    // An API key over HTTP Basic, as a spreadsheet or a sync client would send it.
    let key = server
        .gql(
            Some(&acme.token),
            "mutation { createApiKey(input: { name: \"sheets\", roles: [VIEWER] }) { secret } }",
            json!({}),
        )
        .await["data"]["createApiKey"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("sheets:{key}"));
    let (status, text) = export(
        &server,
        Some(&format!("Basic {basic}")),
        "/export/contacts.csv",
        None,
    )
    .await;
    assert_eq!(status, 200);
    let names: Vec<String> = read(&text)
        .into_iter()
        .map(|r| r["lastName"].clone())
        .collect();
    let expected: Vec<String> = (0..501).map(|n| format!("Contact {n:03}")).collect();
    assert_eq!(names, expected);
}
