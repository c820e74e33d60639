//! Validated input values. Each check names the input field it guards.

use uuid::Uuid;

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

/// Trims an optional text; blank becomes `None`. Longer than `max` characters is refused.
pub fn optional_text(field: &str, value: Option<String>, max: usize) -> AppResult<Option<String>> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => required_text(field, text, max).map(Some),
    }
}

pub fn optional_email(field: &str, value: Option<String>) -> AppResult<Option<String>> {
    optional_text(field, value, 254)?
        .map(|text| Email::parse(field, &text).map(Email::into_string))
        .transpose()
}

/// A phone number as people write them: digits, spaces and `+ - ( ) .`, with at least 3 digits.
pub fn optional_phone(field: &str, value: Option<String>) -> AppResult<Option<String>> {
    let Some(text) = optional_text(field, value, 40)? else {
        return Ok(None);
    };
    let allowed = text
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    let digits = text.chars().filter(char::is_ascii_digit).count();
    if !allowed || digits < 3 {
        return Err(AppError::bad_input(field, "is not a valid phone number"));
    }
    Ok(Some(text))
}

/// A web address; `https://` is assumed when no scheme is given.
pub fn optional_url(field: &str, value: Option<String>) -> AppResult<Option<String>> {
    let Some(text) = optional_text(field, value, 255)? else {
        return Ok(None);
    };
    let url = if text.contains("://") {
        text
    } else {
        format!("https://{text}")
    };
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let host = rest
        .and_then(|r| r.split(['/', '?', '#']).next())
        .unwrap_or_default();
    let host_ok = host.contains('.')
        && !host.starts_with('.')
        && !host.ends_with('.')
        && host
            .chars()
            .all(|c| c.is_alphanumeric() || "-.:".contains(c));
    if !host_ok || url.chars().any(char::is_whitespace) {
        return Err(AppError::bad_input(field, "is not a valid web address"));
    }
    Ok(Some(url))
}

#[cfg(test)]
mod more_tests {
    use super::*;

    #[test]
    fn urls_get_a_scheme_and_need_a_host() {
        assert_eq!(
            optional_url("website", Some("acme.co.id".into()))
                .unwrap()
                .as_deref(),
            Some("https://acme.co.id")
        );
        assert!(optional_url("website", Some("ftp://acme.com".into())).is_err());
        assert!(optional_url("website", Some("not a url".into())).is_err());
        assert_eq!(optional_url("website", Some("  ".into())).unwrap(), None);
    }

    #[test]
    fn phones_are_digits_and_punctuation() {
        assert!(
            optional_phone("phone", Some("+62 (22) 123-4567".into()))
                .unwrap()
                .is_some()
        );
        assert!(optional_phone("phone", Some("call me".into())).is_err());
    }
}

/// `None`: leave as it is; `Some(None)`: clear; `Some(Some(v))`: set.
pub type Patch<T> = Option<Option<T>>;

/// Validates an optional text that may be given, cleared or left alone.
pub fn text_patch(field: &str, value: Patch<String>, max: usize) -> AppResult<Patch<String>> {
    value.map(|v| optional_text(field, v, max)).transpose()
}

/// A GraphQL id as the record id it names.
pub fn parse_id(field: &str, id: &async_graphql::ID) -> AppResult<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| AppError::bad_input(field, "is not a valid id"))
}
