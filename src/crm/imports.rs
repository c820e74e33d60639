//! CSV import of accounts, contacts, leads and opportunities: which columns a file may have (by API name and
//! by the label of Vtiger CRM's own export, so that a Vtiger export imports unedited) and how a
//! row becomes the module's fields.

use sea_orm::{ColumnTrait, DatabaseTransaction, QueryFilter};

use entity::crm::{account, contact, lead, opportunity};

use super::Address;
use super::accounts::{self, AccountFields};
use super::contacts::{self, ContactFields};
use super::leads::{self, LeadFields};
use super::opportunities::{self, OpportunityFields};
use crate::auth::Principal;
use crate::error::{AppError, AppResult};
use crate::imports::{Importable, Row};
use crate::modules::Module;
use crate::process::binding;
use crate::records;

/// An address from up to five columns (street, city, state, postal code, country); `None`
/// when the row has none of them.
fn address(row: &Row, [street, city, state, postal_code, country]: [&str; 5]) -> Option<Address> {
    let address = Address {
        street: row.text(street),
        city: row.text(city),
        state: row.text(state),
        postal_code: row.text(postal_code),
        country: row.text(country),
    };
    let given = [
        &address.street,
        &address.city,
        &address.state,
        &address.postal_code,
        &address.country,
    ]
    .iter()
    .any(|part| part.is_some());
    given.then_some(address)
}

/// The live account a row's `accountName` names (import accounts first).
async fn account_named(
    txn: &DatabaseTransaction,
    actor: &Principal,
    row: &Row,
) -> AppResult<Option<Option<uuid::Uuid>>> {
    let Some(name) = row.text("accountName") else {
        return Ok(None);
    };
    let account = records::live::<account::Entity>(&actor.scope())
        .filter(account::Column::Name.eq(name.as_str()))
        .one(txn)
        .await?
        .ok_or_else(|| {
            AppError::bad_input("accountName", format!("no account is named '{name}'"))
        })?;
    Ok(Some(Some(account.id)))
}

impl Importable for account::Entity {
    type Fields = AccountFields;

    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("name", "Account Name"),
        ("accountNo", "Account No"),
        ("industry", "Industry"),
        ("accountType", "Type"),
        ("website", "Website"),
        ("phone", "Phone"),
        ("email", "Email"),
        ("annualRevenue", "Annual Revenue"),
        ("employees", "Employees"),
        ("description", "Description"),
        ("billingStreet", "Billing Address"),
        ("billingCity", "Billing City"),
        ("billingState", "Billing State"),
        ("billingPostalCode", "Billing Code"),
        ("billingCountry", "Billing Country"),
        ("shippingStreet", "Shipping Address"),
        ("shippingCity", "Shipping City"),
        ("shippingState", "Shipping State"),
        ("shippingPostalCode", "Shipping Code"),
        ("shippingCountry", "Shipping Country"),
    ];

    fn key_column(field: &str) -> Option<account::Column> {
        match field {
            "accountNo" => Some(account::Column::AccountNo),
            "name" => Some(account::Column::Name),
            "email" => Some(account::Column::Email),
            _ => None,
        }
    }

    async fn fields(_: &DatabaseTransaction, _: &Principal, row: &Row) -> AppResult<AccountFields> {
        Ok(AccountFields {
            custom_fields: row.custom_fields(),
            name: row.text("name"),
            industry: row.patch("industry"),
            account_type: row.patch("accountType"),
            website: row.patch("website"),
            phone: row.patch("phone"),
            email: row.patch("email"),
            billing_address: address(
                row,
                [
                    "billingStreet",
                    "billingCity",
                    "billingState",
                    "billingPostalCode",
                    "billingCountry",
                ],
            ),
            shipping_address: address(
                row,
                [
                    "shippingStreet",
                    "shippingCity",
                    "shippingState",
                    "shippingPostalCode",
                    "shippingCountry",
                ],
            ),
            annual_revenue: row.decimal("annualRevenue")?,
            employees: row.integer("employees")?,
            parent_id: None,
            owner_id: None,
            description: row.patch("description"),
        })
    }

    async fn create_in(
        txn: &DatabaseTransaction,
        actor: &Principal,
        fields: AccountFields,
    ) -> AppResult<account::Model> {
        accounts::create_in(txn, actor, fields).await
    }
}

impl Importable for contact::Entity {
    type Fields = ContactFields;

    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("firstName", "First Name"),
        ("lastName", "Last Name"),
        ("contactNo", "Contact Id"),
        ("email", "Email"),
        ("phone", "Office Phone"),
        ("mobile", "Mobile"),
        ("title", "Title"),
        ("department", "Department"),
        ("leadSource", "Lead Source"),
        ("birthday", "Birthdate"),
        ("emailOptOut", "Email Opt Out"),
        ("doNotCall", "Do Not Call"),
        ("description", "Description"),
        ("accountName", "Account Name"),
        ("mailingStreet", "Mailing Street"),
        ("mailingCity", "Mailing City"),
        ("mailingState", "Mailing State"),
        ("mailingPostalCode", "Mailing Zip"),
        ("mailingCountry", "Mailing Country"),
    ];

    fn key_column(field: &str) -> Option<contact::Column> {
        match field {
            "contactNo" => Some(contact::Column::ContactNo),
            "email" => Some(contact::Column::Email),
            "lastName" => Some(contact::Column::LastName),
            _ => None,
        }
    }

    /// `accountName` links the contact to the live account of that name (import accounts first).
    async fn fields(
        txn: &DatabaseTransaction,
        actor: &Principal,
        row: &Row,
    ) -> AppResult<ContactFields> {
        let account_id = account_named(txn, actor, row).await?;
        Ok(ContactFields {
            custom_fields: row.custom_fields(),
            first_name: row.patch("firstName"),
            last_name: row.text("lastName"),
            email: row.patch("email"),
            phone: row.patch("phone"),
            mobile: row.patch("mobile"),
            title: row.patch("title"),
            department: row.patch("department"),
            account_id,
            reports_to_id: None,
            lead_source: row.patch("leadSource"),
            mailing_address: address(
                row,
                [
                    "mailingStreet",
                    "mailingCity",
                    "mailingState",
                    "mailingPostalCode",
                    "mailingCountry",
                ],
            ),
            birthday: row.date("birthday")?,
            email_opt_out: row.flag("emailOptOut")?,
            do_not_call: row.flag("doNotCall")?,
            owner_id: None,
            description: row.patch("description"),
        })
    }

    async fn create_in(
        txn: &DatabaseTransaction,
        actor: &Principal,
        fields: ContactFields,
    ) -> AppResult<contact::Model> {
        contacts::create_in(txn, actor, fields).await
    }
}

