//! The command line: `serve`, `migrate`, `schema`,
//! `tenant create|list|disable|enable|delete|export|import`.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use tokio::net::TcpListener;

use crate::auth::token::TokenKeys;
use crate::config::{
    AuthConfig, Config, DEFAULT_BIND, DEFAULT_DATABASE_URL, Limits, WebhookConfig,
};
use crate::platform::{archive, tenants, users};
use crate::telemetry::Telemetry;
use crate::{db, demo, graphql, server};

#[derive(Parser)]
#[command(name = "bpaas", version, about = "Business Process as a Service")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply migrations, then serve the GraphQL API.
    Serve(ServeArgs),
    /// Apply migrations and exit.
    Migrate(DatabaseArgs),
    /// Print the GraphQL schema (SDL) to stdout.
    Schema,
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
}

#[derive(Args)]
struct DatabaseArgs {
    #[arg(long, env = "BPAAS_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    database_url: String,
}

#[derive(Args)]
struct ServeArgs {
    #[arg(long, env = "BPAAS_BIND", default_value = DEFAULT_BIND)]
    bind: String,
    #[command(flatten)]
    database: DatabaseArgs,
    /// Create (once) a demo tenant and print how to sign in to it.
    #[arg(long)]
    demo: bool,
    /// HS256 signing secret (at least 32 bytes). Without it, one is generated and kept in a file.
    #[arg(long, env = "BPAAS_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<String>,
    /// Where the generated secret is kept (default: next to the SQLite file).
    #[arg(long, env = "BPAAS_JWT_SECRET_FILE")]
    jwt_secret_file: Option<std::path::PathBuf>,
    /// PEM public key of an external identity provider (RS256 or ES256 tokens).
    #[arg(long, env = "BPAAS_JWT_PUBLIC_KEY")]
    jwt_public_key: Option<String>,
    /// The `iss` an external provider's tokens must carry.
    #[arg(long, env = "BPAAS_JWT_ISSUER")]
    jwt_issuer: Option<String>,
    /// The `aud` an external provider's tokens must carry.
    #[arg(long, env = "BPAAS_JWT_AUDIENCE")]
    jwt_audience: Option<String>,
    /// Lifetime of tokens issued by `login`, in seconds.
    #[arg(long, env = "BPAAS_TOKEN_TTL_SECONDS", default_value_t = 8 * 3600)]
    token_ttl_seconds: u64,
    #[arg(long, env = "BPAAS_MAX_QUERY_DEPTH", default_value_t = Limits::default().query_depth)]
    max_query_depth: usize,
    #[arg(long, env = "BPAAS_MAX_QUERY_COMPLEXITY", default_value_t = Limits::default().query_complexity)]
    max_query_complexity: usize,
    #[arg(long, env = "BPAAS_MAX_ALIASES", default_value_t = Limits::default().max_aliases)]
    max_aliases: usize,
    #[arg(long, env = "BPAAS_WS_MAX_OPERATIONS", default_value_t = Limits::default().ws_max_operations)]
    ws_max_operations: usize,
    #[arg(long, env = "BPAAS_WS_MAX_CONNECTIONS_PER_USER", default_value_t = Limits::default().ws_max_connections_per_user)]
    ws_max_connections_per_user: usize,
    #[arg(long, env = "BPAAS_WS_READ_BUFFER_BYTES", default_value_t = Limits::default().ws_read_buffer_bytes)]
    ws_read_buffer_bytes: usize,
    #[arg(long, env = "BPAAS_WS_WRITE_BUFFER_BYTES", default_value_t = Limits::default().ws_write_buffer_bytes)]
    ws_write_buffer_bytes: usize,
    #[arg(long, env = "BPAAS_MAX_PAGE_SIZE", default_value_t = Limits::default().max_page_size)]
    max_page_size: u64,
    #[arg(long, env = "BPAAS_MAX_BODY_BYTES", default_value_t = Limits::default().body_bytes)]
    max_body_bytes: usize,
    #[arg(long, env = "BPAAS_MAX_IMPORT_BYTES", default_value_t = Limits::default().import_bytes)]
    max_import_bytes: usize,
    /// How long a request waits for a PostgreSQL connection before SERVICE_UNAVAILABLE.
    #[arg(long, env = "BPAAS_DB_ACQUIRE_TIMEOUT_MS", default_value_t = 2000)]
    db_acquire_timeout_ms: u64,
    /// Database connections the server keeps for requests (a second, smaller pool runs jobs).
    #[arg(long, env = "BPAAS_DB_POOL_SIZE", default_value_t = Limits::default().db_pool_size)]
    db_pool_size: u32,
    /// Let webhooks reach loopback, private and link-local addresses (refused by default).
    #[arg(long, env = "BPAAS_WEBHOOKS_ALLOW_PRIVATE_TARGETS")]
    webhooks_allow_private_targets: bool,
    /// How long a webhook receiver may take to answer, in seconds.
    #[arg(long, env = "BPAAS_WEBHOOK_TIMEOUT_SECONDS", default_value_t = 10)]
    webhook_timeout_seconds: u64,
    /// How long a shutdown waits for in-flight requests before it stops anyway, in seconds.
    #[arg(long, env = "BPAAS_SHUTDOWN_TIMEOUT_SECONDS", default_value_t = 30)]
    shutdown_timeout_seconds: u64,
    /// How many days the event log keeps entries; 0 keeps them all.
    #[arg(long, env = "BPAAS_EVENT_LOG_RETENTION_DAYS", default_value_t = 0)]
    event_log_retention_days: u64,
}

