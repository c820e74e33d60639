//! Payroll over the API: a tax year of pay runs against the worked examples, approval,
//! privacy, bad input and tenancy.

use serde_json::{Value, json};

use crate::common::{Tenant, TestServer, error_code, error_field};

const CREATE_EMPLOYEE: &str = "mutation($input: CreateEmployeeInput!) { createEmployee(input: $input) { id employeeNo version } }";
const DEFINE_COMPONENT: &str =
    "mutation($input: PayComponentInput!) { definePayComponent(input: $input) { code version } }";
const DEFINE_STRUCTURE: &str = "mutation($code: String!, $components: [String!]!) {
    defineSalaryStructure(code: $code, name: \"Staff\", effectiveFrom: \"2024-01-01\", components: $components) { code components } }";
const ASSIGN: &str = "mutation($e: ID!, $base: Decimal!) {
    assignSalaryStructure(employeeId: $e, structureCode: \"STAFF\", basePay: $base, effectiveFrom: \"2024-01-01\") { basePay } }";
const CREATE_RUN: &str = "mutation($input: CreatePayRunInput!) { createPayRun(input: $input) { id runNo status version } }";
const CALCULATE: &str = "mutation($id: ID!, $v: Int!) { calculatePayRun(id: $id, version: $v) { status version employeeCount totalPph21 } }";
const APPROVE: &str =
    "mutation($id: ID!, $v: Int!) { approvePayRun(id: $id, version: $v) { status version } }";
const PAY: &str =
    "mutation($id: ID!, $v: Int!) { markPayRunPaid(id: $id, version: $v) { status version } }";
const PAYSLIPS: &str = "query($e: ID!) { payslips(employeeId: $e, first: 20) { edges { node {
    periodEnd taxMethod gross taxableGross pph21 net yearToDate { pph21 months }
    lines { code amount } } } } }";

async fn ok(server: &TestServer, token: &str, query: &str, variables: Value, field: &str) -> Value {
    let response = server.gql(Some(token), query, variables).await;
    let data = response["data"][field].clone();
    assert!(
        !data.is_null() && response["errors"].is_null(),
        "{field}: {response}"
    );
    data
}

/// A whole-rupiah amount as the API shows it (a decimal string).
fn amount(value: &Value) -> i64 {
    value
        .as_str()
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or_else(|| panic!("not a whole amount: {value}"))
}

async fn employee(
    server: &TestServer,
    token: &str,
    name: &str,
    status: &str,
    base: &str,
) -> String {
    let created = ok(
        server,
        token,
        CREATE_EMPLOYEE,
        json!({ "input": { "name": name, "hireDate": "2020-01-01", "taxStatus": status,
                           "bankName": "BCA", "bankAccount": "1234567890", "costCentre": "HQ" } }),
        "createEmployee",
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    ok(
        server,
        token,
        ASSIGN,
        json!({ "e": id, "base": base }),
        "assignSalaryStructure",
    )
    .await;
    id
}

/// The statutory setup every test uses: BONUS and THR (taxable, outside the BPJS wage) and an
/// empty STAFF structure (base pay only).
async fn setup(server: &TestServer, token: &str) {
    for code in ["BONUS", "THR"] {
        ok(
            server,
            token,
            DEFINE_COMPONENT,
            json!({ "input": { "code": code, "name": code, "kind": "EARNING", "amount": "0" } }),
            "definePayComponent",
        )
        .await;
    }
    ok(
        server,
        token,
        DEFINE_STRUCTURE,
        json!({ "code": "STAFF", "components": [] }),
        "defineSalaryStructure",
    )
    .await;
}

async fn bonus(
    server: &TestServer,
    token: &str,
    employee: &str,
    code: &str,
    amount: &str,
    day: &str,
) {
    ok(
        server,
        token,
        "mutation($input: AdditionalPayInput!) { addAdditionalPay(input: $input) { id } }",
        json!({ "input": { "employeeId": employee, "componentCode": code, "amount": amount, "startsOn": day } }),
        "addAdditionalPay",
    )
    .await;
}

fn month_end(month: u32) -> String {
    let days = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month as usize - 1];
    format!("2025-{month:02}-{days}")
}

/// Creates the Draft monthly run of `month` 2025, paid on its last day.
async fn draft_month(server: &TestServer, token: &str, month: u32) -> Value {
    ok(
        server,
        token,
        CREATE_RUN,
        json!({ "input": { "frequency": "MONTHLY", "periodStart": format!("2025-{month:02}-01"),
                           "periodEnd": month_end(month), "payDate": month_end(month) } }),
        "createPayRun",
    )
    .await
}

/// Creates, calculates, approves and pays the monthly run of `month` 2025; returns its id.
async fn pay_month(server: &TestServer, token: &str, month: u32) -> String {
    let run = draft_month(server, token, month).await;
    let id = run["id"].as_str().unwrap().to_owned();
    let calculated = ok(
        server,
        token,
        CALCULATE,
        json!({ "id": id, "v": 1 }),
        "calculatePayRun",
    )
    .await;
    assert_eq!(calculated["status"], "Calculated");
    ok(
        server,
        token,
        APPROVE,
        json!({ "id": id, "v": 2 }),
        "approvePayRun",
    )
    .await;
    let paid = ok(
        server,
        token,
        PAY,
        json!({ "id": id, "v": 3 }),
        "markPayRunPaid",
    )
    .await;
    assert_eq!(paid["status"], "Paid");
    id
}

