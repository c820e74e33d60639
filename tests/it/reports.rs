//! Reports: aggregates and buckets checked against values computed here from what the test
//! created; validation; sharing and permissions; tenancy; the CSV file read back with a CSV
//! library.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::common::{Tenant, TestServer, error_code, error_field};

const PREVIEW: &str = "query($d: ReportDefinitionInput!, $p: ReportParameters) {
    previewReport(definition: $d, parameters: $p) {
        columns { name label type } rows subtotals columnTotals totals { name value } totalRows } }";
const RUN: &str = "query($id: ID!, $p: ReportParameters) {
    runReport(id: $id, parameters: $p) {
        columns { name label type } rows subtotals columnTotals totals { name value } totalRows } }";
pub(crate) const CREATE: &str = "mutation($input: ReportInputObject!) {
    createReport(input: $input) { report { id version name sharing } problems { path message } } }";

/// A deal the test creates, and remembers to compute the expected figures.
struct Deal {
    stage: &'static str,
    amount: Decimal,
    probability: i64,
    close: &'static str,
    account: usize,
}

fn deals() -> Vec<Deal> {
    let deal = |stage, amount: &str, probability, close, account| Deal {
        stage,
        amount: amount.parse().unwrap(),
        probability,
        close,
        account,
    };
    vec![
        deal("Prospecting", "1000.10", 10, "2026-01-15", 0),
        deal("Prospecting", "250.05", 10, "2026-02-03", 1),
        deal("Qualification", "9999.99", 20, "2026-01-31", 0),
        deal("Qualification", "0.01", 25, "2026-03-01", 2),
        deal("Closed Won", "12345.6789", 100, "2026-01-02", 1),
        deal("Closed Won", "500", 100, "2026-02-28", 1),
        deal("Closed Won", "77.7", 100, "2026-02-01", 2),
        deal("Closed Lost", "3000", 0, "2026-03-31", 0),
    ]
}

pub(crate) async fn gql_ok(
    server: &TestServer,
    token: &str,
    query: &str,
    variables: Value,
) -> Value {
    let response = server.gql(Some(token), query, variables).await;
    assert!(response["errors"].is_null(), "{response}");
    response["data"].clone()
}

/// Creates three accounts and the deals; returns the account ids.
pub(crate) async fn seed(server: &TestServer, tenant: &Tenant) -> Vec<String> {
    server.unbind(tenant, "opportunity-pipeline").await;
    let mut accounts = Vec::new();
    for (name, industry) in [("Maju", "Retail"), ("Sinar", "Banking"), ("Jaya", "Retail")] {
        let data = gql_ok(
            server,
            &tenant.token,
            "mutation($n: String!, $i: String) { createAccount(input: { name: $n, industry: $i }) { id } }",
            json!({ "n": name, "i": industry }),
        )
        .await;
        accounts.push(data["createAccount"]["id"].as_str().unwrap().to_owned());
    }
    for (i, deal) in deals().iter().enumerate() {
        gql_ok(
            server,
            &tenant.token,
            "mutation($input: CreateOpportunityInput!) { createOpportunity(input: $input) { id } }",
            json!({ "input": {
                "name": format!("Deal {i}"), "amount": deal.amount.to_string(),
                "salesStage": deal.stage, "probability": deal.probability,
                "expectedCloseDate": deal.close, "accountId": accounts[deal.account]
            }}),
        )
        .await;
    }
    accounts
}

