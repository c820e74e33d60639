//! The platform module: tenants and their users.

pub mod tenant;
pub mod user;
