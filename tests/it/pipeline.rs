use serde_json::{Value, json};

use crate::common::{TestServer, error_code, error_field};

const CREATE_LEAD: &str = "mutation($input: CreateLeadInput!) { createLead(input: $input) { id leadNo version converted } }";
const CONVERT: &str = "mutation($id: ID!, $input: ConvertLeadInput!) { convertLead(id: $id, input: $input) {
    lead { converted version convertedAccount { name } convertedContact { fullName } convertedOpportunity { name } }
    account { id name industry billingAddress { city } }
    contact { id fullName email leadSource account { name } }
    opportunity { name amount salesStage probability leadSource account { name } contact { fullName } } } }";
const CREATE_OPPORTUNITY: &str =
    "mutation($input: CreateOpportunityInput!) { createOpportunity(input: $input) {
    id opportunityNo salesStage probability currency amount version } }";

async fn lead(server: &TestServer, token: &str, input: Value) -> Value {
    let response = server
        .gql(Some(token), CREATE_LEAD, json!({ "input": input }))
        .await;
    let lead = response["data"]["createLead"].clone();
    assert!(lead.is_object(), "{response}");
    lead
}

async fn count(server: &TestServer, token: &str) -> Value {
    server
        .gql(
            Some(token),
            "{ accounts { totalCount } contacts { totalCount } opportunities { totalCount } }",
            json!({}),
        )
        .await["data"]
        .clone()
}

#[tokio::test]
async fn converting_a_lead_creates_account_contact_and_opportunity_at_once() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let created = lead(
        &server,
        &acme.token,
        json!({ "firstName": "Rina", "lastName": "Hartono", "company": "PT Sinar", "email": "rina@sinar.co.id",
                "leadSource": "Trade Show", "rating": "Active", "industry": "Retail",
                "address": { "city": "Surabaya" } }),
    )
    .await;
    assert_eq!(created["leadNo"], "LEA-00001");
    let id = created["id"].as_str().unwrap();

    let converted = server
        .gql(
            Some(&acme.token),
            CONVERT,
            json!({ "id": id, "input": { "version": 1, "opportunity": { "name": "Sinar rollout", "amount": "15000.50" } } }),
        )
        .await;
    let result = &converted["data"]["convertLead"];
    assert_eq!(result["account"]["name"], "PT Sinar", "{converted}");
    assert_eq!(result["account"]["industry"], "Retail");
    assert_eq!(result["account"]["billingAddress"]["city"], "Surabaya");
    assert_eq!(result["contact"]["fullName"], "Rina Hartono");
    assert_eq!(result["contact"]["email"], "rina@sinar.co.id");
    assert_eq!(result["contact"]["leadSource"], "Trade Show");
    assert_eq!(result["contact"]["account"]["name"], "PT Sinar");
    assert_eq!(
        result["opportunity"],
        json!({ "name": "Sinar rollout", "amount": "15000.5", "salesStage": "Prospecting", "probability": 10,
                "leadSource": "Trade Show", "account": { "name": "PT Sinar" }, "contact": { "fullName": "Rina Hartono" } })
    );
    assert_eq!(
        result["lead"],
        json!({ "converted": true, "version": 2, "convertedAccount": { "name": "PT Sinar" },
                "convertedContact": { "fullName": "Rina Hartono" }, "convertedOpportunity": { "name": "Sinar rollout" } })
    );

    let again = server
        .gql(
            Some(&acme.token),
            CONVERT,
            json!({ "id": id, "input": { "version": 2 } }),
        )
        .await;
    assert_eq!(error_code(&again), "CONFLICT");
    let edit = server
        .gql(Some(&acme.token), "mutation($id: ID!) { updateLead(id: $id, input: { version: 2, company: \"x\" }) { id } }", json!({ "id": id }))
        .await;
    assert_eq!(error_code(&edit), "CONFLICT");
    assert_eq!(
        count(&server, &acme.token).await,
        json!({ "accounts": { "totalCount": 1 }, "contacts": { "totalCount": 1 }, "opportunities": { "totalCount": 1 } })
    );
    let open = server
        .gql(
            Some(&acme.token),
            "{ leads(filter: { converted: false }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(open["data"]["leads"]["totalCount"], 0);

    // The built-in lead qualification process ran with the lead and is complete now.
    let process = server
        .gql(Some(&acme.token), "query($r: ID!) { processInstances(filter: { recordId: { equals: $r } }) { nodes { definitionKey status } } }", json!({ "r": id }))
        .await;
    assert_eq!(
        process["data"]["processInstances"]["nodes"],
        json!([{ "definitionKey": "lead-qualification", "status": "completed" }])
    );
}

