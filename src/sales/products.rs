//! Products and their stock. Every change of stock is a line in the stock ledger, written in
//! the same transaction as the product's `quantity_in_stock`, so the quantity always equals
//! the ledger's sum. Stock never goes negative.

use chrono::Utc;
use rust_decimal::Decimal;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseBackend, DatabaseConnection,
    QueryFilter, QueryOrder, Select,
};
use uuid::Uuid;

use entity::sales::product::{ActiveModel, Column, Entity, Model};
use entity::sales::stock_movement;

use crate::auth::Principal;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::filters::{self, ListFilter, StringFilter};
use crate::modules::Module;
use crate::money;
use crate::pagination::Slice;
use crate::permissions::Access;
use crate::records::{self, Fields};
use crate::reports::sources::{Computed, FieldKind, Formula, source_of};
use crate::tenancy::TenantScope;
use crate::validation::required_text;
use crate::validation::{Patch, text_patch};

crate::record!(entity::sales::product, Module::Products, |m| m.name.clone(),
    search: [Name, Code]);

/// Products are plain records: no process drives them.
pub static DECLARATION: crate::records::Records<entity::sales::product::Entity> =
    crate::records::Records::new()
        .filtered_by::<ProductFilter>()
        .computing(&[Computed {
            name: "stockValue",
            label: "Stock value (at cost)",
            kind: FieldKind::Decimal,
            // NUMERIC: quantity and cost are both 1/10 000 units; their product may not fit
            // a BIGINT before it is scaled back.
            sql: Formula::Sql("CAST({t}.quantity_in_stock AS NUMERIC) * {t}.cost_price / 10000"),
        }])
        .with_parts(|| {
            vec![
                source_of::<entity::sales::stock_movement::Entity>(
                    "stockMovements",
                    Module::Products,
                    &[],
                )
                .part_of("productId", "products"),
            ]
        });

#[derive(Default)]
pub struct ProductFields {
    pub code: Option<String>,
    pub name: Option<String>,
    pub category: Patch<String>,
    pub manufacturer: Patch<String>,
    pub unit_price: Option<Decimal>,
    pub cost_price: Patch<Decimal>,
    pub usage_unit: Patch<String>,
    pub reorder_level: Option<Decimal>,
    pub active: Option<bool>,
    pub description: Patch<String>,
    pub tax_class_id: Patch<Uuid>,
    pub vendor_id: Patch<Uuid>,
}

#[derive(async_graphql::InputObject, Default)]
#[graphql(name = "ProductFilterInput")]
pub struct ProductFilter {
    pub name: Option<StringFilter>,
    pub code: Option<StringFilter>,
    pub category: Option<StringFilter>,
    pub active: Option<bool>,
}

impl ListFilter<Entity> for ProductFilter {
    fn apply(&self, select: Select<Entity>, _: DatabaseBackend) -> AppResult<Select<Entity>> {
        let mut select = filters::text(select, Column::Name, self.name.as_ref());
        select = filters::text(select, Column::Code, self.code.as_ref());
        select = filters::text(select, Column::Category, self.category.as_ref());
        if let Some(active) = self.active {
            select = select.filter(Column::Active.eq(active));
        }
        Ok(select)
    }
}

