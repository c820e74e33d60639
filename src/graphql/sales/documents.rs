//! Quotes, sales orders, invoices and purchase orders: one `SalesDocument` type with its
//! `kind`, payments, and the customer link through which a customer answers a quote.

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use entity::crm::{account, contact, opportunity};
use entity::sales::document::Document;
use entity::sales::{document_line, payment, product, quote_link, service, vendor};

use crate::error::AppError;
use crate::money;
use crate::sales::documents::{self, DocumentFields, DocumentFilter, Kind, LineFields};
use crate::sales::links::{self, CustomerView};
use crate::sales::payments::{self, PaymentFields};
use crate::sales::totals::{Discount, TaxMode};

use crate::graphql::crm::accounts::Account;
use crate::graphql::crm::contacts::Contact;
use crate::graphql::crm::opportunities::Opportunity;
use crate::graphql::loaders::{Children, LinesOfDocument};
use crate::graphql::pagination::{Connected, connection, page_args};
use crate::graphql::platform::User;
use crate::graphql::records::{HistoryEntry, history, id, owner, patch, patch_id};
use crate::graphql::sales::catalogue::{Service, TaxClass, Vendor, by_id, tax_class_by_id};
use crate::graphql::sales::products::Product;
use crate::graphql::{ContextExt, parse_id};

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "DocumentKind")]
pub enum KindValue {
    Quote,
    SalesOrder,
    Invoice,
    PurchaseOrder,
}

impl From<KindValue> for Kind {
    fn from(k: KindValue) -> Self {
        match k {
            KindValue::Quote => Kind::Quote,
            KindValue::SalesOrder => Kind::SalesOrder,
            KindValue::Invoice => Kind::Invoice,
            KindValue::PurchaseOrder => Kind::PurchaseOrder,
        }
    }
}

impl From<Kind> for KindValue {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Quote => KindValue::Quote,
            Kind::SalesOrder => KindValue::SalesOrder,
            Kind::Invoice => KindValue::Invoice,
            Kind::PurchaseOrder => KindValue::PurchaseOrder,
        }
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "TaxMode")]
pub enum TaxModeValue {
    /// Each line has its own tax class.
    Individual,
    /// One tax class on the whole document.
    Group,
}

fn amount(units: i64) -> Decimal {
    money::from_units(units)
}

/// A quote, sales order, invoice or purchase order. Totals are computed by the server (see
/// the README for the rounding rule).
pub struct SalesDocument {
    kind: Kind,
    doc: Document,
}

impl SalesDocument {
    fn new(kind: Kind, doc: Document) -> Self {
        Self { kind, doc }
    }
}