fn decimal(value: &Value) -> Decimal {
    value
        .as_str()
        .unwrap_or_else(|| panic!("a decimal string: {value}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn summary_groups_and_aggregates_as_computed_independently() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    seed(&server, &acme).await;

    let definition = json!({
        "kind": "SUMMARY", "source": "opportunities",
        "groupBy": [{ "field": "salesStage" }, { "field": "expectedCloseDate", "bucket": "MONTH" }],
        "aggregates": [
            { "function": "COUNT" },
            { "function": "SUM", "field": "amount" },
            { "function": "AVG", "field": "amount" },
            { "function": "MIN", "field": "expectedCloseDate" },
            { "function": "MAX", "field": "amount" },
            { "function": "COUNT_DISTINCT", "field": "accountId" },
            { "function": "SUM", "field": "weightedAmount" }
        ]
    });
    let data = gql_ok(&server, &acme.token, PREVIEW, json!({ "d": definition })).await;
    let result = &data["previewReport"];
    let names: Vec<&str> = result["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "salesStage",
            "expectedCloseDate:month",
            "count",
            "sum:amount",
            "avg:amount",
            "min:expectedCloseDate",
            "max:amount",
            "countDistinct:accountId",
            "sum:weightedAmount"
        ]
    );
    assert_eq!(result["columns"][3]["type"], "DECIMAL");
    assert_eq!(result["columns"][1]["type"], "TEXT");

    // The same figures, computed here.
    let mut groups: BTreeMap<(String, String), Vec<Deal>> = BTreeMap::new();
    for deal in deals() {
        groups
            .entry((deal.stage.to_owned(), deal.close[..7].to_owned()))
            .or_default()
            .push(deal);
    }
    let rows = result["rows"].as_array().unwrap();
    assert_eq!(rows.len(), groups.len());
    assert_eq!(result["totalRows"], groups.len());
    for (row, ((stage, month), members)) in rows.iter().zip(&groups) {
        assert_eq!(row[0], json!(stage), "{row}");
        assert_eq!(row[1], json!(month), "{row}");
        assert_eq!(row[2], json!(members.len()));
        let sum: Decimal = members.iter().map(|d| d.amount).sum();
        assert_eq!(decimal(&row[3]), sum, "{row}");
        let avg = (sum / Decimal::from(members.len())).round_dp(4);
        assert_eq!(decimal(&row[4]), avg, "{row}");
        let first = members.iter().map(|d| d.close).min().unwrap();
        assert_eq!(row[5], json!(first));
        let max = members.iter().map(|d| d.amount).max().unwrap();
        assert_eq!(decimal(&row[6]), max);
        let mut accounts: Vec<usize> = members.iter().map(|d| d.account).collect();
        accounts.sort_unstable();
        accounts.dedup();
        assert_eq!(row[7], json!(accounts.len()));
        let weighted: Decimal = members
            .iter()
            .map(|d| {
                (d.amount * Decimal::from(d.probability) / Decimal::from(100))
                    .round_dp_with_strategy(4, rust_decimal::RoundingStrategy::ToZero)
            })
            .sum();
        assert_eq!(decimal(&row[8]), weighted, "{row}");
    }

    // A subtotal per stage, and the grand totals.
    let subtotals = result["subtotals"].as_array().unwrap();
    let stages: BTreeMap<&str, Decimal> = deals().iter().fold(BTreeMap::new(), |mut m, d| {
        *m.entry(d.stage).or_default() += d.amount;
        m
    });
    assert_eq!(subtotals.len(), stages.len());
    for (row, (stage, sum)) in subtotals.iter().zip(&stages) {
        assert_eq!(row[0], json!(stage));
        assert!(row[1].is_null());
        assert_eq!(decimal(&row[3]), *sum);
    }
    let total: Decimal = deals().iter().map(|d| d.amount).sum();
    // Without the distinct count, subtotals and totals are combined from the groups instead
    // of counted again: the same figures.
    let mut combinable = definition.clone();
    combinable["aggregates"].as_array_mut().unwrap().remove(5);
    let again = gql_ok(&server, &acme.token, PREVIEW, json!({ "d": combinable })).await;
    let without = |rows: &Value| -> Vec<Value> {
        rows.as_array()
            .unwrap()
            .iter()
            .map(|row| {
                let mut row = row.as_array().unwrap().clone();
                row.remove(7);
                Value::from(row)
            })
            .collect()
    };
    assert_eq!(
        without(&result["subtotals"]),
        again["previewReport"]["subtotals"]
            .as_array()
            .unwrap()
            .clone()
    );
    let mut totals_again = result["totals"].as_array().unwrap().clone();
    totals_again.remove(5);
    assert_eq!(again["previewReport"]["totals"], Value::from(totals_again));
    let totals = &result["totals"];
    assert_eq!(totals[0], json!({ "name": "count", "value": 8 }));
    assert_eq!(decimal(&totals[1]["value"]), total);
    assert_eq!(
        totals[5],
        json!({ "name": "countDistinct:accountId", "value": 3 })
    );
}

#[tokio::test]
async fn matrix_tabular_filters_order_and_paging() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let accounts = seed(&server, &acme).await;

    // Stage x quarter, one aggregate: a cell per pair, totals per row and per column.
    let matrix = json!({
        "kind": "MATRIX", "source": "opportunities",
        "groupBy": [{ "field": "account.industry" }, { "field": "expectedCloseDate", "bucket": "QUARTER" }],
        "aggregates": [{ "function": "SUM", "field": "amount" }]
    });
    let data = gql_ok(&server, &acme.token, PREVIEW, json!({ "d": matrix })).await;
    let result = &data["previewReport"];
    let names: Vec<&str> = result["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["account.industry", "2026-Q1", "total:sum:amount"]);
    let industry = |account: usize| if account == 1 { "Banking" } else { "Retail" };
    let sum_for = |name: &str| -> Decimal {
        deals()
            .iter()
            .filter(|d| industry(d.account) == name)
            .map(|d| d.amount)
            .sum()
    };
    let rows = result["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][0], "Banking");
    assert_eq!(decimal(&rows[0][1]), sum_for("Banking"));
    assert_eq!(decimal(&rows[1][2]), sum_for("Retail"));
    assert_eq!(result["columnTotals"][0], "Total");
    let all: Decimal = deals().iter().map(|d| d.amount).sum();
    assert_eq!(decimal(&result["columnTotals"][1]), all);

    // Tabular: filtered by amount, account and stage; ordered by amount, a page at a time.
    let tabular = json!({
        "kind": "TABULAR", "source": "opportunities",
        "columns": ["name", "amount", "account.name", "expectedCloseDate", "accountId"],
        "filters": [
            { "field": "amount", "min": "100" },
            { "field": "salesStage", "notEquals": "Closed Lost" },
            { "field": "accountId", "in": [accounts[0], accounts[1]] }
        ],
        "aggregates": [{ "function": "SUM", "field": "amount" }],
        "order": [{ "by": "amount", "direction": "DESC" }]
    });
    let mut expected: Vec<&Deal> = Vec::new();
    let all_deals = deals();
    for deal in &all_deals {
        if deal.amount >= Decimal::from(100) && deal.stage != "Closed Lost" && deal.account < 2 {
            expected.push(deal);
        }
    }
    expected.sort_by_key(|d| std::cmp::Reverse(d.amount));
    let data = gql_ok(
        &server,
        &acme.token,
        PREVIEW,
        json!({ "d": tabular, "p": { "first": 2, "offset": 1 } }),
    )
    .await;
    let result = &data["previewReport"];
    assert_eq!(result["totalRows"], expected.len());
    let rows = result["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(decimal(&rows[0][1]), expected[1].amount);
    assert_eq!(decimal(&rows[1][1]), expected[2].amount);
    assert_eq!(result["columns"][2]["label"], "Accounts › Name");
    // Ids read back as the API writes them.
    assert_eq!(result["columns"][4]["type"], "ID");
    assert!(
        accounts.contains(&rows[0][4].as_str().unwrap().to_owned()),
        "{}",
        rows[0]
    );
    let sum: Decimal = expected.iter().map(|d| d.amount).sum();
    assert_eq!(decimal(&result["totals"][0]["value"]), sum);

    // A run may add conditions; a bad one is reported where it was given.
    let narrowed = gql_ok(
        &server,
        &acme.token,
        PREVIEW,
        json!({ "d": tabular, "p": { "filters": [{ "field": "name", "contains": "DEAL 4" }] } }),
    )
    .await;
    assert_eq!(narrowed["previewReport"]["totalRows"], 1);
    let bad = server
        .gql(
            Some(&acme.token),
            PREVIEW,
            json!({ "d": tabular, "p": { "filters": [{ "field": "amount", "contains": "1" }] } }),
        )
        .await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT");
    assert_eq!(error_field(&bad), "parameters.filters[0].contains");
}

#[tokio::test]
async fn relative_periods_and_buckets_follow_the_tenant_time_zone() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    server.unbind(&acme, "opportunity-pipeline").await;
    // A zone whose date is not UTC's right now: UTC+14 from 10:00 UTC, UTC-11 before 11:00.
    let zone_name = if chrono::Timelike::hour(&chrono::Utc::now()) >= 10 {
        "Pacific/Kiritimati"
    } else {
        "Pacific/Pago_Pago"
    };
    let zone: chrono_tz::Tz = zone_name.parse().unwrap();
    assert_ne!(
        chrono::Utc::now().with_timezone(&zone).date_naive(),
        chrono::Utc::now().date_naive()
    );
    gql_ok(
        &server,
        &acme.token,
        "mutation($z: String!) { updateSalesSettings(input: { timeZone: $z }) { timeZone } }",
        json!({ "z": zone_name }),
    )
    .await;
    let unknown = server
        .gql(
            Some(&acme.token),
            "mutation { updateSalesSettings(input: { timeZone: \"Mars/Olympus\" }) { timeZone } }",
            json!({}),
        )
        .await;
    assert_eq!(error_field(&unknown), "timeZone");
    let today = chrono::Utc::now().with_timezone(&zone).date_naive();
    let last_year = today - chrono::Months::new(12);
    for (name, close) in [("Now", today), ("Then", last_year)] {
        gql_ok(
            &server,
            &acme.token,
            "mutation($input: CreateOpportunityInput!) { createOpportunity(input: $input) { id } }",
            json!({ "input": { "name": name, "amount": "10", "expectedCloseDate": close.to_string() } }),
        )
        .await;
    }
    let definition = |period: &str| {
        json!({
            "kind": "SUMMARY", "source": "opportunities",
            "filters": [{ "field": "expectedCloseDate", "period": period }],
            "groupBy": [{ "field": "createdAt", "bucket": "DAY" }]
        })
    };
    let data = gql_ok(
        &server,
        &acme.token,
        PREVIEW,
        json!({ "d": definition("THIS_MONTH") }),
    )
    .await;
    let rows = data["previewReport"]["rows"].as_array().unwrap().clone();
    // Created just now: grouped under today as the tenant's zone reckons it.
    assert_eq!(rows, vec![json!([today.to_string(), 1])]);
    // A year ago to the day is in last year's calendar year.
    let data = gql_ok(
        &server,
        &acme.token,
        PREVIEW,
        json!({ "d": definition("LAST_YEAR") }),
    )
    .await;
    assert_eq!(data["previewReport"]["totals"][0]["value"], 1);
    let data = gql_ok(
        &server,
        &acme.token,
        PREVIEW,
        json!({ "d": definition("LAST_WEEK") }),
    )
    .await;
    assert_eq!(data["previewReport"]["totalRows"], 0);
    let data = gql_ok(
        &server,
        &acme.token,
        PREVIEW,
        json!({ "d": {
            "kind": "SUMMARY", "source": "opportunities",
            "filters": [{ "field": "expectedCloseDate", "period": "LAST_N_DAYS", "days": 400 }],
            "groupBy": [{ "field": "expectedCloseDate", "bucket": "YEAR" }]
        }}),
    )
    .await;
    let mut years = vec![
        last_year.format("%Y").to_string(),
        today.format("%Y").to_string(),
    ];
    years.dedup();
    let labels: Vec<&str> = data["previewReport"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_str().unwrap())
        .collect();
    assert_eq!(labels, years);
}

#[tokio::test]
async fn bad_definitions_are_refused_with_every_problem_and_its_path() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let input = json!({ "name": "Broken", "definition": {
        "kind": "SUMMARY", "source": "opportunities",
        "filters": [{ "field": "nope", "equals": 1 }, { "field": "closeDate" }],
        "groupBy": [{ "field": "salesStage" }, { "field": "leadSource", "bucket": "MONTH" }, { "field": "name" }],
        "aggregates": [{ "function": "SUM", "field": "name" }, { "function": "AVG" }],
        "order": [{ "by": "sum:nothing" }]
    }});
    let data = gql_ok(&server, &acme.token, CREATE, json!({ "input": input })).await;
    let payload = &data["createReport"];
    assert!(payload["report"].is_null());
    let paths: Vec<&str> = payload["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    for expected in [
        "groupBy",
        "filters[0].field",
        "filters[1].field",
        "groupBy[1].bucket",
        "aggregates[0].function",
        "aggregates[1].field",
        "order[0].by",
    ] {
        assert!(
            paths.contains(&expected),
            "{expected} missing from {paths:?}"
        );
    }
    let unknown_source = json!({ "name": "X", "definition": { "kind": "TABULAR", "source": "spaceships", "columns": ["name"] } });
    let data = gql_ok(
        &server,
        &acme.token,
        CREATE,
        json!({ "input": unknown_source }),
    )
    .await;
    assert_eq!(data["createReport"]["problems"][0]["path"], "source");
    let reports = gql_ok(&server, &acme.token, "{ reports { builtIn } }", json!({})).await;
    assert!(
        reports["reports"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| !r["builtIn"].is_null()),
        "nothing was saved: {reports}"
    );
}

#[tokio::test]
async fn built_in_reports_run_for_a_new_tenant() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    seed(&server, &acme).await;
    let data = gql_ok(
        &server,
        &acme.token,
        "{ reports { id builtIn name sharing } }",
        json!({}),
    )
    .await;
    let reports = data["reports"].as_array().unwrap();
    let keys: Vec<&str> = reports
        .iter()
        .filter_map(|r| r["builtIn"].as_str())
        .collect();
    for key in [
        "pipeline-by-stage",
        "won-revenue-by-month",
        "leads-by-source-and-status",
        "tickets-by-status-and-priority",
        "overdue-invoices-aging",
        "sales-by-product",
        "sales-by-account",
        "stock-value-by-product",
        "purchase-spend-by-vendor",
        "process-sla-breaches",
        "payroll-cost-by-month",
    ] {
        assert!(keys.contains(&key), "{key} missing from {keys:?}");
    }
    // Every one runs (the admin reads every module).
    for report in reports {
        gql_ok(&server, &acme.token, RUN, json!({ "id": report["id"] })).await;
    }
    let won = reports
        .iter()
        .find(|r| r["builtIn"] == "won-revenue-by-month")
        .unwrap();
    let data = gql_ok(&server, &acme.token, RUN, json!({ "id": won["id"] })).await;
    let rows = data["runReport"]["rows"].as_array().unwrap().clone();
    let mut months: BTreeMap<String, Decimal> = BTreeMap::new();
    for deal in deals().iter().filter(|d| d.stage == "Closed Won") {
        *months.entry(deal.close[..7].to_owned()).or_default() += deal.amount;
    }
    assert_eq!(rows.len(), months.len());
    for (row, (month, sum)) in rows.iter().zip(&months) {
        assert_eq!(row[0], json!(month));
        assert_eq!(decimal(&row[2]), *sum);
    }
}