/// Each month's PPh 21 of an employee, January first.
async fn withheld(server: &TestServer, token: &str, employee: &str) -> (Vec<i64>, Vec<Value>) {
    let slips = ok(
        server,
        token,
        PAYSLIPS,
        json!({ "e": employee }),
        "payslips",
    )
    .await;
    let mut slips: Vec<Value> = slips["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    slips.sort_by_key(|s| s["periodEnd"].as_str().unwrap().to_owned());
    (slips.iter().map(|s| amount(&s["pph21"])).collect(), slips)
}

#[tokio::test]
async fn a_tax_year_of_pay_runs_matches_the_worked_examples_to_the_rupiah() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let token = &acme.token;
    setup(&server, token).await;
    // examples.md part B: Examples 1 to 4, all in one company.
    let flat = employee(&server, token, "Example 1", "K/1", "10000000").await;
    let thr = employee(&server, token, "Example 2", "TK/0", "10000000").await;
    let high = employee(&server, token, "Example 3", "K/3", "25000000").await;
    let refund = employee(&server, token, "Example 4", "TK/0", "6000000").await;
    bonus(&server, token, &thr, "THR", "10000000", "2025-03-20").await;
    bonus(&server, token, &high, "BONUS", "30000000", "2025-12-15").await;
    bonus(&server, token, &refund, "BONUS", "30000000", "2025-06-10").await;
    let pays = ok(&server, token, "query($id: ID!) { employee(id: $id) { additionalPays { componentCode amount startsOn endsOn } } }", json!({ "id": thr }), "employee").await;
    assert_eq!(
        pays["additionalPays"],
        json!([{ "componentCode": "THR", "amount": "10000000", "startsOn": "2025-03-20", "endsOn": "2025-03-20" }])
    );

    for month in 1..=12 {
        pay_month(&server, token, month).await;
    }

    let (tax, slips) = withheld(&server, token, &flat).await;
    assert_eq!(tax.len(), 12);
    assert!(tax[..11].iter().all(|t| *t == 156_810), "{tax:?}");
    assert_eq!(tax[11], 917_490);
    assert_eq!(amount(&slips[0]["taxableGross"]), 10_454_000);
    assert_eq!(amount(&slips[0]["net"]), 9_443_190);
    assert_eq!(slips[0]["taxMethod"], "TER_MONTHLY");
    assert_eq!(slips[11]["taxMethod"], "ANNUAL");
    assert_eq!(amount(&slips[11]["yearToDate"]["pph21"]), 2_642_400);
    assert_eq!(slips[11]["yearToDate"]["months"], 12);

    let (tax, _) = withheld(&server, token, &thr).await;
    assert_eq!(tax[0], 261_350);
    assert_eq!(tax[2], 1_840_860);
    assert_eq!(tax[..11].iter().sum::<i64>(), 4_454_360);
    assert_eq!(tax[11], 322_840);

    let (tax, slips) = withheld(&server, token, &high).await;
    assert!(tax[..11].iter().all(|t| *t == 2_305_350), "{tax:?}");
    assert_eq!(tax[11], 6_672_150);
    let jp = |slip: &Value| {
        let lines = slip["lines"].as_array().unwrap();
        amount(&lines.iter().find(|l| l["code"] == "JP_EE").unwrap()["amount"])
    };
    // The JP wage cap moves on 1 March.
    assert_eq!((jp(&slips[1]), jp(&slips[2])), (100_423, 105_474));

    let (tax, _) = withheld(&server, token, &refund).await;
    assert_eq!(tax[0], 47_043);
    assert_eq!(tax[5], 5_440_860);
    assert_eq!(tax[11], -3_719_040);
}