#[Object]
impl SalesDocument {
    async fn id(&self) -> ID {
        id(self.doc.id)
    }
    async fn kind(&self) -> KindValue {
        self.kind.into()
    }
    /// QUO-00001, SO-00001, INV-00001 or PO-00001, given by the server.
    async fn number(&self) -> &str {
        &self.doc.number
    }
    async fn subject(&self) -> &str {
        &self.doc.subject
    }
    /// A value of the kind's status picklist (quoteStatus, salesOrderStatus, invoiceStatus,
    /// purchaseOrderStatus); a bound process moves it.
    async fn status(&self) -> &str {
        &self.doc.status
    }
    async fn account(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        let found = by_id::<account::Entity>(ctx, self.doc.account_id).await?;
        Ok(found.map(Account::from))
    }
    async fn contact(&self, ctx: &Context<'_>) -> Result<Option<Contact>> {
        let found = by_id::<contact::Entity>(ctx, self.doc.contact_id).await?;
        Ok(found.map(Contact::from))
    }
    async fn vendor(&self, ctx: &Context<'_>) -> Result<Option<Vendor>> {
        let found = by_id::<vendor::Entity>(ctx, self.doc.vendor_id).await?;
        Ok(found.map(Vendor::from))
    }
    async fn opportunity(&self, ctx: &Context<'_>) -> Result<Option<Opportunity>> {
        let found = by_id::<opportunity::Entity>(ctx, self.doc.opportunity_id).await?;
        Ok(found.map(Opportunity::from))
    }
    /// The quote this document was converted from.
    async fn quote(&self, ctx: &Context<'_>) -> Result<Option<SalesDocument>> {
        source(ctx, Kind::Quote, self.doc.quote_id).await
    }
    /// The sales order this invoice was converted from.
    async fn sales_order(&self, ctx: &Context<'_>) -> Result<Option<SalesDocument>> {
        source(ctx, Kind::SalesOrder, self.doc.sales_order_id).await
    }
    /// Sales orders converted from this quote.
    async fn sales_orders(&self, ctx: &Context<'_>) -> Result<Vec<SalesDocument>> {
        converted(ctx, self, Kind::SalesOrder).await
    }
    /// Invoices converted from this quote or sales order.
    async fn invoices(&self, ctx: &Context<'_>) -> Result<Vec<SalesDocument>> {
        converted(ctx, self, Kind::Invoice).await
    }
    async fn valid_until(&self) -> Option<NaiveDate> {
        self.doc.valid_until
    }
    async fn due_date(&self) -> Option<NaiveDate> {
        self.doc.due_date
    }
    async fn delivery_date(&self) -> Option<NaiveDate> {
        self.doc.delivery_date
    }
    async fn billing_address(&self) -> Option<&str> {
        self.doc.billing_address.as_deref()
    }
    async fn shipping_address(&self) -> Option<&str> {
        self.doc.shipping_address.as_deref()
    }
    async fn terms(&self) -> Option<&str> {
        self.doc.terms.as_deref()
    }
    async fn description(&self) -> Option<&str> {
        self.doc.description.as_deref()
    }
    async fn currency_code(&self) -> &str {
        &self.doc.currency_code
    }
    /// Units of the document's currency per unit of the base currency, when it was saved.
    async fn conversion_rate(&self) -> Decimal {
        amount(self.doc.conversion_rate)
    }
    async fn tax_mode(&self) -> TaxModeValue {
        if self.doc.tax_mode == "individual" {
            TaxModeValue::Individual
        } else {
            TaxModeValue::Group
        }
    }
    /// Group mode: the tax class on the whole document.
    async fn tax_class(&self, ctx: &Context<'_>) -> Result<Option<TaxClass>> {
        tax_class_by_id(ctx, self.doc.tax_class_id).await
    }
    /// Group mode: the tax rate in percent when the document was saved.
    async fn tax_rate(&self) -> Decimal {
        amount(self.doc.tax_rate)
    }
    async fn discount_percent(&self) -> Option<Decimal> {
        self.doc.discount_percent.map(amount)
    }
    async fn discount_amount(&self) -> Option<Decimal> {
        self.doc.discount_amount.map(amount)
    }
    /// Shipping and handling.
    async fn shipping(&self) -> Decimal {
        amount(self.doc.shipping)
    }
    async fn adjustment(&self) -> Decimal {
        amount(self.doc.adjustment)
    }
    /// The sum of the lines' net amounts.
    async fn subtotal(&self) -> Decimal {
        amount(self.doc.subtotal)
    }
    /// The document discount.
    async fn discount_total(&self) -> Decimal {
        amount(self.doc.discount_total)
    }
    async fn tax_total(&self) -> Decimal {
        amount(self.doc.tax_total)
    }
    /// subtotal − discountTotal + taxTotal + shipping + adjustment.
    async fn grand_total(&self) -> Decimal {
        amount(self.doc.grand_total)
    }
    /// Invoices: what payments have covered.
    async fn paid(&self) -> Decimal {
        amount(self.doc.paid)
    }
    /// grandTotal − paid.
    async fn balance(&self) -> Decimal {
        amount(self.doc.grand_total - self.doc.paid)
    }
    /// Whether the document's stock movement is booked (invoice issued, order received).
    async fn stock_booked(&self) -> bool {
        self.doc.stock_booked
    }
    async fn lines(&self, ctx: &Context<'_>) -> Result<Vec<DocumentLine>> {
        let loader = ctx.loader::<Children<document_line::Entity, LinesOfDocument>>()?;
        let lines = loader.load_one(self.doc.id).await?.unwrap_or_default();
        Ok(lines.into_iter().map(DocumentLine).collect())
    }
    /// Invoices: the payments received, oldest first.
    async fn payments(&self, ctx: &Context<'_>) -> Result<Vec<Payment>> {
        if self.kind != Kind::Invoice {
            return Ok(Vec::new());
        }
        let found = payments::of_invoice(&ctx.app().db, ctx.principal()?, self.doc.id).await?;
        Ok(found.into_iter().map(Payment).collect())
    }
    /// Quotes: the customer links made when it was sent, newest first.
    async fn customer_links(&self, ctx: &Context<'_>) -> Result<Vec<QuoteLink>> {
        if self.kind != Kind::Quote {
            return Ok(Vec::new());
        }
        let found = links::links_of(&ctx.app().db, ctx.principal()?, self.doc.id).await?;
        Ok(found.into_iter().map(QuoteLink).collect())
    }
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        owner(ctx, self.doc.owner_id).await
    }
    async fn history(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most this many (default and most: the largest page size).")]
        limit: Option<i32>,
        #[graphql(desc = "Skip this many first.")] offset: Option<i32>,
    ) -> Result<Vec<HistoryEntry>> {
        history(ctx, self.doc.id, limit, offset).await
    }
    async fn version(&self) -> i32 {
        self.doc.version
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.doc.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.doc.updated_at
    }
}

