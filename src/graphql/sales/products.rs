//! Products and the stock ledger.

use async_graphql::{
    ComplexObject, Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject,
};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use entity::sales::{product, stock_movement, vendor};

use crate::money;
use crate::pagination::Slice;
use crate::records;
use crate::sales::products::{self, ProductFields, ProductFilter};

use crate::graphql::pagination::{Connected, connection, page_args};
use crate::graphql::platform::User;
use crate::graphql::records::{id, owner, patch, patch_id, record_mutations, record_object};
use crate::graphql::sales::catalogue::{TaxClass, Vendor, by_id, tax_class_by_id};
use crate::graphql::{ContextExt, parse_id};

/// Something the company sells and keeps in stock.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Product {
    pub id: ID,
    /// Unique per tenant.
    pub code: String,
    pub name: String,
    pub category: Option<String>,
    pub manufacturer: Option<String>,
    pub unit_price: Decimal,
    pub cost_price: Option<Decimal>,
    pub usage_unit: Option<String>,
    /// Always the sum of the stock ledger.
    pub quantity_in_stock: Decimal,
    /// At or below it, the product shows in stockAlerts.
    pub reorder_level: Decimal,
    pub active: bool,
    pub description: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    uuid: Uuid,
    #[graphql(skip)]
    tax_class_id: Option<Uuid>,
    #[graphql(skip)]
    vendor_id: Option<Uuid>,
}

impl From<product::Model> for Product {
    fn from(m: product::Model) -> Self {
        Self {
            id: id(m.id),
            uuid: m.id,
            tax_class_id: m.tax_class_id,
            vendor_id: m.vendor_id,
            code: m.code,
            name: m.name,
            category: m.category,
            manufacturer: m.manufacturer,
            unit_price: money::from_units(m.unit_price),
            cost_price: m.cost_price.map(money::from_units),
            usage_unit: m.usage_unit,
            quantity_in_stock: money::from_units(m.quantity_in_stock),
            reorder_level: money::from_units(m.reorder_level),
            active: m.active,
            description: m.description,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// One line of the stock ledger.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct StockMovement {
    /// Positive: in; negative: out.
    pub quantity: Decimal,
    /// Why: adjustment (more causes come with invoices and purchase orders).
    pub cause: String,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
    #[graphql(skip)]
    actor_id: Uuid,
}

impl From<stock_movement::Model> for StockMovement {
    fn from(m: stock_movement::Model) -> Self {
        Self {
            quantity: money::from_units(m.quantity),
            cause: m.cause,
            reason: m.reason,
            at: m.at,
            actor_id: m.actor_id,
        }
    }
}

#[ComplexObject]
impl StockMovement {
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        owner(ctx, self.actor_id).await
    }
}

record_object!(Product, id: uuid {
    /// Every stock movement, newest first.
    async fn stock_ledger(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most this many (default and most: the largest page size).")]
        limit: Option<i32>,
        #[graphql(desc = "Skip this many first.")] offset: Option<i32>,
    ) -> Result<Vec<StockMovement>> {
        let app = ctx.app();
        let slice = Slice::new(limit, offset, &app.limits)?;
        let lines = products::ledger(&app.db, ctx.principal()?, self.uuid, slice).await?;
        Ok(lines.into_iter().map(Into::into).collect())
    }

    /// The quantity on open sales orders (Created or Approved).
    async fn quantity_in_demand(&self, ctx: &Context<'_>) -> Result<Decimal> {
        let loader = ctx.loader::<crate::graphql::loaders::DemandOfProduct>()?;
        let units = loader.load_one(self.uuid).await?.unwrap_or(0);
        Ok(money::from_units(units))
    }

    /// The tax its document lines take by default (individual tax mode).
    async fn tax_class(&self, ctx: &Context<'_>) -> Result<Option<TaxClass>> {
        tax_class_by_id(ctx, self.tax_class_id).await
    }

    /// Where the product is bought.
    async fn vendor(&self, ctx: &Context<'_>) -> Result<Option<Vendor>> {
        let found = by_id::<vendor::Entity>(ctx, self.vendor_id).await?;
        Ok(found.map(Vendor::from))
    }
});

#[derive(InputObject)]
pub struct CreateProductInput {
    pub code: String,
    pub name: String,
    pub category: Option<String>,
    pub manufacturer: Option<String>,
    pub unit_price: Decimal,
    pub cost_price: Option<Decimal>,
    pub usage_unit: Option<String>,
    pub reorder_level: Option<Decimal>,
    pub description: Option<String>,
    pub tax_class_id: Option<ID>,
    pub vendor_id: Option<ID>,
}

/// Only the fields given change; `null` clears a field. Stock changes through adjustStock.
#[derive(InputObject)]
pub struct UpdateProductInput {
    pub version: i32,
    pub code: Option<String>,
    pub name: Option<String>,
    pub category: MaybeUndefined<String>,
    pub manufacturer: MaybeUndefined<String>,
    pub unit_price: Option<Decimal>,
    pub cost_price: MaybeUndefined<Decimal>,
    pub usage_unit: MaybeUndefined<String>,
    pub reorder_level: Option<Decimal>,
    pub active: Option<bool>,
    pub description: MaybeUndefined<String>,
    pub tax_class_id: MaybeUndefined<ID>,
    pub vendor_id: MaybeUndefined<ID>,
}

#[derive(Default)]
pub struct ProductQuery;

#[Object]
impl ProductQuery {
    async fn product(&self, ctx: &Context<'_>, id: ID) -> Result<Product> {
        let id = parse_id("id", &id)?;
        let product = records::read::<product::Entity>(&ctx.app().db, ctx.principal()?, id);
        Ok(product.await?.into())
    }

