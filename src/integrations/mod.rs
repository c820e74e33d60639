//! Connecting other systems: signed webhooks fed by the event log, and idempotent mutations.
//! API keys live with the rest of authentication, in [`crate::auth::api_keys`].

pub mod delivery;
pub mod idempotency;
pub mod webhooks;
