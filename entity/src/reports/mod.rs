pub mod dashboard;
pub mod report;
pub mod schedule;
pub mod snapshot;
pub mod version;
