//! API keys and webhooks.

use async_graphql::{
    Context, ID, InputObject, Json, MaybeUndefined, Object, Result, SimpleObject, Subscription,
};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use entity::integrations::{api_key, import_job, import_mapping, webhook, webhook_delivery};

use crate::auth::api_keys::{self, NewKey};
use crate::events;
use crate::import_jobs;
use crate::integrations::delivery;
use crate::integrations::webhooks::{self, WebhookFields};
use crate::modules::Module;

use super::platform::RoleValue;
use super::{ContextExt, parse_id};

/// A key a system or a mail client signs in with (`Authorization: Bearer <key>`, or as the
/// password of HTTP Basic authentication). Its secret is shown only when it is created.
#[derive(SimpleObject)]
pub struct ApiKey {
    pub id: ID,
    pub name: String,
    /// The start of the key, to recognise it: `bpk_live_AbCd1234`.
    pub prefix: String,
    pub roles: Vec<RoleValue>,
    /// A user's own key: it never has more than the user's current roles.
    pub personal: bool,
    /// The user it acts as: its creator.
    pub user_id: ID,
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was last used (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<api_key::Model> for ApiKey {
    fn from(k: api_key::Model) -> Self {
        Self {
            id: ID(k.id.to_string()),
            roles: RoleValue::list(&k.roles),
            name: k.name,
            prefix: k.prefix,
            personal: k.personal,
            user_id: ID(k.user_id.to_string()),
            expires_at: k.expires_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
            created_at: k.created_at,
        }
    }
}

#[derive(SimpleObject)]
pub struct CreatedApiKey {
    pub api_key: ApiKey,
    /// The whole key. Store it now: it is not shown again.
    pub secret: String,
}

#[derive(InputObject)]
pub struct CreateApiKeyInput {
    pub name: String,
    pub roles: Vec<RoleValue>,
    /// No expiry when omitted.
    pub expires_at: Option<DateTime<Utc>>,
    /// A personal key (an app password) that acts as you with some of your roles. Only
    /// administrators create tenant keys (`false`, the default).
    #[graphql(default)]
    pub personal: bool,
}

/// A URL that receives the tenant's events, signed as the Standard Webhooks specification says.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Webhook {
    pub id: ID,
    pub name: String,
    pub url: String,
    /// `<module>.<action>` (`contacts.created`), `<module>.*` or `*`.
    pub event_types: Vec<String>,
    /// A CEL expression over `event` (`type`, `module`, `action`, `changedFields`, `sequence`)
    /// and `record` that an event of those types must satisfy too.
    pub filter: Option<String>,
    /// The signing secret (`whsec_…`): check `webhook-signature` with it.
    pub secret: String,
    pub active: bool,
    /// Why the server disabled it (after failing for a day).
    pub disabled_reason: Option<String>,
    /// The last event sequence handled: deliveries continue after it.
    pub last_sequence: i64,
    /// Failed attempts in a row at the next event.
    pub failures: i32,
    /// When the next attempt is due, while failing.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Send it back with `updateWebhook`.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    model: webhook::Model,
}

impl From<webhook::Model> for Webhook {
    fn from(w: webhook::Model) -> Self {
        Self {
            id: ID(w.id.to_string()),
            name: w.name.clone(),
            url: w.url.clone(),
            event_types: serde_json::from_value(w.event_types.clone()).unwrap_or_default(),
            filter: w.filter.clone(),
            secret: w.secret.clone(),
            active: w.active,
            disabled_reason: w.disabled_reason.clone(),
            last_sequence: w.cursor,
            failures: w.failures,
            next_attempt_at: delivery::next_attempt(&w),
            version: w.version,
            created_at: w.created_at,
            updated_at: w.updated_at,
            model: w,
        }
    }
}

#[async_graphql::ComplexObject]
impl Webhook {
    /// The latest delivery attempts, newest first.
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] last: i32,
    ) -> Result<Vec<WebhookDelivery>> {
        let scope = ctx.principal()?.scope();
        let max = ctx.app().limits.max_page_size;
        let limit = u64::try_from(last).ok().filter(|n| (1..=max).contains(n));
        let Some(limit) = limit else {
            let message = format!("must be between 1 and {max}");
            return Err(crate::error::AppError::bad_input("last", message).into());
        };
        let found = webhooks::deliveries(&ctx.app().db, &scope, self.model.id, limit).await?;
        Ok(found.into_iter().map(Into::into).collect())
    }
}

