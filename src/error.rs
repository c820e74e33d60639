//! The one error type of the domain. The GraphQL layer turns it into an error with a stable
//! `extensions.code`; database details are logged here and never shown to clients.
//!
//! `AppError` deliberately does not implement `Display`: async-graphql converts any `Display`
//! type into an error without a code, and we want the compiler to send every `AppError` through
//! our own conversion instead.

use sea_orm::{DbErr, RuntimeErr, SqlErr};

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
    /// Too many attempts; try again after this many seconds.
    RateLimited {
        retry_after_secs: u64,
    },
    /// The database cannot be reached; try again later.
    Unavailable,
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
            AppError::RateLimited { .. } => "RATE_LIMITED",
            AppError::Unavailable => "SERVICE_UNAVAILABLE",
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
            AppError::RateLimited { retry_after_secs } => {
                format!("too many attempts; try again in {retry_after_secs} s")
            }
            AppError::Unavailable => "the service is temporarily unavailable".to_owned(),
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
                return AppError::Conflict(
                    "a record with the same unique value already exists".into(),
                );
            }
            Some(SqlErr::ForeignKeyConstraintViolation(message)) => {
                return foreign_key_refused(&message);
            }
            _ => {}
        }
        match classify(&err) {
            Some(DbTrouble::Unreachable) => {
                tracing::warn!(%err, "database unreachable");
                AppError::Unavailable
            }
            Some(DbTrouble::Contention) => {
                tracing::info!(%err, "transaction lost to a concurrent one");
                AppError::Conflict(
                    "the change collided with a concurrent one and was not made; retry".into(),
                )
            }
            Some(DbTrouble::NulInText) => {
                AppError::bad_input("input", "text must not contain NUL characters")
            }
            Some(DbTrouble::Refused(message)) => foreign_key_refused(&message),
            None => AppError::internal(err),
        }
    }
}

/// Database failures that are not bugs, and what the client should make of them.
enum DbTrouble {
    /// No connection could be had or the connection broke: try again later.
    Unreachable,
    /// A deadlock, a serialisation failure or a busy SQLite file: nothing changed, retry.
    Contention,
    /// PostgreSQL refuses U+0000 in text (a backstop: inputs are checked at the edge).
    NulInText,
    /// A reference the database refused, on SQLite (its triggers raise it; see the
    /// `tenant_references` migration).
    Refused(String),
}

/// The database refused a reference: to a record that is not there (or is another tenant's),
/// or the deletion of a record others still refer to. Both are backstops: the services check
/// references first.
fn foreign_key_refused(message: &str) -> AppError {
    // PostgreSQL: "update or delete on table ..."; SQLite: the migration's message.
    if message.starts_with("update or delete") || message.contains(migration::STILL_REFERRED_TO) {
        AppError::Conflict("the record is still referred to by other records".into())
    } else {
        AppError::bad_input("input", "refers to a record that does not exist")
    }
}

fn classify(err: &DbErr) -> Option<DbTrouble> {
    use sea_orm::sqlx::Error as Sqlx;
    let sqlx = match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return Some(DbTrouble::Unreachable),
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        _ => return None,
    };
    match sqlx.as_ref() {
        Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::Tls(_) => {
            Some(DbTrouble::Unreachable)
        }
        Sqlx::Database(db) => match db.code().as_deref() {
            // PostgreSQL: serialization_failure, deadlock_detected; SQLite: BUSY, LOCKED and
            // their extended codes (BUSY_SNAPSHOT is a deferred transaction that cannot upgrade).
            Some("40001" | "40P01" | "5" | "6" | "261" | "517" | "262") => {
                Some(DbTrouble::Contention)
            }
            // PostgreSQL: admin_shutdown, crash_shutdown, cannot_connect_now.
            Some("57P01" | "57P02" | "57P03") => Some(DbTrouble::Unreachable),
            Some("22021") => Some(DbTrouble::NulInText),
            // SQLite: SQLITE_CONSTRAINT_TRIGGER, from the reference triggers.
            Some("1811") if db.message().starts_with(migration::REFERENCE_REFUSED) => {
                Some(DbTrouble::Refused(db.message().to_owned()))
            }
            _ => None,
        },
        _ => None,
    }
}
