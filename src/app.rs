//! What every request handler shares: the database, token keys, event bus and limits.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use sea_orm::DatabaseConnection;
use tokio::sync::watch;

use crate::auth::token::TokenKeys;
use crate::config::Limits;
use crate::events::EventBus;

pub struct App {
    pub db: DatabaseConnection,
    pub tokens: TokenKeys,
    pub events: EventBus,
    pub limits: Limits,
    /// Flips to `true` when the server begins to shut down; long-lived connections watch it.
    pub shutdown: watch::Sender<bool>,
    /// SQL statements run since start: a cheap metric, and how tests catch N+1 queries.
    pub statements: Arc<AtomicU64>,
}

pub type SharedApp = Arc<App>;
