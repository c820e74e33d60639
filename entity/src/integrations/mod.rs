//! Integrations: API keys for systems and clients, webhook subscriptions and their delivery
//! log, and the stored results of idempotent mutations.

pub mod api_key;
pub mod idempotency_key;
pub mod import_job;
pub mod import_mapping;
pub mod webhook;
pub mod webhook_delivery;
