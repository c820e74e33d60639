//! The tenant's sales settings and catalogue: tax classes, currencies, vendors, services and
//! price books. Tax classes, currencies and settings are admin settings; the rest are records.

use chrono::Utc;
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseBackend, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, Select,
};
use uuid::Uuid;

use entity::platform::tenant;
use entity::sales::{currency, price_book, price_book_entry, product, service, tax_class, vendor};

use crate::auth::Principal;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::filters::{self, ListFilter, StringFilter};
use crate::modules::Module;
use crate::money;
use crate::permissions::Access;
use crate::records;
use crate::tenancy::TenantScope;
use crate::validation::{Patch, text_patch};
use crate::validation::{optional_email, optional_phone, optional_url, required_text};

crate::record!(entity::sales::vendor, Module::Vendors, |m| m.name.clone(),
    search: [Name, Email, Phone]);
crate::record!(entity::sales::service, Module::Services, |m| m.name.clone(),
    search: [Name, Category]);

/// Vendors and services are plain records: no process drives them.
pub static VENDORS: crate::records::Records<entity::sales::vendor::Entity> =
    crate::records::Records::new();
pub static SERVICES: crate::records::Records<entity::sales::service::Entity> =
    crate::records::Records::new();

fn currency_code(field: &str, code: &str) -> AppResult<String> {
    let code = code.trim().to_ascii_uppercase();
    if code.len() != 3 || !code.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(AppError::bad_input(
            field,
            "must be a three-letter ISO 4217 code",
        ));
    }
    Ok(code)
}

// ----- settings -----

/// The tenant's row, which holds its sales settings.
pub async fn settings(db: &impl Conn, scope: &TenantScope) -> AppResult<tenant::Model> {
    tenant::Entity::find_by_id(scope.tenant_id())
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal("tenant of a verified caller is missing"))
}

/// The tenant's time zone (UTC should the stored name ever stop parsing).
pub fn time_zone(tenant: &tenant::Model) -> chrono_tz::Tz {
    tenant.time_zone.parse().unwrap_or(chrono_tz::Tz::UTC)
}

#[derive(Default)]
pub struct SettingsFields {
    pub base_currency: Option<String>,
    pub allow_negative_stock: Option<bool>,
    pub purchase_approval_limit: Patch<Decimal>,
    pub time_zone: Option<String>,
}

pub async fn update_settings(
    db: &DatabaseConnection,
    actor: &Principal,
    fields: SettingsFields,
) -> AppResult<tenant::Model> {
    actor.require_admin()?;
    let mut row = tenant::ActiveModel {
        id: Set(actor.tenant_id),
        ..Default::default()
    };
    if let Some(code) = fields.base_currency {
        row.base_currency = Set(currency_code("baseCurrency", &code)?);
    }
    if let Some(allow) = fields.allow_negative_stock {
        row.allow_negative_stock = Set(allow);
    }
    if let Some(limit) = fields.purchase_approval_limit {
        row.purchase_approval_limit = Set(limit
            .map(|l| money::non_negative_units("purchaseApprovalLimit", l))
            .transpose()?);
    }
    let mut new_zone = None;
    if let Some(zone) = fields.time_zone {
        let Ok(parsed) = zone.parse::<chrono_tz::Tz>() else {
            return Err(AppError::bad_input(
                "timeZone",
                "is not an IANA time zone such as Asia/Jakarta",
            ));
        };
        new_zone = Some(parsed);
        row.time_zone = Set(zone);
    }
    if row.is_changed() {
        let txn = crate::db::begin(db).await?;
        row.update(&txn).await?;
        // Report schedules run at times of day in the tenant's zone: move their next runs.
        if let Some(zone) = new_zone {
            crate::reports::schedules::reckon_in(&txn, &actor.scope(), zone).await?;
        }
        txn.commit().await?;
    }
    settings(db, &actor.scope()).await
}

// ----- tax classes -----