async fn source(ctx: &Context<'_>, kind: Kind, id: Option<Uuid>) -> Result<Option<SalesDocument>> {
    let Some(id) = id else {
        return Ok(None);
    };
    match documents::get(&ctx.app().db, ctx.principal()?, kind, id).await {
        Ok(found) => Ok(Some(SalesDocument::new(kind, found))),
        Err(AppError::NotFound(_)) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

async fn converted(
    ctx: &Context<'_>,
    document: &SalesDocument,
    to: Kind,
) -> Result<Vec<SalesDocument>> {
    let link = match document.kind {
        Kind::Quote => "quote_id",
        Kind::SalesOrder if to == Kind::Invoice => "sales_order_id",
        _ => return Ok(Vec::new()),
    };
    let found = documents::converted_from(
        &ctx.app().db,
        ctx.principal()?,
        to,
        link,
        &[document.doc.id],
    )
    .await?;
    Ok(found
        .into_iter()
        .map(|d| SalesDocument::new(to, d))
        .collect())
}

/// One line of a sales document.
pub struct DocumentLine(document_line::Model);

#[Object]
impl DocumentLine {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn position(&self) -> i32 {
        self.0.position
    }
    async fn product(&self, ctx: &Context<'_>) -> Result<Option<Product>> {
        let found = by_id::<product::Entity>(ctx, self.0.product_id).await?;
        Ok(found.map(Product::from))
    }
    async fn service(&self, ctx: &Context<'_>) -> Result<Option<Service>> {
        let found = by_id::<service::Entity>(ctx, self.0.service_id).await?;
        Ok(found.map(Service::from))
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn quantity(&self) -> Decimal {
        amount(self.0.quantity)
    }
    async fn list_price(&self) -> Decimal {
        amount(self.0.list_price)
    }
    async fn discount_percent(&self) -> Option<Decimal> {
        self.0.discount_percent.map(amount)
    }
    async fn discount_amount(&self) -> Option<Decimal> {
        self.0.discount_amount.map(amount)
    }
    /// Individual tax mode: the line's tax class.
    async fn tax_class(&self, ctx: &Context<'_>) -> Result<Option<TaxClass>> {
        tax_class_by_id(ctx, self.0.tax_class_id).await
    }
    /// Individual tax mode: the rate in percent when the line was saved.
    async fn tax_rate(&self) -> Decimal {
        amount(self.0.tax_rate)
    }
    /// quantity × listPrice − discount, rounded to cents.
    async fn net(&self) -> Decimal {
        amount(self.0.net)
    }
    async fn tax(&self) -> Decimal {
        amount(self.0.tax)
    }
    /// net + tax.
    async fn total(&self) -> Decimal {
        amount(self.0.total)
    }
}

/// A payment received against an invoice.
pub struct Payment(payment::Model);

#[Object]
impl Payment {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn amount(&self) -> Decimal {
        amount(self.0.amount)
    }
    async fn paid_on(&self) -> NaiveDate {
        self.0.paid_on
    }
    async fn method(&self) -> &str {
        &self.0.method
    }
    async fn reference(&self) -> Option<&str> {
        self.0.reference.as_deref()
    }
    async fn recorded_by(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        owner(ctx, self.0.actor_id).await
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A customer link to a quote. The token itself is shown only once, by sendQuote.
pub struct QuoteLink(quote_link::Model);

#[Object]
impl QuoteLink {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn expires_at(&self) -> DateTime<Utc> {
        self.0.expires_at
    }
    async fn revoked_at(&self) -> Option<DateTime<Utc>> {
        self.0.revoked_at
    }
    /// `accepted` or `rejected`, once the customer answered.
    async fn response(&self) -> Option<&str> {
        self.0.response.as_deref()
    }
    async fn comment(&self) -> Option<&str> {
        self.0.comment.as_deref()
    }
    async fn responded_at(&self) -> Option<DateTime<Utc>> {
        self.0.responded_at
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// What sendQuote returns: the quote, now Sent, and the link's token to give the customer.
#[derive(SimpleObject)]
pub struct SentQuote {
    pub quote: SalesDocument,
    pub link: QuoteLink,
    /// Shown once; the server keeps only its hash.
    pub token: String,
}

/// A quote as its customer sees it through a link: no ids, nothing else of the tenant.
#[derive(SimpleObject)]
pub struct CustomerQuote {
    /// The company that made the quote.
    pub company: String,
    pub number: String,
    pub subject: String,
    pub status: String,
    pub valid_until: Option<NaiveDate>,
    pub terms: Option<String>,
    pub currency_code: String,
    pub lines: Vec<CustomerQuoteLine>,
    pub subtotal: Decimal,
    pub discount_total: Decimal,
    pub tax_total: Decimal,
    pub shipping: Decimal,
    pub adjustment: Decimal,
    pub grand_total: Decimal,
    /// Whether the customer may still accept or reject it.
    pub awaiting_response: bool,
    pub response: Option<String>,
}

#[derive(SimpleObject)]
pub struct CustomerQuoteLine {
    pub description: Option<String>,
    pub quantity: Decimal,
    pub list_price: Decimal,
    pub net: Decimal,
    pub tax: Decimal,
    pub total: Decimal,
}

impl From<CustomerView> for CustomerQuote {
    fn from(v: CustomerView) -> Self {
        let q = v.quote;
        Self {
            company: v.company,
            awaiting_response: q.status == documents::SENT && v.link.response.is_none(),
            response: v.link.response,
            number: q.number,
            subject: q.subject,
            status: q.status,
            valid_until: q.valid_until,
            terms: q.terms,
            currency_code: q.currency_code,
            lines: v
                .lines
                .into_iter()
                .map(|l| CustomerQuoteLine {
                    description: l.description,
                    quantity: amount(l.quantity),
                    list_price: amount(l.list_price),
                    net: amount(l.net),
                    tax: amount(l.tax),
                    total: amount(l.total),
                })
                .collect(),
            subtotal: amount(q.subtotal),
            discount_total: amount(q.discount_total),
            tax_total: amount(q.tax_total),
            shipping: amount(q.shipping),
            adjustment: amount(q.adjustment),
            grand_total: amount(q.grand_total),
        }
    }
}

#[derive(InputObject)]
pub struct DocumentLineInput {
    /// A product or a service, not both.
    pub product_id: Option<ID>,
    pub service_id: Option<ID>,
    /// Defaults to the item's name.
    pub description: Option<String>,
    pub quantity: Decimal,
    /// Defaults to the price book's price, else the item's unit price.
    pub list_price: Option<Decimal>,
    pub price_book_id: Option<ID>,
    /// One of the two, or neither.
    pub discount_percent: Option<Decimal>,
    pub discount_amount: Option<Decimal>,
    /// Individual tax mode; defaults to the item's tax class.
    pub tax_class_id: Option<ID>,
}

/// The fields of a sales document. On update, only the fields given change and `null`
/// clears; `lines`, when given, replaces every line. Totals are never sent: the server
/// computes them.
#[derive(InputObject, Default)]
pub struct SalesDocumentInput {
    pub subject: Option<String>,
    /// Without a bound process; with one, fire its transitions instead.
    pub status: Option<String>,
    /// Required for quotes, sales orders and invoices.
    pub account_id: MaybeUndefined<ID>,
    pub contact_id: MaybeUndefined<ID>,
    /// Required for purchase orders.
    pub vendor_id: MaybeUndefined<ID>,
    pub opportunity_id: MaybeUndefined<ID>,
    pub valid_until: MaybeUndefined<NaiveDate>,
    pub due_date: MaybeUndefined<NaiveDate>,
    pub delivery_date: MaybeUndefined<NaiveDate>,
    pub billing_address: MaybeUndefined<String>,
    pub shipping_address: MaybeUndefined<String>,
    pub terms: MaybeUndefined<String>,
    pub description: MaybeUndefined<String>,
    /// The tenant's base currency or one of its active currencies.
    pub currency_code: Option<String>,
    pub tax_mode: Option<TaxModeValue>,
    /// Group mode: the tax on the whole document.
    pub tax_class_id: MaybeUndefined<ID>,
    /// A document discount: a percent or an amount, not both; null removes it.
    pub discount_percent: MaybeUndefined<Decimal>,
    pub discount_amount: MaybeUndefined<Decimal>,
    pub shipping: Option<Decimal>,
    pub adjustment: Option<Decimal>,
    pub lines: Option<Vec<DocumentLineInput>>,
}

fn discount(
    field: &str,
    percent: MaybeUndefined<Decimal>,
    amount: MaybeUndefined<Decimal>,
) -> Result<Option<Discount>, AppError> {
    Ok(match (percent, amount) {
        (MaybeUndefined::Value(_), MaybeUndefined::Value(_)) => {
            return Err(AppError::bad_input(
                format!("{field}Amount"),
                "give a discount percent or amount, not both",
            ));
        }
        (MaybeUndefined::Value(p), _) => Some(Discount::Percent(p)),
        (_, MaybeUndefined::Value(a)) => Some(Discount::Amount(a)),
        (MaybeUndefined::Undefined, MaybeUndefined::Undefined) => None,
        _ => Some(Discount::None),
    })
}

fn optional(value: Option<Decimal>) -> MaybeUndefined<Decimal> {
    value.map_or(MaybeUndefined::Undefined, MaybeUndefined::Value)
}

impl SalesDocumentInput {
    fn into_fields(self) -> Result<DocumentFields, AppError> {
        let lines = self
            .lines
            .map(|lines| {
                lines
                    .into_iter()
                    .enumerate()
                    .map(|(i, l)| {
                        let at = |name: &str| format!("lines.{i}.{name}");
                        Ok(LineFields {
                            product_id: l
                                .product_id
                                .map(|v| parse_id(&at("productId"), &v))
                                .transpose()?,
                            service_id: l
                                .service_id
                                .map(|v| parse_id(&at("serviceId"), &v))
                                .transpose()?,
                            description: l.description,
                            quantity: l.quantity,
                            list_price: l.list_price,
                            price_book_id: l
                                .price_book_id
                                .map(|v| parse_id(&at("priceBookId"), &v))
                                .transpose()?,
                            discount: discount(
                                &at("discount"),
                                optional(l.discount_percent),
                                optional(l.discount_amount),
                            )?
                            .unwrap_or_default(),
                            tax_class_id: l
                                .tax_class_id
                                .map(|v| parse_id(&at("taxClassId"), &v))
                                .transpose()?,
                        })
                    })
                    .collect::<Result<Vec<_>, AppError>>()
            })
            .transpose()?;
        Ok(DocumentFields {
            subject: self.subject,
            status: self.status,
            account_id: patch_id("accountId", self.account_id)?,
            contact_id: patch_id("contactId", self.contact_id)?,
            vendor_id: patch_id("vendorId", self.vendor_id)?,
            opportunity_id: patch_id("opportunityId", self.opportunity_id)?,
            valid_until: patch(self.valid_until),
            due_date: patch(self.due_date),
            delivery_date: patch(self.delivery_date),
            billing_address: patch(self.billing_address),
            shipping_address: patch(self.shipping_address),
            terms: patch(self.terms),
            description: patch(self.description),
            currency_code: self.currency_code,
            tax_mode: self.tax_mode.map(|m| match m {
                TaxModeValue::Individual => TaxMode::Individual,
                TaxModeValue::Group => TaxMode::Group,
            }),
            tax_class_id: patch_id("taxClassId", self.tax_class_id)?,
            discount: discount("discount", self.discount_percent, self.discount_amount)?,
            shipping: self.shipping,
            adjustment: self.adjustment,
            lines,
        })
    }
}

#[derive(InputObject)]
pub struct PaymentInput {
    pub amount: Decimal,
    /// Defaults to today.
    pub paid_on: Option<NaiveDate>,
    /// Bank transfer, card, cash…
    pub method: String,
    pub reference: Option<String>,
}

/// What recordPayment returns.
#[derive(SimpleObject)]
pub struct RecordedPayment {
    pub payment: Payment,
    pub invoice: SalesDocument,
}

#[derive(Default)]
pub struct DocumentQuery;

#[Object]
impl DocumentQuery {
    async fn sales_document(
        &self,
        ctx: &Context<'_>,
        kind: KindValue,
        id: ID,
    ) -> Result<SalesDocument> {
        let id = parse_id("id", &id)?;
        let found = documents::get(&ctx.app().db, ctx.principal()?, kind.into(), id).await?;
        Ok(SalesDocument::new(kind.into(), found))
    }

    /// Documents of one kind, newest first.
    async fn sales_documents(
        &self,
        ctx: &Context<'_>,
        kind: KindValue,
        filter: Option<DocumentFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connected<SalesDocument>> {
        let app = ctx.app();
        let filter = filter.unwrap_or_default();
        let args = page_args(first, after, None, None);
        let kind: Kind = kind.into();
        let page =
            documents::list(&app.db, ctx.principal()?, kind, &filter, &args, &app.limits).await?;
        Ok(connection(page, |d| SalesDocument::new(kind, d)))
    }

    /// A quote through its customer link: no sign-in, only this quote.
    async fn quote_for_customer(&self, ctx: &Context<'_>, token: String) -> Result<CustomerQuote> {
        Ok(links::quote_for_customer(&ctx.app().db, &token)
            .await?
            .into())
    }
}

#[derive(Default)]
pub struct DocumentMutation;

#[Object]
impl DocumentMutation {
    async fn create_sales_document(
        &self,
        ctx: &Context<'_>,
        kind: KindValue,
        input: SalesDocumentInput,
    ) -> Result<SalesDocument> {
        let fields = input.into_fields()?;
        let created =
            documents::create(&ctx.app().db, ctx.principal()?, kind.into(), fields).await?;
        Ok(SalesDocument::new(kind.into(), created))
    }

    async fn update_sales_document(
        &self,
        ctx: &Context<'_>,
        kind: KindValue,
        id: ID,
        version: i32,
        input: SalesDocumentInput,
    ) -> Result<SalesDocument> {
        let id = parse_id("id", &id)?;
        let fields = input.into_fields()?;
        let updated = documents::update(
            &ctx.app().db,
            ctx.principal()?,
            kind.into(),
            id,
            version,
            fields,
        )
        .await?;
        Ok(SalesDocument::new(kind.into(), updated))
    }

    /// Copies a quote into a sales order or invoice, or a sales order into an invoice; the
    /// two stay linked.
    async fn convert_sales_document(
        &self,
        ctx: &Context<'_>,
        kind: KindValue,
        id: ID,
        to: KindValue,
    ) -> Result<SalesDocument> {
        let id = parse_id("id", &id)?;
        let created =
            documents::convert(&ctx.app().db, ctx.principal()?, kind.into(), id, to.into()).await?;
        Ok(SalesDocument::new(to.into(), created))
    }

    async fn delete_sales_document(
        &self,
        ctx: &Context<'_>,
        kind: KindValue,
        id: ID,
    ) -> Result<bool> {
        let id = parse_id("id", &id)?;
        documents::delete(&ctx.app().db, ctx.principal()?, kind.into(), id).await?;
        Ok(true)
    }

    async fn restore_sales_document(
        &self,
        ctx: &Context<'_>,
        kind: KindValue,
        id: ID,
    ) -> Result<SalesDocument> {
        let id = parse_id("id", &id)?;
        let restored = documents::restore(&ctx.app().db, ctx.principal()?, kind.into(), id).await?;
        Ok(SalesDocument::new(kind.into(), restored))
    }

    async fn purge_sales_document(
        &self,
        ctx: &Context<'_>,
        kind: KindValue,
        id: ID,
    ) -> Result<bool> {
        let id = parse_id("id", &id)?;
        documents::purge(&ctx.app().db, ctx.principal()?, kind.into(), id).await?;
        Ok(true)
    }

    /// Records a payment against an issued invoice; more than its balance is refused.
    async fn record_payment(
        &self,
        ctx: &Context<'_>,
        invoice_id: ID,
        input: PaymentInput,
    ) -> Result<RecordedPayment> {
        let invoice_id = parse_id("invoiceId", &invoice_id)?;
        let fields = PaymentFields {
            amount: input.amount,
            paid_on: input.paid_on,
            method: input.method,
            reference: input.reference,
        };
        let (payment, invoice) =
            payments::record(&ctx.app().db, ctx.principal()?, invoice_id, fields).await?;
        Ok(RecordedPayment {
            payment: Payment(payment),
            invoice: SalesDocument::new(Kind::Invoice, invoice),
        })
    }

    /// Sends a quote: moves it to Sent and makes a customer link valid for `validDays`
    /// (default 30).
    async fn send_quote(
        &self,
        ctx: &Context<'_>,
        id: ID,
        valid_days: Option<u32>,
    ) -> Result<SentQuote> {
        let id = parse_id("id", &id)?;
        let (quote, link, token) =
            links::send_quote(&ctx.app().db, ctx.principal()?, id, valid_days).await?;
        Ok(SentQuote {
            quote: SalesDocument::new(Kind::Quote, quote),
            link: QuoteLink(link),
            token,
        })
    }

    /// Stops a customer link from working.
    async fn revoke_quote_link(&self, ctx: &Context<'_>, id: ID) -> Result<QuoteLink> {
        let id = parse_id("id", &id)?;
        Ok(QuoteLink(
            links::revoke(&ctx.app().db, ctx.principal()?, id).await?,
        ))
    }

    /// The customer's answer through a link: accepts or rejects the quote (firing its
    /// process), with an optional comment. No sign-in; the token allows nothing else.
    async fn respond_to_quote(
        &self,
        ctx: &Context<'_>,
        token: String,
        accept: bool,
        comment: Option<String>,
    ) -> Result<CustomerQuote> {
        Ok(links::respond(&ctx.app().db, &token, accept, comment)
            .await?
            .into())
    }
}
