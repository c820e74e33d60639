//! The real binary: schema export, tenant creation, graceful shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::common::TestDb;

const BIN: &str = env!("CARGO_BIN_EXE_bpaas");

#[test]
fn schema_graphql_matches_the_served_schema() {
    let output = Command::new(BIN).arg("schema").output().unwrap();
    assert!(output.status.success());
    let current = String::from_utf8(output.stdout).unwrap();
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    assert!(
        current == committed,
        "schema.graphql is stale: run `cargo run -- schema > schema.graphql`"
    );
}

fn create_tenant(database_url: &str, slug: &str) -> std::process::Output {
    Command::new(BIN)
        .args(["tenant", "create", "--slug", slug, "--name", "Acme Ltd"])
        .args([
            "--admin-email",
            "boss@acme.example.com",
            "--admin-password",
            "boss-password-1",
        ])
        .args(["--database-url", database_url])
        .env_remove("BPAAS_DATABASE_URL")
        .output()
        .unwrap()
}

#[tokio::test]
async fn tenant_create_prints_ids_and_refuses_a_duplicate_slug() {
    let db = TestDb::create().await;
    let output = create_tenant(db.url(), "acme");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    for key in ["tenantId", "adminUserId"] {
        let id = printed[key].as_str().unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{key}: {id}");
    }

    let again = create_tenant(db.url(), "acme");
    assert!(!again.status.success());
    let message = String::from_utf8_lossy(&again.stderr);
    assert!(
        message.contains("acme") && message.contains("already exists"),
        "{message}"
    );
    assert!(again.stdout.is_empty());

    let bad = create_tenant(db.url(), "Not A Slug");
    assert!(!bad.status.success());
}

