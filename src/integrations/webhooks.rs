//! Webhook subscriptions: a tenant's URLs that receive its events, signed as Standard Webhooks
//! specify. Administrators manage them; [`super::delivery`] delivers.

use std::net::IpAddr;

use base64::Engine;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use entity::integrations::{webhook, webhook_delivery};

use crate::auth::Principal;
use crate::auth::secrets::random_bytes;
use crate::config::WebhookConfig;
use crate::error::{AppError, AppResult};
use crate::events;
use crate::import_jobs::IMPORTS;
use crate::modules::Module;
use crate::reports::snapshots::REPORTS;
use crate::tenancy::TenantScope;
use crate::validation::required_text;

/// The module name of the platform's own webhook events (`webhooks.disabled`).
pub const WEBHOOKS: &str = "webhooks";
const URL_MAX: usize = 2000;
const MAX_EVENT_TYPES: usize = 50;

/// What an administrator sets; on update, only the given fields change.
#[derive(Default)]
pub struct WebhookFields {
    pub name: Option<String>,
    pub url: Option<String>,
    /// `contacts.created`, `processes.*`, `*`.
    pub event_types: Option<Vec<String>>,
    /// A CEL expression over `event` and `record`; `Some(None)` removes it.
    pub filter: Option<Option<String>>,
    /// Turning a disabled webhook on again retries its stuck event at once.
    pub active: Option<bool>,
}

pub async fn create(
    db: &DatabaseConnection,
    config: &WebhookConfig,
    actor: &Principal,
    fields: WebhookFields,
) -> AppResult<webhook::Model> {
    actor.require_admin()?;
    let name = required_text("name", fields.name.as_deref().unwrap_or_default(), 200)?;
    let url = check_url(fields.url.as_deref().unwrap_or_default(), config)?;
    let event_types = check_event_types(&fields.event_types.unwrap_or_default())?;
    let filter = check_filter(fields.filter.flatten())?;
    let scope = actor.scope();
    let now = Utc::now();
    let secret = base64::engine::general_purpose::STANDARD.encode(random_bytes(24));
    Ok(webhook::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: scope.owner(),
        name: Set(name),
        url: Set(url),
        event_types: Set(serde_json::json!(event_types)),
        filter: Set(filter),
        secret: Set(format!("whsec_{secret}")),
        active: Set(fields.active.unwrap_or(true)),
        disabled_reason: Set(None),
        // Events from now on: a new receiver is not flooded with the tenant's past.
        cursor: Set(events::latest_sequence(db, &scope).await?),
        failures: Set(0),
        failing_since: Set(None),
        next_attempt_at: Set(now),
        locked_until: Set(None),
        version: Set(1),
        created_by: Set(actor.user_id),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?)
}

pub async fn update(
    db: &DatabaseConnection,
    config: &WebhookConfig,
    actor: &Principal,
    id: Uuid,
    version: i32,
    fields: WebhookFields,
) -> AppResult<webhook::Model> {
    let current = get(db, actor, id).await?;
    let mut row = current.clone().into_active_model();
    if let Some(name) = fields.name {
        row.name = Set(required_text("name", &name, 200)?);
    }
    if let Some(url) = fields.url {
        row.url = Set(check_url(&url, config)?);
    }
    if let Some(types) = fields.event_types {
        row.event_types = Set(serde_json::json!(check_event_types(&types)?));
    }
    if let Some(filter) = fields.filter {
        row.filter = Set(check_filter(filter)?);
    }
    if let Some(active) = fields.active {
        row.active = Set(active);
        if active && !current.active {
            row.disabled_reason = Set(None);
            row.failures = Set(0);
            row.failing_since = Set(None);
            row.next_attempt_at = Set(Utc::now());
        }
    }
    row.version = Set(version.saturating_add(1));
    row.updated_at = Set(Utc::now());
    let updated = actor
        .scope()
        .update::<webhook::Entity>()
        .set(row)
        .filter(webhook::Column::Id.eq(id))
        .filter(webhook::Column::Version.eq(version))
        .exec(db)
        .await?;
    if updated.rows_affected != 1 {
        return Err(AppError::Conflict(format!(
            "the webhook was changed meanwhile (current version {})",
            current.version
        )));
    }
    get(db, actor, id).await
}