#[tokio::test]
async fn reports_show_nothing_the_viewer_may_not_read_and_follow_their_sharing() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    seed(&server, &acme).await;
    let (_, sales) = server
        .user(&acme, "sales@acme.example.com", &["SALES"])
        .await;
    let (_, support) = server
        .user(&acme, "support@acme.example.com", &["SUPPORT"])
        .await;

    // Payroll is confidential: a sales user's report on it is FORBIDDEN, not empty.
    let payslips = json!({ "kind": "SUMMARY", "source": "payslips", "groupBy": [{ "field": "periodEnd", "bucket": "MONTH" }] });
    let denied = server
        .gql(Some(&sales), PREVIEW, json!({ "d": payslips }))
        .await;
    assert_eq!(error_code(&denied), "FORBIDDEN");
    // So is a report on tickets once the tenant takes tickets away from sales, and a field of
    // a record the role may not read (a contact's account).
    gql_ok(
        &server,
        &acme.token,
        "mutation { a: setPermission(role: SALES, module: TICKETS, read: false, write: false) { read }
                    b: setPermission(role: SALES, module: ACCOUNTS, read: false, write: false) { read } }",
        json!({}),
    )
    .await;
    let tickets =
        json!({ "kind": "SUMMARY", "source": "tickets", "groupBy": [{ "field": "status" }] });
    let denied = server
        .gql(Some(&sales), PREVIEW, json!({ "d": tickets }))
        .await;
    assert_eq!(error_code(&denied), "FORBIDDEN");
    let by_industry = json!({ "kind": "SUMMARY", "source": "opportunities", "groupBy": [{ "field": "account.industry" }] });
    let denied = server
        .gql(Some(&sales), PREVIEW, json!({ "d": by_industry }))
        .await;
    assert_eq!(error_code(&denied), "FORBIDDEN");
    // The tenant-wide built-in report is visible to sales, but running it on tickets is not.
    let listed = gql_ok(&server, &sales, "{ reports { id builtIn } }", json!({})).await;
    let built_in = listed["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["builtIn"] == "tickets-by-status-and-priority")
        .unwrap()
        .clone();
    let denied = server
        .gql(Some(&sales), RUN, json!({ "id": built_in["id"] }))
        .await;
    assert_eq!(error_code(&denied), "FORBIDDEN");
    // `reportSources` leaves out what the caller may not read.
    let sources = gql_ok(&server, &sales, "{ reportSources { name } }", json!({})).await;
    let names: Vec<&str> = sources["reportSources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"opportunities"));
    assert!(
        !names.contains(&"tickets") && !names.contains(&"payslips"),
        "{names:?}"
    );

    // A private report is its owner's; shared with roles, those roles see it too.
    let by_stage = json!({ "kind": "SUMMARY", "source": "opportunities", "groupBy": [{ "field": "salesStage" }] });
    let created = gql_ok(
        &server,
        &sales,
        CREATE,
        json!({ "input": { "name": "My pipeline", "definition": by_stage } }),
    )
    .await;
    let report = created["createReport"]["report"].clone();
    assert_eq!(report["sharing"], "PRIVATE");
    let hidden = server
        .gql(Some(&support), RUN, json!({ "id": report["id"] }))
        .await;
    assert_eq!(error_code(&hidden), "NOT_FOUND");
    let update = "mutation($id: ID!, $v: Int!, $input: ReportInputObject!) {
        updateReport(id: $id, version: $v, input: $input) { report { version sharing } problems { path } } }";
    let shared = gql_ok(
        &server,
        &sales,
        update,
        json!({ "id": report["id"], "v": 1, "input": {
            "name": "Our pipeline", "definition": by_stage, "sharing": "ROLES", "sharedRoles": ["SUPPORT"] } }),
    )
    .await;
    assert_eq!(shared["updateReport"]["report"]["version"], 2);
    let seen = gql_ok(&server, &support, RUN, json!({ "id": report["id"] })).await;
    assert_eq!(seen["runReport"]["totalRows"], 4);
    // Only its owner (or an admin) changes it; a stale version is a conflict.
    let refused = server
        .gql(
            Some(&support),
            "mutation($id: ID!) { deleteReport(id: $id) }",
            json!({ "id": report["id"] }),
        )
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    let stale = server
        .gql(
            Some(&sales),
            update,
            json!({ "id": report["id"], "v": 1, "input": { "name": "Late", "definition": by_stage } }),
        )
        .await;
    assert_eq!(error_code(&stale), "CONFLICT");
}

