//! Payroll: employees, pay components and salary structures, pay runs and payslips, with
//! Indonesian PPh 21 (TER and Article 17) and BPJS from tenant-editable rule sets.

pub mod calc;
pub mod employees;
pub mod exports;
pub mod formula;
pub mod module;
pub mod rules;
pub mod runs;
pub mod setup;

pub use module::DECLARATION;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{AppError, AppResult};

/// An enum as its stored text (`NON_PERMANENT_MONTHLY`).
pub(crate) fn stored(value: impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => text,
        _ => String::new(),
    }
}

/// A stored enum text back as the enum; a row the server did not write is an internal error.
pub(crate) fn loaded<T: DeserializeOwned>(text: &str) -> AppResult<T> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|e| AppError::internal(format!("stored payroll value {text}: {e}")))
}