#[tokio::test]
async fn payroll_is_private_to_its_roles_and_bad_input_changes_nothing() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let token = &acme.token;
    setup(&server, token).await;
    let (_, sales) = server.user(&acme, "sam@acme.example.com", &["SALES"]).await;
    let (_, viewer) = server
        .user(&acme, "vic@acme.example.com", &["VIEWER"])
        .await;
    let (_, manager) = server
        .user(&acme, "meg@acme.example.com", &["MANAGER"])
        .await;
    let someone = employee(&server, token, "Budi", "K/1", "8000000").await;

    for reader in [&sales, &viewer] {
        for query in [
            "{ employees { totalCount } }",
            "{ payRuns { totalCount } }",
            "{ payComponents { code } }",
            "{ payrollRuleSets { builtIn } }",
        ] {
            let response = server.gql(Some(reader), query, json!({})).await;
            assert_eq!(error_code(&response), "FORBIDDEN", "{query}: {response}");
        }
        let response = server
            .gql(
                Some(reader),
                "query($id: ID!) { employee(id: $id) { name } }",
                json!({ "id": someone }),
            )
            .await;
        assert_eq!(error_code(&response), "FORBIDDEN");
        let found = server
            .gql(
                Some(reader),
                "{ search(text: \"budi\") { module } }",
                json!({}),
            )
            .await;
        assert_eq!(found["data"]["search"], json!([]), "{found}");
    }
    let listed = ok(
        &server,
        &manager,
        "{ employees { totalCount } }",
        json!({}),
        "employees",
    )
    .await;
    assert_eq!(listed["totalCount"], 1);
    let rules = ok(
        &server,
        &manager,
        "{ payrollRuleSets { builtIn effectiveFrom rules } }",
        json!({}),
        "payrollRuleSets",
    )
    .await;
    assert_eq!(rules[0]["builtIn"], true);
    assert_eq!(
        rules[0]["rules"]["terMonthly"].as_array().unwrap().len(),
        125
    );

    // Bad input: a clear error on the field, and nothing changed.
    let bad = |input: Value| server.gql(Some(token), CREATE_EMPLOYEE, json!({ "input": input }));
    let response = bad(json!({ "name": "X", "hireDate": "2025-01-01", "taxStatus": "K/9" })).await;
    assert_eq!(
        (error_code(&response), error_field(&response)),
        ("BAD_USER_INPUT", "taxStatus")
    );
    let response =
        bad(json!({ "name": "X", "hireDate": "2025-01-01", "taxStatus": "K/0", "jkkClass": 7 }))
            .await;
    assert_eq!(error_field(&response), "jkkClass");
    let response = bad(json!({ "name": "X", "hireDate": "2025-01-01", "terminationDate": "2024-12-31", "taxStatus": "K/0" })).await;
    assert_eq!(error_field(&response), "terminationDate");
    let response =
        bad(json!({ "name": "X", "hireDate": "2025-01-01", "taxStatus": "K/0", "taxId": "12ab" }))
            .await;
    assert_eq!(error_field(&response), "taxId");

    let component =
        |input: Value| server.gql(Some(token), DEFINE_COMPONENT, json!({ "input": input }));
    let response = component(
        json!({ "code": "MEAL", "name": "Meal", "kind": "EARNING", "formula": "TRANSPORT * 2" }),
    )
    .await;
    assert_eq!(
        (error_code(&response), error_field(&response)),
        ("BAD_USER_INPUT", "formula")
    );
    let response = component(
        json!({ "code": "MEAL", "name": "Meal", "kind": "EARNING", "formula": "base *" }),
    )
    .await;
    assert_eq!(error_field(&response), "formula");
    let response =
        component(json!({ "code": "PPH21", "name": "Tax", "kind": "DEDUCTION", "amount": "1" }))
            .await;
    assert_eq!(error_field(&response), "code");
    let response = component(json!({ "code": "MEAL", "name": "Meal", "kind": "EARNING" })).await;
    assert_eq!(error_field(&response), "amount");
    ok(&server, token, DEFINE_COMPONENT, json!({ "input": { "code": "A", "name": "A", "kind": "EARNING", "formula": "base * 0.1" } }), "definePayComponent").await;
    ok(
        &server,
        token,
        DEFINE_COMPONENT,
        json!({ "input": { "code": "B", "name": "B", "kind": "EARNING", "formula": "A / 2" } }),
        "definePayComponent",
    )
    .await;
    let response =
        component(json!({ "code": "A", "name": "A", "kind": "EARNING", "formula": "B + 1" })).await;
    assert_eq!(error_field(&response), "formula");
    let message = response["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("A -> B -> A"), "{message}");

    let response = server
        .gql(
            Some(token),
            DEFINE_STRUCTURE,
            json!({ "code": "MGMT", "components": ["NOPE"] }),
        )
        .await;
    assert_eq!(error_field(&response), "components[0]");
    let response = server
        .gql(
            Some(token),
            DEFINE_STRUCTURE,
            json!({ "code": "MGMT", "components": ["B"] }),
        )
        .await;
    assert_eq!(
        error_field(&response),
        "components[0]",
        "B reads A: {response}"
    );
    // A component may not start reading what a structure listing it does not list.
    ok(
        &server,
        token,
        DEFINE_STRUCTURE,
        json!({ "code": "MGMT", "components": ["A", "B"] }),
        "defineSalaryStructure",
    )
    .await;
    ok(
        &server,
        token,
        DEFINE_COMPONENT,
        json!({ "input": { "code": "C", "name": "C", "kind": "EARNING", "amount": "5" } }),
        "definePayComponent",
    )
    .await;
    let response =
        component(json!({ "code": "B", "name": "B", "kind": "EARNING", "formula": "A + C" })).await;
    assert_eq!(error_field(&response), "formula");
    let message = response["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("lists B but not C"), "{message}");
    let response = server
        .gql(Some(token), ASSIGN, json!({ "e": someone, "base": "0" }))
        .await;
    assert_eq!(error_field(&response), "basePay");

    // An employee without a structure: the calculation is refused and writes nothing.
    let unassigned = ok(
        &server,
        token,
        CREATE_EMPLOYEE,
        json!({ "input": { "name": "Citra", "hireDate": "2024-05-01", "taxStatus": "TK/0" } }),
        "createEmployee",
    )
    .await;
    let run = draft_month(&server, token, 1).await;
    let response = server
        .gql(Some(token), CALCULATE, json!({ "id": run["id"], "v": 1 }))
        .await;
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
    assert!(
        response["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("EMP-00002"),
        "{response}"
    );
    let after = ok(
        &server,
        token,
        "query($id: ID!) { payRun(id: $id) { status version payslips { totalCount } } }",
        json!({ "id": run["id"] }),
        "payRun",
    )
    .await;
    assert_eq!(
        after,
        json!({ "status": "Draft", "version": 1, "payslips": { "totalCount": 0 } })
    );

    // Once a period is approved, a second run over it is refused.
    server
        .gql(
            Some(token),
            "mutation($id: ID!) { deleteEmployee(id: $id) }",
            json!({ "id": unassigned["id"] }),
        )
        .await;
    ok(
        &server,
        token,
        CALCULATE,
        json!({ "id": run["id"], "v": 1 }),
        "calculatePayRun",
    )
    .await;
    ok(
        &server,
        token,
        APPROVE,
        json!({ "id": run["id"], "v": 2 }),
        "approvePayRun",
    )
    .await;
    let response = server
        .gql(Some(token), CREATE_RUN, json!({ "input": { "frequency": "MONTHLY", "periodStart": "2025-01-15", "periodEnd": "2025-02-14", "payDate": "2025-02-14" } }))
        .await;
    assert_eq!(
        (error_code(&response), error_field(&response)),
        ("BAD_USER_INPUT", "periodStart")
    );
    // An approved run's payslips are final.
    let response = server
        .gql(Some(token), CALCULATE, json!({ "id": run["id"], "v": 3 }))
        .await;
    assert_eq!(error_code(&response), "BAD_USER_INPUT");
    let response = server
        .gql(Some(token), CALCULATE, json!({ "id": run["id"], "v": 1 }))
        .await;
    assert_eq!(error_code(&response), "CONFLICT");
}

#[tokio::test]
async fn approval_needs_a_manager_and_when_asked_someone_else() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let token = &acme.token;
    setup(&server, token).await;
    employee(&server, token, "Dewi", "TK/0", "7000000").await;
    let (_, manager) = server
        .user(&acme, "meg@acme.example.com", &["MANAGER"])
        .await;
    let (_, sales) = server.user(&acme, "sam@acme.example.com", &["SALES"]).await;
    // Sales may be given payroll rights; approving still needs a manager.
    ok(&server, token, "mutation { setPermission(role: SALES, module: PAYROLL, read: true, write: true) { write } }", json!({}), "setPermission").await;
    ok(
        &server,
        token,
        "mutation { updatePayrollSettings(separateApprover: true) { separateApprover } }",
        json!({}),
        "updatePayrollSettings",
    )
    .await;

    let run = draft_month(&server, &sales, 4).await;
    let id = run["id"].clone();
    ok(
        &server,
        token,
        CALCULATE,
        json!({ "id": id, "v": 1 }),
        "calculatePayRun",
    )
    .await;
    let response = server
        .gql(Some(&sales), APPROVE, json!({ "id": id, "v": 2 }))
        .await;
    assert_eq!(error_code(&response), "FORBIDDEN", "{response}");
    let response = server
        .gql(Some(token), APPROVE, json!({ "id": id, "v": 2 }))
        .await;
    assert_eq!(
        error_code(&response),
        "FORBIDDEN",
        "the calculator may not approve: {response}"
    );
    let approved = ok(
        &server,
        &manager,
        APPROVE,
        json!({ "id": id, "v": 2 }),
        "approvePayRun",
    )
    .await;
    assert_eq!(approved["status"], "Approved");
    let detail = ok(&server, &manager, "query($id: ID!) { payRun(id: $id) { approvedBy { email } calculatedBy { email } totalNet payslips { edges { node { net employee { name } } } } } }", json!({ "id": id }), "payRun").await;
    assert_eq!(detail["approvedBy"]["email"], "meg@acme.example.com");
    assert_eq!(detail["calculatedBy"]["email"], acme.admin_email);
    assert_eq!(
        detail["payslips"]["edges"][0]["node"]["employee"]["name"],
        "Dewi"
    );
    assert_eq!(
        detail["totalNet"],
        detail["payslips"]["edges"][0]["node"]["net"]
    );

    ok(
        &server,
        &manager,
        PAY,
        json!({ "id": id, "v": 3 }),
        "markPayRunPaid",
    )
    .await;
    let response = server
        .gql(
            Some(&manager),
            "mutation($id: ID!) { cancelPayRun(id: $id, version: 4) { status } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        error_code(&response),
        "BAD_USER_INPUT",
        "paid is final: {response}"
    );
}

#[tokio::test]
async fn an_employee_reads_only_their_own_final_payslips() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let token = &acme.token;
    setup(&server, token).await;
    let (eko_user, eko) = server
        .user(&acme, "eko@acme.example.com", &["SUPPORT"])
        .await;
    let mine = employee(&server, token, "Eko", "K/0", "9000000").await;
    employee(&server, token, "Fitri", "K/2", "12000000").await;
    ok(&server, token, "mutation($id: ID!, $u: ID!) { updateEmployee(id: $id, input: { version: 1, userId: $u }) { userId } }", json!({ "id": mine, "u": eko_user }), "updateEmployee").await;

    const MINE: &str = "{ myPayslips { totalCount edges { node { employeeId net } } } }";
    let run = draft_month(&server, token, 5).await;
    ok(
        &server,
        token,
        CALCULATE,
        json!({ "id": run["id"], "v": 1 }),
        "calculatePayRun",
    )
    .await;
    let before = ok(&server, &eko, MINE, json!({}), "myPayslips").await;
    assert_eq!(before["totalCount"], 0, "a calculated run is not final yet");
    ok(
        &server,
        token,
        APPROVE,
        json!({ "id": run["id"], "v": 2 }),
        "approvePayRun",
    )
    .await;
    let after = ok(&server, &eko, MINE, json!({}), "myPayslips").await;
    assert_eq!(after["totalCount"], 1);
    assert_eq!(after["edges"][0]["node"]["employeeId"], mine);
    let response = server
        .gql(
            Some(&eko),
            "query($r: ID!) { payslips(payRunId: $r) { totalCount } }",
            json!({ "r": run["id"] }),
        )
        .await;
    assert_eq!(error_code(&response), "FORBIDDEN");
    let admin_view = ok(&server, token, MINE, json!({}), "myPayslips").await;
    assert_eq!(admin_view["totalCount"], 0, "the admin is no employee");
}

