//! Search across modules by name, e-mail, phone and number, within the caller's tenant and
//! the modules their roles may read. Exact matches rank first, then prefixes, then the rest.

use sea_orm::sea_query::Condition;
use sea_orm::{DatabaseConnection, QueryFilter, QuerySelect};
use uuid::Uuid;

use entity::calendar::{event, task};
use entity::crm::{account, contact, lead, opportunity};
use entity::news::note;
use entity::service::{faq, ticket};

use crate::auth::Principal;
use crate::error::{AppError, AppResult};
use crate::filters;
use crate::modules::Module;
use crate::permissions::Access;
use crate::records::{self, Record};

pub struct Hit {
    pub module: Module,
    pub id: Uuid,
    pub label: String,
    pub score: i32,
}

/// The searchable columns of `E`, with the JSON names they have in the serialized model.
pub(crate) async fn search_in<E: Record>(
    db: &DatabaseConnection,
    actor: &Principal,
    columns: &[(E::Column, &str)],
    text: &str,
    limit: u64,
) -> AppResult<Vec<Hit>> {
    let mut any = Condition::any();
    for (column, _) in columns {
        any = any.add(filters::contains_ci::<E>(*column, text));
    }
    let rows = records::live::<E>(&actor.scope())
        .filter(any)
        .limit(limit)
        .all(db)
        .await?;
    Ok(rows
        .iter()
        .map(|row| {
            let json = serde_json::to_value(row).unwrap_or_default();
            let score = columns
                .iter()
                .filter_map(|(_, key)| json.get(*key)?.as_str())
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
        let found = match module {
            // Process instances are found through processInstances, not by text.
            Module::Processes => Vec::new(),
            Module::Quotes | Module::SalesOrders | Module::Invoices | Module::PurchaseOrders => {
                match crate::sales::documents::Kind::of(module) {
                    Some(kind) => {
                        crate::sales::documents::search(db, actor, kind, &text, limit).await?
                    }
                    None => Vec::new(),
                }
            }
            Module::Services => {
                use entity::sales::service::{Column as C, Entity};
                let columns = [(C::Name, "name"), (C::Category, "category")];
                search_in::<Entity>(db, actor, &columns, &text, limit).await?
            }
            Module::Vendors => {
                use entity::sales::vendor::{Column as C, Entity};
                let columns = [(C::Name, "name"), (C::Email, "email"), (C::Phone, "phone")];
                search_in::<Entity>(db, actor, &columns, &text, limit).await?
            }
            Module::Products => {
                use entity::sales::product::{Column as C, Entity};
                let columns = [(C::Name, "name"), (C::Code, "code")];
                search_in::<Entity>(db, actor, &columns, &text, limit).await?
            }
            Module::Accounts => {
                use account::Column as C;
                let columns = [
                    (C::Name, "name"),
                    (C::AccountNo, "accountNo"),
                    (C::Email, "email"),
                    (C::Phone, "phone"),
                    (C::Website, "website"),
                ];
                search_in::<account::Entity>(db, actor, &columns, &text, limit).await?
            }
            Module::Contacts => {
                use contact::Column as C;
                let columns = [
                    (C::LastName, "lastName"),
                    (C::FirstName, "firstName"),
                    (C::ContactNo, "contactNo"),
                    (C::Email, "email"),
                    (C::Phone, "phone"),
                    (C::Mobile, "mobile"),
                ];
                search_in::<contact::Entity>(db, actor, &columns, &text, limit).await?
            }
            Module::Leads => {
                use lead::Column as C;
                let columns = [
                    (C::LastName, "lastName"),
                    (C::FirstName, "firstName"),
                    (C::Company, "company"),
                    (C::LeadNo, "leadNo"),
                    (C::Email, "email"),
                    (C::Phone, "phone"),
                ];
                search_in::<lead::Entity>(db, actor, &columns, &text, limit).await?
            }
            Module::Opportunities => {
                use opportunity::Column as C;
                let columns = [(C::Name, "name"), (C::OpportunityNo, "opportunityNo")];
                search_in::<opportunity::Entity>(db, actor, &columns, &text, limit).await?
            }
            Module::Tickets => {
                use ticket::Column as C;
                let columns = [(C::Title, "title"), (C::TicketNo, "ticketNo")];
                search_in::<ticket::Entity>(db, actor, &columns, &text, limit).await?
            }
            Module::Faq => {
                use faq::Column as C;
                let columns = [(C::Question, "question"), (C::FaqNo, "faqNo")];
                search_in::<faq::Entity>(db, actor, &columns, &text, limit).await?
            }
            Module::Notes => {
                use note::Column as C;
                let columns = [(C::Title, "title"), (C::Body, "body")];
                search_in::<note::Entity>(db, actor, &columns, &text, limit).await?
            }
            Module::Calendar => {
                let mut found = search_in::<event::Entity>(
                    db,
                    actor,
                    &[
                        (event::Column::Subject, "subject"),
                        (event::Column::Location, "location"),
                    ],
                    &text,
                    limit,
                )
                .await?;
                let columns = [(task::Column::Subject, "subject")];
                found.extend(search_in::<task::Entity>(db, actor, &columns, &text, limit).await?);
                found
            }
        };
        hits.extend(found);
    }
    hits.sort_by(|a, b| b.score.cmp(&a.score).then_with(|| a.label.cmp(&b.label)));
    hits.truncate(limit as usize);
    Ok(hits)
}

#[cfg(test)]
mod tests {
    use super::rank;

    #[test]
    fn exact_beats_prefix_beats_substring() {
        assert_eq!(rank("acme", "acme"), 100);
        assert_eq!(rank("acme corp", "corp"), 50);
        assert_eq!(rank("megacorp", "corp"), 10);
        assert_eq!(rank("other", "corp"), 0);
    }
}