impl Fields<Entity> for ProductFields {
    async fn apply<C: Conn>(
        self,
        db: &C,
        actor: &Principal,
        before: Option<&Model>,
        row: &mut ActiveModel,
    ) -> AppResult<()> {
        let (fields, scope) = (self, &actor.scope());
        let id = before.map(|b| b.id);
        if let Some(code) = fields.code {
            let code = required_text("code", &code, 64)?;
            let mut taken = records::live::<Entity>(scope).filter(Column::Code.eq(code.as_str()));
            if let Some(id) = id {
                taken = taken.filter(Column::Id.ne(id));
            }
            if taken.one(db).await?.is_some() {
                return Err(AppError::bad_input("code", "another product has this code"));
            }
            row.code = Set(code);
        }
        if let Some(name) = fields.name {
            row.name = Set(required_text("name", &name, 255)?);
        }
        if let Some(category) = text_patch("category", fields.category, 200)? {
            row.category = Set(category);
        }
        if let Some(manufacturer) = text_patch("manufacturer", fields.manufacturer, 200)? {
            row.manufacturer = Set(manufacturer);
        }
        if let Some(price) = fields.unit_price {
            row.unit_price = Set(money::non_negative_units("unitPrice", price)?);
        }
        if let Some(cost) = fields.cost_price {
            row.cost_price = Set(cost
                .map(|c| money::non_negative_units("costPrice", c))
                .transpose()?);
        }
        if let Some(unit) = text_patch("usageUnit", fields.usage_unit, 64)? {
            row.usage_unit = Set(unit);
        }
        if let Some(level) = fields.reorder_level {
            row.reorder_level = Set(money::non_negative_units("reorderLevel", level)?);
        }
        if let Some(active) = fields.active {
            row.active = Set(active);
        }
        if let Some(description) = text_patch("description", fields.description, 10_000)? {
            row.description = Set(description);
        }
        if let Some(tax_class) = fields.tax_class_id {
            if let Some(id) = tax_class {
                super::catalogue::tax_rate(db, scope, "taxClassId", id).await?;
            }
            row.tax_class_id = Set(tax_class);
        }
        if let Some(vendor_id) = fields.vendor_id {
            if let Some(id) = vendor_id {
                records::require_reference::<entity::sales::vendor::Entity>(
                    db, scope, "vendorId", id,
                )
                .await?;
            }
            row.vendor_id = Set(vendor_id);
        }
        Ok(())
    }
}

pub async fn create(
    db: &DatabaseConnection,
    actor: &Principal,
    fields: ProductFields,
) -> AppResult<Model> {
    actor.require(Module::Products, Access::Write)?;
    for (given, field) in [
        (fields.code.is_some(), "code"),
        (fields.name.is_some(), "name"),
        (fields.unit_price.is_some(), "unitPrice"),
    ] {
        if !given {
            return Err(AppError::bad_input(field, "is required"));
        }
    }
    let scope = actor.scope();
    let txn = records::begin_write(db, &actor.scope()).await?;
    let now = Utc::now();
    let mut row = ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: scope.owner(),
        category: Set(None),
        manufacturer: Set(None),
        cost_price: Set(None),
        usage_unit: Set(None),
        tax_class_id: Set(None),
        vendor_id: Set(None),
        quantity_in_stock: Set(0),
        reorder_level: Set(0),
        active: Set(true),
        description: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        ..Default::default()
    };
    fields.apply(&txn, actor, None, &mut row).await?;
    let created = records::insert::<Entity>(&txn, actor, row).await?;
    txn.commit().await?;
    Ok(created)
}

/// Moves stock in (positive) or out (negative) with its cause, in the caller's transaction.
/// Unless the tenant allows negative stock, the quantity changes by a conditional update, so
/// two concurrent movements cannot both take the last unit: the second finds too little stock
/// and fails.
pub async fn move_stock(
    txn: &impl Conn,
    actor: &Principal,
    product_id: Uuid,
    quantity: i64,
    cause: &str,
    reason: Option<String>,
) -> AppResult<Model> {
    let scope = actor.scope();
    let product = records::get::<Entity>(txn, &scope, product_id).await?;
    let mut update = scope
        .update::<Entity>()
        .col_expr(
            Column::QuantityInStock,
            Expr::col(Column::QuantityInStock).add(quantity),
        )
        .filter(Column::Id.eq(product_id));
    if quantity < 0
        && !super::catalogue::settings(txn, &scope)
            .await?
            .allow_negative_stock
    {
        update = update.filter(Column::QuantityInStock.gte(-quantity));
    }
    if update.exec(txn).await?.rows_affected != 1 {
        return Err(AppError::bad_input(
            "quantity",
            format!(
                "only {} in stock",
                money::from_units(product.quantity_in_stock)
            ),
        ));
    }
    stock_movement::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: scope.owner(),
        product_id: Set(product_id),
        quantity: Set(quantity),
        cause: Set(cause.to_owned()),
        reason: Set(reason),
        actor_id: Set(actor.user_id),
        at: Set(Utc::now()),
    }
    .insert(txn)
    .await?;
    records::append_event(
        txn,
        actor,
        Module::Products,
        product_id,
        "stock_moved",
        &["quantityInStock"],
    )
    .await?;
    records::get::<Entity>(txn, &scope, product_id).await
}