#[tokio::test]
async fn tenant_b_cannot_see_run_change_or_download_tenant_a_reports() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let globex = server.tenant("globex").await;
    seed(&server, &acme).await;
    let by_stage = json!({ "kind": "SUMMARY", "source": "opportunities", "groupBy": [{ "field": "salesStage" }],
                           "aggregates": [{ "function": "COUNT" }, { "function": "SUM", "field": "amount" }] });
    let created = gql_ok(
        &server,
        &acme.token,
        CREATE,
        json!({ "input": { "name": "Acme pipeline", "definition": by_stage, "sharing": "TENANT" } }),
    )
    .await;
    let id = created["createReport"]["report"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let listed = gql_ok(&server, &globex.token, "{ reports { id name } }", json!({})).await;
    assert!(!listed.to_string().contains(&id));
    for (query, variables) in [
        (
            "query($id: ID!) { report(id: $id) { name } }",
            json!({ "id": id }),
        ),
        (RUN, json!({ "id": id })),
        (
            "mutation($id: ID!) { deleteReport(id: $id) }",
            json!({ "id": id }),
        ),
        (
            "mutation($id: ID!, $input: ReportInputObject!) { updateReport(id: $id, version: 1, input: $input) { problems { path } } }",
            json!({ "id": id, "input": { "name": "Mine now", "definition": by_stage } }),
        ),
    ] {
        let response = server.gql(Some(&globex.token), query, variables).await;
        assert_eq!(error_code(&response), "NOT_FOUND", "{response}");
    }
    let csv = server
        .http()
        .get(server.url(&format!("/reports/{id}.csv")))
        .bearer_auth(&globex.token)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status().as_u16(), 404);
    // Globex's own report on the same source sees only globex's (no) records.
    let own = gql_ok(&server, &globex.token, PREVIEW, json!({ "d": by_stage })).await;
    assert_eq!(own["previewReport"]["totalRows"], 0);
    assert_eq!(own["previewReport"]["totals"][0]["value"], 0);
    // And acme's report is unchanged.
    let still = gql_ok(&server, &acme.token, RUN, json!({ "id": id })).await;
    assert_eq!(still["runReport"]["totalRows"], 4);
}

/// A file the caller may download, checked for its type and name; answers its bytes.
async fn download(
    server: &TestServer,
    token: &str,
    path: &str,
    content_type: &str,
    filename: &str,
) -> Vec<u8> {
    let response = server
        .http()
        .get(server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "{path}");
    assert_eq!(response.headers()["content-type"], content_type);
    assert_eq!(
        response.headers()["content-disposition"],
        format!("attachment; filename=\"{filename}\"").as_str()
    );
    response.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn report_csv_reads_back_with_a_csv_library() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    seed(&server, &acme).await;
    let definition = json!({ "kind": "SUMMARY", "source": "opportunities",
        "filters": [{ "field": "salesStage", "in": ["Closed Won", "Closed Lost"] }],
        "groupBy": [{ "field": "salesStage" }],
        "aggregates": [{ "function": "COUNT" }, { "function": "SUM", "field": "amount" }] });
    let created = gql_ok(
        &server,
        &acme.token,
        CREATE,
        json!({ "input": { "name": "Closed deals, 2026", "definition": definition } }),
    )
    .await;
    let id = created["createReport"]["report"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = download(
        &server,
        &acme.token,
        &format!("/reports/{id}.csv"),
        "text/csv; charset=utf-8",
        "closed-deals-2026.csv",
    )
    .await;
    let text = String::from_utf8(body).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["Sales stage", "Count", "Sum of Amount"]
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    let sum = |stage: &str| -> Decimal {
        deals()
            .iter()
            .filter(|d| d.stage == stage)
            .map(|d| d.amount)
            .sum()
    };
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[0],
        ["Closed Lost", "1", &sum("Closed Lost").to_string()]
    );
    assert_eq!(rows[1], ["Closed Won", "3", &sum("Closed Won").to_string()]);
    let total = sum("Closed Lost") + sum("Closed Won");
    assert_eq!(rows[2], ["Total", "4", &total.to_string()]);
}

