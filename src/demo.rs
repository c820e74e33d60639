//! `serve --demo`: a believable small company to explore: accounts and their people, leads in
//! several statuses and an opportunity pipeline. Seeded once, when the demo tenant is created.

use chrono::{Datelike, Duration, Utc};
use rust_decimal::Decimal;
use sea_orm::DatabaseConnection;

use crate::auth::Principal;
use crate::calendar::{self, EventFields, TaskFields};
use crate::crm::Address;
use crate::crm::accounts::{self, AccountFields};
use crate::crm::contacts::{self, ContactFields};
use crate::crm::leads::{self, LeadFields};
use crate::crm::opportunities::{self, OpportunityFields};
use crate::error::{AppError, AppResult};
use crate::news::{self, RelatedRecord};
use crate::permissions;
use crate::platform::{tenants, users};
use crate::process::instances;
use crate::reports::chart::ChartKind;
use crate::reports::dashboards::{self, DashboardInput, KpiSpec, Widget};
use crate::reports::definition::Period;
use crate::reports::saved;
use crate::reports::sharing::Sharing;
use crate::support::faq::{self, FaqFields};
use crate::support::tickets::{self, TicketFields};
use crate::tenancy::TenantScope;

const ACCOUNTS: &[(&str, &str, &str, &str, i64)] = &[
    (
        "PT Nusantara Retail",
        "Retail",
        "Customer",
        "Jakarta",
        12_500_000,
    ),
    (
        "CV Sinar Logistik",
        "Transportation",
        "Customer",
        "Surabaya",
        3_200_000,
    ),
    (
        "Bandung Tech Labs",
        "Technology",
        "Prospect",
        "Bandung",
        850_000,
    ),
    ("Bank Merdeka", "Banking", "Customer", "Jakarta", 95_000_000),
    (
        "Medan Agro Mandiri",
        "Food & Beverage",
        "Prospect",
        "Medan",
        4_700_000,
    ),
    (
        "Bali Hospitality Group",
        "Hospitality",
        "Partner",
        "Denpasar",
        7_900_000,
    ),
    (
        "Makassar Energi",
        "Energy",
        "Competitor",
        "Makassar",
        22_000_000,
    ),
    (
        "Yogya Edu Foundation",
        "Education",
        "Customer",
        "Yogyakarta",
        600_000,
    ),
    (
        "Semarang Textile Works",
        "Apparel",
        "Customer",
        "Semarang",
        5_400_000,
    ),
    (
        "Borneo Timber Traders",
        "Other",
        "Prospect",
        "Balikpapan",
        2_100_000,
    ),
    (
        "Jakarta Media Kreatif",
        "Media",
        "Customer",
        "Jakarta",
        1_800_000,
    ),
    (
        "Sumatra Palm Processing",
        "Manufacturing",
        "Customer",
        "Pekanbaru",
        31_000_000,
    ),
    (
        "Malang Coffee Collective",
        "Food & Beverage",
        "Customer",
        "Malang",
        450_000,
    ),
    (
        "Garuda Freight Lines",
        "Shipping",
        "Partner",
        "Tanjung Priok",
        18_600_000,
    ),
    (
        "Lombok Eco Resorts",
        "Hospitality",
        "Prospect",
        "Mataram",
        1_200_000,
    ),
    (
        "Depok Health Clinics",
        "Healthcare",
        "Customer",
        "Depok",
        2_900_000,
    ),
    (
        "Bekasi Machinery",
        "Machinery",
        "Customer",
        "Bekasi",
        6_300_000,
    ),
    (
        "Solo Batik House",
        "Apparel",
        "Reseller",
        "Surakarta",
        380_000,
    ),
    (
        "Riau Telecom Services",
        "Telecommunications",
        "Customer",
        "Batam",
        9_800_000,
    ),
    (
        "Nusa Insurance",
        "Insurance",
        "Prospect",
        "Jakarta",
        44_000_000,
    ),
    (
        "Pontianak Builders",
        "Construction",
        "Customer",
        "Pontianak",
        3_700_000,
    ),
    (
        "Cirebon Chemicals",
        "Chemicals",
        "Prospect",
        "Cirebon",
        5_100_000,
    ),
    (
        "Manado Fisheries",
        "Food & Beverage",
        "Customer",
        "Manado",
        1_400_000,
    ),
    (
        "Kupang Water Utility",
        "Utilities",
        "Customer",
        "Kupang",
        2_600_000,
    ),
];

