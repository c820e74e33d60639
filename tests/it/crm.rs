use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use crate::common::{Tenant, TestServer, error_code, error_field};

const CREATE_ACCOUNT: &str =
    "mutation($input: CreateAccountInput!) { createAccount(input: $input) {
    id accountNo name industry accountType website phone email annualRevenue employees version
    billingAddress { street city country } parentId ownerId owner { email } } }";
const UPDATE_ACCOUNT: &str =
    "mutation($id: ID!, $input: UpdateAccountInput!) { updateAccount(id: $id, input: $input) {
    id name industry phone annualRevenue version } }";
const CREATE_CONTACT: &str =
    "mutation($input: CreateContactInput!) { createContact(input: $input) {
    id contactNo fullName email accountId version } }";
const ACCOUNT_COUNT: &str = "{ accounts { totalCount } }";

async fn account(server: &TestServer, token: &str, input: Value) -> Value {
    let response = server
        .gql(Some(token), CREATE_ACCOUNT, json!({ "input": input }))
        .await;
    response["data"]["createAccount"].clone()
}

async fn account_id(server: &TestServer, tenant: &Tenant, name: &str) -> String {
    let created = account(server, &tenant.token, json!({ "name": name })).await;
    created["id"]
        .as_str()
        .unwrap_or_else(|| panic!("account not created: {created}"))
        .to_owned()
}

async fn contact_id(server: &TestServer, token: &str, input: Value) -> String {
    let response = server
        .gql(Some(token), CREATE_CONTACT, json!({ "input": input }))
        .await;
    response["data"]["createContact"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("contact not created: {response}"))
        .to_owned()
}

#[tokio::test]
async fn accounts_are_numbered_validated_and_keep_exact_amounts() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let created = account(
        &server,
        &acme.token,
        json!({
            "name": "  PT Maju Jaya ", "industry": "Banking", "accountType": "Customer",
            "website": "majujaya.co.id", "phone": "+62 21 555-0100", "email": "Info@MajuJaya.co.id",
            "annualRevenue": "1234567890123.4567", "employees": 250,
            "billingAddress": { "street": "Jl. Sudirman 1", "city": "Jakarta", "country": "Indonesia" }
        }),
    )
    .await;
    assert_eq!(created["accountNo"], "ACC-00001");
    assert_eq!(created["name"], "PT Maju Jaya");
    assert_eq!(created["website"], "https://majujaya.co.id");
    assert_eq!(created["email"], "info@majujaya.co.id");
    assert_eq!(created["annualRevenue"], "1234567890123.4567");
    assert_eq!(
        created["billingAddress"],
        json!({ "street": "Jl. Sudirman 1", "city": "Jakarta", "country": "Indonesia" })
    );
    assert_eq!(created["owner"]["email"], acme.admin_email);
    assert_eq!(created["version"], 1);

    let second = account(
        &server,
        &acme.token,
        json!({ "name": "CV Sentosa", "annualRevenue": "0.3" }),
    )
    .await;
    assert_eq!(second["accountNo"], "ACC-00002");
    assert_eq!(second["annualRevenue"], "0.3");
}

#[tokio::test]
async fn bad_account_input_names_the_field_and_creates_nothing() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (inactive, _) = server.user(&acme, "old@acme.example.com", &["SALES"]).await;
    server
        .gql(
            Some(&acme.token),
            "mutation($id: ID!) { updateUser(id: $id, input: { version: 1, active: false }) { id } }",
            json!({ "id": inactive }),
        )
        .await;
    let cases = [
        (json!({ "name": " " }), "BAD_USER_INPUT", "name"),
        (
            json!({ "name": "A", "email": "nope" }),
            "BAD_USER_INPUT",
            "email",
        ),
        (
            json!({ "name": "A", "website": "not a site" }),
            "BAD_USER_INPUT",
            "website",
        ),
        (
            json!({ "name": "A", "phone": "call me" }),
            "BAD_USER_INPUT",
            "phone",
        ),
        (
            json!({ "name": "A", "industry": "Alchemy" }),
            "BAD_USER_INPUT",
            "industry",
        ),
        (
            json!({ "name": "A", "accountType": "Frenemy" }),
            "BAD_USER_INPUT",
            "accountType",
        ),
        (
            json!({ "name": "A", "annualRevenue": "-1" }),
            "BAD_USER_INPUT",
            "annualRevenue",
        ),
        (
            json!({ "name": "A", "annualRevenue": "1.00001" }),
            "BAD_USER_INPUT",
            "annualRevenue",
        ),
        (
            json!({ "name": "A", "employees": -3 }),
            "BAD_USER_INPUT",
            "employees",
        ),
        (
            json!({ "name": "A", "parentId": uuid::Uuid::now_v7().to_string() }),
            "NOT_FOUND",
            "parentId",
        ),
        (
            json!({ "name": "A", "parentId": "garbage" }),
            "BAD_USER_INPUT",
            "parentId",
        ),
        (
            json!({ "name": "A", "ownerId": inactive }),
            "NOT_FOUND",
            "ownerId",
        ),
        (json!({ "name": "x".repeat(256) }), "BAD_USER_INPUT", "name"),
    ];
    for (input, code, field) in cases {
        let response = server
            .gql(Some(&acme.token), CREATE_ACCOUNT, json!({ "input": input }))
            .await;
        assert_eq!(error_code(&response), code, "{field}: {response}");
        assert_eq!(error_field(&response), field, "{response}");
    }
    let count = server
        .gql(Some(&acme.token), ACCOUNT_COUNT, json!({}))
        .await;
    assert_eq!(count["data"]["accounts"]["totalCount"], 0);
}

