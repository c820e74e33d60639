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
        async_graphql::Error::new(err.message()).extend_with(|_, ext| {
            ext.set("code", code);
            if let Some(field) = &field {
                ext.set("field", field.as_str());
            }
        })
    }
}

/// Gives every error of a response a code. Errors raised by async-graphql itself carry none:
/// request-level ones (no path) failed validation, field-level ones are input coercion errors.
pub fn ensure_error_codes(response: &mut Response) {
    for error in &mut response.errors {
        let has_code = error
            .extensions
            .as_ref()
            .is_some_and(|ext| ext.get("code").is_some());
        if !has_code {
            let code = if error.path.is_empty() {
                CODE_VALIDATION_FAILED
            } else {
                "BAD_USER_INPUT"
            };
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("code", code);
        }
    }
}

/// True when the request failed before execution (validation, limits): errors outside any field.
pub fn is_request_error(response: &Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty())
}