/// Fetches a chart; answers the status and the body.
async fn chart(server: &TestServer, token: &str, id: &str, query: &str) -> (u16, String) {
    let response = server
        .http()
        .get(server.url(&format!("/reports/{id}/chart.svg?{query}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    if status == 200 {
        assert_eq!(
            response.headers()["content-type"],
            "image/svg+xml; charset=utf-8"
        );
    }
    (status, response.text().await.unwrap())
}

/// The texts of an SVG document, and the number of shapes filled with `fill`.
fn svg_texts_and_fills(svg: &str, fill: &str) -> (Vec<String>, usize) {
    let document = roxmltree::Document::parse(svg).expect("the chart is well-formed XML");
    assert_eq!(document.root_element().tag_name().name(), "svg");
    let texts = document
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or_default().trim().to_owned())
        .collect();
    let filled = document
        .descendants()
        .filter(|n| n.has_tag_name("rect") || n.has_tag_name("polygon"))
        .filter(|n| {
            n.attribute("fill")
                .is_some_and(|f| f.eq_ignore_ascii_case(fill))
        })
        .count();
    (texts, filled)
}

#[tokio::test]
async fn charts_draw_the_report_as_svg() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let globex = server.tenant("globex").await;
    seed(&server, &acme).await;
    let definition = json!({ "kind": "SUMMARY", "source": "opportunities",
        "groupBy": [{ "field": "salesStage" }],
        "aggregates": [{ "function": "COUNT" }, { "function": "SUM", "field": "amount" }],
        "order": [{ "by": "sum:amount", "direction": "DESC" }] });
    let created = gql_ok(
        &server,
        &acme.token,
        CREATE,
        json!({ "input": { "name": "Pipeline", "definition": definition } }),
    )
    .await;
    let id = created["createReport"]["report"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let stages = ["Closed Won", "Qualification", "Closed Lost", "Prospecting"];

    // Bars: one per stage in the first colour, the stages and the measure with its currency.
    let (status, svg) = chart(&server, &acme.token, &id, "type=bar&measure=sum:amount").await;
    assert_eq!(status, 200, "{svg}");
    let (texts, bars) = svg_texts_and_fills(&svg, "#4E79A7");
    assert_eq!(bars, stages.len(), "{svg}");
    for stage in stages {
        assert!(texts.iter().any(|t| t == stage), "{stage} not in {texts:?}");
    }
    assert!(texts.iter().any(|t| t == "Pipeline"));
    assert!(
        texts.iter().any(|t| t == "Sum of Amount (USD)"),
        "{texts:?}"
    );

    // A pie: a slice per stage with a positive amount, labelled with value and share.
    let (status, svg) = chart(&server, &acme.token, &id, "type=pie&measure=sum:amount").await;
    assert_eq!(status, 200);
    let (texts, _) = svg_texts_and_fills(&svg, "#4E79A7");
    let won: Decimal = deals()
        .iter()
        .filter(|d| d.stage == "Closed Won")
        .map(|d| d.amount)
        .sum();
    let all: Decimal = deals().iter().map(|d| d.amount).sum();
    let share = (won * Decimal::from(100) / all).round_dp(1);
    let expected = format!("Closed Won USD 12,923.38 ({share}%)");
    assert!(texts.contains(&expected), "{expected} not in {texts:?}");

    // A funnel of counts (not money: no currency), and a line.
    let (status, svg) = chart(&server, &acme.token, &id, "type=funnel").await;
    assert_eq!(status, 200);
    let (texts, _) = svg_texts_and_fills(&svg, "#4E79A7");
    assert!(texts.iter().any(|t| t == "Closed Won: 3"), "{texts:?}");
    let (status, svg) = chart(&server, &acme.token, &id, "type=line&measure=count").await;
    assert_eq!(status, 200);
    let document = roxmltree::Document::parse(&svg).unwrap();
    let line = document
        .descendants()
        .find(|n| {
            n.has_tag_name("polyline")
                && n.attribute("stroke")
                    .is_some_and(|s| s.eq_ignore_ascii_case("#4E79A7"))
        })
        .expect("a line");
    assert_eq!(
        line.attribute("points").unwrap().split_whitespace().count(),
        4
    );

    let (status, body) = chart(&server, &acme.token, &id, "type=radar").await;
    assert_eq!(
        (status, body.contains("BAD_USER_INPUT")),
        (400, true),
        "{body}"
    );
    let (status, body) = chart(&server, &acme.token, &id, "measure=salesStage").await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = chart(&server, &globex.token, &id, "type=bar").await;
    assert_eq!(status, 404);
}

const DASHBOARD: &str =
    "query($id: ID!) { dashboard(id: $id) { name version widgets { title reportId kpi { period } }
    widgetData { title chartType chart { categories series { label values } axis currency }
                 kpi { label value previous change changePercent currency } error { code } } } }";

/// Saves a report; answers its id.
pub(crate) async fn save_report(
    server: &TestServer,
    token: &str,
    name: &str,
    definition: Value,
) -> String {
    let data = gql_ok(
        server,
        token,
        CREATE,
        json!({ "input": { "name": name, "definition": definition, "sharing": "TENANT" } }),
    )
    .await;
    data["createReport"]["report"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("report not saved: {data}"))
        .to_owned()
}

/// A dashboard of the pipeline by stage (bars), won amount this month (a KPI) and payroll
/// cost (a chart of a confidential module).
async fn sales_dashboard(server: &TestServer, tenant: &Tenant) -> String {
    let by_stage = save_report(
        server,
        &tenant.token,
        "Pipeline",
        json!({ "kind": "SUMMARY", "source": "opportunities", "groupBy": [{ "field": "salesStage" }],
                "aggregates": [{ "function": "SUM", "field": "amount" }], "order": [{ "by": "salesStage" }] }),
    )
    .await;
    let won = save_report(
        server,
        &tenant.token,
        "Won",
        json!({ "kind": "SUMMARY", "source": "opportunities",
                "filters": [{ "field": "salesStage", "equals": "Closed Won" }],
                "groupBy": [{ "field": "salesStage" }],
                "aggregates": [{ "function": "SUM", "field": "amount" }] }),
    )
    .await;
    let payroll = save_report(
        server,
        &tenant.token,
        "Payroll",
        json!({ "kind": "SUMMARY", "source": "payslips", "groupBy": [{ "field": "periodEnd", "bucket": "MONTH" }] }),
    )
    .await;
    let data = gql_ok(
        server,
        &tenant.token,
        "mutation($input: DashboardInputObject!) { createDashboard(input: $input) { id } }",
        json!({ "input": { "name": "Sales", "sharing": "TENANT", "widgets": [
            { "title": "Pipeline", "reportId": by_stage, "chart": "BAR" },
            { "title": "Won this month", "reportId": won, "measure": "sum:amount",
              "kpi": { "dateField": "expectedCloseDate", "period": "THIS_MONTH" } },
            { "title": "Payroll", "reportId": payroll, "chart": "LINE" }
        ] } }),
    )
    .await;
    data["createDashboard"]["id"].as_str().unwrap().to_owned()
}

