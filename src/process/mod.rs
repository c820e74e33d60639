//! The process engine: definitions as data, instances moved by transitions.

pub mod definition;
pub mod engine;
pub mod metrics;
pub mod templates;
pub mod timers;
