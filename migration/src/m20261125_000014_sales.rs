//! The rest of sales and material management: tenant sales settings, tax classes, currencies,
//! vendors, services, price books, the four sales documents with their lines, payments and
//! customer links to quotes.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261125_000002_records::Tenants;

#[derive(DeriveMigrationName)]
pub struct Migration;

const DOCUMENTS: [&str; 4] = ["quotes", "sales_orders", "invoices", "purchase_orders"];

fn a(name: &str) -> Alias {
    Alias::new(name)
}

/// A table owned by a tenant, with a UUID key, its columns, and a cascade to the tenant.
fn tenant_table(name: &str, columns: Vec<ColumnDef>) -> TableCreateStatement {
    let mut table = Table::create();
    table
        .table(a(name))
        .col(pk_uuid(a("id")))
        .col(uuid(a("tenant_id")));
    for mut column in columns {
        table.col(&mut column);
    }
    table
        .foreign_key(
            ForeignKey::create()
                .from(a(name), a("tenant_id"))
                .to(Tenants::Table, Tenants::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn index(table: &str, name: &str, columns: &[&str], unique: bool) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(a(table));
    for column in columns {
        index.col(a(column));
    }
    if unique {
        index.unique();
    }
    index.to_owned()
}

/// Version, timestamps and the recycle bin, as every business record has them.
fn record_columns() -> Vec<ColumnDef> {
    vec![
        integer(a("version")),
        timestamp_with_time_zone(a("created_at")),
        timestamp_with_time_zone(a("updated_at")),
        timestamp_with_time_zone_null(a("deleted_at")),
    ]
}

fn document_columns() -> Vec<ColumnDef> {
    let mut columns = vec![
        string_len(a("number"), 32),
        string_len(a("subject"), 255),
        string_len(a("status"), 64),
        uuid_null(a("account_id")),
        uuid_null(a("contact_id")),
        uuid_null(a("vendor_id")),
        uuid_null(a("opportunity_id")),
        uuid_null(a("quote_id")),
        uuid_null(a("sales_order_id")),
        date_null(a("valid_until")),
        date_null(a("due_date")),
        date_null(a("delivery_date")),
        text_null(a("billing_address")),
        text_null(a("shipping_address")),
        text_null(a("terms")),
        text_null(a("description")),
        string_len(a("currency_code"), 3),
        big_integer(a("conversion_rate")),
        string_len(a("tax_mode"), 16),
        uuid_null(a("tax_class_id")),
        big_integer(a("tax_rate")),
        big_integer_null(a("discount_percent")),
        big_integer_null(a("discount_amount")),
        big_integer(a("shipping")),
        big_integer(a("adjustment")),
        big_integer(a("subtotal")),
        big_integer(a("discount_total")),
        big_integer(a("tax_total")),
        big_integer(a("grand_total")),
        big_integer(a("paid")),
        boolean(a("stock_booked")),
        uuid(a("owner_id")),
    ];
    columns.extend(record_columns());
    columns
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            string_len(a("base_currency"), 3).default("USD").to_owned(),
            boolean(a("allow_negative_stock")).default(false).to_owned(),
            big_integer_null(a("purchase_approval_limit")),
        ] {
            let mut column = column;
            manager
                .alter_table(
                    Table::alter()
                        .table(Tenants::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        for column in ["tax_class_id", "vendor_id"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(a("products"))
                        .add_column(uuid_null(a(column)))
                        .to_owned(),
                )
                .await?;
        }
        let tables = [
            tenant_table(
                "tax_classes",
                vec![
                    string_len(a("name"), 100),
                    big_integer(a("rate")),
                    boolean(a("active")),
                    timestamp_with_time_zone(a("created_at")),
                ],
            ),
            tenant_table(
                "currencies",
                vec![
                    string_len(a("code"), 3),
                    string_len(a("name"), 100),
                    string_len_null(a("symbol"), 8),
                    big_integer(a("conversion_rate")),
                    boolean(a("active")),
                    timestamp_with_time_zone(a("created_at")),
                ],
            ),
            tenant_table("vendors", {
                let mut columns = vec![
                    string_len(a("name"), 255),
                    string_len_null(a("email"), 255),
                    string_len_null(a("phone"), 64),
                    string_len_null(a("website"), 255),
                    text_null(a("address")),
                    string_len_null(a("category"), 200),
                    text_null(a("description")),
                    uuid(a("owner_id")),
                ];
                columns.extend(record_columns());
                columns
            }),
            tenant_table("services", {
                let mut columns = vec![
                    string_len(a("name"), 255),
                    string_len_null(a("category"), 200),
                    big_integer(a("unit_price")),
                    uuid_null(a("tax_class_id")),
                    string_len_null(a("usage_unit"), 64),
                    boolean(a("active")),
                    text_null(a("description")),
                ];
                columns.extend(record_columns());
                columns
            }),
            tenant_table(
                "price_books",
                vec![
                    string_len(a("name"), 200),
                    string_len(a("currency_code"), 3),
                    boolean(a("active")),
                    text_null(a("description")),
                    timestamp_with_time_zone(a("created_at")),
                    timestamp_with_time_zone(a("updated_at")),
                ],
            ),
            tenant_table(
                "price_book_entries",
                vec![
                    uuid(a("price_book_id")),
                    uuid(a("item_id")),
                    big_integer(a("list_price")),
                ],
            ),
            tenant_table("quotes", document_columns()),
            tenant_table("sales_orders", document_columns()),
            tenant_table("invoices", document_columns()),
            tenant_table("purchase_orders", document_columns()),
            tenant_table(
                "document_lines",
                vec![
                    uuid(a("document_id")),
                    integer(a("position")),
                    uuid_null(a("product_id")),
                    uuid_null(a("service_id")),
                    text_null(a("description")),
                    big_integer(a("quantity")),
                    big_integer(a("list_price")),
                    big_integer_null(a("discount_percent")),
                    big_integer_null(a("discount_amount")),
                    uuid_null(a("tax_class_id")),
                    big_integer(a("tax_rate")),
                    big_integer(a("net")),
                    big_integer(a("tax")),
                    big_integer(a("total")),
                ],
            ),
            tenant_table(
                "payments",
                vec![
                    uuid(a("invoice_id")),
                    big_integer(a("amount")),
                    date(a("paid_on")),
                    string_len(a("method"), 64),
                    string_len_null(a("reference"), 200),
                    uuid(a("actor_id")),
                    timestamp_with_time_zone(a("created_at")),
                ],
            ),
            tenant_table(
                "quote_links",
                vec![
                    uuid(a("quote_id")),
                    string_len(a("token_hash"), 64),
                    timestamp_with_time_zone(a("expires_at")),
                    timestamp_with_time_zone_null(a("revoked_at")),
                    uuid(a("created_by")),
                    timestamp_with_time_zone(a("created_at")),
                    string_len_null(a("response"), 16),
                    text_null(a("comment")),
                    timestamp_with_time_zone_null(a("responded_at")),
                ],
            ),
        ];
        for table in tables {
            manager.create_table(table).await?;
        }
        let mut indexes = vec![
            index(
                "tax_classes",
                "ux_tax_classes_name",
                &["tenant_id", "name"],
                true,
            ),
            index(
                "currencies",
                "ux_currencies_code",
                &["tenant_id", "code"],
                true,
            ),
            index("vendors", "ix_vendors_name", &["tenant_id", "name"], false),
            index(
                "services",
                "ix_services_name",
                &["tenant_id", "name"],
                false,
            ),
            index(
                "price_books",
                "ux_price_books_name",
                &["tenant_id", "name"],
                true,
            ),
            index(
                "price_book_entries",
                "ux_price_book_entries_item",
                &["tenant_id", "price_book_id", "item_id"],
                true,
            ),
            index(
                "document_lines",
                "ix_document_lines_document",
                &["tenant_id", "document_id", "position"],
                false,
            ),
            index(
                "payments",
                "ix_payments_invoice",
                &["tenant_id", "invoice_id"],
                false,
            ),
            index("quote_links", "ux_quote_links_token", &["token_hash"], true),
            index(
                "quote_links",
                "ix_quote_links_quote",
                &["tenant_id", "quote_id"],
                false,
            ),
        ];
        for table in DOCUMENTS {
            indexes.push(index(
                table,
                &format!("ux_{table}_number"),
                &["tenant_id", "number"],
                true,
            ));
            for column in ["account_id", "quote_id", "sales_order_id"] {
                indexes.push(index(
                    table,
                    &format!("ix_{table}_{column}"),
                    &["tenant_id", column],
                    false,
                ));
            }
        }
        for index in indexes {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "quote_links",
            "payments",
            "document_lines",
            "purchase_orders",
            "invoices",
            "sales_orders",
            "quotes",
            "price_book_entries",
            "price_books",
            "services",
            "vendors",
            "currencies",
            "tax_classes",
        ] {
            manager
                .drop_table(Table::drop().table(a(table)).to_owned())
                .await?;
        }
        for column in ["tax_class_id", "vendor_id"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(a("products"))
                        .drop_column(a(column))
                        .to_owned(),
                )
                .await?;
        }
        for column in [
            "base_currency",
            "allow_negative_stock",
            "purchase_approval_limit",
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Tenants::Table)
                        .drop_column(a(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