async fn create_deal(
    server: &TestServer,
    token: &str,
    stage: &str,
    amount: &str,
    close: chrono::NaiveDate,
) {
    gql_ok(
        server,
        token,
        "mutation($input: CreateOpportunityInput!) { createOpportunity(input: $input) { id } }",
        json!({ "input": { "name": "Deal", "amount": amount, "salesStage": stage,
                           "expectedCloseDate": close.to_string() } }),
    )
    .await;
}

#[tokio::test]
async fn a_dashboard_answers_every_widget_with_the_viewers_rights() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let globex = server.tenant("globex").await;
    server.unbind(&acme, "opportunity-pipeline").await;
    let today = chrono::Utc::now().date_naive();
    let last_month = today - chrono::Months::new(1);
    for (stage, amount, close) in [
        ("Closed Won", "1200.50", today),
        ("Closed Won", "300", today),
        ("Closed Won", "1000", last_month),
        ("Prospecting", "99.99", today),
    ] {
        create_deal(&server, &acme.token, stage, amount, close).await;
    }
    let id = sales_dashboard(&server, &acme).await;

    let data = gql_ok(&server, &acme.token, DASHBOARD, json!({ "id": id })).await;
    let widgets = &data["dashboard"]["widgetData"];
    assert_eq!(widgets[0]["chartType"], "BAR");
    assert_eq!(
        widgets[0]["chart"]["categories"],
        json!(["Closed Won", "Prospecting"])
    );
    assert_eq!(
        widgets[0]["chart"]["series"][0]["values"],
        json!(["2500.5", "99.99"])
    );
    assert_eq!(widgets[0]["chart"]["currency"], "USD");
    let kpi = &widgets[1]["kpi"];
    assert_eq!(kpi["value"], "1500.5", "{widgets}");
    assert_eq!(kpi["previous"], "1000");
    assert_eq!(kpi["change"], "500.5");
    assert_eq!(kpi["changePercent"], "50.0");
    assert!(widgets[1]["chart"].is_null());
    assert!(widgets[2]["error"].is_null());

    // A sales user sees the shared dashboard; the payroll widget says FORBIDDEN, the others
    // show their data.
    let (_, sales) = server
        .user(&acme, "sales@acme.example.com", &["SALES"])
        .await;
    let data = gql_ok(&server, &sales, DASHBOARD, json!({ "id": id })).await;
    let widgets = &data["dashboard"]["widgetData"];
    assert_eq!(widgets[2]["error"]["code"], "FORBIDDEN");
    assert!(widgets[2]["chart"].is_null());
    assert_eq!(widgets[1]["kpi"]["value"], "1500.5");

    // Another tenant sees nothing of it, and cannot subscribe to it.
    let hidden = server
        .gql(Some(&globex.token), DASHBOARD, json!({ "id": id }))
        .await;
    assert_eq!(error_code(&hidden), "NOT_FOUND");
    let listed = gql_ok(&server, &globex.token, "{ dashboards { id } }", json!({})).await;
    assert_eq!(listed["dashboards"], json!([]));
    let mut client =
        crate::common::ws::WsClient::connect_authenticated(&server, &globex.token).await;
    client
        .subscribe(
            "d",
            &format!("subscription {{ dashboardChanged(id: \"{id}\") {{ at }} }}"),
        )
        .await;
    let refused = client.next_json().await;
    assert_eq!(refused["payload"]["data"], json!(null), "{refused}");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"],
        "NOT_FOUND"
    );

    // A widget must name a report its author sees, a KPI a date of it.
    let bad = server
        .gql(
            Some(&globex.token),
            "mutation($input: DashboardInputObject!) { createDashboard(input: $input) { id } }",
            json!({ "input": { "name": "Theirs", "widgets": [{ "title": "X", "reportId": data["dashboard"]["widgets"][0]["title"] }] } }),
        )
        .await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT");
    let report_id = data["dashboard"]["widgets"][0]["reportId"].clone();
    let no_days = server
        .gql(
            Some(&acme.token),
            "mutation($input: DashboardInputObject!) { createDashboard(input: $input) { id } }",
            json!({ "input": { "name": "Days", "widgets": [{ "title": "Last days", "reportId": report_id,
                    "kpi": { "dateField": "expectedCloseDate", "period": "LAST_N_DAYS" } }] } }),
        )
        .await;
    assert_eq!(error_field(&no_days), "widgets[0].kpi.days");
}

#[tokio::test]
async fn dashboard_changed_pushes_fresh_data_at_most_once_a_second() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    server.unbind(&acme, "opportunity-pipeline").await;
    let today = chrono::Utc::now().date_naive();
    let id = sales_dashboard(&server, &acme).await;
    let mut client = crate::common::ws::WsClient::connect_authenticated(&server, &acme.token).await;
    client
        .subscribe(
            "d",
            &format!(
                "subscription {{ dashboardChanged(id: \"{id}\") {{ dashboardId widgets {{ kpi {{ value }} chart {{ categories }} }} }} }}"
            ),
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    // A change to a module no widget reads pushes nothing.
    gql_ok(
        &server,
        &acme.token,
        "mutation { createAccount(input: { name: \"Quiet\" }) { id } }",
        json!({}),
    )
    .await;
    assert_eq!(
        client.receive(std::time::Duration::from_millis(1500)).await,
        None
    );

    // Five quick changes: fewer pushes than changes, the last one showing all five.
    let started = std::time::Instant::now();
    for _ in 0..5 {
        create_deal(&server, &acme.token, "Closed Won", "10", today).await;
    }
    let mut pushes = Vec::new();
    while let Some(crate::common::ws::Received::Json(message)) =
        client.receive(std::time::Duration::from_millis(2500)).await
    {
        assert_eq!(message["type"], "next", "{message}");
        pushes.push((
            started.elapsed(),
            message["payload"]["data"]["dashboardChanged"].clone(),
        ));
    }
    assert!(
        !pushes.is_empty() && pushes.len() < 5,
        "{} pushes",
        pushes.len()
    );
    for pair in pushes.windows(2) {
        assert!(
            pair[1].0 - pair[0].0 >= std::time::Duration::from_millis(900),
            "pushed too often"
        );
    }
    let last = &pushes.last().unwrap().1;
    assert_eq!(last["dashboardId"], json!(id));
    assert_eq!(last["widgets"][1]["kpi"]["value"], "50");
    assert_eq!(
        last["widgets"][0]["chart"]["categories"],
        json!(["Closed Won"])
    );
}