#[tokio::test]
async fn a_failed_conversion_changes_nothing() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let created = lead(
        &server,
        &acme.token,
        json!({ "lastName": "Tan", "company": "CV Tan" }),
    )
    .await;
    let id = created["id"].as_str().unwrap();

    // The opportunity is invalid after the account and contact were already made in the transaction.
    let bad = server
        .gql(Some(&acme.token), CONVERT, json!({ "id": id, "input": { "version": 1, "opportunity": { "name": "Deal", "salesStage": "Dreaming" } } }))
        .await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT", "{bad}");
    assert_eq!(error_field(&bad), "salesStage");
    let stale = server
        .gql(
            Some(&acme.token),
            CONVERT,
            json!({ "id": id, "input": { "version": 7 } }),
        )
        .await;
    assert_eq!(error_code(&stale), "CONFLICT");
    let missing_account = server
        .gql(Some(&acme.token), CONVERT, json!({ "id": id, "input": { "version": 1, "accountId": uuid::Uuid::now_v7().to_string() } }))
        .await;
    assert_eq!(error_code(&missing_account), "NOT_FOUND");
    assert_eq!(error_field(&missing_account), "accountId");

    assert_eq!(
        count(&server, &acme.token).await,
        json!({ "accounts": { "totalCount": 0 }, "contacts": { "totalCount": 0 }, "opportunities": { "totalCount": 0 } })
    );
    let still = server
        .gql(
            Some(&acme.token),
            "query($id: ID!) { lead(id: $id) { converted version } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(
        still["data"]["lead"],
        json!({ "converted": false, "version": 1 })
    );
    // Numbers taken by the rolled-back attempt are not burnt either.
    let account = server
        .gql(
            Some(&acme.token),
            "mutation { createAccount(input: { name: \"First\" }) { accountNo } }",
            json!({}),
        )
        .await;
    assert_eq!(account["data"]["createAccount"]["accountNo"], "ACC-00001");

    // The event log has no hole where the rolled-back conversion wrote.
    let mut client = crate::common::ws::WsClient::connect_authenticated(&server, &acme.token).await;
    client
        .subscribe(
            "log",
            "subscription { changes(afterSequence: 0) { sequence module action } }",
        )
        .await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(client.next_json().await["payload"]["data"]["changes"].clone());
    }
    assert_eq!(
        seen,
        [
            json!({ "sequence": 1, "module": "LEADS", "action": "created" }),
            // The built-in lead qualification process started with the lead.
            json!({ "sequence": 2, "module": "PROCESSES", "action": "started" }),
            json!({ "sequence": 3, "module": "ACCOUNTS", "action": "created" }),
        ]
    );
}

#[tokio::test]
async fn converting_into_an_existing_account_links_to_it() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let account = server
        .gql(
            Some(&acme.token),
            "mutation { createAccount(input: { name: \"Existing Ltd\" }) { id } }",
            json!({}),
        )
        .await;
    let account_id = account["data"]["createAccount"]["id"].clone();
    let created = lead(
        &server,
        &acme.token,
        json!({ "lastName": "Lim", "company": "Ignored Co" }),
    )
    .await;
    let converted = server
        .gql(
            Some(&acme.token),
            CONVERT,
            json!({ "id": created["id"], "input": { "version": 1, "accountId": account_id } }),
        )
        .await;
    let result = &converted["data"]["convertLead"];
    assert_eq!(result["account"]["name"], "Existing Ltd", "{converted}");
    assert_eq!(result["contact"]["account"]["name"], "Existing Ltd");
    assert_eq!(result["opportunity"], Value::Null);
    assert_eq!(
        count(&server, &acme.token).await["accounts"]["totalCount"],
        1
    );
}