#[tokio::test]
async fn updates_are_versioned_and_recorded_in_history() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let created = account(
        &server,
        &acme.token,
        json!({ "name": "Acme", "phone": "022 1234", "industry": "Retail" }),
    )
    .await;
    let id = created["id"].as_str().unwrap();

    let updated = server
        .gql(
            Some(&acme.token),
            UPDATE_ACCOUNT,
            json!({ "id": id, "input": { "version": 1, "name": "Acme Corp", "phone": null, "annualRevenue": "10.50" } }),
        )
        .await;
    let account = &updated["data"]["updateAccount"];
    assert_eq!(account["name"], "Acme Corp");
    assert_eq!(account["phone"], Value::Null, "null clears a field");
    assert_eq!(account["industry"], "Retail", "fields not given stay");
    assert_eq!(account["annualRevenue"], "10.5");
    assert_eq!(account["version"], 2);

    let stale = server
        .gql(
            Some(&acme.token),
            UPDATE_ACCOUNT,
            json!({ "id": id, "input": { "version": 1, "name": "Lost update" } }),
        )
        .await;
    assert_eq!(error_code(&stale), "CONFLICT");

    let history = server
        .gql(
            Some(&acme.token),
            "query($id: ID!) { history(recordId: $id) { action actor { email } changes { field old new } } }",
            json!({ "id": id }),
        )
        .await;
    let entries = history["data"]["history"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{history}");
    assert_eq!(entries[0]["action"], "created");
    assert_eq!(entries[0]["actor"]["email"], acme.admin_email);
    assert!(
        entries[0]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["field"] == "name" && c["new"] == "Acme")
    );
    assert_eq!(entries[1]["action"], "updated");
    let mut changes = entries[1]["changes"].as_array().unwrap().clone();
    changes.sort_by_key(|c| c["field"].as_str().unwrap().to_owned());
    assert_eq!(
        Value::Array(changes),
        json!([
            { "field": "annualRevenue", "old": null, "new": 105000 },
            { "field": "name", "old": "Acme", "new": "Acme Corp" },
            { "field": "phone", "old": "022 1234", "new": null },
        ])
    );
}

#[tokio::test]
async fn the_account_hierarchy_has_no_cycles() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let group = account_id(&server, &acme, "Group").await;
    let division = account(
        &server,
        &acme.token,
        json!({ "name": "Division", "parentId": group }),
    )
    .await;
    let division_id = division["id"].as_str().unwrap();
    let team = account(
        &server,
        &acme.token,
        json!({ "name": "Team", "parentId": division_id }),
    )
    .await;
    let team_id = team["id"].as_str().unwrap();

    for (target, parent) in [(group.as_str(), team_id), (division_id, division_id)] {
        let response = server
            .gql(
                Some(&acme.token),
                UPDATE_ACCOUNT,
                json!({ "id": target, "input": { "version": 1, "parentId": parent } }),
            )
            .await;
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{response}");
        assert_eq!(error_field(&response), "parentId");
    }
    let tree = server
        .gql(
            Some(&acme.token),
            "query($id: ID!) { account(id: $id) { name parent { name } children { name children { name } } } }",
            json!({ "id": division_id }),
        )
        .await;
    assert_eq!(
        tree["data"]["account"],
        json!({ "name": "Division", "parent": { "name": "Group" }, "children": [{ "name": "Team", "children": [] }] })
    );
}

