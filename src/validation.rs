//! Validated input values. Each check names the input field it guards.

use crate::error::{AppError, AppResult};

/// Trims `value` and checks it is present and not longer than `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> AppResult<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AppError::bad_input(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(AppError::bad_input(
            field,
            format!("must have at most {max} characters"),
        ));
    }
    Ok(value.to_owned())
}

/// An e-mail address, lower-cased so that lookups do not depend on case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, value: &str) -> AppResult<Email> {
        let value = value.trim().to_lowercase();
        let invalid = || AppError::bad_input(field, "is not a valid e-mail address");
        if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = value.rsplit_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        if local.is_empty() || local.len() > 64 || local.contains('@') || !domain_ok {
            return Err(invalid());
        }
        Ok(Email(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses_and_lowercases_them() {
        assert_eq!(
            Email::parse("email", " Ana.Maria+crm@Example.co.ID ")
                .unwrap()
                .as_str(),
            "ana.maria+crm@example.co.id"
        );
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a@@b.com",
            "a b@c.com",
            "a@.com",
            "a@b..com",
        ] {
            let err = Email::parse("email", bad).unwrap_err();
            assert!(
                matches!(err, AppError::BadInput { ref field, .. } if field == "email"),
                "{bad}"
            );
        }
    }

    #[test]
    fn required_text_trims_and_bounds() {
        assert_eq!(required_text("name", "  Acme ", 10).unwrap(), "Acme");
        assert!(required_text("name", "   ", 10).is_err());
        assert!(required_text("name", "elevenchars", 10).is_err());
    }
}
