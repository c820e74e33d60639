//! What every request handler shares: the database, token keys, event bus and limits.

use std::sync::Arc;

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
}

pub type SharedApp = Arc<App>;