/// One attempt to deliver an event.
#[derive(SimpleObject)]
pub struct WebhookDelivery {
    pub id: ID,
    /// The `webhook-id` header sent: the event's id.
    pub event_id: ID,
    /// The event's sequence in the tenant's log; none for a test.
    pub sequence: Option<i64>,
    pub event_type: String,
    pub attempt: i32,
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    pub succeeded: bool,
    /// What went wrong when there was no answer (timeout, refused connection).
    pub error: Option<String>,
    /// The start of the receiver's answer.
    pub response_excerpt: Option<String>,
    pub at: DateTime<Utc>,
}

impl From<webhook_delivery::Model> for WebhookDelivery {
    fn from(d: webhook_delivery::Model) -> Self {
        Self {
            id: ID(d.id.to_string()),
            event_id: ID(d.event_id.to_string()),
            sequence: d.sequence,
            event_type: d.event_type,
            attempt: d.attempt,
            status_code: d.status_code,
            latency_ms: d.latency_ms,
            succeeded: d.succeeded,
            error: d.error,
            response_excerpt: d.response_excerpt,
            at: d.at,
        }
    }
}

#[derive(InputObject)]
pub struct CreateWebhookInput {
    pub name: String,
    /// http(s); loopback, private and link-local targets are refused unless the provider
    /// allows them.
    pub url: String,
    pub event_types: Vec<String>,
    /// e.g. `record.status == 'Accepted'` with `quotes.updated`.
    pub filter: Option<String>,
    #[graphql(default = true)]
    pub active: bool,
}

/// Only the fields given change.
#[derive(InputObject)]
pub struct UpdateWebhookInput {
    /// The `version` you last read; a different current version is a CONFLICT.
    pub version: i32,
    pub name: Option<String>,
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    /// `null` removes the filter.
    pub filter: MaybeUndefined<String>,
    /// `true` on a disabled webhook retries its stuck event at once.
    pub active: Option<bool>,
}

/// A CSV import (`POST /import/{module}`): running with its counts so far, then done with its
/// report, or failed with the reason.
#[derive(SimpleObject)]
pub struct ImportJob {
    pub id: ID,
    pub module: Option<Module>,
    /// running, done or failed.
    pub status: String,
    pub dry_run: bool,
    /// Rows read so far.
    pub rows: i64,
    pub created: i64,
    pub updated: i64,
    pub skipped: i64,
    pub failed: i64,
    /// When done: how each column was understood and the problems with their lines
    /// (`columns`, `problems`), as the HTTP answer has them.
    pub report: Option<Json<serde_json::Value>>,
    /// Why it failed.
    pub error: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<import_job::Model> for ImportJob {
    fn from(j: import_job::Model) -> Self {
        Self {
            id: ID(j.id.to_string()),
            module: Module::parse(&j.module),
            status: j.status,
            dry_run: j.dry_run,
            rows: j.rows,
            created: j.created,
            updated: j.updated,
            skipped: j.skipped,
            failed: j.failed,
            report: j.report.map(Json),
            error: j.error,
            started_at: j.started_at,
            finished_at: j.finished_at,
        }
    }
}

/// How a file's columns map to a module's fields, saved by name for imports
/// (`POST /import/{module}?mappingName=`).
#[derive(SimpleObject)]
pub struct ImportMapping {
    pub id: ID,
    pub module: Option<Module>,
    pub name: String,
    /// `{"Column header": "field"}`.
    pub mapping: Json<serde_json::Value>,
    pub updated_at: DateTime<Utc>,
}

impl From<import_mapping::Model> for ImportMapping {
    fn from(m: import_mapping::Model) -> Self {
        Self {
            id: ID(m.id.to_string()),
            module: Module::parse(&m.module),
            name: m.name,
            mapping: Json(m.mapping),
            updated_at: m.updated_at,
        }
    }
}

#[derive(Default)]
pub struct IntegrationsQuery;

#[Object]
impl IntegrationsQuery {
    /// API keys: an administrator sees every key of the tenant, anyone else their own.
    async fn api_keys(&self, ctx: &Context<'_>) -> Result<Vec<ApiKey>> {
        let keys = api_keys::list(&ctx.app().db, ctx.principal()?).await?;
        Ok(keys.into_iter().map(Into::into).collect())
    }