#[tokio::test]
async fn serve_demo_prints_a_working_token_and_stops_cleanly_on_sigterm() {
    let db = TestDb::create().await;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--demo",
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            db.url(),
        ])
        .env("BPAAS_JWT_SECRET_FILE", dir.path().join("secret"))
        .env_remove("BPAAS_JWT_SECRET")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut lines = stdout.lines().map_while(Result::ok);
    let playground = lines
        .by_ref()
        .find_map(|line| line.trim().strip_prefix("Playground: ").map(str::to_owned))
        .expect("playground URL printed");
    let token = lines
        .by_ref()
        .skip_while(|line| !line.contains("Bearer token"))
        .nth(1)
        .expect("token printed")
        .trim()
        .to_owned();

    let response: serde_json::Value = reqwest::Client::new()
        .post(&playground)
        .bearer_auth(&token)
        .json(&serde_json::json!({ "query": "{ me { email roles } }" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        response["data"]["me"]["email"], "admin@demo.bpaas.dev",
        "{response}"
    );
    assert_eq!(
        response["data"]["me"]["roles"],
        serde_json::json!(["ADMIN"])
    );

    // The demo company is there to explore.
    let query = "{ accounts(first: 1) { totalCount nodes { contacts { fullName } opportunities { salesStage } } }
        contacts { totalCount } leads { totalCount } opportunities { totalCount } tickets { totalCount }
        faqs { totalCount } announcements { totalCount } tasks { totalCount }
        employees { totalCount } payRuns { nodes { status employeeCount totalNet } }
        dashboards { name widgetData { title error { message } chart { categories } kpi { value } } } }";
    let data: serde_json::Value = reqwest::Client::new()
        .post(&playground)
        .bearer_auth(&token)
        .json(&serde_json::json!({ "query": query }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let counts = &data["data"];
    assert_eq!(counts["accounts"]["totalCount"], 24, "{data}");
    let first = &counts["accounts"]["nodes"][0];
    assert_eq!(first["contacts"].as_array().map(Vec::len), Some(2));
    assert_eq!(first["opportunities"].as_array().map(Vec::len), Some(1));
    for (list, expected) in [
        ("contacts", 48),
        ("leads", 8),
        ("opportunities", 24),
        ("tickets", 4),
        ("faqs", 1),
        ("announcements", 1),
        ("tasks", 2),
    ] {
        assert_eq!(counts[list]["totalCount"], expected, "{list}");
    }
    assert_eq!(counts["employees"]["totalCount"], 8);
    // A sales and a service dashboard, every widget with data.
    let boards = counts["dashboards"].as_array().unwrap();
    let names: Vec<&str> = boards.iter().map(|b| b["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Sales", "Service"]);
    for widget in boards
        .iter()
        .flat_map(|b| b["widgetData"].as_array().unwrap())
    {
        assert!(widget["error"].is_null(), "{widget}");
        assert!(
            widget["chart"].is_object() || widget["kpi"].is_object(),
            "{widget}"
        );
    }
    let pipeline = &boards[0]["widgetData"][0]["chart"]["categories"];
    assert!(
        pipeline.as_array().is_some_and(|c| !c.is_empty()),
        "{pipeline}"
    );
    let run = &counts["payRuns"]["nodes"][0];
    assert_eq!(
        (&run["status"], &run["employeeCount"]),
        (&serde_json::json!("Calculated"), &serde_json::json!(8)),
        "{run}"
    );

    let secret = dir.path().join("secret");
    assert!(secret.exists(), "the generated secret is kept");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
}

/// Signs the new tenant's administrator in directly against the database the CLI wrote.
async fn admin_signs_in(database_url: &str, slug: &str, password: &str) -> bool {
    let db = bpaas::db::connect(database_url, bpaas::db::CLI_ACQUIRE_TIMEOUT)
        .await
        .unwrap();
    let config = bpaas::config::AuthConfig {
        jwt_secret: Some(crate::common::JWT_SECRET.into()),
        ..Default::default()
    };
    let tokens = bpaas::auth::token::TokenKeys::load(&config, database_url).unwrap();
    let throttle = bpaas::auth::throttle::LoginThrottle::default();
    let attempt = bpaas::platform::users::Attempt {
        throttle: &throttle,
        client: None,
    };
    let signed_in = bpaas::platform::users::login(
        &db,
        &tokens,
        attempt,
        slug,
        "boss@acme.example.com",
        password,
    )
    .await
    .is_ok();
    db.close().await.ok();
    signed_in
}

#[tokio::test]
async fn the_admin_password_can_stay_off_the_command_line() {
    let db = TestDb::create().await;
    let base = || {
        let mut command = Command::new(BIN);
        command
            .args(["tenant", "create", "--name", "Acme Ltd"])
            .args(["--admin-email", "boss@acme.example.com"])
            .args(["--database-url", db.url()])
            .env_remove("BPAAS_DATABASE_URL")
            .env_remove("BPAAS_ADMIN_PASSWORD");
        command
    };

    let from_env = base()
        .args(["--slug", "from-env"])
        .env("BPAAS_ADMIN_PASSWORD", "env-password-1")
        .output()
        .unwrap();
    assert!(
        from_env.status.success(),
        "{}",
        String::from_utf8_lossy(&from_env.stderr)
    );
    assert!(admin_signs_in(db.url(), "from-env", "env-password-1").await);

    let mut child = base()
        .args(["--slug", "from-stdin", "--admin-password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"stdin-password-1\n").unwrap();
    }
    let from_stdin = child.wait_with_output().unwrap();
    assert!(
        from_stdin.status.success(),
        "{}",
        String::from_utf8_lossy(&from_stdin.stderr)
    );
    assert!(admin_signs_in(db.url(), "from-stdin", "stdin-password-1").await);
    assert!(!admin_signs_in(db.url(), "from-stdin", "stdin-password-1\n").await);

    let without = base().args(["--slug", "nothing"]).output().unwrap();
    assert!(!without.status.success());
    assert!(String::from_utf8_lossy(&without.stderr).contains("BPAAS_ADMIN_PASSWORD"));
}

#[tokio::test]
async fn logs_can_be_json_lines_that_name_their_request() {
    let db = TestDb::create().await;
    let mut served = serve_with(db.url(), &[]);
    let response = reqwest::Client::new()
        .get(format!("http://{}/healthz", served.addr))
        .header("x-request-id", "json-log-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let finished = std::iter::from_fn(|| {
        let left = until.saturating_duration_since(std::time::Instant::now());
        served.logs.recv_timeout(left).ok()
    })
    .find(|line| line["span"]["id"] == "json-log-1")
    .expect("the request's log line");
    assert_eq!(finished["fields"]["message"], "request finished");
    assert_eq!(finished["fields"]["status"], 200);
    assert_eq!(finished["span"]["path"], "/healthz");
    served.child.kill().unwrap();
    served.child.wait().unwrap();
}

/// What an OpenTelemetry collector received on `/v1/traces`: (content type, body).
type Exports = std::sync::Arc<std::sync::Mutex<Vec<(String, axum::body::Bytes)>>>;

/// An OTLP/HTTP receiver on a random port, keeping every export it is sent.
async fn otlp_collector() -> (std::net::SocketAddr, Exports) {
    let exports = Exports::default();
    let kept = exports.clone();
    let router = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| async move {
                let content_type = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                kept.lock().unwrap().push((content_type, body));
                axum::http::StatusCode::OK
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (addr, exports)
}

/// Sends SIGTERM and waits (at most 15 s) for a clean exit.
async fn stop(child: &mut std::process::Child) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let signalled = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if signalled.elapsed() > std::time::Duration::from_secs(15) {
            child.kill().unwrap();
            panic!("the server did not stop");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");
}

/// A span attribute's value as text, whichever OTLP JSON value kind carries it.
fn attribute(span: &serde_json::Value, key: &str) -> Option<String> {
    let value = &span["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)?["value"];
    value["stringValue"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| value["intValue"].as_str().map(str::to_owned))
        .or_else(|| value["intValue"].as_i64().map(|v| v.to_string()))
}

#[tokio::test]
async fn request_spans_are_exported_over_otlp_in_the_callers_trace() {
    let db = TestDb::create().await;
    let (collector, exports) = otlp_collector().await;
    let endpoint = format!("http://{collector}");
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";

    // OTLP/HTTP with JSON: the request's span, in the caller's trace, as a server span.
    let mut served = serve_with(
        db.url(),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_SERVICE_NAME", "bpaas-under-test"),
        ],
    );
    let response = reqwest::Client::new()
        .post(format!("http://{}/graphql", served.addr))
        .header("x-request-id", "otel-json-1")
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        .json(
            &serde_json::json!({ "query": "query Probe { __typename }", "operationName": "Probe" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // The spans still queued go out when the server stops.
    stop(&mut served.child).await;
    let received = exports.lock().unwrap().clone();
    assert!(!received.is_empty(), "nothing was exported");
    assert!(
        received
            .iter()
            .all(|(content_type, _)| content_type == "application/json")
    );
    let exported: Vec<serde_json::Value> = received
        .iter()
        .map(|(_, body)| serde_json::from_slice(body).unwrap())
        .collect();
    let spans: Vec<&serde_json::Value> = exported
        .iter()
        .flat_map(|export| export["resourceSpans"].as_array().unwrap())
        .flat_map(|r| r["scopeSpans"].as_array().unwrap())
        .flat_map(|s| s["spans"].as_array().unwrap())
        .collect();
    for export in &exported {
        let resource = &export["resourceSpans"][0]["resource"];
        assert_eq!(
            attribute(resource, "service.name").as_deref(),
            Some("bpaas-under-test")
        );
    }
    let request = spans
        .iter()
        .find(|span| attribute(span, "id").as_deref() == Some("otel-json-1"))
        .unwrap_or_else(|| panic!("no span of the request in {spans:?}"));
    assert_eq!(request["name"], "request");
    assert_eq!(request["traceId"], trace_id);
    assert_eq!(request["parentSpanId"], caller_span);
    assert_eq!(request["kind"], 2, "a server span: {request}");
    assert_eq!(attribute(request, "path").as_deref(), Some("/graphql"));
    assert_eq!(attribute(request, "operation").as_deref(), Some("Probe"));
    assert_eq!(
        attribute(request, "http.response.status_code").as_deref(),
        Some("200")
    );

    // The default protocol, protobuf: the same request id and the caller's trace id (raw
    // bytes in the message) arrive.
    exports.lock().unwrap().clear();
    let mut served = serve_with(db.url(), &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)]);
    let response = reqwest::Client::new()
        .get(format!("http://{}/healthz", served.addr))
        .header("x-request-id", "otel-protobuf-1")
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    stop(&mut served.child).await;
    let received = exports.lock().unwrap().clone();
    let trace_bytes: Vec<u8> = (0..trace_id.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&trace_id[i..i + 2], 16).unwrap())
        .collect();
    let contains = |body: &[u8], part: &[u8]| body.windows(part.len()).any(|w| w == part);
    assert!(
        received.iter().any(|(content_type, body)| {
            content_type == "application/x-protobuf"
                && contains(body, b"otel-protobuf-1")
                && contains(body, &trace_bytes)
        }),
        "no protobuf export of the request's span: {received:?}"
    );
}

/// A running `bpaas serve` that logs JSON lines.
struct Served {
    child: std::process::Child,
    addr: String,
    /// Its log lines after the one that says where it listens.
    logs: std::sync::mpsc::Receiver<serde_json::Value>,
}

/// Starts `bpaas serve` with `env`, logging JSON at `RUST_LOG=info,bpaas=debug`.
fn serve_with(database_url: &str, env: &[(&str, &str)]) -> Served {
    let mut command = Command::new(BIN);
    command
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            database_url,
        ])
        .env("BPAAS_JWT_SECRET", crate::common::JWT_SECRET)
        .env("BPAAS_LOG_FORMAT", "json")
        .env("RUST_LOG", "info,bpaas=debug")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(&line)
                .unwrap_or_else(|_| panic!("a log line that is not JSON: {line}"))
        });
    let listening = lines
        .by_ref()
        .find(|line| line["fields"]["message"] == "bpaas listening")
        .expect("the server says where it listens");
    assert_eq!(listening["level"], "INFO");
    let addr = listening["fields"]["addr"].as_str().unwrap().to_owned();
    // Reading on, so that its writes never meet a closed pipe.
    let (sender, logs) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines {
            let _ = sender.send(line);
        }
    });
    Served { child, addr, logs }
}

