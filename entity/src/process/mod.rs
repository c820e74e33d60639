//! The process engine: tenant-defined process definitions (published in versions), their
//! running instances, and the steps each instance took.

pub mod definition;
pub mod instance;
pub mod step;
pub mod timer;
