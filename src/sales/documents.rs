//! Quotes, sales orders, invoices and purchase orders: one service for the four kinds, which
//! share their columns. Totals are always computed here ([`super::totals`]); clients never send
//! them. Status changes go through [`set_status_in`], which books stock when an invoice is
//! issued or a purchase order received, and reverses it when they are cancelled.

use async_graphql::ID;
use chrono::{NaiveDate, Utc};
use futures_util::future::BoxFuture;
use rust_decimal::Decimal;
use sea_orm::DatabaseExecutor;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, Order,
    QueryFilter, QueryOrder,
};
use uuid::Uuid;

use entity::crm::{account, contact, opportunity};
use entity::sales::document::{Document, invoice, purchase_order, quote, sales_order};
use entity::sales::{document_line, payment, product, service, vendor};

use super::catalogue;
use super::products;
use super::totals::{self, Discount, DocumentInput, LineInput, TaxMode};
use crate::auth::Principal;
use crate::config::Limits;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::filters::{self, StringFilter};
use crate::modules::{Module, StatusField, Subject};
use crate::money;
use crate::pagination::{Page, PageArgs, paginate};
use crate::permissions::Access;
use crate::process::binding::{self, starts_in};
use crate::records;
use crate::reports::sources::{Computed, FieldKind, Formula, Source, source_of};
use crate::sequences;
use crate::tenancy::TenantScope;
use crate::validation::parse_id;
use crate::validation::required_text;
use crate::validation::{Patch, text_patch};

crate::record!(entity::sales::document::quote, Module::Quotes,
    |m| label(&m.number, &m.subject), search: [Number, Subject], json: json_of);
crate::record!(entity::sales::document::sales_order, Module::SalesOrders,
    |m| label(&m.number, &m.subject), search: [Number, Subject], json: json_of);
crate::record!(entity::sales::document::invoice, Module::Invoices,
    |m| label(&m.number, &m.subject), search: [Number, Subject], json: json_of);
crate::record!(entity::sales::document::purchase_order, Module::PurchaseOrders,
    |m| label(&m.number, &m.subject), search: [Number, Subject], json: json_of);

fn json_of<M: Clone + Into<Document>>(model: &M) -> serde_json::Value {
    to_process_json(&model.clone().into())
}

fn label(number: &str, subject: &str) -> String {
    format!("{number} {subject}")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Quote,
    SalesOrder,
    Invoice,
    PurchaseOrder,
}

pub const DRAFT: &str = "Draft";
pub const SENT: &str = "Sent";
pub const ACCEPTED: &str = "Accepted";
pub const REJECTED: &str = "Rejected";
pub const CREATED: &str = "Created";
pub const APPROVED: &str = "Approved";
pub const ISSUED: &str = "Issued";
pub const PARTIALLY_PAID: &str = "Partially Paid";
pub const PAID: &str = "Paid";
pub const RECEIVED: &str = "Received";
pub const CANCELLED: &str = "Cancelled";

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Quote,
        Kind::SalesOrder,
        Kind::Invoice,
        Kind::PurchaseOrder,
    ];

    pub fn module(self) -> Module {
        match self {
            Kind::Quote => Module::Quotes,
            Kind::SalesOrder => Module::SalesOrders,
            Kind::Invoice => Module::Invoices,
            Kind::PurchaseOrder => Module::PurchaseOrders,
        }
    }

    pub fn of(module: Module) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.module() == module)
    }

    fn prefix(self) -> &'static str {
        match self {
            Kind::Quote => "QUO",
            Kind::SalesOrder => "SO",
            Kind::Invoice => "INV",
            Kind::PurchaseOrder => "PO",
        }
    }

    pub fn status_picklist(self) -> &'static str {
        match self {
            Kind::Quote => "quoteStatus",
            Kind::SalesOrder => "salesOrderStatus",
            Kind::Invoice => "invoiceStatus",
            Kind::PurchaseOrder => "purchaseOrderStatus",
        }
    }

    fn initial_status(self) -> &'static str {
        match self {
            Kind::Quote => DRAFT,
            _ => CREATED,
        }
    }
}

/// Runs `$body` with `$e` standing for the entity of `$kind`.
macro_rules! for_kind {
    ($kind:expr, $e:ident => $body:expr) => {
        match $kind {
            Kind::Quote => {
                type $e = quote::Entity;
                $body
            }
            Kind::SalesOrder => {
                type $e = sales_order::Entity;
                $body
            }
            Kind::Invoice => {
                type $e = invoice::Entity;
                $body
            }
            Kind::PurchaseOrder => {
                type $e = purchase_order::Entity;
                $body
            }
        }
    };
}

