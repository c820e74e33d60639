//! Sales and material management: the catalogue, stock, sales documents and payments.

pub mod currency;
pub mod document;
pub mod document_line;
pub mod payment;
pub mod price_book;
pub mod price_book_entry;
pub mod product;
pub mod quote_link;
pub mod service;
pub mod stock_movement;
pub mod tax_class;
pub mod vendor;
