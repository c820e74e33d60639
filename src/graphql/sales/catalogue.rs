//! The catalogue: tax classes, currencies, vendors, services, price books, sales settings.

use async_graphql::{
    ComplexObject, Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject,
};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::Order;
use uuid::Uuid;

use entity::platform::tenant;
use entity::sales::{currency, price_book, service, tax_class, vendor};

use crate::error::AppError;
use crate::sales::catalogue::{self, ByName, ServiceFields, SettingsFields, VendorFields};
use crate::{money, records};

use crate::filters::StringFilter;
use crate::graphql::loaders::ById;
use crate::graphql::pagination::{Connected, connection, page_args};
use crate::graphql::records::{id, patch, patch_id, record_object};
use crate::graphql::{ContextExt, parse_id};

/// A tax the tenant charges.
#[derive(SimpleObject)]
pub struct TaxClass {
    pub id: ID,
    pub name: String,
    /// Percent.
    pub rate: Decimal,
    pub active: bool,
}

impl From<tax_class::Model> for TaxClass {
    fn from(m: tax_class::Model) -> Self {
        Self {
            id: id(m.id),
            name: m.name,
            rate: money::from_units(m.rate),
            active: m.active,
        }
    }
}

/// A currency besides the base one.
#[derive(SimpleObject)]
pub struct Currency {
    /// ISO 4217.
    pub code: String,
    pub name: String,
    pub symbol: Option<String>,
    /// Units of this currency per unit of the base currency.
    pub conversion_rate: Decimal,
    pub active: bool,
}

impl From<currency::Model> for Currency {
    fn from(m: currency::Model) -> Self {
        Self {
            code: m.code,
            name: m.name,
            symbol: m.symbol,
            conversion_rate: money::from_units(m.conversion_rate),
            active: m.active,
        }
    }
}

/// The tenant's sales settings.
#[derive(SimpleObject)]
pub struct SalesSettings {
    pub base_currency: String,
    /// Whether invoices may take more stock than there is (default: no).
    pub allow_negative_stock: bool,
    /// Purchase orders above it need a manager to approve them (procure-to-pay); guards read
    /// it as `settings.purchaseApprovalLimit`.
    pub purchase_approval_limit: Option<Decimal>,
    /// The tenant's IANA time zone: reports reckon periods ("this month") and date buckets in it.
    pub time_zone: String,
}

impl From<tenant::Model> for SalesSettings {
    fn from(m: tenant::Model) -> Self {
        Self {
            time_zone: m.time_zone,
            base_currency: m.base_currency,
            allow_negative_stock: m.allow_negative_stock,
            purchase_approval_limit: m.purchase_approval_limit.map(money::from_units),
        }
    }
}

/// A company the tenant buys from.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Vendor {
    pub id: ID,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub address: Option<String>,
    pub category: Option<String>,
    pub description: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    uuid: Uuid,
}