#[tokio::test]
async fn another_tenants_payroll_is_invisible_and_untouchable() {
    let server = TestServer::start().await;
    let a = server.tenant("acme").await;
    let b = server.tenant("globex").await;
    setup(&server, &a.token).await;
    let secret = employee(&server, &a.token, "Secret Person", "TK/0", "15000000").await;
    let run = pay_month(&server, &a.token, 1).await;
    let slip = ok(
        &server,
        &a.token,
        "query($r: ID!) { payslips(payRunId: $r) { edges { node { id } } } }",
        json!({ "r": run }),
        "payslips",
    )
    .await;
    let slip = slip["edges"][0]["node"]["id"].clone();
    setup(&server, &b.token).await;

    let not_found = |query: &'static str, variables: Value| {
        let b: &Tenant = &b;
        let server = &server;
        async move {
            let response = server.gql(Some(&b.token), query, variables).await;
            assert_eq!(error_code(&response), "NOT_FOUND", "{query}: {response}");
        }
    };
    not_found(
        "query($id: ID!) { employee(id: $id) { name } }",
        json!({ "id": secret }),
    )
    .await;
    not_found("mutation($id: ID!) { updateEmployee(id: $id, input: { version: 1, name: \"x\" }) { name } }", json!({ "id": secret })).await;
    not_found(
        "mutation($id: ID!) { deleteEmployee(id: $id) }",
        json!({ "id": secret }),
    )
    .await;
    not_found(
        "query($id: ID!) { payRun(id: $id) { status } }",
        json!({ "id": run }),
    )
    .await;
    not_found(
        "query($id: ID!) { payslip(id: $id) { net } }",
        json!({ "id": slip }),
    )
    .await;
    not_found(
        "mutation($id: ID!) { cancelPayRun(id: $id, version: 4) { status } }",
        json!({ "id": run }),
    )
    .await;
    not_found(ASSIGN, json!({ "e": secret, "base": "1" })).await;
    not_found("mutation($e: ID!) { addAdditionalPay(input: { employeeId: $e, componentCode: \"BONUS\", amount: \"1\", startsOn: \"2025-01-01\" }) { id } }", json!({ "e": secret })).await;

    let response = server
        .gql(
            Some(&b.token),
            "query($r: ID!, $e: ID!) { employees { totalCount } payRuns { totalCount }
                byRun: payslips(payRunId: $r) { totalCount } byEmployee: payslips(employeeId: $e) { totalCount }
                myPayslips { totalCount } search(text: \"secret\") { id } }",
            json!({ "r": run, "e": secret }),
        )
        .await;
    assert_eq!(
        response["data"],
        json!({ "employees": { "totalCount": 0 }, "payRuns": { "totalCount": 0 }, "byRun": { "totalCount": 0 },
                "byEmployee": { "totalCount": 0 }, "myPayslips": { "totalCount": 0 }, "search": [] }),
        "{response}"
    );
    // And nothing of A's changed.
    let still = ok(
        &server,
        &a.token,
        "query($id: ID!, $r: ID!) { employee(id: $id) { name version } payRun(id: $r) { status } }",
        json!({ "id": secret, "r": run }),
        "employee",
    )
    .await;
    assert_eq!(still, json!({ "name": "Secret Person", "version": 1 }));
}