#[tokio::test]
async fn deleted_records_wait_in_the_recycle_bin() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (_, sales) = server.user(&acme, "sam@acme.example.com", &["SALES"]).await;
    let id = account_id(&server, &acme, "Acme").await;
    const GET: &str = "query($id: ID!) { account(id: $id) { name version } }";

    let purge_live = server
        .gql(
            Some(&acme.token),
            "mutation($id: ID!) { purgeAccount(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        error_code(&purge_live),
        "NOT_FOUND",
        "only recycled records can be purged"
    );

    let deleted = server
        .gql(
            Some(&sales),
            "mutation($id: ID!) { deleteAccount(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(deleted["data"]["deleteAccount"], true, "{deleted}");
    assert_eq!(
        error_code(
            &server
                .gql(Some(&acme.token), GET, json!({ "id": id }))
                .await
        ),
        "NOT_FOUND"
    );
    let count = server
        .gql(Some(&acme.token), ACCOUNT_COUNT, json!({}))
        .await;
    assert_eq!(count["data"]["accounts"]["totalCount"], 0);
    let again = server
        .gql(
            Some(&sales),
            "mutation($id: ID!) { deleteAccount(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(error_code(&again), "NOT_FOUND");

    let restored = server
        .gql(
            Some(&sales),
            "mutation($id: ID!) { restoreAccount(id: $id) { name version } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        restored["data"]["restoreAccount"],
        json!({ "name": "Acme", "version": 3 })
    );
    let history = server
        .gql(
            Some(&acme.token),
            "query($id: ID!) { history(recordId: $id) { action } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        history["data"]["history"],
        json!([{ "action": "created" }, { "action": "deleted" }, { "action": "restored" }])
    );

    server
        .gql(
            Some(&sales),
            "mutation($id: ID!) { deleteAccount(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    let bin = server
        .gql(
            Some(&sales),
            "{ recycleBin(module: ACCOUNTS) { totalCount nodes { label module } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        bin["data"]["recycleBin"],
        json!({ "totalCount": 1, "nodes": [{ "label": "Acme", "module": "ACCOUNTS" }] }),
        "{bin}"
    );
    let by_sales = server
        .gql(
            Some(&sales),
            "mutation($id: ID!) { purgeAccount(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(error_code(&by_sales), "FORBIDDEN");
    let purged = server
        .gql(
            Some(&acme.token),
            "mutation($id: ID!) { purgeAccount(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(purged["data"]["purgeAccount"], true);
    let restore = server
        .gql(
            Some(&acme.token),
            "mutation($id: ID!) { restoreAccount(id: $id) { name } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(error_code(&restore), "NOT_FOUND");
}

#[tokio::test]
async fn contacts_link_to_accounts_and_filter_and_sort() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let maju = account_id(&server, &acme, "PT Maju").await;
    let other = account_id(&server, &acme, "CV Other").await;
    let boss = contact_id(
        &server,
        &acme.token,
        json!({ "firstName": "Budi", "lastName": "Santoso", "accountId": maju }),
    )
    .await;
    contact_id(&server, &acme.token, json!({ "firstName": "Siti", "lastName": "Aminah", "accountId": maju, "reportsToId": boss, "leadSource": "Trade Show", "email": "SITI@maju.co.id" })).await;
    contact_id(
        &server,
        &acme.token,
        json!({ "lastName": "Wijaya", "accountId": other }),
    )
    .await;

    let view = server
        .gql(
            Some(&acme.token),
            "query($id: ID!) { account(id: $id) { contacts { fullName reportsTo { fullName } account { name } } } }",
            json!({ "id": maju }),
        )
        .await;
    assert_eq!(
        view["data"]["account"]["contacts"],
        json!([
            { "fullName": "Siti Aminah", "reportsTo": { "fullName": "Budi Santoso" }, "account": { "name": "PT Maju" } },
            { "fullName": "Budi Santoso", "reportsTo": null, "account": { "name": "PT Maju" } },
        ])
    );

    const LIST: &str = "query($filter: ContactFilterInput, $order: ContactOrderBy) {
        contacts(filter: $filter, orderBy: $order) { totalCount nodes { lastName contactNo } } }";
    let names = |r: &Value| -> Vec<String> {
        r["data"]["contacts"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["lastName"].as_str().unwrap().to_owned())
            .collect()
    };
    let sorted = server
        .gql(
            Some(&acme.token),
            LIST,
            json!({ "order": { "field": "LAST_NAME", "direction": "DESC" } }),
        )
        .await;
    assert_eq!(names(&sorted), ["Wijaya", "Santoso", "Aminah"]);
    let at_maju = server
        .gql(Some(&acme.token), LIST, json!({ "filter": { "accountId": { "equals": maju } }, "order": { "field": "LAST_NAME" } }))
        .await;
    assert_eq!(names(&at_maju), ["Aminah", "Santoso"]);
    let by_email = server
        .gql(
            Some(&acme.token),
            LIST,
            json!({ "filter": { "email": { "contains": "MAJU.CO" } } }),
        )
        .await;
    assert_eq!(names(&by_email), ["Aminah"]);
    let by_source = server
        .gql(Some(&acme.token), LIST, json!({ "filter": { "leadSource": { "in": ["Trade Show", "Web Site"] }, "name": { "contains": "amin" } } }))
        .await;
    assert_eq!(names(&by_source), ["Aminah"]);
    let without_account = server
        .gql(
            Some(&acme.token),
            LIST,
            json!({ "filter": { "accountId": { "isNull": true } } }),
        )
        .await;
    assert_eq!(without_account["data"]["contacts"]["totalCount"], 0);

    let self_report = server
        .gql(
            Some(&acme.token),
            "mutation($id: ID!) { updateContact(id: $id, input: { version: 1, reportsToId: $id }) { id } }",
            json!({ "id": boss }),
        )
        .await;
    assert_eq!(error_field(&self_report), "reportsToId");
}

#[tokio::test]
async fn accounts_filter_by_ranges_and_sort_by_amount() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    for (name, revenue, employees) in [
        ("Small", "999.99", 5),
        ("Medium", "50000", 80),
        ("Large", "1000000.5", 900),
    ] {
        account(&server, &acme.token, json!({ "name": name, "annualRevenue": revenue, "employees": employees, "industry": "Retail" })).await;
    }
    const LIST: &str = "query($filter: AccountFilterInput, $order: AccountOrderBy) {
        accounts(filter: $filter, orderBy: $order) { nodes { name } } }";
    let names = |r: &Value| -> Vec<String> {
        r["data"]["accounts"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let mid = server
        .gql(Some(&acme.token), LIST, json!({ "filter": { "annualRevenue": { "min": "1000", "max": "1000000.5" } }, "order": { "field": "ANNUAL_REVENUE", "direction": "DESC" } }))
        .await;
    assert_eq!(names(&mid), ["Large", "Medium"]);
    let few = server
        .gql(
            Some(&acme.token),
            LIST,
            json!({ "filter": { "employees": { "max": 80 } }, "order": { "field": "EMPLOYEES" } }),
        )
        .await;
    assert_eq!(names(&few), ["Small", "Medium"]);
}

#[tokio::test]
async fn roles_follow_the_permission_matrix_which_admins_can_change() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (_, viewer) = server
        .user(&acme, "vic@acme.example.com", &["VIEWER"])
        .await;
    let (_, support) = server
        .user(&acme, "sue@acme.example.com", &["SUPPORT"])
        .await;
    let (_, sales) = server.user(&acme, "sam@acme.example.com", &["SALES"]).await;
    account_id(&server, &acme, "Existing").await;

    let create = |token: String| {
        let server = &server;
        async move {
            server
                .gql(
                    Some(&token),
                    CREATE_ACCOUNT,
                    json!({ "input": { "name": "New" } }),
                )
                .await
        }
    };
    assert_eq!(error_code(&create(viewer.clone()).await), "FORBIDDEN");
    assert_eq!(error_code(&create(support.clone()).await), "FORBIDDEN");
    assert_eq!(
        create(sales.clone()).await["data"]["createAccount"]["name"],
        "New"
    );
    let read = server.gql(Some(&viewer), ACCOUNT_COUNT, json!({})).await;
    assert_eq!(read["data"]["accounts"]["totalCount"], 2, "viewers read");

    const SET: &str = "mutation($role: Role!, $module: Module!, $read: Boolean!, $write: Boolean!) {
        setPermission(role: $role, module: $module, read: $read, write: $write) { role module read write } }";
    let by_sales = server
        .gql(
            Some(&sales),
            SET,
            json!({ "role": "SUPPORT", "module": "ACCOUNTS", "read": true, "write": true }),
        )
        .await;
    assert_eq!(error_code(&by_sales), "FORBIDDEN");
    let on_admin = server
        .gql(
            Some(&acme.token),
            SET,
            json!({ "role": "ADMIN", "module": "ACCOUNTS", "read": false, "write": false }),
        )
        .await;
    assert_eq!(error_field(&on_admin), "role");

    let granted = server
        .gql(
            Some(&acme.token),
            SET,
            json!({ "role": "SUPPORT", "module": "ACCOUNTS", "read": true, "write": true }),
        )
        .await;
    assert_eq!(
        granted["data"]["setPermission"],
        json!({ "role": "SUPPORT", "module": "ACCOUNTS", "read": true, "write": true })
    );
    assert_eq!(
        create(support.clone()).await["data"]["createAccount"]["name"],
        "New"
    );

    server
        .gql(
            Some(&acme.token),
            SET,
            json!({ "role": "SALES", "module": "CONTACTS", "read": false, "write": false }),
        )
        .await;
    let hidden = server
        .gql(Some(&sales), "{ contacts { totalCount } }", json!({}))
        .await;
    assert_eq!(error_code(&hidden), "FORBIDDEN");

    let matrix = server
        .gql(
            Some(&viewer),
            "{ permissions { role module read write } }",
            json!({}),
        )
        .await;
    let rows = matrix["data"]["permissions"].as_array().unwrap();
    assert!(rows.contains(
        &json!({ "role": "SALES", "module": "CONTACTS", "read": false, "write": false })
    ));
    assert!(rows.contains(
        &json!({ "role": "VIEWER", "module": "ACCOUNTS", "read": true, "write": false })
    ));
}

#[tokio::test]
async fn admins_shape_picklists_and_inputs_must_use_them() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (_, sales) = server.user(&acme, "sam@acme.example.com", &["SALES"]).await;
    const VALUES: &str = "{ picklist(name: \"industry\") { id value active position } }";
    let values = server.gql(Some(&sales), VALUES, json!({})).await;
    let list = values["data"]["picklist"].as_array().unwrap();
    assert_eq!(list[0]["value"], "Apparel");
    let banking = list.iter().find(|v| v["value"] == "Banking").unwrap()["id"].clone();

    const ADD: &str = "mutation { addPicklistValue(picklist: \"industry\", value: \"Mining\") { id value position } }";
    assert_eq!(
        error_code(&server.gql(Some(&sales), ADD, json!({})).await),
        "FORBIDDEN"
    );
    let added = server.gql(Some(&acme.token), ADD, json!({})).await;
    assert_eq!(added["data"]["addPicklistValue"]["value"], "Mining");
    let duplicate = server.gql(Some(&acme.token), ADD, json!({})).await;
    assert_eq!(error_field(&duplicate), "value");
    assert_eq!(
        account(
            &server,
            &sales,
            json!({ "name": "Tambang", "industry": "Mining" })
        )
        .await["industry"],
        "Mining"
    );

    let retired = server
        .gql(
            Some(&acme.token),
            "mutation($id: ID!) { setPicklistValueActive(id: $id, active: false) { active } }",
            json!({ "id": banking }),
        )
        .await;
    assert_eq!(retired["data"]["setPicklistValueActive"]["active"], false);
    let refused = server
        .gql(
            Some(&sales),
            CREATE_ACCOUNT,
            json!({ "input": { "name": "Bank", "industry": "Banking" } }),
        )
        .await;
    assert_eq!(error_field(&refused), "industry");

    let unknown = server
        .gql(
            Some(&sales),
            "{ picklist(name: \"flavours\") { value } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&unknown), "BAD_USER_INPUT");
}

#[tokio::test]
async fn tenant_b_is_blind_to_tenant_a_accounts_and_contacts() {
    let server = TestServer::start().await;
    let a = server.tenant("tenant-a").await;
    let b = server.tenant("tenant-b").await;
    let account = account_id(&server, &a, "Secret Account").await;
    let contact = contact_id(
        &server,
        &a.token,
        json!({ "lastName": "Secret", "accountId": account }),
    )
    .await;
    server
        .gql(
            Some(&a.token),
            "mutation { addPicklistValue(picklist: \"industry\", value: \"Only A\") { id } }",
            json!({}),
        )
        .await;

    for (query, variables) in [
        (
            "query($id: ID!) { account(id: $id) { name } }",
            json!({ "id": account }),
        ),
        (
            "query($id: ID!) { contact(id: $id) { lastName } }",
            json!({ "id": contact }),
        ),
        (
            "mutation($id: ID!) { updateAccount(id: $id, input: { version: 1, name: \"x\" }) { id } }",
            json!({ "id": account }),
        ),
        (
            "mutation($id: ID!) { updateContact(id: $id, input: { version: 1, lastName: \"x\" }) { id } }",
            json!({ "id": contact }),
        ),
        (
            "mutation($id: ID!) { deleteAccount(id: $id) }",
            json!({ "id": account }),
        ),
        (
            "mutation($id: ID!) { deleteContact(id: $id) }",
            json!({ "id": contact }),
        ),
        (
            "mutation($id: ID!) { restoreAccount(id: $id) { id } }",
            json!({ "id": account }),
        ),
        (
            "mutation($id: ID!) { purgeContact(id: $id) }",
            json!({ "id": contact }),
        ),
    ] {
        let response = server.gql(Some(&b.token), query, variables).await;
        assert_eq!(error_code(&response), "NOT_FOUND", "{query}: {response}");
    }

    let reference = server
        .gql(
            Some(&b.token),
            CREATE_CONTACT,
            json!({ "input": { "lastName": "Spy", "accountId": account, "reportsToId": contact } }),
        )
        .await;
    assert_eq!(error_code(&reference), "NOT_FOUND");
    assert_eq!(error_field(&reference), "accountId");
    let parent = server
        .gql(
            Some(&b.token),
            CREATE_ACCOUNT,
            json!({ "input": { "name": "Spy", "parentId": account } }),
        )
        .await;
    assert_eq!(error_field(&parent), "parentId");
    let only_a = server
        .gql(
            Some(&b.token),
            CREATE_ACCOUNT,
            json!({ "input": { "name": "B", "industry": "Only A" } }),
        )
        .await;
    assert_eq!(error_field(&only_a), "industry");

    account_id(&server, &b, "Mine").await;
    let lists = server
        .gql(
            Some(&b.token),
            "{ accounts { totalCount } contacts { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        lists["data"],
        json!({ "accounts": { "totalCount": 1 }, "contacts": { "totalCount": 0 } })
    );
    let history = server
        .gql(
            Some(&b.token),
            "query($id: ID!) { history(recordId: $id) { action } }",
            json!({ "id": account }),
        )
        .await;
    assert_eq!(history["data"]["history"], json!([]));
    // B's own first account still gets B's first number.
    let numbers = server
        .gql(
            Some(&b.token),
            "{ accounts { nodes { accountNo } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        numbers["data"]["accounts"]["nodes"],
        json!([{ "accountNo": "ACC-00001" }])
    );

    // What A throws away is not in B's recycle bin.
    server
        .gql(
            Some(&a.token),
            "mutation { createAccount(input: { name: \"Scrap\" }) { id } }",
            json!({}),
        )
        .await;
    let scrap = server
        .gql(
            Some(&a.token),
            "{ accounts(filter: { name: { equals: \"Scrap\" } }) { nodes { id } } }",
            json!({}),
        )
        .await["data"]["accounts"]["nodes"][0]["id"]
        .clone();
    server
        .gql(
            Some(&a.token),
            "mutation($id: ID!) { deleteAccount(id: $id) }",
            json!({ "id": scrap }),
        )
        .await;
    let b_bin = server
        .gql(
            Some(&b.token),
            "{ recycleBin(module: ACCOUNTS) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(b_bin["data"]["recycleBin"]["totalCount"], 0);
    // Tenant A's data is untouched.
    let still = server
        .gql(
            Some(&a.token),
            "query($id: ID!) { contact(id: $id) { lastName version account { name } } }",
            json!({ "id": contact }),
        )
        .await;
    assert_eq!(
        still["data"]["contact"],
        json!({ "lastName": "Secret", "version": 1, "account": { "name": "Secret Account" } })
    );
}

#[tokio::test]
async fn listing_contacts_with_relations_runs_a_fixed_number_of_statements() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (owner, _) = server
        .user(&acme, "owner@acme.example.com", &["SALES"])
        .await;
    for n in 0..12 {
        let account = account(
            &server,
            &acme.token,
            json!({ "name": format!("Account {n}"), "ownerId": owner }),
        )
        .await;
        let person = contact_id(&server, &acme.token, json!({ "lastName": format!("Person {n}"), "accountId": account["id"], "ownerId": owner })).await;
        server
            .gql(Some(&acme.token), "mutation($c: ID!) { createTicket(input: { title: \"Help\", contactId: $c }) { id } }", json!({ "c": person }))
            .await;
    }
    const QUERY: &str = "query($first: Int!) { contacts(first: $first) { nodes {
        fullName owner { email } tickets(open: true) { title }
        account { name owner { email } contacts { fullName } } } } }";
    let mut counts = Vec::new();
    for first in [2, 12] {
        let before = server.app.statements.load(Ordering::SeqCst);
        let response = server
            .gql(Some(&acme.token), QUERY, json!({ "first": first }))
            .await;
        let after = server.app.statements.load(Ordering::SeqCst);
        let nodes = response["data"]["contacts"]["nodes"]
            .as_array()
            .unwrap_or_else(|| panic!("{response}"));
        assert_eq!(nodes.len(), first as usize);
        assert_eq!(
            nodes[0]["account"]["owner"]["email"],
            "owner@acme.example.com"
        );
        counts.push(after - before);
    }
    // Sign-in (user, permissions), the page (count, rows), then one batch per relation level:
    // owners, tickets, accounts, the accounts' contacts, the accounts' owners: 9. A little
    // slack is allowed; N+1 would add a statement per row (10 more here) and still fail.
    assert!(
        counts[1] <= counts[0] + 2,
        "statements grow with the page size: {counts:?}"
    );
    assert!(
        counts[0] <= 11 && counts[1] <= 11,
        "too many statements for one page: {counts:?}"
    );
}