/// A manual stock adjustment (a count, breakage, a found pallet), with its reason.
pub async fn adjust_stock(
    db: &DatabaseConnection,
    actor: &Principal,
    product_id: Uuid,
    quantity: Decimal,
    reason: &str,
) -> AppResult<Model> {
    actor.require(Module::Products, Access::Write)?;
    let reason = required_text("reason", reason, 500)?;
    let units = money::to_units("quantity", quantity)?;
    if units == 0 {
        return Err(AppError::bad_input("quantity", "must not be zero"));
    }
    let txn = records::begin_write(db, &actor.scope()).await?;
    let product = move_stock(&txn, actor, product_id, units, "adjustment", Some(reason)).await?;
    txn.commit().await?;
    Ok(product)
}

/// The stock ledger of a product, newest first.
pub async fn ledger(
    db: &DatabaseConnection,
    actor: &Principal,
    product_id: Uuid,
    slice: Slice,
) -> AppResult<Vec<stock_movement::Model>> {
    records::read::<Entity>(db, actor, product_id).await?;
    Ok(slice
        .apply(actor.scope().select::<stock_movement::Entity>())
        .filter(stock_movement::Column::ProductId.eq(product_id))
        .order_by_desc(stock_movement::Column::At)
        .order_by_desc(stock_movement::Column::Id)
        .all(db)
        .await?)
}

/// Per product: the quantity on the lines of open sales orders (Created or Approved), which
/// stock will have to meet.
pub async fn quantity_in_demand(
    db: &impl Conn,
    scope: &TenantScope,
    product_ids: &[Uuid],
) -> AppResult<std::collections::HashMap<Uuid, i64>> {
    use entity::sales::document::sales_order;
    use entity::sales::document_line;
    use sea_orm::sea_query::Query;
    let open_orders = Query::select()
        .column(sales_order::Column::Id)
        .from(sales_order::Entity)
        .and_where(sales_order::Column::TenantId.eq(scope.tenant_id()))
        .and_where(sales_order::Column::DeletedAt.is_null())
        .and_where(
            sales_order::Column::Status
                .is_in([super::documents::CREATED, super::documents::APPROVED]),
        )
        .to_owned();
    let lines = scope
        .select::<document_line::Entity>()
        .filter(document_line::Column::ProductId.is_in(product_ids.iter().copied()))
        .filter(document_line::Column::DocumentId.in_subquery(open_orders))
        .all(db)
        .await?;
    let mut demand = std::collections::HashMap::new();
    for line in lines {
        if let Some(product_id) = line.product_id {
            let demanded: &mut i64 = demand.entry(product_id).or_insert(0);
            *demanded = demanded.saturating_add(line.quantity);
        }
    }
    Ok(demand)
}

/// Active products at or below their reorder level.
pub async fn stock_alerts(
    db: &DatabaseConnection,
    actor: &Principal,
    slice: Slice,
) -> AppResult<Vec<Model>> {
    actor.require(Module::Products, Access::Read)?;
    Ok(slice
        .apply(records::live::<Entity>(&actor.scope()))
        .filter(Column::Active.eq(true))
        .filter(Expr::col(Column::QuantityInStock).lte(Expr::col(Column::ReorderLevel)))
        .order_by_asc(Column::Name)
        .all(db)
        .await?)
}