/// Reads CSV with Python's csv module (a reader we did not write) into rows of cells.
fn read_csv(text: &str) -> Vec<Vec<String>> {
    use std::io::Write;
    let mut python = std::process::Command::new("python3")
        .args(["-c", "import csv, json, sys; print(json.dumps(list(csv.reader(sys.stdin.buffer.read().decode('utf-8').splitlines(True), strict=True))))"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    python
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = python.wait_with_output().unwrap();
    assert!(output.status.success(), "python could not read the CSV");
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test]
async fn an_approved_run_exports_its_bank_file_and_tax_summary() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let other = server.tenant("globex").await;
    let token = &acme.token;
    setup(&server, token).await;
    let (_, sales) = server.user(&acme, "sam@acme.example.com", &["SALES"]).await;
    employee(&server, token, "Sari, \"Ibu\" Wulandari", "K/1", "10000000").await;
    employee(&server, token, "=Budi", "TK/0", "6000000").await;
    let run = draft_month(&server, token, 6).await;
    let id = run["id"].as_str().unwrap();
    ok(
        &server,
        token,
        CALCULATE,
        json!({ "id": id, "v": 1 }),
        "calculatePayRun",
    )
    .await;

    let get = |path: String, bearer: Option<String>| {
        let mut request = server.http().get(server.url(&path));
        if let Some(bearer) = bearer {
            request = request.bearer_auth(bearer);
        }
        request.send()
    };
    let bank = format!("/payroll/pay-runs/{id}/bank-transfers.csv");
    let early = get(bank.clone(), Some(token.clone())).await.unwrap();
    assert_eq!(early.status(), 400, "not approved yet");
    let body: Value = early.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

    ok(
        &server,
        token,
        APPROVE,
        json!({ "id": id, "v": 2 }),
        "approvePayRun",
    )
    .await;
    let response = get(bank.clone(), Some(token.clone())).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("PAY-00001-bank-transfers.csv")
    );
    let rows = read_csv(&response.text().await.unwrap());
    assert_eq!(
        rows[0],
        [
            "employee_no",
            "name",
            "bank_holder",
            "bank",
            "account",
            "amount",
            "reference"
        ]
    );
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1][..2], ["EMP-00001", "Sari, \"Ibu\" Wulandari"]);
    assert_eq!(rows[1][5], "9443190", "the gajian payslip's take-home pay");
    assert_eq!(rows[1][6], "PAY-00001 EMP-00001");
    assert_eq!(
        rows[2][1], "'=Budi",
        "a name is never a spreadsheet formula"
    );

    let summary = get(
        format!("/payroll/pay-runs/{id}/tax-summary.csv"),
        Some(token.clone()),
    )
    .await
    .unwrap();
    let rows = read_csv(&summary.text().await.unwrap());
    assert_eq!(
        rows[0][..7],
        [
            "employee_no",
            "name",
            "tax_id",
            "tax_status",
            "ter_category",
            "taxable_gross",
            "pph21"
        ]
    );
    assert_eq!(rows[1][3..7], ["K/1", "B", "10454000", "156810"]);

    for (bearer, status) in [
        (None, 401),
        (Some(sales), 403),
        (Some(other.token.clone()), 404),
    ] {
        let response = get(bank.clone(), bearer).await.unwrap();
        assert_eq!(response.status(), status);
    }
    let unknown = get(
        format!("/payroll/pay-runs/{id}/salaries.xls"),
        Some(token.clone()),
    )
    .await
    .unwrap();
    assert_eq!(unknown.status(), 404);
}