/// Past 30 rows async-graphql resolves a list through another kind of join: each relation is
/// still loaded once for the whole page, and each row gets its own account.
#[tokio::test]
async fn a_long_page_loads_each_relation_once() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    for n in 0..45 {
        let account = account(
            &server,
            &acme.token,
            json!({ "name": format!("Account {n:02}") }),
        )
        .await;
        contact_id(
            &server,
            &acme.token,
            json!({ "lastName": format!("Person {n:02}"), "accountId": account["id"] }),
        )
        .await;
    }
    const QUERY: &str = "query($first: Int!) { contacts(first: $first, orderBy: {field: LAST_NAME}) \
        { nodes { lastName account { name } } } }";
    let mut counts = Vec::new();
    for first in [3, 45] {
        let before = server.app.statements.load(Ordering::SeqCst);
        let response = server
            .gql(Some(&acme.token), QUERY, json!({ "first": first }))
            .await;
        counts.push(server.app.statements.load(Ordering::SeqCst) - before);
        let nodes = response["data"]["contacts"]["nodes"]
            .as_array()
            .unwrap_or_else(|| panic!("{response}"));
        assert_eq!(nodes.len(), first as usize);
        for (n, node) in nodes.iter().enumerate() {
            assert_eq!(node["lastName"], format!("Person {n:02}"));
            assert_eq!(node["account"]["name"], format!("Account {n:02}"));
        }
    }
    assert_eq!(
        counts[0], counts[1],
        "statements grow with the page: {counts:?}"
    );
}