/// A column shared by the four tables, by its name.
fn column<E: EntityTrait>(name: &str) -> AppResult<E::Column> {
    name.parse()
        .map_err(|_| AppError::internal(format!("document column {name} is missing")))
}

async fn load(db: &impl Conn, scope: &TenantScope, kind: Kind, id: Uuid) -> AppResult<Document> {
    for_kind!(kind, E => records::get::<E>(db, scope, id).await.map(Into::into))
}

async fn insert(
    txn: &impl Conn,
    actor: &Principal,
    kind: Kind,
    document: Document,
) -> AppResult<Document> {
    for_kind!(kind, E => {
        let row = <E as EntityTrait>::Model::from(document).into_active_model().reset_all();
        records::insert::<E>(txn, actor, row).await.map(Into::into)
    })
}

/// Saves `after` over `before` if nobody changed it since, with history.
async fn save(
    txn: &impl Conn,
    actor: &Principal,
    kind: Kind,
    before: Document,
    expected_version: i32,
    after: Document,
) -> AppResult<Document> {
    for_kind!(kind, E => {
        let changes = <E as EntityTrait>::Model::from(after).into_active_model().reset_all();
        records::update::<E>(txn, actor, before.into(), expected_version, changes)
            .await
            .map(Into::into)
    })
}

// ----- input -----

#[derive(Clone, Debug, Default)]
pub struct LineFields {
    pub product_id: Option<Uuid>,
    pub service_id: Option<Uuid>,
    pub description: Option<String>,
    pub quantity: Decimal,
    /// Without it, the price comes from the price book, else from the product or service.
    pub list_price: Option<Decimal>,
    pub price_book_id: Option<Uuid>,
    pub discount: Discount,
    /// Individual tax mode; without it, the product's or service's tax class.
    pub tax_class_id: Option<Uuid>,
}

#[derive(Default)]
pub struct DocumentFields {
    pub subject: Option<String>,
    pub status: Option<String>,
    pub account_id: Patch<Uuid>,
    pub contact_id: Patch<Uuid>,
    pub vendor_id: Patch<Uuid>,
    pub opportunity_id: Patch<Uuid>,
    pub valid_until: Patch<NaiveDate>,
    pub due_date: Patch<NaiveDate>,
    pub delivery_date: Patch<NaiveDate>,
    pub billing_address: Patch<String>,
    pub shipping_address: Patch<String>,
    pub terms: Patch<String>,
    pub description: Patch<String>,
    pub currency_code: Option<String>,
    pub tax_mode: Option<TaxMode>,
    pub tax_class_id: Patch<Uuid>,
    pub discount: Option<Discount>,
    pub shipping: Option<Decimal>,
    pub adjustment: Option<Decimal>,
    /// Replaces every line when given.
    pub lines: Option<Vec<LineFields>>,
}

impl DocumentFields {
    /// Whether the fields change what the document is worth.
    fn change_amounts(&self) -> bool {
        self.lines.is_some()
            || self.currency_code.is_some()
            || self.tax_mode.is_some()
            || self.tax_class_id.is_some()
            || self.discount.is_some()
            || self.shipping.is_some()
            || self.adjustment.is_some()
    }
}

pub fn tax_mode_name(mode: TaxMode) -> &'static str {
    match mode {
        TaxMode::Individual => "individual",
        TaxMode::Group => "group",
    }
}

fn tax_mode_of(document: &Document) -> TaxMode {
    if document.tax_mode == "individual" {
        TaxMode::Individual
    } else {
        TaxMode::Group
    }
}

fn discount_of(percent: Option<i64>, amount: Option<i64>) -> Discount {
    match (percent, amount) {
        (Some(p), _) => Discount::Percent(money::from_units(p)),
        (None, Some(a)) => Discount::Amount(money::from_units(a)),
        (None, None) => Discount::None,
    }
}

fn discount_units(field: &str, discount: Discount) -> AppResult<(Option<i64>, Option<i64>)> {
    Ok(match discount {
        Discount::None => (None, None),
        Discount::Percent(p) => (Some(money::to_units(&format!("{field}Percent"), p)?), None),
        Discount::Amount(a) => (None, Some(money::to_units(&format!("{field}Amount"), a)?)),
    })
}

