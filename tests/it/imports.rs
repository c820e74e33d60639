//! `POST /import/{module}`: CSV files become records, Vtiger's own exports included.

use serde_json::{Value, json};

use crate::common::{Tenant, TestServer, error_code};

const VTIGER_ACCOUNTS: &str = include_str!("fixtures/vtiger-accounts.csv");
const VTIGER_CONTACTS: &str = include_str!("fixtures/vtiger-contacts.csv");
const VTIGER_LEADS: &str = include_str!("fixtures/vtiger-leads.csv");
const VTIGER_POTENTIALS: &str = include_str!("fixtures/vtiger-potentials.csv");

/// Posts a CSV file; answers the status and the JSON answer.
async fn import(
    server: &TestServer,
    token: &str,
    module: &str,
    query: &[(&str, &str)],
    csv: &str,
) -> (u16, Value) {
    let response = server
        .http()
        .post(server.url(&format!("/import/{module}")))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .query(query)
        .body(csv.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn contacts(server: &TestServer, tenant: &Tenant) -> Vec<Value> {
    let answer = server
        .gql(
            Some(&tenant.token),
            "{ contacts(first: 100, orderBy: { field: LAST_NAME }) { nodes { firstName lastName email title department birthday doNotCall emailOptOut mailingAddress { city country } account { name } } } }",
            json!({}),
        )
        .await;
    answer["data"]["contacts"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .clone()
}

#[tokio::test]
async fn vtiger_exports_of_accounts_contacts_and_leads_import_unedited() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;

    let (status, report) = import(&server, &acme.token, "accounts", &[], VTIGER_ACCOUNTS).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["created"], 2, "{report}");
    let job = server
        .gql(
            Some(&acme.token),
            "query($id: ID!) { importJob(id: $id) { status created } }",
            json!({ "id": report["jobId"] }),
        )
        .await;
    assert_eq!(
        job["data"]["importJob"],
        json!({ "status": "done", "created": 2 }),
        "{job}"
    );
    assert_eq!(report["failed"], 0, "{report}");
    let columns = report["columns"].as_array().unwrap();
    let field_of =
        |header: &str| columns.iter().find(|c| c["header"] == header).unwrap()["field"].clone();
    assert_eq!(field_of("Account Name"), "name");
    assert_eq!(field_of("Billing Code"), "billingPostalCode");
    assert_eq!(field_of("Ticker Symbol"), Value::Null);

    let (_, report) = import(&server, &acme.token, "contacts", &[], VTIGER_CONTACTS).await;
    assert_eq!(
        (report["created"].clone(), report["failed"].clone()),
        (json!(2), json!(0)),
        "{report}"
    );
    let (_, report) = import(&server, &acme.token, "leads", &[], VTIGER_LEADS).await;
    assert_eq!(report["created"], 1, "{report}");
    let (_, report) = import(
        &server,
        &acme.token,
        "opportunities",
        &[],
        VTIGER_POTENTIALS,
    )
    .await;
    assert_eq!(report["created"], 1, "{report}");
    let deals = server
        .gql(Some(&acme.token), "{ opportunities(first: 5) { nodes { name amount expectedCloseDate salesStage nextStep account { name } } } }", json!({}))
        .await;
    let deal = &deals["data"]["opportunities"]["nodes"][0];
    assert_eq!(deal["name"], "Sinar Jaya POS rollout", "{deals}");
    assert_eq!(deal["amount"], "750000000");
    assert_eq!(deal["expectedCloseDate"], "2024-06-30");
    assert_eq!(deal["account"]["name"], "PT Sinar Jaya");
    assert_eq!(deal["nextStep"], "Send final quote");
    // The pipeline process drives the stage: the deal starts where the process starts.
    assert_eq!(deal["salesStage"], "Prospecting");

    let accounts = server
        .gql(
            Some(&acme.token),
            "{ accounts(first: 10, orderBy: { field: NAME }) { nodes { name industry accountType employees annualRevenue website billingAddress { street city postalCode country } description } } }",
            json!({}),
        )
        .await;
    let nodes = &accounts["data"]["accounts"]["nodes"];
    assert_eq!(nodes[0]["name"], "CV Maju Bersama");
    assert_eq!(nodes[0]["description"], "Met at the \"Bandung Expo\", 2024");
    assert_eq!(nodes[1]["name"], "PT Sinar Jaya");
    assert_eq!(nodes[1]["industry"], "Retail");
    assert_eq!(nodes[1]["accountType"], "Customer");
    assert_eq!(nodes[1]["employees"], 120);
    assert_eq!(nodes[1]["annualRevenue"], "1250000");
    assert_eq!(nodes[1]["billingAddress"]["postalCode"], "10210");

    let people = contacts(&server, &acme).await;
    let rahayu = &people[0];
    assert_eq!(rahayu["lastName"], "Rahayu");
    assert_eq!(rahayu["account"]["name"], "CV Maju Bersama");
    assert_eq!(rahayu["emailOptOut"], true);
    let santoso = &people[1];
    assert_eq!(santoso["firstName"], "Budi");
    assert_eq!(santoso["account"]["name"], "PT Sinar Jaya");
    assert_eq!(santoso["birthday"], "1985-04-12");
    assert_eq!(santoso["doNotCall"], true);
    assert_eq!(santoso["mailingAddress"]["city"], "Jakarta");

    let leads = server
        .gql(Some(&acme.token), "{ leads(first: 5) { nodes { lastName company title leadSource employees city: address { city } } } }", json!({}))
        .await;
    let lead = &leads["data"]["leads"]["nodes"][0];
    assert_eq!(lead["company"], "PT Karya Timur", "{leads}");
    assert_eq!(lead["title"], "Director");
    assert_eq!(lead["city"]["city"], "Surabaya");
}

#[tokio::test]
async fn a_dry_run_reports_every_problem_with_its_line_and_changes_nothing() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let csv = "lastName,email,birthday,accountName,doNotCall\n\
               Good,good@example.com,1990-01-31,,0\n\
               ,nobody@example.com,,,\n\
               Bad date,bad@example.com,31/01/1990,,\n\
               \"Multi\nline\",not-an-email,,,\n\
               Orphan,o@example.com,,No Such Account,\n\
               Flag,f@example.com,,,perhaps\n";
    let (status, report) =
        import(&server, &acme.token, "contacts", &[("dryRun", "true")], csv).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["dryRun"], true);
    assert_eq!(report["rows"], 6);
    assert_eq!(report["created"], 1);
    assert_eq!(report["failed"], 5);
    let problems: Vec<(i64, String)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["line"].as_i64().unwrap(),
                p["field"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let expected = [
        (3, "lastName"),
        (4, "birthday"),
        (5, "email"),
        (7, "accountName"),
        (8, "doNotCall"),
    ];
    assert_eq!(
        problems,
        expected.map(|(line, field)| (line, field.to_owned())),
        "{report}"
    );
    assert!(
        contacts(&server, &acme).await.is_empty(),
        "a dry run changes nothing"
    );

    // The real run creates the good row and reports the same problems.
    let (_, report) = import(&server, &acme.token, "contacts", &[], csv).await;
    assert_eq!(
        (report["created"].clone(), report["failed"].clone()),
        (json!(1), json!(5))
    );
    assert_eq!(contacts(&server, &acme).await.len(), 1);
}

