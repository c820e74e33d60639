//! Customer data and the sales pipeline: accounts (organisations), contacts (people), leads
//! (prospects) and opportunities (deals).

pub mod account;
pub mod contact;
pub mod lead;
pub mod opportunity;
