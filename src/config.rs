//! Server configuration: typed, loaded once from flags and environment variables.

use std::path::PathBuf;
use std::time::Duration;

/// Limits protecting the server from oversized or abusive requests.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Deepest selection nesting a query may have.
    pub query_depth: usize,
    /// Highest complexity (roughly: number of fields, multiplied by page sizes) a query may have.
    pub query_complexity: usize,
    /// Largest page a connection returns; `first`/`last` above it are refused.
    pub max_page_size: u64,
    /// Page size when the client asks for none.
    pub default_page_size: u64,
    /// Largest accepted HTTP request body, in bytes.
    pub body_bytes: usize,
    /// How long a WebSocket client may take to send `connection_init`.
    pub ws_init_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            query_depth: 12,
            query_complexity: 5000,
            max_page_size: 100,
            default_page_size: 20,
            body_bytes: 1024 * 1024,
            ws_init_timeout: Duration::from_secs(10),
        }
    }
}

/// Where the keys for verifying and signing tokens come from.
#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// HS256 secret. `None` means: load or create the secret file.
    pub jwt_secret: Option<String>,
    /// Where a generated secret is kept when none is configured.
    pub jwt_secret_file: Option<PathBuf>,
    /// PEM public key (RSA or EC P-256) of an external identity provider.
    pub jwt_public_key: Option<String>,
    /// Lifetime of tokens issued by `login`.
    pub token_ttl: Duration,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            jwt_secret_file: None,
            jwt_public_key: None,
            token_ttl: Duration::from_secs(8 * 3600),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    pub bind: String,
    pub database_url: String,
    pub auth: AuthConfig,
    pub limits: Limits,
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
        }
    }
}