#[tokio::test]
async fn duplicates_found_by_a_key_are_skipped_updated_or_created() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let first = "lastName,email,title\nSantoso,budi@example.com,Buyer\n";
    import(&server, &acme.token, "contacts", &[], first).await;
    let again = "Last Name,Email,Title\nSantoso,Budi@Example.com,Head of Purchasing\nRahayu,siti@example.com,Owner\n";

    let (_, skipped) = import(
        &server,
        &acme.token,
        "contacts",
        &[("key", "email"), ("onDuplicate", "skip")],
        again,
    )
    .await;
    assert_eq!(
        (skipped["skipped"].clone(), skipped["created"].clone()),
        (json!(1), json!(1)),
        "{skipped}"
    );
    let (_, updated) = import(
        &server,
        &acme.token,
        "contacts",
        &[("key", "email"), ("onDuplicate", "update")],
        again,
    )
    .await;
    assert_eq!(
        (updated["updated"].clone(), updated["created"].clone()),
        (json!(2), json!(0)),
        "{updated}"
    );
    let people = contacts(&server, &acme).await;
    assert_eq!(people.len(), 2);
    assert_eq!(people[1]["title"], "Head of Purchasing");
    let (_, created) = import(
        &server,
        &acme.token,
        "contacts",
        &[("key", "email"), ("onDuplicate", "create")],
        again,
    )
    .await;
    assert_eq!(created["created"], 2);
    assert_eq!(contacts(&server, &acme).await.len(), 4);

    let (status, bad) = import(
        &server,
        &acme.token,
        "contacts",
        &[("key", "shoeSize")],
        again,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(bad["errors"][0]["extensions"]["field"], "key");
    let (status, bad) = import(
        &server,
        &acme.token,
        "contacts",
        &[("mapping", "{\"Title\": \"nope\"}")],
        again,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(bad["errors"][0]["extensions"]["field"], "mapping.Title");
}

#[tokio::test]
async fn an_export_imports_into_another_tenant_as_the_same_records() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let globex = server.tenant("globex").await;
    for (first, last, email, title) in [
        ("Budi", "Santoso", "budi@example.com", "Buyer, \"senior\""),
        ("Siti", "Rahayu", "siti@example.com", "Owner"),
        ("", "Tan", "", "=1+1"),
    ] {
        let input = json!({ "firstName": first, "lastName": last, "email": email, "title": title, "birthday": "1990-05-01", "doNotCall": true });
        let created = server
            .gql(
                Some(&acme.token),
                "mutation($input: CreateContactInput!) { createContact(input: $input) { id } }",
                json!({ "input": input }),
            )
            .await;
        assert!(created["errors"].is_null(), "{created}");
    }
    let exported = server
        .http()
        .get(server.url("/export/contacts.csv"))
        .bearer_auth(&acme.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (_, report) = import(&server, &globex.token, "contacts", &[], &exported).await;
    assert_eq!(report["created"], 3, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
    let original = contacts(&server, &acme).await;
    let copy = contacts(&server, &globex).await;
    // A formula-looking cell is exported with a leading quote, which a spreadsheet hides.
    let unguard = |mut people: Vec<Value>| {
        for person in &mut people {
            if person["title"] == "'=1+1" {
                person["title"] = json!("=1+1");
            }
        }
        people
    };
    assert_eq!(unguard(copy), original);
}

#[tokio::test]
async fn imports_are_permitted_scoped_and_limited_to_modules_that_have_them() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let globex = server.tenant("globex").await;
    server
        .gql(
            Some(&globex.token),
            "mutation { createAccount(input: { name: \"Globex Corp\" }) { id } }",
            json!({}),
        )
        .await;
    // Another tenant's account is not there to link to.
    let (_, report) = import(
        &server,
        &acme.token,
        "contacts",
        &[],
        "lastName,accountName\nTan,Globex Corp\n",
    )
    .await;
    assert_eq!(report["failed"], 1, "{report}");
    assert_eq!(report["problems"][0]["field"], "accountName");

    let (_, viewer) = server
        .user(&acme, "viewer@acme.example.com", &["VIEWER"])
        .await;
    let (status, refused) = import(&server, &viewer, "contacts", &[], "lastName\nTan\n").await;
    assert_eq!(status, 403);
    assert_eq!(error_code(&refused), "FORBIDDEN");
    let (status, _) = import(&server, &acme.token, "tickets", &[], "title\nBroken\n").await;
    assert_eq!(status, 400);
    let (status, _) = import(&server, &acme.token, "nothing", &[], "name\nX\n").await;
    assert_eq!(status, 404);
    let anonymous = server
        .http()
        .post(server.url("/import/contacts"))
        .body("lastName\nTan\n")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(contacts(&server, &acme).await.is_empty());
}

#[tokio::test]
async fn an_import_is_a_job_followed_to_its_report() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let globex = server.tenant("globex").await;
    let mut csv = String::from("Last Name,Email\n");
    for n in 0..1200 {
        csv.push_str(&format!("Person {n},p{n}@example.com\n"));
    }
    csv.push_str("Broken,not-an-email\n");
    let response = server
        .http()
        .post(server.url("/import/contacts?wait=false"))
        .bearer_auth(&acme.token)
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let job_id = response.json::<Value>().await.unwrap()["jobId"]
        .as_str()
        .unwrap()
        .to_owned();

    let mut socket = crate::common::ws::WsClient::connect_authenticated(&server, &acme.token).await;
    socket
        .send(json!({ "type": "subscribe", "id": "job", "payload": {
            "query": "subscription($id: ID!) { importJobChanged(id: $id) { status rows created failed } }",
            "variables": { "id": job_id }
        }}))
        .await;
    let mut states = Vec::new();
    loop {
        let Some(crate::common::ws::Received::Json(message)) =
            socket.receive(std::time::Duration::from_secs(20)).await
        else {
            panic!("no end of the job: {states:?}");
        };
        match message["type"].as_str() {
            Some("next") => states.push(message["payload"]["data"]["importJobChanged"].clone()),
            Some("complete") => break,
            _ => panic!("{message}"),
        }
    }
    let last = states.last().unwrap();
    assert_eq!(
        last,
        &json!({ "status": "done", "rows": 1201, "created": 1200, "failed": 1 }),
        "{states:?}"
    );
    let rows: Vec<i64> = states.iter().map(|s| s["rows"].as_i64().unwrap()).collect();
    assert!(
        rows.windows(2).all(|w| w[0] <= w[1]),
        "progress only grows: {rows:?}"
    );

    let query =
        "query($id: ID!) { importJob(id: $id) { status module dryRun created report finishedAt } }";
    let job = server
        .gql(Some(&acme.token), query, json!({ "id": job_id }))
        .await;
    let job = &job["data"]["importJob"];
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["module"], "CONTACTS");
    assert_eq!(job["report"]["problems"][0]["line"], 1202);
    assert_eq!(job["report"]["problems"][0]["field"], "email");
    assert!(job["finishedAt"].is_string());

    // Another tenant's job is not there; a viewer may not see imports.
    let other = server
        .gql(Some(&globex.token), query, json!({ "id": job_id }))
        .await;
    assert_eq!(error_code(&other), "NOT_FOUND");
    let (_, viewer) = server
        .user(&acme, "viewer@acme.example.com", &["VIEWER"])
        .await;
    let refused = server
        .gql(Some(&viewer), query, json!({ "id": job_id }))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
}