#[tokio::test]
async fn opportunities_follow_sales_stages_and_their_probabilities() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    // Stages set by hand: without the built-in pipeline process.
    server.unbind(&acme, "opportunity-pipeline").await;
    let created = server
        .gql(
            Some(&acme.token),
            CREATE_OPPORTUNITY,
            json!({ "input": { "name": "Big deal", "amount": "250000", "currency": "idr" } }),
        )
        .await;
    let deal = &created["data"]["createOpportunity"];
    assert_eq!(deal["opportunityNo"], "POT-00001");
    assert_eq!(deal["salesStage"], "Prospecting");
    assert_eq!(deal["probability"], 10);
    assert_eq!(deal["currency"], "IDR");
    let id = deal["id"].as_str().unwrap();

    const UPDATE: &str = "mutation($id: ID!, $input: UpdateOpportunityInput!) { updateOpportunity(id: $id, input: $input) { salesStage probability version } }";
    let moved = server
        .gql(
            Some(&acme.token),
            UPDATE,
            json!({ "id": id, "input": { "version": 1, "salesStage": "Negotiation or Review" } }),
        )
        .await;
    assert_eq!(
        moved["data"]["updateOpportunity"],
        json!({ "salesStage": "Negotiation or Review", "probability": 80, "version": 2 })
    );
    let custom = server
        .gql(Some(&acme.token), UPDATE, json!({ "id": id, "input": { "version": 2, "salesStage": "Closed Won", "probability": 95 } }))
        .await;
    assert_eq!(custom["data"]["updateOpportunity"]["probability"], 95);

    for (input, field) in [
        (
            json!({ "name": "x", "salesStage": "Dreaming" }),
            "salesStage",
        ),
        (json!({ "name": "x", "probability": 101 }), "probability"),
        (json!({ "name": "x", "currency": "EURO" }), "currency"),
        (json!({ "name": "x", "amount": "-5" }), "amount"),
        (json!({ "name": "" }), "name"),
    ] {
        let response = server
            .gql(
                Some(&acme.token),
                CREATE_OPPORTUNITY,
                json!({ "input": input }),
            )
            .await;
        assert_eq!(error_field(&response), field, "{response}");
    }
    let won = server
        .gql(
            Some(&acme.token),
            "{ opportunities(filter: { salesStage: { equals: \"Closed Won\" } }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(won["data"]["opportunities"]["totalCount"], 1);
}

#[tokio::test]
async fn viewers_and_support_cannot_work_the_pipeline() {
    let server = TestServer::start().await;
    let acme = server.tenant("acme").await;
    let (_, support) = server
        .user(&acme, "sue@acme.example.com", &["SUPPORT"])
        .await;
    let (_, sales) = server.user(&acme, "sam@acme.example.com", &["SALES"]).await;
    let response = server
        .gql(
            Some(&support),
            CREATE_LEAD,
            json!({ "input": { "lastName": "X", "company": "Y" } }),
        )
        .await;
    assert_eq!(error_code(&response), "FORBIDDEN");
    let created = lead(&server, &sales, json!({ "lastName": "X", "company": "Y" })).await;
    let convert = server
        .gql(
            Some(&support),
            CONVERT,
            json!({ "id": created["id"], "input": { "version": 1 } }),
        )
        .await;
    assert_eq!(error_code(&convert), "FORBIDDEN");
    let read = server
        .gql(Some(&support), "{ leads { totalCount } }", json!({}))
        .await;
    assert_eq!(read["data"]["leads"]["totalCount"], 1);
}

#[tokio::test]
async fn tenant_b_is_blind_to_tenant_a_leads_and_opportunities() {
    let server = TestServer::start().await;
    let a = server.tenant("tenant-a").await;
    let b = server.tenant("tenant-b").await;
    let secret = lead(
        &server,
        &a.token,
        json!({ "lastName": "Secret", "company": "Secret Co" }),
    )
    .await;
    let deal = server
        .gql(
            Some(&a.token),
            CREATE_OPPORTUNITY,
            json!({ "input": { "name": "Secret deal" } }),
        )
        .await["data"]["createOpportunity"]["id"]
        .clone();
    for (query, id) in [
        ("query($id: ID!) { lead(id: $id) { id } }", &secret["id"]),
        ("query($id: ID!) { opportunity(id: $id) { id } }", &deal),
        (
            "mutation($id: ID!) { convertLead(id: $id, input: { version: 1 }) { lead { id } } }",
            &secret["id"],
        ),
        (
            "mutation($id: ID!) { updateOpportunity(id: $id, input: { version: 1, name: \"x\" }) { id } }",
            &deal,
        ),
        ("mutation($id: ID!) { deleteLead(id: $id) }", &secret["id"]),
        ("mutation($id: ID!) { deleteOpportunity(id: $id) }", &deal),
    ] {
        let response = server.gql(Some(&b.token), query, json!({ "id": id })).await;
        assert_eq!(error_code(&response), "NOT_FOUND", "{query}: {response}");
    }
    let a_account = server
        .gql(
            Some(&a.token),
            "mutation { createAccount(input: { name: \"A Co\" }) { id } }",
            json!({}),
        )
        .await["data"]["createAccount"]["id"]
        .clone();
    let b_lead = lead(
        &server,
        &b.token,
        json!({ "lastName": "Mine", "company": "B Co" }),
    )
    .await;
    let into_a = server
        .gql(
            Some(&b.token),
            CONVERT,
            json!({ "id": b_lead["id"], "input": { "version": 1, "accountId": a_account } }),
        )
        .await;
    assert_eq!(error_code(&into_a), "NOT_FOUND", "{into_a}");
    assert_eq!(error_field(&into_a), "accountId");
    let lists = server
        .gql(
            Some(&b.token),
            "{ leads { totalCount } opportunities { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        lists["data"],
        json!({ "leads": { "totalCount": 1 }, "opportunities": { "totalCount": 0 } })
    );
}