const PEOPLE: &[(&str, &str, &str)] = &[
    ("Ayu", "Lestari", "Purchasing Manager"),
    ("Budi", "Santoso", "CEO"),
    ("Citra", "Wijaya", "CFO"),
    ("Dimas", "Pratama", "IT Director"),
    ("Eka", "Saputra", "Operations Lead"),
    ("Fitri", "Handayani", "Office Manager"),
    ("Gilang", "Ramadhan", "Head of Sales"),
    ("Hana", "Kusuma", "Procurement Officer"),
];

/// Leads, and the transitions of the lead-qualification process that bring each to its status.
const LEADS: &[(&str, &str, &str, &[&str])] = &[
    ("Indra", "Gunawan", "Solo Printing", &[]),
    ("Joko", "Susilo", "Semarang Textiles", &["attempt"]),
    ("Kartika", "Dewi", "Malang Coffee Roasters", &["contact"]),
    ("Lukas", "Halim", "Batam Shipyards", &["attempt", "contact"]),
    (
        "Maya",
        "Anggraini",
        "Palembang Foods",
        &["contact", "qualify"],
    ),
    ("Nanda", "Putri", "Pontianak Timber", &["lose"]),
    ("Oki", "Firmansyah", "Lombok Resorts", &[]),
    ("Putra", "Wibowo", "Bogor Clinics", &["junk"]),
];

/// How far along the opportunity pipeline each account's deal has come.
const STAGES: &[&[&str]] = &[
    &[],
    &["qualify"],
    &["qualify", "analyse-needs"],
    &["qualify", "analyse-needs", "propose-value"],
    &[
        "qualify",
        "analyse-needs",
        "propose-value",
        "identify-decision-makers",
        "analyse-perception",
        "quote",
    ],
    &[
        "qualify",
        "analyse-needs",
        "propose-value",
        "identify-decision-makers",
        "analyse-perception",
        "quote",
        "negotiate",
    ],
    &["win"],
    &["lose"],
];

