//! Customer data: organisations and the people who work there.

pub mod account;
pub mod contact;
