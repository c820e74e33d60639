//! The platform module: tenants, users, sign-in.

pub mod archive;
pub mod tenants;
pub mod users;
