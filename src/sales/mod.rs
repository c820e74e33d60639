//! Sales and material management: the catalogue (products, services, vendors, price books,
//! tax classes, currencies), stock, the four sales documents, payments and customer links.

pub mod catalogue;
pub mod documents;
pub mod links;
pub mod payments;
pub mod products;
pub mod totals;