/// Deletes a webhook and its delivery log; nothing more is sent to it.
pub async fn delete(db: &DatabaseConnection, actor: &Principal, id: Uuid) -> AppResult<()> {
    get(db, actor, id).await?;
    // Its delivery log goes with it (the database cascades): one statement, nothing left half.
    actor
        .scope()
        .delete::<webhook::Entity>()
        .filter(webhook::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn get(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
) -> AppResult<webhook::Model> {
    actor.require_admin()?;
    actor
        .scope()
        .by_id::<webhook::Entity>(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("webhook"))
}

pub async fn list(db: &DatabaseConnection, actor: &Principal) -> AppResult<Vec<webhook::Model>> {
    actor.require_admin()?;
    Ok(actor
        .scope()
        .select::<webhook::Entity>()
        .order_by_asc(webhook::Column::CreatedAt)
        .all(db)
        .await?)
}

/// The latest delivery attempts of a webhook, newest first.
pub async fn deliveries(
    db: &DatabaseConnection,
    scope: &TenantScope,
    webhook_id: Uuid,
    limit: u64,
) -> AppResult<Vec<webhook_delivery::Model>> {
    Ok(scope
        .select::<webhook_delivery::Entity>()
        .filter(webhook_delivery::Column::WebhookId.eq(webhook_id))
        .order_by_desc(webhook_delivery::Column::At)
        .order_by_desc(webhook_delivery::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// An earlier delivery attempt with its webhook (administrators).
pub async fn delivery(
    db: &DatabaseConnection,
    actor: &Principal,
    id: Uuid,
) -> AppResult<(webhook::Model, webhook_delivery::Model)> {
    actor.require_admin()?;
    let delivery = actor
        .scope()
        .by_id::<webhook_delivery::Entity>(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("webhook delivery"))?;
    let hook = get(db, actor, delivery.webhook_id).await?;
    Ok((hook, delivery))
}

/// The event types of the log entry: `<module>.<action>`, e.g. `contacts.created`.
pub fn event_type(module: &str, action: &str) -> String {
    format!("{module}.{action}")
}

/// Whether a webhook subscribed to `event_type`.
pub fn subscribed(patterns: &serde_json::Value, event_type: &str) -> bool {
    let Some(patterns) = patterns.as_array() else {
        return false;
    };
    let kind = event_type
        .split_once('.')
        .map_or(event_type, |(kind, _)| kind);
    if !is_event_kind(kind) {
        return false;
    }
    patterns.iter().filter_map(|p| p.as_str()).any(|pattern| {
        pattern == "*"
            || pattern == event_type
            || pattern.strip_suffix(".*").is_some_and(|module| {
                event_type
                    .strip_prefix(module)
                    .is_some_and(|rest| rest.starts_with('.'))
            })
    })
}

/// Whether an event passes a webhook's filter. A filter that cannot be evaluated for an event
/// (it reads a field of a deleted record, say) does not let it pass.
pub fn passes(filter: Option<&str>, event: &serde_json::Value, record: &serde_json::Value) -> bool {
    let Some(filter) = filter else {
        return true;
    };
    let mut context = cel::Context::default();
    if context.add_variable("event", event.clone()).is_err()
        || context.add_variable("record", record.clone()).is_err()
    {
        return false;
    }
    cel::Program::compile(filter)
        .ok()
        .and_then(|program| program.execute(&context).ok())
        .is_some_and(|value| value == cel::Value::Bool(true))
}

/// A filter must parse and read only `event` and `record`.
fn check_filter(filter: Option<String>) -> AppResult<Option<String>> {
    let Some(filter) = filter
        .map(|f| f.trim().to_owned())
        .filter(|f| !f.is_empty())
    else {
        return Ok(None);
    };
    let field = "filter";
    if filter.chars().count() > 2000 {
        return Err(AppError::bad_input(field, "give at most 2000 characters"));
    }
    let program = cel::Program::compile(&filter)
        .map_err(|e| AppError::bad_input(field, format!("does not parse: {e}")))?;
    let unknown: Vec<String> = program
        .references()
        .variables()
        .into_iter()
        .filter(|v| !["event", "record"].contains(v))
        .map(str::to_owned)
        .collect();
    if !unknown.is_empty() {
        return Err(AppError::bad_input(
            field,
            format!(
                "uses unknown variables {}; use event and record",
                unknown.join(", ")
            ),
        ));
    }
    Ok(Some(filter))
}

/// Events of the platform rather than of a module's records: webhooks disabled, import jobs,
/// report snapshots.
const PLATFORM_KINDS: [&str; 3] = [WEBHOOKS, IMPORTS, REPORTS];

/// Whether log entries of this kind are webhook events (a module's records or the platform
/// kinds above; user changes, say, are not).
fn is_event_kind(kind: &str) -> bool {
    Module::parse(kind).is_some() || PLATFORM_KINDS.contains(&kind)
}

fn check_event_types(types: &[String]) -> AppResult<Vec<String>> {
    if types.is_empty() {
        return Err(AppError::bad_input(
            "eventTypes",
            "give at least one event type, e.g. contacts.created, processes.* or *",
        ));
    }
    if types.len() > MAX_EVENT_TYPES {
        return Err(AppError::bad_input(
            "eventTypes",
            format!("give at most {MAX_EVENT_TYPES} event types"),
        ));
    }
    let mut checked = Vec::with_capacity(types.len());
    for (i, raw) in types.iter().enumerate() {
        let pattern = raw.trim();
        let valid = pattern == "*"
            || pattern.split_once('.').is_some_and(|(module, action)| {
                is_event_kind(module)
                    && !action.is_empty()
                    && action.len() <= 50
                    && (action == "*" || action.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            });
        if !valid {
            return Err(AppError::bad_input(
                format!("eventTypes[{i}]"),
                format!("'{pattern}' is not an event type: use <module>.<action>, <module>.* or *"),
            ));
        }
        if !checked.iter().any(|c| c == pattern) {
            checked.push(pattern.to_owned());
        }
    }
    Ok(checked)
}

/// Only http(s) URLs, without credentials; an address given as an IP must be public unless
/// the provider allows private targets. Names are checked when they are resolved, at every
/// delivery (see [`super::delivery`]), so that DNS cannot point a name elsewhere later.
pub fn check_url(raw: &str, config: &WebhookConfig) -> AppResult<String> {
    let field = "url";
    let raw = raw.trim();
    if raw.chars().count() > URL_MAX {
        return Err(AppError::bad_input(
            field,
            format!("give at most {URL_MAX} characters"),
        ));
    }
    let url =
        reqwest::Url::parse(raw).map_err(|_| AppError::bad_input(field, "is not a valid URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(AppError::bad_input(field, "must be an http or https URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(AppError::bad_input(field, "must not carry credentials"));
    }
    let Some(host) = url.host_str() else {
        return Err(AppError::bad_input(field, "must name a host"));
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let literal = bare.parse::<IpAddr>().ok();
    let name = bare.trim_end_matches('.').to_ascii_lowercase();
    if !config.allow_private_targets && (name == "localhost" || name.ends_with(".localhost")) {
        return Err(AppError::bad_input(field, "must not point at this server"));
    }
    if let Some(ip) = literal
        && !config.allow_private_targets
        && !is_public(ip)
    {
        return Err(AppError::bad_input(
            field,
            "must not point at a loopback, private or link-local address",
        ));
    }
    Ok(url.to_string())
}

/// Whether an address is on the public internet: not loopback, private, link-local, shared
/// (carrier-grade NAT), documentation, multicast or unspecified.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict() -> WebhookConfig {
        WebhookConfig::default()
    }

    #[test]
    fn event_type_patterns_match_by_module_and_action() {
        let patterns = serde_json::json!(["contacts.created", "processes.*"]);
        assert!(subscribed(&patterns, "contacts.created"));
        assert!(!subscribed(&patterns, "contacts.updated"));
        assert!(subscribed(&patterns, "processes.sla_breached"));
        assert!(!subscribed(&patterns, "processesx.created"));
        assert!(subscribed(&serde_json::json!(["*"]), "payroll.approved"));
        assert!(!subscribed(&serde_json::json!(["*"]), "users.updated"));
    }

    #[test]
    fn event_types_are_checked_with_their_position() {
        assert!(check_event_types(&["contacts.created".into(), "*".into()]).is_ok());
        let err = check_event_types(&["contacts.created".into(), "nope.created".into()]);
        assert_eq!(err.unwrap_err().field(), Some("eventTypes[1]"));
        assert!(check_event_types(&[]).is_err());
    }

    #[test]
    fn only_public_http_urls_are_accepted_by_default() {
        assert!(check_url("https://hooks.example.com/bpaas", &strict()).is_ok());
        for refused in [
            "ftp://example.com/x",
            "https://user:pw@example.com/",
            "http://127.0.0.1:8080/",
            "http://10.1.2.3/",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://[::ffff:192.168.1.1]/",
            "http://localhost:9000/",
            "http://100.64.0.1/",
            "not a url",
        ] {
            assert!(check_url(refused, &strict()).is_err(), "{refused}");
        }
        let allowing = WebhookConfig {
            allow_private_targets: true,
            ..WebhookConfig::default()
        };
        assert!(check_url("http://127.0.0.1:8080/hook", &allowing).is_ok());
    }
}