/// Sets when a ticket was opened and resolved: the API stamps them with the present.
async fn ticket_times(server: &TestServer, id: &str, opened: &str, resolved: &str) {
    use entity::support::ticket;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let at = |t: &str| t.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    ticket::Entity::update_many()
        .col_expr(ticket::Column::CreatedAt, Expr::value(at(opened)))
        .col_expr(ticket::Column::ResolvedAt, Expr::value(Some(at(resolved))))
        .filter(ticket::Column::Id.eq(uuid::Uuid::parse_str(id).unwrap()))
        .exec(&server.app.db)
        .await
        .unwrap();
}

/// Sets when each step of an instance happened, oldest first; adds an SLA mark (a step that
/// stays in its state) at `mark`, if given.
async fn step_times(
    server: &TestServer,
    instance: &str,
    times: &[chrono::DateTime<chrono::Utc>],
    mark: Option<(&str, chrono::DateTime<chrono::Utc>)>,
) {
    use entity::process::step;
    use sea_orm::sea_query::Expr;
    use sea_orm::{
        ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
    };
    let instance = uuid::Uuid::parse_str(instance).unwrap();
    let steps = step::Entity::find()
        .filter(step::Column::InstanceId.eq(instance))
        .order_by_asc(step::Column::At)
        .order_by_asc(step::Column::Id)
        .all(&server.app.db)
        .await
        .unwrap();
    assert_eq!(steps.len(), times.len());
    for (found, at) in steps.iter().zip(times) {
        step::Entity::update_many()
            .col_expr(step::Column::At, Expr::value(*at))
            .filter(step::Column::Id.eq(found.id))
            .exec(&server.app.db)
            .await
            .unwrap();
    }
    if let Some((state, at)) = mark {
        step::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            tenant_id: Set(steps[0].tenant_id),
            instance_id: Set(instance),
            transition: Set("sla breach".into()),
            from_state: Set(Some(state.into())),
            to_state: Set(state.into()),
            actor_id: Set(uuid::Uuid::nil()),
            input: Set(json!({})),
            variables: Set(json!({})),
            at: Set(at),
        }
        .insert(&server.app.db)
        .await
        .unwrap();
    }
}

/// The rows of a built-in report, by their first two cells.
async fn built_in_rows(
    server: &TestServer,
    token: &str,
    key: &str,
) -> BTreeMap<(String, String), Vec<Value>> {
    let reports = gql_ok(server, token, "{ reports { id builtIn } }", json!({})).await;
    let id = reports["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["builtIn"] == key)
        .unwrap()["id"]
        .clone();
    let data = gql_ok(server, token, RUN, json!({ "id": id })).await;
    data["runReport"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (
                (text(&row[0]), text(&row[1])),
                row.as_array().unwrap().clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn time_to_resolve_and_time_in_state_are_reckoned_from_when_things_happened() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    server.unbind(&acme, "ticket-lifecycle").await;
    // Resolved after 26.5 and 0.5 hours; and one still open.
    let create = "mutation($t: String!, $p: String!, $s: String!) {
        createTicket(input: { title: $t, priority: $p, status: $s }) { id } }";
    for (title, priority, status, times) in [
        (
            "Slow",
            "High",
            "Closed",
            Some(("2026-11-01T08:00:00Z", "2026-11-02T10:30:00Z")),
        ),
        (
            "Quick",
            "High",
            "Closed",
            Some(("2026-11-03T09:00:00Z", "2026-11-03T09:30:00Z")),
        ),
        ("Waiting", "Low", "Open", None),
    ] {
        let created = gql_ok(
            &server,
            &acme.token,
            create,
            json!({ "t": title, "p": priority, "s": status }),
        )
        .await;
        if let Some((opened, resolved)) = times {
            let id = created["createTicket"]["id"].as_str().unwrap();
            ticket_times(&server, id, opened, resolved).await;
        }
    }
    let tickets = built_in_rows(&server, &acme.token, "tickets-by-status-and-priority").await;
    let closed = &tickets[&("Closed".to_owned(), "High".to_owned())];
    assert_eq!(closed[2], 2);
    assert_eq!(
        decimal(&closed[3]),
        Decimal::new(135, 1),
        "(26.5 + 0.5) / 2"
    );
    let open = &tickets[&("Open".to_owned(), "Low".to_owned())];
    assert_eq!(open[3], Value::Null, "not resolved: no time to resolve");

    // A -> B -> C: three instances with stays of A 2/4/6 h and B 3/1/2 h; a fourth in A
    // for ten hours now.
    let flow = json!({
        "states": [{ "name": "A", "initial": true }, { "name": "B" }, { "name": "C", "final": true }],
        "transitions": [{ "name": "toB", "from": ["A"], "to": "B" }, { "name": "toC", "from": ["B"], "to": "C" }]
    });
    gql_ok(
        &server,
        &acme.token,
        "mutation($body: JSON!) { publishProcessDefinition(key: \"flow\", name: \"Flow\", body: $body) { definition { version } } }",
        json!({ "body": flow }),
    )
    .await;
    let hours = |h: i64| {
        "2026-11-10T00:00:00Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
            + chrono::Duration::hours(h)
    };
    for (a, b, mark) in [(2, 3, Some(1)), (4, 1, None), (6, 2, None), (-1, 0, None)] {
        let started = gql_ok(
            &server,
            &acme.token,
            "mutation { startProcess(key: \"flow\") { id } }",
            json!({}),
        )
        .await;
        let id = started["startProcess"]["id"].as_str().unwrap().to_owned();
        if a < 0 {
            let entered = chrono::Utc::now() - chrono::Duration::hours(10);
            step_times(&server, &id, &[entered], None).await;
            continue;
        }
        for (version, transition) in [(1, "toB"), (2, "toC")] {
            gql_ok(
                &server,
                &acme.token,
                "mutation($id: ID!, $t: String!, $v: Int!) { fireTransition(instanceId: $id, transition: $t, expectedVersion: $v) { state } }",
                json!({ "id": id, "t": transition, "v": version }),
            )
            .await;
        }
        let mark = mark.map(|h| ("A", hours(h)));
        step_times(&server, &id, &[hours(0), hours(a), hours(a + b)], mark).await;
    }
    let stays = built_in_rows(&server, &acme.token, "process-time-in-state").await;
    let row = |state: &str| stays[&("flow".to_owned(), state.to_owned())].clone();
    // [key, state, count, median, average, longest]
    let b = row("B");
    assert_eq!(b[2], 3);
    assert_eq!(decimal(&b[3]), Decimal::from(2), "median of 1, 2, 3");
    assert_eq!(decimal(&b[4]), Decimal::from(2));
    assert_eq!(decimal(&b[5]), Decimal::from(3));
    let a = row("A");
    assert_eq!(a[2], 4, "the SLA mark does not split a stay: {a:?}");
    assert_eq!(
        decimal(&a[3]),
        Decimal::from(4),
        "lower median of 2, 4, 6, 10"
    );
    let longest = decimal(&a[5]);
    assert!(
        // SQLite's clock reads whole seconds.
        longest >= Decimal::new(999, 2) && longest < Decimal::new(101, 1),
        "the stay still going counts until now: {longest}"
    );
    let c = row("C");
    assert_eq!(c[2], 0, "a final state is not a stay");
    assert_eq!(c[3], Value::Null);
}

#[tokio::test]
async fn median_is_the_middle_value_of_each_group_and_of_all() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    seed(&server, &acme).await;
    let definition = json!({ "kind": "SUMMARY", "source": "opportunities",
        "groupBy": [{ "field": "salesStage" }],
        "aggregates": [{ "function": "MEDIAN", "field": "amount" }] });
    let data = gql_ok(&server, &acme.token, PREVIEW, json!({ "d": definition })).await;
    let result = &data["previewReport"];
    let lower_median = |mut values: Vec<Decimal>| {
        values.sort();
        values[(values.len() - 1) / 2]
    };
    for row in result["rows"].as_array().unwrap() {
        let stage = row[0].as_str().unwrap();
        let amounts = deals()
            .iter()
            .filter(|d| d.stage == stage)
            .map(|d| d.amount)
            .collect();
        assert_eq!(decimal(&row[1]), lower_median(amounts), "{stage}");
    }
    assert_eq!(result["rows"].as_array().unwrap().len(), 4);
    let all = lower_median(deals().iter().map(|d| d.amount).collect());
    assert_eq!(decimal(&result["totals"][0]["value"]), all);
    let text = json!({ "kind": "SUMMARY", "source": "opportunities",
        "groupBy": [{ "field": "salesStage" }],
        "aggregates": [{ "function": "MEDIAN", "field": "name" }] });
    let refused = server
        .gql(Some(&acme.token), PREVIEW, json!({ "d": text }))
        .await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");
    assert_eq!(error_field(&refused), "definition.aggregates[0].function");
}

#[tokio::test]
async fn report_xlsx_reads_back_with_a_spreadsheet_reader() {
    use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    seed(&server, &acme).await;
    let definition = json!({ "kind": "TABULAR", "source": "opportunities",
        "columns": ["name", "amount", "probability", "expectedCloseDate"],
        "aggregates": [{ "function": "SUM", "field": "amount" }],
        "order": [{ "by": "name" }] });
    let id = save_report(&server, &acme.token, "Deals: all/open", definition).await;
    let bytes = download(
        &server,
        &acme.token,
        &format!("/reports/{id}.xlsx"),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "deals-all-open.xlsx",
    )
    .await;
    let mut workbook: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(workbook.sheet_names(), ["Deals  all open"]);
    let sheet = workbook.worksheet_range("Deals  all open").unwrap();
    let rows: Vec<&[Data]> = sheet.rows().collect();
    let header: Vec<String> = rows[0].iter().map(|c| c.to_string()).collect();
    assert_eq!(
        header,
        ["Name", "Amount", "Probability", "Expected close date"]
    );
    let expected = deals();
    assert_eq!(rows.len(), 1 + expected.len());
    let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap();
    for (i, deal) in expected.iter().enumerate() {
        let row = rows[1 + i];
        assert_eq!(row[0], Data::String(format!("Deal {i}")));
        // Amounts and probabilities are numbers a spreadsheet sums; dates are dates.
        let amount: f64 = deal.amount.to_string().parse().unwrap();
        assert_eq!(row[1], Data::Float(amount), "{}", deal.amount);
        assert_eq!(row[2], Data::Float(deal.probability as f64));
        let Data::DateTime(close) = &row[3] else {
            panic!("a date: {:?}", row[3]);
        };
        let close_date: chrono::NaiveDate = deal.close.parse().unwrap();
        assert_eq!(close.as_f64(), (close_date - epoch).num_days() as f64);
    }
    // Another tenant gets no workbook of it.
    let globex = server.tenant("globex").await;
    let other = server
        .http()
        .get(server.url(&format!("/reports/{id}.xlsx")))
        .bearer_auth(&globex.token)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status().as_u16(), 404);
}