#[tokio::test]
async fn search_ranks_matches_across_modules_within_the_tenant() {
    let server = TestServer::start().await;
    let a = server.tenant("tenant-a").await;
    let b = server.tenant("tenant-b").await;
    account_id(&server, &a, "Acme Corp").await;
    account_id(&server, &a, "Acme").await;
    account_id(&server, &a, "Megacme").await;
    account_id(&server, &b, "Acme").await;
    contact_id(
        &server,
        &a.token,
        json!({ "lastName": "Budi", "email": "budi@ACME.example" }),
    )
    .await;
    server
        .gql(
            Some(&a.token),
            "mutation { createLead(input: { lastName: \"Lee\", company: \"Acme Labs\" }) { id } }",
            json!({}),
        )
        .await;

    const SEARCH: &str = "query($text: String!, $modules: [Module!]) { search(text: $text, modules: $modules) { module label score } }";
    let found = server
        .gql(Some(&a.token), SEARCH, json!({ "text": "ACME" }))
        .await;
    let hits = found["data"]["search"]
        .as_array()
        .unwrap_or_else(|| panic!("{found}"));
    let labels: Vec<&str> = hits.iter().map(|h| h["label"].as_str().unwrap()).collect();
    assert_eq!(
        labels,
        ["Acme", "Acme Corp", "Lee (Acme Labs)", "Budi", "Megacme"],
        "{found}"
    );
    assert_eq!(
        hits[0],
        json!({ "module": "ACCOUNTS", "label": "Acme", "score": 100 })
    );

    let only_contacts = server
        .gql(
            Some(&a.token),
            SEARCH,
            json!({ "text": "acme", "modules": ["CONTACTS"] }),
        )
        .await;
    assert_eq!(
        only_contacts["data"]["search"],
        json!([{ "module": "CONTACTS", "label": "Budi", "score": 10 }])
    );

    let b_found = server
        .gql(Some(&b.token), SEARCH, json!({ "text": "acme" }))
        .await;
    assert_eq!(
        b_found["data"]["search"],
        json!([{ "module": "ACCOUNTS", "label": "Acme", "score": 100 }])
    );

    server
        .gql(Some(&a.token), "mutation { setPermission(role: VIEWER, module: LEADS, read: false, write: false) { read } }", json!({}))
        .await;
    let (_, viewer) = server.user(&a, "vic@a.example.com", &["VIEWER"]).await;
    let viewer_found = server
        .gql(Some(&viewer), SEARCH, json!({ "text": "acme" }))
        .await;
    let modules: Vec<&str> = viewer_found["data"]["search"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["module"].as_str().unwrap())
        .collect();
    assert!(!modules.contains(&"LEADS"), "{viewer_found}");

    let short = server
        .gql(Some(&a.token), SEARCH, json!({ "text": " a " }))
        .await;
    assert_eq!(error_field(&short), "text");
}