impl From<vendor::Model> for Vendor {
    fn from(m: vendor::Model) -> Self {
        Self {
            id: id(m.id),
            uuid: m.id,
            name: m.name,
            email: m.email,
            phone: m.phone,
            website: m.website,
            address: m.address,
            category: m.category,
            description: m.description,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

record_object!(Vendor, id: uuid {});

/// Something the company sells that is not kept in stock.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Service {
    pub id: ID,
    pub name: String,
    pub category: Option<String>,
    pub unit_price: Decimal,
    pub usage_unit: Option<String>,
    pub active: bool,
    pub description: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    uuid: Uuid,
    #[graphql(skip)]
    tax_class_id: Option<Uuid>,
}

impl From<service::Model> for Service {
    fn from(m: service::Model) -> Self {
        Self {
            id: id(m.id),
            uuid: m.id,
            name: m.name,
            category: m.category,
            unit_price: money::from_units(m.unit_price),
            tax_class_id: m.tax_class_id,
            usage_unit: m.usage_unit,
            active: m.active,
            description: m.description,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// A record a relation points at, if the caller may read its module; batched per request.
pub(super) async fn by_id<E>(ctx: &Context<'_>, id: Option<Uuid>) -> Result<Option<E::Model>>
where
    E: crate::tenancy::Identified + crate::graphql::loaders::ReadAs,
    E::Model: Clone + Send + Sync + 'static,
{
    let Some(id) = id else {
        return Ok(None);
    };
    ctx.loader::<ById<E>>()?.load_one(id).await
}

pub(super) async fn tax_class_by_id(
    ctx: &Context<'_>,
    id: Option<Uuid>,
) -> Result<Option<TaxClass>> {
    let Some(id) = id else {
        return Ok(None);
    };
    let loader = ctx.loader::<ById<tax_class::Entity>>()?;
    Ok(loader.load_one(id).await?.map(TaxClass::from))
}

record_object!(Service, id: uuid {
    async fn tax_class(&self, ctx: &Context<'_>) -> Result<Option<TaxClass>> {
        tax_class_by_id(ctx, self.tax_class_id).await
    }
});

/// A named list of prices.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct PriceBook {
    pub id: ID,
    pub name: String,
    pub currency_code: String,
    pub active: bool,
    pub description: Option<String>,
    #[graphql(skip)]
    uuid: Uuid,
}

impl From<price_book::Model> for PriceBook {
    fn from(m: price_book::Model) -> Self {
        Self {
            id: id(m.id),
            uuid: m.id,
            name: m.name,
            currency_code: m.currency_code,
            active: m.active,
            description: m.description,
        }
    }
}

/// The list price of a product or service in a price book.
#[derive(SimpleObject)]
pub struct PriceBookEntry {
    /// The product's or service's id.
    pub item_id: ID,
    pub list_price: Decimal,
}

#[ComplexObject]
impl PriceBook {
    async fn entries(&self, ctx: &Context<'_>) -> Result<Vec<PriceBookEntry>> {
        let found =
            catalogue::price_book_entries(&ctx.app().db, ctx.principal()?, self.uuid).await?;
        Ok(found
            .into_iter()
            .map(|e| PriceBookEntry {
                item_id: id(e.item_id),
                list_price: money::from_units(e.list_price),
            })
            .collect())
    }
}

#[derive(InputObject, Default)]
pub struct SalesSettingsInput {
    pub base_currency: Option<String>,
    pub allow_negative_stock: Option<bool>,
    pub purchase_approval_limit: MaybeUndefined<Decimal>,
    /// An IANA time zone such as `Asia/Jakarta`.
    pub time_zone: Option<String>,
}

#[derive(InputObject, Default)]
pub struct VendorInput {
    pub name: Option<String>,
    pub email: MaybeUndefined<String>,
    pub phone: MaybeUndefined<String>,
    pub website: MaybeUndefined<String>,
    pub address: MaybeUndefined<String>,
    pub category: MaybeUndefined<String>,
    pub description: MaybeUndefined<String>,
}

impl From<VendorInput> for VendorFields {
    fn from(i: VendorInput) -> Self {
        Self {
            name: i.name,
            email: patch(i.email),
            phone: patch(i.phone),
            website: patch(i.website),
            address: patch(i.address),
            category: patch(i.category),
            description: patch(i.description),
        }
    }
}

#[derive(InputObject, Default)]
pub struct ServiceInput {
    pub name: Option<String>,
    pub category: MaybeUndefined<String>,
    pub unit_price: Option<Decimal>,
    pub tax_class_id: MaybeUndefined<ID>,
    pub usage_unit: MaybeUndefined<String>,
    pub active: Option<bool>,
    pub description: MaybeUndefined<String>,
}

impl ServiceInput {
    fn into_fields(self) -> Result<ServiceFields, AppError> {
        Ok(ServiceFields {
            name: self.name,
            category: patch(self.category),
            unit_price: self.unit_price,
            tax_class_id: patch_id("taxClassId", self.tax_class_id)?,
            usage_unit: patch(self.usage_unit),
            active: self.active,
            description: patch(self.description),
        })
    }
}

#[derive(Default)]
pub struct CatalogueQuery;

#[Object]
impl CatalogueQuery {
    async fn sales_settings(&self, ctx: &Context<'_>) -> Result<SalesSettings> {
        let scope = ctx.principal()?.scope();
        Ok(catalogue::settings(&ctx.app().db, &scope).await?.into())
    }

    async fn tax_classes(&self, ctx: &Context<'_>) -> Result<Vec<TaxClass>> {
        let found = catalogue::tax_classes(&ctx.app().db, ctx.principal()?).await?;
        Ok(found.into_iter().map(Into::into).collect())
    }

    async fn currencies(&self, ctx: &Context<'_>) -> Result<Vec<Currency>> {
        let found = catalogue::currencies(&ctx.app().db, ctx.principal()?).await?;
        Ok(found.into_iter().map(Into::into).collect())
    }

    async fn vendor(&self, ctx: &Context<'_>, id: ID) -> Result<Vendor> {
        let id = parse_id("id", &id)?;
        Ok(
            records::read::<vendor::Entity>(&ctx.app().db, ctx.principal()?, id)
                .await?
                .into(),
        )
    }

    /// Vendors by name.
    async fn vendors(
        &self,
        ctx: &Context<'_>,
        name: Option<StringFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connected<Vendor>> {
        let app = ctx.app();
        let (filter, by_name) = (ByName(name), Some((vendor::Column::Name, Order::Asc)));
        let args = page_args(first, after, None, None);
        let page = records::list::<vendor::Entity>(
            &app.db,
            ctx.principal()?,
            &filter,
            by_name,
            &args,
            &app.limits,
        );
        Ok(connection(page.await?, Vendor::from))
    }

    async fn service(&self, ctx: &Context<'_>, id: ID) -> Result<Service> {
        let id = parse_id("id", &id)?;
        Ok(
            records::read::<service::Entity>(&ctx.app().db, ctx.principal()?, id)
                .await?
                .into(),
        )
    }

    /// Services by name.
    async fn services(
        &self,
        ctx: &Context<'_>,
        name: Option<StringFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connected<Service>> {
        let app = ctx.app();
        let (filter, by_name) = (ByName(name), Some((service::Column::Name, Order::Asc)));
        let args = page_args(first, after, None, None);
        let page = records::list::<service::Entity>(
            &app.db,
            ctx.principal()?,
            &filter,
            by_name,
            &args,
            &app.limits,
        );
        Ok(connection(page.await?, Service::from))
    }

    async fn price_books(&self, ctx: &Context<'_>) -> Result<Vec<PriceBook>> {
        let found = catalogue::price_books(&ctx.app().db, ctx.principal()?).await?;
        Ok(found.into_iter().map(Into::into).collect())
    }
}

#[derive(Default)]
pub struct CatalogueMutation;

#[Object]
impl CatalogueMutation {
    /// Base currency, negative stock, purchase approval limit (admins only).
    async fn update_sales_settings(
        &self,
        ctx: &Context<'_>,
        input: SalesSettingsInput,
    ) -> Result<SalesSettings> {
        let fields = SettingsFields {
            base_currency: input.base_currency,
            allow_negative_stock: input.allow_negative_stock,
            purchase_approval_limit: patch(input.purchase_approval_limit),
            time_zone: input.time_zone,
        };
        Ok(
            catalogue::update_settings(&ctx.app().db, ctx.principal()?, fields)
                .await?
                .into(),
        )
    }

    /// Adds a tax class (admins only).
    async fn create_tax_class(
        &self,
        ctx: &Context<'_>,
        name: String,
        rate: Decimal,
    ) -> Result<TaxClass> {
        let principal = ctx.principal()?;
        let created =
            catalogue::save_tax_class(&ctx.app().db, principal, None, Some(name), Some(rate), None)
                .await?;
        Ok(created.into())
    }

    /// Renames a tax class, changes its rate (for documents saved from now on) or retires it.
    async fn update_tax_class(
        &self,
        ctx: &Context<'_>,
        id: ID,
        name: Option<String>,
        rate: Option<Decimal>,
        active: Option<bool>,
    ) -> Result<TaxClass> {
        let id = parse_id("id", &id)?;
        let principal = ctx.principal()?;
        let saved =
            catalogue::save_tax_class(&ctx.app().db, principal, Some(id), name, rate, active)
                .await?;
        Ok(saved.into())
    }

    /// Adds a currency or changes it, by its code (admins only).
    async fn save_currency(
        &self,
        ctx: &Context<'_>,
        code: String,
        name: Option<String>,
        symbol: MaybeUndefined<String>,
        conversion_rate: Option<Decimal>,
        active: Option<bool>,
    ) -> Result<Currency> {
        let saved = catalogue::save_currency(
            &ctx.app().db,
            ctx.principal()?,
            &code,
            name,
            patch(symbol),
            conversion_rate,
            active,
        )
        .await?;
        Ok(saved.into())
    }

    async fn create_vendor(&self, ctx: &Context<'_>, input: VendorInput) -> Result<Vendor> {
        Ok(
            catalogue::create_vendor(&ctx.app().db, ctx.principal()?, input.into())
                .await?
                .into(),
        )
    }

    async fn update_vendor(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        input: VendorInput,
    ) -> Result<Vendor> {
        let id = parse_id("id", &id)?;
        Ok(
            catalogue::update_vendor(&ctx.app().db, ctx.principal()?, id, version, input.into())
                .await?
                .into(),
        )
    }

    async fn delete_vendor(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let id = parse_id("id", &id)?;
        records::delete::<vendor::Entity>(&ctx.app().db, ctx.principal()?, id).await?;
        Ok(true)
    }

    async fn create_service(&self, ctx: &Context<'_>, input: ServiceInput) -> Result<Service> {
        let fields = input.into_fields()?;
        Ok(
            catalogue::create_service(&ctx.app().db, ctx.principal()?, fields)
                .await?
                .into(),
        )
    }

    async fn update_service(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        input: ServiceInput,
    ) -> Result<Service> {
        let id = parse_id("id", &id)?;
        let fields = input.into_fields()?;
        Ok(
            catalogue::update_service(&ctx.app().db, ctx.principal()?, id, version, fields)
                .await?
                .into(),
        )
    }

    async fn delete_service(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let id = parse_id("id", &id)?;
        records::delete::<service::Entity>(&ctx.app().db, ctx.principal()?, id).await?;
        Ok(true)
    }

    /// A price book in the base currency unless another is given.
    async fn create_price_book(
        &self,
        ctx: &Context<'_>,
        name: String,
        currency_code: Option<String>,
        description: Option<String>,
    ) -> Result<PriceBook> {
        let principal = ctx.principal()?;
        let created = catalogue::create_price_book(
            &ctx.app().db,
            principal,
            &name,
            currency_code,
            description,
        )
        .await?;
        Ok(created.into())
    }

    /// Sets the list price of a product or service in a price book; `null` removes it.
    async fn set_list_price(
        &self,
        ctx: &Context<'_>,
        price_book_id: ID,
        item_id: ID,
        list_price: Option<Decimal>,
    ) -> Result<bool> {
        let book = parse_id("priceBookId", &price_book_id)?;
        let item = parse_id("itemId", &item_id)?;
        catalogue::set_list_price(&ctx.app().db, ctx.principal()?, book, item, list_price).await?;
        Ok(true)
    }
}