#[tokio::test]
async fn a_saved_mapping_imports_a_partners_columns() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let globex = server.tenant("globex").await;
    let save = "mutation($m: JSON!, $name: String!) { saveImportMapping(module: CONTACTS, name: $name, mapping: $m) { id name mapping } }";
    let saved = server
        .gql(
            Some(&acme.token),
            save,
            json!({ "name": "Partner list", "m": { "Nama": "lastName", "Surel": "email" } }),
        )
        .await;
    let id = saved["data"]["saveImportMapping"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{saved}"))
        .to_owned();
    // Saving again under the name replaces it.
    let again = server
        .gql(Some(&acme.token), save, json!({ "name": "Partner list", "m": { "Nama": "lastName", "Surel": "email", "Jabatan": "title" } }))
        .await;
    assert_eq!(again["data"]["saveImportMapping"]["id"], id.as_str());
    let bad = server
        .gql(
            Some(&acme.token),
            save,
            json!({ "name": "x", "m": ["lastName"] }),
        )
        .await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT");

    let csv = "Nama,Surel,Jabatan\nSantoso,budi@example.com,Buyer\n";
    let (_, report) = import(
        &server,
        &acme.token,
        "contacts",
        &[("mappingName", "Partner list")],
        csv,
    )
    .await;
    assert_eq!(report["created"], 1, "{report}");
    let people = contacts(&server, &acme).await;
    assert_eq!(
        (people[0]["lastName"].clone(), people[0]["title"].clone()),
        (json!("Santoso"), json!("Buyer"))
    );

    // Mappings belong to their tenant.
    let listed = server
        .gql(
            Some(&globex.token),
            "{ importMappings(module: CONTACTS) { name } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["data"]["importMappings"], json!([]));
    let (status, _) = import(
        &server,
        &globex.token,
        "contacts",
        &[("mappingName", "Partner list")],
        csv,
    )
    .await;
    assert_eq!(status, 400);
    let deleted = server
        .gql(
            Some(&globex.token),
            "mutation($id: ID!) { deleteImportMapping(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(error_code(&deleted), "NOT_FOUND");
    let deleted = server
        .gql(
            Some(&acme.token),
            "mutation($id: ID!) { deleteImportMapping(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(deleted["data"]["deleteImportMapping"], true);
}
