//! The platform module: tenants, users, sign-in.

pub mod tenants;
pub mod users;