pub async fn tax_classes(
    db: &DatabaseConnection,
    actor: &Principal,
) -> AppResult<Vec<tax_class::Model>> {
    Ok(actor
        .scope()
        .select::<tax_class::Entity>()
        .order_by_asc(tax_class::Column::Name)
        .all(db)
        .await?)
}

pub async fn save_tax_class(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Option<Uuid>,
    name: Option<String>,
    rate: Option<Decimal>,
    active: Option<bool>,
) -> AppResult<tax_class::Model> {
    actor.require_admin()?;
    let scope = actor.scope();
    let mut row = match id {
        Some(id) => scope
            .by_id::<tax_class::Entity>(id)
            .one(db)
            .await?
            .ok_or(AppError::NotFound("tax class"))?
            .into(),
        None => {
            if name.is_none() || rate.is_none() {
                let field = if name.is_none() { "name" } else { "rate" };
                return Err(AppError::bad_input(field, "is required"));
            }
            tax_class::ActiveModel {
                id: Set(Uuid::now_v7()),
                tenant_id: scope.owner(),
                active: Set(true),
                created_at: Set(Utc::now()),
                ..Default::default()
            }
        }
    };
    if let Some(name) = name {
        let name = required_text("name", &name, 100)?;
        let mut taken = scope
            .select::<tax_class::Entity>()
            .filter(tax_class::Column::Name.eq(name.as_str()));
        if let Some(id) = id {
            taken = taken.filter(tax_class::Column::Id.ne(id));
        }
        if taken.one(db).await?.is_some() {
            return Err(AppError::bad_input(
                "name",
                "another tax class has this name",
            ));
        }
        row.name = Set(name);
    }
    if let Some(rate) = rate {
        row.rate = Set(money::non_negative_units("rate", rate)?);
    }
    if let Some(active) = active {
        row.active = Set(active);
    }
    Ok(match id {
        Some(_) => row.update(db).await?,
        None => row.insert(db).await?,
    })
}

/// The rate (percent, in units) of an active tax class; `field` names the input.
pub async fn tax_rate(
    db: &impl Conn,
    scope: &TenantScope,
    field: &str,
    id: Uuid,
) -> AppResult<i64> {
    scope
        .by_id::<tax_class::Entity>(id)
        .filter(tax_class::Column::Active.eq(true))
        .one(db)
        .await?
        .map(|t| t.rate)
        .ok_or(AppError::ReferenceNotFound {
            field: field.to_owned(),
            what: "active tax class",
        })
}

// ----- currencies -----

pub async fn currencies(
    db: &DatabaseConnection,
    actor: &Principal,
) -> AppResult<Vec<currency::Model>> {
    Ok(actor
        .scope()
        .select::<currency::Entity>()
        .order_by_asc(currency::Column::Code)
        .all(db)
        .await?)
}

/// Adds a currency or changes its name, symbol, rate or whether it is active (admins only).
pub async fn save_currency(
    db: &DatabaseConnection,
    actor: &Principal,
    code: &str,
    name: Option<String>,
    symbol: Patch<String>,
    conversion_rate: Option<Decimal>,
    active: Option<bool>,
) -> AppResult<currency::Model> {
    actor.require_admin()?;
    let scope = actor.scope();
    let code = currency_code("code", code)?;
    let existing = scope
        .select::<currency::Entity>()
        .filter(currency::Column::Code.eq(code.as_str()))
        .one(db)
        .await?;
    let is_new = existing.is_none();
    let mut row: currency::ActiveModel = match existing {
        Some(found) => found.into(),
        None => {
            if name.is_none() || conversion_rate.is_none() {
                let field = if name.is_none() {
                    "name"
                } else {
                    "conversionRate"
                };
                return Err(AppError::bad_input(field, "is required for a new currency"));
            }
            currency::ActiveModel {
                id: Set(Uuid::now_v7()),
                tenant_id: scope.owner(),
                code: Set(code),
                symbol: Set(None),
                active: Set(true),
                created_at: Set(Utc::now()),
                ..Default::default()
            }
        }
    };
    if let Some(name) = name {
        row.name = Set(required_text("name", &name, 100)?);
    }
    if let Some(symbol) = text_patch("symbol", symbol, 8)? {
        row.symbol = Set(symbol);
    }
    if let Some(rate) = conversion_rate {
        if rate <= Decimal::ZERO {
            return Err(AppError::bad_input("conversionRate", "must be more than 0"));
        }
        row.conversion_rate = Set(money::to_units("conversionRate", rate)?);
    }
    if let Some(active) = active {
        row.active = Set(active);
    }
    Ok(if is_new {
        row.insert(db).await?
    } else {
        row.update(db).await?
    })
}