const RUN_PROCESS: &str =
    "query($r: ID!) { processInstances(filter: { recordId: { equals: $r } }) { nodes {
    id definitionKey state status version steps { transition toState } } } }";

#[tokio::test]
async fn the_payroll_run_process_follows_each_pay_run_and_the_tenant_can_tighten_it() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let token = &acme.token;
    setup(&server, token).await;
    employee(&server, token, "Gita", "TK/0", "5500000").await;
    let run = pay_month(&server, token, 3).await;

    let process = ok(
        &server,
        token,
        RUN_PROCESS,
        json!({ "r": run }),
        "processInstances",
    )
    .await;
    let instance = &process["nodes"][0];
    assert_eq!(instance["definitionKey"], "payroll-run");
    assert_eq!(
        (&instance["state"], &instance["status"]),
        (&json!("Paid"), &json!("completed")),
        "{instance}"
    );
    let steps: Vec<&str> = instance["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["transition"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["start", "calculate", "approve", "pay"]);

    // Firing a pay run's transition directly would skip its work: refused, nothing moves.
    let second = draft_month(&server, token, 4).await;
    let process = ok(
        &server,
        token,
        RUN_PROCESS,
        json!({ "r": second["id"] }),
        "processInstances",
    )
    .await;
    let instance = process["nodes"][0].clone();
    let response = server
        .gql(Some(token), "mutation($i: ID!, $v: Int!) { fireTransition(instanceId: $i, transition: \"calculate\", expectedVersion: $v) { state } }", json!({ "i": instance["id"], "v": instance["version"] }))
        .await;
    assert_eq!(
        (error_code(&response), error_field(&response)),
        ("BAD_USER_INPUT", "transition"),
        "{response}"
    );
    let still = ok(
        &server,
        token,
        "query($id: ID!) { payRun(id: $id) { status } }",
        json!({ "id": second["id"] }),
        "payRun",
    )
    .await;
    assert_eq!(still["status"], "Draft");

    // The tenant adds a guard: runs above a net total need a second look. Approval obeys it.
    let mut body: Value = ok(
        &server,
        token,
        "{ processDefinitions { key body } }",
        json!({}),
        "processDefinitions",
    )
    .await
    .as_array()
    .unwrap()
    .iter()
    .find(|d| d["key"] == "payroll-run")
    .expect("the built-in payroll-run process")["body"]
        .clone();
    body["transitions"][2]["guard"] = json!("record.totalNet < 1000000");
    let published = ok(&server, token, "mutation($b: JSON!) { publishProcessDefinition(key: \"payroll-run\", name: \"Payroll run\", body: $b) { problems { path message } } }", json!({ "b": body }), "publishProcessDefinition").await;
    assert_eq!(published["problems"], json!([]));
    let third = draft_month(&server, token, 5).await;
    ok(
        &server,
        token,
        CALCULATE,
        json!({ "id": third["id"], "v": 1 }),
        "calculatePayRun",
    )
    .await;
    let response = server
        .gql(Some(token), APPROVE, json!({ "id": third["id"], "v": 2 }))
        .await;
    assert_eq!(error_code(&response), "BAD_USER_INPUT", "{response}");
    let still = ok(
        &server,
        token,
        "query($id: ID!) { payRun(id: $id) { status version } }",
        json!({ "id": third["id"] }),
        "payRun",
    )
    .await;
    assert_eq!(still, json!({ "status": "Calculated", "version": 2 }));
}