#[tokio::test]
async fn every_saved_version_of_a_report_is_kept_and_snapshots_name_theirs() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    seed(&server, &acme).await;
    let (sales_id, sales_token) = server.user(&acme, "sales@acme.test", &["SALES"]).await;
    let count = json!({ "kind": "SUMMARY", "source": "opportunities",
        "groupBy": [{ "field": "salesStage" }], "aggregates": [{ "function": "COUNT" }] });
    let id = save_report(&server, &sales_token, "Deals", count.clone()).await;
    let update = "mutation($id: ID!, $v: Int!, $input: ReportInputObject!) {
        updateReport(id: $id, version: $v, input: $input) { report { version } problems { path } } }";
    let mut sum = count.clone();
    sum["aggregates"] = json!([{ "function": "SUM", "field": "amount" }]);
    let updated = gql_ok(
        &server,
        &acme.token,
        update,
        json!({ "id": id, "v": 1, "input": { "name": "Deal value", "definition": sum, "sharing": "TENANT" } }),
    )
    .await;
    assert_eq!(updated["updateReport"]["report"]["version"], 2);
    let taken = gql_ok(
        &server,
        &acme.token,
        "mutation($id: ID!) { snapshotReport(id: $id) { reportVersion } }",
        json!({ "id": id }),
    )
    .await;
    assert_eq!(taken["snapshotReport"]["reportVersion"], 2);
    // A definition with problems saves no version.
    let mut broken = count.clone();
    broken["groupBy"] = json!([{ "field": "nope" }]);
    let refused = gql_ok(
        &server,
        &acme.token,
        update,
        json!({ "id": id, "v": 2, "input": { "name": "Broken", "definition": broken } }),
    )
    .await;
    assert_eq!(refused["updateReport"]["report"], Value::Null);

    let versions = "query($id: ID!) { report(id: $id) { version versions {
        version name savedBy definition { aggregates { function field } } } } }";
    let data = gql_ok(&server, &sales_token, versions, json!({ "id": id })).await;
    let report = &data["report"];
    assert_eq!(report["version"], 2);
    assert_eq!(
        report["versions"],
        json!([
            { "version": 2, "name": "Deal value", "savedBy": acme.admin_id.to_string(),
              "definition": { "aggregates": [{ "function": "SUM", "field": "amount" }] } },
            { "version": 1, "name": "Deals", "savedBy": sales_id,
              "definition": { "aggregates": [{ "function": "COUNT", "field": null }] } }
        ])
    );
    let globex = server.tenant("globex").await;
    let hidden = server
        .gql(Some(&globex.token), versions, json!({ "id": id }))
        .await;
    assert_eq!(error_code(&hidden), "NOT_FOUND", "{hidden}");
}