/// Applies the header fields to `document`, checking every reference in the caller's tenant.
async fn apply_header(
    db: &impl Conn,
    scope: &TenantScope,
    document: &mut Document,
    fields: &mut DocumentFields,
) -> AppResult<()> {
    if let Some(subject) = fields.subject.take() {
        document.subject = required_text("subject", &subject, 255)?;
    }
    if let Some(account_id) = fields.account_id.take() {
        if let Some(id) = account_id {
            records::require_reference::<account::Entity>(db, scope, "accountId", id).await?;
        }
        document.account_id = account_id;
    }
    if let Some(contact_id) = fields.contact_id.take() {
        if let Some(id) = contact_id {
            records::require_reference::<contact::Entity>(db, scope, "contactId", id).await?;
        }
        document.contact_id = contact_id;
    }
    if let Some(vendor_id) = fields.vendor_id.take() {
        if let Some(id) = vendor_id {
            records::require_reference::<vendor::Entity>(db, scope, "vendorId", id).await?;
        }
        document.vendor_id = vendor_id;
    }
    if let Some(opportunity_id) = fields.opportunity_id.take() {
        if let Some(id) = opportunity_id {
            records::require_reference::<opportunity::Entity>(db, scope, "opportunityId", id)
                .await?;
        }
        document.opportunity_id = opportunity_id;
    }
    if let Some(date) = fields.valid_until.take() {
        document.valid_until = date;
    }
    if let Some(date) = fields.due_date.take() {
        document.due_date = date;
    }
    if let Some(date) = fields.delivery_date.take() {
        document.delivery_date = date;
    }
    if let Some(text) = text_patch("billingAddress", fields.billing_address.take(), 2_000)? {
        document.billing_address = text;
    }
    if let Some(text) = text_patch("shippingAddress", fields.shipping_address.take(), 2_000)? {
        document.shipping_address = text;
    }
    if let Some(text) = text_patch("terms", fields.terms.take(), 10_000)? {
        document.terms = text;
    }
    if let Some(text) = text_patch("description", fields.description.take(), 10_000)? {
        document.description = text;
    }
    if let Some(code) = fields.currency_code.take() {
        let code = code.trim().to_ascii_uppercase();
        let base = catalogue::settings(db, scope).await?.base_currency;
        document.conversion_rate = catalogue::conversion_rate(db, scope, &base, &code).await?;
        document.currency_code = code;
    }
    if let Some(mode) = fields.tax_mode.take() {
        document.tax_mode = tax_mode_name(mode).to_owned();
    }
    if let Some(tax_class) = fields.tax_class_id.take() {
        document.tax_class_id = tax_class;
    }
    // The group rate is read again on every save, so a document in group mode always needs
    // a tax class that is still active, or none (no tax).
    document.tax_rate = match document.tax_class_id {
        Some(id) if tax_mode_of(document) == TaxMode::Group => {
            catalogue::tax_rate(db, scope, "taxClassId", id).await?
        }
        _ => 0,
    };
    if let Some(discount) = fields.discount.take() {
        (document.discount_percent, document.discount_amount) =
            discount_units("discount", discount)?;
    }
    if let Some(shipping) = fields.shipping.take() {
        document.shipping = money::non_negative_units("shipping", shipping)?;
    }
    if let Some(adjustment) = fields.adjustment.take() {
        document.adjustment = money::to_units("adjustment", adjustment)?;
    }
    Ok(())
}

/// Turns line input into rows (without totals yet): the item must exist in the tenant; the
/// price and tax class default from the price book or the item.
async fn resolve_lines(
    db: &impl Conn,
    scope: &TenantScope,
    document: &Document,
    lines: Vec<LineFields>,
) -> AppResult<Vec<document_line::Model>> {
    let mut rows = Vec::with_capacity(lines.len());
    for (i, line) in lines.into_iter().enumerate() {
        let at = |name: &str| format!("lines.{i}.{name}");
        let (item_id, default_price, default_tax, default_description) =
            match (line.product_id, line.service_id) {
                (Some(id), None) => {
                    let p = records::require_reference::<product::Entity>(
                        db,
                        scope,
                        &at("productId"),
                        id,
                    )
                    .await?;
                    (id, p.unit_price, p.tax_class_id, p.name)
                }
                (None, Some(id)) => {
                    let s = records::require_reference::<service::Entity>(
                        db,
                        scope,
                        &at("serviceId"),
                        id,
                    )
                    .await?;
                    (id, s.unit_price, s.tax_class_id, s.name)
                }
                _ => {
                    return Err(AppError::bad_input(
                        at("productId"),
                        "give either a productId or a serviceId",
                    ));
                }
            };
        let list_price = match (line.list_price, line.price_book_id) {
            (Some(price), _) => money::non_negative_units(&at("listPrice"), price)?,
            (None, Some(book)) => {
                catalogue::list_price(db, scope, &at("priceBookId"), book, item_id).await?
            }
            (None, None) => default_price,
        };
        let tax_class_id = line.tax_class_id.or(default_tax);
        let tax_rate = match tax_class_id {
            Some(id) if tax_mode_of(document) == TaxMode::Individual => {
                catalogue::tax_rate(db, scope, &at("taxClassId"), id).await?
            }
            _ => 0,
        };
        let (discount_percent, discount_amount) = discount_units(&at("discount"), line.discount)?;
        let description =
            crate::validation::optional_text(&at("description"), line.description, 2_000)?
                .or(Some(default_description));
        rows.push(document_line::Model {
            id: Uuid::now_v7(),
            tenant_id: scope.tenant_id(),
            document_id: document.id,
            position: i32::try_from(i).unwrap_or(i32::MAX),
            product_id: line.product_id,
            service_id: line.service_id,
            description,
            quantity: money::to_units(&at("quantity"), line.quantity)?,
            list_price,
            discount_percent,
            discount_amount,
            tax_class_id,
            tax_rate,
            net: 0,
            tax: 0,
            total: 0,
        });
    }
    Ok(rows)
}

