//! Server configuration: typed, loaded once from flags and environment variables.

use std::path::PathBuf;
use std::time::Duration;

/// Limits protecting the server from oversized or abusive requests.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Deepest selection nesting a query may have.
    pub query_depth: usize,
    /// Highest cost a query may have: every field counts 1, and the fields under a list count
    /// once per item it may return (its page size, else an estimate; see `graphql::guard`).
    pub query_complexity: usize,
    /// Most aliased fields one document may have.
    pub max_aliases: usize,
    /// Largest page a connection returns; `first`/`last` above it are refused.
    pub max_page_size: u64,
    /// Page size when the client asks for none.
    pub default_page_size: u64,
    /// Largest accepted HTTP request body, in bytes.
    pub body_bytes: usize,
    /// Largest CSV file `POST /import/{module}` accepts, in bytes.
    pub import_bytes: usize,
    /// How long a WebSocket client may take to send `connection_init`.
    pub ws_init_timeout: Duration,
    /// Most operations (subscriptions, queries, mutations) running at once on one WebSocket.
    pub ws_max_operations: usize,
    /// Most WebSocket connections one user may hold open at once, on this replica.
    pub ws_max_connections_per_user: usize,
    /// How often an open WebSocket checks that its user is still active and its token not
    /// revoked (changes to the user on this replica are noticed at once).
    pub ws_recheck_interval: Duration,
    /// Bytes a WebSocket reads at a time; its read buffer holds this much for as long as it is
    /// open, so it bounds the memory of idle subscribers. Larger messages still arrive, in
    /// several reads: what subscribers send (subscribe, ping, complete) fits in 1 KiB.
    pub ws_read_buffer_bytes: usize,
    /// Bytes a WebSocket gathers before writing to the network (every message is flushed).
    pub ws_write_buffer_bytes: usize,
    /// How long a request waits for a database connection before answering SERVICE_UNAVAILABLE.
    pub db_acquire_timeout: Duration,
    /// Connections in the request pool.
    pub db_pool_size: u32,
    /// How long a shutdown waits for in-flight requests before it stops anyway.
    pub shutdown_timeout: Duration,
    /// How long the event log keeps entries (see `events::purge_expired`); none: for ever.
    pub event_log_retention: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            // The standard introspection query (GraphiQL's, graphql-js's) is 15 deep.
            query_depth: 15,
            query_complexity: 20_000,
            max_aliases: 100,
            max_page_size: 100,
            default_page_size: 20,
            body_bytes: 1024 * 1024,
            import_bytes: 64 * 1024 * 1024,
            ws_init_timeout: Duration::from_secs(10),
            ws_max_operations: 100,
            ws_max_connections_per_user: 20,
            ws_recheck_interval: Duration::from_secs(60),
            ws_read_buffer_bytes: 1024,
            ws_write_buffer_bytes: 4 * 1024,
            shutdown_timeout: Duration::from_secs(30),
            event_log_retention: None,
            db_acquire_timeout: Duration::from_secs(2),
            db_pool_size: 16,
        }
    }
}

/// Where the keys for verifying and signing tokens come from. `Debug` leaves the secret out.
#[derive(Clone)]
pub struct AuthConfig {
    /// HS256 secret. `None` means: load or create the secret file.
    pub jwt_secret: Option<String>,
    /// Where a generated secret is kept when none is configured.
    pub jwt_secret_file: Option<PathBuf>,
    /// PEM public key (RSA or EC P-256) of an external identity provider.
    pub jwt_public_key: Option<String>,
    /// When set, external tokens must carry this `iss`.
    pub jwt_issuer: Option<String>,
    /// When set, external tokens must carry this `aud`.
    pub jwt_audience: Option<String>,
    /// Lifetime of tokens issued by `login`.
    pub token_ttl: Duration,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field(
                "jwt_secret",
                &self.jwt_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("jwt_secret_file", &self.jwt_secret_file)
            .field("jwt_public_key", &self.jwt_public_key.is_some())
            .field("jwt_issuer", &self.jwt_issuer)
            .field("jwt_audience", &self.jwt_audience)
            .field("token_ttl", &self.token_ttl)
            .finish()
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            jwt_secret_file: None,
            jwt_public_key: None,
            jwt_issuer: None,
            jwt_audience: None,
            token_ttl: Duration::from_secs(8 * 3600),
        }
    }
}

/// Where webhooks may be delivered and how long a receiver may take.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    /// Allow loopback, private, link-local and other non-public targets (for receivers inside
    /// the provider's own network, and tests). Off by default: a tenant must not be able to
    /// make the server call its neighbours.
    pub allow_private_targets: bool,
    /// How long a receiver may take to answer one delivery.
    pub timeout: Duration,
    /// The wait before the first retry; each further one waits twice as long, up to an hour.
    pub first_retry: Duration,
    /// A webhook that has failed for this long is disabled.
    pub give_up_after: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            allow_private_targets: false,
            timeout: Duration::from_secs(10),
            first_retry: Duration::from_secs(5),
            give_up_after: Duration::from_secs(24 * 3600),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub bind: String,
    pub database_url: String,
    pub auth: AuthConfig,
    pub limits: Limits,
    pub webhooks: WebhookConfig,
}

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://bpaas.db?mode=rwc";

impl Config {
    pub fn new(bind: impl Into<String>, database_url: impl Into<String>) -> Self {
        Self {
            bind: bind.into(),
            database_url: database_url.into(),
            auth: AuthConfig::default(),
            limits: Limits::default(),
            webhooks: WebhookConfig::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_secret() {
        let mut config = Config::new(DEFAULT_BIND, DEFAULT_DATABASE_URL);
        config.auth.jwt_secret = Some("do-not-print-this-secret-0123456789abcdef".into());
        let printed = format!("{config:?}");
        assert!(!printed.contains("do-not-print-this-secret"), "{printed}");
        assert!(printed.contains("<redacted>"));
    }
}