impl Importable for lead::Entity {
    type Fields = LeadFields;

    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("firstName", "First Name"),
        ("lastName", "Last Name"),
        ("leadNo", "Lead No"),
        ("company", "Company"),
        ("title", "Designation"),
        ("email", "Email"),
        ("phone", "Phone"),
        ("mobile", "Mobile"),
        ("website", "Website"),
        ("leadSource", "Lead Source"),
        ("leadStatus", "Lead Status"),
        ("rating", "Rating"),
        ("industry", "Industry"),
        ("annualRevenue", "Annual Revenue"),
        ("employees", "No Of Employees"),
        ("description", "Description"),
        ("street", "Street"),
        ("city", "City"),
        ("state", "State"),
        ("postalCode", "Postal Code"),
        ("country", "Country"),
    ];

    fn key_column(field: &str) -> Option<lead::Column> {
        match field {
            "leadNo" => Some(lead::Column::LeadNo),
            "email" => Some(lead::Column::Email),
            _ => None,
        }
    }

    /// While a process drives lead status, an imported lead starts where the process starts:
    /// the file's status (another system's history) is not the process's state.
    async fn fields(
        txn: &DatabaseTransaction,
        actor: &Principal,
        row: &Row,
    ) -> AppResult<LeadFields> {
        let bound = binding::bound_initial_state(txn, &actor.scope(), Module::Leads).await?;
        Ok(LeadFields {
            custom_fields: row.custom_fields(),
            first_name: row.patch("firstName"),
            last_name: row.text("lastName"),
            company: row.text("company"),
            title: row.patch("title"),
            email: row.patch("email"),
            phone: row.patch("phone"),
            mobile: row.patch("mobile"),
            website: row.patch("website"),
            lead_source: row.patch("leadSource"),
            lead_status: if bound.is_some() {
                None
            } else {
                row.patch("leadStatus")
            },
            rating: row.patch("rating"),
            industry: row.patch("industry"),
            annual_revenue: row.decimal("annualRevenue")?,
            employees: row.integer("employees")?,
            address: address(row, ["street", "city", "state", "postalCode", "country"]),
            owner_id: None,
            description: row.patch("description"),
        })
    }

    async fn create_in(
        txn: &DatabaseTransaction,
        actor: &Principal,
        fields: LeadFields,
    ) -> AppResult<lead::Model> {
        leads::create_in(txn, actor, fields).await
    }
}

impl Importable for opportunity::Entity {
    type Fields = OpportunityFields;

    /// Vtiger calls opportunities "potentials".
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("name", "Potential Name"),
        ("opportunityNo", "Potential No"),
        ("accountName", "Organization Name"),
        ("amount", "Amount"),
        ("expectedCloseDate", "Expected Close Date"),
        ("salesStage", "Sales Stage"),
        ("probability", "Probability (%)"),
        ("leadSource", "Lead Source"),
        ("nextStep", "Next Step"),
        ("description", "Description"),
    ];

    fn key_column(field: &str) -> Option<opportunity::Column> {
        match field {
            "opportunityNo" => Some(opportunity::Column::OpportunityNo),
            "name" => Some(opportunity::Column::Name),
            _ => None,
        }
    }

    /// While a process drives the sales stage, an imported deal starts where the process
    /// starts, like a lead.
    async fn fields(
        txn: &DatabaseTransaction,
        actor: &Principal,
        row: &Row,
    ) -> AppResult<OpportunityFields> {
        let bound =
            binding::bound_initial_state(txn, &actor.scope(), Module::Opportunities).await?;
        Ok(OpportunityFields {
            custom_fields: row.custom_fields(),
            name: row.text("name"),
            account_id: account_named(txn, actor, row).await?,
            contact_id: None,
            amount: row.decimal("amount")?,
            currency: None,
            expected_close_date: row.date("expectedCloseDate")?,
            sales_stage: if bound.is_some() {
                None
            } else {
                row.text("salesStage")
            },
            probability: row.integer("probability")?.flatten(),
            lead_source: row.patch("leadSource"),
            next_step: row.patch("nextStep"),
            owner_id: None,
            description: row.patch("description"),
        })
    }

    async fn create_in(
        txn: &DatabaseTransaction,
        actor: &Principal,
        fields: OpportunityFields,
    ) -> AppResult<opportunity::Model> {
        opportunities::create_in(txn, actor, fields).await
    }
}
