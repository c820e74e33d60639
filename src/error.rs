//! The one error type of the domain. The GraphQL layer turns it into an error with a stable
//! `extensions.code`; database details are logged here and never shown to clients.
//!
//! `AppError` deliberately does not implement `Display`: async-graphql converts any `Display`
//! type into an error without a code, and we want the compiler to send every `AppError` through
//! our own conversion instead.

use sea_orm::{DbErr, SqlErr};

#[derive(Debug)]
pub enum AppError {
    Unauthenticated(&'static str),
    Forbidden(String),
    /// Names the kind of record, e.g. "user".
    NotFound(&'static str),
    /// An input refers to a record that does not exist (or belongs to another tenant).
    ReferenceNotFound {
        field: String,
        what: &'static str,
    },
    BadInput {
        field: String,
        message: String,
    },
    Conflict(String),
    /// The cause was logged; clients learn nothing more.
    Internal,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// The stable code clients branch on.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated(_) => "UNAUTHENTICATED",
            AppError::Forbidden(_) => "FORBIDDEN",
            AppError::NotFound(_) | AppError::ReferenceNotFound { .. } => "NOT_FOUND",
            AppError::BadInput { .. } => "BAD_USER_INPUT",
            AppError::Conflict(_) => "CONFLICT",
            AppError::Internal => "INTERNAL",
        }
    }

    /// The message clients see.
    pub fn message(&self) -> String {
        match self {
            AppError::Unauthenticated(m) => (*m).to_owned(),
            AppError::Forbidden(m) | AppError::Conflict(m) => m.clone(),
            AppError::NotFound(what) => format!("{what} not found"),
            AppError::ReferenceNotFound { field, what } => format!("{field}: no such {what}"),
            AppError::BadInput { field, message } => format!("{field}: {message}"),
            AppError::Internal => "internal server error".to_owned(),
        }
    }

    /// The input field at fault, for BAD_USER_INPUT and missing references.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::BadInput { field, .. } | AppError::ReferenceNotFound { field, .. } => {
                Some(field)
            }
            _ => None,
        }
    }

    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::BadInput {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Logs the cause for operators and returns the opaque error clients see.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        AppError::Internal
    }
}

impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                AppError::Conflict("a record with the same unique value already exists".into())
            }
            _ => AppError::internal(err),
        }
    }
}
