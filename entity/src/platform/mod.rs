//! The platform module: tenants and their users, and what every business module shares:
//! picklists, record history, number sequences and role permissions.

pub mod custom_field;
pub mod event_log;
pub mod picklist_value;
pub mod record_history;
pub mod role_permission;
pub mod sequence;
pub mod tenant;
pub mod user;
