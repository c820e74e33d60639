//! sea-orm entities, one module per business module.
//!
//! Every tenant-owned entity has a `tenant_id` column; tenant scoping itself lives in the
//! server's data layer (`bpaas::tenancy`), never in callers.

pub mod calendar;
pub mod crm;
pub mod integrations;
pub mod news;
pub mod payroll;
pub mod platform;
pub mod process;
pub mod reports;
pub mod sales;
pub mod support;
