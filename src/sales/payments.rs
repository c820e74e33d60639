//! Payments against invoices. An invoice shows what was paid and what is left; a payment can
//! never take it past its grand total. A payment that settles the invoice in part or in full
//! moves its status there, through its process when one runs it.

use chrono::{NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use entity::sales::document::Document;
use entity::sales::payment;

use super::documents::{self, Kind, PAID, PARTIALLY_PAID};
use crate::auth::Principal;
use crate::error::{AppError, AppResult};
use crate::money;
use crate::permissions::Access;
use crate::records;
use crate::validation::{optional_text, required_text};

pub struct PaymentFields {
    pub amount: Decimal,
    pub paid_on: Option<NaiveDate>,
    pub method: String,
    pub reference: Option<String>,
}

pub async fn record(
    db: &DatabaseConnection,
    actor: &Principal,
    invoice_id: Uuid,
    fields: PaymentFields,
) -> AppResult<(payment::Model, Document)> {
    actor.require(Kind::Invoice.module(), Access::Write)?;
    if fields.amount <= Decimal::ZERO {
        return Err(AppError::bad_input("amount", "must be more than 0"));
    }
    let amount = money::to_units("amount", fields.amount)?;
    let method = required_text("method", &fields.method, 64)?;
    let reference = optional_text("reference", fields.reference, 200)?;
    let txn = records::begin_write(db, &actor.scope()).await?;
    let invoice = documents::add_payment_in(&txn, actor, invoice_id, amount).await?;
    let created = payment::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: actor.scope().owner(),
        invoice_id: Set(invoice_id),
        amount: Set(amount),
        paid_on: Set(fields.paid_on.unwrap_or_else(|| Utc::now().date_naive())),
        method: Set(method),
        reference: Set(reference),
        actor_id: Set(actor.user_id),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    let settled = if invoice.paid >= invoice.grand_total {
        PAID
    } else {
        PARTIALLY_PAID
    };
    let invoice = if invoice.status == settled {
        invoice
    } else {
        documents::move_to(&txn, actor, Kind::Invoice, invoice_id, settled).await?
    };
    txn.commit().await?;
    Ok((created, invoice))
}

/// The payments of an invoice, oldest first.
pub async fn of_invoice(
    db: &DatabaseConnection,
    actor: &Principal,
    invoice_id: Uuid,
) -> AppResult<Vec<payment::Model>> {
    actor.require(Kind::Invoice.module(), Access::Read)?;
    Ok(actor
        .scope()
        .select::<payment::Entity>()
        .filter(payment::Column::InvoiceId.eq(invoice_id))
        .order_by_asc(payment::Column::CreatedAt)
        .all(db)
        .await?)
}