/// Computes the totals of `document` and `lines` in place.
fn compute_totals(document: &mut Document, lines: &mut [document_line::Model]) -> AppResult<()> {
    let input = DocumentInput {
        mode: tax_mode_of(document),
        lines: lines
            .iter()
            .map(|l| LineInput {
                quantity: money::from_units(l.quantity),
                list_price: money::from_units(l.list_price),
                discount: discount_of(l.discount_percent, l.discount_amount),
                tax_rate: money::from_units(l.tax_rate),
            })
            .collect(),
        discount: discount_of(document.discount_percent, document.discount_amount),
        group_tax_rate: money::from_units(document.tax_rate),
        shipping: money::from_units(document.shipping),
        adjustment: money::from_units(document.adjustment),
    };
    let computed = totals::compute(&input).map_err(|e| AppError::bad_input(e.field, e.message))?;
    for (line, t) in lines.iter_mut().zip(&computed.lines) {
        line.net = money::to_units("lines", t.net)?;
        line.tax = money::to_units("lines", t.tax)?;
        line.total = money::to_units("lines", t.total)?;
    }
    document.subtotal = money::to_units("lines", computed.subtotal)?;
    document.discount_total = money::to_units("discount", computed.discount)?;
    document.tax_total = money::to_units("lines", computed.tax)?;
    document.grand_total = money::to_units("lines", computed.grand_total)?;
    Ok(())
}

async fn write_lines(
    txn: &impl Conn,
    scope: &TenantScope,
    document_id: Uuid,
    lines: Vec<document_line::Model>,
) -> AppResult<()> {
    scope
        .delete::<document_line::Entity>()
        .filter(document_line::Column::DocumentId.eq(document_id))
        .exec(txn)
        .await?;
    if !lines.is_empty() {
        document_line::Entity::insert_many(
            lines.into_iter().map(|l| l.into_active_model().reset_all()),
        )
        .exec_without_returning(txn)
        .await?;
    }
    Ok(())
}

/// The lines of a document, in order.
pub async fn lines_of(
    db: &impl Conn,
    scope: &TenantScope,
    document_id: Uuid,
) -> AppResult<Vec<document_line::Model>> {
    Ok(scope
        .select::<document_line::Entity>()
        .filter(document_line::Column::DocumentId.eq(document_id))
        .order_by_asc(document_line::Column::Position)
        .all(db)
        .await?)
}

// ----- reading -----

/// A document, checking read access, in the caller's transaction.
pub async fn get_in(
    db: &impl Conn,
    actor: &Principal,
    kind: Kind,
    id: Uuid,
) -> AppResult<Document> {
    actor.require(kind.module(), Access::Read)?;
    load(db, &actor.scope(), kind, id).await
}

pub async fn get(
    db: &DatabaseConnection,
    actor: &Principal,
    kind: Kind,
    id: Uuid,
) -> AppResult<Document> {
    actor.require(kind.module(), Access::Read)?;
    load(db, &actor.scope(), kind, id).await
}

#[derive(async_graphql::InputObject, Default)]
#[graphql(name = "SalesDocumentFilterInput")]
pub struct DocumentFilter {
    pub subject: Option<StringFilter>,
    pub number: Option<StringFilter>,
    pub status: Option<String>,
    pub account_id: Option<ID>,
    pub vendor_id: Option<ID>,
    /// Documents converted from this quote.
    pub quote_id: Option<ID>,
    /// Invoices converted from this sales order.
    pub sales_order_id: Option<ID>,
}