    /// The tenant's webhooks (administrators).
    async fn webhooks(&self, ctx: &Context<'_>) -> Result<Vec<Webhook>> {
        let hooks = webhooks::list(&ctx.app().db, ctx.principal()?).await?;
        Ok(hooks.into_iter().map(Into::into).collect())
    }

    async fn webhook(&self, ctx: &Context<'_>, id: ID) -> Result<Webhook> {
        let id = parse_id("id", &id)?;
        Ok(webhooks::get(&ctx.app().db, ctx.principal()?, id)
            .await?
            .into())
    }

    /// The saved import mappings of a module, by name.
    async fn import_mappings(
        &self,
        ctx: &Context<'_>,
        module: Module,
    ) -> Result<Vec<ImportMapping>> {
        let found = import_jobs::mappings(&ctx.app().db, ctx.principal()?, module).await?;
        Ok(found.into_iter().map(Into::into).collect())
    }

    /// An import job, for those who may write its module.
    async fn import_job(&self, ctx: &Context<'_>, id: ID) -> Result<ImportJob> {
        let id = parse_id("id", &id)?;
        Ok(import_jobs::get(&ctx.app().db, ctx.principal()?, id)
            .await?
            .into())
    }
}

#[derive(Default)]
pub struct IntegrationsSubscription;

#[Subscription]
impl IntegrationsSubscription {
    /// An import job now, then after each batch, until it ends.
    async fn import_job_changed(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<BoxStream<'static, Result<ImportJob>>> {
        let principal = ctx.principal()?.clone();
        let app = ctx.app().clone();
        let id = parse_id("id", &id)?;
        // Follow the log before reading the job, so that no step between the two is missed.
        let steps = events::follow_log_from(app.db.clone(), &app.events, principal.scope(), None)
            .await?
            .filter(move |e| {
                std::future::ready(e.module == import_jobs::IMPORTS && e.record_id == id)
            });
        let now = import_jobs::get(&app.db, &principal, id).await?;
        let first = futures_util::stream::once(std::future::ready(Ok(now)));
        let later = steps.then(move |_| {
            let (app, principal) = (app.clone(), principal.clone());
            async move { import_jobs::get(&app.db, &principal, id).await }
        });
        // Ends with the first state that is no longer running, without waiting for more.
        let upstream = first.chain(later).boxed();
        let jobs =
            futures_util::stream::unfold((upstream, false), |(mut upstream, ended)| async move {
                if ended {
                    return None;
                }
                let job = upstream.next().await?;
                let ended = !job.as_ref().is_ok_and(|j| j.status == import_jobs::RUNNING);
                Some((
                    job.map(ImportJob::from).map_err(Into::into),
                    (upstream, ended),
                ))
            });
        Ok(jobs.boxed())
    }
}

#[derive(Default)]
pub struct IntegrationsMutation;

#[Object]
impl IntegrationsMutation {
    /// Creates an API key; the answer holds its secret, shown this once.
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        input: CreateApiKeyInput,
    ) -> Result<CreatedApiKey> {
        let app = ctx.app();
        let new = NewKey {
            name: input.name,
            roles: input.roles.into_iter().map(Into::into).collect(),
            expires_at: input.expires_at,
            personal: input.personal,
        };
        let (key, secret) =
            api_keys::create(&app.db, &app.tokens.api_keys, ctx.principal()?, new).await?;
        Ok(CreatedApiKey {
            api_key: key.into(),
            secret,
        })
    }