/// The conversion rate (units) of a currency a document may use: the base currency (1) or an
/// active currency of the tenant.
pub async fn conversion_rate(
    db: &impl Conn,
    scope: &TenantScope,
    base: &str,
    code: &str,
) -> AppResult<i64> {
    if code == base {
        return money::to_units("currencyCode", Decimal::ONE);
    }
    scope
        .select::<currency::Entity>()
        .filter(currency::Column::Code.eq(code))
        .filter(currency::Column::Active.eq(true))
        .one(db)
        .await?
        .map(|c| c.conversion_rate)
        .ok_or(AppError::ReferenceNotFound {
            field: "currencyCode".into(),
            what: "active currency",
        })
}

// ----- vendors -----

#[derive(Default)]
pub struct VendorFields {
    pub name: Option<String>,
    pub email: Patch<String>,
    pub phone: Patch<String>,
    pub website: Patch<String>,
    pub address: Patch<String>,
    pub category: Patch<String>,
    pub description: Patch<String>,
}

fn apply_vendor(fields: VendorFields, row: &mut vendor::ActiveModel) -> AppResult<()> {
    if let Some(name) = fields.name {
        row.name = Set(required_text("name", &name, 255)?);
    }
    if let Some(email) = fields.email {
        row.email = Set(optional_email("email", email)?);
    }
    if let Some(phone) = fields.phone {
        row.phone = Set(optional_phone("phone", phone)?);
    }
    if let Some(website) = fields.website {
        row.website = Set(optional_url("website", website)?);
    }
    if let Some(address) = text_patch("address", fields.address, 2_000)? {
        row.address = Set(address);
    }
    if let Some(category) = text_patch("category", fields.category, 200)? {
        row.category = Set(category);
    }
    if let Some(description) = text_patch("description", fields.description, 10_000)? {
        row.description = Set(description);
    }
    Ok(())
}

pub async fn create_vendor(
    db: &DatabaseConnection,
    actor: &Principal,
    fields: VendorFields,
) -> AppResult<vendor::Model> {
    actor.require(Module::Vendors, Access::Write)?;
    if fields.name.is_none() {
        return Err(AppError::bad_input("name", "is required"));
    }
    let now = Utc::now();
    let mut row = vendor::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: actor.scope().owner(),
        email: Set(None),
        phone: Set(None),
        website: Set(None),
        address: Set(None),
        category: Set(None),
        description: Set(None),
        owner_id: Set(actor.user_id),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        ..Default::default()
    };
    apply_vendor(fields, &mut row)?;
    let txn = records::begin_write(db, &actor.scope()).await?;
    let created = records::insert::<vendor::Entity>(&txn, actor, row).await?;
    txn.commit().await?;
    Ok(created)
}

pub async fn update_vendor(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
    version: i32,
    fields: VendorFields,
) -> AppResult<vendor::Model> {
    actor.require(Module::Vendors, Access::Write)?;
    let mut changes = <vendor::ActiveModel as Default>::default();
    apply_vendor(fields, &mut changes)?;
    let txn = records::begin_write(db, &actor.scope()).await?;
    let before = records::get::<vendor::Entity>(&txn, &actor.scope(), id).await?;
    let updated = records::update::<vendor::Entity>(&txn, actor, before, version, changes).await?;
    txn.commit().await?;
    Ok(updated)
}

