//! Sales and material management: the catalogue, products and stock, sales documents.

pub mod catalogue;
pub mod documents;
pub mod products;
