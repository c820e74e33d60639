//! Customer links: a quote sent to a customer carries a token that lets someone without an
//! account view that one quote and accept or reject it, nothing else. Only the token's
//! SHA-256 is stored; the token is shown once, when the link is made.

use crate::auth::secrets::{hex, random_bytes};
use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use entity::platform::tenant;
use entity::sales::document::Document;
use entity::sales::{document_line, quote_link};

use super::documents::{self, ACCEPTED, Kind, REJECTED, SENT};
use crate::auth::Principal;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::modules::Module;
use crate::news;
use crate::news::RelatedRecord;
use crate::permissions::Access;
use crate::records;
use crate::tenancy::TenantScope;
use crate::validation::optional_text;

/// How long a link lives unless the sender says otherwise.
pub const DEFAULT_DAYS: u32 = 30;
const MAX_DAYS: u32 = 365;
const INVALID: &str = "the link is invalid or has expired";

fn hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn new_token() -> String {
    hex(&random_bytes(32))
}

/// Sends a quote: moves it to Sent (through its process when one runs it) and makes a
/// customer link. Returns the quote, the link and its token.
pub async fn send_quote(
    db: &DatabaseConnection,
    actor: &Principal,
    quote_id: Uuid,
    valid_days: Option<u32>,
) -> AppResult<(Document, quote_link::Model, String)> {
    actor.require(Module::Quotes, Access::Write)?;
    let days = valid_days.unwrap_or(DEFAULT_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(AppError::bad_input(
            "validDays",
            format!("must be between 1 and {MAX_DAYS}"),
        ));
    }
    let txn = records::begin_write(db, &actor.scope()).await?;
    let mut quote = documents::get_in(&txn, actor, Kind::Quote, quote_id).await?;
    if quote.status != SENT {
        quote = documents::move_to(&txn, actor, Kind::Quote, quote_id, SENT).await?;
    }
    let token = new_token();
    let now = Utc::now();
    let link = quote_link::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: actor.scope().owner(),
        quote_id: Set(quote_id),
        token_hash: Set(hash(&token)),
        expires_at: Set(now + Duration::days(i64::from(days))),
        revoked_at: Set(None),
        created_by: Set(actor.user_id),
        created_at: Set(now),
        response: Set(None),
        comment: Set(None),
        responded_at: Set(None),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok((quote, link, token))
}

/// The links of a quote, newest first.
pub async fn links_of(
    db: &DatabaseConnection,
    actor: &Principal,
    quote_id: Uuid,
) -> AppResult<Vec<quote_link::Model>> {
    actor.require(Module::Quotes, Access::Read)?;
    Ok(actor
        .scope()
        .select::<quote_link::Entity>()
        .filter(quote_link::Column::QuoteId.eq(quote_id))
        .order_by_desc(quote_link::Column::CreatedAt)
        .all(db)
        .await?)
}

pub async fn revoke(
    db: &DatabaseConnection,
    actor: &Principal,
    link_id: Uuid,
) -> AppResult<quote_link::Model> {
    actor.require(Module::Quotes, Access::Write)?;
    let link = actor
        .scope()
        .by_id::<quote_link::Entity>(link_id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("quote link"))?;
    if link.revoked_at.is_some() {
        return Ok(link);
    }
    let mut row: quote_link::ActiveModel = link.into();
    row.revoked_at = Set(Some(Utc::now()));
    Ok(row.update(db).await?)
}

/// What a customer sees through a link.
pub struct CustomerView {
    pub company: String,
    pub quote: Document,
    pub lines: Vec<document_line::Model>,
    pub link: quote_link::Model,
}

/// The live link a token names. The token is the credential: this lookup is the one that
/// finds a tenant from a request without a signed-in user. Unknown, revoked and expired
/// tokens get the same answer, so they cannot be told apart.
async fn link_for(db: &impl Conn, token: &str) -> AppResult<quote_link::Model> {
    let invalid = || AppError::Unauthenticated(INVALID);
    if token.len() != 64 {
        return Err(invalid());
    }
    let link = quote_link::Entity::find()
        .filter(quote_link::Column::TokenHash.eq(hash(token)))
        .one(db)
        .await?
        .ok_or_else(invalid)?;
    if link.revoked_at.is_some() || link.expires_at <= Utc::now() {
        return Err(invalid());
    }
    Ok(link)
}

async fn view(db: &impl Conn, link: quote_link::Model) -> AppResult<CustomerView> {
    let scope = TenantScope::new(link.tenant_id);
    let actor = Principal::system(link.tenant_id);
    let quote = documents::get_in(db, &actor, Kind::Quote, link.quote_id)
        .await
        .map_err(|_| AppError::Unauthenticated(INVALID))?;
    let lines = documents::lines_of(db, &scope, quote.id).await?;
    let company = tenant::Entity::find_by_id(link.tenant_id)
        .one(db)
        .await?
        .map(|t| t.name)
        .unwrap_or_default();
    Ok(CustomerView {
        company,
        quote,
        lines,
        link,
    })
}

pub async fn quote_for_customer(db: &DatabaseConnection, token: &str) -> AppResult<CustomerView> {
    let link = link_for(db, token).await?;
    view(db, link).await
}

/// The customer's answer: fires the quote's process (or sets its status), records the
/// answer on the link and the comment as a note on the quote, in one transaction.
pub async fn respond(
    db: &DatabaseConnection,
    token: &str,
    accept: bool,
    comment: Option<String>,
) -> AppResult<CustomerView> {
    let comment = optional_text("comment", comment, 5_000)?;
    let txn = crate::db::begin(db).await?;
    let link = link_for(&txn, token).await?;
    let actor = Principal::system(link.tenant_id);
    records::lock_event_log(&txn, &actor.scope()).await?;
    let quote = documents::get_in(&txn, &actor, Kind::Quote, link.quote_id).await?;
    if quote.status != SENT || link.response.is_some() {
        return Err(AppError::Conflict(format!(
            "the quote is {} and no longer awaits an answer",
            quote.status
        )));
    }
    let (status, response) = if accept {
        (ACCEPTED, "accepted")
    } else {
        (REJECTED, "rejected")
    };
    documents::move_to(&txn, &actor, Kind::Quote, quote.id, status).await?;
    if let Some(body) = &comment {
        news::create_in(
            &txn,
            &actor,
            &format!("The customer {response} {}", quote.number),
            body,
            Some(RelatedRecord {
                module: Module::Quotes,
                id: quote.id,
            }),
        )
        .await?;
    }
    let mut row: quote_link::ActiveModel = link.into();
    row.response = Set(Some(response.to_owned()));
    row.comment = Set(comment);
    row.responded_at = Set(Some(Utc::now()));
    let link = row.update(&txn).await?;
    let answered = view(&txn, link).await?;
    txn.commit().await?;
    Ok(answered)
}