#[tokio::test]
async fn pay_run_changes_reach_subscribers_of_the_run_only() {
    use crate::common::ws::WsClient;
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let other = server.tenant("globex").await;
    let token = &acme.token;
    setup(&server, token).await;
    employee(&server, token, "Hana", "K/0", "8000000").await;
    employee(&server, token, "Indra", "TK/0", "6000000").await;
    let run = draft_month(&server, token, 7).await;
    let subscription = format!(
        "subscription {{ payRunChanged(id: \"{}\") {{ status employeeCount totalNet }} }}",
        run["id"].as_str().unwrap()
    );

    let mut client = WsClient::connect_authenticated(&server, token).await;
    client.subscribe("run", &subscription).await;
    let mut stranger = WsClient::connect_authenticated(&server, &other.token).await;
    stranger.subscribe("run", &subscription).await;
    let refused = stranger.next_json().await;
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "another tenant's run: {refused}"
    );
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let calculated = ok(
        &server,
        token,
        CALCULATE,
        json!({ "id": run["id"], "v": 1 }),
        "calculatePayRun",
    )
    .await;
    let message = client.next_json().await;
    assert_eq!(message["type"], "next", "{message}");
    let seen = &message["payload"]["data"]["payRunChanged"];
    assert_eq!(seen["status"], "Calculated");
    assert_eq!(seen["employeeCount"], 2);
    assert_eq!(
        seen["totalNet"],
        calculated["totalPph21"]
            .clone()
            .as_str()
            .map(|_| seen["totalNet"].clone())
            .unwrap()
    );
    ok(
        &server,
        token,
        APPROVE,
        json!({ "id": run["id"], "v": 2 }),
        "approvePayRun",
    )
    .await;
    let message = client.next_json().await;
    assert_eq!(
        message["payload"]["data"]["payRunChanged"]["status"],
        "Approved"
    );
}