#[tokio::test]
async fn a_request_that_never_finishes_does_not_hold_up_a_shutdown() {
    use std::io::Write;
    let db = TestDb::create().await;
    let Served {
        mut child, addr, ..
    } = serve_with(db.url(), &[("BPAAS_SHUTDOWN_TIMEOUT_SECONDS", "1")]);
    // A client that announces a body it never sends.
    let mut stalled = std::net::TcpStream::connect(&addr).unwrap();
    stalled
        .write_all(b"POST /graphql HTTP/1.1\r\nHost: bpaas\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"query\"")
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let signalled = std::time::Instant::now();
    // Past its 15 s, the server would be waiting for the stalled request.
    stop(&mut child).await;
    assert!(
        signalled.elapsed() >= std::time::Duration::from_secs(1),
        "in-flight requests get their time"
    );
}

#[tokio::test]
async fn a_closed_log_stream_costs_log_lines_not_requests() {
    let db = TestDb::create().await;
    let mut child = Command::new(BIN)
        .args(["serve", "--bind", "127.0.0.1:0", "--database-url", db.url()])
        .env("BPAAS_JWT_SECRET", crate::common::JWT_SECRET)
        .env("RUST_LOG", "info,bpaas=debug")
        .env("BPAAS_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let addr = {
        let stderr = BufReader::new(child.stderr.take().unwrap());
        stderr
            .lines()
            .map_while(Result::ok)
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(&line).ok())
            .find_map(|line| line["fields"]["addr"].as_str().map(str::to_owned))
            .expect("the server says where it listens")
        // The log collector goes away: its end of the pipe closes here.
    };
    for _ in 0..3 {
        let response = reqwest::get(format!("http://{addr}/healthz"))
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            200,
            "each request logs a line nobody reads"
        );
    }
    stop(&mut child).await;
}

