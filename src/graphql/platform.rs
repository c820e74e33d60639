//! Users, sign-in and the caller's identity.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use entity::platform::user;

use crate::auth;
use crate::platform::users::{self, NewUser, UserChanges};

use super::pagination::{Connected, connection, page_args};
use super::{ContextExt, Session, parse_id};

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "Role")]
pub enum RoleValue {
    /// Manages users and configuration of the tenant; reads and writes everything.
    Admin,
    /// Reads and writes every business module.
    Manager,
    Sales,
    Support,
    /// Reads only.
    Viewer,
}

impl From<auth::Role> for RoleValue {
    fn from(role: auth::Role) -> Self {
        match role {
            auth::Role::Admin => RoleValue::Admin,
            auth::Role::Manager => RoleValue::Manager,
            auth::Role::Sales => RoleValue::Sales,
            auth::Role::Support => RoleValue::Support,
            auth::Role::Viewer => RoleValue::Viewer,
        }
    }
}

impl From<RoleValue> for auth::Role {
    fn from(role: RoleValue) -> Self {
        match role {
            RoleValue::Admin => auth::Role::Admin,
            RoleValue::Manager => auth::Role::Manager,
            RoleValue::Sales => auth::Role::Sales,
            RoleValue::Support => auth::Role::Support,
            RoleValue::Viewer => auth::Role::Viewer,
        }
    }
}

pub(super) fn domain_roles(roles: Vec<RoleValue>) -> Vec<auth::Role> {
    roles.into_iter().map(Into::into).collect()
}

impl RoleValue {
    /// The roles kept as a comma-separated list (unknown names left out).
    pub(super) fn list(stored: &str) -> Vec<RoleValue> {
        auth::Role::parse_list(stored)
            .into_iter()
            .map(Into::into)
            .collect()
    }
}

/// A person who signs in to this tenant.
#[derive(SimpleObject)]
pub struct User {
    pub id: ID,
    pub email: String,
    pub display_name: String,
    pub roles: Vec<RoleValue>,
    pub active: bool,
    /// Send it back with `updateUser`; it changes with every update.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<user::Model> for User {
    fn from(u: user::Model) -> Self {
        Self {
            id: ID(u.id.to_string()),
            roles: users::roles_of(&u).into_iter().map(Into::into).collect(),
            email: u.email,
            display_name: u.display_name,
            active: u.active,
            version: u.version,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

#[derive(SimpleObject)]
pub struct LoginPayload {
    /// Bearer token for the `Authorization` header and the WebSocket `connection_init` payload.
    pub token: String,
    pub user: User,
}

#[derive(InputObject)]
pub struct CreateUserInput {
    pub email: String,
    pub display_name: String,
    /// At least 8 characters.
    pub password: String,
    pub roles: Vec<RoleValue>,
}

#[derive(InputObject)]
pub struct UpdateUserInput {
    /// The `version` you last read; if someone changed the user since, the update is a CONFLICT.
    pub version: i32,
    pub display_name: Option<String>,
    pub roles: Option<Vec<RoleValue>>,
    pub active: Option<bool>,
    /// Resets the user's password.
    pub password: Option<String>,
}

#[derive(Default)]
pub struct PlatformQuery;

#[Object]
impl PlatformQuery {
    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> Result<User> {
        let principal = ctx.principal()?;
        Ok(
            users::get(&ctx.app().db, &principal.scope(), principal.user_id)
                .await?
                .into(),
        )
    }

    /// A user of the caller's tenant.
    async fn user(&self, ctx: &Context<'_>, id: ID) -> Result<User> {
        let scope = ctx.principal()?.scope();
        let id = parse_id("id", &id)?;
        Ok(users::get(&ctx.app().db, &scope, id).await?.into())
    }

    /// The users of the caller's tenant, oldest first.
    async fn users(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connected<User>> {
        let scope = ctx.principal()?.scope();
        let app = ctx.app();
        let args = page_args(first, after, last, before);
        let page = users::list(&app.db, &scope, &args, &app.limits).await?;
        Ok(connection(page, User::from))
    }
}

#[derive(Default)]
pub struct PlatformMutation;

#[Object]
impl PlatformMutation {
    /// Signs in. The only operation that needs no token.
    async fn login(
        &self,
        ctx: &Context<'_>,
        tenant: String,
        email: String,
        password: String,
    ) -> Result<LoginPayload> {
        let app = ctx.app();
        let attempt = users::Attempt {
            throttle: &app.login_throttle,
            client: ctx.data_opt::<Session>().map(Session::client),
        };
        let (token, user) =
            users::login(&app.db, &app.tokens, attempt, &tenant, &email, &password).await?;
        Ok(LoginPayload {
            token,
            user: user.into(),
        })
    }

    /// Adds a user to the caller's tenant (admins only).
    async fn create_user(&self, ctx: &Context<'_>, input: CreateUserInput) -> Result<User> {
        let principal = ctx.principal()?;
        let app = ctx.app();
        let new = NewUser {
            email: input.email,
            display_name: input.display_name,
            password: input.password,
            roles: domain_roles(input.roles),
        };
        Ok(users::create(&app.db, principal, new).await?.into())
    }

    /// Changes a user's roles, name, active flag or password (admins only).
    async fn update_user(&self, ctx: &Context<'_>, id: ID, input: UpdateUserInput) -> Result<User> {
        let principal = ctx.principal()?;
        let app = ctx.app();
        let id = parse_id("id", &id)?;
        let changes = UserChanges {
            version: input.version,
            display_name: input.display_name,
            roles: input.roles.map(domain_roles),
            active: input.active,
            password: input.password,
        };
        let updated = users::update(&app.db, principal, id, changes).await?;
        // The user's API keys act with the user's state and roles.
        app.credentials_changed(&principal.scope()).await;
        Ok(updated.into())
    }

    /// Changes the caller's own password.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> Result<bool> {
        let principal = ctx.principal()?;
        let app = ctx.app();
        users::change_password(&app.db, principal, current_password, new_password).await?;
        // It revoked the caller's tokens: no replica may go on trusting them.
        app.credentials_changed(&principal.scope()).await;
        Ok(true)
    }

    /// Revokes every token of the caller, this one included: signs out on every device and
    /// closes the caller's WebSocket connections.
    async fn logout_everywhere(&self, ctx: &Context<'_>) -> Result<bool> {
        let principal = ctx.principal()?;
        let app = ctx.app();
        users::logout_everywhere(&app.db, principal).await?;
        app.credentials_changed(&principal.scope()).await;
        Ok(true)
    }
}

#[derive(Default)]
pub struct PlatformSubscription;

#[Subscription]
impl PlatformSubscription {
    /// A user of the caller's tenant was created or changed.
    async fn user_changed(&self, ctx: &Context<'_>) -> Result<BoxStream<'static, Result<User>>> {
        let scope = ctx.principal()?.scope();
        let app = ctx.app().clone();
        let changes = crate::events::follow_log_from(app.db.clone(), &app.events, scope, None);
        let users = changes.await?.filter_map(move |entry| {
            let app = app.clone();
            async move {
                if entry.module != users::USERS {
                    return None;
                }
                let user = users::get(&app.db, &scope, entry.record_id).await;
                Some(user.map(User::from).map_err(Into::into))
            }
        });
        Ok(users.boxed())
    }
}