#[tokio::test]
async fn a_correction_run_pays_the_difference_for_an_approved_period() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let token = &acme.token;
    setup(&server, token).await;
    // The gajian employee: K/1, 10,000,000.
    let ayu = employee(&server, token, "Ayu", "K/1", "10000000").await;
    employee(&server, token, "Bayu", "TK/0", "7000000").await;
    let january = pay_month(&server, token, 1).await;

    let period = json!({ "frequency": "MONTHLY", "periodStart": "2025-01-01", "periodEnd": "2025-01-31", "payDate": "2025-02-05" });
    let response = server
        .gql(Some(token), CREATE_RUN, json!({ "input": period }))
        .await;
    assert_eq!(
        error_field(&response),
        "periodStart",
        "a second ordinary run over the period: {response}"
    );
    let mut wrong = period.clone();
    wrong["periodEnd"] = json!("2025-01-30");
    wrong["correctionOf"] = json!(january);
    let response = server
        .gql(Some(token), CREATE_RUN, json!({ "input": wrong }))
        .await;
    assert_eq!(error_field(&response), "correctionOf");

    // A raise back-dated to January.
    ok(&server, token, "mutation($e: ID!) { assignSalaryStructure(employeeId: $e, structureCode: \"STAFF\", basePay: \"11000000\", effectiveFrom: \"2025-01-01\") { basePay } }", json!({ "e": ayu }), "assignSalaryStructure").await;
    let history = ok(&server, token, "{ employees(orderBy: { field: EMPLOYEE_NO }) { nodes { salaryAssignments { basePay effectiveFrom } } } }", json!({}), "employees").await;
    assert_eq!(
        history["nodes"][0]["salaryAssignments"],
        json!([{ "basePay": "10000000", "effectiveFrom": "2024-01-01" }, { "basePay": "11000000", "effectiveFrom": "2025-01-01" }])
    );
    let mut input = period.clone();
    input["correctionOf"] = json!(january);
    let correction = ok(
        &server,
        token,
        CREATE_RUN,
        json!({ "input": input }),
        "createPayRun",
    )
    .await;
    let calculated = ok(
        &server,
        token,
        CALCULATE,
        json!({ "id": correction["id"], "v": 1 }),
        "calculatePayRun",
    )
    .await;
    assert_eq!(calculated["employeeCount"], 1, "only Ayu's pay changed");
    let slips = ok(&server, token, "query($r: ID!) { payslips(payRunId: $r) { nodes { employeeId taxMethod gross pph21 net lines { code amount } } } }", json!({ "r": correction["id"] }), "payslips").await;
    let slip = &slips["nodes"][0];
    assert_eq!(slip["employeeId"], ayu);
    assert_eq!(slip["taxMethod"], "CORRECTION");
    assert_eq!(amount(&slip["gross"]), 1_000_000);
    // 11,000,000 + 499,400 employer parts = 11,499,400 at TER B 2.5% = 287,485, less 156,810.
    assert_eq!(amount(&slip["pph21"]), 287_485 - 156_810);
    let line = |code: &str| {
        amount(
            &slip["lines"]
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["code"] == code)
                .unwrap()["amount"],
        )
    };
    assert_eq!(line("BASIC"), 1_000_000);
    assert_eq!(line("JHT_EE"), 20_000);
    ok(
        &server,
        token,
        APPROVE,
        json!({ "id": correction["id"], "v": 2 }),
        "approvePayRun",
    )
    .await;

    // February counts January as corrected, and January once.
    pay_month(&server, token, 2).await;
    let (_, slips) = withheld(&server, token, &ayu).await;
    let february = slips
        .iter()
        .find(|s| s["periodEnd"] == "2025-02-28")
        .unwrap();
    assert_eq!(february["yearToDate"]["months"], 2);
    assert_eq!(amount(&february["yearToDate"]["pph21"]), 2 * 287_485);
}

#[tokio::test]
async fn daily_workers_are_paid_by_attendance_in_weekly_runs() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let token = &acme.token;
    setup(&server, token).await;
    let monthly = employee(&server, token, "Monthly Staff", "TK/0", "9000000").await;
    let worker = ok(
        &server,
        token,
        CREATE_EMPLOYEE,
        json!({ "input": { "name": "Joko", "hireDate": "2025-01-01", "taxStatus": "TK/0",
                           "employmentType": "DAILY", "payFrequency": "WEEKLY" } }),
        "createEmployee",
    )
    .await;
    let worker = worker["id"].as_str().unwrap().to_owned();
    ok(
        &server,
        token,
        ASSIGN,
        json!({ "e": worker, "base": "600000" }),
        "assignSalaryStructure",
    )
    .await;
    let run = ok(&server, token, CREATE_RUN, json!({ "input": { "frequency": "WEEKLY", "periodStart": "2025-06-02", "periodEnd": "2025-06-08", "payDate": "2025-06-09" } }), "createPayRun").await;
    const WITH_ATTENDANCE: &str = "mutation($id: ID!, $a: [AttendanceInput!]!) { calculatePayRun(id: $id, version: 1, attendance: $a) { employeeCount } }";
    for (attendance, field) in [
        (
            json!([{ "employeeId": monthly, "daysWorked": "5" }]),
            "attendance[0].employeeId",
        ),
        (
            json!([{ "employeeId": worker, "daysWorked": "9" }]),
            "attendance[0].daysWorked",
        ),
    ] {
        let response = server
            .gql(
                Some(token),
                WITH_ATTENDANCE,
                json!({ "id": run["id"], "a": attendance }),
            )
            .await;
        assert_eq!(
            (error_code(&response), error_field(&response)),
            ("BAD_USER_INPUT", field),
            "{response}"
        );
    }
    let done = ok(
        &server,
        token,
        WITH_ATTENDANCE,
        json!({ "id": run["id"], "a": [{ "employeeId": worker, "daysWorked": "5" }] }),
        "calculatePayRun",
    )
    .await;
    assert_eq!(done["employeeCount"], 1, "only the weekly-paid worker");
    let slips = ok(&server, token, "query($r: ID!) { payslips(payRunId: $r) { nodes { taxMethod daysWorked gross taxableGross pph21 } } }", json!({ "r": run["id"] }), "payslips").await;
    let slip = &slips["nodes"][0];
    assert_eq!(slip["taxMethod"], "TER_DAILY");
    assert_eq!(slip["daysWorked"], "5");
    assert_eq!(amount(&slip["gross"]), 3_000_000);
    // + BPJS Kesehatan 120,000, JKK 7,200, JKM 9,000: 627,240 a day, 0.5% daily TER.
    assert_eq!(amount(&slip["taxableGross"]), 3_136_200);
    assert_eq!(amount(&slip["pph21"]), 15_681);
}
