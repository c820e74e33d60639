//! Customer support: tickets and the FAQ.

pub mod faq;
pub mod tickets;
