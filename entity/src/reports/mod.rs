pub mod dashboard;
pub mod report;