/// Documents of a kind, newest first.
pub async fn list(
    db: &DatabaseConnection,
    actor: &Principal,
    kind: Kind,
    filter: &DocumentFilter,
    args: &PageArgs,
    limits: &Limits,
) -> AppResult<Page<Document>> {
    actor.require(kind.module(), Access::Read)?;
    let scope = actor.scope();
    for_kind!(kind, E => {
        let mut select = records::live::<E>(&scope);
        select = filters::text(select, column::<E>("subject")?, filter.subject.as_ref());
        select = filters::text(select, column::<E>("number")?, filter.number.as_ref());
        if let Some(status) = &filter.status {
            select = select.filter(column::<E>("status")?.eq(status.as_str()));
        }
        for (name, field, value) in [
            ("account_id", "filter.accountId", &filter.account_id),
            ("vendor_id", "filter.vendorId", &filter.vendor_id),
            ("quote_id", "filter.quoteId", &filter.quote_id),
            ("sales_order_id", "filter.salesOrderId", &filter.sales_order_id),
        ] {
            if let Some(id) = value {
                select = select.filter(column::<E>(name)?.eq(parse_id(field, id)?));
            }
        }
        let order = Some((column::<E>("created_at")?, Order::Desc));
        Ok(paginate(db, select, order, args, limits).await?.map(Into::into))
    })
}

/// The live documents of a kind that were converted from `source_ids` (quotes or orders), for
/// a caller who may read that kind.
pub async fn converted_from(
    db: &impl Conn,
    actor: &Principal,
    kind: Kind,
    link: &str,
    source_ids: &[Uuid],
) -> AppResult<Vec<Document>> {
    actor.require(kind.module(), Access::Read)?;
    let scope = actor.scope();
    for_kind!(kind, E => {
        let rows = records::live::<E>(&scope)
            .filter(column::<E>(link)?.is_in(source_ids.iter().copied()))
            .order_by_asc(column::<E>("created_at")?)
            .all(db)
            .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    })
}

// ----- writing -----

pub async fn create(
    db: &DatabaseConnection,
    actor: &Principal,
    kind: Kind,
    mut fields: DocumentFields,
) -> AppResult<Document> {
    actor.require(kind.module(), Access::Write)?;
    if fields.subject.is_none() {
        return Err(AppError::bad_input("subject", "is required"));
    }
    let counterpart = match kind {
        Kind::PurchaseOrder => ("vendorId", matches!(fields.vendor_id, Some(Some(_)))),
        _ => ("accountId", matches!(fields.account_id, Some(Some(_)))),
    };
    if !counterpart.1 {
        return Err(AppError::bad_input(counterpart.0, "is required"));
    }
    let scope = actor.scope();
    let txn = records::begin_write(db, &actor.scope()).await?;
    let status = initial_status(&txn, actor, kind, fields.status.take()).await?;
    let base = catalogue::settings(&txn, &scope).await?.base_currency;
    let now = Utc::now();
    let mut document = Document {
        id: Uuid::now_v7(),
        tenant_id: scope.tenant_id(),
        number: sequences::next_number(&txn, &scope, kind.prefix()).await?,
        subject: String::new(),
        status,
        account_id: None,
        contact_id: None,
        vendor_id: None,
        opportunity_id: None,
        quote_id: None,
        sales_order_id: None,
        valid_until: None,
        due_date: None,
        delivery_date: None,
        billing_address: None,
        shipping_address: None,
        terms: None,
        description: None,
        currency_code: base,
        conversion_rate: money::to_units("currencyCode", Decimal::ONE)?,
        tax_mode: tax_mode_name(TaxMode::Group).to_owned(),
        tax_class_id: None,
        tax_rate: 0,
        discount_percent: None,
        discount_amount: None,
        shipping: 0,
        adjustment: 0,
        subtotal: 0,
        discount_total: 0,
        tax_total: 0,
        grand_total: 0,
        paid: 0,
        stock_booked: false,
        owner_id: actor.user_id,
        version: 1,
        created_at: now,
        updated_at: now,
        deleted_at: None,
    };
    let lines = fields.lines.take().unwrap_or_default();
    apply_header(&txn, &scope, &mut document, &mut fields).await?;
    let mut lines = resolve_lines(&txn, &scope, &document, lines).await?;
    compute_totals(&mut document, &mut lines)?;
    let created = insert(&txn, actor, kind, document).await?;
    write_lines(&txn, &scope, created.id, lines).await?;
    binding::start_for_record(&txn, actor, kind.module(), created.id).await?;
    txn.commit().await?;
    Ok(created)
}