impl ServeArgs {
    fn config(&self) -> Config {
        let defaults = Limits::default();
        Config {
            bind: self.bind.clone(),
            database_url: self.database.database_url.clone(),
            auth: AuthConfig {
                jwt_secret: self.jwt_secret.clone(),
                jwt_secret_file: self.jwt_secret_file.clone(),
                jwt_public_key: self.jwt_public_key.clone(),
                jwt_issuer: self.jwt_issuer.clone(),
                jwt_audience: self.jwt_audience.clone(),
                token_ttl: Duration::from_secs(self.token_ttl_seconds),
            },
            limits: Limits {
                query_depth: self.max_query_depth,
                query_complexity: self.max_query_complexity,
                max_aliases: self.max_aliases,
                ws_max_operations: self.ws_max_operations,
                ws_max_connections_per_user: self.ws_max_connections_per_user,
                ws_read_buffer_bytes: self.ws_read_buffer_bytes.max(256),
                ws_write_buffer_bytes: self.ws_write_buffer_bytes,
                max_page_size: self.max_page_size,
                default_page_size: defaults.default_page_size.min(self.max_page_size),
                body_bytes: self.max_body_bytes,
                import_bytes: self.max_import_bytes,
                db_acquire_timeout: Duration::from_millis(self.db_acquire_timeout_ms.max(1)),
                db_pool_size: self.db_pool_size.max(1),
                shutdown_timeout: Duration::from_secs(self.shutdown_timeout_seconds),
                event_log_retention: (self.event_log_retention_days > 0).then(|| {
                    Duration::from_secs(self.event_log_retention_days.saturating_mul(86_400))
                }),
                ..defaults
            },
            webhooks: WebhookConfig {
                allow_private_targets: self.webhooks_allow_private_targets,
                timeout: Duration::from_secs(self.webhook_timeout_seconds.clamp(1, 60)),
                ..WebhookConfig::default()
            },
        }
    }
}

