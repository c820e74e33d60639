//! Test harness: a real server on a random port, over its own database (a fresh SQLite file,
//! or a fresh PostgreSQL database when `BPAAS_TEST_DATABASE_URL` is set), spoken to over HTTP.

pub mod ws;

use std::net::SocketAddr;

use bpaas::app::SharedApp;
use bpaas::config::Config;
use bpaas::platform::tenants::{self, NewTenant};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use uuid::Uuid;

pub const JWT_SECRET: &str = "test-secret-that-is-long-enough-for-hs256-0123456789";
pub const ADMIN_PASSWORD: &str = "admin-password-1";

/// Runs the `bpaas` binary to its end without blocking this test's runtime: a test server
/// shares the runtime, and frozen mid-transaction it would hold SQLite's write lock against the
/// very command it waits for (which then fails after the busy timeout).
pub async fn run_bpaas(args: &[&str]) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_bpaas"));
    command.args(args).env_remove("BPAAS_DATABASE_URL");
    tokio::task::spawn_blocking(move || command.output().expect("bpaas runs"))
        .await
        .expect("the command's thread")
}

/// A database owned by one test, removed when the test ends.
pub enum TestDb {
    Sqlite {
        _dir: tempfile::TempDir,
        url: String,
    },
    Postgres {
        server_url: String,
        name: String,
        url: String,
    },
    /// Another test server's database (a replica); its owner removes it.
    Shared { url: String },
}

