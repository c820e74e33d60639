//! Sales and material management. So far: the product catalogue and its stock ledger.

pub mod products;