async fn tenant_command(database_url: &str, args: &[&str]) -> Vec<serde_json::Value> {
    let output =
        crate::common::run_bpaas(&[&["tenant"], args, &["--database-url", database_url]].concat())
            .await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[tokio::test]
async fn an_operator_lists_disables_and_enables_tenants() {
    let server = crate::common::TestServer::start().await;
    let acme = server.tenant("acme").await;
    let globex = server.tenant("globex").await;
    let url = server.database_url().to_owned();
    let listed = tenant_command(&url, &["list"]).await;
    let slugs: Vec<&str> = listed.iter().map(|t| t["slug"].as_str().unwrap()).collect();
    assert_eq!(slugs, ["acme", "globex"]);
    assert_eq!(listed[0]["id"], acme.id.to_string());
    assert_eq!(listed[0]["disabled"], false);

    let me = "{ me { email } }";
    let (_, key) = crate::integrations::tenant_key(&server, &acme, &["VIEWER"]).await;
    let by_key = server.gql(Some(&key), me, serde_json::json!({})).await;
    assert!(by_key["errors"].is_null(), "{by_key}");
    let disabled = tenant_command(&url, &["disable", "--slug", "acme"]).await;
    assert_eq!(disabled[0]["disabled"], true);
    // Its token stops working at once, and no one of its signs in; other tenants go on.
    let refused = server
        .gql(Some(&acme.token), me, serde_json::json!({}))
        .await;
    assert_eq!(
        crate::common::error_code(&refused),
        "UNAUTHENTICATED",
        "{refused}"
    );
    let login = "mutation($t: String!, $e: String!, $p: String!) { login(tenant: $t, email: $e, password: $p) { token } }";
    let vars = serde_json::json!({ "t": "acme", "e": acme.admin_email, "p": crate::common::ADMIN_PASSWORD });
    let no_login = server.gql(None, login, vars.clone()).await;
    assert_eq!(
        crate::common::error_code(&no_login),
        "UNAUTHENTICATED",
        "{no_login}"
    );
    if server.on_postgres() {
        // Replicas forget the tenant's verified keys on the command's notice; on SQLite (one
        // process, no notices) a cached key lasts its minute.
        let mut refused = serde_json::Value::Null;
        for _ in 0..40 {
            refused = server.gql(Some(&key), me, serde_json::json!({})).await;
            if crate::common::error_code(&refused) == "UNAUTHENTICATED" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(
            crate::common::error_code(&refused),
            "UNAUTHENTICATED",
            "{refused}"
        );
    }
    let other = server
        .gql(Some(&globex.token), me, serde_json::json!({}))
        .await;
    assert!(other["errors"].is_null(), "{other}");
    let listed = tenant_command(&url, &["list"]).await;
    assert_eq!(
        (&listed[0]["disabled"], &listed[1]["disabled"]),
        (&serde_json::json!(true), &serde_json::json!(false))
    );

    tenant_command(&url, &["enable", "--slug", "acme"]).await;
    let back = server
        .gql(Some(&acme.token), me, serde_json::json!({}))
        .await;
    assert_eq!(
        back["data"]["me"]["email"],
        acme.admin_email.as_str(),
        "{back}"
    );
    let signed_in = server.gql(None, login, vars).await;
    assert!(
        signed_in["data"]["login"]["token"].is_string(),
        "{signed_in}"
    );

    let unknown = crate::common::run_bpaas(&[
        "tenant",
        "disable",
        "--slug",
        "nobody",
        "--database-url",
        &url,
    ])
    .await;
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("tenant not found"));
}

/// Rows of `tenant` in every table that has a `tenant_id`, by table.
async fn rows_of(
    db: &sea_orm::DatabaseConnection,
    tenant: uuid::Uuid,
) -> std::collections::BTreeMap<String, i64> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let backend = db.get_database_backend();
    let tables = match backend {
        DbBackend::Postgres => {
            "SELECT table_name AS name FROM information_schema.columns \
             WHERE column_name = 'tenant_id' AND table_schema = 'public'"
        }
        _ => {
            "SELECT m.name AS name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND p.name = 'tenant_id'"
        }
    };
    let mut counts = std::collections::BTreeMap::new();
    for row in db
        .query_all_raw(Statement::from_string(backend, tables))
        .await
        .unwrap()
    {
        let table: String = row.try_get("", "name").unwrap();
        let placeholder = if backend == DbBackend::Postgres {
            "$1"
        } else {
            "?"
        };
        let count = format!("SELECT COUNT(*) AS n FROM {table} WHERE tenant_id = {placeholder}");
        let found = db
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                count,
                [tenant.into()],
            ))
            .await
            .unwrap()
            .unwrap();
        counts.insert(table, found.try_get::<i64>("", "n").unwrap());
    }
    counts
}

