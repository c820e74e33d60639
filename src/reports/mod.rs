//! Analytical reports: tenant-defined, computed by the database.
//!
//! A report reads one source (a module's records, or a part of them such as invoice lines),
//! keeps the rows its conditions pass, and shows them as rows (tabular), as groups with
//! aggregates (summary) or as a grid of two groupings (matrix). The definition is checked
//! against the sources ([`definition::plan`]), turned into SQL ([`sql`]) and run
//! ([`run`]); [`saved`] keeps tenants' reports and runs them with the viewer's rights;
//! [`schedules`] runs them on their own and [`snapshots`] keeps what those runs produced.

pub mod builtin;
pub mod chart;
pub mod dashboards;
pub mod definition;
pub mod files;
pub mod periods;
pub mod run;
pub mod saved;
pub mod schedules;
pub mod sharing;
pub mod snapshots;
pub mod sources;
mod sql;
