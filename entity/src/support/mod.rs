//! Customer support: trouble tickets (complaints and service requests) and the FAQ.

pub mod faq;
pub mod ticket;