// ----- services -----

#[derive(Default)]
pub struct ServiceFields {
    pub name: Option<String>,
    pub category: Patch<String>,
    pub unit_price: Option<Decimal>,
    pub tax_class_id: Patch<Uuid>,
    pub usage_unit: Patch<String>,
    pub active: Option<bool>,
    pub description: Patch<String>,
}

async fn apply_service(
    db: &impl Conn,
    scope: &TenantScope,
    fields: ServiceFields,
    row: &mut service::ActiveModel,
) -> AppResult<()> {
    if let Some(name) = fields.name {
        row.name = Set(required_text("name", &name, 255)?);
    }
    if let Some(category) = text_patch("category", fields.category, 200)? {
        row.category = Set(category);
    }
    if let Some(price) = fields.unit_price {
        row.unit_price = Set(money::non_negative_units("unitPrice", price)?);
    }
    if let Some(tax_class) = fields.tax_class_id {
        if let Some(id) = tax_class {
            tax_rate(db, scope, "taxClassId", id).await?;
        }
        row.tax_class_id = Set(tax_class);
    }
    if let Some(unit) = text_patch("usageUnit", fields.usage_unit, 64)? {
        row.usage_unit = Set(unit);
    }
    if let Some(active) = fields.active {
        row.active = Set(active);
    }
    if let Some(description) = text_patch("description", fields.description, 10_000)? {
        row.description = Set(description);
    }
    Ok(())
}

pub async fn create_service(
    db: &DatabaseConnection,
    actor: &Principal,
    fields: ServiceFields,
) -> AppResult<service::Model> {
    actor.require(Module::Services, Access::Write)?;
    for (given, field) in [
        (fields.name.is_some(), "name"),
        (fields.unit_price.is_some(), "unitPrice"),
    ] {
        if !given {
            return Err(AppError::bad_input(field, "is required"));
        }
    }
    let scope = actor.scope();
    let now = Utc::now();
    let mut row = service::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: scope.owner(),
        category: Set(None),
        tax_class_id: Set(None),
        usage_unit: Set(None),
        active: Set(true),
        description: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        ..Default::default()
    };
    let txn = records::begin_write(db, &actor.scope()).await?;
    apply_service(&txn, &scope, fields, &mut row).await?;
    let created = records::insert::<service::Entity>(&txn, actor, row).await?;
    txn.commit().await?;
    Ok(created)
}

pub async fn update_service(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
    version: i32,
    fields: ServiceFields,
) -> AppResult<service::Model> {
    actor.require(Module::Services, Access::Write)?;
    let scope = actor.scope();
    let txn = records::begin_write(db, &actor.scope()).await?;
    let before = records::get::<service::Entity>(&txn, &scope, id).await?;
    let mut changes = <service::ActiveModel as Default>::default();
    apply_service(&txn, &scope, fields, &mut changes).await?;
    let updated = records::update::<service::Entity>(&txn, actor, before, version, changes).await?;
    txn.commit().await?;
    Ok(updated)
}

// ----- price books -----

pub async fn price_books(
    db: &DatabaseConnection,
    actor: &Principal,
) -> AppResult<Vec<price_book::Model>> {
    actor.require(Module::Products, Access::Read)?;
    Ok(actor
        .scope()
        .select::<price_book::Entity>()
        .order_by_asc(price_book::Column::Name)
        .all(db)
        .await?)
}

