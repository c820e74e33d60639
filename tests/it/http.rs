use reqwest::StatusCode;
use reqwest::header::{ACCEPT, ALLOW, CONTENT_ENCODING, CONTENT_TYPE};
use serde_json::{Value, json};

use crate::common::{TestServer, error_code};

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

async fn post(server: &TestServer, accept: &str, body: &str) -> (StatusCode, String, Value) {
    let response = server
        .http()
        .post(server.url("/graphql"))
        .header(ACCEPT, accept)
        .header(CONTENT_TYPE, "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status();
    let content_type = response.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    (
        status,
        content_type,
        response.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn queries_run_over_get_and_mutations_do_not() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let response = server
        .http()
        .get(server.url("/graphql"))
        .query(&[("query", "{ me { email } }")])
        .bearer_auth(&acme.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["me"]["email"], acme.admin_email);

    let response = server
        .http()
        .get(server.url("/graphql"))
        .query(&[("query", "mutation { changePassword(currentPassword: \"admin-password-1\", newPassword: \"changed-by-get\") }")])
        .bearer_auth(&acme.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[ALLOW], "POST");
    // The password did not change.
    server
        .login("acme", &acme.admin_email, "admin-password-1")
        .await;
}

#[tokio::test]
async fn graphql_response_json_uses_4xx_for_requests_that_cannot_run() {
    let server = TestServer::start().await;
    let parse_error = r#"{"query": "{ me { "}"#;
    let validation_error = r#"{"query": "{ noSuchField }"}"#;

    let (status, content_type, body) = post(&server, GRAPHQL_RESPONSE, parse_error).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(content_type.starts_with(GRAPHQL_RESPONSE));
    assert_eq!(error_code(&body), "GRAPHQL_PARSE_FAILED");
    assert!(body.get("data").is_none(), "{body}");

    let (status, _, body) = post(&server, GRAPHQL_RESPONSE, validation_error).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED");

    // The legacy media type answers 200 with the same errors.
    let (status, content_type, body) = post(&server, "application/json", validation_error).await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("application/json"));
    assert_eq!(error_code(&body), "GRAPHQL_VALIDATION_FAILED");

    // A field error is still a 200: the request ran.
    let (status, _, body) = post(
        &server,
        GRAPHQL_RESPONSE,
        r#"{"query": "{ me { email } }"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
}

#[tokio::test]
async fn malformed_requests_get_clear_4xx_answers() {
    let server = TestServer::start().await;
    let (status, _, body) = post(&server, "application/json", "{ this is not json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "BAD_REQUEST");

    let (status, _, _) = post(&server, "application/json", r#"{"variables": {}}"#).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let response = server
        .http()
        .post(server.url("/graphql"))
        .header(CONTENT_TYPE, "text/plain")
        .body("{ me { email } }")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let response = server
        .http()
        .post(server.url("/graphql"))
        .header(ACCEPT, "text/csv")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_ACCEPTABLE);
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let server = TestServer::start_with(|config| config.limits.body_bytes = 4096).await;
    let padding = "x".repeat(8192);
    let body =
        json!({ "query": "{ __typename }", "variables": { "padding": padding } }).to_string();
    let (status, _, body) = post(&server, "application/json", &body).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(&body), "BAD_REQUEST");
}

#[tokio::test]
async fn query_depth_and_complexity_are_limited() {
    let server = TestServer::start_with(|config| {
        config.limits.query_depth = 3;
        config.limits.query_complexity = 6;
    })
    .await;
    let acme = server.tenant("acme").await;
    let deep = server
        .gql(
            Some(&acme.token),
            "{ users { edges { node { email } } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&deep), "GRAPHQL_VALIDATION_FAILED", "{deep}");
    let complex = server
        .gql(
            Some(&acme.token),
            "{ me { id email displayName roles active version createdAt } }",
            json!({}),
        )
        .await;
    assert_eq!(
        error_code(&complex),
        "GRAPHQL_VALIDATION_FAILED",
        "{complex}"
    );
    let fine = server
        .gql(Some(&acme.token), "{ me { email } }", json!({}))
        .await;
    assert_eq!(fine["data"]["me"]["email"], acme.admin_email);
}

#[tokio::test]
async fn browsers_get_a_playground_served_without_internet() {
    let server = TestServer::start().await;
    let page = server
        .http()
        .get(server.url("/graphql"))
        .header(ACCEPT, "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("GraphiQL"), "not the playground");
    assert!(
        html.contains("Authorization"),
        "no place for the bearer token"
    );
    let sources: Vec<&str> = html
        .split(['"', '\''])
        .filter(|s| s.ends_with(".js") || s.ends_with(".css"))
        .collect();
    assert_eq!(sources.len(), 4, "{sources:?}");
    for source in sources {
        assert!(
            source.starts_with("/graphql/assets/"),
            "{source} is not served by bpaas"
        );
        let asset = server.http().get(server.url(source)).send().await.unwrap();
        assert_eq!(asset.status(), StatusCode::OK, "{source}");
        assert_eq!(asset.headers()[CONTENT_ENCODING], "gzip");
        // reqwest here does not decompress: check the gzip magic and a plausible size.
        let bytes = asset.bytes().await.unwrap();
        assert_eq!(&bytes[..2], &[0x1f, 0x8b], "{source}");
        assert!(bytes.len() > 1000, "{source}");
    }
    let missing = server
        .http()
        .get(server.url("/graphql/assets/nope.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn health_and_readiness() {
    let server = TestServer::start().await;
    for path in ["/healthz", "/readyz"] {
        let response = server.http().get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}

#[tokio::test]
async fn a_response_keeps_the_field_order_of_the_query() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let body = server
        .http()
        .post(server.url("/graphql"))
        .bearer_auth(&acme.token)
        .json(&json!({ "query": "{ me { roles email id } }" }))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = |key: &str| {
        body.find(&format!("\"{key}\""))
            .unwrap_or_else(|| panic!("no {key} in {body}"))
    };
    assert!(
        at("roles") < at("email") && at("email") < at("id"),
        "{body}"
    );
}

#[tokio::test]
async fn every_answer_names_its_request() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let ask = |id: Option<&str>| {
        let mut request = server
            .http()
            .post(server.url("/graphql"))
            .bearer_auth(&acme.token)
            .json(&json!({ "query": "{ me { email } }" }));
        if let Some(id) = id {
            request = request.header("x-request-id", id);
        }
        request.send()
    };
    let fresh = ask(None).await.unwrap();
    let id = fresh.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    // A proxy's id is kept; one that could forge log lines is replaced.
    let kept = ask(Some("edge-7f3a.2")).await.unwrap();
    assert_eq!(kept.headers()["x-request-id"], "edge-7f3a.2");
    for forged in ["a b", "x/y%0A", &"a".repeat(65)] {
        let replaced = ask(Some(forged)).await.unwrap();
        let id = replaced.headers()["x-request-id"].to_str().unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{forged:?} -> {id}");
    }
    // Files and health checks too.
    let health = server
        .http()
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert!(health.headers().contains_key("x-request-id"));
}

/// The samples of a Prometheus scrape, by name with labels.
fn samples(text: &str) -> std::collections::BTreeMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (name, value) = line.rsplit_once(' ').unwrap();
            (name.to_owned(), value.parse().unwrap())
        })
        .collect()
}

#[tokio::test]
async fn metrics_count_requests_operations_and_backlogs_without_naming_tenants() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    for _ in 0..3 {
        server
            .gql(Some(&acme.token), "{ me { email } }", json!({}))
            .await;
    }
    let refused = server
        .gql(
            Some(&acme.token),
            "mutation { createContact(input: { lastName: \"\" }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT");
    let missing = server
        .http()
        .get(server.url("/reports/not-an-id.csv"))
        .bearer_auth(&acme.token)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);

    let scrape = server
        .http()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(scrape.status(), StatusCode::OK);
    assert!(
        scrape.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = scrape.text().await.unwrap();
    let all = samples(&text);
    let graphql = r#"route="/graphql",status="2xx""#;
    assert_eq!(
        all[&format!("bpaas_http_requests_count{{{graphql}}}")],
        5.0,
        "signing in, three queries and a refused mutation: {text}"
    );
    assert_eq!(
        all[&format!(r#"bpaas_http_requests_bucket{{{graphql},le="+Inf"}}"#)],
        5.0
    );
    let prefix = format!("bpaas_http_requests_bucket{{{graphql},le=\"");
    let mut buckets: Vec<(f64, f64)> = all
        .iter()
        .filter_map(|(name, count)| {
            let bound = name.strip_prefix(&prefix)?.strip_suffix("\"}")?;
            Some((bound.parse::<f64>().unwrap_or(f64::INFINITY), *count))
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert_eq!(buckets.len(), 12);
    assert!(
        buckets.windows(2).all(|w| w[0].1 <= w[1].1),
        "cumulative: {buckets:?}"
    );
    assert_eq!(
        all[r#"bpaas_http_requests_count{route="/reports/{file}",status="4xx"}"#],
        1.0
    );
    assert_eq!(
        all[r#"bpaas_graphql_operations_total{type="query",outcome="ok"}"#],
        3.0
    );
    assert_eq!(
        all[r#"bpaas_graphql_operations_total{type="mutation",outcome="ok"}"#],
        1.0
    );
    assert_eq!(
        all[r#"bpaas_graphql_operations_total{type="mutation",outcome="error"}"#],
        1.0
    );
    assert!(all["bpaas_db_statements_total"] > 0.0);
    for gauge in [
        "bpaas_timers_due",
        "bpaas_report_schedules_due",
        "bpaas_webhooks_retrying",
        "bpaas_websocket_connections",
    ] {
        assert_eq!(all[gauge], 0.0, "{gauge}");
    }
    assert!(all.contains_key(r#"bpaas_db_connections{pool="requests",state="idle"}"#));
    // Nothing of a tenant: no slug, no id, no user.
    for secret in [
        acme.slug.as_str(),
        &acme.id.to_string(),
        &acme.admin_id.to_string(),
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }

    // By root field, also through fragments; a field the schema lacks is never a label.
    let fragment = "query Q { ...F } fragment F on Query { me { email } }";
    let through_fragment = server.gql(Some(&acme.token), fragment, json!({})).await;
    assert!(through_fragment["errors"].is_null(), "{through_fragment}");
    let invalid = server
        .gql(Some(&acme.token), "{ me { email } noSuchField }", json!({}))
        .await;
    assert_eq!(
        error_code(&invalid),
        "GRAPHQL_VALIDATION_FAILED",
        "{invalid}"
    );
    let text = server.metrics().await;
    let all = samples(&text);
    for (field, outcome, count) in [
        ("me", "ok", 4.0),
        ("login", "ok", 1.0),
        ("createContact", "error", 1.0),
    ] {
        let name = format!(r#"bpaas_graphql_fields_count{{field="{field}",outcome="{outcome}"}}"#);
        assert_eq!(all.get(&name), Some(&count), "{name}: {text}");
    }
    assert!(!text.contains("noSuchField"), "{text}");
}