    /// Products by name.
    async fn products(
        &self,
        ctx: &Context<'_>,
        filter: Option<ProductFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connected<Product>> {
        let app = ctx.app();
        let filter = filter.unwrap_or_default();
        let by_name = Some((product::Column::Name, sea_orm::Order::Asc));
        let args = page_args(first, after, None, None);
        let page = records::list::<product::Entity>(
            &app.db,
            ctx.principal()?,
            &filter,
            by_name,
            &args,
            &app.limits,
        );
        let page = page.await?;
        Ok(connection(page, Product::from))
    }

    /// Active products at or below their reorder level.
    async fn stock_alerts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "At most this many (default and most: the largest page size).")]
        limit: Option<i32>,
        #[graphql(desc = "Skip this many first.")] offset: Option<i32>,
    ) -> Result<Vec<Product>> {
        let app = ctx.app();
        let slice = Slice::new(limit, offset, &app.limits)?;
        let found = products::stock_alerts(&app.db, ctx.principal()?, slice).await?;
        Ok(found.into_iter().map(Into::into).collect())
    }
}

#[derive(Default)]
pub struct ProductMutation;

record_mutations!(ProductMutation {
    product::Entity => Product, "a product": delete_product, restore_product, purge_product;
} {
    async fn create_product(
        &self,
        ctx: &Context<'_>,
        input: CreateProductInput,
    ) -> Result<Product> {
        let fields = ProductFields {
            code: Some(input.code),
            name: Some(input.name),
            category: Some(input.category),
            manufacturer: Some(input.manufacturer),
            unit_price: Some(input.unit_price),
            cost_price: Some(input.cost_price),
            usage_unit: Some(input.usage_unit),
            reorder_level: input.reorder_level,
            active: None,
            description: Some(input.description),
            tax_class_id: Some(crate::graphql::records::optional_id(
                "taxClassId",
                input.tax_class_id,
            )?),
            vendor_id: Some(crate::graphql::records::optional_id(
                "vendorId",
                input.vendor_id,
            )?),
        };
        Ok(products::create(&ctx.app().db, ctx.principal()?, fields)
            .await?
            .into())
    }

    async fn update_product(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateProductInput,
    ) -> Result<Product> {
        let id = parse_id("id", &id)?;
        let fields = ProductFields {
            code: input.code,
            name: input.name,
            category: patch(input.category),
            manufacturer: patch(input.manufacturer),
            unit_price: input.unit_price,
            cost_price: patch(input.cost_price),
            usage_unit: patch(input.usage_unit),
            reorder_level: input.reorder_level,
            active: input.active,
            description: patch(input.description),
            tax_class_id: patch_id("taxClassId", input.tax_class_id)?,
            vendor_id: patch_id("vendorId", input.vendor_id)?,
        };
        Ok(
            records::edit::<product::Entity>(&ctx.app().db, ctx.principal()?, id, input.version, fields)
                .await?
                .into(),
        )
    }

    /// Adds (positive) or removes (negative) stock by hand, with the reason; stock never goes
    /// below zero.
    async fn adjust_stock(
        &self,
        ctx: &Context<'_>,
        product_id: ID,
        quantity: Decimal,
        reason: String,
    ) -> Result<Product> {
        let id = parse_id("productId", &product_id)?;
        Ok(
            products::adjust_stock(&ctx.app().db, ctx.principal()?, id, quantity, &reason)
                .await?
                .into(),
        )
    }
});