#[tokio::test]
async fn a_list_pages_forward_in_one_statement_and_counts_only_when_asked() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    for n in 0..5 {
        contact_id(
            &server,
            &acme.token,
            json!({ "lastName": format!("Person {n}") }),
        )
        .await;
    }
    const PAGE: &str = "query($after: String) { contacts(first: 2, after: $after) {
        pageInfo { hasNextPage hasPreviousPage endCursor } nodes { lastName } } }";
    const COUNTED: &str = "query { contacts(first: 2) { totalCount nodes { lastName } } }";
    let statements = |query: &'static str, variables: Value| {
        let server = &server;
        let token = acme.token.clone();
        async move {
            let before = server.app.statements.load(Ordering::SeqCst);
            let response = server.gql(Some(&token), query, variables).await;
            (
                server.app.statements.load(Ordering::SeqCst) - before,
                response,
            )
        }
    };
    let (plain, first) = statements(PAGE, json!({})).await;
    let (counted, with_total) = statements(COUNTED, json!({})).await;
    assert_eq!(
        with_total["data"]["contacts"]["totalCount"], 5,
        "{with_total}"
    );
    assert_eq!(
        counted,
        plain + 1,
        "totalCount costs one statement, and only it"
    );

    // Walking forward: the extra row tells whether a page follows.
    let mut page = first;
    let mut seen = Vec::new();
    for number in 0.. {
        let contacts = &page["data"]["contacts"];
        for node in contacts["nodes"]
            .as_array()
            .unwrap_or_else(|| panic!("{page}"))
        {
            seen.push(node["lastName"].as_str().unwrap().to_owned());
        }
        assert_eq!(contacts["pageInfo"]["hasPreviousPage"], number > 0);
        if contacts["pageInfo"]["hasNextPage"] == false {
            break;
        }
        let after = contacts["pageInfo"]["endCursor"].clone();
        page = server
            .gql(Some(&acme.token), PAGE, json!({ "after": after }))
            .await;
    }
    seen.sort();
    let expected: Vec<String> = (0..5).map(|n| format!("Person {n}")).collect();
    assert_eq!(seen, expected);
}

