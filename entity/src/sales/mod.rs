//! Sales and material management: the product catalogue and its stock ledger.

pub mod product;
pub mod stock_movement;