pub async fn create_price_book(
    db: &DatabaseConnection,
    actor: &Principal,
    name: &str,
    currency: Option<String>,
    description: Option<String>,
) -> AppResult<price_book::Model> {
    actor.require(Module::Products, Access::Write)?;
    let scope = actor.scope();
    let name = required_text("name", name, 200)?;
    let taken = scope
        .select::<price_book::Entity>()
        .filter(price_book::Column::Name.eq(name.as_str()))
        .one(db)
        .await?;
    if taken.is_some() {
        return Err(AppError::bad_input(
            "name",
            "another price book has this name",
        ));
    }
    let base = settings(db, &scope).await?.base_currency;
    let currency_code = match currency {
        Some(code) => {
            let code = currency_code("currencyCode", &code)?;
            conversion_rate(db, &scope, &base, &code).await?;
            code
        }
        None => base,
    };
    let now = Utc::now();
    Ok(price_book::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: scope.owner(),
        name: Set(name),
        currency_code: Set(currency_code),
        active: Set(true),
        description: Set(crate::validation::optional_text(
            "description",
            description,
            10_000,
        )?),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?)
}

/// Sets (or, with no price, removes) the list price of a product or service in a price book.
pub async fn set_list_price(
    db: &DatabaseConnection,
    actor: &Principal,
    price_book_id: Uuid,
    item_id: Uuid,
    list_price: Option<Decimal>,
) -> AppResult<()> {
    actor.require(Module::Products, Access::Write)?;
    let scope = actor.scope();
    let txn = records::begin_write(db, &actor.scope()).await?;
    scope
        .by_id::<price_book::Entity>(price_book_id)
        .one(&txn)
        .await?
        .ok_or(AppError::ReferenceNotFound {
            field: "priceBookId".into(),
            what: "price book",
        })?;
    let is_product = records::live::<product::Entity>(&scope)
        .filter(product::Column::Id.eq(item_id))
        .one(&txn)
        .await?
        .is_some();
    if !is_product {
        records::require_reference::<service::Entity>(&txn, &scope, "itemId", item_id).await?;
    }
    scope
        .delete::<price_book_entry::Entity>()
        .filter(price_book_entry::Column::PriceBookId.eq(price_book_id))
        .filter(price_book_entry::Column::ItemId.eq(item_id))
        .exec(&txn)
        .await?;
    if let Some(price) = list_price {
        price_book_entry::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: scope.owner(),
            price_book_id: Set(price_book_id),
            item_id: Set(item_id),
            list_price: Set(money::non_negative_units("listPrice", price)?),
        }
        .insert(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

pub async fn price_book_entries(
    db: &DatabaseConnection,
    actor: &Principal,
    price_book_id: Uuid,
) -> AppResult<Vec<price_book_entry::Model>> {
    actor.require(Module::Products, Access::Read)?;
    Ok(actor
        .scope()
        .select::<price_book_entry::Entity>()
        .filter(price_book_entry::Column::PriceBookId.eq(price_book_id))
        .order_by_asc(price_book_entry::Column::Id)
        .all(db)
        .await?)
}

/// The list price of an item in a price book, for a document line.
pub async fn list_price(
    db: &impl Conn,
    scope: &TenantScope,
    field: &str,
    price_book_id: Uuid,
    item_id: Uuid,
) -> AppResult<i64> {
    scope
        .select::<price_book_entry::Entity>()
        .filter(price_book_entry::Column::PriceBookId.eq(price_book_id))
        .filter(price_book_entry::Column::ItemId.eq(item_id))
        .one(db)
        .await?
        .map(|e| e.list_price)
        .ok_or_else(|| AppError::bad_input(field, "the price book has no price for this item"))
}

/// Vendors and services are listed by name, and filtered by it only.
#[derive(Default)]
pub struct ByName(pub Option<StringFilter>);

impl ListFilter<vendor::Entity> for ByName {
    fn apply(
        &self,
        select: Select<vendor::Entity>,
        _: DatabaseBackend,
    ) -> AppResult<Select<vendor::Entity>> {
        Ok(filters::text(select, vendor::Column::Name, self.0.as_ref()))
    }
}

impl ListFilter<service::Entity> for ByName {
    fn apply(
        &self,
        select: Select<service::Entity>,
        _: DatabaseBackend,
    ) -> AppResult<Select<service::Entity>> {
        Ok(filters::text(
            select,
            service::Column::Name,
            self.0.as_ref(),
        ))
    }
}