    /// Revokes a key: it stops working on the next request, and WebSockets signed in with it
    /// close. Administrators revoke any key of the tenant, others their own.
    async fn revoke_api_key(&self, ctx: &Context<'_>, id: ID) -> Result<ApiKey> {
        let principal = ctx.principal()?;
        let app = ctx.app();
        let id = parse_id("id", &id)?;
        let key = api_keys::revoke(&app.db, principal, id).await?;
        app.credentials_changed(&principal.scope()).await;
        Ok(key.into())
    }

    async fn create_webhook(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookInput,
    ) -> Result<Webhook> {
        let app = ctx.app();
        let fields = WebhookFields {
            name: Some(input.name),
            url: Some(input.url),
            event_types: Some(input.event_types),
            filter: Some(input.filter),
            active: Some(input.active),
        };
        let hook = webhooks::create(&app.db, &app.webhooks, ctx.principal()?, fields).await?;
        Ok(hook.into())
    }

    async fn update_webhook(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateWebhookInput,
    ) -> Result<Webhook> {
        let app = ctx.app();
        let id = parse_id("id", &id)?;
        let fields = WebhookFields {
            name: input.name,
            url: input.url,
            event_types: input.event_types,
            filter: super::records::patch(input.filter),
            active: input.active,
        };
        let principal = ctx.principal()?;
        let hook =
            webhooks::update(&app.db, &app.webhooks, principal, id, input.version, fields).await?;
        Ok(hook.into())
    }

    /// Deletes a webhook with its delivery log.
    async fn delete_webhook(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let id = parse_id("id", &id)?;
        webhooks::delete(&ctx.app().db, ctx.principal()?, id).await?;
        Ok(true)
    }

    /// Saves how a file's columns map to a module's fields under a name (replacing one of the
    /// same name), for `POST /import/{module}?mappingName=`.
    async fn save_import_mapping(
        &self,
        ctx: &Context<'_>,
        module: Module,
        name: String,
        mapping: Json<serde_json::Value>,
    ) -> Result<ImportMapping> {
        let principal = ctx.principal()?;
        let saved =
            import_jobs::save_mapping(&ctx.app().db, principal, module, &name, &mapping.0).await?;
        Ok(saved.into())
    }

    async fn delete_import_mapping(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let id = parse_id("id", &id)?;
        import_jobs::delete_mapping(&ctx.app().db, ctx.principal()?, id).await?;
        Ok(true)
    }

    /// Sends a `webhook.test` message now and answers with the attempt.
    async fn test_webhook(&self, ctx: &Context<'_>, id: ID) -> Result<WebhookDelivery> {
        let app = ctx.app();
        let id = parse_id("id", &id)?;
        let hook = webhooks::get(&app.db, ctx.principal()?, id).await?;
        Ok(delivery::test(app, &hook).await?.into())
    }

    /// Sends the event of an earlier delivery again now, and answers with the new attempt.
    async fn redeliver_webhook(
        &self,
        ctx: &Context<'_>,
        delivery_id: ID,
    ) -> Result<WebhookDelivery> {
        let app = ctx.app();
        let principal = ctx.principal()?;
        let delivery_id = parse_id("deliveryId", &delivery_id)?;
        let (hook, earlier) = webhooks::delivery(&app.db, principal, delivery_id).await?;
        Ok(delivery::redeliver(app, &hook, &earlier).await?.into())
    }
}