/// Every page of `query` (which takes `$first`/`$after` or `$last`/`$before`), walked to the
/// end forwards or backwards, as the names in list order.
async fn walk(
    server: &TestServer,
    token: &str,
    query: &str,
    order: &Value,
    backwards: bool,
) -> Vec<String> {
    let mut names = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let variables = if backwards {
            json!({ "order": order, "last": 2, "before": cursor })
        } else {
            json!({ "order": order, "first": 2, "after": cursor })
        };
        let page = server.gql(Some(token), query, variables).await;
        let accounts = &page["data"]["accounts"];
        let mut batch: Vec<String> = accounts["nodes"]
            .as_array()
            .unwrap_or_else(|| panic!("{page}"))
            .iter()
            .map(|n| n["name"].as_str().unwrap().to_owned())
            .collect();
        let info = &accounts["pageInfo"];
        if backwards {
            batch.extend(names);
            names = batch;
            if info["hasPreviousPage"] == false {
                return names;
            }
            cursor = info["startCursor"].clone();
        } else {
            names.extend(batch);
            if info["hasNextPage"] == false {
                return names;
            }
            cursor = info["endCursor"].clone();
        }
    }
}

#[tokio::test]
async fn every_order_pages_forwards_and_backwards_through_ties_and_empty_values() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    // Ties and empty values in every sortable column.
    for (name, industry, revenue, employees) in [
        ("Delta", json!("Banking"), json!("500"), json!(10)),
        ("Alpha", Value::Null, Value::Null, json!(10)),
        ("Echo", json!("Banking"), json!("100"), Value::Null),
        ("Bravo", json!("Retail"), Value::Null, json!(3)),
        ("Charlie", Value::Null, json!("100"), json!(7)),
        ("Alpha", json!("Retail"), json!("900"), Value::Null),
        ("Foxtrot", json!("Banking"), json!("100"), json!(3)),
    ] {
        account(
            &server,
            &acme.token,
            json!({
                "name": name, "industry": industry, "annualRevenue": revenue, "employees": employees
            }),
        )
        .await;
    }
    const PAGE: &str = "query($order: AccountOrderBy, $first: Int, $after: String, $last: Int, $before: String) {
        accounts(orderBy: $order, first: $first, after: $after, last: $last, before: $before) {
            pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { name industry } } }";
    let fields = [
        "NAME",
        "ACCOUNT_NO",
        "INDUSTRY",
        "ANNUAL_REVENUE",
        "EMPLOYEES",
        "CREATED_AT",
        "UPDATED_AT",
    ];
    for field in fields {
        for direction in ["ASC", "DESC"] {
            let order = json!({ "field": field, "direction": direction });
            let all = server
                .gql(
                    Some(&acme.token),
                    PAGE,
                    json!({ "order": order, "first": 100 }),
                )
                .await;
            let all_names: Vec<String> = all["data"]["accounts"]["nodes"]
                .as_array()
                .unwrap_or_else(|| panic!("{all}"))
                .iter()
                .map(|n| n["name"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(all_names.len(), 7, "{all}");
            let forwards = walk(&server, &acme.token, PAGE, &order, false).await;
            assert_eq!(forwards, all_names, "{field} {direction} forwards");
            let backwards = walk(&server, &acme.token, PAGE, &order, true).await;
            assert_eq!(backwards, all_names, "{field} {direction} backwards");
            if field == "INDUSTRY" {
                // Empty values come after every value ascending, before them descending.
                let industries: Vec<&Value> = all["data"]["accounts"]["nodes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| &n["industry"])
                    .collect();
                let nulls_at = if direction == "ASC" { 5..7 } else { 0..2 };
                for (i, industry) in industries.iter().enumerate() {
                    assert_eq!(industry.is_null(), nulls_at.contains(&i), "{all}");
                }
            }
        }
    }

    // A cursor holds its place: a row added before it does not shift the next page.
    let by_name = json!({ "field": "NAME", "direction": "ASC" });
    let first = server
        .gql(
            Some(&acme.token),
            PAGE,
            json!({ "order": by_name, "first": 3 }),
        )
        .await;
    let end = first["data"]["accounts"]["pageInfo"]["endCursor"].clone();
    account(&server, &acme.token, json!({ "name": "Aardvark" })).await;
    let next = server
        .gql(
            Some(&acme.token),
            PAGE,
            json!({ "order": by_name, "first": 2, "after": end }),
        )
        .await;
    let names: Vec<&str> = next["data"]["accounts"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{next}"))
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Charlie", "Delta"], "{next}");

    // A cursor belongs to the order that made it.
    let by_revenue = json!({ "field": "ANNUAL_REVENUE", "direction": "ASC" });
    let elsewhere = server
        .gql(
            Some(&acme.token),
            PAGE,
            json!({ "order": by_revenue, "first": 2, "after": end }),
        )
        .await;
    assert_eq!(error_code(&elsewhere), "BAD_USER_INPUT", "{elsewhere}");
    assert_eq!(error_field(&elsewhere), "after");
}
