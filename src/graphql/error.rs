//! Turning domain errors into GraphQL errors with a stable `extensions.code`.

use async_graphql::{ErrorExtensions, Response};

use crate::error::AppError;

/// The document could not be parsed.
pub const CODE_PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
/// The document does not fit the schema or exceeds a depth or complexity limit.
pub const CODE_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        let code = err.code();
        let field = err.field().map(str::to_owned);
        let retry_after = match &err {
            AppError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        async_graphql::Error::new(err.message()).extend_with(|_, ext| {
            ext.set("code", code);
            if let Some(field) = &field {
                ext.set("field", field.as_str());
            }
            if let Some(seconds) = retry_after {
                ext.set("retryAfter", seconds);
            }
        })
    }
}

/// async-graphql's wording for an argument or variable of the wrong type or value.
const INVALID_ARGUMENT: &str = "Invalid value for argument \"";

/// Gives every error of a response a code. Errors raised by async-graphql itself carry none:
/// a bad argument value is BAD_USER_INPUT (with the argument's path as `field`), any other
/// request-level error failed validation, and field-level ones are input coercion errors.
pub fn ensure_error_codes(response: &mut Response) {
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_some() {
            continue;
        }
        if let Some(rest) = error.message.strip_prefix(INVALID_ARGUMENT) {
            extensions.set("code", "BAD_USER_INPUT");
            if let Some((field, _)) = rest.split_once('"') {
                extensions.set("field", field);
            }
        } else if error.path.is_empty() {
            extensions.set("code", CODE_VALIDATION_FAILED);
        } else {
            extensions.set("code", "BAD_USER_INPUT");
        }
    }
}

/// True when the request failed before execution (validation, limits): errors outside any field.
pub fn is_request_error(response: &Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}