/// Where a new document starts: where its bound process starts, else as asked, else the
/// kind's first status.
async fn initial_status(
    txn: &impl Conn,
    actor: &Principal,
    kind: Kind,
    asked: Option<String>,
) -> AppResult<String> {
    let scope = actor.scope();
    match binding::bound_initial_state(txn, &scope, kind.module()).await? {
        Some(initial) => match asked {
            Some(asked) if asked != initial => Err(starts_in("status", &initial)),
            _ => Ok(initial),
        },
        None => {
            let status = asked.unwrap_or_else(|| kind.initial_status().to_owned());
            crate::picklists::check(txn, &scope, kind.status_picklist(), "status", Some(&status))
                .await?;
            Ok(status)
        }
    }
}

pub async fn update(
    db: &DatabaseConnection,
    actor: &Principal,
    kind: Kind,
    id: Uuid,
    version: i32,
    mut fields: DocumentFields,
) -> AppResult<Document> {
    actor.require(kind.module(), Access::Write)?;
    let scope = actor.scope();
    let txn = records::begin_write(db, &actor.scope()).await?;
    let before = load(&txn, &scope, kind, id).await?;
    if before.version != version {
        return Err(records::stale(kind.module()));
    }
    if fields.change_amounts() && (before.stock_booked || before.paid > 0) {
        return Err(AppError::bad_input(
            "lines",
            "the document is issued, received or paid; its amounts can no longer change",
        ));
    }
    let mut after = before.clone();
    let status = fields.status.take();
    let new_lines = fields.lines.take();
    apply_header(&txn, &scope, &mut after, &mut fields).await?;
    let mut lines = match new_lines {
        Some(lines) => resolve_lines(&txn, &scope, &after, lines).await?,
        None => lines_of(&txn, &scope, id).await?,
    };
    compute_totals(&mut after, &mut lines)?;
    write_lines(&txn, &scope, id, lines).await?;
    if let Some(status) = status.filter(|s| *s != before.status) {
        binding::refuse_direct_change(&txn, actor, kind.module(), id, "status").await?;
        crate::picklists::check(
            &txn,
            &scope,
            kind.status_picklist(),
            "status",
            Some(&status),
        )
        .await?;
        book_stock(&txn, actor, kind, &mut after, &status).await?;
        after.status = status;
    }
    let updated = save(&txn, actor, kind, before, version, after).await?;
    txn.commit().await?;
    Ok(updated)
}

/// Moves a document to `status`: through the transition of its bound process that leads
/// there, or directly when no process runs it. In the caller's transaction.
pub async fn move_to(
    txn: &impl Conn,
    actor: &Principal,
    kind: Kind,
    id: Uuid,
    status: &str,
) -> AppResult<Document> {
    if binding::advance_to(txn, actor, kind.module(), id, status).await? {
        load(txn, &actor.scope(), kind, id).await
    } else {
        set_status_in(txn, actor, kind, id, status).await
    }
}

/// Sets a document's status (a process moved it, or a payment settled it), booking or
/// reversing stock as the new status requires, in the caller's transaction.
pub async fn set_status_in(
    txn: &impl Conn,
    actor: &Principal,
    kind: Kind,
    id: Uuid,
    status: &str,
) -> AppResult<Document> {
    let before = load(txn, &actor.scope(), kind, id).await?;
    let mut after = before.clone();
    book_stock(txn, actor, kind, &mut after, status).await?;
    after.status = status.to_owned();
    let version = before.version;
    save(txn, actor, kind, before, version, after).await
}

/// Issuing an invoice takes its products out of stock, receiving a purchase order puts them
/// in; cancelling either reverses what was booked. Each happens once per document.
async fn book_stock(
    txn: &impl Conn,
    actor: &Principal,
    kind: Kind,
    document: &mut Document,
    status: &str,
) -> AppResult<()> {
    let (sign, cause, booked) = match (kind, status) {
        (Kind::Invoice, ISSUED) if !document.stock_booked => (-1, "invoice_issued", true),
        (Kind::Invoice, CANCELLED) if document.paid > 0 => {
            return Err(AppError::bad_input(
                "status",
                "an invoice with payments cannot be cancelled",
            ));
        }
        (Kind::Invoice, CANCELLED) if document.stock_booked => (1, "invoice_cancelled", false),
        (Kind::PurchaseOrder, RECEIVED) if !document.stock_booked => {
            (1, "purchase_order_received", true)
        }
        (Kind::PurchaseOrder, CANCELLED) if document.stock_booked => {
            (-1, "purchase_order_cancelled", false)
        }
        _ => return Ok(()),
    };
    for line in lines_of(txn, &actor.scope(), document.id).await? {
        if let Some(product_id) = line.product_id {
            products::move_stock(
                txn,
                actor,
                product_id,
                sign * line.quantity,
                cause,
                Some(document.number.clone()),
            )
            .await
            .map_err(|e| match e {
                AppError::BadInput { message, .. } => AppError::bad_input(
                    "status",
                    format!(
                        "{}: {message}",
                        line.description.clone().unwrap_or_default()
                    ),
                ),
                other => other,
            })?;
        }
    }
    document.stock_booked = booked;
    Ok(())
}