#[derive(Subcommand)]
enum TenantCommand {
    /// List the tenants, one JSON object a line: id, slug, name, createdAt, disabled.
    List {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Disable a tenant: no sign-in, token or API key of its works until it is enabled.
    Disable {
        #[arg(long)]
        slug: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Enable a disabled tenant again.
    Enable {
        #[arg(long)]
        slug: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Delete a tenant and all its data, for good. `--confirm` must repeat the slug.
    Delete {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        confirm: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Write a tenant's data as an archive (JSON Lines) to move it to another cluster
    /// (PostgreSQL). Prints the rows per table to stderr.
    Export {
        #[arg(long)]
        slug: String,
        /// Where to write the archive (default: standard output).
        #[arg(long)]
        file: Option<std::path::PathBuf>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Read an archive written by `tenant export` as a new tenant, all or nothing
    /// (PostgreSQL, the same release). Prints {"tenantId", "rows"}.
    Import {
        /// The archive (default: standard input).
        #[arg(long)]
        file: Option<std::path::PathBuf>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Create a tenant with its first administrator; prints {"tenantId", "adminUserId"}.
    Create {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        admin_email: String,
        /// The administrator's password. Prefer BPAAS_ADMIN_PASSWORD or --admin-password-stdin:
        /// a command line is visible to every user of the machine.
        #[arg(long, env = "BPAAS_ADMIN_PASSWORD", hide_env_values = true)]
        admin_password: Option<String>,
        /// Read the administrator's password from the first line of standard input.
        #[arg(long, conflicts_with = "admin_password")]
        admin_password_stdin: bool,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Only a server's spans are worth exporting; the other commands log.
    let telemetry = match Telemetry::init(matches!(cli.command, Command::Serve(_))) {
        Ok(telemetry) => Some(telemetry),
        Err(problem) => {
            tracing::error!(%problem, "tracing");
            None
        }
    };
    crate::registry::install();
    let result = match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Migrate(args) => migrate(&args.database_url).await,
        Command::Schema => {
            print!("{}", graphql::sdl());
            Ok(())
        }
        Command::Tenant {
            command: TenantCommand::List { database },
        } => list_tenants(&database.database_url).await,
        Command::Tenant {
            command: TenantCommand::Disable { slug, database },
        } => set_tenant_disabled(&database.database_url, &slug, true).await,
        Command::Tenant {
            command: TenantCommand::Enable { slug, database },
        } => set_tenant_disabled(&database.database_url, &slug, false).await,
        Command::Tenant {
            command:
                TenantCommand::Delete {
                    slug,
                    confirm,
                    database,
                },
        } => delete_tenant(&database.database_url, &slug, &confirm).await,
        Command::Tenant {
            command:
                TenantCommand::Export {
                    slug,
                    file,
                    database,
                },
        } => export_tenant(&database.database_url, &slug, file).await,
        Command::Tenant {
            command: TenantCommand::Import { file, database },
        } => import_tenant(&database.database_url, file).await,
        Command::Tenant {
            command:
                TenantCommand::Create {
                    slug,
                    name,
                    admin_email,
                    admin_password,
                    admin_password_stdin,
                    database,
                },
        } => match admin_password_from(admin_password, admin_password_stdin) {
            Ok(admin_password) => {
                let new = tenants::NewTenant {
                    slug,
                    name,
                    admin_email,
                    admin_password,
                };
                create_tenant(&database.database_url, new).await
            }
            Err(message) => Err(message),
        },
    };
    if let Some(telemetry) = telemetry {
        telemetry.shutdown();
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The password from the flag or BPAAS_ADMIN_PASSWORD (clap reads both into one value), or from
/// standard input.
fn admin_password_from(given: Option<String>, from_stdin: bool) -> Result<String, String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    given.ok_or_else(|| {
        "give the administrator's password in BPAAS_ADMIN_PASSWORD, or on standard input with \
         --admin-password-stdin"
            .to_owned()
    })
}

async fn connect(database_url: &str) -> Result<sea_orm::DatabaseConnection, String> {
    db::connect(database_url, db::CLI_ACQUIRE_TIMEOUT)
        .await
        .map_err(|e| e.to_string())
}

/// Running replicas forget the tenant's verified API keys (tokens are checked against the
/// database on every request anyway).
async fn keys_changed(db: &sea_orm::DatabaseConnection, tenant_id: uuid::Uuid) {
    let notice = format!("{}{tenant_id}", crate::events::KEYS_NOTICE);
    crate::app::notify_replicas(db, notice).await;
}

async fn migrate(database_url: &str) -> Result<(), String> {
    let db = connect(database_url).await?;
    db::migrate(&db).await.map_err(|e| e.to_string())?;
    eprintln!("migrations applied");
    Ok(())
}

async fn create_tenant(database_url: &str, new: tenants::NewTenant) -> Result<(), String> {
    let db = connect(database_url).await?;
    db::migrate(&db).await.map_err(|e| e.to_string())?;
    let (tenant, admin) = tenants::create_tenant(&db, new)
        .await
        .map_err(|e| e.message())?;
    println!(
        "{}",
        serde_json::json!({ "tenantId": tenant.id, "adminUserId": admin.id })
    );
    Ok(())
}

fn tenant_json(tenant: &entity::platform::tenant::Model) -> serde_json::Value {
    serde_json::json!({
        "id": tenant.id,
        "slug": tenant.slug,
        "name": tenant.name,
        "createdAt": tenant.created_at,
        "disabled": tenant.disabled_at.is_some(),
    })
}

async fn list_tenants(database_url: &str) -> Result<(), String> {
    let db = connect(database_url).await?;
    for tenant in tenants::list(&db).await.map_err(|e| e.message())? {
        println!("{}", tenant_json(&tenant));
    }
    Ok(())
}

/// Disables or enables a tenant, and tells running replicas to forget its verified API keys.
async fn set_tenant_disabled(database_url: &str, slug: &str, disabled: bool) -> Result<(), String> {
    let db = connect(database_url).await?;
    let tenant = tenants::set_disabled(&db, slug, disabled)
        .await
        .map_err(|e| e.message())?;
    keys_changed(&db, tenant.id).await;
    println!("{}", tenant_json(&tenant));
    Ok(())
}

async fn delete_tenant(database_url: &str, slug: &str, confirm: &str) -> Result<(), String> {
    if confirm != slug {
        return Err("--confirm must repeat the tenant's slug".into());
    }
    let db = connect(database_url).await?;
    let (found, deleted) = tenants::delete(&db, slug).await.map_err(|e| e.message())?;
    keys_changed(&db, found.id).await;
    let rows: serde_json::Map<String, serde_json::Value> = deleted
        .into_iter()
        .map(|(table, rows)| (table.to_owned(), rows.into()))
        .collect();
    println!(
        "{}",
        serde_json::json!({ "id": found.id, "slug": found.slug, "deleted": true, "rows": rows })
    );
    Ok(())
}

async fn export_tenant(
    database_url: &str,
    slug: &str,
    file: Option<std::path::PathBuf>,
) -> Result<(), String> {
    let db = connect(database_url).await?;
    let mut out: Box<dyn std::io::Write> = match &file {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .map_err(|e| format!("cannot create {}: {e}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = std::io::BufWriter::new(&mut out);
    let counts = archive::export(&db, slug, &mut out)
        .await
        .map_err(|e| e.message())?;
    eprintln!("{}", serde_json::json!({ "slug": slug, "rows": counts }));
    Ok(())
}

async fn import_tenant(database_url: &str, file: Option<std::path::PathBuf>) -> Result<(), String> {
    let db = connect(database_url).await?;
    let input: Box<dyn std::io::BufRead> = match &file {
        Some(path) => Box::new(std::io::BufReader::new(
            std::fs::File::open(path)
                .map_err(|e| format!("cannot open {}: {e}", path.display()))?,
        )),
        None => Box::new(std::io::stdin().lock()),
    };
    let (tenant_id, counts) = archive::import(&db, input).await.map_err(|e| e.message())?;
    println!(
        "{}",
        serde_json::json!({ "tenantId": tenant_id, "rows": counts })
    );
    Ok(())
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let config = args.config();
    let app = server::build_app(&config).await?;
    let listener = TcpListener::bind(&config.bind)
        .await
        .map_err(|e| format!("cannot bind {}: {e}", config.bind))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(%addr, "bpaas listening");
    if args.demo {
        print_demo(&app.db, &app.tokens, addr).await?;
    }
    server::serve(listener, app, server::shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

async fn print_demo(
    db: &sea_orm::DatabaseConnection,
    tokens: &TokenKeys,
    addr: std::net::SocketAddr,
) -> Result<(), String> {
    let demo = demo::ensure(db).await.map_err(|e| e.message())?;
    let token = users::issue_token(tokens, &demo.admin).map_err(|e| e.message())?;
    let password = demo
        .admin_password
        .unwrap_or_else(|| format!("{} (unless changed since)", tenants::DEMO_ADMIN_PASSWORD));
    println!(
        "\nbpaas demo is ready.\n\n  Playground: http://{addr}/graphql\n  Tenant:     {}\n  E-mail:     {}\n  Password:   {password}\n\n  Bearer token (paste into the playground's Headers tab as {{\"Authorization\": \"Bearer <token>\"}}):\n  {token}\n\n  Or open, with the token filled in: http://{addr}/graphql#token={token}\n",
        demo.tenant.slug, demo.admin.email,
    );
    Ok(())
}
