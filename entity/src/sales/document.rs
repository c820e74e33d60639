//! The four sales documents (quotes, sales orders, invoices, purchase orders). Like Vtiger, each
//! has its own table, but the tables share one set of columns, so they are declared once here
//! and services work on [`Document`], the shape they have in common.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Declares the shared columns once and hands them to `$callback`.
macro_rules! with_document_fields {
    ($callback:ident!($($args:tt)*)) => {
        $callback!($($args)* {
            tenant_id: Uuid,
            /// QUO-00001, SO-00001, INV-00001 or PO-00001, per tenant.
            number: String,
            subject: String,
            status: String,
            account_id: Option<Uuid>,
            contact_id: Option<Uuid>,
            /// Purchase orders: whom the goods come from.
            vendor_id: Option<Uuid>,
            opportunity_id: Option<Uuid>,
            /// The quote this document was converted from.
            quote_id: Option<Uuid>,
            /// The sales order this invoice was converted from.
            sales_order_id: Option<Uuid>,
            valid_until: Option<Date>,
            due_date: Option<Date>,
            delivery_date: Option<Date>,
            billing_address: Option<String>,
            shipping_address: Option<String>,
            terms: Option<String>,
            description: Option<String>,
            currency_code: String,
            /// Units of the document's currency per unit of the base currency, as 1/10 000.
            conversion_rate: i64,
            /// `individual` (tax per line) or `group` (tax on the whole).
            tax_mode: String,
            /// Group mode: the tax class and its rate (percent) when the document was last saved.
            tax_class_id: Option<Uuid>,
            tax_rate: i64,
            /// Amounts in units of 1/10 000; discount percent likewise.
            discount_percent: Option<i64>,
            discount_amount: Option<i64>,
            shipping: i64,
            adjustment: i64,
            /// Computed by the server, never sent by clients.
            subtotal: i64,
            discount_total: i64,
            tax_total: i64,
            grand_total: i64,
            /// Invoices: the sum of payments.
            paid: i64,
            /// Whether the document's stock movement (invoice issued, order received) is booked.
            stock_booked: bool,
            owner_id: Uuid,
            version: i32,
            created_at: DateTimeUtc,
            updated_at: DateTimeUtc,
            deleted_at: Option<DateTimeUtc>,
        });
    };
}

macro_rules! common_struct {
    ({ $($(#[$doc:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        /// A sales document of any kind.
        #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct Document {
            pub id: Uuid,
            $($(#[$doc])* pub $field: $ty),*
        }
    };
}

macro_rules! document_table {
    ($module:ident, $table:literal, $what:literal { $($(#[$doc:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        #[doc = $what]
        pub mod $module {
            use sea_orm::entity::prelude::*;
            use serde::{Deserialize, Serialize};

            #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
            #[sea_orm(table_name = $table)]
            #[serde(rename_all = "camelCase")]
            pub struct Model {
                #[sea_orm(primary_key, auto_increment = false)]
                pub id: Uuid,
                $($(#[$doc])* pub $field: $ty),*
            }

            #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
            pub enum Relation {}

            impl ActiveModelBehavior for ActiveModel {}

            impl From<Model> for super::Document {
                fn from(m: Model) -> Self {
                    Self { id: m.id, $($field: m.$field),* }
                }
            }

            impl From<super::Document> for Model {
                fn from(d: super::Document) -> Self {
                    Self { id: d.id, $($field: d.$field),* }
                }
            }
        }
    };
}

with_document_fields!(common_struct!());
with_document_fields!(document_table!(
    quote,
    "quotes",
    "Quotes: what a customer is offered."
));
with_document_fields!(document_table!(
    sales_order,
    "sales_orders",
    "Sales orders: what a customer ordered."
));
with_document_fields!(document_table!(
    invoice,
    "invoices",
    "Invoices: what a customer owes."
));
with_document_fields!(document_table!(
    purchase_order,
    "purchase_orders",
    "Purchase orders: what the company buys from a vendor."
));

/// The tables that share these columns.
pub const TABLES: [&str; 4] = ["quotes", "sales_orders", "invoices", "purchase_orders"];