/// Which conversions there are, and which link the new document keeps to its source.
fn conversion(from: Kind, to: Kind) -> Option<&'static str> {
    match (from, to) {
        (Kind::Quote, Kind::SalesOrder | Kind::Invoice) => Some("quoteId"),
        (Kind::SalesOrder, Kind::Invoice) => Some("salesOrderId"),
        _ => None,
    }
}

pub async fn convert(
    db: &DatabaseConnection,
    actor: &Principal,
    from: Kind,
    id: Uuid,
    to: Kind,
) -> AppResult<Document> {
    actor.require(from.module(), Access::Read)?;
    actor.require(to.module(), Access::Write)?;
    let txn = records::begin_write(db, &actor.scope()).await?;
    let converted = convert_in(&txn, actor, from, id, to).await?;
    txn.commit().await?;
    Ok(converted)
}

/// Copies a document's header and lines into a new document of another kind, linked to it,
/// in the caller's transaction. The new document's own process starts.
pub async fn convert_in(
    txn: &impl Conn,
    actor: &Principal,
    from: Kind,
    id: Uuid,
    to: Kind,
) -> AppResult<Document> {
    if conversion(from, to).is_none() {
        return Err(AppError::bad_input(
            "to",
            "converts a quote to a sales order or invoice, or a sales order to an invoice",
        ));
    }
    let scope = actor.scope();
    let source = load(txn, &scope, from, id).await?;
    let now = Utc::now();
    let mut document = Document {
        id: Uuid::now_v7(),
        number: sequences::next_number(txn, &scope, to.prefix()).await?,
        status: initial_status(txn, actor, to, None).await?,
        quote_id: if from == Kind::Quote {
            Some(source.id)
        } else {
            source.quote_id
        },
        sales_order_id: (from == Kind::SalesOrder).then_some(source.id),
        valid_until: None,
        paid: 0,
        stock_booked: false,
        owner_id: actor.user_id,
        version: 1,
        created_at: now,
        updated_at: now,
        deleted_at: None,
        ..source
    };
    let mut lines = lines_of(txn, &scope, id).await?;
    for line in &mut lines {
        line.id = Uuid::now_v7();
        line.document_id = document.id;
    }
    compute_totals(&mut document, &mut lines)?;
    let created = insert(txn, actor, to, document).await?;
    write_lines(txn, &scope, created.id, lines).await?;
    binding::start_for_record(txn, actor, to.module(), created.id).await?;
    Ok(created)
}

/// Adds a payment to an invoice's paid amount, refusing more than its balance, in the
/// caller's transaction. The version check makes concurrent payments conflict, never both
/// land.
pub(super) async fn add_payment_in(
    txn: &impl Conn,
    actor: &Principal,
    invoice_id: Uuid,
    amount: i64,
) -> AppResult<Document> {
    let before =
        records::require_reference::<invoice::Entity>(txn, &actor.scope(), "invoiceId", invoice_id)
            .await
            .map(Document::from)?;
    if !matches!(before.status.as_str(), ISSUED | PARTIALLY_PAID) {
        return Err(AppError::bad_input(
            "invoiceId",
            format!(
                "the invoice is {}; only an issued invoice takes payments",
                before.status
            ),
        ));
    }
    let balance = before.grand_total - before.paid;
    if amount > balance {
        return Err(AppError::bad_input(
            "amount",
            format!("is more than the balance of {}", money::from_units(balance)),
        ));
    }
    let mut after = before.clone();
    after.paid += amount;
    let version = before.version;
    save(txn, actor, Kind::Invoice, before, version, after).await
}