/// Moves the process bound to a record along `path`, as the admin would.
async fn advance(
    db: &DatabaseConnection,
    admin: &Principal,
    record_id: uuid::Uuid,
    path: &[&str],
) -> AppResult<()> {
    if path.is_empty() {
        return Ok(());
    }
    let filter = instances::InstanceFilter {
        record_id: Some(crate::filters::IdFilter {
            equals: Some(record_id.into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let page =
        instances::list(db, admin, &filter, &Default::default(), &Default::default()).await?;
    let Some((_, instance)) = page.items.into_iter().next() else {
        return Ok(());
    };
    let mut version = instance.version;
    for transition in path {
        let moved = instances::fire(
            db,
            admin,
            instance.id,
            transition,
            Default::default(),
            version,
        )
        .await?;
        version = moved.version;
    }
    Ok(())
}

/// Creates the demo tenant if it does not exist yet, with its sample data.
pub async fn ensure(db: &DatabaseConnection) -> AppResult<tenants::Demo> {
    let demo = tenants::ensure_demo(db).await?;
    if demo.admin_password.is_some() {
        seed(db, &demo).await?;
    }
    Ok(demo)
}

async fn seed(db: &DatabaseConnection, demo: &tenants::Demo) -> AppResult<()> {
    let roles = users::roles_of(&demo.admin);
    let admin = Principal {
        user_id: demo.admin.id,
        tenant_id: demo.tenant.id,
        grants: permissions::grants_for(db, &TenantScope::new(demo.tenant.id), &roles).await?,
        roles,
    };
    let today = Utc::now().date_naive();
    for (n, (name, industry, kind, city, revenue)) in ACCOUNTS.iter().enumerate() {
        let slug: String = name
            .to_lowercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join("");
        let account = accounts::create(
            db,
            &admin,
            AccountFields {
                name: Some((*name).into()),
                industry: Some(Some((*industry).into())),
                account_type: Some(Some((*kind).into())),
                website: Some(Some(format!("{slug}.example.id"))),
                phone: Some(Some(format!("+62 21 555 01{n:02}"))),
                billing_address: Some(Address {
                    city: Some((*city).into()),
                    country: Some("Indonesia".into()),
                    ..Default::default()
                }),
                annual_revenue: Some(Some(Decimal::from(*revenue))),
                employees: Some(Some(20 + 35 * n as i32)),
                ..Default::default()
            },
        )
        .await?;
        for offset in 0..2 {
            let (first, last, title) = PEOPLE[(n + offset * 3) % PEOPLE.len()];
            contacts::create(
                db,
                &admin,
                ContactFields {
                    first_name: Some(Some(first.into())),
                    last_name: Some(last.into()),
                    title: Some(Some(title.into())),
                    email: Some(Some(format!(
                        "{}.{}@{slug}.example.id",
                        first.to_lowercase(),
                        last.to_lowercase()
                    ))),
                    account_id: Some(Some(account.id)),
                    lead_source: Some(Some("Existing Customer".into())),
                    ..Default::default()
                },
            )
            .await?;
        }
        let path = STAGES[n % STAGES.len()];
        let deal = opportunities::create(
            db,
            &admin,
            OpportunityFields {
                name: Some(format!(
                    "{name} – {}",
                    if n % 2 == 0 {
                        "annual contract"
                    } else {
                        "pilot"
                    }
                )),
                account_id: Some(Some(account.id)),
                amount: Some(Some(Decimal::from(revenue / 40))),
                currency: Some("IDR".into()),
                expected_close_date: Some(Some(today + Duration::days(7 * (n as i64 + 1)))),
                ..Default::default()
            },
        )
        .await?;
        advance(db, &admin, deal.id, path).await?;
    }
    seed_service_and_calendar(db, &admin).await?;
    seed_sales(db, &admin).await?;
    seed_payroll(db, &admin, today).await?;
    for (first, last, company, path) in LEADS {
        let lead = leads::create(
            db,
            &admin,
            LeadFields {
                first_name: Some(Some((*first).into())),
                last_name: Some((*last).into()),
                company: Some((*company).into()),
                lead_source: Some(Some("Web Site".into())),
                email: Some(Some(format!(
                    "{}@{}.example.id",
                    first.to_lowercase(),
                    company.split(' ').next().unwrap_or("lead").to_lowercase()
                ))),
                ..Default::default()
            },
        )
        .await?;
        advance(db, &admin, lead.id, path).await?;
    }
    seed_dashboards(db, &admin).await
}

/// A sales and a service dashboard, drawn from the built-in reports.
async fn seed_dashboards(db: &DatabaseConnection, admin: &Principal) -> AppResult<()> {
    let reports = saved::list(db, admin).await?;
    let report = |key: &str| {
        reports
            .iter()
            .find(|r| r.built_in.as_deref() == Some(key))
            .map(|r| async_graphql::ID(r.id.to_string()))
            .ok_or_else(|| AppError::internal(format!("built-in report {key} is missing")))
    };
    let widget = |title: &str, report_id, chart, measure: Option<&str>, kpi| Widget {
        title: title.into(),
        report_id,
        chart,
        measure: measure.map(Into::into),
        kpi,
    };
    let this_month = |field: &str| KpiSpec {
        date_field: field.into(),
        period: Period::ThisMonth,
        days: None,
    };
    let boards = [
        (
            "Sales",
            vec![
                widget(
                    "Pipeline by stage",
                    report("pipeline-by-stage")?,
                    Some(ChartKind::Bar),
                    Some("sum:amount"),
                    None,
                ),
                widget(
                    "Won revenue by month",
                    report("won-revenue-by-month")?,
                    Some(ChartKind::Line),
                    Some("sum:amount"),
                    None,
                ),
                widget(
                    "Won this month",
                    report("won-revenue-by-month")?,
                    None,
                    Some("sum:amount"),
                    Some(this_month("expectedCloseDate")),
                ),
                widget(
                    "Sales by account",
                    report("sales-by-account")?,
                    Some(ChartKind::Pie),
                    Some("sum:grandTotal"),
                    None,
                ),
            ],
        ),
        (
            "Service",
            vec![
                widget(
                    "Tickets by status",
                    report("tickets-by-status-and-priority")?,
                    Some(ChartKind::Bar),
                    Some("count"),
                    None,
                ),
                widget(
                    "Tickets opened this month",
                    report("tickets-by-status-and-priority")?,
                    None,
                    Some("count"),
                    Some(this_month("createdAt")),
                ),
                widget(
                    "SLA breaches",
                    report("process-sla-breaches")?,
                    Some(ChartKind::Bar),
                    Some("count"),
                    None,
                ),
            ],
        ),
    ];
    for (name, widgets) in boards {
        dashboards::create(
            db,
            admin,
            DashboardInput {
                name: name.into(),
                widgets,
                sharing: Sharing::Tenant,
                shared_roles: Vec::new(),
            },
        )
        .await?;
    }
    Ok(())
}

/// A small company's payroll: eight employees on a structure with allowances, a bonus, and
/// last month's pay run calculated (ready for a manager to approve).
async fn seed_payroll(
    db: &DatabaseConnection,
    admin: &Principal,
    today: chrono::NaiveDate,
) -> AppResult<()> {
    use crate::payroll::calc::PayFrequency;
    use crate::payroll::calc::{Kind, Rounding};
    use crate::payroll::employees::{self, EmployeeFields};
    use crate::payroll::runs::{self, NewPayRun};
    use crate::payroll::setup::{self, AdditionalPayFields, ComponentFields};
    use chrono::{Datelike, NaiveDate};

    for (code, name, kind, amount, formula, bpjs_base, prorated) in [
        (
            "TRANSPORT",
            "Transport allowance",
            Kind::Earning,
            Some(500_000),
            None,
            true,
            true,
        ),
        (
            "MEAL",
            "Meal allowance",
            Kind::Earning,
            Some(750_000),
            None,
            false,
            true,
        ),
        (
            "POSITION",
            "Position allowance",
            Kind::Earning,
            None,
            Some("min(base * 0.1, 2000000)"),
            true,
            false,
        ),
        ("BONUS", "Bonus", Kind::Earning, Some(0), None, false, false),
    ] {
        let fields = ComponentFields {
            code: code.into(),
            name: name.into(),
            kind,
            amount: amount.map(Decimal::from),
            formula: formula.map(Into::into),
            condition: None,
            taxable: true,
            bpjs_base,
            prorated,
            rounding: Rounding::Nearest,
        };
        setup::define_component(db, admin, fields).await?;
    }
    let since = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or(today);
    let structure = ["TRANSPORT", "MEAL", "POSITION"].map(String::from).to_vec();
    setup::define_structure(db, admin, "STAFF", "Staff", since, structure).await?;
    let staff = [
        ("Ayu Lestari", "K/1", 12_000_000, "Sales"),
        ("Bambang Sutrisno", "K/3", 25_000_000, "Management"),
        ("Citra Dewi", "TK/0", 7_500_000, "Sales"),
        ("Dedi Kurniawan", "K/2", 9_000_000, "Operations"),
        ("Eka Putri", "TK/1", 6_500_000, "Support"),
        ("Fajar Nugroho", "K/0", 8_000_000, "Operations"),
        ("Gita Permata", "TK/0", 5_500_000, "Support"),
        ("Hendra Wijaya", "K/1", 15_000_000, "Finance"),
    ];
    // Last month, whole.
    let this_month = today.with_day(1).unwrap_or(today);
    let period_end = this_month.pred_opt().unwrap_or(today);
    let period_start = period_end.with_day(1).unwrap_or(period_end);
    for (n, (name, status, base, centre)) in staff.into_iter().enumerate() {
        let employee = employees::create(
            db,
            admin,
            EmployeeFields {
                name: Some(name.into()),
                email: Some(Some(format!(
                    "{}@demo.example.id",
                    name.split(' ').next().unwrap_or("staff").to_lowercase()
                ))),
                hire_date: Some(since),
                tax_status: Some(status.into()),
                bank_holder: Some(Some(name.into())),
                bank_name: Some(Some("Bank Central Asia".into())),
                bank_account: Some(Some(format!("52{n:08}"))),
                cost_centre: Some(Some(centre.into())),
                ..Default::default()
            },
        )
        .await?;
        setup::assign_structure(db, admin, employee.id, "STAFF", Decimal::from(base), since)
            .await?;
        if n == 1 {
            let bonus = AdditionalPayFields {
                employee_id: employee.id,
                component_code: "BONUS".into(),
                amount: Decimal::from(5_000_000),
                starts_on: period_end,
                ends_on: None,
                description: Some("Quarterly target bonus".into()),
            };
            setup::add_additional_pay(db, admin, bonus).await?;
        }
    }
    let run = runs::create(
        db,
        admin,
        NewPayRun {
            frequency: PayFrequency::Monthly,
            period_start,
            period_end,
            pay_date: period_end,
            cost_centre: None,
            employment_type: None,
            correction_of: None,
        },
    )
    .await?;
    runs::calculate(db, admin, run.id, run.version, Vec::new()).await?;
    Ok(())
}

/// The catalogue: VAT, a vendor, products in stock (one near its reorder level) and a service.
async fn seed_sales(db: &DatabaseConnection, admin: &Principal) -> AppResult<()> {
    use crate::sales::catalogue::{self, ServiceFields, VendorFields};
    use crate::sales::products::{self, ProductFields};
    let vat = catalogue::save_tax_class(
        db,
        admin,
        None,
        Some("PPN 11%".into()),
        Some(Decimal::new(11, 0)),
        None,
    )
    .await?;
    let vendor = catalogue::create_vendor(
        db,
        admin,
        VendorFields {
            name: Some("PT Sumber Elektronik".into()),
            email: Some(Some("sales@sumber-elektronik.example.id".into())),
            category: Some(Some("Hardware".into())),
            ..Default::default()
        },
    )
    .await?;
    let catalogue_items = [
        ("LAP-14", "Laptop 14\"", "Computers", 12_500_000, 25, 5),
        ("MON-27", "Monitor 27\"", "Displays", 3_750_000, 40, 8),
        (
            "DOC-USB",
            "USB-C docking station",
            "Accessories",
            1_450_000,
            6,
            10,
        ),
    ];
    for (code, name, category, price, stock, reorder) in catalogue_items {
        let product = products::create(
            db,
            admin,
            ProductFields {
                code: Some(code.into()),
                name: Some(name.into()),
                category: Some(Some(category.into())),
                unit_price: Some(Decimal::from(price)),
                reorder_level: Some(Decimal::from(reorder)),
                tax_class_id: Some(Some(vat.id)),
                vendor_id: Some(Some(vendor.id)),
                ..Default::default()
            },
        )
        .await?;
        products::adjust_stock(db, admin, product.id, Decimal::from(stock), "opening stock")
            .await?;
    }
    catalogue::create_service(
        db,
        admin,
        ServiceFields {
            name: Some("On-site installation".into()),
            category: Some(Some("Installation".into())),
            unit_price: Some(Decimal::from(750_000)),
            tax_class_id: Some(Some(vat.id)),
            usage_unit: Some(Some("Hours".into())),
            ..Default::default()
        },
    )
    .await?;
    Ok(())
}

/// Tickets in every status, a published FAQ entry, an announcement, and this week's
/// meetings, calls and tasks.
async fn seed_service_and_calendar(db: &DatabaseConnection, admin: &Principal) -> AppResult<()> {
    let accounts = crate::records::list::<entity::crm::account::Entity>(
        db,
        admin,
        &accounts::AccountFilter::default(),
        None,
        &Default::default(),
        &Default::default(),
    )
    .await?;
    let account_ids: Vec<_> = accounts.items.iter().map(|(_, a)| a.id).collect();
    let tickets: [(&str, &str, &[&str]); 4] = [
        ("Invoice printer jams", "High", &[]),
        ("Cannot log in to the portal", "Urgent", &["start"]),
        (
            "Wrong delivery address on order",
            "Normal",
            &["start", "wait"],
        ),
        ("Request: extra user licences", "Low", &["close"]),
    ];
    for (n, (title, priority, path)) in tickets.iter().enumerate() {
        let ticket = tickets::create(
            db,
            admin,
            TicketFields {
                title: Some((*title).into()),
                priority: Some(Some((*priority).into())),
                account_id: Some(account_ids.get(n).copied()),
                ..Default::default()
            },
        )
        .await?;
        advance(db, admin, ticket.id, path).await?;
    }
    faq::create(
        db,
        admin,
        FaqFields {
            question: Some("How do I reset my password?".into()),
            answer: Some("Ask an administrator, or use changePassword when signed in.".into()),
            category: Some(Some("General".into())),
            status: Some("Published".into()),
            ..Default::default()
        },
    )
    .await?;
    news::create(
        db,
        admin,
        "Welcome to bpaas",
        "This demo company has sample data to explore.",
        None,
    )
    .await?;

    let today = Utc::now().date_naive();
    let monday = today - Duration::days(today.weekday().num_days_from_monday() as i64);
    let at = |day: i64, hour: u32| {
        (monday + Duration::days(day))
            .and_hms_opt(hour, 0, 0)
            .map(|t| t.and_utc())
            .unwrap_or_else(Utc::now)
    };
    let related = account_ids.first().map(|id| RelatedRecord {
        module: crate::modules::Module::Accounts,
        id: *id,
    });
    let events = [
        (
            "Weekly sales meeting",
            "Meeting",
            0,
            9,
            Some("FREQ=WEEKLY;COUNT=12"),
        ),
        ("Call with Bank Merdeka", "Call", 1, 14, None),
        (
            "Product demo at PT Nusantara Retail",
            "Meeting",
            3,
            10,
            None,
        ),
    ];
    for (subject, kind, day, hour, recurrence) in events {
        calendar::create_event(
            db,
            admin,
            EventFields {
                subject: Some(subject.into()),
                event_type: Some(kind.into()),
                start_at: Some(at(day, hour)),
                end_at: Some(at(day, hour + 1)),
                recurrence: Some(recurrence.map(str::to_owned)),
                related: Some(related),
                ..Default::default()
            },
        )
        .await?;
    }
    for (subject, day) in [("Send revised quote", 2), ("Prepare monthly report", 4)] {
        calendar::create_task(
            db,
            admin,
            TaskFields {
                subject: Some(subject.into()),
                due_date: Some(Some(monday + Duration::days(day))),
                priority: Some(Some("High".into())),
                ..Default::default()
            },
        )
        .await?;
    }
    Ok(())
}