#[tokio::test]
async fn an_operator_deletes_a_tenant_and_everything_it_owns() {
    let server = crate::common::TestServer::start().await;
    let acme = server.tenant("acme").await;
    let globex = server.tenant("globex").await;
    for tenant in [&acme, &globex] {
        for query in [
            "mutation { createAccount(input: { name: \"Maju\" }) { id } }",
            "mutation { createContact(input: { lastName: \"Lim\" }) { id } }",
            "mutation { createTicket(input: { title: \"Broken\" }) { id } }",
        ] {
            let done = server
                .gql(Some(&tenant.token), query, serde_json::json!({}))
                .await;
            assert!(done["errors"].is_null(), "{done}");
        }
    }
    let url = server.database_url().to_owned();
    let before = rows_of(&server.app.db, acme.id).await;
    assert!(before["event_log"] > 0 && before["accounts"] > 0 && before["users"] > 0);

    let wrong = crate::common::run_bpaas(&[
        "tenant",
        "delete",
        "--slug",
        "acme",
        "--confirm",
        "acm",
        "--database-url",
        &url,
    ])
    .await;
    assert!(!wrong.status.success());
    assert_eq!(
        rows_of(&server.app.db, acme.id).await,
        before,
        "nothing deleted"
    );

    let deleted = tenant_command(&url, &["delete", "--slug", "acme", "--confirm", "acme"]).await;
    assert_eq!(deleted[0]["deleted"], true);
    assert_eq!(deleted[0]["rows"]["event_log"], before["event_log"]);
    let left: Vec<(String, i64)> = rows_of(&server.app.db, acme.id)
        .await
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect();
    assert!(left.is_empty(), "rows left behind: {left:?}");
    let slugs: Vec<String> = tenant_command(&url, &["list"])
        .await
        .iter()
        .map(|t| t["slug"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(slugs, ["globex"]);
    let gone = server
        .gql(Some(&acme.token), "{ me { email } }", serde_json::json!({}))
        .await;
    assert_eq!(crate::common::error_code(&gone), "UNAUTHENTICATED");
    // The other tenant keeps everything.
    let theirs = server
        .gql(
            Some(&globex.token),
            "{ accounts { totalCount } contacts { totalCount } tickets { totalCount } }",
            serde_json::json!({}),
        )
        .await;
    assert_eq!(
        theirs["data"],
        serde_json::json!({ "accounts": { "totalCount": 1 }, "contacts": { "totalCount": 1 }, "tickets": { "totalCount": 1 } })
    );
}

async fn import_archive(database_url: &str, file: &str) -> std::process::Output {
    crate::common::run_bpaas(&[
        "tenant",
        "import",
        "--file",
        file,
        "--database-url",
        database_url,
    ])
    .await
}

/// A tenant moves between clusters as an archive: exported, deleted, imported, it has every row
/// back as it was (ids, password hashes, relations), its administrator signs in again, and an
/// archive is not imported twice. On SQLite the commands say they need PostgreSQL.
#[tokio::test]
async fn an_operator_moves_a_tenant_through_an_archive() {
    let server = crate::common::TestServer::start().await;
    let acme = server.tenant("acme").await;
    let globex = server.tenant("globex").await;
    let account = server
        .gql(
            Some(&acme.token),
            "mutation { createAccount(input: { name: \"Maju\", annualRevenue: \"1234567.89\" }) { id } }",
            serde_json::json!({}),
        )
        .await;
    let account_id = account["data"]["createAccount"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (token, query) in [
        (
            &acme.token,
            "mutation($a: ID!) { createContact(input: { lastName: \"Lim\", accountId: $a }) { id } }",
        ),
        (
            &acme.token,
            "mutation { createLead(input: { lastName: \"Tan\", company: \"Tan Co\" }) { id } }",
        ),
        (
            &acme.token,
            "mutation { createTicket(input: { title: \"Broken\" }) { id } }",
        ),
        (
            &globex.token,
            "mutation { createAccount(input: { name: \"Other\" }) { id } }",
        ),
    ] {
        let done = server
            .gql(Some(token), query, serde_json::json!({ "a": account_id }))
            .await;
        assert!(done["errors"].is_null(), "{done}");
    }
    let url = server.database_url().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("acme.jsonl");
    let archive_arg = archive.to_str().unwrap();
    let exported = crate::common::run_bpaas(&[
        "tenant",
        "export",
        "--slug",
        "acme",
        "--file",
        archive_arg,
        "--database-url",
        &url,
    ])
    .await;
    if !server.on_postgres() {
        assert!(!exported.status.success());
        let message = String::from_utf8_lossy(&exported.stderr);
        assert!(message.contains("need PostgreSQL"), "{message}");
        return;
    }
    assert!(
        exported.status.success(),
        "{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let text = std::fs::read_to_string(&archive).unwrap();
    assert!(
        !text.contains(&globex.id.to_string()),
        "nothing of another tenant"
    );
    let before = rows_of(&server.app.db, acme.id).await;

    tenant_command(&url, &["delete", "--slug", "acme", "--confirm", "acme"]).await;
    let nothing_of_acme = || async {
        let rows = rows_of(&server.app.db, acme.id).await;
        assert!(rows.values().all(|n| *n == 0), "{rows:?}");
    };
    nothing_of_acme().await;
    // An archive with a line that is not one of its tenant's rows changes nothing.
    let tampered = dir.path().join("tampered.jsonl");
    std::fs::write(
        &tampered,
        format!("{text}{{\"table\":\"pg_authid\",\"row\":{{}}}}\n"),
    )
    .unwrap();
    let refused = import_archive(&url, tampered.to_str().unwrap()).await;
    assert!(!refused.status.success());
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("no tenant table 'pg_authid'"), "{message}");
    nothing_of_acme().await;
    assert_eq!(
        tenant_command(&url, &["list"]).await.len(),
        1,
        "all or nothing"
    );
    let imported = import_archive(&url, archive_arg).await;
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&imported.stdout).unwrap();
    assert_eq!(printed["tenantId"], acme.id.to_string());
    assert_eq!(rows_of(&server.app.db, acme.id).await, before);

    let token = server
        .login("acme", &acme.admin_email, crate::common::ADMIN_PASSWORD)
        .await;
    let back = server
        .gql(
            Some(&token),
            "query($a: ID!) { account(id: $a) { name annualRevenue contacts { lastName } } leads { totalCount } tickets { totalCount } }",
            serde_json::json!({ "a": account_id }),
        )
        .await;
    assert_eq!(
        back["data"],
        serde_json::json!({
            "account": { "name": "Maju", "annualRevenue": "1234567.89", "contacts": [{ "lastName": "Lim" }] },
            "leads": { "totalCount": 1 },
            "tickets": { "totalCount": 1 },
        }),
        "{back}"
    );

    let again = import_archive(&url, archive_arg).await;
    assert!(!again.status.success());
    let message = String::from_utf8_lossy(&again.stderr);
    assert!(message.contains("already exists"), "{message}");
}