/// A document as process guards see it: amounts as numbers, not stored units.
pub fn to_process_json(document: &Document) -> serde_json::Value {
    let mut json = serde_json::to_value(document).unwrap_or_default();
    for field in [
        "conversionRate",
        "taxRate",
        "discountPercent",
        "discountAmount",
        "shipping",
        "adjustment",
        "subtotal",
        "discountTotal",
        "taxTotal",
        "grandTotal",
        "paid",
    ] {
        if let Some(units) = json.get(field).and_then(serde_json::Value::as_i64) {
            json[field] = money::to_number(units);
        }
    }
    json["balance"] = money::to_number(document.grand_total - document.paid);
    json
}

/// Moves a document to the recycle bin, restores or purges it.
pub async fn delete(
    db: &DatabaseConnection,
    actor: &Principal,
    kind: Kind,
    id: Uuid,
) -> AppResult<()> {
    for_kind!(kind, E => records::delete::<E>(db, actor, id).await)
}

pub async fn restore(
    db: &DatabaseConnection,
    actor: &Principal,
    kind: Kind,
    id: Uuid,
) -> AppResult<Document> {
    for_kind!(kind, E => records::restore::<E>(db, actor, id).await.map(Into::into))
}

/// Purges a document with its lines, which are its parts (they refer to one of four tables, so
/// no foreign key takes them along).
pub async fn purge(
    db: &DatabaseConnection,
    actor: &Principal,
    kind: Kind,
    id: Uuid,
) -> AppResult<()> {
    let txn = crate::db::begin(db).await?;
    for_kind!(kind, E => records::purge_in::<E>(&txn, actor, id).await)?;
    actor
        .scope()
        .delete::<document_line::Entity>()
        .filter(document_line::Column::DocumentId.eq(id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// The four kinds of documents are records a bound process may drive.
/// Reports read their lines too (`invoiceLines`), and an invoice's payments.
pub static QUOTES: records::Records<quote::Entity> =
    records::Records::driven_by(&DocumentProcess(Kind::Quote))
        .with_parts(|| vec![lines("quoteLines", Module::Quotes)]);
pub static SALES_ORDERS: records::Records<sales_order::Entity> =
    records::Records::driven_by(&DocumentProcess(Kind::SalesOrder))
        .with_parts(|| vec![lines("salesOrderLines", Module::SalesOrders)]);
pub static INVOICES: records::Records<invoice::Entity> =
    records::Records::driven_by(&DocumentProcess(Kind::Invoice))
        .computing(&[Computed {
            name: "balance",
            label: "Balance",
            kind: FieldKind::Decimal,
            sql: Formula::Sql("({t}.grand_total - {t}.paid)"),
        }])
        .with_parts(|| {
            vec![
                lines("invoiceLines", Module::Invoices),
                source_of::<payment::Entity>("payments", Module::Invoices, &[])
                    .part_of("invoiceId", "invoices"),
            ]
        });
pub static PURCHASE_ORDERS: records::Records<purchase_order::Entity> =
    records::Records::driven_by(&DocumentProcess(Kind::PurchaseOrder))
        .with_parts(|| vec![lines("purchaseOrderLines", Module::PurchaseOrders)]);

/// The lines of one kind of document, as reports read them.
fn lines(name: &'static str, module: Module) -> Source {
    source_of::<document_line::Entity>(name, module, &[]).part_of("documentId", module.as_str())
}

/// How a bound process drives a document of a kind: its state is the status (which books
/// stock, see [`set_status_in`]); a `convert` action makes the next document.
pub struct DocumentProcess(Kind);

impl Subject for DocumentProcess {
    fn status(&self) -> StatusField {
        StatusField {
            picklist: self.0.status_picklist(),
            field: "status",
        }
    }

    fn mirror_state<'a>(
        &'a self,
        txn: &'a DatabaseExecutor<'a>,
        actor: &'a Principal,
        id: Uuid,
        state: &'a str,
    ) -> BoxFuture<'a, AppResult<()>> {
        Box::pin(async move { set_status_in(txn, actor, self.0, id, state).await.map(drop) })
    }

    fn convert<'a>(
        &'a self,
        txn: &'a DatabaseExecutor<'a>,
        actor: &'a Principal,
        id: Uuid,
        to: Module,
        status: Option<&'a str>,
    ) -> BoxFuture<'a, AppResult<()>> {
        Box::pin(async move {
            let Some(target) = Kind::of(to) else {
                return Err(AppError::bad_input(
                    "transition",
                    "convert works on processes about a quote or sales order",
                ));
            };
            let created = convert_in(txn, actor, self.0, id, target).await?;
            if let Some(status) = status {
                move_to(txn, actor, target, created.id, status).await?;
            }
            Ok(())
        })
    }
}