impl TestDb {
    pub async fn create() -> TestDb {
        match std::env::var("BPAAS_TEST_DATABASE_URL") {
            Ok(server_url) if server_url.starts_with("postgres") => {
                let name = format!("bpaas_test_{}", Uuid::now_v7().simple());
                let admin = Database::connect(&server_url)
                    .await
                    .expect("connect to PostgreSQL");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                let base = server_url
                    .rsplit_once('/')
                    .map(|(b, _)| b)
                    .unwrap_or(&server_url);
                TestDb::Postgres {
                    url: format!("{base}/{name}"),
                    server_url,
                    name,
                }
            }
            _ => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}/bpaas.db?mode=rwc", dir.path().display());
                TestDb::Sqlite { _dir: dir, url }
            }
        }
    }

    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } | TestDb::Shared { url } => {
                url
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres {
            server_url, name, ..
        } = self
        {
            let (server_url, name) = (server_url.clone(), name.clone());
            // Drop runs inside the test's runtime; a fresh thread may block on its own one.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(async {
                    if let Ok(admin) = Database::connect(&server_url).await {
                        let _ = admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub app: SharedApp,
    _db: TestDb,
    http: reqwest::Client,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Stops the server and its background workers before the database goes away.
        self.app.shutdown.send_replace(true);
    }
}

/// A tenant with its administrator signed in.
pub struct Tenant {
    pub slug: String,
    pub id: Uuid,
    pub admin_id: Uuid,
    pub admin_email: String,
    pub token: String,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> TestServer {
        let db = TestDb::create().await;
        let mut config = Config::new("127.0.0.1:0", db.url());
        config.auth.jwt_secret = Some(JWT_SECRET.into());
        configure(&mut config);
        let (addr, app) = bpaas::server::spawn(&config).await.expect("server starts");
        TestServer {
            addr,
            app,
            _db: db,
            http: reqwest::Client::new(),
        }
    }

    /// A server on a database the caller owns (reached, say, through a proxy).
    pub async fn start_on(url: &str) -> TestServer {
        let mut config = Config::new("127.0.0.1:0", url);
        config.auth.jwt_secret = Some(JWT_SECRET.into());
        let (addr, app) = bpaas::server::spawn(&config).await.expect("server starts");
        TestServer {
            addr,
            app,
            _db: TestDb::Shared { url: url.into() },
            http: reqwest::Client::new(),
        }
    }

    /// A second server on the same database, as a replica of a scaled-out deployment.
    pub async fn replica(&self) -> TestServer {
        let url = self._db.url().to_owned();
        let mut config = Config::new("127.0.0.1:0", url.clone());
        config.auth.jwt_secret = Some(JWT_SECRET.into());
        let (addr, app) = bpaas::server::spawn(&config).await.expect("replica starts");
        TestServer {
            addr,
            app,
            _db: TestDb::Shared { url },
            http: reqwest::Client::new(),
        }
    }

    pub fn database_url(&self) -> &str {
        self._db.url()
    }

    pub fn on_postgres(&self) -> bool {
        matches!(self._db, TestDb::Postgres { .. })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The text of `GET /metrics`.
    pub async fn metrics(&self) -> String {
        let scrape = self.http.get(self.url("/metrics")).send().await.unwrap();
        assert_eq!(scrape.status(), reqwest::StatusCode::OK);
        scrape.text().await.unwrap()
    }

    /// Creates a tenant the way operators do, then signs its administrator in over the API.
    pub async fn tenant(&self, slug: &str) -> Tenant {
        let admin_email = format!("admin@{slug}.example.com");
        let (tenant, admin) = tenants::create_tenant(
            &self.app.db,
            NewTenant {
                slug: slug.into(),
                name: format!("{slug} Ltd"),
                admin_email: admin_email.clone(),
                admin_password: ADMIN_PASSWORD.into(),
            },
        )
        .await
        .map_err(|e| e.message())
        .expect("tenant created");
        let token = self.login(slug, &admin_email, ADMIN_PASSWORD).await;
        Tenant {
            slug: slug.into(),
            id: tenant.id,
            admin_id: admin.id,
            admin_email,
            token,
        }
    }

    pub async fn login(&self, tenant: &str, email: &str, password: &str) -> String {
        let response = self
            .gql(
                None,
                "mutation($t: String!, $e: String!, $p: String!) { login(tenant: $t, email: $e, password: $p) { token } }",
                json!({ "t": tenant, "e": email, "p": password }),
            )
            .await;
        response["data"]["login"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("login failed: {response}"))
            .to_owned()
    }

    /// Creates a user through the API and returns (id, token).
    pub async fn user(&self, tenant: &Tenant, email: &str, roles: &[&str]) -> (String, String) {
        let response = self
            .gql(
                Some(&tenant.token),
                "mutation($input: CreateUserInput!) { createUser(input: $input) { id } }",
                json!({ "input": {
                    "email": email, "displayName": email, "password": "user-password-1", "roles": roles
                }}),
            )
            .await;
        let id = response["data"]["createUser"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("createUser failed: {response}"))
            .to_owned();
        let token = self.login(&tenant.slug, email, "user-password-1").await;
        (id, token)
    }

    /// Publishes a new, unbound version of a built-in process template, so that the module's
    /// status is set by hand again (templates are editable).
    pub async fn unbind(&self, tenant: &Tenant, key: &str) {
        let body = json!({
            "states": [{ "name": "A", "initial": true }, { "name": "B", "final": true }],
            "transitions": [{ "name": "go", "from": ["A"], "to": "B" }]
        });
        let response = self
            .gql(
                Some(&tenant.token),
                "mutation($key: String!, $body: JSON!) { publishProcessDefinition(key: $key, name: \"Unbound\", body: $body) { problems { path } } }",
                json!({ "key": key, "body": body }),
            )
            .await;
        assert_eq!(
            response["data"]["publishProcessDefinition"]["problems"],
            json!([]),
            "{response}"
        );
    }

    /// POSTs a GraphQL request and returns the JSON body (whatever the status).
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .http
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request
            .send()
            .await
            .expect("request sent")
            .json()
            .await
            .expect("JSON body")
    }
}

/// The first error's `extensions.code`.
pub fn error_code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error with a code: {response}"))
}

/// The first error's `extensions.field`.
pub fn error_field(response: &Value) -> &str {
    response["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error with a field: {response}"))
}

/// Migrates `db` back to before the migration `name`: undoes it and every one after it, as a
/// database from before that upgrade would be.
pub async fn migrate_to_before(db: &sea_orm::DatabaseConnection, name: &str) {
    use migration::MigratorTrait;
    let migrations = migration::Migrator::migrations();
    let at = migrations
        .iter()
        .position(|m| m.name() == name)
        .unwrap_or_else(|| panic!("no migration {name}"));
    let steps = u32::try_from(migrations.len() - at).unwrap();
    migration::Migrator::down(db, Some(steps)).await.unwrap();
}
