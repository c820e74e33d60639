//! Search across modules by name, e-mail, phone and number, within the caller's tenant and
//! the modules their roles may read. Exact matches rank first, then prefixes, then the rest.

use sea_orm::sea_query::Condition;
use sea_orm::{DatabaseConnection, IdenStatic, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::auth::Principal;
use crate::error::{AppError, AppResult};
use crate::filters;
use crate::modules::{self, Module};
use crate::permissions::Access;
use crate::records::{self, Record};

pub struct Hit {
    pub module: Module,
    pub id: Uuid,
    pub label: String,
    pub score: i32,
}

/// Live records of `E` whose search columns ([`Record::SEARCH`]) contain `text`.
pub(crate) async fn search_in<E: Record>(
    db: &DatabaseConnection,
    actor: &Principal,
    text: &str,
    limit: u64,
) -> AppResult<Vec<Hit>> {
    if E::SEARCH.is_empty() {
        return Ok(Vec::new());
    }
    let mut any = Condition::any();
    for column in E::SEARCH {
        any = any.add(filters::contains_ci::<E>(*column, text));
    }
    let rows = records::live::<E>(&actor.scope())
        .filter(any)
        .limit(limit)
        .all(db)
        .await?;
    let keys: Vec<String> = E::SEARCH
        .iter()
        .map(|column| camel_case(column.as_str()))
        .collect();
    Ok(rows
        .iter()
        .map(|row| {
            let json = serde_json::to_value(row).unwrap_or_default();
            let score = keys
                .iter()
                .filter_map(|key| json.get(key)?.as_str())
                .map(|value| rank(&value.to_lowercase(), text))
                .max()
                .unwrap_or(0);
            Hit {
                module: E::MODULE,
                id: E::id_of(row),
                label: E::label_of(row),
                score,
            }
        })
        .collect())
}

/// A column's name as the serialized model spells it (`account_no` → `accountNo`).
pub(crate) fn camel_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn rank(value: &str, text: &str) -> i32 {
    if value == text {
        100
    } else if value.starts_with(text) || value.split_whitespace().any(|w| w.starts_with(text)) {
        50
    } else if value.contains(text) {
        10
    } else {
        0
    }
}

pub async fn search(
    db: &DatabaseConnection,
    actor: &Principal,
    text: &str,
    modules: Option<Vec<Module>>,
    first: i32,
    max_page_size: u64,
) -> AppResult<Vec<Hit>> {
    let text = text.trim().to_lowercase();
    if text.chars().count() < 2 {
        return Err(AppError::bad_input("text", "give at least 2 characters"));
    }
    if text.chars().count() > 100 {
        return Err(AppError::bad_input("text", "give at most 100 characters"));
    }
    if first < 1 || first as u64 > max_page_size {
        return Err(AppError::bad_input(
            "first",
            format!("must be between 1 and {max_page_size}"),
        ));
    }
    let limit = first as u64;
    let modules = modules.unwrap_or_else(|| Module::ALL.to_vec());
    let mut hits = Vec::new();
    for module in modules {
        if actor.require(module, Access::Read).is_err() {
            continue;
        }
        let declaration = modules::declaration(module)?;
        hits.extend(declaration.search(db, actor, &text, limit).await?);
    }
    hits.sort_by(|a, b| b.score.cmp(&a.score).then_with(|| a.label.cmp(&b.label)));
    hits.truncate(limit as usize);
    Ok(hits)
}

#[cfg(test)]
mod tests {
    use super::{camel_case, rank};

    #[test]
    fn columns_are_named_as_in_json() {
        assert_eq!(camel_case("account_no"), "accountNo");
        assert_eq!(camel_case("name"), "name");
    }

    #[test]
    fn exact_beats_prefix_beats_substring() {
        assert_eq!(rank("acme", "acme"), 100);
        assert_eq!(rank("acme corp", "corp"), 50);
        assert_eq!(rank("megacorp", "corp"), 10);
        assert_eq!(rank("other", "corp"), 0);
    }
}
